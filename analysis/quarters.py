"""Calendar quarters written ``YYYYQn``: the :class:`Quarter` value and their arithmetic.

A quarter is parsed once where it enters the program (the command line:
:func:`argument`; the configuration and parameter files: :mod:`analysis.config`,
:mod:`analysis.reports.kinds`; a stored results file) into a :class:`Quarter`,
which carries its consecutive integer index (``year * 4 + quarter - 1``), so that
"quarters since enrolment" is a subtraction and comparing or shifting a quarter
parses nothing. A :class:`Quarter` is its ``YYYYQn`` label as well (a ``str``), so
it is a dictionary key, a file name, a CSV or JSON value and a disclosure cell's
part exactly as the label is, and code written for labels keeps working.
:data:`PARSES` counts the labels parsed, for the test that an entry point parses
its quarter once.
"""

from __future__ import annotations

import argparse
import functools
import re
from collections import Counter

import numpy as np
import pandas as pd
import yaml

# ASCII digits only: Python's \\d also matches full-width and other Unicode digits.
QUARTER_PATTERN = re.compile(r"^([0-9]{4})Q([1-4])$")
# Every label parsed into a quarter, by label (tests count an entry point's parses).
PARSES: Counter[str] = Counter()


class Quarter(str):
    """A calendar quarter: its ``YYYYQn`` label, with its index, order and arithmetic.

    ``Quarter("2025Q2")`` parses the label (a ``ValueError`` naming it when it is not
    ``YYYYQn``); :meth:`of` makes one from an index without parsing. ``q + n`` and
    ``q - n`` are the quarters ``n`` after and before, ``q - p`` is the number of
    quarters from ``p`` to ``q``, and :meth:`label` writes it for readers in Danish
    or English. It equals, and hashes as, its label, and orders as its label does,
    which is the order in time (four-digit years): comparing a quarter with a label
    read from data parses nothing.
    """

    __slots__ = ("index",)
    index: int

    def __new__(cls, label) -> Quarter:
        if isinstance(label, Quarter):
            return label
        text = str(label)
        match = QUARTER_PATTERN.match(text)
        if not match:
            raise ValueError(f"not a quarter of the form YYYYQn: {label!r}")
        PARSES[text] += 1
        self = super().__new__(cls, text)
        self.index = int(match.group(1)) * 4 + int(match.group(2)) - 1
        return self

    @classmethod
    def of(cls, index: int) -> Quarter:
        """The quarter of an integer index (nothing parsed)."""
        year, rest = divmod(int(index), 4)
        self = super().__new__(cls, f"{year}Q{rest + 1}")
        self.index = int(index)
        return self

    @property
    def year(self) -> int:
        return self.index // 4

    @property
    def number(self) -> int:
        """1 to 4."""
        return self.index % 4 + 1

    def label(self, lang: str = "da") -> str:
        """For readers: ``1. kvartal 2027`` (Danish) or ``Q1 2027`` (English)."""
        return (
            f"{self.number}. kvartal {self.year}" if lang == "da" else f"Q{self.number} {self.year}"
        )

    def __add__(self, other):
        if isinstance(other, int | np.integer) and not isinstance(other, bool):
            return Quarter.of(self.index + int(other))
        return str.__add__(self, other)

    def __sub__(self, other):
        if isinstance(other, int | np.integer) and not isinstance(other, bool):
            return Quarter.of(self.index - int(other))
        if isinstance(other, str):
            return self.index - to_index(other)
        return NotImplemented

    def __reduce__(self):
        return (Quarter.of, (self.index,))

    def __repr__(self) -> str:
        return str.__repr__(self)


def _represent(dumper, quarter: Quarter):
    return dumper.represent_str(str(quarter))


def _register_yaml() -> None:
    """YAML writes a Quarter as its label (the safe dumper refuses unknown types)."""
    for dumper in (yaml.SafeDumper, yaml.Dumper):
        dumper.add_representer(Quarter, _represent)


_register_yaml()


def is_quarter(text: str) -> bool:
    """Whether ``text`` is a ``YYYYQn`` quarter."""
    return bool(QUARTER_PATTERN.match(str(text)))


def argument(text: str) -> str:
    """An ``argparse`` type for a quarter given on the command line (``2025Q1``).

    Only the exact form is accepted (``2025-Q1``, ``2025q1``, ``Q1 2025`` and full-width
    digits are not), so a typo is named instead of failing later.
    """
    if not is_quarter(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a quarter written YYYYQn (e.g. 2025Q1: four digits, capital Q, 1-4)"
        )
    return Quarter(text)


def check_window(quarter: str, first: str, last: str, what: str) -> None:
    """Raise ``ValueError`` naming ``what`` when ``quarter`` lies outside ``first``–``last``."""
    if not to_index(first) <= to_index(quarter) <= to_index(last):
        raise ValueError(f"{what} {quarter} is outside {first}–{last}")


def to_index(quarter: str) -> int:
    """Return the integer index of a ``YYYYQn`` quarter (a :class:`Quarter`'s own, unparsed)."""
    if isinstance(quarter, Quarter):
        return quarter.index
    return Quarter(quarter).index


@functools.lru_cache(maxsize=4096)
def label_index(label: str) -> int:
    """The index of a quarter label found in data (a table's column, a ledger's row).

    Data hold few distinct quarters in many rows: each label is parsed once per
    process, apart from :data:`PARSES` (which counts the quarters the program
    itself is given and passes on).
    """
    match = QUARTER_PATTERN.match(str(label))
    if not match:
        raise ValueError(f"not a quarter of the form YYYYQn: {label!r}")
    return int(match.group(1)) * 4 + int(match.group(2)) - 1


def parse(quarter: str) -> Quarter:
    """``quarter`` as a :class:`Quarter` (parsed unless it is one)."""
    return Quarter(quarter)


def from_index(index: int) -> Quarter:
    """Return the quarter of an integer quarter index."""
    return Quarter.of(index)


def shift(quarter: str, n: int) -> Quarter:
    """The quarter ``n`` quarters after ``quarter`` (before, if negative)."""
    return Quarter.of(to_index(quarter) + n)


def span(start: str, end: str) -> list[Quarter]:
    """All quarters from ``start`` to ``end``, both included."""
    return [Quarter.of(i) for i in range(to_index(start), to_index(end) + 1)]


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
