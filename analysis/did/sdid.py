"""Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens and Wager 2021).

*Synthetic Difference-in-Differences*, American Economic Review 111(12), 4088–4118.
For one block of ``N0`` comparison units and the treated units, observed in ``T0``
periods before treatment and ``T1`` after, the estimate is the weighted two-way
fixed-effects regression of the paper's equation (1),

    (τ̂, μ̂, α̂, β̂) = argmin Σ_i Σ_t (Y_it − μ − α_i − β_t − W_it τ)² ω̂_i λ̂_t,

which equals the double difference

    τ̂ = (Ȳ_tr,post − Σ_{t≤T0} λ̂_t Ȳ_tr,t) − Σ_{i≤N0} ω̂_i (Ȳ_i,post − Σ_{t≤T0} λ̂_t Y_it),

with ``Ȳ_tr,t`` the treated units' mean and ``Ȳ_·,post`` means over the post periods.
The unit weights (on the simplex, with an intercept ω₀) solve

    min Σ_{t≤T0} (ω₀ + Σ_i ω_i Y_it − Ȳ_tr,t)² + ζ² T0 ‖ω‖²,   ζ = (N1 T1)^{1/4} σ̂,

where ``σ̂`` is the standard deviation of the comparison units' first differences
before treatment and ``N1`` the number of treated units; the time weights solve the
same problem transposed (the comparison units' pre-period outcomes predicting their
post-period mean, intercept λ₀) with ``ζ_λ = 10⁻⁶ σ̂``. Both are solved as in the
authors' R package ``synthdid`` (its ``sc.weight.fw``): Frank–Wolfe with an exact line
search, stopped when an iteration lowers the objective by less than
``(10⁻⁵ σ̂)²``; after 100 iterations weights at most a quarter of the largest are set
to zero and the solver goes on from there (at most 10,000 iterations).

**Staggered adoption.** Units treated at different dates are handled as Clarke,
Pailañir, Athey and Imbens (2023, *Stata Journal*, "Synthetic difference-in-differences
estimation") do: each adoption cohort ``g`` is one block (its treated units against the
never-treated units, all periods, ``T0`` the periods before ``g``) and the cohort
estimates are averaged with weights proportional to the cohort's treated
observations after adoption. Here a cohort's treated units enter through their mean
only (as in the estimator above) and ``unit`` may group the rows: in the project the
comparison units are areas (the mean of their persons in each quarter) and a cohort
is the persons enrolled in one quarter (their mean in each quarter), so a cohort's
weight is its persons times its post periods, the weights of the Callaway–Sant'Anna
simple ATT.

**Inference** is the paper's placebo variance (its Algorithm 4, R's ``vcov(method =
"placebo")``), the only one of its three that applies with few treated units: in each
of ``placebo_reps`` draws a random permutation of the comparison units gives one of
them each cohort's adoption date (and weight), the rest are its comparison units, the
estimate is recomputed (the ζ's of the real fit, weights started from it, as R does),
and the variance is that of the placebo estimates. It assumes that the treated units'
errors have the comparison units' distribution (homoskedasticity across units), which
a mean over a cohort of a few persons against the mean of a whole comparison area does
not have.

**Reference distribution: Student t with N₀ − 1 degrees of freedom**, not the normal.
The interval is τ̂ ± t_{N₀−1, 1−α/2} σ̂_placebo and the p-value ``2 F_t(−|τ̂|/σ̂)``.
σ̂²_placebo is estimated from the ``N₀`` comparison units alone (each placebo draw
moves one of them into treatment; the draws resample the same ``N₀`` units), so it
has about ``N₀ − 1`` degrees of freedom however many draws are made, like a
cluster-robust variance with ``G`` clusters: with few clusters the studentized
estimate is referred to t with ``G − 1`` degrees of freedom (Donald and Lang 2007,
*Review of Economics and Statistics* 89(2), 221–233; Bester, Conley and Hansen 2011,
*Journal of Econometrics* 165(2), 137–151). With the project's few tens of
comparison areas the difference matters (at 20 units ``t₁₉ = 2.09`` against
``z = 1.96``): with the normal the interval over-rejected a true null in the size
benchmark (docs/evaluation.md, "Size and coverage"). R's ``synthdid`` and Stata's ``sdid`` use the normal (the paper's
asymptotics in ``N₀``); the standard error itself is theirs unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# scipy.special, not scipy.stats: t's quantile and tail for a fraction of the import time.
from scipy import special

from analysis.did.checks import EstimationError, NotEstimable, require_columns

# R synthdid's defaults (synthdid_estimate): time-weight regularisation, the solver's
# stopping rule relative to the noise level, its iteration limits.
ETA_LAMBDA = 1e-6
MIN_DECREASE = 1e-5
MAX_ITER = 10_000
MAX_ITER_PRE_SPARSIFY = 100
# R's vcov(method = "placebo") default.
PLACEBO_REPS = 200


def _sparsify(v: np.ndarray) -> np.ndarray:
    """R synthdid's ``sparsify_function`` on each row: drop weights ≤ max/4, renormalise."""
    v = np.where(v <= v.max(axis=1, keepdims=True) / 4, 0.0, v)
    return v / v.sum(axis=1, keepdims=True)


def frank_wolfe(
    A: np.ndarray,
    b: np.ndarray,
    zeta: float,
    start: np.ndarray | None,
    min_decrease: float,
    max_iter: int,
) -> np.ndarray:
    """Simplex weights ``x`` minimising ``ζ²‖x‖² + ‖A x − b‖²/n`` (``n`` rows; an intercept).

    R synthdid's ``sc.weight.fw`` with an intercept: the columns of ``[A b]`` are
    centred, then Frank–Wolfe steps with an exact line search from ``start``
    (uniform when None) until a step lowers the objective by less than
    ``min_decrease²`` or after ``max_iter`` steps. Solves a batch of problems of
    one shape at once (``A``: ``(B, n, k)``, ``b``: ``(B, n)``, ``start``:
    ``(B, k)``; the placebo draws), each stopped by its own rule, as if alone.
    """
    A = A - A.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    B, n, k = A.shape
    x = np.full((B, k), 1.0 / k) if start is None else np.array(start, dtype=float)
    out = x.copy()
    eta = n * zeta**2
    Ax = np.einsum("bnk,bk->bn", A, x)
    previous = np.full(B, np.inf)
    current = np.full(B, np.inf)
    active = np.arange(B)
    for step_count in range(max_iter):
        if step_count >= 2:
            done = previous - current <= min_decrease**2
            if done.any():
                # Finished problems leave the batch: the rest run on as if alone.
                out[active[done]] = x[done]
                keep = ~done
                active, A, b, x, Ax = active[keep], A[keep], b[keep], x[keep], Ax[keep]
                previous, current = previous[keep], current[keep]
                if active.size == 0:
                    return out
        rows = np.arange(active.size)
        half_grad = np.einsum("bn,bnk->bk", Ax - b, A) + eta * x
        i = np.argmin(half_grad, axis=1)
        d_x = -x
        d_x[rows, i] = 1.0 - x[rows, i]
        d_err = A[rows, :, i] - Ax
        denominator = np.einsum("bn,bn->b", d_err, d_err) + eta * np.einsum("bk,bk->b", d_x, d_x)
        # A vertex already reached (d_x = 0) is R's "return x": no step.
        moves = denominator > 0
        step = np.zeros(active.size)
        step[moves] = -np.einsum("bk,bk->b", half_grad[moves], d_x[moves]) / denominator[moves]
        step = np.clip(step, 0.0, 1.0)
        x = x + step[:, None] * d_x
        Ax = Ax + step[:, None] * d_err
        err = Ax - b
        previous = current
        current = zeta**2 * np.einsum("bk,bk->b", x, x) + np.einsum("bn,bn->b", err, err) / n
    out[active] = x
    return out


@dataclass
class _Block:
    """One cohort's matrix: comparison rows first, its treated mean last (periods in columns)."""

    g: float
    Y: np.ndarray
    T0: int
    weight: float
    persons: int
    zeta_omega: float = np.nan
    zeta_lambda: float = np.nan
    min_decrease: float = np.nan
    omega: np.ndarray | None = None
    lam: np.ndarray | None = None
    att: float = np.nan
    pre_periods: np.ndarray | None = None


def _fit(
    Y: np.ndarray,
    T0: int,
    zeta_omega: float,
    zeta_lambda: float,
    min_decrease: float,
    omega: np.ndarray | None = None,
    lam: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """τ̂, ω̂, λ̂ of a batch of blocks (``Y``: ``(B, N0 + 1, T)``, the treated row last), as
    R's ``synthdid_estimate`` with the weights started from ``omega`` and ``lam``."""
    N0 = Y.shape[1] - 1
    # R's collapsed form: pre periods and the mean of the post periods.
    Yc = np.concatenate([Y[..., :T0], Y[..., T0:].mean(axis=2, keepdims=True)], axis=2)
    A, b = Yc[:, :N0, :T0], Yc[:, :N0, T0]
    lam = frank_wolfe(A, b, zeta_lambda, lam, min_decrease, MAX_ITER_PRE_SPARSIFY)
    lam = frank_wolfe(A, b, zeta_lambda, _sparsify(lam), min_decrease, MAX_ITER)
    rows = Yc[..., :T0].transpose(0, 2, 1)
    A, b = rows[..., :N0], rows[..., N0]
    omega = frank_wolfe(A, b, zeta_omega, omega, min_decrease, MAX_ITER_PRE_SPARSIFY)
    omega = frank_wolfe(A, b, zeta_omega, _sparsify(omega), min_decrease, MAX_ITER)
    post = Y.shape[2] - T0
    unit = np.concatenate([-omega, np.ones((len(Y), 1))], axis=1)
    time = np.concatenate([-lam, np.full((len(Y), post), 1.0 / post)], axis=1)
    return np.einsum("bi,bit,bt->b", unit, Y, time), omega, lam


def _fit_block(block: _Block) -> None:
    """Fit one cohort with R synthdid's default regularisation (module docstring)."""
    N0, T = block.Y.shape[0] - 1, block.Y.shape[1]
    noise = np.diff(block.Y[:N0, : block.T0], axis=1).std(ddof=1)
    # One treated row (the cohort's mean), so N1 = 1 in ζ = (N1 T1)^{1/4} σ̂.
    block.zeta_omega = (T - block.T0) ** 0.25 * noise
    block.zeta_lambda = ETA_LAMBDA * noise
    block.min_decrease = MIN_DECREASE * noise
    att, omega, lam = _fit(
        block.Y[None], block.T0, block.zeta_omega, block.zeta_lambda, block.min_decrease
    )
    block.att, block.omega, block.lam = float(att[0]), omega[0], lam[0]


@dataclass
class SDIDResult:
    """Synthetic DiD estimate, its placebo standard error and interval, per cohort and overall.

    ``cohorts``: one row per adoption cohort (``g``, ``persons``, ``pre_periods``,
    ``post_periods``, ``weight`` (sums to one), ``att``); ``unit_weights`` and
    ``time_weights``: each cohort's ω̂ (index: comparison units) and λ̂ (index: pre
    periods); ``placebos``: the placebo estimates; ``df``: the degrees of freedom of
    the t reference of the interval and p-value, ``n_comparison − 1`` (module docstring).
    """

    att: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    alpha: float
    n_comparison: int
    df: int
    cohorts: pd.DataFrame
    placebos: np.ndarray = field(repr=False)
    unit_weights: dict = field(repr=False, default_factory=dict)
    time_weights: dict = field(repr=False, default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Tidy table: one row per cohort (estimate only) and the overall row with its interval."""
        overall = pd.DataFrame(
            [
                {
                    "g": "overall",
                    "persons": int(self.cohorts["persons"].sum()),
                    "weight": 1.0,
                    "att": self.att,
                    "se": self.se,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "p_value": self.p_value,
                }
            ]
        )
        return pd.concat([self.cohorts.astype({"g": object}), overall], ignore_index=True)


def _matrix(
    data: pd.DataFrame, yname: str, tname: str, idname: str, gname: str, unit: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The comparison units' and the cohorts' mean outcome per period, and each cohort's persons."""
    never = data[gname] == 0
    comparison = data.loc[never].groupby([unit, tname])[yname].mean().unstack(tname)
    cohorts = data.loc[~never].groupby([gname, tname])[yname].mean().unstack(tname)
    periods = sorted(set(comparison.columns) | set(cohorts.columns))
    comparison = comparison.reindex(columns=periods)
    # A comparison unit must be seen in every period (a balanced block, as the estimator needs).
    comparison = comparison.loc[comparison.notna().all(axis=1)]
    persons = data.loc[~never].groupby(gname)[idname].nunique()
    return comparison, cohorts.reindex(columns=periods), persons


def _blocks(comparison: pd.DataFrame, cohorts: pd.DataFrame, persons: pd.Series) -> list[_Block]:
    """Each cohort's block over the periods its mean is seen in; a cohort without two
    pre periods or a post period is left out (no block)."""
    blocks = []
    for g, series in cohorts.iterrows():
        seen = series.notna().to_numpy()
        periods = np.asarray(cohorts.columns)[seen]
        T0 = int((periods < g).sum())
        if T0 < 2 or T0 == len(periods):
            continue
        Y = np.vstack([comparison.to_numpy()[:, seen], series.to_numpy()[seen]])
        post = len(periods) - T0
        blocks.append(
            _Block(g, Y, T0, float(persons[g] * post), int(persons[g]), pre_periods=periods[:T0])
        )
    return blocks


def _placebo(blocks: list[_Block], n_comparison: int, reps: int, seed) -> np.ndarray:
    """Algorithm 4 of the paper for staggered cohorts (module docstring).

    As R's ``placebo_se``: a permutation of the comparison units; its last ``K``
    (``K`` cohorts) are the placebo-treated units, cohort ``k`` to the ``k``-th of
    them, the others are their comparison units in the permutation's order.
    """
    rng = np.random.default_rng(seed)
    kept = n_comparison - len(blocks)
    # All permutations first (R's order of draws), then each cohort's fits as one batch.
    orders = np.array([rng.permutation(n_comparison) for _ in range(reps)]).reshape(reps, -1)
    controls = orders[:, :kept]
    atts = []
    for k, block in enumerate(blocks):
        rows = np.column_stack([controls, orders[:, kept + k]])
        start = block.omega[controls]
        total = start.sum(axis=1, keepdims=True)
        # R's sum_normalize: uniform when the kept units had no weight.
        start = np.where(total > 0, start / np.where(total > 0, total, 1.0), 1.0 / kept)
        att, _, _ = _fit(
            block.Y[rows],
            block.T0,
            block.zeta_omega,
            block.zeta_lambda,
            block.min_decrease,
            omega=start,
            lam=np.tile(block.lam, (reps, 1)),
        )
        atts.append(att)
    weights = np.array([b.weight for b in blocks])
    return np.column_stack(atts) @ (weights / weights.sum()) if reps else np.empty(0)


def synthetic_did(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    unit: str | None = None,
    alpha: float = 0.05,
    placebo_reps: int = PLACEBO_REPS,
    seed: int | np.random.Generator | None = 0,
) -> SDIDResult:
    """Synthetic DiD of a staggered adoption, with the placebo standard error (module docstring).

    ``τ̂ = Σ_g w_g τ̂_g``, ``w_g ∝ persons_g × T1_g``, where each cohort's
    ``τ̂_g = (Ȳ_g,post − Σ_t λ̂_t Ȳ_g,t) − Σ_i ω̂_i (Ȳ_i,post − Σ_t λ̂_t Y_it)`` is the
    weighted two-way fixed-effects estimate of the paper's equation (1) on the block
    of the comparison units and the cohort's mean, ``t`` over its pre periods.

    Parameters
    ----------
    data : long panel, one row per ``idname`` and period (or more, they are averaged).
    yname, tname, idname : outcome, period (numeric) and person (or unit) id columns.
    gname : the period of adoption, 0 for never-treated rows; constant within ``idname``.
    unit : column grouping the never-treated rows into comparison units (each unit's
        mean outcome per period is one row of the estimator; every unit must be seen
        in every period); default ``idname``. Treated rows are grouped by ``gname``.
    alpha : level of the interval τ̂ ± t_{N₀−1, 1−α/2} σ̂_placebo (``N₀`` comparison units).
    placebo_reps : placebo draws of Algorithm 4 (R's default: 200).
    seed : seed or generator of the placebo permutations.

    Returns
    -------
    SDIDResult

    Raises
    ------
    EstimationError
        A missing or non-numeric column, a negative adoption period, ``alpha`` not in (0, 1).
    NotEstimable
        No treated or no comparison unit, no cohort with two pre periods and a post
        period, or no more comparison units than cohorts (the placebo needs them).
    """
    unit = unit or idname
    _check_arguments(data, yname, tname, idname, gname, unit, alpha)
    comparison, cohorts, persons = _matrix(data, yname, tname, idname, gname, unit)
    blocks = _usable_blocks(comparison, cohorts, persons)
    for block in blocks:
        _fit_block(block)
    placebos = _placebo(blocks, len(comparison), placebo_reps, seed)
    return _result(blocks, placebos, alpha, comparison.index, cohorts.columns)


def _check_arguments(data, yname, tname, idname, gname, unit, alpha) -> None:
    """Refuse, by name, a missing or non-numeric column, a negative or varying adoption
    period and a level outside (0, 1)."""
    require_columns(data, yname=yname, tname=tname, idname=idname, gname=gname, unit=unit)
    if (data[gname] < 0).any():
        raise EstimationError(f"gname={gname!r} must be 0 (never treated) or a period")
    if not 0 < alpha < 1:
        raise EstimationError(f"alpha must be in (0, 1), got {alpha}")
    if (data.groupby(idname)[gname].nunique() > 1).any():
        raise EstimationError(f"gname={gname!r} must be constant within {idname!r}")


def _usable_blocks(comparison: pd.DataFrame, cohorts: pd.DataFrame, persons: pd.Series):
    """The cohorts' blocks, or :class:`NotEstimable` with the reason there are none to use."""
    if cohorts.empty:
        raise NotEstimable("no_treated", "no treated rows (gname > 0)")
    if comparison.empty:
        raise NotEstimable("no_comparison", "no comparison unit seen in every period")
    blocks = _blocks(comparison, cohorts, persons)
    if not blocks:
        raise NotEstimable("no_pre_period", "no cohort with two pre periods and a post period")
    if len(comparison) <= len(blocks):
        raise NotEstimable(
            "no_comparison",
            f"{len(comparison)} comparison units for {len(blocks)} cohorts: the placebo "
            "variance needs more comparison units than cohorts",
        )
    return blocks


def _result(blocks: list[_Block], placebos: np.ndarray, alpha: float, names, periods):
    """The weighted mean of the cohorts' estimates with its placebo SE, its t interval
    and p-value (N₀ − 1 degrees of freedom, module docstring) and tables."""
    total = sum(b.weight for b in blocks)
    att = sum(b.att * b.weight / total for b in blocks)
    # sqrt((B − 1)/B) × sd, as R's placebo_se: the SD with divisor B.
    se = float(placebos.std())
    # The placebo variance has the comparison units' degrees of freedom, not the draws'.
    df = len(names) - 1
    critical = float(special.stdtrit(df, 1 - alpha / 2))
    table = pd.DataFrame(
        {
            "g": [b.g for b in blocks],
            "persons": [b.persons for b in blocks],
            "pre_periods": [b.T0 for b in blocks],
            "post_periods": [b.Y.shape[1] - b.T0 for b in blocks],
            "weight": [b.weight / total for b in blocks],
            "att": [b.att for b in blocks],
        }
    )
    return SDIDResult(
        att=att,
        se=se,
        ci_low=att - critical * se,
        ci_high=att + critical * se,
        p_value=float(2 * special.stdtr(df, -abs(att / se))) if se > 0 else float("nan"),
        alpha=alpha,
        n_comparison=len(names),
        df=df,
        cohorts=table,
        placebos=placebos,
        unit_weights={b.g: pd.Series(b.omega, index=names) for b in blocks},
        time_weights={b.g: pd.Series(b.lam, index=b.pre_periods) for b in blocks},
    )
