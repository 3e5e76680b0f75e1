"""The cells of one report and the identities between them: what is declared, and which are hidden.

A report publishes cells: counts (persons, households, achievements) and amounts.
Many of them are tied together by identities a reader can use (a total is the sum
of its rows, a cumulative count minus last quarter's is this quarter's flow, an
amount is a unit price times a count). :class:`Registry` holds the cells under
keys that mean the same thing wherever they appear (:mod:`analysis.sdc.keys`),
the identities (:class:`Relation`, ``Σ coefficient × cell = 0``), the bundles of
cells hidden together, and the sets the suppression decides and the audit reads
(``hidden``, ``primary``, and ``forced``: what earlier reports hid). It checks that
each identity holds for the declared values, and counts its changes
(``revision``) so that the audit knows when its cached answers are stale.

A report declares its numbers one table at a time (:class:`Table`, given to
:meth:`Registry.add_table` in one call): the table's cells in the order it shows
them, then the identities a reader could use with them, then the cells hidden
together. That order is the model's: a cell's place is the tie-break of every
choice of the suppression, and the identities' order is the row order of every
integer programme.

It neither audits (:mod:`analysis.sdc.audit`) nor chooses what to hide
(:mod:`analysis.sdc.policy`) nor reads or writes files (:mod:`analysis.sdc.persist`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from analysis.sdc.check import DisclosureError
from analysis.sdc.keys import EarlierCell

TOLERANCE = 1e-6


@dataclass
class Cell:
    """One number of a report, shown or derivable."""

    key: Hashable
    value: float
    shown: bool
    count: bool
    hideable: bool = True
    bundle: int | None = None
    earlier: bool = False
    cost: int = 1


@dataclass
class Relation:
    """``Σ coefficient × cell = 0`` over the cells named in ``terms``."""

    terms: dict[Hashable, float]
    name: str = ""
    # How far the shown (rounded) values miss the identity: the audit allows it.
    slack: float = 0.0


@dataclass(frozen=True)
class Declared:
    """A cell as a table declares it: its key, its value and what it is (:meth:`Registry.add`)."""

    key: Hashable
    value: float
    shown: bool = True
    count: bool = True
    hideable: bool = True
    cost: int = 1


@dataclass(frozen=True)
class Sum:
    """An identity ``total = Σ members`` (``Σ coefficient × member`` for a dict).

    ``exact``: one that holds by the data rather than by definition, declared only
    when the values satisfy it (:meth:`Registry.sum_if_exact`); ``if_declared``:
    declared only when every cell it joins is declared by then (a cell of another
    table that a report may not show).
    """

    total: Hashable
    members: tuple | dict
    name: str = ""
    exact: bool = False
    if_declared: bool = False


@dataclass(frozen=True)
class RunningTotal:
    """``cumulative[i] = cumulative[i-1] + flows[i]`` (:meth:`Registry.running_total`)."""

    cumulative: tuple
    flows: tuple
    name: str = ""


@dataclass
class Table:
    """One table of a report as disclosure control sees it, declared in one call.

    Built by :meth:`cell`, :meth:`sum`, :meth:`running_total` and :meth:`bundle`
    without touching the model; :meth:`Registry.add_table` then declares its cells
    in the order given, its identities in the order given (a running total adds
    its undeclared flows as derivable cells then), and its bundles.
    """

    name: str
    cells: list[Declared] = field(default_factory=list)
    identities: list[Sum | RunningTotal] = field(default_factory=list)
    bundles: list[tuple] = field(default_factory=list)

    def cell(
        self,
        key: Hashable,
        value: float,
        *,
        shown: bool = True,
        count: bool = True,
        hideable: bool = True,
        cost: int = 1,
    ) -> Hashable:
        """Add a cell (:meth:`Registry.add`: what the options mean); returns its key."""
        self.cells.append(Declared(key, float(value), shown, count, hideable, cost))
        return key

    def sum(
        self,
        total: Hashable,
        members: Iterable[Hashable] | dict,
        name: str = "",
        *,
        exact: bool = False,
        if_declared: bool = False,
    ) -> None:
        """Add the identity ``total = Σ members`` (:class:`Sum`: the options)."""
        members = dict(members) if isinstance(members, dict) else tuple(members)
        self.identities.append(Sum(total, members, name, exact, if_declared))

    def running_total(
        self, cumulative: Iterable[Hashable], flows: Iterable[Hashable], name: str = ""
    ) -> None:
        """Add ``cumulative[i] = cumulative[i-1] + flows[i]`` (:class:`RunningTotal`)."""
        self.identities.append(RunningTotal(tuple(cumulative), tuple(flows), name))

    def bundle(self, keys: Iterable[Hashable]) -> None:
        """Cells hidden together (:meth:`Registry.bundle`)."""
        self.bundles.append(tuple(keys))


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(1.0, abs(b))


class Registry:
    """The declared cells, identities and bundles of one report, and which cells are hidden."""

    def __init__(self) -> None:
        self.cells: dict[Hashable, Cell] = {}
        self.relations: list[Relation] = []
        self.bundles: list[list[Hashable]] = []
        self.hidden: set[Hashable] = set()
        self.primary: set[Hashable] = set()
        # Cells this report declares, and those among them no earlier report had.
        self.current: set[Hashable] = set()
        self.new: set[Hashable] = set()
        # Cells of earlier reports: what they hid stays hidden, what they showed is out.
        self.forced: set[Hashable] = set()
        self.relations_of: dict[Hashable, list[int]] = {}
        self.signatures: set[frozenset] = set()
        # The first identity this report declared (those before are earlier reports').
        self.first_new_relation = 0
        # Counts every change of the model: caches of answers about it are kept per revision.
        self.revision = 0

    def changed(self) -> None:
        self.revision += 1

    # -- declaring cells ------------------------------------------------------------------

    def add_table(self, table: Table) -> None:
        """Declare one table: its cells, then its identities, then its bundles, each in order."""
        for cell in table.cells:
            self.add(
                cell.key,
                cell.value,
                shown=cell.shown,
                count=cell.count,
                hideable=cell.hideable,
                cost=cell.cost,
            )
        for identity in table.identities:
            if isinstance(identity, RunningTotal):
                self.running_total(list(identity.cumulative), list(identity.flows), identity.name)
                continue
            members = identity.members
            keys = [identity.total, *members]
            if identity.if_declared and any(k not in self.cells for k in keys):
                continue
            if identity.exact:
                self.sum_if_exact(identity.total, members, identity.name)
            else:
                self.sum_of(identity.total, members, identity.name)
        for keys in table.bundles:
            self.bundle(keys)

    def add(
        self,
        key: Hashable,
        value: float,
        *,
        shown: bool = True,
        count: bool = True,
        hideable: bool = True,
        cost: int = 1,
    ) -> None:
        """Declare a cell. The same key may be declared again (another table) with the same value.

        ``count`` marks a count of persons or units (small ones are protected);
        ``shown=False`` declares a derivable cell that no table shows;
        ``hideable=False`` a shown number that must stay (an amount to be paid), so
        secondary suppression looks elsewhere; a higher ``cost`` makes secondary
        suppression take other cells first (the payment statement's rows).
        """
        value = float(value)
        existing = self.cells.get(key)
        if existing is not None and existing.earlier:
            if not _same(existing.value, value):
                # A revised number: the earlier version is a different cell.
                self.rename(key, EarlierCell(key))
            else:
                existing.earlier = False
                self.current.add(key)
                if shown and not existing.shown:
                    self.new.add(key)
                self._merge(existing, shown, count, hideable, cost)
                self.changed()
                return
        existing = self.cells.get(key)
        if existing is not None:
            if not _same(existing.value, value):
                raise DisclosureError(
                    f"cell {key!r} declared twice with different values: {existing.value} and {value}"
                )
            self._merge(existing, shown, count, hideable, cost)
            return
        self.cells[key] = Cell(key, value, shown, count, hideable, cost=cost)
        self.current.add(key)
        self.new.add(key)
        self.changed()

    @staticmethod
    def _merge(existing: Cell, shown: bool, count: bool, hideable: bool, cost: int) -> None:
        existing.shown = existing.shown or shown
        existing.count = existing.count or count
        existing.hideable = existing.hideable and hideable
        existing.cost = max(existing.cost, cost)

    def rename(self, old: Hashable, new: Hashable) -> None:
        """Give a cell another key everywhere (an earlier report's version of a revised number)."""
        cell = self.cells.pop(old)
        cell.key = new
        self.cells[new] = cell
        for relation in self.relations:
            if old in relation.terms:
                relation.terms[new] = relation.terms.pop(old)
        for bundle in self.bundles:
            bundle[:] = [new if k == old else k for k in bundle]
        for keys in (self.hidden, self.primary, self.forced, self.current, self.new):
            if old in keys:
                keys.discard(old)
                keys.add(new)
        self.relations_of[new] = self.relations_of.pop(old, [])
        self.signatures = {frozenset(r.terms.items()) for r in self.relations}
        self.changed()

    def bundle(self, keys: Iterable[Hashable]) -> None:
        """Cells hidden together: hiding one hides all (count, achievements and amount of a row)."""
        keys = [k for k in keys if k in self.cells]
        index = len(self.bundles)
        self.bundles.append(keys)
        for key in keys:
            self.cells[key].bundle = index

    # -- declaring identities -------------------------------------------------------------

    def sum_of(self, total: Hashable, members: Iterable[Hashable] | dict, name: str = "") -> None:
        """Declare ``total = Σ members`` (or ``Σ coefficient × member`` for a dict)."""
        weights = members if isinstance(members, dict) else dict.fromkeys(members, 1.0)
        terms = {total: -1.0}
        for member, weight in weights.items():
            terms[member] = terms.get(member, 0.0) + float(weight)
        self.relation(Relation(terms, name or f"sum {total!r}"))

    def running_total(
        self, cumulative: list[Hashable], flows: list[Hashable], name: str = ""
    ) -> None:
        """Declare ``cumulative[i] = cumulative[i-1] + flows[i]`` (``cumulative[-1]`` is 0).

        Flow cells that were not declared are added as derivable cells with the
        differences of the cumulative values.
        """
        previous = None
        for cum, flow in zip(cumulative, flows, strict=True):
            # An earlier report's flow is this report's too unless a later delivery
            # revised the totals (then add() keeps the earlier one as another cell).
            if flow not in self.cells or self.cells[flow].earlier:
                before = 0.0 if previous is None else self.cells[previous].value
                self.add(flow, self.cells[cum].value - before, shown=False)
            self.sum_of(cum, [flow] if previous is None else [previous, flow], name)
            previous = cum

    def sum_if_exact(
        self, total: Hashable, members: Iterable[Hashable] | dict, name: str = ""
    ) -> bool:
        """Declare ``total = Σ members`` only when the values satisfy it.

        For identities that hold by the data rather than by definition (a
        reader who notices that they hold can use them as well).
        """
        weights = members if isinstance(members, dict) else dict.fromkeys(members, 1.0)
        value = sum(w * self.cells[m].value for m, w in weights.items())
        if abs(value - self.cells[total].value) <= TOLERANCE * max(1.0, abs(value)):
            self.sum_of(total, weights, name)
            return True
        return False

    def relation(self, relation: Relation) -> None:
        """Declare an identity (checked against the values; one already declared is skipped)."""
        missing = [k for k in relation.terms if k not in self.cells]
        if missing:
            raise DisclosureError(f"{relation.name}: undeclared cell(s) {missing!r}")
        value = sum(w * self.cells[k].value for k, w in relation.terms.items())
        scale = max(1.0, *(abs(w * self.cells[k].value) for k, w in relation.terms.items()))
        if abs(value) > 1e-6 * scale + 0.5:
            raise DisclosureError(f"{relation.name}: the identity does not hold ({value:+.2f})")
        relation.slack = abs(value) + 1e-9 * scale
        signature = frozenset(relation.terms.items())
        if signature in self.signatures:
            return
        self.append(relation, signature)
        self.changed()

    def append(self, relation: Relation, signature: frozenset) -> None:
        """Add an identity to the indexes (no check: an earlier report's, or one checked)."""
        self.signatures.add(signature)
        self.relations.append(relation)
        for key in relation.terms:
            self.relations_of.setdefault(key, []).append(len(self.relations) - 1)

    def set_slacks(self) -> None:
        """Each identity holds up to the rounding of the numbers it joins (before protecting)."""
        for relation in self.relations:
            terms = [w * self.cells[k].value for k, w in relation.terms.items()]
            # The floor keeps the solver's own tolerances from declaring true values infeasible.
            relation.slack = abs(sum(terms)) + 1e-6 * max(1.0, *(abs(t) for t in terms))

    # -- reading the model ----------------------------------------------------------------

    @property
    def position(self) -> dict[Hashable, int]:
        """Each cell's place in declaration order (the tie-break of every choice)."""
        return {k: i for i, k in enumerate(self.cells)}

    def group(self, key: Hashable) -> list[Hashable]:
        """The shown cells hidden together with ``key`` (its bundle, or itself)."""
        bundle = self.cells[key].bundle
        keys = self.bundles[bundle] if bundle is not None else [key]
        return [k for k in keys if self.cells[k].shown]

    def hide(self, key: Hashable) -> None:
        self.hidden.update(self.group(key))

    def unknown(self, key: Hashable) -> bool:
        """Whether a reader does not see the cell's value (hidden, or never shown)."""
        return key in self.hidden or not self.cells[key].shown
