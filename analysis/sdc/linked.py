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
2. audits every small count, shown or derived, by integer linear programming
   (scipy's HiGHS MILP): given the shown cells and the identities, that counts
   are whole numbers and that counts and amounts are not negative, the smallest
   and largest value the cell can take; a cell whose feasible range is narrower
   than ``min_persons`` is exposed (a single value is exact disclosure);
3. while a cell is exposed, hides the cheapest, then smallest, shown cell that
   shares an identity with it (or with the hidden cells linked to it) and widens
   its range, together with the cells bundled with that one (the amount and count
   of one payment row), and audits again;
4. shows again the secondary cells the audit does not need (where cheap to check);
5. shows the secondary cells the shown ones give back anyway, and keeps every
   count an earlier report hid open (a range at least 1 wide) in this report.

A report can start from what earlier reports published (:meth:`load_earlier`):
their hidden cells stay hidden, their shown cells are known, and only the groups
of cells this report adds or links are audited again. :meth:`to_dict` gives the
model with its decisions for the next report.

This is the audit-and-extend scheme of tau-argus's hypercube and modular methods
reduced to what a report of this size needs; it guarantees the audit's criterion
against every identity declared to it (so the declarations must include all a
reader knows: structural zeros, totals, relations across tables and reports), not
minimal information loss.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog

from analysis.sdc.check import DisclosureError
from analysis.sdc.solver import milp
from analysis.sdc.suppress import is_small

TOLERANCE = 1e-6
PRUNE_GROUP_LIMIT = 40
# Relative width within which an amount worked out from rounded ones counts as known.
AMOUNT_PRECISION = 1e-4
# The cost of a headline number (page 1): secondary suppression takes it only when no
# cheaper cell linked to the exposed one protects it, and gives it back first.
HEADLINE_COST = 100
# Cheaper cells tried in place of one headline cell before it stays hidden.
RESCUE_LIMIT = 12
# The least half-width of a scaled row: ten times HiGHS's primal feasibility tolerance.
SLACK_FLOOR = 1e-6
# Seconds one integer programme may take before it counts as unsolved.
MILP_TIME_LIMIT = 60.0
# Branch-and-bound nodes a partner's trial may take (:meth:`LinkedCells._widens`): it only
# chooses which cell to hide next, the audit decides what is safe; a node limit, not a
# time, so that the choice is the same on a busy machine.
QUICK_NODE_LIMIT = 500
# Rounds of :meth:`LinkedCells._spread`: push every narrow cell up, down, then in
# alternating directions (0). Fewer narrow cells than SPREAD_MIN_CELLS are solved one
# by one: a round costs several single ranges, and pays only for many cells at once
# (the first audit of a report in a chain, where every earlier count is asked again).
SPREAD_DIRECTIONS = (1.0, -1.0, 0.0, 1.0, -1.0)
SPREAD_MIN_CELLS = 50


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
        # Cells this report declares, and those among them no earlier report had.
        self.current: set[Hashable] = set()
        self.new: set[Hashable] = set()
        self._signatures: set[frozenset] = set()
        self._protected = False
        self._ranges: dict[tuple, tuple[float, float]] = {}
        # The largest value of a cell in a group (with whether HiGHS solved it).
        self._uppers: dict[tuple, tuple[float, bool]] = {}
        # Solutions found by the solver (the cells they move, with their values), and
        # for each cell the solutions that move it (see _witness_range).
        self._witnesses: list[dict[Hashable, float]] = []
        self._witnesses_of: dict[Hashable, list[int]] = {}
        # Which solutions are feasible in the state ``_valid_for`` (see _witness_range).
        self._valid_for: dict | None = None
        self._valid: dict[int, bool] = {}
        # Integer programmes built per group of unknown cells.
        self._problems: dict[frozenset, dict] = {}
        self._relations_of: dict[Hashable, list[int]] = {}
        # Cells of earlier reports: what they hid stays hidden, what they showed is out.
        self.forced: set[Hashable] = set()
        self._first_new_relation = 0
        # Integer programmes solved, and those HiGHS did not solve (their ranges
        # are then taken on the safe side: :meth:`_cached_range`).
        self.milps = 0
        self.fallbacks = 0
        self._inexact: set[tuple] = set()

    # Solver results kept for speed while protecting: not part of the model.
    _CACHES = (
        "_ranges",
        "_uppers",
        "_witnesses",
        "_witnesses_of",
        "_problems",
        "_inexact",
        "_valid",
    )

    def __getstate__(self) -> dict:
        return {k: v for k, v in vars(self).items() if k not in self._CACHES and k != "_valid_for"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._ranges, self._witnesses, self._witnesses_of, self._problems = {}, [], {}, {}
        self._uppers = {}
        self._inexact = set()
        self._valid_for, self._valid = None, {}
        self.__dict__.setdefault("milps", 0)
        self.__dict__.setdefault("fallbacks", 0)

    # -- declaring cells and identities -------------------------------------------------

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
        if key in self.cells and self.cells[key].earlier:
            existing = self.cells[key]
            if abs(existing.value - value) > TOLERANCE * max(1.0, abs(value)):
                # A revised number: the earlier version is a different cell.
                self.rename(key, ("as published earlier", key))
            else:
                existing.earlier = False
                self.current.add(key)
                if shown and not existing.shown:
                    self.new.add(key)
                existing.shown = existing.shown or shown
                existing.count = existing.count or count
                existing.hideable = existing.hideable and hideable
                existing.cost = max(existing.cost, cost)
                self._changed()
                return
        if key in self.cells:
            existing = self.cells[key]
            if abs(existing.value - value) > TOLERANCE * max(1.0, abs(value)):
                raise DisclosureError(
                    f"cell {key!r} declared twice with different values: {existing.value} and {value}"
                )
            existing.shown = existing.shown or shown
            existing.count = existing.count or count
            existing.hideable = existing.hideable and hideable
            existing.cost = max(existing.cost, cost)
            return
        self.cells[key] = Cell(key, value, shown, count, hideable, cost=cost)
        self.current.add(key)
        self.new.add(key)
        self._changed()

    def _changed(self) -> None:
        self._protected = False
        self._clear_caches()

    def _clear_caches(self) -> None:
        for name in self._CACHES:
            getattr(self, name).clear()

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
        self._relations_of[new] = self._relations_of.pop(old, [])
        self._signatures = {frozenset(r.terms.items()) for r in self.relations}
        self._changed()

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
            # An earlier report's flow is this report's too unless a later delivery
            # revised the totals (then add() keeps the earlier one as another cell).
            if flow not in self.cells or self.cells[flow].earlier:
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
        relation.slack = abs(value) + 1e-9 * scale
        signature = frozenset(relation.terms.items())
        if signature in self._signatures:
            return
        self._signatures.add(signature)
        self.relations.append(relation)
        for key in relation.terms:
            self._relations_of.setdefault(key, []).append(len(self.relations) - 1)
        self._changed()

    # -- protecting -----------------------------------------------------------------------

    def is_hidden(self, key: Hashable) -> bool:
        """Whether a shown cell must be replaced by the suppression symbol."""
        if not self._protected:
            self.protect()
        if key not in self.cells:
            raise DisclosureError(f"cell {key!r} was not declared to disclosure control")
        return key in self.hidden

    def _sensitive(self) -> list[Hashable]:
        """Small hidden or derived counts, and every count an earlier report hid.

        An earlier report showed ``*`` for a count only when nothing it published
        gave the count back (:meth:`_show_determined`); this report must not give
        it back either, whatever its size.
        """
        return [
            k
            for k, c in self.cells.items()
            if c.count
            and (
                (is_small(c.value, self.min_persons) and (k in self.hidden or not c.shown))
                or (k in self.forced and c.shown)
            )
        ]

    def _required_width(self, key: Hashable) -> float:
        """How wide a cell's feasible range must be: the minimum for a small count, else above 0."""
        if is_small(self.cells[key].value, self.min_persons):
            return self.protection_width
        return 1.0

    def _in_scope(
        self, groups: dict[Hashable, frozenset], pinned: dict[Hashable, float]
    ) -> set[frozenset]:
        """Groups this report can change: those of its own cells and of its identities.

        Groups made only of earlier reports' cells were audited when those were
        published, unless this report pins one of their cells: a cell an identity
        of this report determines becomes a known number in every identity it is
        part of (an earlier quarter's hidden count given back by this quarter's
        count and its new ones), so the groups behind it are audited again.
        """
        start = set(self.new)
        for index in range(self._first_new_relation, len(self.relations)):
            start.update(self.relations[index].terms)
        scope = {groups[k] for k in start if k in groups}
        frontier = [k for k in start if k in pinned]
        seen = set(frontier)
        while frontier:
            for index in self._relations_of.get(frontier.pop(), []):
                for other in self.relations[index].terms:
                    if other in groups:
                        scope.add(groups[other])
                    elif other in pinned and other not in seen:
                        seen.add(other)
                        frontier.append(other)
        return scope

    def _unknown(self, key: Hashable) -> bool:
        return key in self.hidden or not self.cells[key].shown

    def audit(
        self,
        keys: Iterable[Hashable] | None = None,
        skip: set | None = None,
        first_only: bool = False,
    ) -> Audit:
        """Feasible range of each small hidden or derived count, given what is shown.

        Unknown cells pinned by an identity whose other cells are all known are
        known too (their range is a point). The rest fall apart into groups linked
        by identities; a cell's range depends only on its group, so ranges are
        kept per (cell, group) and only a group a suppression step changed is
        solved again.
        """
        pinned, groups = self._open_cells()
        result = Audit()
        # Cells named by the caller get their exact range; the protection's own
        # audit only needs to know each cell is wide enough.
        exact = keys is not None
        if keys is None:
            scope = self._in_scope(groups, pinned)
            keys = [k for k in self._sensitive() if k in pinned or groups[k] in scope]
            self._spread([k for k in keys if not (skip and k in skip)], groups, pinned)
        for key in keys:
            if skip and key in skip:
                continue
            if key in pinned:
                value = self.cells[key].value
                low, high = value - pinned[key], value + pinned[key]
            else:
                need = None if exact else self._required_width(key)
                low, high = self._cached_range(key, groups, pinned, need)
            result.ranges[key] = (low, high)
            if high - low < self._required_width(key) - TOLERANCE:
                result.exposed.append(key)
                if first_only:
                    break
        return result

    def _open_cells(self) -> tuple[dict[Hashable, float], dict[Hashable, frozenset]]:
        """The unknown cells given what is shown: those pinned (with their slack), the rest in groups."""
        unknown = [k for k in self.cells if self._unknown(k)]
        pinned = self._pinned(unknown)
        return pinned, self._groups([k for k in unknown if k not in pinned])

    def _pinned(self, unknown: list[Hashable]) -> dict[Hashable, float]:
        """Unknown cells an identity determines from known ones, with the slack they carry."""
        open_cells = set(unknown)
        pinned: dict[Hashable, float] = {}
        queue = list(range(len(self.relations)))
        while queue:
            index = queue.pop()
            relation = self.relations[index]
            free = [k for k in relation.terms if k in open_cells]
            if len(free) != 1:
                continue
            key = free[0]
            carried = sum(pinned.get(k, 0.0) * abs(w) for k, w in relation.terms.items())
            pinned[key] = (relation.slack + carried) / abs(relation.terms[key])
            open_cells.discard(key)
            queue.extend(self._relations_of.get(key, []))
        return pinned

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

    def _cached_range(
        self,
        key: Hashable,
        groups: dict,
        pinned: dict,
        need: float | None = None,
        outer: bool = False,
    ) -> tuple[float, float]:
        """The cell's feasible range in its group, or part of it at least ``need`` wide.

        With ``need``, solutions found before (witnesses, :meth:`_witness_range`)
        that already spread the cell that far answer without solving; the range
        returned is then a part of the feasible range, which is all the caller asks.

        When HiGHS did not solve an integer programme of the range, the range is
        taken on the side that is safe for the question: the values of solutions
        actually found (inside the true range: "is it wide enough?" is never
        answered yes too easily), or with ``outer`` the continuous relaxation's
        range (around it: "does the report give it back?" is never answered yes
        too easily).
        """
        group = groups[key]
        cached = (key, group)
        if cached not in self._ranges:
            if need is not None:
                # Solutions found are in the true range: wide enough is wide enough.
                low, high = self._witness_range(key, groups)
                if high - low >= need - TOLERANCE:
                    return (low, high)
                bounded = self._bounded_range(key, groups, pinned, need)
                if bounded is not None:
                    return bounded
            self._ranges[cached] = self._range(key, group, pinned)
        if cached in self._inexact and not outer:
            return self._witness_range(key, groups)
        return self._ranges[cached]

    def _bounded_range(
        self, key: Hashable, groups: dict, pinned: dict, need: float
    ) -> tuple[float, float] | None:
        """A part of the cell's range ``need`` wide, from programmes that stop at ``need``.

        The largest value is sought below ``value + need`` and the smallest above
        ``value - need``: a limit reached means wide enough (the true value lies
        between), and HiGHS stops as soon as a solution reaches it, where the
        unbounded optimum needs a full proof. None when the range found is
        narrower, or HiGHS did not solve a programme: whole counts can jump over
        a limit (values 4 and 10, limit 9), so only the unbounded programmes
        (:meth:`_range`) tell the range then.
        """
        group = groups[key]
        problem = self._problem(group, pinned)
        if not len(problem["a_rows"]):
            return None
        column, value = problem["column"][key], self.cells[key].value
        floor, ceiling = problem["bounds"][column]
        limits = {
            # The largest value first: its solution, with those found before, often
            # answers without the smallest (half the integer programmes).
            -1.0: (floor, value + need if ceiling is None else min(ceiling, value + need)),
            1.0: (value - need if floor is None else max(floor, value - need), ceiling),
        }
        optimum = {}
        for sign, limit in limits.items():
            objective = np.zeros(len(problem["variables"]))
            objective[column] = sign
            bounds = list(problem["bounds"])
            bounds[column] = limit
            found, exact = self._solve(problem, objective, bounds=bounds)
            if not exact:
                return None
            optimum[sign] = sign * found
            low, high = self._witness_range(key, groups)
            if high - low >= need - TOLERANCE:
                return (low, high)
        low, high = optimum[1.0], optimum[-1.0]
        return (low, high) if high - low >= need - TOLERANCE else None

    def _witness_range(self, key: Hashable, groups: dict) -> tuple[float, float]:
        """The values of ``key`` in the solutions found so far that are still feasible.

        A solution is a whole assignment that satisfies every identity, with the
        counts whole and nothing negative; it differs from the true values in the
        cells it moves. It stays feasible whatever else is hidden or shown, as long
        as every cell it moves is still unknown (not shown, not pinned).
        """
        value = self.cells[key].value
        low = high = value
        # Whether a solution is still feasible depends only on which cells are unknown
        # (``groups``): it is decided once per state, not once per cell asked about.
        if self._valid_for is not groups:
            self._valid_for, self._valid = groups, {}
        valid, free = self._valid, groups.keys()
        for index in self._witnesses_of.get(key, ()):
            ok = valid.get(index)
            if ok is None:
                ok = valid[index] = self._witnesses[index].keys() <= free
            if ok:
                moved = self._witnesses[index][key]
                low, high = min(low, moved), max(high, moved)
        return (low, high)

    def _spread(self, keys: list[Hashable], groups: dict, pinned: dict) -> None:
        """Find solutions that move many of ``keys`` at once, as far as each needs.

        A report's small counts mostly share one group; solving each one's range
        alone costs an integer programme per cell. One programme whose objective
        pushes every cell still too narrow (bounded to the width it needs, so the
        optimum moves each as far as that and no further) gives a solution that is
        a witness for many cells at once (:meth:`_witness_range`). Rounds push up,
        then down, then in alternating directions; the cells still too narrow
        after them get their own programmes. Any solution found counts, optimal or
        not: only feasibility makes a witness, so each round stops after
        :data:`QUICK_NODE_LIMIT` nodes.
        """
        by_group: dict[frozenset, list[Hashable]] = {}
        for key in keys:
            if key in pinned or (key, groups[key]) in self._ranges:
                continue
            by_group.setdefault(groups[key], []).append(key)
        for group, members in by_group.items():
            if len(members) < SPREAD_MIN_CELLS:
                continue
            problem = self._problem(group, pinned)
            if not len(problem["a_rows"]):
                continue
            narrow, before = members, None
            for direction in SPREAD_DIRECTIONS:
                # A cell once wide enough stays so: solutions are only added.
                narrow = [k for k in narrow if not self._wide_enough(k, groups)]
                # A round that widened nothing: the rest need their own programmes.
                if len(narrow) < SPREAD_MIN_CELLS or len(narrow) == before:
                    break
                before = len(narrow)
                objective = np.zeros(len(problem["variables"]))
                bounds = list(problem["bounds"])
                for position, key in enumerate(narrow):
                    column, value = problem["column"][key], self.cells[key].value
                    sign = direction if direction else (1.0 if position % 2 else -1.0)
                    objective[column] = -sign
                    need = self._required_width(key)
                    low = bounds[column][0]
                    bounds[column] = (
                        value - need if low is None else max(low, value - need),
                        value + need,
                    )
                # Only the solution matters (kept as a witness), not the optimum.
                self._solve(problem, objective, quick=True, bounds=bounds)

    def _wide_enough(self, key: Hashable, groups: dict) -> bool:
        low, high = self._witness_range(key, groups)
        return high - low >= self._required_width(key) - TOLERANCE

    def _keep_witness(self, variables: list[Hashable], solution: np.ndarray) -> None:
        moved = {}
        for cell, other in zip(variables, solution, strict=True):
            # Counts are whole numbers; amounts are shown in whole kroner.
            if abs(other - self.cells[cell].value) > 0.5:
                moved[cell] = float(other)
        if moved:
            index = len(self._witnesses)
            self._witnesses.append(moved)
            for cell in moved:
                self._witnesses_of.setdefault(cell, []).append(index)

    def _problem(self, group: frozenset, pinned: dict) -> dict:
        """The integer programme of one group of unknown cells (built once per group)."""
        if group in self._problems:
            return self._problems[group]
        variables = [k for k in self.cells if k in group]
        column = {k: i for i, k in enumerate(variables)}
        touching = sorted({i for k in variables for i in self._relations_of.get(k, [])})
        a_rows = np.zeros((len(touching), len(variables)))
        rhs = np.zeros(len(touching))
        slack = np.zeros(len(touching))
        for row, index in enumerate(touching):
            relation = self.relations[index]
            slack[row] = relation.slack
            for cell, weight in relation.terms.items():
                if cell in column:
                    a_rows[row, column[cell]] += weight
                else:
                    rhs[row] -= weight * self.cells[cell].value
                    slack[row] += abs(weight) * pinned.get(cell, 0.0)
        # Counts are whole numbers: a reader who knows it may narrow a range further
        # than the continuous relaxation, so the audit solves the integer programme.
        integral = np.array(
            [
                1 if self.cells[k].count and float(self.cells[k].value).is_integer() else 0
                for k in variables
            ]
        )
        problem = {
            "variables": variables,
            "column": column,
            "a_rows": a_rows,
            # Each identity holds up to the rounding of the shown values.
            "lower": rhs - slack,
            "upper": rhs + slack,
            # Counts and amounts cannot be negative; a negative cell (a net position) is free.
            "bounds": [(0, None) if self.cells[k].value >= 0 else (None, None) for k in variables],
            "integral": integral,
        }
        self._problems[group] = problem
        return problem

    def _solve(
        self, problem: dict, objective: np.ndarray, quick: bool = False, bounds=None
    ) -> tuple[float, bool]:
        """The optimum of ``objective`` over the group's problem, and whether HiGHS solved it.

        A solution found is kept as a witness (``bounds`` narrower than the
        problem's keep it one). ``quick``: see :func:`_integer_optimum` (an
        unsolved quick trial is no fallback: nothing is decided on it).
        """
        value, solution, exact = _integer_optimum(
            objective,
            problem["a_rows"],
            problem["lower"],
            problem["upper"],
            problem["bounds"] if bounds is None else bounds,
            problem["integral"],
            quick=quick,
        )
        self.milps += 1
        if not exact and not quick:
            self.fallbacks += 1
        if solution is not None:
            self._keep_witness(problem["variables"], solution)
        return value, exact

    def _upper(self, key: Hashable, group: frozenset, pinned: dict) -> tuple[float, bool]:
        """The cell's largest value in its group and whether HiGHS solved it (solved once)."""
        cached = (key, group)
        if cached not in self._uppers:
            problem = self._problem(group, pinned)
            if not len(problem["a_rows"]):
                self._uppers[cached] = (np.inf, True)
            else:
                objective = np.zeros(len(problem["variables"]))
                objective[problem["column"][key]] = -1.0
                high, exact = self._solve(problem, objective)
                self._uppers[cached] = (-high, exact)
        return self._uppers[cached]

    def _range(self, key: Hashable, group: frozenset, pinned: dict) -> tuple[float, float]:
        """The cell's range; when a bound is the relaxation's, the cell is marked inexact."""
        problem = self._problem(group, pinned)
        if not len(problem["a_rows"]):
            return (problem["bounds"][problem["column"][key]][0] or -np.inf, np.inf)
        objective = np.zeros(len(problem["variables"]))
        objective[problem["column"][key]] = 1.0
        low, low_exact = self._solve(problem, objective)
        high, high_exact = self._upper(key, group, pinned)
        if not (low_exact and high_exact):
            self._inexact.add((key, group))
        return (low, high)

    def _relaxed_width(self, key: Hashable, group: frozenset, pinned: dict) -> float:
        """The width of the cell's range without integrality: never narrower than the true one.

        A linear programme costs a fraction of the integer programme, and when it is
        already too narrow the integer range is too (it lies inside).
        """
        problem = self._problem(group, pinned)
        if not len(problem["a_rows"]):
            return np.inf
        objective = np.zeros(len(problem["variables"]))
        objective[problem["column"][key]] = 1.0
        relaxed = np.zeros_like(problem["integral"])
        bounds = (problem["a_rows"], problem["lower"], problem["upper"], problem["bounds"])
        low, _, low_exact = _integer_optimum(objective, *bounds, relaxed)
        high, _, high_exact = _integer_optimum(-objective, *bounds, relaxed)
        if not (low_exact and high_exact):
            return np.inf
        return -high - low

    def protect(self) -> set[Hashable]:
        """Choose the hidden cells (primary, then secondary until the audit passes, then prune)."""
        for relation in self.relations:
            # Each identity holds up to the rounding of the numbers it joins.
            terms = [w * self.cells[k].value for k, w in relation.terms.items()]
            # The floor keeps the solver's own tolerances from declaring true values infeasible.
            relation.slack = abs(sum(terms)) + 1e-6 * max(1.0, *(abs(t) for t in terms))
        self._clear_caches()
        self.hidden = set(self.forced)
        self.primary = {
            k
            for k, c in self.cells.items()
            if c.shown
            and c.count
            and not c.earlier
            and k not in self.forced
            and is_small(c.value, self.min_persons)
        }
        for key in sorted(self.primary, key=self._position.__getitem__):
            if not self.cells[key].hideable:
                raise DisclosureError(f"cell {key!r} is small but declared as always shown")
            self._hide(key)
        self._extend()
        self._prune()
        if self._rescue_headlines():
            self._prune()
        self._show_determined()
        self._protected = True
        return self.hidden

    def _extend(self, headline: bool = True, limit: int | None = None) -> None:
        """Hide linked cells until the audit passes (``headline=False``: no headline cell).

        Raises :class:`DisclosureError` when no cell is left to hide (or after
        ``limit`` cells).
        """
        # Hiding more never narrows a range, so a cell found safe stays safe.
        safe: set[Hashable] = set()
        steps = 0
        while True:
            # Only the first exposed cell is acted on: the later ones are audited next round.
            audit = self.audit(skip=safe, first_only=True)
            safe.update(k for k in audit.ranges if k not in audit.exposed)
            if not audit.exposed:
                break
            exposed = audit.exposed[0]
            candidate = self._secondary_candidate(exposed, audit.ranges[exposed], headline)
            steps += 1
            if candidate is None or (limit is not None and steps > limit):
                unsolved = any(k == exposed for k, _ in self._inexact)
                raise DisclosureError(
                    f"cell {exposed!r} cannot be protected: its range {audit.ranges[exposed]} "
                    + (
                        f"is what solutions found show ({self.fallbacks} integer programme(s) "
                        "not solved by HiGHS) and no shown cell is left to hide"
                        if unsolved
                        else "is too narrow and no shown cell is linked to it"
                    )
                )
            self._hide(candidate)

    def _rescue_headlines(self) -> bool:
        """Give back each headline cell hidden as a partner when cheaper cells can protect instead.

        The outward search can take a headline cell before the cheaper cells a
        range needs are hidden (it acts on one exposed cell at a time), and pruning
        only shows cells again. Here each such headline cell is shown and the
        audit extended with cheaper cells only; if that fails, nothing changes.
        """
        rescued = False
        order = self._position
        secondary = [
            k
            for k in self.hidden
            if k not in self.primary | self.forced and self.cells[k].cost >= HEADLINE_COST
        ]
        for key in sorted(secondary, key=order.__getitem__):
            if key not in self.hidden:
                continue
            before = set(self.hidden)
            self.hidden -= set(self._group(key))
            try:
                self._extend(headline=False, limit=RESCUE_LIMIT)
                rescued = True
            except DisclosureError:
                self.hidden = before
        return rescued

    # -- earlier reports ------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Every cell, identity and decision, for the next report (JSON-ready)."""
        if not self._protected:
            self.protect()
        return {
            "min_persons": self.min_persons,
            "cells": [
                [_json_key(c.key), c.value, c.shown, c.count, c.key in self.hidden]
                for c in self.cells.values()
            ],
            "relations": [[[_json_key(k), w] for k, w in r.terms.items()] for r in self.relations],
            # Integer programmes solved while protecting, and those HiGHS did not solve.
            "milps": self.milps,
            "milp_fallbacks": self.fallbacks,
        }

    @classmethod
    def decided(cls, published: dict) -> LinkedCells:
        """The model a report was protected with (:meth:`to_dict`), its decisions as they were."""
        cells = cls(published["min_persons"])
        for key, value, shown, count, hidden in published["cells"]:
            key = _tuple_key(key)
            cells.cells[key] = Cell(key, value, shown, count, hideable=False)
            if hidden:
                cells.hidden.add(key)
        cells._protected = True
        return cells

    def load_earlier(self, published: dict) -> None:
        """Start from what earlier reports published (:meth:`to_dict`).

        Their hidden cells stay hidden, their shown cells cannot be taken back
        (they are never chosen for suppression), and their identities still hold.
        A cell declared again with another value (a revision) becomes a cell of
        its own. Identities among shown cells alone are dropped: they tell nothing.
        """
        if self.cells:
            raise DisclosureError("load earlier reports before declaring this report's cells")
        for key, value, shown, count, hidden in published["cells"]:
            key = _tuple_key(key)
            self.cells[key] = Cell(key, value, shown, count, hideable=False, earlier=True)
            if hidden:
                self.forced.add(key)
        for terms in published["relations"]:
            relation = Relation({_tuple_key(k): w for k, w in terms}, "earlier report")
            residual = sum(w * self.cells[k].value for k, w in relation.terms.items())
            scale = max(1.0, *(abs(w * self.cells[k].value) for k, w in relation.terms.items()))
            relation.slack = abs(residual) + 1e-9 * scale
            if any(k in self.forced or not self.cells[k].shown for k in relation.terms):
                self._signatures.add(frozenset(relation.terms.items()))
                self.relations.append(relation)
                for key in relation.terms:
                    self._relations_of.setdefault(key, []).append(len(self.relations) - 1)
        self._first_new_relation = len(self.relations)
        self._changed()

    @property
    def _position(self) -> dict[Hashable, int]:
        return {k: i for i, k in enumerate(self.cells)}

    def _group(self, key: Hashable) -> list[Hashable]:
        bundle = self.cells[key].bundle
        keys = self.bundles[bundle] if bundle is not None else [key]
        return [k for k in keys if self.cells[k].shown]

    def _hide(self, key: Hashable) -> None:
        self.hidden.update(self._group(key))

    def _widens(self, key: Hashable, width: float) -> bool:
        """Whether the cell's range is now wider than ``width`` (a witness answers first)."""
        pinned, groups = self._open_cells()
        if key in pinned:
            return 2 * pinned[key] > width + TOLERANCE
        cached = (key, groups[key])
        if cached not in self._ranges:
            low, high = self._witness_range(key, groups)
            if high - low > width + TOLERANCE:
                return True
            # Most cells tried do not widen the range: the relaxation says so cheaply.
            if self._relaxed_width(key, groups[key], pinned) <= width + TOLERANCE:
                return False
            return self._widens_quickly(key, groups, pinned, width)
        low, high = self._cached_range(key, groups, pinned, need=width + 2 * TOLERANCE)
        return high - low > width + TOLERANCE

    def _widens_quickly(self, key: Hashable, groups: dict, pinned: dict, width: float) -> bool:
        """Whether the cell's range is wider than ``width``, within a few hundred nodes.

        A trial HiGHS does not finish within :data:`QUICK_NODE_LIMIT` nodes counts
        as not widening (another partner is tried): choosing a partner decides no
        safety, the audit after it does. Both bounds solved are kept as the range.
        """
        group = groups[key]
        problem = self._problem(group, pinned)
        if not len(problem["a_rows"]):
            return True
        objective = np.zeros(len(problem["variables"]))
        objective[problem["column"][key]] = 1.0
        bounds = []
        for sign in (-1.0, 1.0):
            value, exact = self._solve(problem, sign * objective, quick=True)
            low, high = self._witness_range(key, groups)
            if high - low > width + TOLERANCE:
                return True
            if not exact:
                return False
            bounds.append(sign * value)
        self._ranges[(key, group)] = (bounds[1], bounds[0])
        return bounds[0] - bounds[1] > width + TOLERANCE

    def _secondary_candidate(
        self, exposed: Hashable, current: tuple, headline: bool = True
    ) -> Hashable | None:
        """The cheapest, then smallest, shown cell linked to ``exposed`` whose hiding widens its range.

        Searches outward from ``exposed`` through hidden cells; when no candidate
        of the nearest layer widens the range, the cheapest one is taken anyway
        (a later step may need it together with another). Headline cells
        (:data:`HEADLINE_COST`) are passed over while any cheaper cell is linked,
        in this layer or a farther one (never taken with ``headline=False``).
        """
        allow_headline = headline
        reached, frontier = {exposed}, [exposed]
        order = self._position
        width = current[1] - current[0]
        headline: list[Hashable] = []

        def rank(k):
            return (
                self.cells[k].cost,
                self.cells[k].value <= 0,
                abs(self.cells[k].value),
                order[k],
            )

        while frontier:
            linked = [
                self.relations[i]
                for i in sorted({i for k in frontier for i in self._relations_of.get(k, [])})
            ]
            visible = {
                k for r in linked for k in r.terms if self.cells[k].shown and self.cells[k].hideable
            } - self.hidden
            candidates = sorted(visible, key=rank)
            cheap = [k for k in candidates if self.cells[k].cost < HEADLINE_COST]
            headline += [k for k in candidates if k not in cheap and k not in headline]
            found = self._first_widening(cheap, exposed, width)
            if found is not None:
                return found
            if cheap:
                return cheap[0]
            frontier = [k for r in linked for k in r.terms if self._unknown(k) and k not in reached]
            reached.update(frontier)
        if not allow_headline:
            return None
        headline.sort(key=rank)
        found = self._first_widening(headline, exposed, width)
        return found if found is not None else (headline[0] if headline else None)

    def _first_widening(
        self, candidates: list[Hashable], exposed: Hashable, width: float
    ) -> Hashable | None:
        for candidate in candidates[:12]:
            group = set(self._group(candidate)) - self.hidden
            self.hidden |= group
            widened = self._widens(exposed, width)
            self.hidden -= group
            if widened:
                return candidate
        return None

    def _determined(self, key: Hashable, groups: dict, pinned: dict) -> float | None:
        """How far the shown cells leave the unknown cell open, when they give it back.

        None when the cell is open: a count that can take two whole numbers, an
        amount with a range wider than the rounding of the amounts it is worked
        out from (a few kroner in a million: the number a report would print).
        Else the width of its range (0 for a count).
        """
        cell = self.cells[key]
        margin = 0.5 if cell.count else 1.0 + AMOUNT_PRECISION * abs(cell.value)
        if key in pinned:
            low, high = cell.value - pinned[key], cell.value + pinned[key]
        else:
            low, high = self._cached_range(key, groups, pinned, need=margin, outer=True)
        if high - low >= margin:
            return None
        return 0.0 if cell.count else high - low

    def _show_determined(self) -> None:
        """Show this report's secondary cells that the shown ones give back anyway.

        A ``*`` a reader can work out protects nothing and promises what it does not
        keep. Showing a count that every solution of the identities already has
        changes no other cell's range. An amount known only to within its
        rounding narrows what it is summed with as far: it is shown only when the
        audit still passes with it. The step repeats until nothing more is given back.
        """
        kept: set[Hashable] = set()
        while self._show_determined_once(kept):
            pass

    def _show_determined_once(self, kept: set[Hashable]) -> bool:
        secondary = [k for k in self.hidden if k not in self.primary | self.forced | kept]
        pinned, groups = self._open_cells()
        shown = False
        for key in sorted(secondary, key=self._position.__getitem__):
            group = set(self._group(key))
            if key not in self.hidden or group & (self.primary | self.forced):
                continue
            widths = [self._determined(k, groups, pinned) for k in group]
            if any(w is None for w in widths):
                continue
            self.hidden -= group
            if max(widths) > 1.0 + TOLERANCE and self.audit(first_only=True).exposed:
                self.hidden |= group
                kept |= group
                continue
            shown = True
        return shown

    def _prune(self) -> None:
        """Show again every secondary cell the audit does not need, largest first.

        Only cells whose group of linked unknowns is small are tried: trying one
        re-solves the range of every small count in its group, which is what makes
        a long chain of reports slow, and a cell kept hidden is never unsafe.
        """
        secondary = [k for k in self.hidden if k not in self.primary | self.forced]
        order = self._position
        unknown = [k for k in self.cells if self._unknown(k)]
        groups = self._groups(unknown)
        # The costliest first (a headline number is given back before any detail).
        for key in sorted(
            secondary,
            key=lambda k: (-self.cells[k].cost, -abs(self.cells[k].value), order[k]),
        ):
            group = set(self._group(key))
            if key not in self.hidden or group & (self.primary | self.forced):
                continue
            headline = self.cells[key].cost >= HEADLINE_COST
            if len(groups.get(key, ())) > PRUNE_GROUP_LIMIT and not headline:
                continue
            self.hidden -= group
            if self.audit(first_only=True).exposed:
                self.hidden |= group


def _json_key(key):
    return [_json_key(k) for k in key] if isinstance(key, tuple) else key


def _tuple_key(key):
    return tuple(_tuple_key(k) for k in key) if isinstance(key, list) else key


def _optimum(objective, a_ub, b_ub, bounds) -> float:
    solution = linprog(objective, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if solution.status == 3:
        return -np.inf
    if solution.status != 0:
        raise DisclosureError(f"disclosure audit: linear programme failed ({solution.message})")
    return float(solution.fun)


def _integer_optimum(
    objective, a_rows, lower, upper, bounds, integral, quick: bool = False
) -> tuple[float, np.ndarray | None, bool]:
    """Minimum of ``objective`` over integer counts (HiGHS branch and bound); -inf if unbounded.

    With it, the solution found (None when unbounded or unsolved) and whether the
    integer programme was solved. When HiGHS fails twice (without presolve, then
    with it), the minimum of the continuous relaxation is returned with ``False``:
    a bound on the integer minimum, never above it, which the caller must only use
    in the direction where that is safe (:meth:`LinkedCells._range`), and the best
    solution HiGHS found, if any. ``quick`` tries once within :data:`QUICK_NODE_LIMIT`
    branch-and-bound nodes and returns NaN when that does not solve it.
    """
    low = np.array([-np.inf if b[0] is None else b[0] for b in bounds], dtype=float)
    high = np.array([np.inf if b[1] is None else b[1] for b in bounds], dtype=float)
    # Rows mix prices (thousands of DKK) with counts: scaling each to a largest
    # coefficient of 1 keeps HiGHS's feasibility tolerances meaningful.
    scale = np.abs(a_rows).max(axis=1, initial=0.0)
    scale[scale == 0] = 1.0
    centre = (lower + upper) / 2 / scale
    # A row whose allowed width after scaling is below HiGHS's feasibility tolerance
    # (a zero row: amount = price x achievements, a slack of 1e-6 over a price of
    # 25,000) made HiGHS stop with a solve error. The floor widens such a row by at
    # most SLACK_FLOOR x its largest coefficient (a fraction of a krone, far below
    # one count), so the integer solutions are those of the declared row.
    half = np.maximum((upper - lower) / 2 / scale, SLACK_FLOOR)
    constraints = LinearConstraint(a_rows / scale[:, None], centre - half, centre + half)
    found = None
    # Presolve first cost more than it saved on the audit's programmes: with it one
    # bounded largest value (591 cells) ran into the time limit that HiGHS solves in
    # 0.3 s without it. The quick trials keep it (they are faster with it).
    attempts = ({"node_limit": QUICK_NODE_LIMIT},) if quick else ({"presolve": False}, {})
    for options in attempts:
        solution = milp(
            objective,
            constraints=constraints,
            integrality=integral,
            bounds=Bounds(low, high),
            options={**options, "time_limit": MILP_TIME_LIMIT},
        )
        if solution.status == 3 or (
            solution.status == 4 and "unbounded" in solution.message.lower()
        ):
            return -np.inf, None, True
        if solution.status == 0:
            return float(solution.fun), np.asarray(solution.x, dtype=float), True
        if solution.x is not None and found is None:
            # Stopped by a limit with a solution in hand: feasible, so a witness.
            found = np.asarray(solution.x, dtype=float)
    if quick:
        return np.nan, found, False
    a_ub = np.vstack([a_rows, -a_rows])
    b_ub = np.concatenate([upper, -lower])
    return _optimum(objective, a_ub, b_ub, bounds), found, False
