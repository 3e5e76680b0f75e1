"""Inference beyond the analytic: the few-treated-areas test and interval, the wild
cluster bootstrap, randomization inference and the minimum detectable effect
(pre-trend sensitivity: :mod:`analysis.did.honestdid`).

With only three intervention areas, area-clustered analytic standard errors are
unreliable, and so is randomization inference that lets the intervention areas into
its null. :func:`area_placebo_test` compares the studentized estimate with placebo
estimates in which comparison areas only play the intervention areas (Conley and
Taber 2011), with placebos reweighted to the intervention households' baseline levels
and the statistic studentized by each group's own baseline scale: the intervention
households respond more to the same area shock, the heteroskedasticity across groups
that Ferman and Pinto (2019) show breaks Conley–Taber; docs/evaluation.md says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np
import pandas as pd
from scipy import stats

from analysis.did.aggte import aggte
from analysis.did.attgt import att_gt
from analysis.did.checks import EstimationError, NotEstimable, require_columns
from analysis.did.panel import chunks, codes, constant_within, first_rows

WEBB = np.array([-np.sqrt(1.5), -1, -np.sqrt(0.5), np.sqrt(0.5), 1, np.sqrt(1.5)])


def _two_way_demean(
    values: np.ndarray,
    unit: np.ndarray,
    time: np.ndarray,
    tol: float = 1e-13,
    max_iter: int = 10_000,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Residual of ``values`` on unit and period dummies, (weighted) least squares.

    Alternating projections: exact when the panel is balanced, converging to the
    exact residual otherwise. With ``weights`` each projection takes weighted means.
    The passes over the rows run in chunks and subtract in place, so a panel of a
    hundred million rows needs the result and a few chunk-sized arrays beside it.
    """
    out = np.array(values, dtype=float)
    n_unit, n_time = int(unit.max()) + 1, int(time.max()) + 1
    w = None if weights is None else np.asarray(weights, dtype=float)
    count_unit = _group_sums(unit, None, w, n_unit)
    count_time = _group_sums(time, None, w, n_time)
    present = count_time > 0
    for _ in range(max_iter):
        _subtract(out, unit, _group_sums(unit, out, w, n_unit) / count_unit)
        shift = _group_sums(time, out, w, n_time) / count_time
        _subtract(out, time, shift)
        # The largest shift of a row is the largest shift of a period that has rows.
        if np.max(np.abs(shift[present])) < tol:
            break
    return out


def _projected_cross_products(y, d, unit, time, groups, G) -> np.ndarray:
    """``K[h, g] = Σ_{i∈h} d̈_i [M_FE(ÿ ∘ 1_g)]_i`` for the wild cluster bootstrap.

    When every unit lies in one cluster (units nested in clusters, as persons in
    areas), ``ÿ ∘ 1_g`` keeps zero unit means, and by Frisch–Waugh–Lovell the
    period effects are the only ones to project again: with ``Q̃`` the unit-demeaned
    period dummies, ``M_FE(ÿ ∘ 1_g) = ÿ ∘ 1_g - Q̃ (Q̃'Q̃)⁺ Q̃'(ÿ ∘ 1_g)``, and
    ``Q̃'(ÿ ∘ 1_g)`` is the sum of ÿ over cluster g by period (ÿ sums to zero within
    a unit). So ``K = diag(Σ_g d̈ÿ) - D' (Q̃'Q̃)⁺ E`` with ``D``, ``E`` the
    period × cluster sums of ``d̈`` and ``ÿ``, and
    ``Q̃'Q̃ = diag(N_t) - Σ_i o_i o_i' / T_i`` (``o_i``: the periods unit ``i`` is
    observed in, ``T_i`` their number): O(rows × periods), no projection per
    cluster. Otherwise each ``r_g`` is projected by alternating projections.
    """
    n_units, T = int(unit.max()) + 1, int(time.max()) + 1
    if not constant_within(groups, unit, first_rows(unit, n_units)):
        K = np.empty((G, G))
        for g in range(G):
            r = _two_way_demean(np.where(groups == g, y, 0.0), unit, time)
            K[:, g] = np.bincount(groups, d * r, G)
        return K
    D = np.zeros((T, G))
    E = np.zeros((T, G))
    for part in chunks(len(d)):
        np.add.at(D, (time[part], groups[part]), d[part])
        np.add.at(E, (time[part], groups[part]), y[part])
    # Which periods each unit has, one byte a cell; the Gram matrix from blocks of
    # units (a units × periods float matrix and its scaled copy were most of the
    # bootstrap's memory on a national panel).
    observed = np.zeros((n_units, T), bool)
    for part in chunks(len(unit)):
        observed[unit[part], time[part]] = True
    periods_of_unit = observed.sum(axis=1)
    gram = np.diag(observed.sum(axis=0).astype(float))
    for block in chunks(n_units, T):
        cells = observed[block].astype(float)
        gram -= (cells / periods_of_unit[block, None]).T @ cells
    # The period dummies sum to the unit dummies: one is left out (the reference),
    # which changes no projection (the columns of D and E sum to zero over periods).
    return np.diag(_cluster_sums(groups, G, d, y)) - D[1:].T @ np.linalg.solve(gram[1:, 1:], E[1:])


def _cluster_sums(groups, G: int, d, y, beta: float | None = None) -> np.ndarray:
    """``np.bincount(groups, d * y, G)``, or of ``d * (y - beta d)``, chunk by chunk.

    ``np.add.at`` adds row by row in order, as ``bincount`` does, so the chunks give
    the same sums to the last bit without a product array of the panel's length.
    """
    total = np.zeros(G)
    for part in chunks(len(d)):
        x = y[part] if beta is None else y[part] - beta * d[part]
        np.add.at(total, groups[part], d[part] * x)
    return total


def _group_sums(codes, values, w, n) -> np.ndarray:
    """``np.bincount(codes, w * values, n)`` (values or weights may be None), by chunks."""
    total = np.zeros(n)
    for part in chunks(len(codes)):
        if values is None:
            weight = None if w is None else w[part]
        else:
            weight = values[part] if w is None else w[part] * values[part]
        total += np.bincount(codes[part], weight, n)
    return total


def _subtract(out, codes, means) -> None:
    for part in chunks(len(out)):
        out[part] -= means[codes[part]]


@dataclass
class WildBootstrapResult:
    """Wild cluster bootstrap (WCR) test of β = 0 for the TWFE coefficient."""

    att: float
    t_stat: float
    p_value: float
    n_clusters: int
    reps: int
    weights: str
    t_star: np.ndarray | None = None  # the replications' t statistics


def wild_bootstrap(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    treatname: str,
    cluster: str,
    reps: int = 999,
    seed: int = 0,
    weight_type: str = "webb",
    draws: np.ndarray | None = None,
) -> WildBootstrapResult:
    """Restricted wild cluster bootstrap p-value for the TWFE treatment coefficient.

    After absorbing unit and period effects (Frisch–Waugh–Lovell), ``ÿ = β d̈ + ü``.
    Under H0: β = 0 the restricted residuals are ``ÿ``; replication ``b`` draws one
    weight per cluster (Webb six-point or Rademacher), sets ``y* = ÿ ∘ v`` and fits
    the *whole* model again: ``β* = d̈'y* / d̈'d̈`` and residuals
    ``û* = M_FE y* - β* d̈``. ``y*`` is no longer orthogonal to the period effects
    (they are not nested in the clusters), so its residual must be projected again;
    leaving that out (``û* = y* - β* d̈``) keeps ``β*`` and the observed ``t`` but
    biases every bootstrap standard error, and the p-values then disagree with
    wildboottest. The cluster-robust t statistic (CR1) of each replication is
    compared with the observed one: ``p = #{|t*| ≥ |t|} / B``.

    ``draws`` (replications × clusters, clusters in sorted order of their values)
    replaces the random weights, e.g. to replay another implementation's draws.
    """
    require_columns(
        data, yname=yname, tname=tname, idname=idname, treatname=treatname, cluster=cluster
    )
    # pd.factorize's codes (clusters sorted: the draws' columns), in the smallest
    # integer type, without a hash table of the rows (analysis/did/panel.py).
    unit = codes(data[idname])[0]
    time = codes(data[tname])[0]
    groups, levels = codes(data[cluster], sort=True)
    G = len(levels)
    if G < 2:
        raise NotEstimable(
            "too_few_clusters", "the wild cluster bootstrap needs at least two clusters"
        )
    y = _two_way_demean(data[yname].to_numpy(float), unit, time)
    # The 0/1 column as it is: the demeaning makes its one float copy.
    d = _two_way_demean(data[treatname].to_numpy(), unit, time)
    dd = d @ d
    n, k = len(y), int(unit.max()) + int(time.max()) + 2

    correction = G / (G - 1) * (n - 1) / (n - k)
    # Every replication is linear in the cluster weights v: M_FE(ÿ ∘ v) = Σ_g v_g r_g
    # with r_g = M_FE(ÿ ∘ 1_g), so with K[h, g] = Σ_{i∈h} d̈_i r_{g,i} the score of
    # cluster h is Σ_g K[h, g] v_g - β* b_h (b_h = Σ_{i∈h} d̈_i²) and
    # β* = Σ_g v_g a_g / d̈'d̈ with a_g = Σ_h K[h, g]: a replication costs O(clusters²).
    K = _projected_cross_products(y, d, unit, time, groups, G)
    a = K.sum(axis=0)
    b = _cluster_sums(groups, G, d, d)

    def t_stats(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        beta = (v @ a) / dd
        scores = v @ K.T - beta[..., None] * b
        se = np.sqrt(correction * (scores**2).sum(axis=-1)) / dd
        return beta, beta / se

    # The observed statistic from the data (v = 1 gives the same up to rounding).
    beta = float(d @ y / dd)
    se0 = np.sqrt(correction * (_cluster_sums(groups, G, d, y, beta) ** 2).sum()) / dd
    t0 = beta / se0
    if draws is None:
        rng = np.random.default_rng(seed)
        draws = np.empty((reps, G))
        for r in range(reps):
            draws[r] = rng.choice(WEBB, G) if weight_type == "webb" else rng.choice([-1.0, 1.0], G)
    draws = np.asarray(draws, dtype=float)
    if draws.ndim != 2 or draws.shape[1] != G:
        raise EstimationError(f"draws must have one column per cluster ({G})")
    reps = draws.shape[0]
    _, t_star = t_stats(draws)
    exceed = int(np.sum(np.abs(t_star) >= abs(t0)))
    return WildBootstrapResult(
        float(beta), float(t0), exceed / reps, int(G), reps, weight_type, t_star
    )


@dataclass
class RandomizationResult:
    """Randomization inference for the simple ATT of ``att_gt``."""

    att: float
    p_value: float
    permutations: int
    level: str
    distribution: np.ndarray


def randomization_inference(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    level: str = "unit",
    area: str | None = None,
    permutations: int = 199,
    seed: int = 0,
    control_group: str = "nevertreated",
) -> RandomizationResult:
    """Permutation p-value for the simple ATT: reassign which units (or areas) are treated.

    ``level="unit"`` shuffles the cohorts ``gname`` across units; ``level="area"``
    picks as many areas as were treated, at random, and gives their units the
    treated units' cohorts in random order. The p-value counts the observed
    statistic itself: ``(1 + #{|ATT*| ≥ |ATT|}) / (1 + permutations)``.
    """
    require_columns(data, yname=yname, tname=tname, idname=idname, gname=gname, area=area)
    observed = aggte(
        att_gt(data, yname, tname, idname, gname, control_group=control_group), "simple"
    ).overall_att
    units = data.drop_duplicates(idname)[[idname, gname] + ([area] if area else [])].reset_index(
        drop=True
    )
    rng = np.random.default_rng(seed)
    draws = []
    if level == "area":
        if area is None:
            raise EstimationError("level='area' needs the area column")
        treated_areas = units.loc[units[gname] > 0, area].unique()
        all_areas = units[area].unique()
        if comb(len(all_areas), len(treated_areas)) < 20:
            raise NotEstimable(
                "too_few_clusters", "too few areas for area-level randomization inference"
            )
        cohorts = units.loc[units[gname] > 0, gname].to_numpy()
    for _ in range(permutations):
        if level == "unit":
            new_g = rng.permutation(units[gname].to_numpy())
        else:
            chosen = rng.choice(all_areas, len(treated_areas), replace=False)
            in_chosen = units[area].isin(chosen).to_numpy()
            new_g = np.zeros(len(units))
            new_g[in_chosen] = rng.choice(cohorts, in_chosen.sum(), replace=True)
        mapping = pd.Series(new_g, index=units[idname])
        permuted = data.assign(**{gname: data[idname].map(mapping).to_numpy()})
        try:
            draws.append(
                aggte(
                    att_gt(permuted, yname, tname, idname, gname, control_group=control_group),
                    "simple",
                ).overall_att
            )
        except EstimationError:
            continue
    draws = np.array(draws)
    p_value = (1 + np.sum(np.abs(draws) >= abs(observed))) / (1 + len(draws))
    return RandomizationResult(float(observed), float(p_value), len(draws), level, draws)


def mde(
    se: float,
    alpha: float = 0.05,
    power: float = 0.8,
    scale_to: float | None = None,
    n_now: float | None = None,
) -> float:
    """Minimum detectable effect of a two-sided test: ``(z_{1-α/2} + z_{power}) × SE``.

    With ``scale_to`` and ``n_now`` the standard error is rescaled to a sample of
    ``scale_to`` treated units (``SE × sqrt(n_now / scale_to)``), for example the
    planned 180 households.
    """
    if scale_to is not None and n_now:
        se = se * np.sqrt(n_now / scale_to)
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se)


def pseudo_cohorts(households: pd.DataFrame, gname: str, area: str, hhname: str) -> pd.DataFrame:
    """Each household's enrolment quarter were its area the intervention area.

    Households of an intervention area keep their own quarter. Households of a
    comparison area get the intervention households' quarters in the same
    proportions, in the order of their pseudonymous id (the order carries no
    information), so a pseudo-treated area enrols like the real ones did.
    """
    treated = np.sort(households.loc[households[gname] > 0, gname].to_numpy())
    if len(treated) == 0:
        raise NotEstimable("no_treated", "no treated households")
    out = households[[hhname, area, gname]].copy()
    intervention_areas = out.loc[out[gname] > 0, area].unique()
    comparison = (out[gname] == 0) & ~out[area].isin(intervention_areas)
    for _, part in out.loc[comparison].groupby(area):
        order = part.sort_values(hhname).index
        share = (np.arange(len(order)) + 0.5) / len(order)
        out.loc[order, gname] = treated[
            np.minimum((share * len(treated)).astype(int), len(treated) - 1)
        ]
    return out


@dataclass
class AreaTestResult:
    """Studentized placebo-area test of the simple ATT and its area-robust interval."""

    att: float
    se: float  # the studentizer (see area_placebo_test): the interval is att ± c se
    t_stat: float
    p_value: float
    ci: tuple[float, float]
    critical_value: float  # |t| beyond which the test rejects at ``alpha``
    alpha: float
    placebos: int
    enumerated: bool
    n_areas: int
    n_treated_areas: int
    distribution: np.ndarray  # placebo t statistics (pre-enrolment tests: every window's)
    placebo_att: np.ndarray  # placebo estimates
    placebo_areas: np.ndarray | None = None  # the areas (as text) of each placebo, a row each
    se_household: float | None = None  # household-clustered SE of att (not robust to area shocks)
    studentizer: str = "baseline"
    # With ``event_times``: every assignment's (observed first) universal-base event study,
    # a column per event time, and its studentizer (area_placebo_test).
    event_vectors: np.ndarray | None = None
    scales: np.ndarray | None = None

    def event_covariance(self, target: np.ndarray | None = None) -> np.ndarray:
        """Area-robust covariance of the observed event-study vector (``event_times``).

        ``V = s₀² · mean_S(τ_S τ_S')`` with ``τ_S = β̂_S / s_S`` the placebo ``S``'s event
        study over its studentizer: the area test's reference distribution of ``θ̂ / s``
        extended to the vector, scaled by the observed assignment's ``s₀`` as the area
        test scales its critical value. Uncentred, as the test refers ``t`` to the
        placebos' ``t_S`` about zero. Placebos with an event time they cannot estimate
        are left out.

        With ``target`` (weights ``l`` over the event times with ``l'β̂`` the tested
        simple ATT) ``V`` is rescaled so that the normal interval of ``l'β̂``,
        ``± z₁₋α/₂ √(l'Vl)``, is the test's area-robust interval ``± c s₀``: the
        placebos' t statistics have heavier tails than the normal (a scale estimated
        from a few baseline quarters, about 20 comparison areas), so a normal
        interval with the placebos' second moment is too narrow where the tails are
        heavy (self-support: 11.8 % rejections on 51 null extracts). The placebos
        give the shape (correlations, relative variances), the test's inversion the
        scale.
        """
        if self.event_vectors is None or self.scales is None:
            raise EstimationError("no event-study vectors: call with event_times")
        tau = self.event_vectors[1:] / self.scales[1:, None]
        tau = tau[np.isfinite(tau).all(axis=1)]
        V = float(self.scales[0]) ** 2 * (tau.T @ tau) / len(tau)
        if target is None:
            return V
        z = stats.norm.ppf(1 - self.alpha / 2)
        half = self.critical_value * self.se
        return V * (half / z) ** 2 / float(target @ V @ target)

    def mde(self, power: float = 0.8) -> float:
        """Minimum detectable effect of this test: ``(c + q_power(t*)) × SE``.

        An effect δ moves the statistic to about ``δ/SE + e`` with ``e`` distributed
        as the placebo statistics; it is detected with probability ``power`` when
        ``δ/SE`` exceeds the critical value by the ``power`` quantile of ``e`` (with
        normal ``e``: the familiar ``(z_{1-α/2} + z_power) × SE``).
        """
        return float((self.critical_value + np.quantile(self.distribution, power)) * self.se)


def _critical_value(distribution: np.ndarray, alpha: float) -> float:
    """The ``m``-th largest |t*|, ``m = ⌊α (B + 1)⌋``: ``p ≤ α`` exactly beyond it.

    ``p(x) = (1 + #{|t*| ≥ x}) / (B + 1) > α`` ⇔ ``#{|t*| ≥ x} ≥ m`` ⇔ ``x ≤`` the
    ``m``-th largest; with ``m = 0`` the test never rejects (infinite interval).
    """
    m = int(np.floor(alpha * (len(distribution) + 1) + 1e-9))
    if m == 0:
        return float("inf")
    return float(np.sort(np.abs(distribution))[::-1][m - 1])


def _household_mean(per_unit: np.ndarray, hh_of_unit: np.ndarray, H: int) -> np.ndarray:
    """Mean over a household's units of a per-unit value (NaN: the unit has none)."""
    has = ~np.isnan(per_unit)
    total = np.bincount(hh_of_unit[has], per_unit[has], H)
    count = np.bincount(hh_of_unit[has], minlength=H)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def _quantile_bins(value: np.ndarray, reference: np.ndarray, bins: int) -> np.ndarray:
    """Bin of each value at the ``bins``-quantiles of ``reference`` (ties merged; NaN: bin 0)."""
    known = ~np.isnan(value)
    ref = reference[~np.isnan(reference)]
    if bins < 2 or len(ref) == 0:
        return known.astype(int)
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    # side="left": a value equal to an edge (a discrete level) falls below it, so an
    # edge at a mass point separates the mass point from what lies above it.
    return np.where(known, 1 + np.searchsorted(edges, np.nan_to_num(value), side="left"), 0)


def _baseline_scale(
    Y,
    periods,
    first,
    hh_of_unit,
    H,
    role_weight,
    area_sums,
    treated_role,
    control_role,
) -> np.ndarray:
    """Each assignment's baseline scale: SD of its treated-minus-comparison mean outcome.

    Over the quarters before ``first`` (``q = 1 … Q``), ``D_q`` is the
    (weighted) mean outcome of the households in the treated role minus that of the
    comparison role, and the scale is the sample SD of ``D_1 … D_Q``: an area shock
    that moves a group's outcomes κ times as much moves its ``D_q`` and its estimate
    alike, so the ratio does not depend on κ.
    """
    before = np.flatnonzero(periods < first)
    if len(before) < 3:
        raise EstimationError(
            f"{len(before)} quarters in the baseline window: too few to studentize by "
            "(studentize='household' uses the household-clustered standard error)"
        )
    sums = np.zeros((H, len(before)))
    counts = np.zeros((H, len(before)))
    for j, q in enumerate(before):
        ok = ~np.isnan(Y[:, q])
        sums[:, j] = np.bincount(hh_of_unit[ok], Y[ok, q], H)
        counts[:, j] = np.bincount(hh_of_unit[ok], minlength=H)
    treated_sums = area_sums(sums * role_weight[:, None])
    treated_counts = area_sums(counts * role_weight[:, None])
    all_sums, all_counts = area_sums(sums), area_sums(counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = (treated_role @ treated_sums) / (treated_role @ treated_counts) - (
            control_role @ all_sums
        ) / (control_role @ all_counts)
    return np.nanstd(gap, axis=1, ddof=1)


def _baseline_weights(
    Y_before: np.ndarray,
    hh_of_unit: np.ndarray,
    area_of_hh: np.ndarray,
    persons_hh: np.ndarray,
    treated_hh: np.ndarray,
    comparison_hh: np.ndarray,
    bins: int,
) -> np.ndarray:
    """Weights that give each comparison area the treated households' baseline levels.

    ``b_h``: mean of the household's units' outcomes over the baseline quarters
    (``Y_before``, units × quarters). Strata: the ``bins``-quantiles of the treated
    households' ``b_h`` (duplicates merged, as a discrete outcome has few levels; a
    missing baseline is a stratum of its own). A
    comparison household in area ``a`` and stratum ``k`` gets ``π_T(k) / π_a(k)``
    with ``π`` the shares of persons; treated households keep weight 1 (their own
    statistic is not reweighted).
    """
    H = len(area_of_hh)
    weight = np.ones(H)
    if not treated_hh.any():
        return weight
    seen = (~np.isnan(Y_before)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        level = _household_mean(np.nansum(Y_before, axis=1) / seen, hh_of_unit, H)
    stratum = _quantile_bins(level, level[treated_hh], bins)
    _, stratum = np.unique(stratum, return_inverse=True)
    n_strata = stratum.max() + 1
    target = np.bincount(stratum[treated_hh], persons_hh[treated_hh], n_strata)
    target = target / target.sum()
    for a in np.unique(area_of_hh[comparison_hh]):
        in_a = comparison_hh & (area_of_hh == a)
        have = np.bincount(stratum[in_a], persons_hh[in_a], n_strata)
        share = have / have.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(share > 0, target / share, 0.0)
        weight[in_a] = ratio[stratum[in_a]]
    return weight


def area_placebo_test(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    area: str,
    hhname: str,
    alpha: float = 0.05,
    max_placebos: int = 4999,
    seed: int = 0,
    pre_periods: int | None = None,
    match_bins: int | None = 5,
    event_time: int | None = None,
    studentize: str = "baseline",
    match_level: pd.Series | None = None,
    event_times: list[int] | None = None,
) -> AreaTestResult:
    """Few-treated-areas test of the Callaway–Sant'Anna simple ATT, with its interval.

    Estimate: the simple ATT (never-treated comparison, no covariates;
    ``θ̂ = Σ_c w_c ATT_c`` over post cells ``c = (g, t)``, ``w_c ∝ p_g``). Statistic:
    ``t = θ̂ / s``. With ``studentize="baseline"`` (the default) ``s`` is the
    assignment's baseline scale (:func:`_baseline_scale`): the sample SD, over the
    quarters before the first enrolment, of the treated-role mean outcome minus the
    comparison-role mean outcome. An area shock that moves one group's outcomes κ
    times as much as another's (households nearer a cut-off of a discretised
    outcome, or further from a floor) multiplies its ``θ̂`` and its ``s`` alike, so
    ``t`` does not depend on κ: this is the heteroskedasticity across groups that
    Ferman and Pinto (2019) show breaks Conley–Taber, corrected here with the
    group's own pre-period variance instead of a model of it. With
    ``studentize="household"``, ``s = SE_h(θ̂)``, the household-clustered standard
    error without the weight-estimation term, ``SE_h² = Σ_h ψ_h²`` with
    ``ψ_h = Σ_c w_c [1{h∈T_c}(ΣΔY - n_hc m^T_c)/n^T_c - 1{h∈C_c}(ΣΔY - n_hc m^C_c)/n^C_c]``
    (MacKinnon and Webb 2020): it equalises the idiosyncratic noise across areas
    of different size but not the response to area shocks. ``SE_h`` is reported
    (``se_household``) either way.

    Null distribution (Conley and Taber 2011): every choice ``S`` of as many
    *comparison* areas as there are intervention areas plays the intervention areas
    (its households get :func:`pseudo_cohorts`), the other comparison areas are its
    comparison group, and ``t_S`` is computed the same way. The intervention areas
    never enter a placebo, so a true effect cannot contaminate the null. Under no
    effect, with the areas' shocks exchangeable up to the scale the studentizer
    takes up, ``t`` is distributed like ``t_S``.
    ``p = (1 + #{|t_S| ≥ |t|}) / (1 + B)``.

    Interval (test inversion): under ``θ = θ0`` for every treated cell, subtracting
    ``θ0`` from the treated post outcomes moves ``θ̂`` by ``θ0`` and leaves ``s``
    (pre-period outcomes or household scores) and every placebo as they are, so
    ``{θ0 : p(θ0) > α}`` is ``θ̂ ± c s`` with ``c`` the critical value of
    :func:`_critical_value`.

    Placebos matched to the intervention households' baseline levels
    (``match_bins``, the default): where an outcome is a discretised or censored
    index, the same area shock moves a household's observed outcome more the nearer
    its level sits to a cut-off, so areas of households selected on their levels
    (the intervention households) have a larger shock variance than whole comparison
    areas, and unmatched placebos understate the spread of ``t`` (Ferman and Pinto
    2019's heteroskedasticity, here by composition, not by size). Each household's
    baseline level ``b_h`` is the mean outcome of its units over the quarters before
    the first enrolment; ``match_bins`` bins at the quantiles of the intervention
    households' ``b_h`` (and one bin for a missing baseline) give every household of
    a comparison area ``a`` the weight ``w_h = π_T(bin) / π_a(bin)`` (``π``: shares of
    persons) when it plays an intervention household, so each placebo area has the
    intervention households' baseline distribution (DiNardo, Fortin and Lemieux
    1996 reweighting). The weights enter the placebo's cell means, cohort weights,
    household scores (``ψ_h`` times ``w_h``) and baseline scale; the observed ``t`` and
    the comparison role are unweighted. ``match_bins=None`` gives unmatched placebos.

    With ``pre_periods = K`` the same test is made of the pre-enrolment cells
    instead: ``θ̂`` is the ``p_g``-weighted mean of the placebo effects ``ATT(g, t)``
    at event times ``-K … -1`` (base period ``t - 1``, as ``att_gt``'s varying
    base), an area-robust test of parallel pre-trends. Its scale is the sample SD of
    the same statistic at earlier event times, ``θ̂_s`` with every cohort's cells moved
    back ``s = K, K + 1, …`` quarters as far as the data reach (at least three): the
    tested statistic averages area × quarter shocks over its cohorts' calendar
    quarters and mixes them with household noise in proportions that differ between
    the intervention group and whole comparison areas, and only a scale made of the
    same average has the same mix in every assignment (a scale from the pooled gap in
    common quarters did not: the anticipation test of self-support rejected a true
    null in 10 % of 200 extracts with it). The moved windows end where the tested one
    begins, so a pre-trend or anticipation in the tested quarters does not enter it.
    For a window of one quarter (``K = 1``, the anticipation test) the null
    distribution pools every placebo's window, the tested one and each moved one, over
    the SD of that placebo's other windows (as many as the observed scale has),
    ``p = (1 + #{|t*| ≥ |t|}) / (1 + B W)`` with ``W`` windows (windows of several
    quarters overlap, so a middle one's leave-one-out scale would not be made like the
    observed one's). Across placebos alone the t's are too narrow: what every placebo of one extract shares (the
    comparison areas' pseudo-treated households against all comparison households)
    moves each placebo's estimate over the windows, and so its scale, but not its
    place among the placebos of that extract; over its own windows a placebo's t varies
    as the observed t does (the support level's anticipation test rejected a true null
    in 9 % of 200 extracts against the placebos' tested windows alone).

    With ``event_time = e`` the test is of one event time, the area-level event study
    (:func:`analysis.effects.areas.area_event_study`): after enrolment (``e ≥ 0``) the
    cells ``(g, g + e)`` against the quarter before enrolment, ``θ̂ = ATT(e)`` of
    ``aggte(..., "dynamic")``, studentized by the baseline scale; before it (``e < 0``)
    the cells ``(g, g + e)`` against the quarter before them (varying base), studentized
    by the same statistic at event times ``e - 1, e - 2, …`` as the pre-enrolment tests
    (``event_time=-1`` is the anticipation test, ``pre_periods=1``).

    With ``event_times`` (a test after enrolment only) every assignment's event study
    with a universal base period is computed too: ``β̂_S(e)`` on the cells
    ``(g, g + e)`` against ``g − 1`` for each ``e`` of ``event_times`` (before and after
    enrolment; ``att_gt(..., base_period="universal")`` and ``aggte(..., "dynamic")``),
    returned as ``event_vectors`` with the studentizers ``scales``;
    :meth:`AreaTestResult.event_covariance` makes them an area-robust covariance of the
    observed vector (the HonestDiD sensitivity's, :mod:`analysis.effects.sensitivity`).

    All ``C(J, k)`` choices are enumerated when there are at most ``max_placebos``,
    otherwise ``max_placebos`` distinct ones are drawn with ``seed``. Vectorised:
    households' sums of ``ΔY`` per cell are formed once; an assignment's estimate
    and standard error are then matrix products over areas and households.

    Kept whole: one randomization test: its docstring is a quarter of it, and the body
    builds the household × cell sums, the matched placebo assignments and the
    studentized statistics from arrays the steps share (blocks of assignments bound
    memory); split, those arrays would be passed around by position.
    """
    if studentize not in ("baseline", "household"):
        raise EstimationError(f"studentize must be 'baseline' or 'household', not {studentize!r}")
    require_columns(
        data, yname=yname, tname=tname, idname=idname, gname=gname, area=area, hhname=hhname
    )
    units = data.drop_duplicates(idname)[[idname, hhname, area, gname]].reset_index(drop=True)
    if data.groupby(idname)[area].nunique().max() > 1:
        raise EstimationError(f"{area} must be constant within {idname}")
    if units.groupby(hhname)[area].nunique().max() > 1:
        raise EstimationError(f"{area} must be constant within {hhname}")
    households = units.drop_duplicates(hhname)
    pseudo = pseudo_cohorts(households, gname, area, hhname).set_index(hhname)[gname]
    areas, area_of_unit = np.unique(units[area].astype(str).to_numpy(), return_inverse=True)
    n_areas = len(areas)
    treated_areas = np.unique(area_of_unit[units[gname].to_numpy() > 0])
    comparison_areas = np.setdiff1d(np.arange(n_areas), treated_areas)
    k, J = len(treated_areas), len(comparison_areas)
    if J <= k:
        raise EstimationError(
            f"{J} comparison areas: too few to play {k} intervention areas and leave a comparison"
        )
    if comb(J, k) < int(np.ceil(1 / alpha)) - 1:
        raise EstimationError(
            f"C({J}, {k}) = {comb(J, k)} placebo assignments: too few for a test at {alpha}"
        )
    # Units (persons) → households; wide outcomes.
    hh_codes, hh_of_unit = np.unique(units[hhname].astype(str).to_numpy(), return_inverse=True)
    H = len(hh_codes)
    area_of_hh = np.zeros(H, dtype=int)
    area_of_hh[hh_of_unit] = area_of_unit
    g_unit = units[hhname].map(pseudo).to_numpy()
    # Units of intervention areas that never enrolled take part in no comparison.
    in_treated_area = np.isin(area_of_unit, treated_areas)
    g_unit = np.where(in_treated_area & (units[gname].to_numpy() == 0), -1, g_unit)
    periods = np.sort(data[tname].unique())
    position = {t: i for i, t in enumerate(periods)}
    Y = np.full((len(units), len(periods)), np.nan)
    row = pd.Index(units[idname]).get_indexer(data[idname])
    Y[row, np.searchsorted(periods, data[tname])] = data[yname].to_numpy(float)
    cohorts = np.unique(g_unit[g_unit > 0])
    if pre_periods is not None and event_time is not None:
        raise EstimationError("pre_periods and event_time exclude each other")
    # Quarters of the tested window before enrolment (0: after it; studentized by the
    # baseline), the first shift of its time-shifted scale.
    window = pre_periods if pre_periods is not None else 1 if (event_time or 0) < 0 else 0
    if event_time is not None and event_time >= 0:  # (cohort, period, base period)
        cells = [
            (g, g + event_time, g - 1)
            for g in cohorts
            if (g + event_time) in position and (g - 1) in position
        ]
    elif event_time is not None:  # one quarter before enrolment, varying base
        cells = [
            (g, g + event_time, g + event_time - 1)
            for g in cohorts
            if (g + event_time) in position and (g + event_time - 1) in position
        ]
    elif pre_periods is None:
        cells = [(g, t, g - 1) for g in cohorts for t in periods if t >= g and (g - 1) in position]
    else:
        cells = [
            (g, t, t - 1)
            for g in cohorts
            for t in periods
            if g - pre_periods <= t < g and (t - 1) in position
        ]
    if not cells:
        raise EstimationError("no cell with a base period in the data")
    g_hh = np.zeros(H)
    g_hh[hh_of_unit] = g_unit

    def cell_sums(cells: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Households × cells: sums and counts of ΔY of the household's units, and whether
        the cell is of the household's cohort (all of its units share it, so the treated
        role is the same sums on its cohort's cells)."""
        s_all = np.zeros((H, len(cells)))
        n_all = np.zeros((H, len(cells)))
        own = np.zeros((H, len(cells)), dtype=bool)
        for j, (g, t, base) in enumerate(cells):
            dy = Y[:, position[t]] - Y[:, position[base]]
            ok = ~np.isnan(dy)
            s_all[:, j] = np.bincount(hh_of_unit[ok], dy[ok], H)
            n_all[:, j] = np.bincount(hh_of_unit[ok], minlength=H)
            own[:, j] = g_hh == g
        return s_all, n_all, own

    s_all, n_all, own = cell_sums(cells)
    persons_hh = np.bincount(hh_of_unit, minlength=H).astype(float)
    if match_bins:
        before = periods < cohorts.min()
        if match_level is not None:
            # Match on another baseline level (one value per household): the index the
            # outcome is a threshold of, where the outcome itself has too few levels.
            level = pd.Series(hh_codes).map(
                pd.Series(match_level.to_numpy(float), index=match_level.index.astype(str))
            )
            Y_match, hh_match = level.to_numpy(float)[:, None], np.arange(H)
        else:
            Y_match, hh_match = Y[:, before], hh_of_unit
        weight_hh = _baseline_weights(
            Y_match,
            hh_match,
            area_of_hh,
            persons_hh,
            np.isin(area_of_hh, treated_areas) & (g_hh > 0),
            np.isin(area_of_hh, comparison_areas),
            match_bins,
        )
    else:
        weight_hh = np.ones(H)
    cohort_of_hh = np.searchsorted(cohorts, g_hh)
    enrolled = g_hh > 0

    def area_sums(x: np.ndarray) -> np.ndarray:
        out = np.zeros((n_areas, x.shape[1]))
        np.add.at(out, area_of_hh, x)
        return out

    P = np.zeros((n_areas, len(cohorts)))
    np.add.at(
        P,
        (area_of_hh[enrolled], cohort_of_hh[enrolled]),
        (persons_hh * weight_hh)[enrolled],
    )

    # Assignments: the observed one first, then the placebos.
    total = comb(J, k)
    enumerated = total <= max_placebos
    if enumerated:
        placebo_sets = np.array(list(combinations(comparison_areas, k)))
    else:
        rng = np.random.default_rng(seed)
        chosen: set = set()
        while len(chosen) < max_placebos:
            chosen.add(tuple(sorted(rng.choice(comparison_areas, k, replace=False))))
        placebo_sets = np.array(sorted(chosen))
    n_assign = 1 + len(placebo_sets)
    treated_role = np.zeros((n_assign, n_areas))
    treated_role[0, treated_areas] = 1.0
    treated_role[np.arange(1, n_assign)[:, None], placebo_sets] = 1.0
    control_role = np.zeros((n_assign, n_areas))
    control_role[:, comparison_areas] = 1.0
    control_role -= treated_role * control_role  # placebo areas leave the comparison

    def estimate(sums: tuple, cells: list, variance: bool) -> tuple[np.ndarray, np.ndarray]:
        """Every assignment's estimate on ``cells`` (and its household-clustered variance)."""
        s_all, n_all, own = sums
        s_own, n_own = s_all * own * weight_hh[:, None], n_all * own * weight_hh[:, None]
        S_T, N_T, S_C, N_C = (area_sums(x) for x in (s_own, n_own, s_all, n_all))
        cell_cohort = np.searchsorted(cohorts, [g for g, _, _ in cells])
        att = np.empty(n_assign)
        var = np.full(n_assign, np.nan)
        # Blocks of assignments bound the households × assignments products in memory.
        block = max(1, int(4e6 // max(H, 1)))
        for lo in range(0, n_assign, block):
            hi = min(n_assign, lo + block)
            A, R = treated_role[lo:hi], control_role[lo:hi]
            nT, nC = A @ N_T, R @ N_C
            with np.errstate(invalid="ignore", divide="ignore"):
                mT = (A @ S_T) / nT
                mC = (R @ S_C) / nC
            valid = (nT > 0) & (nC > 0)
            w = (A @ P)[:, cell_cohort] * valid
            w = w / w.sum(axis=1, keepdims=True)
            att[lo:hi] = np.where(valid, w * (mT - mC), 0.0).sum(axis=1)
            if not variance:
                continue
            with np.errstate(invalid="ignore", divide="ignore"):
                aT = np.where(valid, w / nT, 0.0)
                aC = np.where(valid, w / nC, 0.0)
            bT, bC = aT * np.nan_to_num(mT), aC * np.nan_to_num(mC)
            psi_T = s_own @ aT.T - n_own @ bT.T  # households × assignments
            psi_C = s_all @ aC.T - n_all @ bC.T
            in_T = A[:, area_of_hh].T > 0
            in_C = R[:, area_of_hh].T > 0
            var[lo:hi] = (np.where(in_T, psi_T, 0.0) ** 2).sum(axis=0) + (
                np.where(in_C, psi_C, 0.0) ** 2
            ).sum(axis=0)
        return att, var

    att, var = estimate((s_all, n_all, own), cells, variance=True)
    se_household = np.sqrt(var)
    if studentize == "household":
        se = se_household
    elif not window:
        # The baseline window ends before the first enrolment.
        se = _baseline_scale(
            Y,
            periods,
            cohorts.min(),
            hh_of_unit,
            H,
            (g_hh > 0) * weight_hh,
            area_sums,
            treated_role,
            control_role,
        )
    else:
        # A pre-enrolment test is studentized by its own statistic at earlier event
        # times: every cohort's cells moved back s quarters, s = K, K + 1, … as far as
        # the data reach (the windows end where the tested one begins, so an
        # anticipation effect or a pre-trend in the tested quarters does not inflate
        # the scale). The moved statistics mix area shocks and household noise, across
        # cohorts and calendar quarters, exactly as the tested one does.
        def reaches(s: int) -> bool:
            return all((t - s) in position and (base - s) in position for _, t, base in cells)

        shifts = [window]
        while reaches(shifts[-1]):
            shifts.append(shifts[-1] + 1)
        shifts.pop()  # the first shift the data do not reach
        if len(shifts) < 3:
            raise EstimationError(
                f"{len(shifts)} earlier windows of {window} quarters before the tested "
                "ones: too few to studentize by (studentize='household' uses the "
                "household-clustered standard error)"
            )
        moved = [[(g, t - s, base - s) for g, t, base in cells] for s in shifts]
        shifted = np.column_stack([estimate(cell_sums(m), m, variance=False)[0] for m in moved])
        se = np.std(shifted, axis=1, ddof=1)
    t_all = att / se
    t0, placebo_t = float(t_all[0]), t_all[1:]
    if window == 1 and studentize == "baseline":
        # The null distribution of a time-shifted t of one quarter: every placebo's
        # window, the tested one and each moved one, over the SD of that placebo's other
        # windows (as many as the observed t's scale has). Across placebos alone the t's
        # are too narrow: what all placebos of one extract share moves each one's
        # windows, and so its scale, but not its rank among them; over its own windows
        # a placebo's t varies as the observed t does (docs/evaluation.md, "Size and
        # coverage"). Not for windows of several quarters: those overlap their
        # neighbours, so a middle window's leave-one-out scale is not made like the
        # observed one's (the pre-trend test rejected more often with it).
        windows = np.column_stack([att, shifted])[1:]
        placebo_t = np.concatenate(
            [
                windows[:, j] / np.std(np.delete(windows, j, axis=1), axis=1, ddof=1)
                for j in range(windows.shape[1])
            ]
        )
    p_value = float((1 + np.sum(np.abs(placebo_t) >= abs(t0) - 1e-12)) / (1 + len(placebo_t)))
    vectors = None
    if event_times is not None:
        if window or studentize != "baseline":
            raise EstimationError(
                "event_times: only with the baseline-studentized test after enrolment"
            )
        columns = []
        for e in event_times:
            universal = [
                (g, g + e, g - 1)
                for g in cohorts
                if (g + e) in position and (g - 1) in position and e != -1
            ]
            columns.append(
                estimate(cell_sums(universal), universal, variance=False)[0]
                if universal
                else np.full(n_assign, np.nan)
            )
        vectors = np.column_stack(columns)
    c = _critical_value(placebo_t, alpha)
    ci = (float(att[0] - c * se[0]), float(att[0] + c * se[0]))
    return AreaTestResult(
        att=float(att[0]),
        se=float(se[0]),
        t_stat=t0,
        p_value=p_value,
        ci=ci,
        critical_value=c,
        alpha=alpha,
        placebos=n_assign - 1,
        enumerated=enumerated,
        n_areas=n_areas,
        n_treated_areas=k,
        distribution=placebo_t,
        placebo_att=att[1:],
        placebo_areas=areas[placebo_sets],
        se_household=float(se_household[0]),
        studentizer=studentize,
        event_vectors=vectors,
        scales=None if vectors is None else se,
    )
