"""Loading a whole extract and checking it against the data contract.

:func:`load_extract` reads every table, refuses CPR-like ids, validates each table
against its pandera schema and the tables against each other, and either returns
the typed tables or raises :class:`DataContractError` listing every problem with
file, column, rows and (except for ids) the offending values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pandera.errors

from analysis import quarters
from analysis.config import Contract
from analysis.data import io
from analysis.data.cpr import looks_like_cpr
from analysis.data.schemas import ID_COLUMNS, TABLES, build_schemas

MAX_LISTED = 10
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Problem:
    """One broken rule in one file."""

    file: str
    column: str | None
    rule: str
    rows: tuple[int, ...] = ()
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.file}" + (f", column {self.column}" if self.column else "")
        text = f"{where}: {self.rule}"
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:MAX_LISTED])
            more = f" and {len(self.rows) - MAX_LISTED} more" if len(self.rows) > MAX_LISTED else ""
            text += f" — data row(s) {shown}{more}"
        if self.values:
            shown = ", ".join(self.values[:MAX_LISTED])
            text += f" — value(s): {shown}"
        return text


class DataContractError(ValueError):
    """An extract breaks the data contract; ``problems`` lists every broken rule."""

    def __init__(self, directory: Path, problems: list[Problem]):
        self.directory = directory
        self.problems = problems
        lines = [f"{directory}: the extract breaks the data contract ({len(problems)} problem(s))"]
        lines += [f"  - {problem}" for problem in problems]
        super().__init__("\n".join(lines))


@dataclass
class Extract:
    """The validated tables of one extract and where they came from."""

    directory: Path
    tables: dict[str, pd.DataFrame]
    checksums: dict[str, str]
    synthetic: bool
    manifest: dict = field(default_factory=dict)

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.tables[table]


def _rows(index_values) -> tuple[int, ...]:
    rows = sorted({int(i) + 1 for i in index_values if pd.notna(i)})
    return tuple(rows)


def _schema_problems(name: str, file: str, error: pandera.errors.SchemaErrors) -> list[Problem]:
    cases = error.failure_cases.copy()
    problems = []
    cases["column"] = cases["column"].astype(object).where(cases["column"].notna(), None)
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        column = (
            None
            if column is None or (isinstance(column, float) and pd.isna(column))
            else str(column)
        )
        check = str(check)
        if check == "column_in_dataframe":
            missing = ", ".join(str(v) for v in group["failure_case"])
            problems.append(Problem(file, missing, "required column is missing"))
            continue
        if check == "column_in_schema":
            extra = ", ".join(str(v) for v in group["failure_case"])
            problems.append(Problem(file, extra, "column is not part of the data contract"))
            continue
        values: tuple[str, ...] = ()
        if column not in ID_COLUMNS:
            values = tuple(dict.fromkeys(str(v) for v in group["failure_case"]))
        rule = check
        if check.startswith("coerce_dtype"):
            rule = f"wrong type: expected {check.split('(')[-1].rstrip(')')}"
        elif check == "field_uniqueness" or check.startswith("multiple_fields_uniqueness"):
            rule = "duplicate key"
        elif check == "not_nullable":
            rule = "missing value where one is required"
        problems.append(Problem(file, column, rule, _rows(group["index"]), values))
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
                    "value(s) look like CPR numbers (DDMMYY-XXXX); CPR numbers must never enter the pipeline, values not shown",
                    _rows(frame.index[hits]),
                )
            )
    return problems


def _orphans(
    file: str, frame: pd.DataFrame, column: str, valid: pd.Index, target: str
) -> list[Problem]:
    bad = ~frame[column].isin(valid)
    if not bad.any():
        return []
    return [Problem(file, column, f"refers to ids not found in {target}", _rows(frame.index[bad]))]


def _integrity_problems(tables: dict[str, pd.DataFrame], files: dict[str, str]) -> list[Problem]:
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
        problems += _orphans(files[table], tables[table], "person_id", person_ids, "persons")
    intervention = households.loc[households["group"] == "intervention", "household_id"]
    problems += _orphans(
        files["action_plans"],
        tables["action_plans"],
        "household_id",
        pd.Index(intervention),
        "the intervention households",
    )
    empty = households.loc[~households["household_id"].isin(persons["household_id"])]
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


def read_manifest(directory: Path) -> dict:
    """The generator's manifest beside an extract, or an empty dict for real extracts."""
    path = directory / MANIFEST
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def load_extract(directory: Path | str, contract: Contract) -> Extract:
    """Read and validate every table of an extract directory."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataContractError(
            directory, [Problem(str(directory), None, "data directory does not exist")]
        )
    schemas = build_schemas(contract)
    problems: list[Problem] = []
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    checksums: dict[str, str] = {}
    for name in TABLES:
        path = io.find_table(directory, name)
        if path is None:
            problems.append(Problem(f"{name}.csv / {name}.parquet", None, "table file is missing"))
            continue
        files[name] = path.name
        try:
            table_file = io.read_table(path)
        except io.ReadError as error:
            problems.append(Problem(path.name, None, error.message))
            continue
        checksums[path.name] = table_file.sha256
        frame = table_file.frame.reset_index(drop=True)
        cpr = _cpr_problems(path.name, frame)
        if cpr:
            problems += cpr
            continue
        try:
            tables[name] = schemas[name].validate(frame, lazy=True)
        except pandera.errors.SchemaErrors as error:
            problems += _schema_problems(name, path.name, error)
    if not problems:
        problems += _integrity_problems(tables, files)
    if problems:
        raise DataContractError(directory, problems)
    manifest = read_manifest(directory)
    return Extract(directory, tables, checksums, bool(manifest.get("synthetic")), manifest)


def summarise(extract: Extract) -> pd.DataFrame:
    """Rows, units, quarters covered and missingness per table."""
    records = []
    for name, frame in extract.tables.items():
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
