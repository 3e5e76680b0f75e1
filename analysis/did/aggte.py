"""Aggregations of ATT(g,t) (Callaway and Sant'Anna 2021, section 4; R's ``aggte``).

With cohort shares ``p_g = P(G = g)`` (unit weights):

* simple: ``θ = Σ_{t≥g} p_g ATT(g,t) / Σ_{t≥g} p_g`` over all post cells;
* group: ``θ(g) = mean_{t≥g} ATT(g,t)``, overall ``Σ_g p_g θ(g) / Σ_g p_g``;
* dynamic: ``θ(e) = Σ_g 1{t-g=e} p_g ATT(g,g+e) / Σ_g 1{t-g=e} p_g``, overall the
  mean of ``θ(e)`` for ``e ≥ 0``;
* calendar: ``θ(t) = Σ_{g≤t} p_g ATT(g,t) / Σ_{g≤t} p_g``, overall the mean over ``t``.

Influence functions combine those of the ATT(g,t) with the estimation effect of
the weights ``p_g`` (R's ``wif``), so standard errors match R's ``did``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# scipy.special's ndtri is what scipy.stats' normal quantile calls (the same numbers,
# without importing scipy.stats: the F and χ² tails of the pre-trend test import it there).
from scipy import special

from analysis.did.checks import EstimationError, NotEstimable
from analysis.did.influence import ATTgtResult, Influence, multiplier_bootstrap, standard_errors

TYPES = ("simple", "group", "dynamic", "calendar")


@dataclass
class AggteResult:
    """An aggregation: overall effect with its uncertainty, and the tidy table by level."""

    type: str
    overall_att: float
    overall_se: float
    overall_ci: tuple[float, float]
    table: pd.DataFrame
    alpha: float
    critical_value: float
    influence: np.ndarray | None = None  # n × levels, for joint tests of the levels
    clusters: np.ndarray | None = None  # unit clusters of the influence functions
    n_units: int = 0

    def summary(self) -> pd.DataFrame:
        head = pd.DataFrame(
            [
                {
                    "level": "overall",
                    "att": self.overall_att,
                    "se": self.overall_se,
                    "ci_low": self.overall_ci[0],
                    "ci_high": self.overall_ci[1],
                }
            ]
        )
        return pd.concat(
            [head, self.table.assign(level=self.table.iloc[:, 0].astype(str))[head.columns]],
            ignore_index=True,
        )


def _weight_influence(
    keepers: np.ndarray,
    pg: np.ndarray,
    G: np.ndarray,
    w: np.ndarray,
    groups: np.ndarray,
    values: np.ndarray,
) -> np.ndarray:
    """Influence of estimating the cohort shares (R's ``wif``), times ``values``.

    R builds the n × k matrix ``wif`` with columns ``(w 1{G=g_k} - p_k)/Σp -
    Σ_j (w 1{G=g_j} - p_j) p_k/(Σp)²`` and multiplies it by the effects; the product
    is formed here directly, cohort by cohort, without the n × k matrix, so memory
    stays linear in n.
    """
    p = pg[keepers]
    total = p.sum()
    cohorts = groups[keepers]
    # Σ_k (w 1{G=g_k} - p_k) v_k and Σ_k (w 1{G=g_k} - p_k), summing over keepers by cohort.
    levels, inverse = np.unique(cohorts, return_inverse=True)
    if len(levels) == len(cohorts) and not np.isnan(values).any():
        # One cell per cohort (the dynamic and calendar levels): each sum is its
        # one value, as pandas' sum of one number gives it.
        weighted = values[np.argsort(cohorts, kind="stable")] + 0.0  # -0.0 sums to 0.0
    else:
        weighted = pd.Series(values).groupby(cohorts).sum().to_numpy()
    counted = np.bincount(inverse.ravel(), minlength=len(levels)).astype(float)
    # Each unit's cohort looked up among the levels (0 for the comparison units),
    # as a lookup of G in the two sums by cohort.
    position = np.minimum(np.searchsorted(levels, G), len(levels) - 1)
    found = levels[position] == G
    match_v = np.where(found, weighted[position], 0.0)
    match_n = np.where(found, counted[position], 0.0)
    term1 = (w * match_v - p @ values) / total
    term2 = (w * match_n - p.sum()) * (p @ values) / total**2
    return term1 - term2


def _plus_weight_influence(influence, keepers, pg, G, w, groups, values):
    """``influence`` (one column) plus :func:`_weight_influence`; on an :class:`Influence`
    the weights' part is formed for the units held densely, and once for the
    never-treated (on whom it is one constant: their cohort matches none)."""
    if not isinstance(influence, Influence):
        return influence + _weight_influence(keepers, pg, G, w, groups, values)
    ever = influence.ever
    return influence.plus(
        _weight_influence(keepers, pg, G[ever], w[ever], groups, values),
        float(_weight_influence(keepers, pg, np.zeros(1), np.ones(1), groups, values)[0]),
    )


def _stack(columns: list):
    """Influence columns side by side."""
    if isinstance(columns[0], Influence):
        return Influence.stack(columns)
    return np.column_stack(columns)


def aggte(
    result: ATTgtResult,
    type: str = "simple",
    min_e: float = -np.inf,
    max_e: float = np.inf,
    balance_e: int | None = None,
    alpha: float | None = None,
    window: tuple[int, int] | None = None,
) -> AggteResult:
    """Aggregate group-time effects; see the module docstring for the weights.

    ``window`` restricts the calendar aggregation to periods ``window[0]..window[1]``
    (for example the quarters of one payment period); the overall effect is then the
    mean over those periods, with its exact standard error.

    Kept whole: the four aggregations (simple, group, dynamic, calendar) share the
    preparation of the group-time table and the influence-function inference at the end;
    each branch is short and reads against the module docstring's weights, which helpers
    per type would scatter.
    """
    if type not in TYPES:
        raise EstimationError(f"type must be one of {', '.join(TYPES)}, got {type!r}")
    alpha = result.alpha if alpha is None else alpha
    table = result.table
    att = table["att"].to_numpy()
    group = table["group"].to_numpy()
    time = table["time"].to_numpy()
    event = time - group
    G, w, n = result.unit_groups, result.unit_weights / result.unit_weights.mean(), result.n_units
    cohort_pg = {g: float(np.mean(w * (G == g))) for g in np.unique(group)}
    pg = np.array([cohort_pg[g] for g in group])
    inf = result.influence
    clusters = result.unit_clusters
    post = group <= time
    if balance_e is not None:
        last = time.max()
        eligible = {g for g in np.unique(group) if last - g >= balance_e}
        keep = np.array([g in eligible for g in group]) & (event <= balance_e)
        post = post & keep
    z = special.ndtri(1 - alpha / 2)

    def combine(keepers: np.ndarray) -> tuple[float, np.ndarray]:
        weights = pg[keepers] / pg[keepers].sum()
        value = float(att[keepers] @ weights)
        influence = _plus_weight_influence(
            inf[:, keepers] @ weights, keepers, pg, G, w, group, att[keepers]
        )
        return value, influence

    levels: list[tuple[int, float, np.ndarray]] = []
    if type == "simple":
        keepers = np.flatnonzero(post & (event <= max_e) & (event >= min_e))
        if len(keepers) == 0:
            raise NotEstimable("no_post_period", "no post-treatment cells to aggregate")
        overall, overall_inf = combine(keepers)
    elif type == "group":
        cohort_values, cohort_infs, cohort_p = [], [], []
        for g in np.unique(group):
            keepers = np.flatnonzero((group == g) & post & (event <= max_e))
            if len(keepers) == 0:
                continue
            value = float(att[keepers].mean())
            influence = inf[:, keepers].mean(axis=1)
            levels.append((int(g), value, influence))
            cohort_values.append(value)
            cohort_infs.append(influence)
            cohort_p.append(cohort_pg[g])
        cohort_p = np.array(cohort_p)
        weights = cohort_p / cohort_p.sum()
        overall = float(np.array(cohort_values) @ weights)
        cohorts = np.array([lv[0] for lv in levels], dtype=float)
        overall_inf = _plus_weight_influence(
            _stack(cohort_infs) @ weights,
            np.arange(len(cohorts)),
            cohort_p,
            G,
            w,
            cohorts,
            np.array(cohort_values),
        )
    elif type == "dynamic":
        keep_all = np.ones_like(post) if balance_e is None else (post | (event < 0))
        for e in np.unique(event):
            if e < min_e or e > max_e:
                continue
            keepers = np.flatnonzero((event == e) & keep_all)
            if len(keepers) == 0:
                continue
            value, influence = combine(keepers)
            levels.append((int(e), value, influence))
        post_levels = [lv for lv in levels if lv[0] >= 0]
        if post_levels:
            overall = float(np.mean([lv[1] for lv in post_levels]))
            overall_inf = _stack([lv[2] for lv in post_levels]).mean(axis=1)
        else:  # only pre-treatment event times (e.g. before the first post period has data)
            overall, overall_inf = float("nan"), np.full(n, np.nan)
    else:
        for t in np.unique(time):
            if window is not None and not window[0] <= t <= window[1]:
                continue
            keepers = np.flatnonzero((time == t) & post)
            if len(keepers) == 0:
                continue
            value, influence = combine(keepers)
            levels.append((int(t), value, influence))
        if not levels:
            raise NotEstimable(
                "no_post_period", f"no treated cells in the calendar window {window}"
            )
        overall = float(np.mean([lv[1] for lv in levels]))
        overall_inf = _stack([lv[2] for lv in levels]).mean(axis=1)

    overall_se = float(standard_errors(overall_inf, clusters, n)[0])
    if result.biters:
        overall_se = float(
            multiplier_bootstrap(overall_inf, clusters, n, result.biters, alpha, result.seed)[0][0]
        )
    level_name = {"simple": None, "group": "group", "dynamic": "event_time", "calendar": "time"}[
        type
    ]
    frame = pd.DataFrame(
        columns=[level_name or "level", "att", "se", "ci_low", "ci_high", "band_low", "band_high"]
    )
    critical = z
    level_inf = None
    if levels:
        level_inf = _stack([lv[2] for lv in levels])
        se = standard_errors(level_inf, clusters, n)
        if result.biters:
            se, critical = multiplier_bootstrap(
                level_inf, clusters, n, result.biters, alpha, result.seed
            )
        values = np.array([lv[1] for lv in levels])
        frame = pd.DataFrame(
            {
                level_name: [lv[0] for lv in levels],
                "att": values,
                "se": se,
                "ci_low": values - z * se,
                "ci_high": values + z * se,
                "band_low": values - critical * se,
                "band_high": values + critical * se,
            }
        )
    return AggteResult(
        type,
        overall,
        overall_se,
        (overall - z * overall_se, overall + z * overall_se),
        frame,
        alpha,
        critical,
        level_inf,
        clusters,
        n,
    )
