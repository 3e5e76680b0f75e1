"""What ``att_gt`` hands to the aggregations, and inference from influence functions.

:class:`ATTgtResult` (the group-time effects with their influence functions) and
the standard errors and multiplier bootstrap computed from influence functions are
used by :mod:`analysis.did.attgt`, which estimates the effects, and by
:mod:`analysis.did.aggte`, which aggregates them. Kept apart from both, so that the
aggregation need not import the estimator that calls it (``att_gt``'s pre-trend
test aggregates the effects by event time).

Standard errors: ``Var = mean(ψ²)/n``, or with a cluster variable
``Σ_c (Σ_{i∈c} ψ_i)² / n²``. The influence functions come as an ``n × k`` matrix or
as an :class:`Influence`: the never-treated units' rows kept as linear functions
of their outcomes (:mod:`analysis.did.attgt`), whose sums over clusters come from
a clusters × periods table of sums instead of the matrix. Uniform confidence bands: a multiplier bootstrap
(Mammen weights, at cluster level when clustered).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# scipy.special's ndtri is what scipy.stats' normal quantile calls (the same numbers).
from scipy import special

from analysis.did.panel import chunks


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


# Per-cluster sums of z over the never-treated units (Influence._never_sums).
_NEVER_SUMS: dict = {}


@dataclass
class Influence:
    """Influence functions of ``n`` units × ``k`` estimates, the never-treated units' rows
    kept as linear functions of their outcomes (module docstring).

    Row ``i`` of the matrix is ``dense[j]`` for the units ``ever[j]`` and
    ``z_i @ coef`` for the units ``never``, with ``z_i = (w_i Y_i1, …, w_i Y_iT, w_i, 1)``
    (``outcomes`` is the units × periods matrix, ``weights`` the unit weights).
    ``np.asarray`` gives the dense ``n × k`` matrix; :func:`cluster_sums` and
    :func:`standard_errors` work on the pieces.
    """

    n: int
    ever: np.ndarray
    dense: np.ndarray
    never: np.ndarray
    outcomes: np.ndarray
    weights: np.ndarray
    coef: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.coef.shape[1])

    ndim = 2

    def _derive(self, dense: np.ndarray, coef: np.ndarray) -> Influence:
        return Influence(self.n, self.ever, dense, self.never, self.outcomes, self.weights, coef)

    def __getitem__(self, key) -> Influence:
        rows, columns = key
        if not (isinstance(rows, slice) and rows == slice(None)):
            raise IndexError("an Influence selects columns only: influence[:, columns]")
        columns = np.atleast_1d(np.arange(self.shape[1])[columns])
        return self._derive(self.dense[:, columns], self.coef[:, columns])

    def __matmul__(self, matrix: np.ndarray) -> Influence:
        matrix = np.asarray(matrix, dtype=float)
        if matrix.ndim == 1:
            matrix = matrix[:, None]
        return self._derive(self.dense @ matrix, self.coef @ matrix)

    def mean(self, axis: int) -> Influence:
        if axis != 1:
            raise ValueError("an Influence averages its columns only (axis=1)")
        k = self.shape[1]
        return self @ np.full(k, 1.0 / k)

    def plus(self, ever_values: np.ndarray, never_value: float) -> Influence:
        """A one-column influence plus a unit vector: ``ever_values`` on the units held
        densely, the constant ``never_value`` on the never-treated."""
        coef = self.coef.copy()
        coef[-1, 0] += never_value
        return self._derive(self.dense + np.asarray(ever_values).reshape(-1, 1), coef)

    @staticmethod
    def stack(parts: list[Influence]) -> Influence:
        """The columns of several influences side by side (``np.column_stack``)."""
        return parts[0]._derive(
            np.hstack([p.dense for p in parts]), np.hstack([p.coef for p in parts])
        )

    def _z(self, part) -> np.ndarray:
        rows = self.never[part]
        w = self.weights[rows]
        return np.column_stack([self.outcomes[rows] * w[:, None], w, np.ones(len(rows))])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = np.zeros(self.shape)
        out[self.ever] = self.dense
        for part in chunks(len(self.never), self.outcomes.shape[1] + 2):
            out[self.never[part]] = self._z(part) @ self.coef
        return out if dtype is None else out.astype(dtype)

    def _never_sums(self, clusters: np.ndarray) -> np.ndarray:
        """Per-cluster sums of ``z`` over the never-treated units (clusters × (T + 2))."""
        # Every influence derived from one estimate shares its outcomes and clusters:
        # their sums are formed once (held while both arrays live, for a few estimates).
        key = (id(self.outcomes), id(self.never), id(clusters))
        cached = _NEVER_SUMS.get(key)
        if cached is not None and all(
            ref() is obj
            for ref, obj in zip(cached[0], (self.outcomes, self.never, clusters), strict=True)
        ):
            return cached[1]
        n_clusters = int(clusters.max()) + 1
        T = self.outcomes.shape[1]
        labels = clusters[self.never]
        w = self.weights[self.never]
        sums = np.empty((n_clusters, T + 2))
        for t in range(T):
            sums[:, t] = np.bincount(labels, w * self.outcomes[self.never, t], n_clusters)
        sums[:, T] = np.bincount(labels, w, n_clusters)
        sums[:, T + 1] = np.bincount(labels, minlength=n_clusters)
        for stale in [k for k, v in _NEVER_SUMS.items() if any(r() is None for r in v[0])]:
            del _NEVER_SUMS[stale]
        while len(_NEVER_SUMS) >= 4:
            del _NEVER_SUMS[next(iter(_NEVER_SUMS))]
        refs = tuple(weakref.ref(obj) for obj in (self.outcomes, self.never, clusters))
        _NEVER_SUMS[key] = (refs, sums)
        return sums

    def _ever_sums(self, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The clusters of the densely held units, and their rows summed within each."""
        labels = clusters[self.ever]
        order = np.argsort(labels, kind="stable")
        labels = labels[order]
        starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]]) if len(labels) else []
        if not len(labels):
            return labels, np.zeros((0, self.shape[1]))
        return labels[starts], np.add.reduceat(self.dense[order], starts, axis=0)

    def cluster_sums(self, clusters: np.ndarray | None) -> np.ndarray:
        """The influence summed within clusters (clusters × k), or the dense matrix."""
        if clusters is None:
            return np.asarray(self)
        out = self._never_sums(clusters) @ self.coef
        where, sums = self._ever_sums(clusters)
        out[where] += sums
        return out

    def sum_of_squares(self, clusters: np.ndarray | None) -> np.ndarray:
        """Per column, ``Σ_c (Σ_{i∈c} ψ_i)²`` (``Σ_i ψ_i²`` without clusters).

        The clusters × k sums are formed a block of ``CHUNK`` clusters at a time.
        """
        total = np.zeros(self.shape[1])
        if clusters is None:
            total += (self.dense**2).sum(axis=0)
            for part in chunks(len(self.never), self.outcomes.shape[1] + 2):
                total += ((self._z(part) @ self.coef) ** 2).sum(axis=0)
            return total
        never_sums = self._never_sums(clusters)
        where, ever_sums = self._ever_sums(clusters)
        # Rows by the width of the sums, not of the block: a column's number does not
        # depend on how many columns are computed with it.
        for part in chunks(len(never_sums), never_sums.shape[1]):
            block = never_sums[part] @ self.coef
            inside = (where >= part.start) & (where < part.stop)
            block[where[inside] - part.start] += ever_sums[inside]
            total += (block**2).sum(axis=0)
        return total


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
    if isinstance(influence, Influence):
        return influence.cluster_sums(clusters)
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
    if isinstance(influence, Influence):
        return np.sqrt(influence.sum_of_squares(clusters)) / n
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
    if not isinstance(influence, Influence):
        influence = influence.reshape(n, -1)
    influence = cluster_sums(influence, clusters)
    rng = np.random.default_rng(seed)
    k1 = (1 - np.sqrt(5)) / 2
    k2 = (1 + np.sqrt(5)) / 2
    p_k1 = (np.sqrt(5) + 1) / (2 * np.sqrt(5))
    draws = np.empty((biters, influence.shape[1]))
    for b in range(biters):
        v = np.where(rng.random(influence.shape[0]) < p_k1, k1, k2)
        draws[b] = v @ influence / n
    q75, q25 = np.percentile(draws, [75, 25], axis=0)
    se = (q75 - q25) / (special.ndtri(0.75) - special.ndtri(0.25))
    se = np.where(se > 0, se, np.nan)
    t_max = np.nanmax(np.abs(draws) / se, axis=1)
    return se, float(np.quantile(t_max, 1 - alpha))
