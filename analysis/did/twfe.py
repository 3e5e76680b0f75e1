"""Two-way fixed effects (unit and period) DiD.

    y_it = α_i + λ_t + β D_it + ε_it,   D_it = 1{unit i treated in period t},

estimated by (weighted) least squares with both sets of effects absorbed. The
default path absorbs them by alternating projections (exact two-way demeaning,
Frisch–Waugh–Lovell) and never builds a dummy matrix, so it scales to tens of
millions of rows; ``method="panelols"`` calls linearmodels ``PanelOLS`` instead
(the tests compare the two). With weights ``w`` the estimate is
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
from linearmodels.panel import PanelOLS
from scipy import stats

from analysis.did.checks import EstimationError, NotEstimable, require_columns

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
    require_columns(
        data,
        yname=yname,
        tname=tname,
        idname=idname,
        treatname=treatname,
        cluster=cluster,
        weights=weights,
    )
    if not set(np.unique(data[treatname])) <= {0, 1}:
        raise EstimationError(f"treatname={treatname!r} must be 0/1")
    if method not in ("demean", "panelols"):
        raise EstimationError(f"method must be 'demean' or 'panelols', got {method!r}")
    if ssc not in CONVENTIONS:
        raise EstimationError(f"ssc must be one of {', '.join(CONVENTIONS)}, got {ssc!r}")
    if weights is not None and not (data[weights] > 0).all():
        raise EstimationError(f"weights={weights!r} must be positive")
    unit, units = pd.factorize(data[idname])
    time, periods = pd.factorize(data[tname])
    if pd.Series(unit * len(periods) + time).duplicated().any():
        raise EstimationError(f"more than one row per {idname} and {tname}")
    # Factorised before any index is set: the cluster may be the unit id itself.
    groups = pd.factorize(data[cluster])[0] if cluster else None
    n_obs = len(data)
    if method == "demean":
        att, raw_se = _demeaned(data, yname, treatname, weights, unit, time, groups)
        raw_factor = 1.0
    else:
        att, raw_se = _panelols(data, yname, tname, idname, treatname, weights, groups)
        # linearmodels' own scaling, undone below so both paths share one convention.
        raw_factor = n_obs / (n_obs - len(units) - len(periods))
    n_clusters = int(groups.max() + 1) if groups is not None else None
    factor = _small_sample(n_obs, unit, time, len(units), len(periods), groups, n_clusters, ssc)
    se = raw_se * np.sqrt(factor / raw_factor)
    return _result(att, se, alpha, n_obs, len(units), n_clusters, ssc)


def _nested(fe: np.ndarray, groups: np.ndarray) -> bool:
    """True when every level of the fixed effect ``fe`` lies within one cluster."""
    pairs = pd.DataFrame({"fe": fe, "g": groups}).drop_duplicates()
    return not pairs["fe"].duplicated().any()


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
    unit_nested, time_nested = _nested(unit, groups), _nested(time, groups)
    if not unit_nested:
        k += n_units
    if not time_nested:
        k += n_periods - (0 if unit_nested else 1)
    return n_clusters / (n_clusters - 1) * (n - 1) / (n - k)


def _demeaned(data, yname, treatname, weights, unit, time, groups) -> tuple[float, float]:
    """β and its unscaled sandwich standard error by weighted two-way demeaning."""
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
    z = stats.norm.ppf(1 - alpha / 2)
    return TWFEResult(
        att,
        se,
        att - z * se,
        att + z * se,
        float(2 * stats.norm.sf(abs(att / se))),
        n_obs,
        n_units,
        n_clusters,
        "robust" if n_clusters is None else "clustered",
        ssc,
    )
