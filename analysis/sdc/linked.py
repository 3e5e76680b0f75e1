"""Secondary suppression over every table and figure of one report, as one linear system.

A report publishes cells: counts (persons, households, achievements) and amounts.
Many of them are tied together by identities a reader can use: a total is the sum
of its rows, a cumulative count minus last quarter's is this quarter's flow, an
amount is a unit price times a count, a key figure repeats a table's total. Hiding
a small cell protects nothing if it can be worked out from what is shown.

:class:`LinkedCells` holds the cells of a report under keys that mean the same
thing wherever they appear (the same key in two tables is the same cell), the
identities between them, and cells that are never shown but can be derived (a
quarter's flow behind two cumulative counts). :meth:`LinkedCells.protect` then

1. hides every shown count with ``0 < n < min_persons`` (primary suppression);
2. audits every small count, shown or derived, by linear programming: given the
   shown cells and the identities, and that counts and amounts are not negative,
   the smallest and largest value the cell can take; a cell whose feasible range
   is narrower than ``min_persons`` is exposed (a single value is exact disclosure);
3. while a cell is exposed, hides the smallest shown non-zero cell that shares an
   identity with it (or with the hidden cells linked to it), together with the
   cells bundled with that one (the amount and count of one payment row), and
   audits again.

This is the audit-and-extend scheme of tau-argus's hypercube and modular methods
reduced to what a report of this size needs; it guarantees the audit's criterion,
not minimal information loss. The relaxation is continuous: a reader who uses
integrality may narrow a range further than the audit does.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

from analysis.sdc.check import DisclosureError
from analysis.sdc.suppress import is_small

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


@dataclass
class Relation:
    """``Σ coefficient × cell = 0`` over the cells named in ``terms``."""

    terms: dict[Hashable, float]
    name: str = ""


@dataclass
class Audit:
    """The feasible range of every small count after suppression."""

    ranges: dict[Hashable, tuple[float, float]] = field(default_factory=dict)
    exposed: list[Hashable] = field(default_factory=list)


class LinkedCells:
    """The shown and derivable cells of one report and the identities between them."""

    def __init__(self, min_persons: int, protection_width: int | None = None):
        self.min_persons = min_persons
        self.protection_width = min_persons if protection_width is None else protection_width
        self.cells: dict[Hashable, Cell] = {}
        self.relations: list[Relation] = []
        self.bundles: list[list[Hashable]] = []
        self.hidden: set[Hashable] = set()
        self.primary: set[Hashable] = set()
        self._protected = False
        self._ranges: dict[tuple, tuple[float, float]] = {}
        self._relations_of: dict[Hashable, list[int]] = {}

    # -- declaring cells and identities -------------------------------------------------

    def add(
        self,
        key: Hashable,
        value: float,
        *,
        shown: bool = True,
        count: bool = True,
        hideable: bool = True,
    ) -> None:
        """Declare a cell. The same key may be declared again (another table) with the same value.

        ``count`` marks a count of persons or units (small ones are protected);
        ``shown=False`` declares a derivable cell that no table shows;
        ``hideable=False`` a shown number that must stay (an amount to be paid), so
        secondary suppression looks elsewhere.
        """
        value = float(value)
        if key in self.cells:
            existing = self.cells[key]
            if abs(existing.value - value) > TOLERANCE * max(1.0, abs(value)):
                raise DisclosureError(
                    f"cell {key!r} declared twice with different values: {existing.value} and {value}"
                )
            existing.shown = existing.shown or shown
            existing.count = existing.count or count
            existing.hideable = existing.hideable and hideable
            return
        self.cells[key] = Cell(key, value, shown, count, hideable)
        self._protected = False
        self._ranges.clear()

    def sum_of(self, total: Hashable, members: Iterable[Hashable] | dict, name: str = "") -> None:
        """Declare ``total = Σ members`` (or ``Σ coefficient × member`` for a dict)."""
        weights = members if isinstance(members, dict) else dict.fromkeys(members, 1.0)
        terms = {total: -1.0}
        for member, weight in weights.items():
            terms[member] = terms.get(member, 0.0) + float(weight)
        self._relation(Relation(terms, name or f"sum {total!r}"))

    def running_total(
        self, cumulative: list[Hashable], flows: list[Hashable], name: str = ""
    ) -> None:
        """Declare ``cumulative[i] = cumulative[i-1] + flows[i]`` (``cumulative[-1]`` is 0).

        Flow cells that were not declared are added as derivable cells with the
        differences of the cumulative values.
        """
        previous = None
        for cum, flow in zip(cumulative, flows, strict=True):
            if flow not in self.cells:
                before = 0.0 if previous is None else self.cells[previous].value
                self.add(flow, self.cells[cum].value - before, shown=False)
            self.sum_of(cum, [flow] if previous is None else [previous, flow], name)
            previous = cum

    def sum_if_exact(self, total: Hashable, members: Iterable[Hashable] | dict, name: str = ""):
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

    def bundle(self, keys: Iterable[Hashable]) -> None:
        """Cells hidden together: hiding one hides all (count, achievements and amount of a row)."""
        keys = [k for k in keys if k in self.cells]
        index = len(self.bundles)
        self.bundles.append(keys)
        for key in keys:
            self.cells[key].bundle = index

    def _relation(self, relation: Relation) -> None:
        missing = [k for k in relation.terms if k not in self.cells]
        if missing:
            raise DisclosureError(f"{relation.name}: undeclared cell(s) {missing!r}")
        value = sum(w * self.cells[k].value for k, w in relation.terms.items())
        scale = max(1.0, *(abs(w * self.cells[k].value) for k, w in relation.terms.items()))
        if abs(value) > 1e-6 * scale + 0.5:
            raise DisclosureError(f"{relation.name}: the identity does not hold ({value:+.2f})")
        self.relations.append(relation)
        for key in relation.terms:
            self._relations_of.setdefault(key, []).append(len(self.relations) - 1)
        self._protected = False
        self._ranges.clear()

    # -- protecting -----------------------------------------------------------------------

    def is_hidden(self, key: Hashable) -> bool:
        """Whether a shown cell must be replaced by the suppression symbol."""
        if not self._protected:
            self.protect()
        if key not in self.cells:
            raise DisclosureError(f"cell {key!r} was not declared to disclosure control")
        return key in self.hidden

    def shown(self, key: Hashable, value=None):
        """``value`` (the cell's value when omitted), or ``"*"`` when the cell is hidden."""
        if self.is_hidden(key):
            return "*"
        return self.cells[key].value if value is None else value

    def _sensitive(self) -> list[Hashable]:
        return [
            k
            for k, c in self.cells.items()
            if c.count and is_small(c.value, self.min_persons) and (k in self.hidden or not c.shown)
        ]

    def _unknown(self, key: Hashable) -> bool:
        return key in self.hidden or not self.cells[key].shown

    def audit(self, keys: Iterable[Hashable] | None = None) -> Audit:
        """Feasible range of each small hidden or derived count, given what is shown.

        The unknown cells fall apart into groups linked by identities; a cell's
        range depends only on its group, so ranges are kept per (cell, group) and
        only the group a suppression step changed is solved again.
        """
        unknown = [k for k in self.cells if self._unknown(k)]
        groups = self._groups(unknown)
        result = Audit()
        for key in self._sensitive() if keys is None else list(keys):
            group = groups[key]
            cached = (key, group)
            if cached not in self._ranges:
                self._ranges[cached] = self._range(key, group)
            low, high = self._ranges[cached]
            result.ranges[key] = (low, high)
            if high - low < self.protection_width - TOLERANCE:
                result.exposed.append(key)
        return result

    def _groups(self, unknown: list[Hashable]) -> dict[Hashable, frozenset]:
        parent = {k: k for k in unknown}

        def root(key):
            while parent[key] != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        for relation in self.relations:
            inside = [k for k in relation.terms if k in parent]
            for other in inside[1:]:
                parent[root(other)] = root(inside[0])
        members: dict[Hashable, list] = {}
        for key in unknown:
            members.setdefault(root(key), []).append(key)
        frozen = {r: frozenset(m) for r, m in members.items()}
        return {key: frozen[root(key)] for key in unknown}

    def _range(self, key: Hashable, group: frozenset) -> tuple[float, float]:
        variables = [k for k in self.cells if k in group]
        column = {k: i for i, k in enumerate(variables)}
        touching = sorted({i for k in variables for i in self._relations_of.get(k, [])})
        a_eq = np.zeros((len(touching), len(variables)))
        b_eq = np.zeros(len(touching))
        for row, index in enumerate(touching):
            for cell, weight in self.relations[index].terms.items():
                if cell in column:
                    a_eq[row, column[cell]] += weight
                else:
                    b_eq[row] -= weight * self.cells[cell].value
        # Counts and amounts cannot be negative; a negative cell (a net position) is free.
        bounds = [(0, None) if self.cells[k].value >= 0 else (None, None) for k in variables]
        objective = np.zeros(len(variables))
        objective[column[key]] = 1.0
        if not touching:
            return (bounds[column[key]][0] or -np.inf, np.inf)
        low = _optimum(objective, a_eq, b_eq, bounds)
        high = -_optimum(-objective, a_eq, b_eq, bounds)
        return (low, high)

    def protect(self) -> set[Hashable]:
        """Choose the hidden cells (primary, then secondary until the audit passes, then prune)."""
        self.hidden = set()
        self.primary = {
            k
            for k, c in self.cells.items()
            if c.shown and c.count and is_small(c.value, self.min_persons)
        }
        for key in sorted(self.primary, key=self._position.__getitem__):
            if not self.cells[key].hideable:
                raise DisclosureError(f"cell {key!r} is small but declared as always shown")
            self._hide(key)
        while True:
            audit = self.audit()
            if not audit.exposed:
                break
            exposed = audit.exposed[0]
            candidate = self._secondary_candidate(exposed, audit.ranges[exposed])
            if candidate is None:
                raise DisclosureError(
                    f"cell {exposed!r} cannot be protected: its range {audit.ranges[exposed]} "
                    "is too narrow and no shown cell is linked to it"
                )
            self._hide(candidate)
        self._prune()
        self._protected = True
        return self.hidden

    @property
    def _position(self) -> dict[Hashable, int]:
        return {k: i for i, k in enumerate(self.cells)}

    def _group(self, key: Hashable) -> list[Hashable]:
        bundle = self.cells[key].bundle
        keys = self.bundles[bundle] if bundle is not None else [key]
        return [k for k in keys if self.cells[k].shown]

    def _hide(self, key: Hashable) -> None:
        self.hidden.update(self._group(key))

    def _width(self, key: Hashable) -> float:
        low, high = self.audit([key]).ranges[key]
        return high - low

    def _secondary_candidate(self, exposed: Hashable, current: tuple) -> Hashable | None:
        """The smallest shown cell linked to ``exposed`` whose hiding widens its range.

        Searches outward from ``exposed`` through hidden cells; when no candidate
        of the nearest layer widens the range, the smallest one is taken anyway
        (a later step may need it together with another).
        """
        reached, frontier = {exposed}, [exposed]
        order = self._position
        width = current[1] - current[0]
        while frontier:
            linked = [r for r in self.relations if any(k in r.terms for k in frontier)]
            visible = {
                k for r in linked for k in r.terms if self.cells[k].shown and self.cells[k].hideable
            } - self.hidden
            candidates = sorted(
                visible,
                key=lambda k: (self.cells[k].value <= 0, abs(self.cells[k].value), order[k]),
            )
            for candidate in candidates[:12]:
                group = set(self._group(candidate)) - self.hidden
                self.hidden |= group
                widened = self._width(exposed) > width + TOLERANCE
                self.hidden -= group
                if widened:
                    return candidate
            if candidates:
                return candidates[0]
            frontier = [k for r in linked for k in r.terms if self._unknown(k) and k not in reached]
            reached.update(frontier)
        return None

    def _prune(self) -> None:
        """Show again every secondary cell the audit does not need, largest first."""
        secondary = [k for k in self.hidden if k not in self.primary]
        order = self._position
        for key in sorted(secondary, key=lambda k: (-abs(self.cells[k].value), order[k])):
            group = set(self._group(key))
            if key not in self.hidden or group & self.primary:
                continue
            self.hidden -= group
            if self.audit().exposed:
                self.hidden |= group


def _optimum(objective, a_eq, b_eq, bounds) -> float:
    solution = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if solution.status == 3:
        return -np.inf
    if solution.status != 0:
        raise DisclosureError(f"disclosure audit: linear programme failed ({solution.message})")
    return float(solution.fun)
