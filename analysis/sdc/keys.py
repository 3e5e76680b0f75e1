"""The keys of disclosure cells: one named tuple per table kind, its fields named for what they are.

A key names what a number is, not where it is shown: the same key in two tables
(or two reports) is the same number (:mod:`analysis.sdc.disclosure`). Each kind is
declared below in one call (:func:`cell_kind`): the table it belongs to and its
fields. A key is a tuple whose first item is its table (``key.table``), so the
persisted form (``disclosure.json``: a key is the JSON list of its items) and the
order and hashing of keys are those of the plain tuples the kinds replace; a key
read back from a file is rebuilt as its kind by :func:`decode` (by its table and
its length: a settled statement row has no ``as_of``, a provisional one has).

A new table kind is one more :func:`cell_kind` call; :func:`decode` finds it by
its table and number of fields, so a (table, length) pair names one kind.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Hashable

# (table, number of items) → kind, filled by cell_kind: how decode rebuilds a key.
KINDS: dict[tuple[str, int], type] = {}


def cell_kind(name: str, table: str, fields: str, doc: str) -> type:
    """A named tuple ``(table, *fields)`` whose ``table`` is always ``table``.

    Constructed from its own fields only (``TargetCell("cumulative", target,
    area, as_of)``); ``KIND._make(items)`` rebuilds one from all its items.
    """
    base = namedtuple(f"_{name}", ["table", *fields.split()])

    def __new__(cls, *values, **named):
        return base.__new__(cls, table, *values, **named)

    def __getnewargs__(self):
        # Pickling calls __new__ with these: its own fields, not the table.
        return tuple(self)[1:]

    kind = type(
        name,
        (base,),
        {
            "__new__": __new__,
            "__getnewargs__": __getnewargs__,
            "__slots__": (),
            "__doc__": doc,
            "__module__": __name__,
            "TABLE": table,
        },
    )
    if (table, len(base._fields)) in KINDS:
        raise ValueError(f"two kinds of key for table {table!r} with {len(base._fields)} items")
    KINDS[(table, len(base._fields))] = kind
    return kind


EnrolmentCell = cell_kind(
    "EnrolmentCell",
    "enrolment",
    "measure quarter",
    "Households or persons enrolled (new, to date, exited) by the end of ``quarter``.",
)
CompletenessCell = cell_kind(
    "CompletenessCell",
    "completeness",
    "measure source as_of",
    "Deliveries expected, present or missing of one source, as of a report's quarter.",
)
TargetCell = cell_kind(
    "TargetCell",
    "targets",
    "measure target area as_of",
    "A count of the targets table (``area`` ``all``: every area) as of a report's quarter; "
    "``measure`` ``flow`` and ``outside_periods`` are derived counts no table shows.",
)
SettledRow = cell_kind(
    "SettledRow",
    "statement",
    "measure period target status",
    "A final row of the payment statement (``status`` ``final``): the same number in every "
    "report, so it carries no quarter. ``period`` is the result report it pays for.",
)
ProvisionalRow = cell_kind(
    "ProvisionalRow",
    "statement",
    "measure period target status as_of",
    "A provisional row of the payment statement: a number of the report of ``as_of``.",
)
AdjustmentCell = cell_kind(
    "AdjustmentCell",
    "adjustment",
    "measure period corrects",
    "An adjustment entry (its size) settled in the result report ``period``, correcting "
    "``corrects`` (``<report>:<target>``): the same number in every later report.",
)
CapsCell = cell_kind(
    "CapsCell",
    "caps",
    "measure period as_of",
    "A column of the caps table for one result report: ``due`` or ``adjustments``.",
)
SummaryCell = cell_kind(
    "SummaryCell",
    "summary",
    "figure as_of",
    "A figure of page 1 (``provisional_total``, ``adjustments_total``).",
)
TargetSummaryCell = cell_kind(
    "TargetSummaryCell",
    "summary",
    "figure target as_of",
    "A figure of page 1 per target (``earned_by_target``, ``amount_by_target``).",
)
EffectsCell = cell_kind(
    "EffectsCell",
    "effects",
    "measure outcome as_of",
    "Persons behind one outcome's estimates: ``persons``, ``treated``, ``comparison``.",
)
SubgroupCell = cell_kind(
    "SubgroupCell",
    "subgroup",
    "outcome by value as_of",
    "Treated persons of one outcome with ``by`` equal to ``value`` (a heterogeneity table).",
)
ChangeCell = cell_kind(
    "ChangeCell",
    "change",
    "previous current",
    "The change between an earlier report's number and this report's (both keys): derived.",
)
EarlierCell = cell_kind(
    "EarlierCell",
    "as published earlier",
    "cell",
    "An earlier report's version of a number this report revises (``cell`` is its key).",
)

STATEMENT_ROWS = (SettledRow, ProvisionalRow)


def decode(stored) -> Hashable:
    """A key as persisted (a JSON list, or a tuple) rebuilt as its kind; other values as they are.

    A list of no known kind becomes a plain tuple (keys of models that are not a
    report's, as the tests of :mod:`analysis.sdc.linked` declare).
    """
    if not isinstance(stored, list | tuple):
        return stored
    items = [decode(item) for item in stored]
    kind = KINDS.get((items[0], len(items))) if items and isinstance(items[0], str) else None
    return kind._make(items) if kind is not None else tuple(items)


def encode(key: Hashable):
    """A key as persisted: a tuple (a kind included) as the JSON list of its items."""
    return [encode(item) for item in key] if isinstance(key, tuple) else key
