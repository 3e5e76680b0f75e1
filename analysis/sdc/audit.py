"""The audit: how far the shown cells of a report leave each small count open.

Given a model (:class:`analysis.sdc.registry.Registry`) and which of its cells
are hidden, :meth:`Auditor.audit` finds, for every small count that is hidden or
derived (and every count an earlier report hid), the smallest and largest value
it can take given the shown cells and the identities, that counts are whole
numbers and that nothing is negative (:mod:`analysis.sdc.programmes`). A cell
whose range is narrower than required is exposed (a single value is exact
disclosure).

The unknown cells fall apart: those an identity pins from known cells (a range
of a point, with the slack of rounding), and groups linked by identities. A
cell's range depends only on its group, so answers are kept per (cell, group)
and only a group a suppression step changed is solved again. Solutions found
along the way are kept as witnesses (:meth:`Auditor._witness_range`): a cell
some feasible solutions already spread wide enough needs no programme of its own.

The audit answers questions; what to hide is decided by
:mod:`analysis.sdc.policy`. Its caches and counters (integer programmes solved,
those HiGHS did not solve) are no part of the model and are not stored.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from analysis.sdc.programmes import build_problem, integer_optimum
from analysis.sdc.registry import TOLERANCE, Registry
from analysis.sdc.suppress import is_small

# Relative width within which an amount worked out from rounded ones counts as known.
AMOUNT_PRECISION = 1e-4
# Rounds of :meth:`Auditor._spread`: push every narrow cell up, down, then in
# alternating directions (0). Fewer narrow cells than SPREAD_MIN_CELLS are solved one
# by one: a round costs several single ranges, and pays only for many cells at once
# (the first audit of a report in a chain, where every earlier count is asked again).
SPREAD_DIRECTIONS = (1.0, -1.0, 0.0, 1.0, -1.0)
SPREAD_MIN_CELLS = 50
# States of the hidden cells whose unknown cells are kept per revision (:meth:`Auditor.open_cells`).
OPEN_STATES_KEPT = 64


@dataclass
class Audit:
    """The feasible range of every small count after suppression."""

    ranges: dict[Hashable, tuple[float, float]] = field(default_factory=dict)
    exposed: list[Hashable] = field(default_factory=list)


class Auditor:
    """The feasible ranges of a model's unknown cells, with the solver's answers kept for speed."""

    # Solver results kept while protecting: cleared when the model changes.
    _CACHES = (
        "_ranges",
        "_uppers",
        "_witnesses",
        "_witnesses_of",
        "_problems",
        "inexact",
        "_valid",
        "_spans",
        "_states",
    )

    def __init__(self, model: Registry, min_persons: int, protection_width: int) -> None:
        self.model = model
        self.min_persons = min_persons
        self.protection_width = protection_width
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
        # Per cell, in the state ``_valid_for``: how many of its solutions were looked at,
        # and the smallest and largest value among the feasible ones (see _witness_range).
        self._spans: dict[Hashable, tuple[int, float, float]] = {}
        # The unknown cells of the states asked about in this revision (see open_cells).
        self._states: dict[tuple, tuple[dict, dict]] = {}
        # The identities' terms as arrays for :meth:`groups` (with the revision they are of).
        self._terms: tuple | None = None
        # Integer programmes built per group of unknown cells.
        self._problems: dict[frozenset, dict] = {}
        # (cell, group) whose range has a bound HiGHS did not solve (see _cached_range).
        self.inexact: set[tuple] = set()
        # Integer programmes solved, and those HiGHS did not solve (their ranges
        # are then taken on the safe side: :meth:`_cached_range`).
        self.milps = 0
        self.fallbacks = 0
        self._revision = model.revision

    def clear(self) -> None:
        """Forget every answer (the model changed, or the identities' slacks were reset)."""
        for name in self._CACHES:
            getattr(self, name).clear()
        self._revision = self.model.revision

    def sync(self) -> None:
        """Forget the answers about an earlier revision of the model."""
        if self._revision != self.model.revision:
            self.clear()

    def widens(self, key: Hashable, width: float) -> bool:
        """Whether the cell's range is now wider than ``width`` (a witness answers first)."""
        pinned, groups = self.open_cells()
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

        A trial HiGHS does not finish within :data:`analysis.sdc.programmes.QUICK_NODE_LIMIT` nodes counts
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

    def determined(self, key: Hashable, groups: dict, pinned: dict) -> float | None:
        """How far the shown cells leave the unknown cell open, when they give it back.

        None when the cell is open: a count that can take two whole numbers, an
        amount with a range wider than the rounding of the amounts it is worked
        out from (a few kroner in a million: the number a report would print).
        Else the width of its range (0 for a count).
        """
        cell = self.model.cells[key]
        margin = 0.5 if cell.count else 1.0 + AMOUNT_PRECISION * abs(cell.value)
        if key in pinned:
            low, high = cell.value - pinned[key], cell.value + pinned[key]
        else:
            other = self._another_count(key, groups, pinned)
            if other is not None:
                return None if other else 0.0
            low, high = self._cached_range(key, groups, pinned, need=margin, outer=True)
        if high - low >= margin:
            return None
        return 0.0 if cell.count else high - low

    def _another_count(self, key: Hashable, groups: dict, pinned: dict) -> bool | None:
        """Whether a whole count can take another whole value (None: not a whole count, or unsolved).

        Two questions with at most one integer programme each, "a solution with the
        cell at least one above its value?", then "at least one below?", where its
        exact range takes two (its smallest and largest value) and a range bounded
        half a count either side of its value answers nothing for a whole count. A
        witness moving the cell answers first; both without a solution: the cell
        is given back (its range is its value, kept as such).
        """
        group = groups[key]
        problem = self._problem(group, pinned)
        column = problem["column"][key]
        if not problem["integral"][column] or (key, group) in self._ranges:
            return None
        if not len(problem["a_rows"]):
            return True
        low, high = self._witness_range(key, groups)
        if high - low >= 0.5:
            return True
        value = self.model.cells[key].value
        floor, ceiling = problem["bounds"][column]
        questions = [(1.0, (value + 1, ceiling))]
        if floor is None or value - 1 >= floor:
            questions.append((-1.0, (floor, value - 1)))
        for sign, limit in questions:
            # The value nearest the cell's own in that direction: found, it is a witness.
            objective = np.zeros(len(problem["variables"]))
            objective[column] = sign
            bounds = list(problem["bounds"])
            bounds[column] = limit
            found, exact = self._solve(problem, objective, bounds=bounds, may_be_empty=True)
            if not exact:
                return None
            if np.isfinite(found):
                return True
        self._ranges[(key, group)] = (value, value)
        return False

    def sensitive(self) -> list[Hashable]:
        """Small hidden or derived counts, and every count an earlier report hid.

        An earlier report showed ``*`` for a count only when nothing it published
        gave the count back (:meth:`analysis.sdc.policy.Suppression.show_determined`); this report must not give
        it back either, whatever its size.
        """
        return [
            k
            for k, c in self.model.cells.items()
            if c.count
            and (
                (is_small(c.value, self.min_persons) and (k in self.model.hidden or not c.shown))
                or (k in self.model.forced and c.shown)
            )
        ]

    def required_width(self, key: Hashable) -> float:
        """How wide a cell's feasible range must be: the minimum for a small count, else above 0."""
        if is_small(self.model.cells[key].value, self.min_persons):
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
        start = set(self.model.new)
        for index in range(self.model.first_new_relation, len(self.model.relations)):
            start.update(self.model.relations[index].terms)
        scope = {groups[k] for k in start if k in groups}
        frontier = [k for k in start if k in pinned]
        seen = set(frontier)
        while frontier:
            for index in self.model.relations_of.get(frontier.pop(), []):
                for other in self.model.relations[index].terms:
                    if other in groups:
                        scope.add(groups[other])
                    elif other in pinned and other not in seen:
                        seen.add(other)
                        frontier.append(other)
        return scope

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
        pinned, groups = self.open_cells()
        result = Audit()
        # Cells named by the caller get their exact range; the protection's own
        # audit only needs to know each cell is wide enough.
        exact = keys is not None
        if keys is None:
            scope = self._in_scope(groups, pinned)
            keys = [k for k in self.sensitive() if k in pinned or groups[k] in scope]
            self._spread([k for k in keys if not (skip and k in skip)], groups, pinned)
        for key in keys:
            if skip and key in skip:
                continue
            if key in pinned:
                value = self.model.cells[key].value
                low, high = value - pinned[key], value + pinned[key]
            else:
                need = None if exact else self.required_width(key)
                low, high = self._cached_range(key, groups, pinned, need)
            result.ranges[key] = (low, high)
            if high - low < self.required_width(key) - TOLERANCE:
                result.exposed.append(key)
                if first_only:
                    break
        return result

    def open_cells(self) -> tuple[dict[Hashable, float], dict[Hashable, frozenset]]:
        """The unknown cells given what is shown: those pinned (with their slack), the rest in groups."""
        # The search tries a cell hidden, then shown again, and asks about the same
        # hidden cells many times: a revision (which fixes the cells, their shown
        # flags and the identities) and the hidden cells decide the answer.
        state = (self.model.revision, frozenset(self.model.hidden))
        if state not in self._states:
            if len(self._states) >= OPEN_STATES_KEPT:
                del self._states[next(iter(self._states))]
            unknown = [k for k in self.model.cells if self.model.unknown(k)]
            pinned = self._pinned(unknown)
            self._states[state] = (pinned, self.groups([k for k in unknown if k not in pinned]))
        return self._states[state]

    def _pinned(self, unknown: list[Hashable]) -> dict[Hashable, float]:
        """Unknown cells an identity determines from known ones, with the slack they carry."""
        open_cells = set(unknown)
        pinned: dict[Hashable, float] = {}
        queue = list(range(len(self.model.relations)))
        while queue:
            index = queue.pop()
            relation = self.model.relations[index]
            # Most identities have none or several unknown cells: a set operation says so.
            free = open_cells.intersection(relation.terms)
            if len(free) != 1:
                continue
            (key,) = free
            carried = sum(pinned.get(k, 0.0) * abs(w) for k, w in relation.terms.items())
            pinned[key] = (relation.slack + carried) / abs(relation.terms[key])
            open_cells.discard(key)
            queue.extend(self.model.relations_of.get(key, []))
        return pinned

    def groups(self, unknown: list[Hashable]) -> dict[Hashable, frozenset]:
        """Each unknown cell's group: the unknown cells linked to it by identities."""
        # The connected parts of the graph joining each identity to its unknown cells
        # (identities and cells its nodes), by SciPy: one pass in C for each state.
        position, term_identity, term_cell = self._incidence()
        cells = len(position)
        columns = np.fromiter((position[k] for k in unknown), dtype=np.intp, count=len(unknown))
        open_cell = np.zeros(cells, dtype=bool)
        open_cell[columns] = True
        inside = open_cell[term_cell]
        nodes = cells + len(self.model.relations)
        graph = coo_array(
            (
                np.ones(int(inside.sum()), dtype=np.int8),
                (term_cell[inside], cells + term_identity[inside]),
            ),
            shape=(nodes, nodes),
        )
        _, label = connected_components(graph, directed=False)
        parts = label[columns].tolist()
        members: dict[int, list] = {}
        for key, part in zip(unknown, parts, strict=True):
            members.setdefault(part, []).append(key)
        frozen = {part: frozenset(m) for part, m in members.items()}
        return {key: frozen[part] for key, part in zip(unknown, parts, strict=True)}

    def _incidence(self) -> tuple[dict[Hashable, int], np.ndarray, np.ndarray]:
        """Each cell's position, and every identity's terms as (identity, cell position) pairs (per revision)."""
        if self._terms is None or self._terms[0] != self.model.revision:
            position = {k: i for i, k in enumerate(self.model.cells)}
            pairs = [(i, position[k]) for i, r in enumerate(self.model.relations) for k in r.terms]
            array = np.array(pairs, dtype=np.intp).reshape(-1, 2)
            self._terms = (self.model.revision, position, array[:, 0].copy(), array[:, 1].copy())
        return self._terms[1:]

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
            self._ranges[cached] = self.range(key, group, pinned)
        if cached in self.inexact and not outer:
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
        (:meth:`range`) tell the range then.
        """
        group = groups[key]
        problem = self._problem(group, pinned)
        if not len(problem["a_rows"]):
            return None
        column, value = problem["column"][key], self.model.cells[key].value
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
        # Whether a solution is still feasible depends only on which cells are unknown
        # (``groups``): it is decided once per state, not once per cell asked about.
        if self._valid_for is not groups:
            self._valid_for, self._valid, self._spans = groups, {}, {}
        solutions = self._witnesses_of.get(key, ())
        seen, low, high = self._spans.get(key) or (0, *(2 * (self.model.cells[key].value,)))
        if seen == len(solutions):
            return (low, high)
        # Solutions are only added within a state: the span so far is extended by the
        # new ones (the same minimum and maximum as over all of them).
        valid, free = self._valid, groups.keys()
        for index in solutions[seen:]:
            ok = valid.get(index)
            if ok is None:
                ok = valid[index] = self._witnesses[index].keys() <= free
            if ok:
                moved = self._witnesses[index][key]
                low, high = min(low, moved), max(high, moved)
        self._spans[key] = (len(solutions), low, high)
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
        :data:`analysis.sdc.programmes.QUICK_NODE_LIMIT` nodes.
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
                    column, value = problem["column"][key], self.model.cells[key].value
                    sign = direction if direction else (1.0 if position % 2 else -1.0)
                    objective[column] = -sign
                    need = self.required_width(key)
                    low = bounds[column][0]
                    bounds[column] = (
                        value - need if low is None else max(low, value - need),
                        value + need,
                    )
                # Only the solution matters (kept as a witness), not the optimum.
                self._solve(problem, objective, quick=True, bounds=bounds)

    def _wide_enough(self, key: Hashable, groups: dict) -> bool:
        low, high = self._witness_range(key, groups)
        return high - low >= self.required_width(key) - TOLERANCE

    def _keep_witness(self, variables: list[Hashable], solution: np.ndarray) -> None:
        moved = {}
        for cell, other in zip(variables, solution, strict=True):
            # Counts are whole numbers; amounts are shown in whole kroner.
            if abs(other - self.model.cells[cell].value) > 0.5:
                moved[cell] = float(other)
        if moved:
            index = len(self._witnesses)
            self._witnesses.append(moved)
            for cell in moved:
                self._witnesses_of.setdefault(cell, []).append(index)

    def _problem(self, group: frozenset, pinned: dict) -> dict:
        """The integer programme of one group of unknown cells (built once per group)."""
        if group not in self._problems:
            self._problems[group] = build_problem(self.model, group, pinned)
        return self._problems[group]

    def _solve(
        self,
        problem: dict,
        objective: np.ndarray,
        quick: bool = False,
        bounds=None,
        may_be_empty: bool = False,
    ) -> tuple[float, bool]:
        """The optimum of ``objective`` over the group's problem, and whether HiGHS solved it.

        A solution found is kept as a witness (``bounds`` narrower than the
        problem's keep it one). ``quick``: see :func:`_integer_optimum` (an
        unsolved quick trial is no fallback: nothing is decided on it);
        ``may_be_empty``: see :func:`analysis.sdc.programmes.integer_optimum`.

        A programme asked again (the same objective and bounds over the same
        group) is answered from the first solve: HiGHS given the same programme
        returns the same result, and its solution is already a witness. The
        smallest value of a small count bounded ``value - need`` below is the
        unbounded smallest value whenever that bound is the floor of 0, which
        :meth:`range` asks next.
        """
        base = problem["bounds"]
        if bounds is None:
            bounds = base
        asked = (
            objective.tobytes(),
            quick,
            may_be_empty,
            tuple((i, b) for i, b in enumerate(bounds) if b != base[i]),
        )
        solved = problem.setdefault("solved", {})
        if asked in solved:
            return solved[asked]
        value, solution, exact = integer_optimum(
            objective,
            problem["a_rows"],
            problem["lower"],
            problem["upper"],
            bounds,
            problem["integral"],
            quick=quick,
            rows=problem["rows"],
            may_be_empty=may_be_empty,
        )
        self.milps += 1
        if not exact and not quick:
            self.fallbacks += 1
        if solution is not None:
            self._keep_witness(problem["variables"], solution)
        solved[asked] = (value, exact)
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

    def range(self, key: Hashable, group: frozenset, pinned: dict) -> tuple[float, float]:
        """The cell's range; when a bound is the relaxation's, the cell is marked inexact."""
        problem = self._problem(group, pinned)
        if not len(problem["a_rows"]):
            return (problem["bounds"][problem["column"][key]][0] or -np.inf, np.inf)
        objective = np.zeros(len(problem["variables"]))
        objective[problem["column"][key]] = 1.0
        low, low_exact = self._solve(problem, objective)
        high, high_exact = self._upper(key, group, pinned)
        if not (low_exact and high_exact):
            self.inexact.add((key, group))
        return (low, high)

    def _relaxed_width(self, key: Hashable, group: frozenset, pinned: dict) -> float:
        """The width of the cell's range without integrality: never narrower than the true one.

        A linear programme costs a fraction of the integer programme, and when it is
        already too narrow the integer range is too (it lies inside).
        """
        problem = self._problem(group, pinned)
        if not len(problem["a_rows"]):
            return np.inf
        # The same cell is tried again with the same hidden cells (another exposed
        # cell, the next round of the search): a linear programme is solved once.
        relaxed_widths = problem.setdefault("relaxed", {})
        if key in relaxed_widths:
            return relaxed_widths[key]
        objective = np.zeros(len(problem["variables"]))
        objective[problem["column"][key]] = 1.0
        relaxed = np.zeros_like(problem["integral"])
        bounds = (problem["a_rows"], problem["lower"], problem["upper"], problem["bounds"])
        low, _, low_exact = integer_optimum(objective, *bounds, relaxed, rows=problem["rows"])
        high, _, high_exact = integer_optimum(-objective, *bounds, relaxed, rows=problem["rows"])
        relaxed_widths[key] = -high - low if low_exact and high_exact else np.inf
        return relaxed_widths[key]
