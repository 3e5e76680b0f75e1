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


# A hidden headline number (page 1, the portal) is said in words, not as the symbol.
# The words are the same whether the number is small or a partner of a small one:
# telling the two apart would tell a reader that a number is 1 to 4.
HIDDEN_WORDS = {
    "da": "skjult, så intet antal under {n} personer kan regnes ud",
    "en": "hidden so that no count of fewer than {n} persons can be worked out",
}
HIDDEN_WORDS_PLAIN = {
    "da": "skjult, så intet lille antal personer kan regnes ud",
    "en": "hidden so that no small count of persons can be worked out",
}


def hidden_words(lang: str, min_persons: int | None = None) -> str:
    """Why a headline number is not shown, in words (instead of the suppression symbol)."""
    if min_persons is None:
        return HIDDEN_WORDS_PLAIN[lang]
    return HIDDEN_WORDS[lang].format(n=min_persons)


def is_small(counts, min_persons: int):
    """The primary rule: a count of 1 to ``min_persons - 1`` may not be shown (zero may)."""
    return (counts > 0) & (counts < min_persons)


def footnote(lang: str, min_persons: int) -> str:
    """The footnote that explains the suppression symbol."""
    return FOOTNOTE[lang].format(n=min_persons)
