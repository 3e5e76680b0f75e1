"""The post-render disclosure check every report passes before it is published.

It fails the build when the rendered Markdown holds a count below the minimum in
any count column of a table, a pseudonymous id, or a CPR-like number in any
spelling (:func:`analysis.data.cpr.could_be_cpr`, digit groups not glued to a letter). Count
columns are those whose header names a count ("Antal …", "Number …", "n", "… (n)"):
the disclosure module labels its count columns that way. The results file
published beside the report is checked the same way: a count-named number below
the minimum fails the build.
"""

from __future__ import annotations

import re

from analysis.data.cpr import could_be_cpr
from analysis.sdc.suppress import is_small

COUNT_HEADER = re.compile(
    r"^(antal\b|number\b|n$|persons$|personer$|households$|husstande$|pupils$|elever$)|\((n|antal)\)$",
    re.IGNORECASE,
)
PSEUDONYMOUS_ID = re.compile(r"\b[HPG]\d{7,8}\b")
SUPPRESSED = {"*", "\\*", "–", "-", ""}


class DisclosureError(RuntimeError):
    """A rendered report would disclose something about a person."""


def _tables(markdown: str) -> list[list[list[str]]]:
    tables, current = [], []
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|"):
            current.append([cell.strip() for cell in stripped.strip("|").split("|")])
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


SEPARATORS = {"da": (".", ","), "en": (",", ".")}


def _as_number(cell: str, lang: str) -> float | None:
    thousands, decimal = SEPARATORS[lang]
    text = cell.replace("\u00a0", "").replace(" ", "").replace("\u2212", "-")
    text = text.replace(thousands, "").replace(decimal, ".")
    try:
        return float(text)
    except ValueError:
        return None


def problems(markdown: str, min_persons: int, lang: str = "da") -> list[str]:
    """Every disclosure problem found in rendered Markdown."""
    found = []
    if PSEUDONYMOUS_ID.search(markdown):
        found.append(
            f"pseudonymous id in the report: {PSEUDONYMOUS_ID.search(markdown).group(0)[:1]}…"
        )
    if could_be_cpr(markdown, standalone=True):
        found.append("CPR-like number in the report (value not shown)")
    for number, table in enumerate(_tables(markdown), start=1):
        if len(table) < 3:
            continue
        header, rows = table[0], table[2:]
        for column, name in enumerate(header):
            if not COUNT_HEADER.search(name.strip("* ")):
                continue
            for row in rows:
                if column >= len(row) or row[column] in SUPPRESSED:
                    continue
                value = _as_number(row[column], lang)
                if value is not None and is_small(value, min_persons):
                    found.append(
                        f"table {number}, column {name!r}: count below {min_persons} ({row[0]})"
                    )
    return found


# Results-file numbers that are counts of persons or achievements.
COUNT_NAMES = re.compile(
    r"(achievements_cumulative|enrolled_|n_persons|n_treated|persons|households)"
)


def results_problems(numbers: dict, min_persons: int) -> list[str]:
    """Counts below the minimum among a results file's numbers (hidden ones are ``*``)."""
    return [
        f"results file: {name} is a count below {min_persons}"
        for name, value in numbers.items()
        if COUNT_NAMES.search(name)
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and is_small(value, min_persons)
    ]


def check_markdown(
    markdown: str,
    min_persons: int,
    source: str = "report",
    lang: str = "da",
    numbers: dict | None = None,
) -> None:
    """Raise :class:`DisclosureError` when ``markdown`` (or the results ``numbers``) fails the check."""
    found = problems(markdown, min_persons, lang) + results_problems(numbers or {}, min_persons)
    if found:
        raise DisclosureError(
            f"{source}: the disclosure check failed:\n" + "\n".join(f"  - {p}" for p in found)
        )
