"""Coding a long panel's units, periods and clusters in linear time and bounded memory.

The estimators index their arrays by dense integer codes of the unit id, the period
and the cluster. On a panel of a hundred million rows a hash table of the values
(``pd.factorize``) or a sort of the (unit, period) keys costs more than the estimate
itself, and each int64 array of the panel's length is most of a GiB. Here a column
of small non-negative integers (the int32 id codes of
:func:`analysis.data.engine.read_coded`, quarter numbers) is coded through a lookup
table, every full-length pass runs ``CHUNK`` rows at a time, and the one-row-per-cell
check marks one byte per (unit, period) cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.did.checks import EstimationError

# Rows handled at a time by the full-length passes: bounds their temporaries
# (a few arrays of this length) whatever the length of the panel.
CHUNK = 1 << 21


def chunks(n: int, width: int = 1):
    """Slices covering ``range(n)``, each of about ``CHUNK`` values: ``CHUNK`` rows, or
    ``CHUNK // width`` rows of a matrix ``width`` columns wide."""
    size = max(1, CHUNK // max(width, 1))
    return (slice(start, min(start + size, n)) for start in range(0, max(n, 1), size))


def code_type(levels: int):
    """The smallest signed integer type that numbers ``levels`` levels."""
    for kind in (np.int8, np.int16, np.int32):
        if levels <= np.iinfo(kind).max:
            return kind
    return np.int64


def codes(values: pd.Series, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes ``0..levels-1`` of a column, and the levels: the codes of
    ``pd.factorize(values, sort=sort)`` (levels numbered in order of first appearance,
    or sorted).

    Integers in a range not much longer than the column are coded by a lookup table
    (no int64 copy of the column, linear time); anything else by ``pd.factorize``.
    """
    array = values.to_numpy()
    if (
        np.issubdtype(array.dtype, np.integer)
        and len(array)
        and array.min() >= 0
        and array.max() < 4 * len(array) + 1024
    ):
        low = int(array.min())
        present = np.zeros(int(array.max()) + 1, bool)
        for part in chunks(len(array)):
            present[array[part]] = True
        levels = np.flatnonzero(present).astype(array.dtype)
        kind = code_type(len(levels))
        if present[low:].all() and array.dtype == kind and low == 0:
            # Already the codes 0..levels-1 (the ids of read_coded): no copy.
            out = array
        elif present[low:].all():
            out = np.empty(len(array), kind)
            for part in chunks(len(array)):
                np.subtract(array[part], low, out=out[part], casting="unsafe")
        else:
            dense = (np.cumsum(present, dtype=np.int64) - 1).astype(kind)
            out = np.empty(len(array), kind)
            for part in chunks(len(array)):
                out[part] = dense[array[part]]
        if not sort:
            # Renumbered in order of first appearance, as pd.factorize numbers them.
            order = np.argsort(first_rows(out, len(levels)), kind="stable")
            renumber = np.empty(len(levels), kind)
            renumber[order] = np.arange(len(levels), dtype=kind)
            out = np.concatenate([renumber[out[part]] for part in chunks(len(array))])
            levels = levels[order]
        return out, levels
    out, uniques = pd.factorize(values, sort=sort)
    return out, np.asarray(uniques)


def one_row_per_cell(unit, time, n_units: int, n_periods: int, idname: str, tname: str) -> bool:
    """Refuse a second row for a unit and period; True when every unit has every period.

    One mark per (unit, period) cell, set in chunks: linear time and one byte a
    cell, where a sort or a hash table of the keys would cost more than the estimate.
    """
    seen = np.zeros(n_units * n_periods, bool)
    for part in chunks(len(unit)):
        seen[unit[part].astype(np.int64) * n_periods + time[part]] = True
    # A cell with two rows is marked once: fewer marks than rows.
    marked = int(np.count_nonzero(seen))
    if marked != len(unit):
        raise EstimationError(f"more than one row per {idname} and {tname}")
    return marked == len(seen)


def first_rows(unit: np.ndarray, n_units: int) -> np.ndarray:
    """Each unit's first row (units are ``0..n_units-1``; every one has a row)."""
    first = np.full(n_units, -1, np.int64)
    # Chunks from the last, each reversed: the earliest row of a unit is written last.
    starts = list(chunks(len(unit)))
    for part in reversed(starts):
        first[unit[part][::-1]] = np.arange(part.start, part.stop)[::-1]
    return first


def constant_within(values: np.ndarray, unit: np.ndarray, first: np.ndarray) -> bool:
    """True when ``values`` take one value per unit (each row equals its unit's first row's)."""
    reference = values[first]
    return all(np.array_equal(values[part], reference[unit[part]]) for part in chunks(len(unit)))


def first_appearance_codes(unit_values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Codes of per-unit values (one value per unit) in the order the values first appear
    in the panel, ``pd.factorize(column)[0][first]``, from the units alone."""
    labels, _ = pd.factorize(unit_values)
    n_labels = int(labels.max()) + 1 if len(labels) else 0
    first_of_label = np.full(n_labels, np.iinfo(np.int64).max)
    np.minimum.at(first_of_label, labels, first)
    rank = np.empty(n_labels, np.int64)
    rank[np.argsort(first_of_label, kind="stable")] = np.arange(n_labels)
    return rank[labels]
