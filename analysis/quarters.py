"""Calendar quarters written ``YYYYQn`` and their arithmetic.

Quarters are turned into a consecutive integer index (``year * 4 + quarter - 1``)
so that "quarters since enrolment" is a subtraction.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# ASCII digits only: Python's \\d also matches full-width and other Unicode digits.
QUARTER_PATTERN = re.compile(r"^([0-9]{4})Q([1-4])$")


def is_quarter(text: str) -> bool:
    """Whether ``text`` is a ``YYYYQn`` quarter."""
    return bool(QUARTER_PATTERN.match(str(text)))


def argument(text: str) -> str:
    """An ``argparse`` type for a quarter given on the command line (``2025Q1``).

    Only the exact form is accepted (``2025-Q1``, ``2025q1``, ``Q1 2025`` and full-width
    digits are not), so a typo is named instead of failing later.
    """
    if not is_quarter(text):
        import argparse

        raise argparse.ArgumentTypeError(
            f"{text!r} is not a quarter written YYYYQn (e.g. 2025Q1: four digits, capital Q, 1-4)"
        )
    return text


def check_window(quarter: str, first: str, last: str, what: str) -> None:
    """Raise ``ValueError`` naming ``what`` when ``quarter`` lies outside ``first``–``last``."""
    if not to_index(first) <= to_index(quarter) <= to_index(last):
        raise ValueError(f"{what} {quarter} is outside {first}–{last}")


def to_index(quarter: str) -> int:
    """Return the integer index of a ``YYYYQn`` quarter."""
    match = QUARTER_PATTERN.match(str(quarter))
    if not match:
        raise ValueError(f"not a quarter of the form YYYYQn: {quarter!r}")
    return int(match.group(1)) * 4 + int(match.group(2)) - 1


def from_index(index: int) -> str:
    """Return the ``YYYYQn`` label of an integer quarter index."""
    year, rest = divmod(int(index), 4)
    return f"{year}Q{rest + 1}"


def shift(quarter: str, n: int) -> str:
    """The quarter ``n`` quarters after ``quarter`` (before, if negative)."""
    return from_index(to_index(quarter) + n)


def span(start: str, end: str) -> list[str]:
    """All quarters from ``start`` to ``end``, both included."""
    return [from_index(i) for i in range(to_index(start), to_index(end) + 1)]


def series_to_index(values: pd.Series) -> pd.Series:
    """Vectorised :func:`to_index` for a column of quarter labels (missing or malformed -> <NA>).

    A column holds few distinct quarters, so the labels are parsed once per distinct
    value and mapped back: linear in the rows, fast for tens of millions of them.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    parts = pd.Series(uniques, dtype="string").str.extract(r"^([0-9]{4})Q([1-4])$")
    parsed = (parts[0].astype("Int64") * 4 + parts[1].astype("Int64") - 1).to_numpy(
        dtype="float64", na_value=np.nan
    )
    result = np.where(codes >= 0, parsed[np.maximum(codes, 0)] if len(parsed) else np.nan, np.nan)
    return pd.Series(result, index=values.index).astype("Int64")


def index_to_labels(index: np.ndarray | pd.Series) -> list[str]:
    """Vectorised :func:`from_index`."""
    return [from_index(i) for i in np.asarray(index)]


def year_of(quarter: str) -> int:
    """Calendar year of a quarter."""
    return to_index(quarter) // 4
