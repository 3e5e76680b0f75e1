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
from analysis.did.checks import EstimationError, require_columns

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
        raise EstimationError("the wild cluster bootstrap needs at least two clusters")
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
            raise EstimationError("too few areas for area-level randomization inference")
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
