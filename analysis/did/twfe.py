"""Two-way fixed effects (unit and period) DiD.

    y_it = α_i + λ_t + β D_it + ε_it,   D_it = 1{unit i treated in period t},

estimated by (weighted) least squares with both sets of effects absorbed
(Frisch–Waugh–Lovell); no dummy matrix is ever built. On a balanced panel without
weights the two-way demeaning is exact in closed form,
``ÿ_it = y_it - ȳ_i· - ȳ_·t + ȳ``, so the default path needs only the unit and
period means and then reads the rows in chunks (a hundred million rows take a few
arrays of the chunk's length beside the data); otherwise it absorbs the effects by
alternating projections. ``method="panelols"`` calls linearmodels ``PanelOLS``
instead (the tests compare the two). With weights ``w`` the estimate is
``β = Σ w d̈ ÿ / Σ w d̈²`` on the weighted two-way demeaned variables.

Standard errors are the sandwich ``(Σ w d̈²)⁻¹ Σ_g (Σ_{i∈g} w_i d̈_i ê_i)² (Σ w d̈²)⁻¹``
(one score per row without a cluster) times a small-sample factor. Two conventions:

* ``ssc="fixest"`` (default): the factor of Stata's ``reghdfe``/``xtreg, fe
  vce(cluster)`` and R's fixest/pyfixest with their default small-sample correction,
  ``G/(G-1) × (N-1)/(N-K)``, where ``K`` counts β and the fixed effects that are
  *not* nested in the clusters (a unit effect inside a household or area cluster
  costs no degree of freedom, because the cluster-robust variance already allows
  for anything that is constant within a cluster). Without clusters
  (heteroskedasticity-robust) ``K`` counts every fixed effect and the factor is
  pyfixest's ``N/(N-K)``. A reviewer who re-runs the regression in Stata or R gets
  these standard errors.
* ``ssc="linearmodels"``: linearmodels' ``PanelOLS`` default, ``N/(N-K)`` with every
  fixed effect counted and no ``G/(G-1)``; several per cent larger on panels with
  few periods per unit.

With staggered adoption and effects that change over time β is a weighted average
of 2×2 comparisons that can include "forbidden" ones (already-treated units as
controls), which is why the Callaway–Sant'Anna estimator is reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# scipy.special, not scipy.stats: the same normal quantile and tail (ndtri and ndtr
# are what the normal distribution of scipy.stats calls) for a fraction of the import time.
from scipy import special

from analysis.did.checks import EstimationError, NotEstimable, require_columns
from analysis.did.panel import CHUNK, chunks, codes, one_row_per_cell

CONVENTIONS = ("fixest", "linearmodels")


@dataclass
class TWFEResult:
    """The TWFE coefficient, its standard error and confidence interval."""

    att: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_obs: int
    n_units: int
    n_clusters: int | None
    cov_type: str
    ssc: str = "fixest"

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])


def _check_arguments(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    treatname: str,
    cluster: str | None,
    weights: str | None,
    method: str,
    ssc: str,
) -> None:
    """Refuse, by name, a missing column, a treatment not 0/1, an unknown method or
    small-sample correction, and weights that are not positive."""
    require_columns(
        data,
        yname=yname,
        tname=tname,
        idname=idname,
        treatname=treatname,
        cluster=cluster,
        weights=weights,
    )
    treated = data[treatname].to_numpy()
    if treated.dtype.kind in "biu":
        zero_one = len(treated) == 0 or (treated.min() >= 0 and treated.max() <= 1)
    else:
        zero_one = all(np.isin(treated[s], (0, 1)).all() for s in chunks(len(treated)))
    if not zero_one:
        raise EstimationError(f"treatname={treatname!r} must be 0/1")
    if method not in ("demean", "panelols"):
        raise EstimationError(f"method must be 'demean' or 'panelols', got {method!r}")
    if ssc not in CONVENTIONS:
        raise EstimationError(f"ssc must be one of {', '.join(CONVENTIONS)}, got {ssc!r}")
    if weights is not None and not (data[weights] > 0).all():
        raise EstimationError(f"weights={weights!r} must be positive")


def twfe(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    treatname: str,
    cluster: str | None = None,
    weights: str | None = None,
    alpha: float = 0.05,
    method: str = "demean",
    ssc: str = "fixest",
) -> TWFEResult:
    """Estimate β of the two-way fixed-effects regression (module docstring).

    Parameters
    ----------
    data : long panel.
    yname, tname, idname : outcome, period, unit id columns.
    treatname : 0/1 column, 1 in the unit's treated periods.
    cluster : column to cluster on (for example household, area or ``idname``
        itself); None gives heteroskedasticity-robust standard errors.
    weights : optional regression weights (positive).
    alpha : level of the confidence interval.
    method : "demean" (fast, default) or "panelols" (linearmodels).
    ssc : small-sample correction of the standard error, "fixest" (default; Stata
        reghdfe and R fixest) or "linearmodels" (module docstring).

    Returns
    -------
    TWFEResult
    """
    _check_arguments(data, yname, tname, idname, treatname, cluster, weights, method, ssc)
    # Numbered in sorted order, the cheapest (the estimate does not depend on it).
    unit, n_units = _count(codes(data[idname], sort=True))
    time, n_periods = _count(codes(data[tname], sort=True))
    # A panel sorted unit by unit, each in the same order of periods, has one row per
    # cell by its layout; any other is checked cell by cell.
    grid = _grid(unit, time, n_units, n_periods)
    balanced = grid or one_row_per_cell(unit, time, n_units, n_periods, idname, tname)
    # Coded before any index is set: the cluster may be the unit id itself.
    groups, n_clusters = _count(codes(data[cluster], sort=True)) if cluster else (None, None)
    n_obs = len(data)
    if method == "demean":
        fitted = None
        if grid and weights is None and groups is not None:
            fitted = _grid_fit(data, yname, treatname, n_units, n_periods, groups)
        if fitted is not None:
            att, raw_se = fitted
        elif balanced and weights is None:
            att, raw_se = _balanced(data, yname, treatname, unit, time, n_units, n_periods, groups)
        else:
            att, raw_se = _demeaned(data, yname, treatname, weights, unit, time, groups)
        raw_factor = 1.0
    else:
        att, raw_se = _panelols(data, yname, tname, idname, treatname, weights, groups)
        # linearmodels' own scaling, undone below so both paths share one convention.
        raw_factor = n_obs / (n_obs - n_units - n_periods)
    factor = _small_sample(n_obs, unit, time, n_units, n_periods, groups, n_clusters, ssc)
    se = raw_se * np.sqrt(factor / raw_factor)
    return _result(att, se, alpha, n_obs, n_units, n_clusters, ssc)


def _count(coded: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, int]:
    return coded[0], len(coded[1])


def _nested(fe: np.ndarray, n_levels: int, groups: np.ndarray) -> bool:
    """True when every level of the fixed effect ``fe`` lies within one cluster.

    A first look at a few thousand rows usually finds a level in two clusters (the
    periods in household clusters); only a nested effect needs the pass over all rows.
    """
    for rows in (slice(0, 1 << 14), slice(None)):
        first = np.empty(n_levels, groups.dtype)
        first[fe[rows]] = groups[rows]
        if not all(
            np.array_equal(first[fe[rows][part]], groups[rows][part])
            for part in chunks(len(fe[rows]))
        ):
            return False
    return True


def _small_sample(n, unit, time, n_units, n_periods, groups, n_clusters, ssc) -> float:
    """The small-sample factor of the chosen convention (module docstring)."""
    k_all = 1 + n_units + n_periods - 1
    if ssc == "linearmodels":
        return n / (n - k_all)
    if groups is None:
        return n / (n - k_all)
    k = 1
    # Each fixed effect not nested in the clusters costs its levels, less the one
    # absorbed by the other dimension (fixest counts the first dimension in full).
    unit_nested = _nested(unit, n_units, groups)
    time_nested = _nested(time, n_periods, groups)
    if not unit_nested:
        k += n_units
    if not time_nested:
        k += n_periods - (0 if unit_nested else 1)
    return n_clusters / (n_clusters - 1) * (n - 1) / (n - k)


def _unit_blocks(n_units: int, n_periods: int):
    """Slices of units whose rows make about ``CHUNK`` rows."""
    step = max(1, CHUNK // max(n_periods, 1))
    return (slice(start, min(start + step, n_units)) for start in range(0, n_units, step))


def _grid(unit, time, n_units: int, n_periods: int) -> bool:
    """True when row ``r`` is unit ``r // T``'s ``r % T``-th period, every unit's
    periods in the same order: a balanced panel with one row per cell, sorted."""
    if not len(unit) or len(unit) != n_units * n_periods:
        return False
    units = unit.reshape(n_units, n_periods)
    times = time.reshape(n_units, n_periods)
    seen = np.zeros(n_units, bool)
    seen[units[:, 0]] = True
    if not seen.all() or len(np.unique(times[0])) != n_periods:
        return False
    return all(
        (units[b] == units[b, :1]).all() and (times[b] == times[0]).all()
        for b in _unit_blocks(n_units, n_periods)
    )


def _grid_fit(data, yname, treatname, n_units, n_periods, groups):
    """:func:`_balanced` on a sorted panel (:func:`_grid`) with units nested in clusters,
    or None when they are not.

    The rows are a units × periods matrix: unit and period means are its row and
    column means, and a cluster's score sums its units' row sums of ``d̈ ÿ`` and
    ``d̈²``, so no pass scatters a row by its codes.
    """
    cluster_of = groups.reshape(n_units, n_periods)
    if not all(
        (cluster_of[b] == cluster_of[b, :1]).all() for b in _unit_blocks(n_units, n_periods)
    ):
        return None
    Y = data[yname].to_numpy().reshape(n_units, n_periods)
    D = data[treatname].to_numpy().reshape(n_units, n_periods)
    y_row, d_row = np.empty(n_units), np.empty(n_units)
    y_col, d_col = np.zeros(n_periods), np.zeros(n_periods)
    for b in _unit_blocks(n_units, n_periods):
        y, d = Y[b].astype(float, copy=False), D[b].astype(float)
        y_row[b], d_row[b] = y.mean(axis=1), d.mean(axis=1)
        y_col += y.sum(axis=0)
        d_col += d.sum(axis=0)
    y_col = (y_col - y_col.sum() / n_periods) / n_units
    d_col = (d_col - d_col.sum() / n_periods) / n_units
    unit_dy, unit_dd = np.empty(n_units), np.empty(n_units)
    for b in _unit_blocks(n_units, n_periods):
        y = Y[b] - y_row[b, None] - y_col
        d = D[b] - d_row[b, None] - d_col
        unit_dy[b] = np.einsum("ij,ij->i", d, y)
        unit_dd[b] = np.einsum("ij,ij->i", d, d)
    dd = float(unit_dd.sum())
    if dd <= 1e-12:
        raise NotEstimable(
            "absorbed", f"{treatname} is absorbed by the fixed effects (no variation left)"
        )
    att = float(unit_dy.sum()) / dd
    n_groups = int(groups.max()) + 1
    clusters = cluster_of[:, 0].astype(np.intp)
    scores = np.bincount(clusters, unit_dy, n_groups) - att * np.bincount(
        clusters, unit_dd, n_groups
    )
    return att, float(np.sqrt(scores @ scores) / dd)


def _balanced(data, yname, treatname, unit, time, n_units, n_periods, groups):
    """β and its unscaled sandwich standard error on a balanced panel without weights.

    The two-way demeaned value of row (i, t) is ``x_it - x̄_i - x̄_t + x̄`` exactly, so
    one pass collects the unit and period means and a second pass, chunk by chunk,
    forms ``d̈`` and ``ÿ`` and accumulates ``Σ d̈ ÿ``, ``Σ d̈²`` and the cluster sums
    of ``d̈ ÿ`` and ``d̈²`` (the score of cluster g is ``Σ_g d̈ ÿ - β Σ_g d̈²``).
    """
    y_all = data[yname].to_numpy()
    d_all = data[treatname].to_numpy()
    y_unit, d_unit = np.zeros(n_units), np.zeros(n_units)
    y_time, d_time = np.zeros(n_periods), np.zeros(n_periods)
    for part in chunks(len(y_all)):
        # bincount takes platform integers: converted once for the four sums.
        u, t = unit[part].astype(np.intp), time[part].astype(np.intp)
        y, d = y_all[part].astype(float, copy=False), d_all[part].astype(float)
        y_unit += np.bincount(u, y, n_units)
        d_unit += np.bincount(u, d, n_units)
        y_time += np.bincount(t, y, n_periods)
        d_time += np.bincount(t, d, n_periods)
    y_mean, d_mean = y_time.sum() / len(y_all), d_time.sum() / len(y_all)
    y_unit /= n_periods
    d_unit /= n_periods
    y_time = y_time / n_units - y_mean
    d_time = d_time / n_units - d_mean
    dy = dd = 0.0
    n_groups = 0 if groups is None else int(groups.max()) + 1
    a, b = np.zeros(n_groups), np.zeros(n_groups)
    for part in chunks(len(y_all)):
        u, t = unit[part], time[part]
        y = y_all[part] - y_unit[u] - y_time[t]
        d = d_all[part] - d_unit[u] - d_time[t]
        dy += float(d @ y)
        dd += float(d @ d)
        if groups is not None:
            a += np.bincount(groups[part], d * y, n_groups)
            b += np.bincount(groups[part], d * d, n_groups)
    if dd <= 1e-12:
        raise NotEstimable(
            "absorbed", f"{treatname} is absorbed by the fixed effects (no variation left)"
        )
    att = dy / dd
    if groups is not None:
        scores = a - att * b
        return att, float(np.sqrt(scores @ scores) / dd)
    # One score per row: Σ (d̈ ê)², a third pass.
    total = 0.0
    for part in chunks(len(y_all)):
        u, t = unit[part], time[part]
        y = y_all[part] - y_unit[u] - y_time[t]
        d = d_all[part] - d_unit[u] - d_time[t]
        score = d * (y - att * d)
        total += float(score @ score)
    return att, float(np.sqrt(total) / dd)


def _demeaned(data, yname, treatname, weights, unit, time, groups) -> tuple[float, float]:
    """β and its unscaled sandwich standard error by weighted two-way demeaning."""
    # Imported here: analysis.did.inference imports scipy.stats (about a second), which
    # the TWFE estimate does not need (tests/test_bench.py, the held-out race).
    from analysis.did.inference import _two_way_demean

    w = data[weights].to_numpy(float) if weights else None
    y = _two_way_demean(data[yname].to_numpy(float), unit, time, weights=w)
    d = _two_way_demean(data[treatname].to_numpy(float), unit, time, weights=w)
    wd = d if w is None else w * d
    dd = float(wd @ d)
    if dd <= 1e-12:
        raise NotEstimable(
            "absorbed", f"{treatname} is absorbed by the fixed effects (no variation left)"
        )
    att = float(wd @ y) / dd
    resid = y - att * d
    scores = np.bincount(groups, wd * resid) if groups is not None else wd * resid
    return att, float(np.sqrt(scores @ scores) / dd)


def _panelols(data, yname, tname, idname, treatname, weights, groups) -> tuple[float, float]:
    """β and its standard error from linearmodels PanelOLS (its own small-sample factor)."""
    # Imported here: the default path does not need linearmodels (nor its import time).
    from linearmodels.panel import PanelOLS

    frame = data.set_index([idname, tname])
    model = PanelOLS(
        frame[yname].astype(float),
        frame[[treatname]].astype(float),
        entity_effects=True,
        time_effects=True,
        weights=frame[weights] if weights else None,
        drop_absorbed=True,
    )
    if groups is not None:
        codes = pd.DataFrame({"cluster": groups}, index=frame.index)
        fit = model.fit(cov_type="clustered", clusters=codes)
    else:
        fit = model.fit(cov_type="robust")
    return float(fit.params[treatname]), float(fit.std_errors[treatname])


def _result(att, se, alpha, n_obs, n_units, n_clusters, ssc) -> TWFEResult:
    """Normal-approximation interval and p-value around a coefficient and its standard error."""
    z = special.ndtri(1 - alpha / 2)
    return TWFEResult(
        att,
        se,
        att - z * se,
        att + z * se,
        float(2 * special.ndtr(-abs(att / se))),
        n_obs,
        n_units,
        n_clusters,
        "robust" if n_clusters is None else "clustered",
        ssc,
    )
