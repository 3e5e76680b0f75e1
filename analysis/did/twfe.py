"""Two-way fixed effects (unit and period) DiD with linearmodels ``PanelOLS``.

    y_it = α_i + λ_t + β D_it + ε_it,   D_it = 1{unit i treated in period t},

estimated by OLS with both sets of effects absorbed. With staggered adoption and
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
) -> TWFEResult:
    """Estimate β of the two-way fixed-effects regression (module docstring).

    Parameters
    ----------
    data : long panel.
    yname, tname, idname : outcome, period, unit id columns.
    treatname : 0/1 column, 1 in the unit's treated periods.
    cluster : column to cluster on (for example household or area); None gives
        heteroskedasticity-robust standard errors.
    weights : optional regression weights.
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
    att = float(fit.params[treatname])
    se = float(fit.std_errors[treatname])
    z = stats.norm.ppf(1 - alpha / 2)
    return TWFEResult(
        att,
        se,
        att - z * se,
        att + z * se,
        float(2 * stats.norm.sf(abs(att / se))),
        int(fit.nobs),
        int(frame.index.get_level_values(0).nunique()),
        n_clusters,
        "clustered" if cluster else "robust",
    )
