"""The primary suppression rule and how suppression is shown.

Primary: a count cell with ``0 < n < min_persons`` is hidden (:func:`is_small`).
Secondary suppression is done by :class:`analysis.sdc.linked.LinkedCells` over all
the cells of a report. Hidden cells show ``SUPPRESSED`` and the table carries
:func:`footnote`.
"""

from __future__ import annotations

SUPPRESSED = "*"
FOOTNOTE = {
    "da": "\\* Skjult af hensyn til diskretion (færre end {n} personer, eller for at et skjult lille antal ikke kan regnes ud fra andre tal i denne eller tidligere rapporter).",
    "en": "\\* Hidden for confidentiality (fewer than {n} persons, or so that a hidden small count cannot be worked out from other numbers in this or earlier reports).",
}


def is_small(counts, min_persons: int):
    """The primary rule: a count of 1 to ``min_persons - 1`` may not be shown (zero may)."""
    return (counts > 0) & (counts < min_persons)


def footnote(lang: str, min_persons: int) -> str:
    """The footnote that explains the suppression symbol."""
    return FOOTNOTE[lang].format(n=min_persons)
