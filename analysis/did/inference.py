"""Inference beyond the analytic: wild cluster bootstrap, randomization inference
and the minimum detectable effect (pre-trend sensitivity: :mod:`analysis.did.honestdid`).

With only three intervention areas, area-clustered analytic standard errors are
unreliable; these procedures are reported beside the household-clustered ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np
import pandas as pd
from scipy import stats

from analysis.did.aggte import aggte
from analysis.did.attgt import att_gt
from analysis.did.checks import EstimationError, NotEstimable, require_columns

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
    """
    out = values.astype(float).copy()
    n_unit, n_time = unit.max() + 1, time.max() + 1
    w = np.ones(len(out)) if weights is None else np.asarray(weights, dtype=float)
    count_unit = np.bincount(unit, w, minlength=n_unit)
    count_time = np.bincount(time, w, minlength=n_time)
    for _ in range(max_iter):
        out -= (np.bincount(unit, w * out, n_unit) / count_unit)[unit]
        shift = (np.bincount(time, w * out, n_time) / count_time)[time]
        out -= shift
        if np.max(np.abs(shift)) < tol:
            break
    return out


@dataclass
class WildBootstrapResult:
    """Wild cluster bootstrap (WCR) test of β = 0 for the TWFE coefficient."""

    att: float
    t_stat: float
    p_value: float
    n_clusters: int
    reps: int
    weights: str


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
) -> WildBootstrapResult:
    """Restricted wild cluster bootstrap p-value for the TWFE treatment coefficient.

    After absorbing unit and period effects (Frisch–Waugh–Lovell), ``ÿ = β d̈ + ü``.
    Under H0: β = 0 the restricted residuals are ``ÿ``; each replication multiplies
    them by one draw per cluster (Webb six-point or Rademacher), re-estimates β and
    its cluster-robust t statistic (CR1), and the p-value is the share of
    ``|t*| ≥ |t|``.
    """
    require_columns(
        data, yname=yname, tname=tname, idname=idname, treatname=treatname, cluster=cluster
    )
    unit = pd.factorize(data[idname])[0]
    time = pd.factorize(data[tname])[0]
    groups = pd.factorize(data[cluster])[0]
    G = groups.max() + 1
    if G < 2:
        raise NotEstimable(
            "too_few_clusters", "the wild cluster bootstrap needs at least two clusters"
        )
    y = _two_way_demean(data[yname].to_numpy(float), unit, time)
    d = _two_way_demean(data[treatname].to_numpy(float), unit, time)
    dd = d @ d
    n, k = len(y), unit.max() + time.max() + 2

    correction = G / (G - 1) * (n - 1) / (n - k)
    # Everything a replication needs is a per-cluster sum: with a_g = Σ_{i∈g} d̈_i ÿ_i and
    # b_g = Σ_{i∈g} d̈_i², multiplying cluster g's residuals by v_g gives
    # β* = Σ_g v_g a_g / d̈'d̈ and cluster scores v_g a_g - β* b_g, so a replication
    # costs O(clusters), not O(rows).
    a = np.bincount(groups, d * y, G)
    b = np.bincount(groups, d * d, G)

    def t_stats(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        beta = (v * a).sum(axis=-1) / dd
        scores = v * a - beta[..., None] * b
        se = np.sqrt(correction * (scores**2).sum(axis=-1)) / dd
        return beta, beta / se

    beta, t0 = (float(x[0]) for x in t_stats(np.ones((1, G))))
    rng = np.random.default_rng(seed)
    draws = np.empty((reps, G))
    for r in range(reps):
        draws[r] = rng.choice(WEBB, G) if weight_type == "webb" else rng.choice([-1.0, 1.0], G)
    _, t_star = t_stats(draws)
    exceed = int(np.sum(np.abs(t_star) >= abs(t0)))
    return WildBootstrapResult(float(beta), float(t0), exceed / reps, int(G), reps, weight_type)


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


@dataclass
class ExactRandomizationResult:
    """Exact randomization inference over every assignment of intervention status to areas."""

    att: float
    p_value: float
    assignments: int
    n_areas: int
    n_treated_areas: int
    distribution: np.ndarray


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


def exact_randomization_inference(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    area: str,
    hhname: str,
) -> ExactRandomizationResult:
    """Exact p-value of the Callaway–Sant'Anna simple ATT, enumerating area assignments.

    Under the sharp null of no effect for anyone the outcomes are fixed and only the
    assignment of intervention status to areas is random. Every choice of as many
    areas as were treated (C(23, 3) = 1771 here) is enumerated; the units of the
    chosen areas get the enrolment quarters of :func:`pseudo_cohorts`, the others are
    the never-treated comparison, and the statistic is the CS simple ATT
    (never-treated comparison, no covariates) of that assignment. The p-value is the
    share of assignments whose |ATT| is at least the observed one (the observed
    assignment included), so it is exact and at least 1/#assignments.

    The statistic is vectorised: each area's sums of ``Y_t - Y_{g-1}`` and counts per
    (cohort, period), for its units as treated and as comparison, are computed once;
    an assignment's ATT(g,t) are then differences of sums over its areas.
    """
    from itertools import combinations

    require_columns(data, yname=yname, tname=tname, idname=idname, gname=gname, area=area)
    units = data.drop_duplicates(idname)[[idname, hhname, area, gname]]
    if units.groupby(idname)[area].nunique().max() > 1:
        raise EstimationError(f"{area} must be constant within {idname}")
    households = units.drop_duplicates(hhname)
    pseudo = pseudo_cohorts(households, gname, area, hhname).set_index(hhname)[gname]
    areas, area_of_unit = np.unique(units[area].to_numpy(), return_inverse=True)
    treated_areas = np.unique(area_of_unit[units[gname].to_numpy() > 0])
    n_areas, k = len(areas), len(treated_areas)
    if n_areas - k < 1:
        raise NotEstimable("no_comparison", "no comparison areas")
    # Wide outcome matrix: units × periods.
    unit_index = pd.Index(units[idname])
    periods = np.sort(data[tname].unique())
    Y = np.full((len(units), len(periods)), np.nan)
    Y[unit_index.get_indexer(data[idname]), np.searchsorted(periods, data[tname])] = data[
        yname
    ].to_numpy(float)
    g_unit = units[hhname].map(pseudo).to_numpy()
    cohorts = np.unique(g_unit[g_unit > 0])
    position = {t: i for i, t in enumerate(periods)}
    # Post cells (g, t) with a base period in the data.
    cells = [(g, t) for g in cohorts for t in periods if t >= g and (g - 1) in position]
    S = np.zeros((n_areas, len(cells)))  # sums of ΔY of the area's units as treated (cohort g)
    N = np.zeros((n_areas, len(cells)))
    C = np.zeros((n_areas, len(cells)))  # sums of ΔY of all the area's units (as comparison)
    M = np.zeros((n_areas, len(cells)))
    C0 = np.zeros((n_areas, len(cells)))  # ... of its never-enrolled units when it is treated
    M0 = np.zeros((n_areas, len(cells)))
    for j, (g, t) in enumerate(cells):
        dy = Y[:, position[t]] - Y[:, position[g - 1]]
        ok = ~np.isnan(dy)
        in_g = ok & (g_unit == g)
        S[:, j] = np.bincount(area_of_unit[in_g], dy[in_g], n_areas)
        N[:, j] = np.bincount(area_of_unit[in_g], minlength=n_areas)
        C[:, j] = np.bincount(area_of_unit[ok], dy[ok], n_areas)
        M[:, j] = np.bincount(area_of_unit[ok], minlength=n_areas)
        never = ok & (g_unit == 0)
        C0[:, j] = np.bincount(area_of_unit[never], dy[never], n_areas)
        M0[:, j] = np.bincount(area_of_unit[never], minlength=n_areas)
    # Persons per cohort and area (the cohort weights p_g of the simple aggregation).
    P = np.zeros((n_areas, len(cohorts)))
    enrolled = g_unit > 0
    np.add.at(P, (area_of_unit[enrolled], np.searchsorted(cohorts, g_unit[enrolled])), 1.0)
    cell_cohort = np.searchsorted(cohorts, [g for g, _ in cells])
    assignments = np.array(list(combinations(range(n_areas), k)))
    chosen = np.zeros((len(assignments), n_areas))
    chosen[np.arange(len(assignments))[:, None], assignments] = 1.0
    treated_sum, treated_n = chosen @ S, chosen @ N
    control_sum = C.sum(axis=0) - chosen @ (C - C0)
    control_n = M.sum(axis=0) - chosen @ (M - M0)
    with np.errstate(invalid="ignore", divide="ignore"):
        att = treated_sum / treated_n - control_sum / control_n
    weight = (chosen @ P)[:, cell_cohort] * (treated_n > 0) * (control_n > 0)
    stat = np.nansum(att * weight, axis=1) / weight.sum(axis=1)
    observed_row = np.flatnonzero((assignments == np.sort(treated_areas)).all(axis=1))[0]
    observed = float(stat[observed_row])
    p_value = float(np.mean(np.abs(stat) >= abs(observed) - 1e-12))
    return ExactRandomizationResult(observed, p_value, len(assignments), n_areas, k, stat)


def mde_randomization(distribution: np.ndarray, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable effect of the randomization test from its null distribution.

    The test rejects when |ATT| exceeds the ``1-α`` quantile of |ATT*| over the
    assignments; an effect is detected with probability ``power`` when it exceeds
    that critical value by ``z_power`` standard deviations of ATT* (the spread of
    the estimate across assignments, a normal approximation).
    """
    distribution = np.asarray(distribution, dtype=float)
    critical = float(np.quantile(np.abs(distribution), 1 - alpha))
    return critical + float(stats.norm.ppf(power)) * float(np.std(distribution))
