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
