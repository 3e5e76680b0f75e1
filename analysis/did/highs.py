"""``scipy.optimize.linprog(method="highs")`` for the small LPs of the HonestDiD test, without its overhead.

The conditional test of :mod:`analysis.did.honestdid` solves tens of thousands of
tiny LPs (a handful of moments, two or three variables) per outcome. Of the time
``linprog`` takes on one, about nine tenths go to checking and converting its
arguments and, inside SciPy's HiGHS wrapper, to validating the same solver options
again on every call (``check_option``); the HiGHS solve itself is a small part.

:func:`solve` passes HiGHS exactly what ``linprog`` would pass (the same
column-wise matrix without its zero entries, the same bounds with infinity
replaced by HiGHS's, the same options) and checks the result the same way
(``_check_result``), but builds and validates the options once. The solver, the
problem and the options being the same, the solution is the same bit for bit
(``tests/test_honestdid.py`` compares the two on the test's own LPs). It uses
SciPy's private HiGHS bindings of the pinned SciPy; where they are not as
expected, :func:`solve` falls back to ``linprog`` itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize


@dataclass
class Solution:
    """The parts of ``linprog``'s result the HonestDiD test reads."""

    status: int
    x: np.ndarray | None
    ineqlin_marginals: np.ndarray | None


def solve_linprog(c: np.ndarray, A_ub: np.ndarray, b_ub: np.ndarray) -> Solution:
    """``linprog(c, A_ub, b_ub, bounds=(None, None) for every variable, method="highs")``."""
    result = optimize.linprog(
        c, A_ub=A_ub, b_ub=b_ub, bounds=[(None, None)] * len(c), method="highs"
    )
    return Solution(result.status, result.x, result.ineqlin.marginals)


class _Direct:
    """The HiGHS call of ``linprog`` with its options built once."""

    def __init__(self) -> None:
        from scipy.optimize import _linprog_highs as lh
        from scipy.optimize import _linprog_util as lu
        from scipy.optimize._highspy import _highs_wrapper as hw

        self.h, self.lh, self.lu = hw._h, lh, lu
        # The options `_linprog_highs` gives HiGHS for method="highs" and no options:
        # the others are None there, and `_highs_wrapper` skips None and "sense".
        options = {
            "presolve": "on",
            "highs_debug_level": lh.HighsDebugLevel.kHighsDebugLevelNone,
            "log_to_console": False,
            "output_flag": False,
            "simplex_strategy": lh.s_c.SimplexStrategy.kSimplexStrategyDual,
        }
        self.options = self.h.HighsOptions()
        probe = self.h._Highs()
        manager = hw.hopt.HighsOptionsManager()
        for key, value in options.items():
            if manager.get_option_type(key) == -1 or hw.check_option(probe, key, value)[0] != 0:
                raise RuntimeError(f"HiGHS option {key} is not as expected")
            setattr(self.options, key, value)

    def __call__(self, c: np.ndarray, A_ub: np.ndarray, b_ub: np.ndarray) -> Solution:
        h, lh = self.h, self.lh
        m, n = A_ub.shape
        # csc_array of the dense matrix: column-wise, explicit zeros left out.
        nonzero = A_ub.T != 0
        lp = h.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = m
        lp.a_matrix_.num_col_ = n
        lp.a_matrix_.num_row_ = m
        lp.a_matrix_.format_ = h.MatrixFormat.kColwise
        lp.col_cost_ = c
        lp.col_lower_ = np.full(n, -lh.kHighsInf)
        lp.col_upper_ = np.full(n, lh.kHighsInf)
        lp.row_lower_ = np.full(m, -lh.kHighsInf)
        rhs = lh._replace_inf(np.array(b_ub, dtype=float))
        lp.row_upper_ = rhs
        lp.a_matrix_.start_ = np.r_[0, np.cumsum(nonzero.sum(axis=1))].astype(np.int32)
        lp.a_matrix_.index_ = np.nonzero(nonzero)[1].astype(np.int32)
        lp.a_matrix_.value_ = A_ub.T[nonzero]
        highs = h._Highs()
        if highs.passOptions(self.options) == h.HighsStatus.kError:
            return Solution(4, None, None)
        if highs.passModel(lp) == h.HighsStatus.kError or highs.run() == h.HighsStatus.kError:
            return Solution(4, None, None)
        model_status = highs.getModelStatus()
        if model_status != h.HighsModelStatus.kOptimal:
            status, _ = lh._highs_to_scipy_status_message(
                model_status, highs.modelStatusToString(model_status)
            )
            return Solution(status, None, None)
        solution = highs.getSolution()
        x = np.array(solution.col_value)
        slack = rhs - solution.row_value
        bounds = np.column_stack([np.full(n, -np.inf), np.full(n, np.inf)])
        status, _ = lh._highs_to_scipy_status_message(
            model_status, highs.modelStatusToString(model_status)
        )
        status, _ = self.lu._check_result(
            x,
            highs.getInfo().objective_function_value,
            status,
            np.array(slack),
            np.array([]),
            bounds,
            1e-9,
            "",
            None,
        )
        return Solution(status, x, np.array(solution.row_dual)[:m])


_direct: _Direct | None = None
_unavailable = False


def solve(c: np.ndarray, A_ub: np.ndarray, b_ub: np.ndarray) -> Solution:
    """``linprog`` with free variables and inequality constraints only (see the module)."""
    global _direct, _unavailable
    if _direct is None and not _unavailable:
        try:
            _direct = _Direct()
        except (ImportError, AttributeError, RuntimeError):
            _unavailable = True
    if _direct is None:
        return solve_linprog(c, A_ub, b_ub)
    return _direct(c, A_ub, b_ub)
