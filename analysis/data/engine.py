"""The data layer at national size: the register tables stay on disk and DuckDB works on them.

At a comparison pool of a million persons the three register tables (benefits,
social measures, school absence) hold tens of millions of person-quarters; read
into pandas they need several GiB, and pandera's row checks over them take
minutes. Here they stay Parquet files and DuckDB, an embedded engine that spills
to disk, does the heavy relational work out of core:

* the contract checks (:func:`register_problems`): SQL selects every row that
  could break a rule of the table's pandera schema (a superset: a row passes the
  SQL only if it provably passes the schema) and every row of a duplicated key;
  only those rows are read into pandas and validated with the very schema and
  message code of :mod:`analysis.data.validate`, their index set to their row in
  the file. So the messages (file, column, rows, values) are the pandas path's,
  and a clean table costs one scan;
* the checks across tables (ids not found, households without persons);
* the as-of cut and the restriction to the rows the pandas logic reads
  (:func:`quarterly_tables`): the payment targets read only intervention
  households' persons; the school-absence estimate reads all pupils, as integer
  codes built here (:func:`pupil_rows`);
* the estimation panel (:func:`write_outcome_panel`), written straight to Parquet.

Rows keep the order they have in the files (``file_row_number``), so every
result is identical to the pandas pipeline's (tests/test_engine.py compares them).
Any table DuckDB cannot take as is (a CSV file, a column of another type) goes
the pandas way, unchanged.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pa_compute
import pyarrow.parquet as pq

from analysis import quarters
from analysis.config import Contract
from analysis.data.codes import (
    BARNETS_LOV_CODES,
    BARNETS_LOV_FROM,
    PRE_BARNETS_LOV_CODES,
    RANK_OF_MEASURE,
    STEP_OF_CATEGORY,
)
from analysis.data.schemas import QUARTER_PATTERN, build_schemas

REGISTER_TABLES = ("benefits", "social_measures", "school_absence")
# DuckDB's own limit, below the 4 GiB a step may use: it spills joins and sorts to disk.
MEMORY_LIMIT = os.environ.get("RV_DUCKDB_MEMORY", "2GB")
THREADS = int(os.environ.get("RV_DUCKDB_THREADS", "2"))
PHYSICAL = {"int64": "BIGINT", "float64": "DOUBLE"}


class NotInEngine(Exception):
    """A table the engine cannot check exactly as pandera would: it goes the pandas way."""


@functools.cache
def _spill_folder() -> str:
    """One temporary folder per process for DuckDB's spilled data, removed at exit."""
    folder = tempfile.mkdtemp(prefix="rv-duckdb-")
    atexit.register(shutil.rmtree, folder, True)
    return folder


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a memory limit and a private spill folder."""
    spill = _spill_folder()
    con = duckdb.connect(
        config={
            "memory_limit": MEMORY_LIMIT,
            "threads": THREADS,
            "temp_directory": spill,
            "preserve_insertion_order": True,
        }
    )
    # Long queries would otherwise draw a progress bar on stderr (into logs and notebooks).
    con.execute("SET enable_progress_bar = false")
    return con


def _literal(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _scan(path: Path) -> str:
    return f"read_parquet({_literal(str(path))}, file_row_number = true)"


def quarter_index_sql(column: str) -> str:
    """SQL of :func:`analysis.quarters.to_index` for a column of well-formed ``YYYYQn`` labels."""
    return f"(TRY_CAST(substr({column}, 1, 4) AS BIGINT) * 4 + TRY_CAST(substr({column}, 6, 1) AS BIGINT) - 1)"


def _column_clean(name: str, column: pa.Column, contract: Contract) -> str:
    """SQL true only where the value passes every check of ``column`` (and its null rule)."""
    ident = f'"{name}"'
    parts = [] if column.nullable else [f"{ident} IS NOT NULL"]
    if str(column.dtype) == "float64":
        parts.append(f"NOT isnan({ident})")
    first = quarters.to_index(contract.timeline.baseline_start)
    last = quarters.to_index(contract.timeline.commitment.end)
    windowed = any(check.name == "inside" for check in column.checks)
    for check in column.checks:
        stats = check.statistics or {}
        if check.name == "str_matches" and stats["pattern"] == QUARTER_PATTERN and windowed:
            continue  # implied by the window's labels below
        if check.name == "str_matches":
            parts.append(f"regexp_full_match({ident}, {_literal(stats['pattern'])})")
        elif check.name == "isin":
            allowed = ", ".join(_literal(v) for v in stats["allowed_values"])
            parts.append(f"{ident} IN ({allowed})")
        elif check.name == "in_range" and stats.get("include_min") and stats.get("include_max"):
            parts.append(f"{ident} BETWEEN {stats['min_value']} AND {stats['max_value']}")
        elif check.name == "greater_than_or_equal_to":
            parts.append(f"{ident} >= {stats['min_value']}")
        elif check.name == "inside":
            # The quarter window of schemas._quarter: one of its labels (which also
            # passes the YYYYQn pattern), a set lookup instead of a regex per row.
            labels = ", ".join(
                _literal(q)
                for q in quarters.span(quarters.from_index(first), quarters.from_index(last))
            )
            parts.append(f"{ident} IN ({labels})")
        else:
            raise NotInEngine(f"column {name}: no SQL for check {check.name}")
    if column.nullable:
        return f"({ident} IS NULL OR ({' AND '.join(parts) or 'true'}))"
    return "(" + " AND ".join(parts) + ")"


def _table_clean(schema: pa.DataFrameSchema) -> list[str]:
    """SQL of the schema's checks over whole rows, known by their messages."""
    barnets_start = quarters.to_index(BARNETS_LOV_FROM)
    new = ", ".join(_literal(c) for c in sorted(BARNETS_LOV_CODES))
    old = ", ".join(_literal(c) for c in sorted(PRE_BARNETS_LOV_CODES))
    known = {
        "days_absent ≤ school_days": "days_absent <= school_days",
        "days_unauthorised ≤ days_absent": "days_unauthorised <= days_absent",
    }
    parts = []
    for check in schema.checks:
        if check.error in known:
            parts.append(known[check.error])
        elif check.name == "barnets_lov_dates":
            index = quarter_index_sql("quarter")
            parts.append(
                f"NOT (measure IN ({new}) AND {index} < {barnets_start}) "
                f"AND NOT (measure IN ({old}) AND {index} >= {barnets_start})"
            )
        else:
            raise NotInEngine(f"no SQL for the table check {check.error!r}")
    return parts


def _same_layout(con, path: Path, schema: pa.DataFrameSchema) -> None:
    """Refuse (NotInEngine) a file whose columns or types are not exactly the schema's."""
    try:
        described = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({_literal(str(path))})"
        ).fetchall()
    except duckdb.Error as error:
        raise NotInEngine(f"unreadable: {error}") from None
    found = {row[0]: row[1] for row in described}
    if set(found) != set(schema.columns):
        raise NotInEngine("columns differ from the schema")
    for name, column in schema.columns.items():
        dtype = str(column.dtype)
        expected = PHYSICAL.get(dtype, "VARCHAR" if "str" in dtype.lower() else None)
        if expected is None or found[name] != expected:
            raise NotInEngine(f"column {name} is {found[name]}, not {expected}")


def check_layout(con, path: Path, schema: pa.DataFrameSchema, contract: Contract) -> str:
    """The SQL condition a clean row of ``path`` meets; reads only the file's metadata.

    Raises :class:`NotInEngine` when the file or schema is outside what the SQL
    covers: the table then goes the pandas way. An extract vouched for by a
    validation receipt (:mod:`analysis.data.receipt`) makes the same choice here
    without scanning the rows.
    """
    _same_layout(con, path, schema)
    clean = [_column_clean(name, column, contract) for name, column in schema.columns.items()]
    clean += _table_clean(schema)
    return " AND ".join(clean)


def suspect_rows(con, path: Path, schema: pa.DataFrameSchema, contract: Contract) -> pd.DataFrame:
    """The rows of ``path`` that could break ``schema`` (index: row in the file, from 0).

    Raises :class:`NotInEngine` when the file or schema is outside what the SQL covers.
    """
    condition = check_layout(con, path, schema, contract)
    # Keys that must be unique: the schema's, and each column marked unique.
    key_sets = [list(schema.unique)] if schema.unique else []
    key_sets += [[name] for name, column in schema.columns.items() if column.unique]
    scan = _scan(path)
    duplicates = []
    for keys in key_sets:
        # Every row whose key hashes like another row's: all rows of a duplicated key
        # (pandera then sees each duplicate group whole) and, rarely, a collision,
        # which pandera clears. Sorting the 64-bit hashes in NumPy is several times
        # faster than DuckDB's aggregate over tens of millions of distinct string keys.
        key = ", ".join(f'"{k}"' for k in keys)
        hashes = con.execute(f"SELECT hash({key}) AS h FROM read_parquet({_literal(str(path))})")
        values = hashes.fetchnumpy()["h"]
        values.sort()
        repeated = np.unique(values[1:][values[1:] == values[:-1]])
        del values
        if len(repeated):
            listed = ", ".join(str(int(v)) for v in repeated)
            duplicates.append(f"hash({key}) IN ({listed})")
    duplicate = " OR ".join(duplicates) or "false"
    sql = (
        f"SELECT * FROM {scan} AS s "
        f"WHERE NOT coalesce({condition}, false) OR {duplicate} ORDER BY file_row_number"
    )
    frame = con.sql(sql).to_arrow_table().to_pandas()
    frame.index = pd.Index(frame.pop("file_row_number").to_numpy(), dtype="int64")
    return frame


def orphan_rows(con, path: Path, column: str, valid: pd.Series) -> list[int]:
    """Rows (from 0) of ``path`` whose ``column`` is not among ``valid``."""
    # Handed over as Arrow: a million ids as Python objects cost seconds.
    try:
        ids = pa_arrow.table({"id": pa_arrow.array(valid, from_pandas=True)})
    except (pa_arrow.ArrowInvalid, pa_arrow.ArrowTypeError, TypeError):
        ids = pd.DataFrame({"id": valid.astype(object).to_numpy()})
    con.register("valid_ids", ids)
    try:
        rows = con.execute(
            f'SELECT file_row_number FROM {_scan(path)} WHERE "{column}" NOT IN '
            f"(SELECT id FROM valid_ids) ORDER BY file_row_number"
        ).fetchall()
    finally:
        con.unregister("valid_ids")
    return [row[0] for row in rows]


def _to_pandas(con, sql: str) -> pd.DataFrame:
    return con.sql(sql).to_arrow_table().to_pandas()


def read_register(
    con, path: Path, where: str = "true", persons: pd.Series | None = None
) -> pd.DataFrame:
    """Rows of a register file in file order, optionally only of the persons in ``persons``."""
    join = ""
    if persons is not None:
        con.register("wanted", pd.DataFrame({"person_id": persons.astype(object).to_numpy()}))
        join = " AND person_id IN (SELECT person_id FROM wanted)"
    try:
        return _to_pandas(
            con,
            f"SELECT * EXCLUDE (file_row_number) FROM {_scan(path)} WHERE {where}{join} "
            "ORDER BY file_row_number",
        )
    finally:
        if persons is not None:
            con.unregister("wanted")


def pupil_rows(con, path: Path, persons: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    """Every pupil-quarter of the school-absence file ``path`` as integer codes, in file order.

    The rows :func:`analysis.payments.absence.pupil_panel` builds (pupils of
    intervention and comparison households), before any as-of cut, with the
    columns the absence estimate reads: ``person_id`` and ``household_id`` as
    int32 codes, ``t`` and ``g`` (the enrolment quarter's index, 0 for comparison
    households) as int32, and ``absence_rate`` (float64). A person's code is its
    rank among the sorted person ids, so :func:`analysis.did.att_gt` orders the
    units as it orders the string ids; a household's code is one per household,
    and the rows keep the file's order, so the clusters are numbered in the same
    order of first appearance. The estimate is therefore the same bit for bit,
    while 35 million pupil-quarters (a comparison pool of 5 million) take 0.8 GiB
    instead of the several GiB of string columns.
    """
    con.register("code_persons", persons[["person_id", "household_id"]])
    con.register("code_households", households[["household_id", "group", "enrolment_quarter"]])
    try:
        frame = _to_pandas(
            con,
            f"""
            WITH p AS (
                SELECT person_id, household_id,
                       CAST(row_number() OVER (ORDER BY person_id) - 1 AS INTEGER) AS code
                FROM code_persons),
            h AS (
                SELECT household_id, enrolment_quarter,
                       CAST(row_number() OVER (ORDER BY household_id) - 1 AS INTEGER) AS code
                FROM code_households WHERE "group" IN ('intervention', 'comparison'))
            SELECT p.code AS person_id, h.code AS household_id,
                   CAST({quarter_index_sql("s.quarter")} AS INTEGER) AS t,
                   CAST(coalesce({quarter_index_sql("h.enrolment_quarter")}, 0) AS INTEGER) AS g,
                   s.days_absent, s.school_days
            FROM {_scan(path)} AS s
                 JOIN p ON s.person_id = p.person_id
                 JOIN h ON p.household_id = h.household_id
            ORDER BY s.file_row_number
            """,
        )
    finally:
        con.unregister("code_persons")
        con.unregister("code_households")
    # Divided in NumPy, as pandas divides (DuckDB would give NULL for a zero divisor).
    frame["absence_rate"] = (
        frame.pop("days_absent").to_numpy() / frame.pop("school_days").to_numpy()
    )
    return frame


# The key of :func:`pupil_rows` among the tables :func:`quarterly_tables` returns.
PUPILS = "pupils"


def quarterly_tables(extract, contract: Contract) -> dict[str, pd.DataFrame]:
    """The tables the quarterly results read, with the register tables cut to what they use.

    The payment targets and the completeness table read the register tables only
    of persons in intervention households (every one of their joins is an inner
    join on those persons). The school-absence estimate compares intervention
    pupils with all comparison pupils: those rows come as compact integer codes
    (:func:`pupil_rows`, key :data:`PUPILS`), which :func:`analysis.data.asof.as_of`
    cuts and :func:`analysis.payments.absence.absence_estimates` reads instead of
    joining the string tables. Rows keep their order, so
    :func:`analysis.payments.quarterly.compute` gives exactly the results it gives
    on the whole tables.
    """
    tables = dict(extract.tables)
    if not extract.register:
        return tables
    households = tables["households"]
    intervention = households.loc[households["group"] == "intervention", "household_id"]
    persons = tables["persons"]
    wanted = persons.loc[persons["household_id"].isin(intervention), "person_id"]
    con = connect()
    try:
        for name, path in extract.register.items():
            tables[name] = read_register(con, path, persons=wanted)
            if name == "school_absence":
                tables[PUPILS] = pupil_rows(con, path, persons, households)
    finally:
        con.close()
    return tables


def summary(path: Path) -> dict:
    """Rows, persons, quarters covered and missing cells of a register file (as ``summarise``)."""
    con = connect()
    try:
        columns = [
            row[0]
            for row in con.execute(f"DESCRIBE SELECT * FROM {_literal(str(path))}").fetchall()
        ]
        nulls = " + ".join(
            f'count(*) FILTER (WHERE "{c}" IS NULL OR (typeof("{c}") = \'DOUBLE\' AND isnan(TRY_CAST("{c}" AS DOUBLE))))'
            for c in columns
        )
        rows, units, first, last, missing = con.execute(
            f"SELECT count(*), count(DISTINCT person_id), min({quarter_index_sql('quarter')}), "
            f"max({quarter_index_sql('quarter')}), {nulls} FROM {_literal(str(path))}"
        ).fetchone()
    finally:
        con.close()
    cells = rows * len(columns)
    return {
        "rows": int(rows),
        "units": int(units),
        "quarters": f"{quarters.from_index(first)}–{quarters.from_index(last)}" if rows else "",
        "missing_cells_pct": round(100 * missing / cells if cells else 0.0, 2),
    }


def _case(column: str, mapping: dict) -> str:
    """SQL CASE mapping the values of ``column`` (NULL where the map gives none or NaN)."""
    whens = " ".join(
        f"WHEN {_literal(key)} THEN {float(value)!r}"
        for key, value in mapping.items()
        if value == value  # NaN maps to NULL
    )
    return f"CAST(CASE {column} {whens} ELSE NULL END AS DOUBLE)"


# The panel's columns, in order; those of UNIT_COLUMNS are one value per person.
PANEL_COLUMNS = (
    "person_id",
    "household_id",
    "area",
    "household_type",
    "group",
    "g",
    "t",
    "y",
    "age",
    "female",
    "open_cases",
    "single_parent",
    "treated",
)
UNIT_COLUMNS = (
    "person_id",
    "household_id",
    "area",
    "household_type",
    "group",
    "g",
    "female",
    "open_cases",
    "single_parent",
)


def outcome_panel_sql(extract, cutoff: str, contract: Contract, outcome: str) -> tuple[str, str]:
    """SQL of :func:`analysis.reports.evaluation.outcome_panel` on the extract as of ``cutoff``.

    Two queries: the units (persons of the panel's households, one row each, numbered
    ``u`` from 0, with the columns of :data:`UNIT_COLUMNS`), to be stored as table
    ``units``; and the panel's rows on them (``u``, ``t``, ``y``, ``age``, ``treated``
    and ``_row``, the row in the register file). Joined on ``u`` in the order of
    ``_row`` they are the pandas panel: same rows in the same order, same columns
    and types.
    """
    cut = quarters.to_index(cutoff)
    register_cut = cut - contract.timeline.register_lag_quarters
    g = quarter_index_sql("h.enrolment_quarter")
    # The as-of cut of the households: enrolled after the cut-off is not yet in the
    # intervention, and those households are in neither group of the panel.
    units = f"""
        SELECT CAST(row_number() OVER () - 1 AS INTEGER) AS u,
               p.person_id, p.household_id, h.area, h.household_type, h."group",
               CAST(coalesce({g}, 0) AS BIGINT) AS g,
               CAST(p.sex = 'K' AS DOUBLE) AS female,
               CAST(h.open_cases AS DOUBLE) AS open_cases,
               CAST(h.household_type = 'single_parent' AS DOUBLE) AS single_parent,
               p.birth_year
        FROM persons AS p JOIN households AS h ON p.household_id = h.household_id
        WHERE h."group" = 'comparison' OR (h."group" = 'intervention' AND {g} <= {cut})
    """
    source = {
        "ladder_step": "benefits",
        "self_supporting": "benefits",
        "support_level": "social_measures",
        "absence_rate": "school_absence",
    }[outcome]
    t = quarter_index_sql("r.quarter")
    age = f"({t} // 4 - u.birth_year)"
    step = _case("r.benefit_category", STEP_OF_CATEGORY) if source == "benefits" else "NULL"
    if outcome == "ladder_step":
        y, keep = step, f"{step} IS NOT NULL AND {age} BETWEEN 18 AND 64"
    elif outcome == "self_supporting":
        y = f"CAST({step} = 4 AS DOUBLE)"
        keep = f"{step} IS NOT NULL AND {age} BETWEEN 18 AND 64"
    elif outcome == "support_level":
        levels = {code: {0: 0.0, 1: 2.0, 2: 3.0}[rank] for code, rank in RANK_OF_MEASURE.items()}
        y, keep = _case("r.measure", levels), "true"
    else:
        y, keep = "r.days_absent / r.school_days", "true"
    rows = f"""
        SELECT u.u, CAST({t} AS BIGINT) AS t, CAST({y} AS DOUBLE) AS y,
               CAST({age} AS DOUBLE) AS age,
               CAST(u.g > 0 AND {t} >= u.g AS BIGINT) AS treated,
               r.file_row_number AS _row
        FROM {_scan(extract.register[source])} AS r JOIN units AS u
             ON r.person_id = u.person_id
        WHERE {t} <= {register_cut} AND {keep}
    """
    return units, rows


# Rows of the panel written at a time.
PANEL_BATCH = 1 << 20


def write_outcome_panel(
    extract, cutoff: str, contract: Contract, outcome: str, out: Path, balanced: bool = False
) -> int:
    """Write the person × quarter panel of ``outcome`` as of ``cutoff`` to Parquet ``out``.

    With ``balanced`` only persons observed in every quarter of the panel are kept.
    Returns the number of rows. DuckDB sorts only the narrow rows (unit number,
    quarter, outcome, age, treatment) back into the register file's order, spilling
    to disk; the persons' string columns are added by Arrow, a batch at a time,
    from the table of units, so the panel never needs to fit in memory and the
    strings are never sorted.
    """
    con = connect()
    try:
        con.register("persons", extract.tables["persons"])
        con.register("households", extract.tables["households"])
        units, rows = outcome_panel_sql(extract, cutoff, contract, outcome)
        con.execute(f"CREATE TEMP TABLE units AS {units}")
        con.execute(f"CREATE TEMP TABLE panel AS {rows}")
        where = ""
        if balanced:
            where = (
                "WHERE u IN (SELECT u FROM panel GROUP BY u "
                "HAVING count(*) = (SELECT count(DISTINCT t) FROM panel))"
            )
        unit_columns = ", ".join(f'"{c}"' for c in UNIT_COLUMNS)
        unit_table = (
            con.sql(f"SELECT {unit_columns} FROM units ORDER BY u")
            .to_arrow_table()
            .combine_chunks()
        )
        reader = con.sql(
            f"SELECT u, t, y, age, treated FROM panel {where} ORDER BY _row"
        ).to_arrow_reader(PANEL_BATCH)
        schema = pa_arrow.schema(
            [
                unit_table.schema.field(c) if c in UNIT_COLUMNS else reader.schema.field(c)
                for c in PANEL_COLUMNS
            ]
        )
        count = 0
        # Encoding and compressing a batch (Arrow releases the GIL) runs in a thread
        # while DuckDB gives the next batch and Arrow takes its unit columns: the two
        # halves of the step share the two cores. One batch in flight bounds memory;
        # the batches are written in order, so the file is the same.
        pending = None
        with pq.ParquetWriter(out, schema, compression="zstd", store_schema=False) as writer:
            # Shut down (the write in flight finished) before the writer is closed.
            with ThreadPoolExecutor(max_workers=1) as background:
                for batch in reader:
                    index = batch.column("u")
                    columns = [
                        unit_table.column(c).take(index) if c in UNIT_COLUMNS else batch.column(c)
                        for c in PANEL_COLUMNS
                    ]
                    table = pa_arrow.Table.from_arrays(columns, schema=schema)
                    if pending is not None:
                        pending.result()
                    pending = background.submit(writer.write_table, table)
                    count += batch.num_rows
                if pending is not None:
                    pending.result()
        return count
    finally:
        con.close()


def evaluation_panels(
    extract, cutoff: str, contract: Contract, outcomes
) -> dict[str, pd.DataFrame] | None:
    """The estimation panels of ``outcomes`` as of ``cutoff``, built by DuckDB, or None.

    ``extract`` is a validated extract (:func:`analysis.data.validate.load_extract`);
    its register tables are read from their Parquet files by
    :func:`write_outcome_panel` and the panels read back, equal to what
    :func:`analysis.effects.panels.outcome_panel` gives on the cut tables
    (tests/test_engine.py). None when a register table is not a Parquet file with
    exactly the schema's columns and types: the caller then builds the panels in pandas.
    """
    files = {name: Path(extract.directory) / f"{name}.parquet" for name in REGISTER_TABLES}
    if any(path.name not in extract.checksums for path in files.values()):
        return None
    schemas = build_schemas(contract)
    con = connect()
    try:
        for name, path in files.items():
            _same_layout(con, path, schemas[name])
    except NotInEngine:
        return None
    finally:
        con.close()
    disk = dataclasses.replace(extract, register=files)
    panels = {}
    with tempfile.TemporaryDirectory(dir=_spill_folder()) as folder:
        for outcome in outcomes:
            out = Path(folder) / f"{outcome}.parquet"
            write_outcome_panel(disk, cutoff, contract, outcome, out)
            panels[outcome] = pd.read_parquet(out)
    return panels


def _order_codes(column: pa_arrow.ChunkedArray) -> np.ndarray:
    """int32 codes of a string column that keep the values' sort order (equal values, equal codes).

    Read as Parquet dictionaries, the strings are never built as Python objects:
    the row groups' dictionaries are unified into one of the distinct values, which
    is sorted (by code point, as Python sorts strings), and each row's index is
    replaced by its value's rank.
    """
    if not pa_arrow.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    column = column.unify_dictionaries()
    if column.num_chunks == 0:
        return np.empty(0, dtype=np.int32)
    dictionary = column.chunk(0).dictionary
    rank = np.empty(len(dictionary), dtype=np.int32)
    rank[pa_compute.sort_indices(dictionary).to_numpy()] = np.arange(
        len(dictionary), dtype=np.int32
    )
    return np.concatenate([rank[chunk.indices.to_numpy()] for chunk in column.chunks])


def read_coded(path: Path, columns: list[str], coded: list[str]) -> pd.DataFrame:
    """Columns of a Parquet panel, the string columns ``coded`` as order-keeping int32 codes.

    For the estimators on panels of a hundred million rows: an id column as int32
    takes 4 bytes a row instead of a Python string's 50 to 60, and integer columns
    whose values fit in int32 are read as int32. The estimators only compare ids
    (and :func:`analysis.did.att_gt` sorts them), so their results are the same as
    on the strings (tests/test_engine.py); the rows keep the file's order.

    Each column is read in batches of ``BATCH_ROWS`` rows into an array of its final
    type, so reading holds the frame and one batch: an int64 column read whole, its
    NumPy copy and its int32 cast came to more than the frame itself at 5 million
    persons. The codes are the same as :func:`_order_codes` gives the whole column.
    """
    # One column at a time: only one column's Arrow copy is held beside the frame.
    parquet = pq.ParquetFile(path, read_dictionary=coded)
    rows = parquet.metadata.num_rows
    out = {}
    for name in columns:
        kind = parquet.schema_arrow.field(name).type
        values = None
        if name in coded:
            values = _batched_codes(parquet, name, rows)
        elif pa_arrow.types.is_integer(kind) or pa_arrow.types.is_float64(kind):
            values = _batched_numbers(parquet, name, rows, kind)
        if values is None:  # another type, or integers with nulls or beyond int32
            column = parquet.read(columns=[name]).column(0)
            values = _order_codes(column) if name in coded else column.to_pandas()
            del column
        out[name] = values
    return pd.DataFrame(out, copy=False)


# Rows of a Parquet column converted at a time by read_coded.
BATCH_ROWS = 1 << 20


def _batched_numbers(parquet, name: str, rows: int, kind) -> np.ndarray | None:
    """An integer column as int32 (None when a value is null or beyond int32), or a
    float64 column (nulls as NaN, as ``to_pandas`` gives them), batch by batch."""
    is_float = pa_arrow.types.is_float64(kind)
    out = np.empty(rows, np.float64 if is_float else np.int32)
    low, high = np.iinfo(np.int32).min, np.iinfo(np.int32).max
    start = 0
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=[name]):
        column = batch.column(0)
        if not is_float and column.null_count:
            return None
        values = column.to_numpy(zero_copy_only=False)
        if not is_float and len(values) and (values.min() < low or values.max() > high):
            return None
        out[start : start + len(values)] = values
        start += len(values)
    return out


def _batched_codes(parquet, name: str, rows: int) -> np.ndarray:
    """:func:`_order_codes` of a column, batch by batch: each batch's dictionary indices
    are stored as they come, then replaced by their values' ranks among all values."""
    out = np.empty(rows, np.int32)
    dictionaries, bounds, start = [], [], 0
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=[name]):
        column = batch.column(0)
        if not pa_arrow.types.is_dictionary(column.type):
            column = column.dictionary_encode()
        out[start : start + len(column)] = column.indices.to_numpy(zero_copy_only=False)
        dictionaries.append(column.dictionary)
        bounds.append((start, start + len(column)))
        start += len(column)
    if not dictionaries:
        return out
    # Every batch's dictionary ranked among all values in one sort (dense ranks: equal
    # values, equal codes), as _order_codes ranks the unified dictionary.
    rank = pa_compute.rank(
        pa_arrow.concat_arrays(dictionaries), sort_keys="ascending", tiebreaker="dense"
    ).to_numpy()
    offset = 0
    for dictionary, (first, last) in zip(dictionaries, bounds, strict=True):
        local = (rank[offset : offset + len(dictionary)] - 1).astype(np.int32)
        out[first:last] = local[out[first:last]]
        offset += len(dictionary)
    return out
