"""Detection of Danish civil registration numbers (CPR, ``DDMMYY-XXXX``).

A CPR number must never enter the pipeline. An id that looks like one (six digits
forming a valid date, then four digits, with or without a hyphen) is refused, and
no message ever repeats a CPR-like number from the data (:func:`mask_text`): it
names file, column and row instead.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

CPR_PATTERN = r"^\s*(\d{2})(\d{2})(\d{2})-?(\d{4})\s*$"


def looks_like_cpr(values: pd.Series) -> pd.Series:
    """True where a value has the form of a CPR number with a valid day and month.

    Checked once per distinct value and mapped back to the rows.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pd.Series(uniques, dtype="string")
    # A letter rules a value out (the pattern has digits, spaces and a hyphen only):
    # one Arrow regex pass spares Python's regex the millions of ids like "P00000001".
    candidates = ~text.str.contains(r"\p{L}", regex=True, na=False).to_numpy(dtype=bool)
    flags = np.zeros(len(text), dtype=bool)
    if candidates.any():
        flags[candidates] = _cpr_flags(text[candidates]).to_numpy(dtype=bool)
    hits = np.where(codes >= 0, flags[np.maximum(codes, 0)] if len(flags) else False, False)
    return pd.Series(hits, index=values.index)


def _cpr_flags(values: pd.Series) -> pd.Series:
    parts = values.str.extract(CPR_PATTERN)
    day = pd.to_numeric(parts[0], errors="coerce")
    month = pd.to_numeric(parts[1], errors="coerce")
    year = pd.to_numeric(parts[2], errors="coerce")
    # The century is encoded in the serial number; a valid day-of-month in either
    # century is enough to refuse the value.
    days_in_month = pd.Series([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], index=range(1, 13))
    month_ok = month.between(1, 12)
    max_day = month.where(month_ok).map(days_in_month)
    leap_ok = ~((month == 2) & (day == 29) & (year % 4 != 0))
    valid = month_ok & day.between(1, 31) & (day <= max_day) & leap_ok
    return valid.fillna(False).astype(bool)


# Anything that could be a CPR number once written into a message: ten digits, or nine
# (a leading zero lost when a spreadsheet made it a number), with or without a hyphen
# (or dash-like character) or space after the birth date, dots in the date, a float tail ("101901234.0") or in exponent form
# ("3.112854321e+09"). Over-masking a harmless number is the cheap mistake.
CPR_IN_TEXT = re.compile(
    r"(?<!\d)(?:\d{5,6}|\d{1,2}[./-]\d{2}[./-]\d{2})[-\s\u2010-\u2015]?\d{4}(?:\.\d+)?(?!\d)"
    r"|(?<!\d)\d\.\d+[eE]\+?0*[89](?!\d)"
)
MASK = "[CPR-like value hidden]"


def mask_text(text: str) -> str:
    """``text`` with every CPR-like number replaced by :data:`MASK`."""
    return CPR_IN_TEXT.sub(MASK, str(text))


def could_be_cpr(value) -> bool:
    """Whether one value, written as text, holds something CPR-like (never echo it)."""
    return bool(CPR_IN_TEXT.search(str(value)))
