"""Number formatting for report text and tables, Danish (``1.234,5``) or English.

The separators are CLDR's for the two report languages (``da``: group ``.``, decimal
``,``; ``en``: ``,`` and ``.``), the data babel's ``format_decimal`` reads; the tests
check every format against babel, which the runtime environment leaves out (36 MB of
locale data for two locales; README, "Set-up"). A report's Markdown formats its
inline values with :class:`Format`, the same functions bound to the report's language.
"""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass

from analysis import quarters

MINUS = "\u2212"
# CLDR's group and decimal symbols of the report languages (latn numbering).
SEPARATORS = {"da": (".", ","), "en": (",", ".")}


def number(value, decimals: int = 0, lang: str = "da") -> str:
    """Format a number with thousands separators and a decimal mark for ``lang``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    group, mark = SEPARATORS[lang]
    # The float's exact binary value, rounded half to even: the digits Python's own
    # formatting gives (rounding the shortest decimal repr would differ at halves).
    text = format(decimal.Decimal(float(value)), f",.{decimals}f")
    text = text.translate(str.maketrans({",": group, ".": mark}))
    if text.startswith("-"):
        # A rounded zero has no sign; other negatives get a true minus sign (U+2212).
        zero = not any(c in "123456789" for c in text)
        text = text[1:] if zero else MINUS + text[1:]
    return text


def percent(value, decimals: int = 1, lang: str = "da") -> str:
    """Format a share (0.123) as a percentage: ``12,3 %`` in Danish, ``12.3%`` in English."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    # Danish puts a (no-break) space before the sign; English writes it closed up.
    return f"{number(100 * value, decimals, lang)}{NBSP if lang == 'da' else ''}%"


def dkk(value, lang: str = "da") -> str:
    """Format an amount in Danish kroner."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{number(value, 0, lang)} kr." if lang == "da" else f"DKK {number(value, 0, lang)}"


def quarter(label: str, lang: str = "da") -> str:
    """A ``YYYYQn`` quarter for readers: ``1. kvartal 2027`` (Danish) or ``Q1 2027`` (English)."""
    if isinstance(label, quarters.Quarter):
        return label.label(lang)
    year, number = str(label).split("Q")
    return f"{number}. kvartal {year}" if lang == "da" else f"Q{number} {year}"


NBSP = "\u00a0"
INTERVAL_SEPARATOR = {"da": ";", "en": ","}


def interval(low, high, decimals: int = 2, lang: str = "da") -> str:
    """A confidence interval, ``[0,19; 0,31]`` or ``[0.19, 0.31]``, that never breaks over two lines."""
    return f"[{number(low, decimals, lang)}{INTERVAL_SEPARATOR[lang]}{NBSP}{number(high, decimals, lang)}]"


def plural(count, singular: str, plural_form: str, lang: str = "en", decimals: int = 0) -> str:
    """A count with its noun in the right number (``1 point``, ``2 points``), never ``point(s)``."""
    noun = singular if float(count) == 1 else plural_form
    return f"{number(count, decimals, lang)} {noun}"


@dataclass(frozen=True)
class Format:
    """The formatting functions bound to one report language: ``fmt.dkk(x)`` in a notebook."""

    lang: str

    def number(self, value, decimals: int = 0) -> str:
        return number(value, decimals, self.lang)

    def percent(self, value, decimals: int = 1) -> str:
        return percent(value, decimals, self.lang)

    def dkk(self, value) -> str:
        return dkk(value, self.lang)

    def quarter(self, label: str) -> str:
        return quarter(label, self.lang)

    def interval(self, low, high, decimals: int = 2) -> str:
        return interval(low, high, decimals, self.lang)
