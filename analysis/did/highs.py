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

# linprog's feasibility tolerance of a returned solution (`_check_result`, tol=1e-9).
_TOL = np.sqrt(1e-9) * 10


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
        # SciPy's private HiGHS modules, reached only when an LP is solved: should a SciPy
        # release move them, only the sensitivity analysis stops, not `import analysis.did`.
        from scipy.optimize import _linprog_highs as lh
        from scipy.optimize._highspy import _highs_wrapper as hw

        self.h, self.lh = hw._h, lh
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

    def build(self, c: np.ndarray, A_ub: np.ndarray):
        """The HiGHS model of ``c`` and ``A_ub`` with every row bound still to be set."""
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
        lp.a_matrix_.start_ = np.r_[0, np.cumsum(nonzero.sum(axis=1))].astype(np.int32)
        lp.a_matrix_.index_ = np.nonzero(nonzero)[1].astype(np.int32)
        lp.a_matrix_.value_ = A_ub.T[nonzero]
        return lp

    def __call__(self, c: np.ndarray, A_ub: np.ndarray, b_ub: np.ndarray) -> Solution:
        return self.run(self.build(c, A_ub), b_ub)

    def solver(self):
        """A HiGHS solver with the options set, or None when HiGHS refuses them."""
        highs = self.h._Highs()
        if highs.passOptions(self.options) == self.h.HighsStatus.kError:
            return None
        return highs

    def run(self, lp, b_ub: np.ndarray, highs=None) -> Solution:
        """Solve the model of :meth:`build` with the right-hand side ``b_ub``.

        ``highs`` is a :meth:`solver` to use again (default: a new one). Passing a
        model clears what the solver held of the last one (its basis, so no warm
        start): the same iterations and the same solution as a new solver.
        """
        h, lh = self.h, self.lh
        m = lp.num_row_
        rhs = lh._replace_inf(np.array(b_ub, dtype=float))
        lp.row_upper_ = rhs
        highs = highs or self.solver()
        if highs is None:
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
        # What linprog's `_check_result` decides for an optimal status, free variables
        # and inequality constraints only: a solution with a NaN or a constraint
        # violated by more than its tolerance (sqrt(1e-9)·10) is status 4.
        fun = highs.getInfo().objective_function_value
        status = 0
        if np.isnan(x).any() or np.isnan(fun) or np.isnan(slack).any() or (slack < -_TOL).any():
            status = 4
        return Solution(status, x, np.array(solution.row_dual)[:m])


_direct: _Direct | None = None
_unavailable = False


def _solver() -> _Direct | None:
    global _direct, _unavailable
    if _direct is None and not _unavailable:
        try:
            _direct = _Direct()
        except (ImportError, AttributeError, RuntimeError):
            _unavailable = True
    return _direct


def solve(c: np.ndarray, A_ub: np.ndarray, b_ub: np.ndarray) -> Solution:
    """``linprog`` with free variables and inequality constraints only (see the module)."""
    direct = _solver()
    if direct is None:
        return solve_linprog(c, A_ub, b_ub)
    return direct(c, A_ub, b_ub)


class Model:
    """:func:`solve` for one ``c`` and ``A_ub`` and many right-hand sides.

    The test of one polyhedron solves the same LP at every grid point with only
    ``b_ub`` changed: the model (its column-wise matrix) and a solver with its
    options are made once, and each :meth:`solve` passes the model with the new
    row bounds again. Passing a model resets the solver (no warm start: the same
    iteration count and solution as a new solver, checked on thousands of the
    test's LPs), so every solution is the one :func:`solve` gives
    (``tests/test_honestdid.py`` compares them with ``linprog``'s).
    """

    def __init__(self, c: np.ndarray, A_ub: np.ndarray) -> None:
        self.c, self.A_ub = c, A_ub
        direct = _solver()
        self._lp = None if direct is None else direct.build(c, A_ub)
        self._highs = None if direct is None else direct.solver()

    def solve(self, b_ub: np.ndarray) -> Solution:
        """``solve(c, A_ub, b_ub)``."""
        if self._lp is None:
            return solve_linprog(self.c, self.A_ub, b_ub)
        return _direct.run(self._lp, b_ub, self._highs)
