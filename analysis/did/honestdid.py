"""Sensitivity of event-study conclusions to violations of parallel trends (Rambachan and Roth 2023).

The interface follows the R package ``HonestDiD`` so that a reviewer can compare:
``betahat`` stacks the ``num_pre_periods`` pre-period event-study coefficients
(the reference period, normalised to 0, left out) and the ``num_post_periods``
post-period ones, ``sigma`` is their covariance matrix, and the target parameter
is ``θ = l'τ_post`` (default ``l_vec``: the average of the post periods). Write
``δ`` for the bias of ``betahat`` (the trend violation); parallel trends is
``δ = 0``. Two families of restrictions on ``δ``:

* **Relative magnitudes** ``Δ^RM(M̄)``: no post-period change of the violation,
  ``|δ_{t+1} - δ_t|`` for ``t ≥ 0``, is larger than ``M̄`` times the largest
  pre-period change ``max_{s<0} |δ_{s+1} - δ_s|`` (``δ_0 = 0`` at the reference).
  ``Δ^RM`` is the union over the location ``s`` and the sign of the largest
  pre-period change of polyhedra ``{δ: A δ ≤ 0}``; the confidence set is the union
  of the polyhedra's confidence sets. Each is the set of ``θ̄`` that the test of
  Andrews, Roth and Pakes (ARP) does not reject: with
  ``Y = A β̂ - A_post Γ⁻¹ e₁ θ̄`` and nuisance ``X = A_post Γ⁻¹ [e₂ … e_T]``
  (``Γ`` a basis with first row ``l'``), the statistic is the linear program
  ``η̂ = min_τ max_j (Y_j - X_j τ) / σ_j``; conditional on the optimal dual vertex
  ``γ`` (and the part of ``Y`` independent of ``γ'Y``) ``η̂`` is a normal truncated
  to ``[v_lo, v_up]``, which gives the conditional critical value
  (``method="Conditional"``). The hybrid (``"C-LF"``, R's default) first rejects
  when ``η̂`` exceeds the least-favourable critical value at size ``κ = α/10``
  (simulated, 1000 draws, seeded), then tests conditionally at size
  ``(α - κ)/(1 - κ)`` with ``v_up`` capped at that value. As in R, only the moments
  that involve post-period coefficients enter the test, and ``θ̄`` runs over a grid
  of ``grid_points`` values centred on ``l'β̂_post``.
* **Smoothness** ``Δ^SD(M)``: the second differences of ``δ`` are at most ``M``
  (``M = 0``: linear trends). The fixed-length confidence interval (FLCI) is the
  shortest interval ``v'β̂ ± χ`` over affine estimators with ``v_post = l``:
  the worst-case bias of ``v'β̂`` over ``Δ^SD(M)`` is ``b = M ‖u‖₁`` with
  ``v = D'u`` (``D`` the second-difference matrix, ``v`` orthogonal to linear
  trends), and ``χ = σ_v cv_α(b/σ_v)`` with ``cv_α(t)`` the ``1-α`` quantile of
  ``|N(t, 1)|``. The half-length is convex in the pre-period weights and is
  minimised directly.

The breakdown value is the smallest ``M̄`` (or ``M``) whose robust interval
contains zero: up to that much violation of parallel trends the conclusion that
the effect is not zero holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from analysis.did import highs
from analysis.did.checks import EstimationError
from analysis.did.influence import cluster_sums

LF_SIMULATIONS = 1000


def _check(betahat, sigma, num_pre_periods, num_post_periods, l_vec):
    betahat = np.asarray(betahat, dtype=float).ravel()
    sigma = np.asarray(sigma, dtype=float)
    if len(betahat) != num_pre_periods + num_post_periods:
        raise EstimationError(
            f"betahat has {len(betahat)} values; expected num_pre_periods + num_post_periods "
            f"= {num_pre_periods + num_post_periods}"
        )
    if sigma.shape != (len(betahat), len(betahat)):
        raise EstimationError(f"sigma must be {len(betahat)} × {len(betahat)}, got {sigma.shape}")
    if not np.allclose(sigma, sigma.T, atol=1e-10):
        raise EstimationError("sigma must be symmetric")
    if l_vec is None:
        l_vec = np.full(num_post_periods, 1.0 / num_post_periods)
    l_vec = np.asarray(l_vec, dtype=float).ravel()
    if len(l_vec) != num_post_periods:
        raise EstimationError(f"l_vec must have num_post_periods = {num_post_periods} values")
    return betahat, sigma, l_vec


def original_ci(betahat, sigma, num_pre_periods, num_post_periods, l_vec=None, alpha=0.05):
    """The confidence interval for ``θ = l'τ_post`` under exact parallel trends.

    Returns
    -------
    tuple (lb, ub)
    """
    betahat, sigma, l_vec = _check(betahat, sigma, num_pre_periods, num_post_periods, l_vec)
    post = slice(num_pre_periods, None)
    estimate = float(l_vec @ betahat[post])
    se = float(np.sqrt(l_vec @ sigma[post, post] @ l_vec))
    z = stats.norm.ppf(1 - alpha / 2)
    return estimate - z * se, estimate + z * se


# ---------------------------------------------------------------- relative magnitudes


def _rm_polyhedron(num_pre: int, num_post: int, m_bar: float, s: int, positive: bool):
    """``A`` of ``{δ: A δ ≤ 0}``: the largest pre-period change is at ``s`` with this sign.

    Periods are indexed ``0 … num_pre + num_post`` with the reference at ``num_pre``;
    ``s ∈ {-(num_pre-1), …, 0}`` picks the pre-period change between positions
    ``num_pre - 1 + s`` and ``num_pre + s`` (``s = 0``: from the last pre period to
    the reference). The reference column is dropped at the end (``δ_0 = 0``).
    """
    total = num_pre + num_post + 1
    first = np.zeros((total - 1, total))
    for r in range(total - 1):
        first[r, r], first[r, r + 1] = -1.0, 1.0
    largest = np.zeros(total)
    largest[num_pre - 1 + s], largest[num_pre + s] = -1.0, 1.0
    if not positive:
        largest = -largest
    bound = np.vstack([np.tile(largest, (num_pre, 1)), np.tile(m_bar * largest, (num_post, 1))])
    A = np.vstack([first - bound, -first - bound])
    A = A[~np.all(np.abs(A) <= 1e-10, axis=1)]
    return np.delete(A, num_pre, axis=1)


def _gamma(l_vec: np.ndarray) -> np.ndarray:
    """A basis of the post periods whose first row is ``l'`` (completed by unit vectors)."""
    n = len(l_vec)
    first = int(np.flatnonzero(np.abs(l_vec) > 1e-12)[0])
    rows = [l_vec] + [np.eye(n)[i] for i in range(n) if i != first]
    return np.vstack(rows)


def _eta_model(X: np.ndarray, sd: np.ndarray) -> highs.Model:
    """The LP of :func:`_eta_lp` for ``X`` and ``sd``, to be solved for many ``Y``."""
    return highs.Model(np.r_[1.0, np.zeros(X.shape[1])], -np.column_stack([sd, X]))


def _eta_lp(Y: np.ndarray, X: np.ndarray, sd: np.ndarray, model: highs.Model | None = None):
    """``min_τ max_j (Y_j - X_j τ)/sd_j`` and its dual vertex (``γ ≥ 0``, ``X'γ = 0``, ``sd'γ = 1``).

    ``model`` is :func:`_eta_model` of ``X`` and ``sd`` when the caller has built it.
    """
    # linprog(method="highs") as it is, without its per-call overhead (analysis.did.highs).
    result = (model or _eta_model(X, sd)).solve(-Y)
    if result.status != 0:
        return np.nan, None
    return float(result.x[0]), -result.ineqlin_marginals


def _truncated_normal_quantile(p: float, lower: float, upper: float) -> float:
    """The ``p`` quantile of a standard normal truncated to ``[lower, upper]``.

    ``ndtr`` and ``ndtri`` are what ``stats.norm.cdf`` and ``stats.norm.ppf`` compute
    (the same values, bit for bit), without their argument handling: called once per
    grid point, that handling was a third of the test's time.
    """
    lo, hi = float(special.ndtr(lower)), float(special.ndtr(upper))
    if hi - lo < 1e-300:
        return lower
    return float(special.ndtri(lo + p * (hi - lo)))


@dataclass
class _Moments:
    """The moments of one polyhedron that the ARP test uses, for any ``θ̄``."""

    base: np.ndarray  # A β̂ (rows for the test)
    slope: np.ndarray  # A_post Γ⁻¹ e₁: Y(θ̄) = base - slope θ̄
    X: np.ndarray | None  # nuisance columns (None without nuisance)
    cov: np.ndarray  # covariance of Y
    sd: np.ndarray
    lf_cv: float = np.inf
    model: highs.Model | None = None  # the η LP of X and sd (None without nuisance)


def _moments(A, betahat, sigma, num_pre, l_vec, hybrid, kappa, seed) -> _Moments:
    num_post = len(l_vec)
    if num_post > 1:
        # Only moments that involve post-period coefficients (R's postPeriodMomentsOnly).
        rows = np.flatnonzero(np.any(A[:, num_pre:] != 0, axis=1))
        A = A[rows]
    gamma_inv = np.linalg.inv(_gamma(l_vec))
    post = A[:, num_pre:] @ gamma_inv
    cov = A @ sigma @ A.T
    sd = np.sqrt(np.maximum(np.diag(cov), 1e-20))
    moments = _Moments(A @ betahat, post[:, 0], post[:, 1:] if num_post > 1 else None, cov, sd)
    if moments.X is not None:
        moments.model = _eta_model(moments.X, sd)
    if hybrid:
        rng = np.random.default_rng(seed)
        draws = rng.multivariate_normal(np.zeros(len(sd)), cov, size=LF_SIMULATIONS)
        upper = np.max(draws / sd, axis=1)  # τ = 0 is feasible: η(ξ) ≤ max_j ξ_j/σ_j
        if moments.X is None:
            etas = upper
        else:
            etas = _largest_etas(draws, upper, moments.X, sd, kappa, moments.model)
        moments.lf_cv = float(np.quantile(etas, 1 - kappa))
    return moments


def _largest_etas(draws, upper, X, sd, kappa, model=None):
    """The LP values of the draws, exact where they decide the ``1-κ`` quantile.

    Draws are solved in decreasing order of their upper bound ``max_j ξ_j/σ_j``;
    once the bound falls below the smallest of the exact values that can reach the
    quantile, no remaining draw can change it and the rest keep their bound
    lowered to ``-inf`` (they lie below the quantile either way).
    """
    needed = int(np.floor(kappa * (len(draws) - 1))) + 2
    order = np.argsort(-upper)
    etas = np.full(len(draws), -np.inf)
    top: list[float] = []
    for i in order:
        if len(top) >= needed and upper[i] < sorted(top)[-needed]:
            break
        value = _eta_lp(draws[i], X, sd, model)[0]
        etas[i] = value
        top.append(value)
    return etas


def _bounds(S, c, Xbar, binding):
    """``[v_lo, v_up]``: the values of ``γ'Y`` for which the basis ``binding`` stays optimal."""
    inv = np.linalg.inv(Xbar[binding])
    other = ~binding
    a = Xbar[other] @ inv @ S[binding] - S[other]
    b = Xbar[other] @ inv @ c[binding] - c[other]
    # Feasibility of the non-binding moments: a_j + b_j z ≥ 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = -a / b
    vlo = np.max(ratio[b > 1e-12], initial=-np.inf)
    vup = np.min(ratio[b < -1e-12], initial=np.inf)
    return vlo, vup


# How far the LP value may exceed ``z`` and still count as ``z`` (of ``max(1, |z|)``).
_OPTIMAL_TOLERANCE = 1e-7


def _bounds_by_bisection(S, c, X, sd, eta):
    """``[v_lo, v_up]`` when the optimal basis is degenerate: the LP value stays ``z`` there.

    Along ``Y(z) = S + c z`` the LP value ``η(z)`` is convex with ``η(z) ≥ z``
    (``γ`` stays dual feasible and ``γ'Y(z) = z``), so the set where it equals
    ``z`` (within ``1e-7·max(1, |z|)``) is an interval around ``eta``. This is the
    reference search for its ends, by doubling and bisection (about a hundred LPs
    per end); :func:`_bounds_degenerate` finds the same ends with one or two LPs.
    """

    def optimal(z):
        value, _ = _eta_lp(S + c * z, X, sd)
        return abs(value - z) <= _OPTIMAL_TOLERANCE * max(1.0, abs(z))

    def edge(direction):
        step = max(1.0, abs(eta))
        inner, outer = eta, eta + direction * step
        for _ in range(60):  # find a point where the basis is no longer optimal
            if not optimal(outer):
                break
            inner, outer = outer, outer + direction * step
            step *= 2
        else:
            return direction * np.inf
        for _ in range(50):
            mid = (inner + outer) / 2
            inner, outer = (mid, outer) if optimal(mid) else (inner, mid)
        return inner

    return edge(-1.0), edge(1.0)


def _edge_lp(S, c, X, sd, direction, absolute, relative):
    """The farthest ``z`` in ``direction`` with ``η(z) ≤ z + absolute + relative·z``.

    ``η(z) ≤ t`` holds exactly when some ``τ`` has ``S + c z - X τ ≤ sd t``, so the
    end is itself an LP in ``(z, τ)``. Returns ``±inf`` when unbounded and None when
    HiGHS gives neither an optimum nor unboundedness.
    """
    k = X.shape[1]
    A = np.column_stack([c - sd * (1.0 + relative), -X])
    result = highs.solve(np.r_[-direction, np.zeros(k)], A, sd * absolute - S)
    if result.status == 0:
        return float(result.x[0])
    if result.status == 3:  # unbounded: the basis stays optimal for ever
        return direction * np.inf
    return None


def _bounds_degenerate(S, c, X, sd, eta):
    """:func:`_bounds_by_bisection`'s interval, each end as one LP (two across ``|z| = 1``).

    The tolerance ``1e-7·max(1, |z|)`` is linear on each side of ``|z| = 1``: the end
    is first found with the constant part; if it lies beyond ``±1`` it is found again
    with the part that holds there. An end HiGHS cannot settle is left to the search.
    """
    ends = []
    for direction in (-1.0, 1.0):
        z = _edge_lp(S, c, X, sd, direction, _OPTIMAL_TOLERANCE, 0.0)
        if z is not None and np.isfinite(z) and abs(z) > 1.0:
            z = _edge_lp(S, c, X, sd, direction, 0.0, np.sign(z) * _OPTIMAL_TOLERANCE)
        ends.append(z)
    if any(z is None for z in ends):
        return _bounds_by_bisection(S, c, X, sd, eta)
    return ends[0], ends[1]


def _accepts(m: _Moments, theta: float, alpha: float, hybrid: bool, kappa: float) -> bool:
    """Does the (hybrid) ARP test accept ``θ = theta`` for this polyhedron?"""
    Y = m.base - m.slope * theta
    size = (alpha - kappa) / (1 - kappa) if hybrid else alpha
    if m.X is None:
        standardized = Y / m.sd
        j = int(np.argmax(standardized))
        eta = float(standardized[j])
        if hybrid and eta > m.lf_cv:
            return False
        gamma = np.zeros(len(Y))
        gamma[j] = 1.0 / m.sd[j]
        binding = np.zeros(len(Y), bool)
        binding[j] = True
        Xbar = m.sd[:, None]
    else:
        eta, gamma = _eta_lp(Y, m.X, m.sd, m.model)
        if gamma is None:
            return True
        if hybrid and eta > m.lf_cv:
            return False
        binding = gamma > 1e-6
        Xbar = np.column_stack([m.sd, m.X])
    variance = float(gamma @ m.cov @ gamma)
    if variance <= np.finfo(float).eps:
        return not eta > 0
    c = m.cov @ gamma / variance
    S = Y - c * float(gamma @ Y)
    nondegenerate = binding.sum() == Xbar.shape[1] and (
        np.linalg.matrix_rank(Xbar[binding]) == Xbar.shape[1]
    )
    if nondegenerate:
        vlo, vup = _bounds(S, c, Xbar, binding)
    else:
        vlo, vup = _bounds_degenerate(S, c, m.X, m.sd, eta)
    if hybrid:
        vup = min(vup, m.lf_cv)
    sd_gamma = np.sqrt(variance)
    stat, zlo, zup = eta / sd_gamma, vlo / sd_gamma, vup / sd_gamma
    if not zlo - 1e-9 <= stat <= zup + 1e-9:
        return True
    critical = max(0.0, _truncated_normal_quantile(1 - size, zlo, zup))
    return not stat > critical


def _rm_grid(betahat, sigma, num_pre, l_vec, m_bar, grid_points, grid_lb, grid_ub):
    post = slice(num_pre, None)
    sd_theta = float(np.sqrt(l_vec @ sigma[post, post] @ l_vec))
    max_pre = float(np.max(np.abs(np.diff(np.r_[betahat[:num_pre], 0.0]))))
    centre = float(betahat[post] @ l_vec)
    half = m_bar * (np.arange(1, len(l_vec) + 1) @ np.abs(l_vec)) * max_pre + 20 * sd_theta
    lb = centre - half if grid_lb is None else grid_lb
    ub = centre + half if grid_ub is None else grid_ub
    return np.linspace(lb, ub, grid_points)


def rm_accept_grid(
    betahat,
    sigma,
    num_pre_periods,
    num_post_periods,
    m_bar,
    l_vec=None,
    alpha=0.05,
    method="C-LF",
    grid_points=1000,
    grid_lb=None,
    grid_ub=None,
    seed=0,
    polyhedra: list[tuple[int, bool]] | None = None,
    search: str = "grid",
) -> tuple[np.ndarray, np.ndarray]:
    """The ``θ̄`` grid and, per polyhedron ``(s, positive)``, which values are accepted.

    Returns the grid and a ``grid_points × polyhedra`` boolean array; the robust
    confidence set is the union over the columns. ``polyhedra`` restricts the
    union (default: every ``s`` and sign). ``search="bisection"`` finds the
    accepted intervals with a fraction of the tests (:func:`_search`).
    """
    grid, tests = _rm_tests(
        betahat,
        sigma,
        num_pre_periods,
        num_post_periods,
        m_bar,
        l_vec,
        alpha,
        method,
        grid_points,
        grid_lb,
        grid_ub,
        seed,
        polyhedra,
    )
    accept = np.zeros((len(grid), len(tests)), bool)
    for column, test in enumerate(tests):
        accept[:, column] = _search(test, len(grid), search)
    return grid, accept


def _rm_tests(
    betahat,
    sigma,
    num_pre_periods,
    num_post_periods,
    m_bar,
    l_vec,
    alpha,
    method,
    grid_points,
    grid_lb,
    grid_ub,
    seed,
    polyhedra,
):
    """The ``θ̄`` grid and, per polyhedron, the test of grid point ``i`` (a function of ``i``)."""
    betahat, sigma, l_vec = _check(betahat, sigma, num_pre_periods, num_post_periods, l_vec)
    if num_pre_periods < 2:
        raise EstimationError("relative magnitudes need at least two pre-periods")
    if method not in ("C-LF", "Conditional"):
        raise EstimationError(f"method must be 'C-LF' or 'Conditional', got {method!r}")
    hybrid, kappa = method == "C-LF", alpha / 10
    grid = _rm_grid(betahat, sigma, num_pre_periods, l_vec, m_bar, grid_points, grid_lb, grid_ub)
    if polyhedra is None:
        polyhedra = [(s, sign) for s in range(-(num_pre_periods - 1), 1) for sign in (True, False)]
    tests = []
    for s, positive in polyhedra:
        A = _rm_polyhedron(num_pre_periods, num_post_periods, m_bar, s, positive)
        m = _moments(A, betahat, sigma, num_pre_periods, l_vec, hybrid, kappa, seed)

        def test(i, m=m):
            return _accepts(m, grid[i], alpha, hybrid, kappa)

        tests.append(test)
    return grid, tests


def _search(test, n: int, search: str, stride: int = 25) -> np.ndarray:
    """Which of ``n`` grid points ``test`` accepts: every point, or by bisection.

    ``search="bisection"`` tests every ``stride``-th point and then bisects between
    each accepted and rejected neighbour: the same answer as testing every point
    when the accepted points form intervals no shorter than the stride (as they do
    for these convex polyhedra in practice), at a fraction of the cost.
    """
    if search == "grid":
        return np.array([test(i) for i in range(n)])
    known: dict[int, bool] = {}

    def at(i):
        if i not in known:
            known[i] = test(i)
        return known[i]

    coarse = sorted(set(range(0, n, stride)) | {n - 1})
    accepted = np.zeros(n, bool)
    for left, right in zip(coarse[:-1], coarse[1:], strict=True):
        a, b = at(left), at(right)
        if a == b:
            accepted[left : right + 1] = a
            continue
        lo, hi = left, right  # at(lo) == a, at(hi) == b: find the switch
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if at(mid) == a else (lo, mid)
        accepted[left : lo + 1] = a
        accepted[hi : right + 1] = b
    return accepted


def _union_ends(tests, n: int, stride: int = 25) -> tuple[int, int] | None:
    """The first and last grid point of the union of :func:`_search`'s bisection answers.

    ``sensitivity_rm`` reports only the ends of the union over the polyhedra, so
    the coarse points and bisections between its ends need not be tested. From
    the left: the first coarse point that some polyhedron accepts; for each
    polyhedron accepting there, :func:`_search`'s bisection from the coarse
    point before it (rejected by every polyhedron) gives that polyhedron's first
    accepted point, and the union's is the smallest. A polyhedron that first
    accepts at a later coarse point first accepts after this one. The right end
    the same way. Every test is one :func:`_search` makes, so the ends are exactly
    those of the union of its answers. None when nothing is accepted.
    """
    coarse = sorted(set(range(0, n, stride)) | {n - 1})
    known: dict[tuple[int, int], bool] = {}

    def at(p, i):
        if (p, i) not in known:
            known[p, i] = bool(tests[p](i))
        return known[p, i]

    def switch(p, lo, hi, a):
        # _search's bisection between lo (answer a) and hi (the other answer).
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if at(p, mid) == a else (lo, mid)
        return lo, hi

    def end(order, neighbour, pick):
        for k in order:
            hits = [p for p in range(len(tests)) if at(p, coarse[k])]
            if not hits:
                continue
            if neighbour(k) is None:
                return coarse[k]
            return pick(hits, k)
        return None

    first = end(
        range(len(coarse)),
        lambda k: None if k == 0 else coarse[k - 1],
        lambda hits, k: min(switch(p, coarse[k - 1], coarse[k], False)[1] for p in hits),
    )
    if first is None:
        return None
    last = end(
        range(len(coarse) - 1, -1, -1),
        lambda k: None if k == len(coarse) - 1 else coarse[k + 1],
        lambda hits, k: max(switch(p, coarse[k], coarse[k + 1], True)[0] for p in hits),
    )
    return first, last


def _refined_ends(arguments: tuple, grid: np.ndarray, ends: tuple, rounds: int):
    """The robust interval's ends searched again between each end and its rejected neighbour.

    ``arguments``: :func:`_rm_tests`'s (``grid_points``, ``grid_lb``, ``grid_ub`` at 8 to
    10). Each round puts a grid of the same number of points between the last
    value rejected by every polyhedron and the first accepted one (the end's side),
    and :func:`_union_ends` finds the union's end on it. An end at the edge of the
    grid stays there (the grid is too short; as R, the edge is reported).
    """
    lo_idx, hi_idx = ends
    lb, ub = float(grid[lo_idx]), float(grid[hi_idx])
    lb_out = float(grid[lo_idx - 1]) if lo_idx > 0 else None
    ub_out = float(grid[hi_idx + 1]) if hi_idx < len(grid) - 1 else None
    points = arguments[8]
    for _ in range(rounds):
        if lb_out is not None:
            fine, tests = _rm_tests(*arguments[:9], lb_out, lb, *arguments[11:], None)
            first = _union_ends(tests, len(fine))
            # The first accepted point of the finer grid (the old end is accepted).
            k = first[0] if first is not None else points - 1
            lb_out, lb = (float(fine[k - 1]) if k > 0 else lb_out), float(fine[k])
            if k == 0:
                lb_out = None
        if ub_out is not None:
            fine, tests = _rm_tests(*arguments[:9], ub, ub_out, *arguments[11:], None)
            last = _union_ends(tests, len(fine))
            k = last[1] if last is not None else 0
            ub, ub_out = float(fine[k]), (float(fine[k + 1]) if k < points - 1 else None)
    return lb, ub


def sensitivity_rm(
    betahat,
    sigma,
    num_pre_periods,
    num_post_periods,
    l_vec=None,
    m_bar_vec=None,
    alpha=0.05,
    method="C-LF",
    grid_points=1000,
    grid_lb=None,
    grid_ub=None,
    seed=0,
    search="grid",
    refine_ends: int = 0,
) -> pd.DataFrame:
    """Robust confidence sets under relative magnitudes ``Δ^RM(M̄)`` (module docstring).

    Parameters
    ----------
    betahat, sigma : event-study coefficients (pre then post, reference left out)
        and their covariance.
    num_pre_periods, num_post_periods : how many of ``betahat`` are pre and post.
    l_vec : weights of the target ``θ = l'τ_post``; default the average of the post periods.
    m_bar_vec : values of ``M̄``; default ``0, 0.2, …, 2``.
    alpha : level.
    method : "C-LF" (hybrid, R's default) or "Conditional".
    grid_points, grid_lb, grid_ub : the grid of ``θ̄`` tested (R's defaults).
    seed : seed of the least-favourable simulation.
    search : "grid" tests every grid point (as R); "bisection" the same answer faster.
    refine_ends : rounds of :func:`_refined_ends` (0: the grid's ends, as R). The
        grid's ends lie inside the confidence set by up to one grid step, and the
        grid's points sit at fixed multiples of the target's SD from its estimate:
        with 500 points over ±20 SD the interval at M̄ = 0 is 1.88 SD instead of the
        test's 1.96 SD on each side, whatever the data, so the robust interval is
        too narrow by that much. Each round narrows the uncertainty of an end to a
        ``1/(grid_points - 1)`` part of the previous.

    Returns
    -------
    DataFrame with columns m_bar, lb, ub (NaN when no value is accepted).
    """
    m_bar_vec = np.linspace(0, 2, 11) if m_bar_vec is None else np.asarray(m_bar_vec, float)
    rows = []
    for m_bar in m_bar_vec:
        arguments = (
            betahat,
            sigma,
            num_pre_periods,
            num_post_periods,
            m_bar,
            l_vec,
            alpha,
            method,
            grid_points,
            grid_lb,
            grid_ub,
            seed,
        )
        if search == "bisection" and grid_points >= 2:
            grid, tests = _rm_tests(*arguments, None)
            ends = _union_ends(tests, len(grid))
        else:
            grid, accept = rm_accept_grid(*arguments, search=search)
            union = np.flatnonzero(accept.any(axis=1))
            ends = (union[0], union[-1]) if len(union) else None
        if ends is None:
            lb, ub = np.nan, np.nan
        elif refine_ends:
            lb, ub = _refined_ends(arguments, grid, ends, refine_ends)
        else:
            lb, ub = grid[ends[0]], grid[ends[1]]
        rows.append({"m_bar": float(m_bar), "lb": float(lb), "ub": float(ub)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- smoothness (FLCI)


def _folded_normal_quantile(t: float, alpha: float) -> float:
    """``cv_α(t)``: the ``1-α`` quantile of ``|N(t, 1)|``."""
    t = abs(t)
    if t < 1e-10:
        return float(stats.norm.ppf(1 - alpha / 2))
    return float(np.sqrt(stats.ncx2.ppf(1 - alpha, df=1, nc=t * t)))


def flci(betahat, sigma, num_pre_periods, num_post_periods, m, l_vec=None, alpha=0.05):
    """The fixed-length confidence interval under ``Δ^SD(M)`` (module docstring).

    Returns
    -------
    dict with lb, ub, the optimal weights ``v``, worst-case bias and standard deviation.
    """
    betahat, sigma, l_vec = _check(betahat, sigma, num_pre_periods, num_post_periods, l_vec)
    n_pre, total = num_pre_periods, num_pre_periods + num_post_periods
    # Second differences over the periods -n_pre … n_post with δ at the reference fixed at 0.
    full = np.zeros((total - 1, total + 1))
    for r in range(total - 1):
        full[r, r : r + 3] = [1.0, -2.0, 1.0]
    D = np.delete(full, n_pre, axis=1)
    trend = np.r_[np.arange(-n_pre, 0), np.arange(1, num_post_periods + 1)].astype(float)
    solve_u = np.linalg.solve(D @ D.T, D)  # u = (D D')⁻¹ D v, exact when v ⊥ trend

    # Variables x = (w, t): v = (w, l); |u(v)| ≤ t elementwise; half-length of the
    # interval f = σ_v cv(M Σt / σ_v), convex in (w, t).

    def v_of(x):
        return np.r_[x[:n_pre], l_vec]

    def half_length(x):
        v = v_of(x)
        sd = float(np.sqrt(v @ sigma @ v))
        return sd * _folded_normal_quantile(m * x[n_pre:].sum() / sd, alpha)

    u_w, u_l = solve_u[:, :n_pre], solve_u[:, n_pre:] @ l_vec
    constraints = [
        {"type": "eq", "fun": lambda x: trend @ v_of(x)},
        {"type": "ineq", "fun": lambda x: x[n_pre:] - (u_w @ x[:n_pre] + u_l)},
        {"type": "ineq", "fun": lambda x: x[n_pre:] + (u_w @ x[:n_pre] + u_l)},
    ]
    # Start from the weights that remove the post-period trend extrapolated from the
    # last pre period (unbiased for linear trends).
    w0 = np.zeros(n_pre)
    w0[-1] = -(trend[n_pre:] @ l_vec) / trend[n_pre - 1]
    x0 = np.r_[w0, np.abs(u_w @ w0 + u_l) + 1e-6]
    best = None
    for start in (x0, np.r_[np.zeros(n_pre) + w0.sum() / n_pre, np.abs(u_l) + 1.0]):
        if abs(trend @ v_of(start)) > 1e-9:
            start = x0
        result = optimize.minimize(
            half_length,
            start,
            method="SLSQP",
            constraints=constraints,
            options={"ftol": 1e-13, "maxiter": 2000},
        )
        if best is None or result.fun < best.fun:
            best = result
    v = v_of(best.x)
    centre = float(v @ betahat)
    chi = half_length(best.x)
    return {
        "lb": centre - chi,
        "ub": centre + chi,
        "v": v,
        "bias": float(m * np.abs(solve_u @ v).sum()),
        "sd": float(np.sqrt(v @ sigma @ v)),
    }


def sensitivity_sd(
    betahat,
    sigma,
    num_pre_periods,
    num_post_periods,
    l_vec=None,
    m_vec=None,
    alpha=0.05,
) -> pd.DataFrame:
    """Fixed-length confidence intervals under smoothness ``Δ^SD(M)`` for each ``M``.

    Returns
    -------
    DataFrame with columns m, lb, ub.
    """
    if m_vec is None:
        sd_pre = float(np.sqrt(np.asarray(sigma)[0, 0]))
        m_vec = np.linspace(0, sd_pre, 10)
    rows = []
    for m in np.asarray(m_vec, float):
        result = flci(betahat, sigma, num_pre_periods, num_post_periods, m, l_vec, alpha)
        rows.append({"m": float(m), "lb": result["lb"], "ub": result["ub"]})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- breakdown


def breakdown_value(table: pd.DataFrame, parameter: str | None = None) -> float:
    """Smallest ``M̄`` (or ``M``) in ``table`` whose interval contains zero.

    ``inf`` when no interval in the table contains zero (the conclusion holds on the
    whole grid), ``0`` when the interval at the smallest value already does (no
    significant effect to break down). On a fine grid this is the breakdown value to
    the grid's resolution.
    """
    parameter = parameter or ("m_bar" if "m_bar" in table else "m")
    ordered = table.sort_values(parameter)
    # An empty confidence set (nothing accepted) is no evidence of an effect either.
    covers = ((ordered["lb"] <= 0) & (ordered["ub"] >= 0)) | ordered["lb"].isna()
    if not covers.any():
        return float("inf")
    return float(ordered[parameter].to_numpy()[np.argmax(covers.to_numpy())])


def event_study_inputs(dynamic, reference: int = -1):
    """``betahat``, ``sigma`` and the period counts from an event study (``aggte(..., "dynamic")``).

    The event study must come from ``att_gt(..., base_period="universal")`` so the
    pre-period coefficients are deviations from the reference period (R's advice for
    ``HonestDiD`` with ``did``); the reference itself is left out. ``sigma`` comes from
    the (clustered) influence functions.
    """
    table = dynamic.table
    events = table.iloc[:, 0].to_numpy()
    keep = events != reference
    inf = dynamic.influence[:, keep]
    sums = cluster_sums(inf, dynamic.clusters)
    sigma = sums.T @ sums / dynamic.n_units**2
    betahat = table["att"].to_numpy()[keep]
    num_pre = int((events[keep] < 0).sum())
    return betahat, sigma, num_pre, int(keep.sum()) - num_pre


__all__ = [
    "breakdown_value",
    "event_study_inputs",
    "flci",
    "original_ci",
    "rm_accept_grid",
    "sensitivity_rm",
    "sensitivity_sd",
]
