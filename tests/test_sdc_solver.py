"""The MILP wrapper keeps HiGHS's stray console lines out of the commands' output."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from scipy.optimize import Bounds, LinearConstraint

from analysis.sdc.solver import milp


def test_the_solver_result_is_scipys():
    """Whole numbers x + y = 7 with x ≥ 3: the smallest y is 0, the largest 4."""
    constraint = LinearConstraint(np.array([[1.0, 1.0]]), 7, 7)
    bounds = Bounds([3, 0], [np.inf, np.inf])
    low = milp([0, 1], constraints=constraint, integrality=[1, 1], bounds=bounds)
    high = milp([0, -1], constraints=constraint, integrality=[1, 1], bounds=bounds)
    assert (low.fun, -high.fun) == (0, 4)


def test_what_the_solver_prints_from_cpp_is_discarded_and_python_output_kept():
    """Anything written to file descriptor 1 during the solve is dropped; stdout works after it."""
    code = (
        "import os\n"
        "from analysis.sdc import solver\n"
        "real = solver._milp\n"
        "def noisy(*a, **k):\n"
        "    os.write(1, b'HighsMipSolverData noise\\n')\n"
        "    return real(*a, **k)\n"
        "solver._milp = noisy\n"
        "result = solver.milp([1.0], integrality=[1], bounds=(2, 5))\n"
        "print('minimum', result.fun)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out == "minimum 2.0\n"


def _saved_problem():
    """A disclosure-audit integer programme on which HiGHS stopped with a solve error."""
    import json
    from pathlib import Path

    saved = json.loads(
        (Path(__file__).parent / "fixtures" / "highs_solve_error.json").read_text(encoding="utf-8")
    )
    n = len(saved["objective"])
    rows = np.zeros((len(saved["rows"]), n))
    for r, terms in enumerate(saved["rows"]):
        for column, weight in terms.items():
            rows[r, int(column)] = weight
    return (
        np.array(saved["objective"]),
        rows,
        np.array(saved["lower"]),
        np.array(saved["upper"]),
        [(0, None)] * n,
        np.array(saved["integral"]),
        np.array(saved["values"]),
    )


def test_the_audit_solves_the_problem_highs_once_gave_up_on():
    """A row 2e-11 wide after scaling made HiGHS stop ('Solve error', status 4) and the audit
    fall back to the continuous relaxation; the floor on the scaled width solves it exactly."""
    from analysis.sdc.programmes import integer_optimum as _integer_optimum

    objective, rows, lower, upper, bounds, integral, values = _saved_problem()
    scale = np.abs(rows).max(axis=1)
    as_it_was = milp(
        objective,
        constraints=LinearConstraint(rows / scale[:, None], lower / scale, upper / scale),
        integrality=integral,
        bounds=Bounds(np.zeros(len(objective)), np.inf),
    )
    assert as_it_was.status == 4  # the failure this guards against is still HiGHS's
    # The true values satisfy every row: the problem is feasible.
    assert np.all(rows @ values >= lower - 1e-9) and np.all(rows @ values <= upper + 1e-9)
    low, solution, exact = _integer_optimum(objective, rows, lower, upper, bounds, integral)
    high, _, high_exact = _integer_optimum(-objective, rows, lower, upper, bounds, integral)
    assert exact and high_exact and solution is not None
    assert low <= values[0] <= -high
    assert np.allclose(solution[integral == 1], np.round(solution[integral == 1]))
