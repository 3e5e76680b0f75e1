"""The integer programmes of the audit (scipy's HiGHS): one per group of unknown cells.

A group is a set of unknown cells linked by identities (:mod:`analysis.sdc.audit`).
:func:`build_problem` writes its programme: one variable per cell, one row per
identity touching the group (the known cells moved to the right-hand side, each
row allowed the rounding of the shown values and the slack of pinned cells),
counts whole and nothing negative. :func:`integer_optimum` solves one objective
over it with HiGHS's branch and bound, scaled so that rows mixing prices and
counts keep the solver's tolerances meaningful, and says whether HiGHS solved it;
:func:`linear_optimum` is the continuous relaxation it falls back to.

What the solutions mean (ranges, witnesses, which cells are exposed) is the
audit's business; this module only states and solves the programmes.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog
from scipy.sparse import csc_array

from analysis.sdc.check import DisclosureError
from analysis.sdc.registry import Registry
from analysis.sdc.solver import milp

# The least half-width of a scaled row: ten times HiGHS's primal feasibility tolerance.
SLACK_FLOOR = 1e-6
# Seconds one integer programme may take before it counts as unsolved.
MILP_TIME_LIMIT = 60.0
# Branch-and-bound nodes a partner's trial may take (:meth:`analysis.sdc.audit.Auditor.widens`):
# it only chooses which cell to hide next, the audit decides what is safe; a node limit,
# not a time, so that the choice is the same on a busy machine.
QUICK_NODE_LIMIT = 500


def build_problem(model: Registry, group: frozenset, pinned: dict[Hashable, float]) -> dict:
    """The integer programme of one group of unknown cells.

    ``variables`` (the group's cells in declaration order), ``column`` (cell →
    variable), the rows ``a_rows`` with their ``lower`` and ``upper`` sides,
    ``bounds`` per variable and ``integral`` (1 for a whole count); ``rows``, the
    rows as HiGHS is given them (:func:`scaled_rows`, built once: every objective
    over the group uses them).
    """
    variables = [k for k in model.cells if k in group]
    column = {k: i for i, k in enumerate(variables)}
    touching = sorted({i for k in variables for i in model.relations_of.get(k, [])})
    a_rows = np.zeros((len(touching), len(variables)))
    rhs = np.zeros(len(touching))
    slack = np.zeros(len(touching))
    for row, index in enumerate(touching):
        relation = model.relations[index]
        slack[row] = relation.slack
        for cell, weight in relation.terms.items():
            if cell in column:
                a_rows[row, column[cell]] += weight
            else:
                rhs[row] -= weight * model.cells[cell].value
                slack[row] += abs(weight) * pinned.get(cell, 0.0)
    # Counts are whole numbers: a reader who knows it may narrow a range further
    # than the continuous relaxation, so the audit solves the integer programme.
    integral = np.array(
        [
            1 if model.cells[k].count and float(model.cells[k].value).is_integer() else 0
            for k in variables
        ]
    )
    # Each identity holds up to the rounding of the shown values.
    lower, upper = rhs - slack, rhs + slack
    return {
        "variables": variables,
        "column": column,
        "a_rows": a_rows,
        "lower": lower,
        "upper": upper,
        "rows": scaled_rows(a_rows, lower, upper),
        # Counts and amounts cannot be negative; a negative cell (a net position) is free.
        "bounds": [(0, None) if model.cells[k].value >= 0 else (None, None) for k in variables],
        "integral": integral,
    }


def linear_optimum(objective, a_ub, b_ub, bounds) -> float:
    """Minimum of ``objective`` over the continuous relaxation (HiGHS's LP); -inf if unbounded."""
    solution = linprog(objective, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if solution.status == 3:
        return -np.inf
    if solution.status != 0:
        raise DisclosureError(f"disclosure audit: linear programme failed ({solution.message})")
    return float(solution.fun)


def scaled_rows(a_rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> LinearConstraint:
    """The rows ``lower <= a_rows @ x <= upper`` as HiGHS is given them: scaled, with a floor on their width.

    The matrix is sparse (a group's identities name a few cells each), so a group's
    programmes share one copy instead of converting the dense rows at every solve.
    """
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
    return LinearConstraint(csc_array(a_rows / scale[:, None]), centre - half, centre + half)


def integer_optimum(
    objective,
    a_rows,
    lower,
    upper,
    bounds,
    integral,
    quick: bool = False,
    rows: LinearConstraint | None = None,
    may_be_empty: bool = False,
) -> tuple[float, np.ndarray | None, bool]:
    """Minimum of ``objective`` over integer counts (HiGHS branch and bound); -inf if unbounded.

    With it, the solution found (None when unbounded or unsolved) and whether the
    integer programme was solved. When HiGHS fails twice (without presolve, then
    with it), the minimum of the continuous relaxation is returned with ``False``:
    a bound on the integer minimum, never above it, which the caller must only use
    in the direction where that is safe (:meth:`analysis.sdc.audit.Auditor.range`), and the best
    solution HiGHS found, if any. ``quick`` tries once within :data:`QUICK_NODE_LIMIT`
    branch-and-bound nodes and returns NaN when that does not solve it. ``rows``:
    the rows already as :func:`scaled_rows` gives them (the same programme).
    ``may_be_empty``: the bounds ask a question that may have no solution ("can the
    cell exceed its value?"); HiGHS proving none gives +inf, solved. Otherwise the
    true values are a solution, and a programme HiGHS calls infeasible is unsolved.
    """
    low = np.array([-np.inf if b[0] is None else b[0] for b in bounds], dtype=float)
    high = np.array([np.inf if b[1] is None else b[1] for b in bounds], dtype=float)
    constraints = scaled_rows(a_rows, lower, upper) if rows is None else rows
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
        if solution.status == 2 and may_be_empty:
            return np.inf, None, True
        if solution.status == 0:
            return float(solution.fun), np.asarray(solution.x, dtype=float), True
        if solution.x is not None and found is None:
            # Stopped by a limit with a solution in hand: feasible, so a witness.
            found = np.asarray(solution.x, dtype=float)
    if quick:
        return np.nan, found, False
    a_ub = np.vstack([a_rows, -a_rows])
    b_ub = np.concatenate([upper, -lower])
    return linear_optimum(objective, a_ub, b_ub, bounds), found, False
