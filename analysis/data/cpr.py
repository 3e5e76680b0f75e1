"""Detection of Danish civil registration numbers (CPR, ``DDMMYY-XXXX``), however written.

A CPR number must never enter the pipeline, and no message, log line or error
ever repeats one. One detector serves both: :func:`looks_like_cpr` refuses id
values holding one, :func:`mask_text` hides every one in a text before it is
shown, and :func:`could_be_cpr` tells whether a single value may be echoed.

What counts as CPR-like is every spelling a person or a spreadsheet produces:

* a **digit group**: digits (any script's decimal digits, e.g. full-width ``０``–``９``)
  joined by any run of *separators*: spaces of every width (NBSP, thin and
  narrow spaces), zero-width and invisible characters (U+200B–U+200F, U+2060,
  U+FEFF, soft hyphen, bidirectional marks), hyphens and dashes (``-``, U+2010–U+2015,
  U+2212, small and full-width hyphens), slashes, dots and underscores; so
  ``010190 1234``, ``010190  1234``, ``010190\\u200b1234``, ``01 01 90 1234``,
  ``01.01.90-1234``, ``01-01-1990-1234``, ``010190/1234`` and ``010190 − 1234`` are
  one group each;
* whose digits, separators removed, are **ten** with a valid day and month in
  the first four (``DDMMYY`` + serial), **twelve** with a valid ``DDMMYYYY`` date
  (an 8-digit year of a living person's century, 18, 19 or 20: ``111.000 – 954.000``,
  a band of two amounts in a report, would be 11 October 0095), or **nine** that are ten once the leading zero a spreadsheet
  drops is put back; a trailing float tail of zeros (``101901234.0``) is ignored;
* more than twelve digits in one group are hidden when any ten consecutive of
  them start with a valid day and month (a CPR number inside a longer number);
* the spreadsheet's exponent form of such a number (``1.01901234E+08``,
  ``3.112854321e+09``).

In a rendered report (``standalone``), an amount grouped in thousands with dots
(``103.328.277``) is an amount, never hidden: the report's numbers are computed, and
an id, which is text, is never formatted as one.

The date test is what keeps false positives sane: quarters (``2023Q4``), ISO dates
(``2023-01-01``, eight digits, and even ``2023-01-01 1234``, whose "day" 20 and
"month" 23 are no date), amounts of up to eight digits, row numbers listed with
commas and percentages are never hidden. A ten-digit number whose first four
digits happen to form a day and month (``3112854321`` as an amount, or two
numbers of a plain-text table that end up in one group) is hidden: over-masking
a harmless number is the cheap mistake. A comma is not a separator, so
``1, 2, 3`` and decimal-comma amounts stay as they are.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

MASK = "[CPR-like value hidden]"

# Characters that may stand between the digits of one written number. Whitespace
# (\s covers NBSP and the Unicode spaces), invisible format characters, dashes,
# slashes, dots and underscores.
_SEPARATORS = (
    r"\s"
    r"\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e"  # soft hyphen, invisible fillers
    r"\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"  # zero-width, bidi
    r"\-\u2010-\u2015\u2043\u2212\ufe58\ufe63\uff0d"  # hyphens, dashes, minus
    r"/\\\u2044\u2215\uff0f"  # slashes
    r".\u00b7\u2024\u2027\u30fb\uff0e"  # dots
    r"_"
)
_GROUP = re.compile(rf"\d(?:[{_SEPARATORS}]*\d)*")
# A spreadsheet's exponent form: mantissa, "e", exponent (8 to 11: 9 to 12 digits).
_EXPONENT = re.compile(r"(?<!\d)(\d[.,]\d+)[eE]\+?0*([0-9]{1,2})(?!\d)")
# A float's tail of zeros after a plain run of digits (a spreadsheet's "101901234.0"); after
# a group with separators it is a thousands group ("111.000 – 954.000"), not a float.
_FLOAT_TAIL = re.compile(r"^(\d+)[.\u00b7\uff0e,]0+$")
# A number grouped in thousands with dots, as the Danish reports print amounts.
_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:\.\d{3})+")
# The centuries of an 8-digit year in a living person's birth date.
CENTURIES = ("18", "19", "20")
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _digits(text: str) -> str:
    """The decimal digits of ``text`` as ASCII, separators left out."""
    return "".join(
        str(unicodedata.decimal(c)) for c in text if unicodedata.decimal(c, None) is not None
    )


def _date_start(digits: str) -> bool:
    """True when ``digits`` starts with a valid day and month (``DDMM``; 29 February allowed)."""
    day, month = int(digits[:2]), int(digits[2:4])
    return 1 <= month <= 12 and 1 <= day <= _DAYS[month - 1]


def cpr_digits(digits: str) -> bool:
    """Whether a run of ASCII digits (separators removed) is CPR-like; see the module docstring."""
    n = len(digits)
    if n == 9:
        return _date_start("0" + digits)
    if n == 10:
        return _date_start(digits)
    if n == 12:
        return _date_start(digits) and digits[4:6] in CENTURIES
    if n > 12:
        return any(_date_start(digits[i:]) for i in range(n - 9))
    return False


def _group_is_cpr(group: str) -> bool:
    if cpr_digits(_digits(group)):
        return True
    tail = _FLOAT_TAIL.match(group)
    return bool(tail) and cpr_digits(_digits(tail.group(1)))


def _exponent_is_cpr(match: re.Match) -> bool:
    mantissa, exponent = match.group(1).replace(",", "."), int(match.group(2))
    if exponent not in (8, 9, 10, 11):
        return False
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction + "0" * exponent)[: exponent + 1]
    return cpr_digits(digits)


def _glued(text: str, start: int, end: int) -> bool:
    """True when the group at ``text[start:end]`` touches a letter (part of a word or hex digest)."""
    return (start > 0 and text[start - 1].isalpha()) or (end < len(text) and text[end].isalpha())


def _spans(text: str, standalone: bool = False) -> list[tuple[int, int]]:
    spans = [m.span() for m in _EXPONENT.finditer(text) if _exponent_is_cpr(m)]
    spans += [m.span() for m in _GROUP.finditer(text) if _group_is_cpr(m.group())]
    if standalone:
        # Rendered text: a group touching a letter is part of a word or digest, and a
        # run of more than twelve digits is numbers side by side (an interval of two
        # amounts, "3.211.000 – 5.839.000"), not one personal number.
        # A Danish amount grouped in thousands ("103.328.277 kr.", nine digits that
        # would be 1 March with a spreadsheet's dropped zero put back) is an amount
        # the report computed: ids are text and never formatted as numbers.
        spans = [
            (a, b)
            for a, b in spans
            if not _glued(text, a, b)
            and len(_digits(text[a:b])) <= 12
            and not _THOUSANDS.fullmatch(text[a:b])
        ]
    return sorted(spans)


def mask_text(text) -> str:
    """``text`` (anything, as ``str``) with every CPR-like number replaced by :data:`MASK`."""
    text = str(text)
    spans = _spans(text)
    if not spans:
        return text
    parts, last = [], 0
    for start, end in spans:
        if start < last:  # overlapping exponent and group: one mask covers both
            last = max(last, end)
            continue
        parts += [text[last:start], MASK]
        last = end
    parts.append(text[last:])
    return "".join(parts)


def could_be_cpr(value, standalone: bool = False) -> bool:
    """Whether one value, written as text, holds something CPR-like (never echo it).

    ``standalone`` leaves out digit groups glued to a letter (``P0101901234``, the
    digits inside a hex checksum): the post-render check of a report
    (:mod:`analysis.sdc.check`), whose colophon lists checksums, uses it; ids
    themselves are refused when the data are read (:func:`looks_like_cpr`).
    """
    return bool(_spans(str(value), standalone))


def digit_counts(text: pa.Array) -> np.ndarray:
    """How many decimal digits (of any script) each value of a string array holds (0 if missing).

    Values all in ASCII (ids as registers write them) are counted on the array's bytes
    in NumPy: a digit is then a byte ``0``–``9``. Otherwise Arrow's regex engine counts
    ``\\p{Nd}`` in every value, as it did for all (several seconds a million ids).
    """
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if pa.types.is_string(text.type) or pa.types.is_large_string(text.type):
        offsets_type = np.int64 if pa.types.is_large_string(text.type) else np.int32
        _, offsets_buffer, data_buffer = text.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=offsets_type)[
            text.offset : text.offset + len(text) + 1
        ]
        data = (
            np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
            if data_buffer is not None
            else np.zeros(0, np.uint8)
        )
        if not len(data) or data.max() < 0x80:
            running = np.zeros(len(data) + 1, dtype=np.int64)
            np.cumsum((data >= ord("0")) & (data <= ord("9")), out=running[1:])
            counts = running[offsets[1:] - offsets[0]] - running[offsets[:-1] - offsets[0]]
            if text.null_count:
                counts[text.is_null().to_numpy(zero_copy_only=False)] = 0
            return counts
    counts = pc.count_substring_regex(text, r"\p{Nd}").fill_null(0)
    return np.asarray(counts.to_numpy(zero_copy_only=False))


def looks_like_cpr(values: pd.Series) -> pd.Series:
    """True where a value holds a CPR-like number in any spelling (:func:`could_be_cpr`).

    Checked once per distinct value and mapped back to the rows; only values with
    at least nine digits (the fewest a CPR-like number has) reach Python's regex.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    flags = np.zeros(len(uniques), dtype=bool)
    if len(uniques):
        text = pa.array(pd.Series(uniques, dtype="string"), from_pandas=True)
        candidates = np.flatnonzero(digit_counts(text) >= 9)
        flags[candidates] = [could_be_cpr(text[int(i)].as_py()) for i in candidates]
    hits = np.where(codes >= 0, flags[np.maximum(codes, 0)] if len(flags) else False, False)
    return pd.Series(hits, index=values.index)


# A run of more characters than this without a space is cut in messages (a whole
# cell, a header, a file's first bytes): its start is kept and its length stated.
LONGEST_RUN = 200
_LONG_RUN = re.compile(rf"\S{{{LONGEST_RUN + 1},}}")


def cut_long(text: str, keep: int = 60) -> str:
    """``text`` with every run of more than :data:`LONGEST_RUN` non-space characters cut to ``keep``."""
    return _LONG_RUN.sub(lambda m: f"{m.group()[:keep]}… ({len(m.group()):,} characters)", text)


def safe_message(text) -> str:
    """A message fit to show: CPR-like numbers masked (:func:`mask_text`), then long runs cut."""
    return cut_long(mask_text(text))
