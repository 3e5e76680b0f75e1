"""The data-contract document (``data/README.md``), generated from the pandera schemas."""

from __future__ import annotations

from pathlib import Path

from analysis import atomic
from analysis.config import Contract
from analysis.data import codes
from analysis.data.schemas import TABLE_DESCRIPTIONS, build_schemas

CODE_LISTS = {
    "benefit_category": codes.BENEFIT_CATEGORIES,
    "measure": codes.SOCIAL_MEASURES,
    "group": codes.GROUPS,
    "household_type": codes.HOUSEHOLD_TYPES,
    "sex": codes.SEXES,
    "response": codes.SURVEY_RESPONSES,
    "domain": codes.GOAL_DOMAINS,
    "status": codes.GOAL_STATUSES,
}


def table_section(name: str, schema) -> list[str]:
    """The lines of one table's section: its grain, columns with their rules, key and row rules."""
    grain, danish, description = TABLE_DESCRIPTIONS[name]
    lines = [
        f"## {name} ({danish})",
        "",
        f"{description} Grain: {grain}.",
        "",
        "| column | Danish | type | meaning | rules |",
        "|---|---|---|---|---|",
    ]
    for column_name, column in schema.columns.items():
        rules = "; ".join(str(check.error or check.name) for check in column.checks)
        if column.unique:
            rules = "; ".join(filter(None, [rules, "unique"]))
        if column.nullable:
            rules = "; ".join(filter(None, [rules, "may be empty"]))
        lines.append(
            f"| `{column_name}` | {column.title} | {column.dtype} | {column.description} | {rules} |"
        )
    if schema.unique:
        lines += ["", f"Key: {', '.join(schema.unique)} (unique)."]
    if schema.checks:
        lines += [
            "",
            "Row rules: " + "; ".join(str(check.error) for check in schema.checks) + ".",
        ]
    lines.append("")
    return lines


def render(contract: Contract) -> str:
    """The document as Markdown."""
    lines = [
        "# Data contract",
        "",
        "Generated from `analysis/data/schemas.py` by `python -m analysis data-contract`; do not edit by hand",
        "(a test fails when this file and the schemas differ).",
        "",
        "`data/raw/` holds real extracts (read-only, git-ignored); everything else under `data/` is rebuilt by code.",
        "An extract is a folder with one file per table, `<table>.parquet` or `<table>.csv` (`,` or `;` separated,",
        "`.` or `,` decimals, UTF-8 or Latin-1). Quarters are written `YYYYQn` and lie in",
        f"{contract.timeline.baseline_start}–{contract.timeline.commitment.end}. Ids are pseudonymous: a letter, then letters,",
        "digits, `_` or `-`; an id that holds a CPR number, in any spelling, is refused.",
        "",
        "## Checks before any table is read",
        "",
        "`python -m analysis validate DIR` (and `quarterly`, which validates first and writes",
        "nothing on failure) refuses, each with one line naming the file, column and rows:",
        "",
        "- a missing table file; both `<table>.csv` and `<table>.parquet` (ambiguous); a folder",
        "  or anything but a regular file under a table's name; a link to a file outside the folder;",
        "- a CSV file that is empty or holds only a byte-order mark, has bare CR line endings, a",
        "  field over 128 KiB, rows with another number of fields than the header, or bytes that",
        "  are neither UTF-8 nor Latin-1; a damaged Parquet file;",
        "- a `manifest.json` that is a folder, not JSON or not a JSON object;",
        "- a header without rows in `households`, `persons`, `benefits` or `social_measures`;",
        "- digits other than ASCII 0–9 (full-width digits) in any column;",
        "- every rule of the tables below, and ids that refer to nothing.",
        "",
        "No message ever shows a CPR-like number: ten digits whose first four are a day and a",
        "month (twelve with a four-digit year, nine after a lost leading zero, also `101901234.0`",
        "and `1.01901234E+08`), joined by any spaces, zero-width characters, dashes, slashes or",
        "dots, in any script's digits; in any column or column name, nor a whole row: it names",
        "file, column and row instead, and cuts a value over 60 characters, stating its length.",
        "An extract counts as synthetic only when regenerating it from its `manifest.json` (the",
        "generator's arguments and code version) gives exactly its files; every other extract",
        "is real.",
        "",
    ]
    for name, schema in build_schemas(contract).items():
        lines += table_section(name, schema)
    lines += ["## Code lists", ""]
    for column, mapping in CODE_LISTS.items():
        lines += [f"### `{column}`", "", "| code | meaning | Danish |", "|---|---|---|"]
        lines += [f"| `{code}` | {values[0]} | {values[1]} |" for code, values in mapping.items()]
        lines.append("")
    lines += [
        "## Across tables",
        "",
        "- every person belongs to a household in `households`; every household has at least one person;",
        "- every `person_id` of the person-level tables is in `persons`;",
        "- action plans belong to intervention households;",
        "- intervention households lie in a programme area "
        + ", ".join(f"{a.code} ({a.name})" for a in contract.programme.areas)
        + "; comparison households in comparison areas `C01`, `C02`, ….",
        "",
    ]
    return "\n".join(lines)


def write_contract_doc(path: Path, contract: Contract) -> None:
    """Write the document atomically."""
    atomic.write_text(path, render(contract))
