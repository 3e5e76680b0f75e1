"""What ``att_gt`` hands to the aggregations, and inference from influence functions.

:class:`ATTgtResult` (the group-time effects with their influence functions) and
the standard errors and multiplier bootstrap computed from influence functions are
used by :mod:`analysis.did.attgt`, which estimates the effects, and by
:mod:`analysis.did.aggte`, which aggregates them. Kept apart from both, so that the
aggregation need not import the estimator that calls it (``att_gt``'s pre-trend
test aggregates the effects by event time).

Standard errors: ``Var = mean(ψ²)/n``, or with a cluster variable
``Σ_c (Σ_{i∈c} ψ_i)² / n²``. Uniform confidence bands: a multiplier bootstrap
(Mammen weights, at cluster level when clustered).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats


@dataclass
class ATTgtResult:
    """Group-time effects, their influence functions and what is needed to aggregate them.

    ``table`` is tidy: group, time, event_time, post, att, se, ci_low, ci_high
    (pointwise) and band_low, band_high (uniform), n_treated, n_control.
    """

    table: pd.DataFrame
    influence: np.ndarray
    unit_groups: np.ndarray
    unit_weights: np.ndarray
    unit_clusters: np.ndarray | None
    n_units: int
    alpha: float
    control_group: str
    est_method: str
    anticipation: int
    pretest: dict = field(default_factory=dict)
    critical_value: float = float("nan")
    seed: int | None = None
    biters: int = 0

    def summary(self) -> pd.DataFrame:
        return self.table


# Columns of an influence matrix summed at a time: pandas' grouped sum copies its
# input (sorted by cluster), so a block bounds that copy, not the whole n × cells matrix.
CLUSTER_BLOCK = 16


def _cluster_block(influence: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    return pd.DataFrame(influence).groupby(clusters).sum().to_numpy()


def cluster_sums(influence: np.ndarray, clusters: np.ndarray | None) -> np.ndarray:
    """Influence functions summed within clusters (unchanged when there are none).

    Summed a block of columns at a time; each column's sums are computed alone
    either way (pandas' compensated sum, rows in order), so the result is the same.
    """
    if clusters is None:
        return influence
    if influence.ndim == 1 or influence.shape[1] <= CLUSTER_BLOCK:
        return _cluster_block(influence, clusters)
    first = _cluster_block(influence[:, :CLUSTER_BLOCK], clusters)
    order = "F" if first.flags.f_contiguous else "C"
    out = np.empty((first.shape[0], influence.shape[1]), order=order)
    out[:, :CLUSTER_BLOCK] = first
    for start in range(CLUSTER_BLOCK, influence.shape[1], CLUSTER_BLOCK):
        stop = start + CLUSTER_BLOCK
        out[:, start:stop] = _cluster_block(influence[:, start:stop], clusters)
    return out


def standard_errors(influence: np.ndarray, clusters: np.ndarray | None, n: int) -> np.ndarray:
    """Analytic standard errors from influence functions (columns), optionally clustered.

    Computed a block of columns at a time, so the clustered sums of all cells
    (clusters × cells) are never held at once; each column's sum of squares is
    the same reduction as over the whole matrix.
    """
    influence = influence.reshape(n, -1)
    if clusters is None or influence.shape[1] <= CLUSTER_BLOCK:
        sums = cluster_sums(influence, clusters)
        return np.sqrt((sums**2).sum(axis=0)) / n
    out = np.empty(influence.shape[1])
    for start in range(0, influence.shape[1], CLUSTER_BLOCK):
        stop = start + CLUSTER_BLOCK
        sums = _cluster_block(influence[:, start:stop], clusters)
        out[start:stop] = np.sqrt((sums**2).sum(axis=0)) / n
    return out


def multiplier_bootstrap(
    influence: np.ndarray, clusters: np.ndarray | None, n: int, biters: int, alpha: float, seed: int
) -> tuple[np.ndarray, float]:
    """Bootstrap standard errors and the uniform critical value (Mammen weights)."""
    influence = cluster_sums(influence.reshape(n, -1), clusters)
    rng = np.random.default_rng(seed)
    k1 = (1 - np.sqrt(5)) / 2
    k2 = (1 + np.sqrt(5)) / 2
    p_k1 = (np.sqrt(5) + 1) / (2 * np.sqrt(5))
    draws = np.empty((biters, influence.shape[1]))
    for b in range(biters):
        v = np.where(rng.random(influence.shape[0]) < p_k1, k1, k2)
        draws[b] = v @ influence / n
    q75, q25 = np.percentile(draws, [75, 25], axis=0)
    se = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    se = np.where(se > 0, se, np.nan)
    t_max = np.nanmax(np.abs(draws) / se, axis=1)
    return se, float(np.quantile(t_max, 1 - alpha))
