"""Two-way fixed effects (unit and period) DiD with linearmodels ``PanelOLS``.

    y_it = α_i + λ_t + β D_it + ε_it,   D_it = 1{unit i treated in period t},

estimated by OLS with both sets of effects absorbed. The default path absorbs them
by alternating projections (exact two-way demeaning, Frisch–Waugh–Lovell) and never
builds a dummy matrix, so it scales to tens of millions of rows; its coefficient and
standard errors equal linearmodels ``PanelOLS`` (which ``method="panelols"`` calls,
and which the tests compare against): the covariance is
``(d̈'d̈)⁻¹ Σ_g (Σ_{i∈g} d̈_i ê_i)² (d̈'d̈)⁻¹ × N / (N - K - units - periods + 1)``,
the small-sample scaling linearmodels applies. With staggered adoption and
effects that change over time β is a weighted average of 2×2 comparisons that can
include "forbidden" ones (already-treated units as controls), which is why the
Callaway–Sant'Anna estimator is reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from linearmodels.panel import PanelOLS
from scipy import stats

from analysis.did.checks import EstimationError, require_columns


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
) -> TWFEResult:
    """Estimate β of the two-way fixed-effects regression (module docstring).

    Parameters
    ----------
    data : long panel.
    yname, tname, idname : outcome, period, unit id columns.
    treatname : 0/1 column, 1 in the unit's treated periods.
    cluster : column to cluster on (for example household or area); None gives
        heteroskedasticity-robust standard errors.
    weights : optional regression weights (always estimated with PanelOLS).
    method : "demean" (fast, default) or "panelols" (linearmodels).
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
    if method == "demean" and weights is None:
        return _twfe_demeaned(data, yname, tname, idname, treatname, cluster, alpha)
    frame = data.set_index([idname, tname])
    if frame.index.duplicated().any():
        raise EstimationError(f"more than one row per {idname} and {tname}")
    model = PanelOLS(
        frame[yname].astype(float),
        frame[[treatname]].astype(float),
        entity_effects=True,
        time_effects=True,
        weights=frame[weights] if weights else None,
        drop_absorbed=True,
    )
    if cluster:
        codes = pd.Series(pd.factorize(frame[cluster])[0], index=frame.index, name="cluster")
        fit = model.fit(cov_type="clustered", clusters=codes.to_frame())
        n_clusters = int(codes.nunique())
    else:
        fit = model.fit(cov_type="robust")
        n_clusters = None
    return _result(
        float(fit.params[treatname]),
        float(fit.std_errors[treatname]),
        alpha,
        int(fit.nobs),
        int(frame.index.get_level_values(0).nunique()),
        n_clusters,
    )


def _result(att, se, alpha, n_obs, n_units, n_clusters) -> TWFEResult:
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
    )


def _twfe_demeaned(data, yname, tname, idname, treatname, cluster, alpha) -> TWFEResult:
    from analysis.did.inference import _two_way_demean

    unit, units = pd.factorize(data[idname])
    time, periods = pd.factorize(data[tname])
    if pd.Series(unit * len(periods) + time).duplicated().any():
        raise EstimationError(f"more than one row per {idname} and {tname}")
    y = _two_way_demean(data[yname].to_numpy(float), unit, time)
    d = _two_way_demean(data[treatname].to_numpy(float), unit, time)
    dd = float(d @ d)
    if dd <= 1e-12:
        raise EstimationError(f"{treatname} is absorbed by the fixed effects (no variation left)")
    att = float(d @ y) / dd
    resid = y - att * d
    n_obs = len(y)
    df_model = 1 + len(units) + len(periods) - 1
    scale = n_obs / (n_obs - df_model)
    if cluster:
        groups = pd.factorize(data[cluster])[0]
        scores = np.bincount(groups, d * resid)
        n_clusters = int(groups.max() + 1)
    else:
        scores = d * resid
        n_clusters = None
    se = float(np.sqrt(scale * (scores @ scores)) / dd)
    return _result(att, se, alpha, int(n_obs), int(len(units)), n_clusters)
