"""Number formatting for report text and tables, Danish (``1.234,5``) or English."""

from __future__ import annotations

import math

SEPARATORS = {"da": (".", ","), "en": (",", ".")}
MINUS = "\u2212"


def number(value, decimals: int = 0, lang: str = "da") -> str:
    """Format a number with thousands separators and a decimal mark for ``lang``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    thousands, decimal = SEPARATORS[lang]
    text = f"{float(value):,.{decimals}f}"
    text = text.replace(",", "\x00").replace(".", decimal).replace("\x00", thousands)
    if text.startswith("-"):
        # A rounded zero has no sign; other negatives get a true minus sign (U+2212).
        zero = float(text[1:].replace(thousands, "").replace(decimal, ".")) == 0
        text = text[1:] if zero else MINUS + text[1:]
    return text


def percent(value, decimals: int = 1, lang: str = "da") -> str:
    """Format a share (0.123) as a percentage (``12,3 %``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{number(100 * value, decimals, lang)} %"


def dkk(value, lang: str = "da") -> str:
    """Format an amount in Danish kroner."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{number(value, 0, lang)} kr." if lang == "da" else f"DKK {number(value, 0, lang)}"
