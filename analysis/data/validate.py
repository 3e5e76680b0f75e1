"""Loading a whole extract and checking it against the data contract.

:func:`load_extract` reads every table, refuses CPR-like ids, validates each table
against its pandera schema and the tables against each other, and either returns
the typed tables or raises :class:`DataContractError` listing every problem with
file, column, rows and (except for ids) the offending values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.errors
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analysis import provenance, quarters
from analysis.config import Contract
from analysis.data import engine, io, receipt
from analysis.data.cpr import MASK, could_be_cpr, looks_like_cpr, mask_text
from analysis.data.problems import DataContractError, Problem
from analysis.data.schemas import ID_COLUMNS, TABLES, build_schemas

MAX_LISTED = 10
MANIFEST = "manifest.json"
# Longest value or column name shown whole in a message; a longer one is cut, with
# its length stated, so one bad cell cannot make a message of megabytes.
MAX_SHOWN = 60


def shorten(text, limit: int = MAX_SHOWN) -> str:
    """``text`` masked (:func:`mask_text`), then cut to ``limit`` characters with its length stated."""
    text = mask_text(str(text))
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


@dataclass
class Extract:
    """The validated tables of one extract and where they came from."""

    directory: Path
    tables: dict[str, pd.DataFrame]
    checksums: dict[str, str]
    synthetic: bool
    manifest: dict = field(default_factory=dict)
    # Register tables checked out of core and left on disk (table -> Parquet file);
    # their frames are not in ``tables`` (see analysis.data.engine).
    register: dict[str, Path] = field(default_factory=dict)
    # False when a validation receipt vouched for these very files (analysis.data.receipt)
    # and the rules were not checked again in this read.
    checked: bool = True

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.tables[table]


def _rows(index_values) -> tuple[int, ...]:
    rows = sorted({int(i) + 1 for i in index_values if pd.notna(i)})
    return tuple(rows)


def _values(column: str | None, failures) -> tuple[str, ...]:
    """Offending values fit to print: never an id, never anything CPR-like (masked once)."""
    if column is None or column in ID_COLUMNS:
        return ()
    shown = list(dict.fromkeys(str(v) for v in failures))
    safe = [shorten(v) for v in shown if not could_be_cpr(v)]
    return tuple(safe + ([MASK] if len(safe) < len(shown) else []))


def _rule(check: str) -> str:
    if check.startswith("coerce_dtype"):
        return f"wrong type: expected {check.split('(')[-1].rstrip(')')}"
    if check == "field_uniqueness" or check.startswith("multiple_fields_uniqueness"):
        return "duplicate key"
    if check == "not_nullable":
        return "missing value where one is required"
    return check


def _schema_problems(name: str, file: str, error: pandera.errors.SchemaErrors) -> list[Problem]:
    """One line per broken rule and column, never a whole row, never a CPR-like value.

    pandera reports a value that cannot be converted several times (the failed
    conversion, the dtype, and a TypeError from every later check on the column),
    and a rule over whole rows once per column with that row's values: both are
    collapsed into one line, the latter without values.
    """
    cases = error.failure_cases.copy()
    cases["column"] = cases["column"].astype(object).where(cases["column"].notna(), None)
    checks = cases["check"].astype(str)
    row_level = (cases["schema_context"] == "DataFrameSchema") & ~checks.isin(
        ["column_in_dataframe", "column_in_schema"]
    )
    badly_typed = set(cases.loc[checks.str.startswith("coerce_dtype"), "column"])
    problems = []
    for check, group in cases.loc[row_level].groupby(checks[row_level], sort=False):
        rows = _rows(group["index"])
        if not rows and badly_typed:
            continue  # failed only because of a value reported as the wrong type
        rule = _rule(check) if rows else f"{_rule(check)}: could not be checked (wrong types)"
        problems.append(Problem(file, None, rule, rows))
    for (column, check), group in cases.loc[~row_level].groupby(
        ["column", checks[~row_level]], dropna=False, sort=False
    ):
        column = (
            None
            if column is None or (isinstance(column, float) and pd.isna(column))
            else str(column)
        )
        check = str(check)
        if check == "column_in_dataframe":
            missing = ", ".join(shorten(v) for v in group["failure_case"])
            problems.append(Problem(file, missing, "required column is missing"))
            continue
        if check == "column_in_schema":
            extra = ", ".join(shorten(v) for v in group["failure_case"])
            problems.append(Problem(file, extra, "column is not part of the data contract"))
            continue
        if column in badly_typed and not check.startswith("coerce_dtype"):
            continue  # the same bad value again, as a dtype or TypeError line
        rows = _rows(group["index"])
        values = _values(column, group["failure_case"]) if rows else ()
        problems.append(Problem(file, column, _rule(check), rows, values))
    return problems


def _digit_problems(file: str, frame: pd.DataFrame) -> list[Problem]:
    """Digits other than ASCII 0–9 (full-width, Arabic-Indic …): Python would read them as numbers."""
    problems = []
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        text = values.astype("string")
        # Only a value with a non-ASCII character can hold such a digit: the cheap
        # test (Arrow's regex engine) first, the lookahead (Python's) on those alone.
        bad = text.str.contains(r"[^\x00-\x7f]", regex=True, na=False).to_numpy(dtype=bool)
        if bad.any():
            bad[bad] = (
                text[bad].str.contains(r"(?![0-9])\d", regex=True, na=False).to_numpy(dtype=bool)
            )
        if bad.any():
            problems.append(
                Problem(
                    file,
                    shorten(column),
                    "digits other than 0–9 (e.g. full-width digits); write numbers and quarters with ASCII digits",
                    _rows(frame.index[bad]),
                )
            )
    return problems


def _cpr_problems(file: str, frame: pd.DataFrame) -> list[Problem]:
    problems = []
    for column in ID_COLUMNS & set(frame.columns):
        hits = looks_like_cpr(frame[column])
        if hits.any():
            problems.append(
                Problem(
                    file,
                    column,
                    "value(s) hold something like a CPR number (DDMMYY-XXXX, in any spelling); "
                    "CPR numbers must never enter the pipeline, values not shown",
                    _rows(frame.index[hits]),
                )
            )
    return problems


def isin(values: pd.Series, candidates) -> np.ndarray:
    """``values.isin(candidates).to_numpy()``, in linear time for string columns.

    pandas' Arrow-backed string ``isin`` turns every candidate into a Python
    object first (seconds per million ids); Arrow's ``is_in`` hashes them. Missing
    values match only a missing candidate, as in pandas. Anything not two string
    arrays goes to pandas.
    """
    try:
        left = pa.array(values, from_pandas=True)
        right = pa.array(candidates, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return values.isin(candidates).to_numpy()
    strings = (pa.string(), pa.large_string())
    if left.type not in strings or right.type not in strings + (pa.null(),):
        return values.isin(candidates).to_numpy()
    return pc.is_in(left, value_set=right.cast(left.type)).to_numpy(zero_copy_only=False)


def _orphans(
    file: str, frame: pd.DataFrame, column: str, valid: pd.Index, target: str
) -> list[Problem]:
    bad = ~isin(frame[column], valid)
    if not bad.any():
        return []
    return [Problem(file, column, f"refers to ids not found in {target}", _rows(frame.index[bad]))]


def _integrity_problems(
    tables: dict[str, pd.DataFrame], files: dict[str, str], on_disk=None
) -> list[Problem]:
    """Ids that refer to nothing, and households without persons.

    ``on_disk`` (table -> function of column and valid ids giving the rows, from 0)
    checks tables left on disk by the engine.
    """
    on_disk = on_disk or {}
    problems = []
    households = tables["households"]
    persons = tables["persons"]
    problems += _orphans(
        files["persons"],
        persons,
        "household_id",
        pd.Index(households["household_id"]),
        "households",
    )
    person_ids = pd.Index(persons["person_id"])
    for table in ("benefits", "social_measures", "school_absence", "life_satisfaction"):
        if table in on_disk:
            rows = on_disk[table]("person_id", persons["person_id"])
            if rows:
                problems.append(
                    Problem(
                        files[table], "person_id", "refers to ids not found in persons", _rows(rows)
                    )
                )
            continue
        problems += _orphans(files[table], tables[table], "person_id", person_ids, "persons")
    intervention = households.loc[households["group"] == "intervention", "household_id"]
    problems += _orphans(
        files["action_plans"],
        tables["action_plans"],
        "household_id",
        pd.Index(intervention),
        "the intervention households",
    )
    empty = households.loc[~isin(households["household_id"], persons["household_id"])]
    if len(empty):
        problems.append(
            Problem(
                files["households"],
                "household_id",
                "household without any person",
                _rows(empty.index),
            )
        )
    return problems


def _table_path(directory: Path, name: str) -> tuple[Path | None, list[Problem]]:
    """The one file holding table ``name``, or the problems that keep it from being read.

    Both a CSV and a Parquet file is ambiguous; anything but a regular file inside
    the extract folder (a folder, a link out of it) is refused, so an extract is
    exactly the files in its folder.
    """
    candidates = [
        directory / f"{name}{suffix}"
        for suffix in io.SUFFIXES
        if (directory / f"{name}{suffix}").exists() or (directory / f"{name}{suffix}").is_symlink()
    ]
    if not candidates:
        return None, [Problem(f"{name}.csv / {name}.parquet", None, "table file is missing")]
    if len(candidates) > 1:
        return None, [
            Problem(
                " and ".join(p.name for p in candidates),
                None,
                "both files are present: which one holds the table is ambiguous; remove one",
            )
        ]
    path = candidates[0]
    if path.is_symlink() and directory.resolve() not in path.resolve().parents:
        return None, [Problem(path.name, None, "is a link to a file outside the extract folder")]
    if not path.is_file():
        return None, [Problem(path.name, None, "is not a regular file (a folder?)")]
    return path, []


def _read_frame(
    path: Path, problems: list[Problem], checksums: dict[str, str]
) -> pd.DataFrame | None:
    """Read one table file whole, noting its checksum, or its read error in ``problems``."""
    try:
        table_file = io.read_table(path)
    except io.ReadError as error:
        problems.append(Problem(path.name, None, error.message))
        return None
    checksums[path.name] = table_file.sha256
    return table_file.frame.reset_index(drop=True)


# Tables without which no quarterly result can be computed: a header without rows is
# refused here, in one line, rather than accepted and failing in a later step.
REQUIRED_ROWS = ("households", "persons", "benefits", "social_measures")


def _empty_problems(name: str, file: str, rows: int) -> list[Problem]:
    if rows or name not in REQUIRED_ROWS:
        return []
    return [
        Problem(
            file,
            None,
            "the table has no rows (only a header); the quarterly results need "
            f"{', '.join(REQUIRED_ROWS)}",
        )
    ]


def _frame_problems(
    name: str, file: str, frame: pd.DataFrame, schema
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """The validated frame, or the problems of one table (CPR-like ids and odd digits first)."""
    early = _cpr_problems(file, frame) + _digit_problems(file, frame)
    if early:
        return None, early
    try:
        return schema.validate(frame, lazy=True), []
    except pandera.errors.SchemaErrors as error:
        return None, _schema_problems(name, file, error)


def load_extract(
    directory: Path | str,
    contract: Contract,
    out_of_core: bool = False,
    revalidate: bool = False,
) -> Extract:
    """Read and validate every table of an extract directory.

    With ``out_of_core`` the register tables in Parquet are checked by DuckDB
    (:mod:`analysis.data.engine`) with the same rules and messages and left on
    disk: ``Extract.register`` names their files instead of ``tables`` holding them.

    Every table is read (or, left on disk, hashed) first. When a validation
    receipt (:mod:`analysis.data.receipt`) vouches for exactly the checksums of
    what was read, under this contract and this validation code, the rules are
    not checked again: the tables are only converted to the contract's types, as
    validation would. Otherwise (or with ``revalidate``, or ``ANALYSIS_REVALIDATE=1``)
    every rule is checked, and an extract that passes gets a receipt.

    Kept whole: one DuckDB connection, opened and closed here, serves the read pass and
    the check pass; whether a receipt vouches for the extract is decided between the two
    passes, and a file changed between them re-enters the function with a full check.
    Split, the connection, the per-table problems and the trust decision would travel
    through every helper.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataContractError(
            directory, [Problem(str(directory), None, "data directory does not exist")]
        )
    manifest = io.read_manifest(directory)
    schemas = build_schemas(contract)
    # Kept per table, so the message lists them in the tables' order as before.
    problems: dict[str, list[Problem]] = {name: [] for name in TABLES}
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    checksums: dict[str, str] = {}
    register: dict[str, Path] = {}
    # Table -> (file, frame as read; None for a register table left on disk).
    read: dict[str, tuple[Path, pd.DataFrame | None]] = {}
    con = None
    if out_of_core:
        con = engine.connect()
    try:
        for name in TABLES:
            path, found = _table_path(directory, name)
            if path is None:
                problems[name] += found
                continue
            files[name] = path.name
            if con is not None and name in engine.REGISTER_TABLES and path.suffix == ".parquet":
                checksums[path.name] = io.sha256(path)
                try:
                    rows = pq.ParquetFile(path).metadata.num_rows
                except Exception:  # unreadable: the engine reports it in its own words
                    rows = None
                if rows == 0 and _empty_problems(name, path.name, 0):
                    problems[name] += _empty_problems(name, path.name, 0)
                    continue
                read[name] = (path, None)
                continue
            frame = _read_frame(path, problems[name], checksums)
            if frame is not None:
                read[name] = (path, frame)
        vouched = dict(checksums)
        trusted = not revalidate and not any(problems.values()) and receipt.holds(vouched, contract)
        for name in list(read):
            path, frame = read.pop(name)
            if frame is None:
                try:
                    if trusted:
                        engine.check_layout(con, path, schemas[name], contract)
                    else:
                        suspects = engine.suspect_rows(con, path, schemas[name], contract)
                except engine.NotInEngine:
                    # Read whole into pandas below.
                    frame = _read_frame(path, problems[name], checksums)
                    if frame is None:
                        continue
                else:
                    if not trusted:
                        _, found = _frame_problems(name, path.name, suspects, schemas[name])
                        problems[name] += found
                    register[name] = path
                    continue
            if trusted:
                # A receipt is local trust (analysis.data.receipt): the CPR refusal, the
                # one check whose failure would put a personal number into results, is
                # run on every read all the same.
                found = _empty_problems(name, path.name, len(frame)) or _cpr_problems(
                    path.name, frame
                )
                if found:
                    problems[name] += found
                    continue
                tables[name] = schemas[name].coerce_dtype(frame)
                continue
            valid, found = None, _empty_problems(name, path.name, len(frame))
            if not found:
                valid, found = _frame_problems(name, path.name, frame, schemas[name])
            problems[name] += found
            if valid is not None:
                tables[name] = valid
            del frame
        if trusted and checksums != vouched:
            # A file read a second time (the pandas way) changed after the receipt
            # was checked: check everything, as without a receipt.
            if con is not None:
                con.close()
                con = None
            return load_extract(directory, contract, out_of_core, revalidate=True)
        found = [problem for name in TABLES for problem in problems[name]]
        if not found and not trusted:
            on_disk = {
                name: (lambda column, ids, path=path: engine.orphan_rows(con, path, column, ids))
                for name, path in register.items()
            }
            found += _integrity_problems(tables, files, on_disk)
    finally:
        if con is not None:
            con.close()
    if found:
        raise DataContractError(directory, found)
    if not trusted:
        rows = {name: len(frame) for name, frame in tables.items()}
        rows.update(
            {name: pq.ParquetFile(path).metadata.num_rows for name, path in register.items()}
        )
        receipt.record(checksums, contract, rows)
    synthetic = provenance.extract_kind(directory, manifest) == provenance.SYNTHETIC
    return Extract(directory, tables, checksums, synthetic, manifest, register, not trusted)


def summarise(extract: Extract) -> pd.DataFrame:
    """Rows, units, quarters covered and missingness per table."""
    records = []
    for name in [t for t in TABLES if t in extract.tables or t in extract.register]:
        if name in extract.register:
            records.append({"table": name, **engine.summary(extract.register[name])})
            continue
        frame = extract.tables[name]
        unit = (
            "household_id"
            if name == "households"
            else ("goal_id" if name == "action_plans" else "person_id")
        )
        quarter_column = next(
            (c for c in ("quarter", "review_quarter", "enrolment_quarter") if c in frame), None
        )
        covered = ""
        if quarter_column is not None and frame[quarter_column].notna().any():
            index = quarters.series_to_index(frame[quarter_column]).dropna()
            covered = f"{quarters.from_index(index.min())}–{quarters.from_index(index.max())}"
        records.append(
            {
                "table": name,
                "rows": len(frame),
                "units": frame[unit].nunique(),
                "quarters": covered,
                "missing_cells_pct": round(
                    100 * float(frame.isna().to_numpy().mean()) if frame.size else 0.0, 2
                ),
            }
        )
    return pd.DataFrame.from_records(records)
