"""Primary and secondary suppression of small counts in tables shown in reports.

Primary: a count cell with ``0 < n < min_persons`` is hidden. Secondary: when a
group of cells adds up to a published total (the rows of a column that has a
total row, given by ``total_row``), a single hidden cell could be recovered by
subtraction, so the smallest other visible non-zero cell of the group is hidden
too (repeated until no group has exactly one hidden cell). Cells of other columns
that are computed from a hidden count (``dependent`` columns, such as amounts or
shares) are hidden with it. Hidden cells show ``SUPPRESSED``.
"""

from __future__ import annotations

import pandas as pd

SUPPRESSED = "*"
FOOTNOTE = {
    "da": "\\* Skjult af hensyn til diskretion (færre end {n} personer, eller for at en skjult celle ikke kan regnes ud fra totalen).",
    "en": "\\* Hidden for confidentiality (fewer than {n} persons, or so that a hidden cell cannot be worked out from the total).",
}


def is_small(counts, min_persons: int):
    """The primary rule: a count of 1 to ``min_persons - 1`` may not be shown (zero may)."""
    return (counts > 0) & (counts < min_persons)


def suppress(
    frame: pd.DataFrame,
    count_columns: list[str],
    min_persons: int,
    total_row: tuple[str, object] | None = None,
    dependent: dict[str, list[str]] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Return the protected table (object dtype, hidden cells as ``*``) and how many cells were hidden."""
    out = frame.copy().astype(object)
    hidden = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    for column in count_columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        hidden[column] = is_small(values, min_persons)
    if total_row is not None:
        key, label = total_row
        is_total = frame[key] == label
        for column in count_columns:
            values = pd.to_numeric(frame[column], errors="coerce")
            while True:
                members = hidden.loc[~is_total, column]
                if members.sum() != 1:
                    break
                candidates = values[~is_total & ~hidden[column] & (values > 0)]
                if candidates.empty:
                    # Only the total can give the hidden cell away: hide the total.
                    hidden.loc[is_total, column] = True
                    break
                hidden.loc[candidates.idxmin(), column] = True
    for column, columns in (dependent or {}).items():
        for other in columns:
            hidden[other] = hidden[other] | hidden[column]
    count = int(hidden.to_numpy().sum())
    out = out.mask(hidden, SUPPRESSED)
    return out, count


def footnote(lang: str, min_persons: int) -> str:
    """The footnote that explains the suppression symbol."""
    return FOOTNOTE[lang].format(n=min_persons)


def suppress_rows(
    frame: pd.DataFrame,
    count_column: str,
    hide_columns: list[str],
    min_persons: int,
    group_column: str,
    sum_column: str,
) -> tuple[pd.DataFrame, int]:
    """Hide whole rows whose count is below the minimum, for tables whose row sums are published.

    Used for the payment statement: a target paid for 1–4 persons is hidden (count,
    achievements and amount), and because each report's total amount is published
    (in the caps table), a second row of the same report, the one with the smallest
    non-zero amount, is hidden too, so the first cannot be recovered from the total.
    """
    counts = pd.to_numeric(frame[count_column], errors="coerce")
    hidden = is_small(counts, min_persons)
    amounts = pd.to_numeric(frame[sum_column], errors="coerce")
    for _, rows in frame.groupby(group_column, sort=False).groups.items():
        rows = pd.Index(rows)
        if hidden[rows].sum() == 1:
            candidates = amounts[rows][~hidden[rows] & (amounts[rows] > 0)]
            if not candidates.empty:
                hidden[candidates.idxmin()] = True
    out = frame.copy().astype(object)
    out.loc[hidden, hide_columns] = SUPPRESSED
    return out, int(hidden.sum())
