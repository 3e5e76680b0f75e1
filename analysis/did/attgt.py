"""Callaway and Sant'Anna (2021) group-time average treatment effects, ATT(g,t).

For each cohort ``g`` (first treated period) and period ``t``,

    ATT(g,t) = E[Y_t - Y_b | G = g] - E[Y_t - Y_b | C],

where the base period ``b`` is ``g - 1 - anticipation`` for post-treatment periods
and ``t - 1`` for pre-treatment periods ("varying" base, R's default), and the
comparison units ``C`` are the never-treated (``gname == 0``) or, with
``control_group="notyettreated"``, also the units first treated after
``max(t, b) + anticipation``. Covariates enter through outcome regression, inverse
probability weighting or the doubly robust combination (:mod:`analysis.did.drdid`).

Standard errors come from the influence functions: ``Var = mean(ψ²)/n``, or with a
cluster variable ``Σ_c (Σ_{i∈c} ψ_i)² / n²``. Without covariates, a never-treated
unit with every period observed has, in every cell, the influence
``ψ_i = -n w_i (Y_it - Y_ib - η_C) / Σ_C w``: a linear function of its row of
outcomes. Those rows are kept as that function (:class:`Influence`), and sums over
them come from the per-cluster sums of ``w Y`` (a cluster × period table), so a
comparison pool of millions of persons never needs its units × cells matrix; the
units ever treated keep theirs densely. Uniform confidence bands come from a
multiplier bootstrap (Mammen weights, at cluster level when clustered). Each 2×2
comparison uses the units observed in both ``t`` and ``b``, so unbalanced panels
are allowed.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

# scipy.special's ndtri is what scipy.stats' normal quantile calls (the same numbers,
# without importing scipy.stats: the F and χ² tails of the pre-trend test import it there).
from scipy import special

from analysis.did import drdid
from analysis.did.aggte import aggte
from analysis.did.checks import EstimationError, NotEstimable, require_columns
from analysis.did.influence import (
    ATTgtResult,
    Influence,
    cluster_sums,
    multiplier_bootstrap,
    standard_errors,
)
from analysis.did.panel import (
    chunks,
    codes,
    constant_within,
    first_appearance_codes,
    first_rows,
    one_row_per_cell,
)

# False: every unit's influence dense, as before the sums (the tests compare the two).
BY_SUMS = True
# Cells of the dense path computed at once, in threads of their own.
CELL_THREADS = 2


def parse_formula(xformla: str | list[str] | None) -> list[str] | None:
    """Covariate columns of an R-style one-sided formula ``"~ x1 + x2"`` (or a list as is).

    Only sums of column names are taken: transformations (``I(x^2)``, ``log(x)``,
    interactions) are refused with a clear error rather than read wrongly; build such
    columns in the data first.
    """
    if xformla is None or isinstance(xformla, list | tuple):
        return list(xformla) if xformla else None
    text = xformla.strip()
    if not text.startswith("~"):
        raise EstimationError(
            f"xformla must be a one-sided formula like '~ x1 + x2', got {xformla!r}"
        )
    terms = [term.strip() for term in text[1:].split("+")]
    if any(not term.isidentifier() and term != "1" for term in terms):
        raise EstimationError(
            f"xformla {xformla!r}: only sums of column names are supported (no functions, "
            "powers or interactions); add transformed columns to the data instead"
        )
    columns = [term for term in terms if term != "1"]
    return columns or None


def _wide(data, yname, tname, idname, gname, weights, cluster, xformla):
    """The long panel as a units × periods outcome matrix, and the per-unit columns.

    Units are numbered in sorted order of their ids (the order of ``np.unique``),
    periods in sorted order; every full-length pass runs in chunks
    (:mod:`analysis.did.panel`), so the panel's length costs a few int32 codes and
    one byte a cell beside the matrix.
    """
    unit_index, ids = codes(data[idname], sort=True)
    if not np.issubdtype(data[tname].dtype, np.integer):
        times = data[tname].to_numpy()
        if not np.all(np.mod(times, 1) == 0):
            raise EstimationError(f"{tname} must hold whole numbers (quarter indices)")
    period_index, periods = codes(data[tname], sort=True)
    periods = periods.astype(np.int64)
    n_units = len(ids)
    one_row_per_cell(unit_index, period_index, n_units, len(periods), idname, tname)
    Y = np.full((n_units, len(periods)), np.nan)
    y = data[yname].to_numpy()
    for part in chunks(len(y)):
        Y[unit_index[part], period_index[part]] = y[part]
    first_row = first_rows(unit_index, n_units)
    if not constant_within(data[gname].to_numpy(), unit_index, first_row):
        raise EstimationError(f"{gname} must be constant within each {idname}")
    # Each unit's first row, then as float: no float copy of the whole column.
    G = data[gname].to_numpy()[first_row].astype(float)
    w = data[weights].to_numpy()[first_row].astype(float) if weights else np.ones(n_units)
    clusters = None
    if cluster:
        values = data[cluster].to_numpy()
        if not constant_within(values, unit_index, first_row):
            raise EstimationError(f"cluster {cluster!r} must be constant within each {idname}")
        # Numbered in the order the clusters first appear in the data.
        clusters = first_appearance_codes(values[first_row], first_row)
    X = None
    if xformla:
        X = {}
        for column in xformla:
            Xc = np.full((n_units, len(periods)), np.nan)
            Xc[unit_index, period_index] = data[column].to_numpy(dtype=float)
            X[column] = Xc
    return Y, G, w, clusters, X, periods


def att_gt(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    xformla: str | list[str] | None = None,
    control_group: str = "nevertreated",
    est_method: str = "dr",
    cluster: str | None = None,
    weights: str | None = None,
    anticipation: int = 0,
    alpha: float = 0.05,
    bstrap: bool = False,
    biters: int = 999,
    seed: int = 0,
    base_period: str = "varying",
    pretest: bool = True,
) -> ATTgtResult:
    """Estimate every ATT(g,t); see the module docstring for the estimating equations.

    Parameters
    ----------
    data : long panel, one row per unit and period.
    yname, tname, idname, gname : outcome, period (consecutive integers), unit id, and
        first treated period (0 for never treated).
    xformla : covariates (values from the base period): an R-style formula
        ``"~ x1 + x2"`` (as R's ``did``; ``"~ 1"`` for none) or a list of columns, or None.
    control_group : "nevertreated" or "notyettreated".
    est_method : "dr", "ipw" or "reg".
    cluster : column to cluster standard errors on (constant within unit).
    weights : sampling weights (constant within unit).
    anticipation : periods of anticipation before ``g``.
    bstrap, biters, seed : multiplier bootstrap for standard errors and uniform bands.
    base_period : "varying" (pre-period cells compare ``t`` with ``t - 1``, R's
        default) or "universal" (every cell compares with ``g - 1 - anticipation``,
        which is left out; the event study then has the shape HonestDiD expects).
    pretest : run :func:`pretrend_test` into ``result.pretest`` (False leaves it
        empty, for callers that only aggregate the cells).

    Kept whole: one estimator, step by step as the module docstring writes its equations
    (checks, cohorts and periods, the 2×2 comparisons, the influence functions,
    inference, the pre-trend test); its length is mostly the parameters and their
    documentation, and the steps share the panel's coded arrays.
    """
    require_columns(
        data, yname=yname, tname=tname, idname=idname, gname=gname, cluster=cluster, weights=weights
    )
    xformla = parse_formula(xformla)
    for column in xformla or []:
        require_columns(data, covariate=column)
    if base_period not in ("varying", "universal"):
        raise EstimationError(f"base_period must be 'varying' or 'universal', got {base_period!r}")
    if control_group not in ("nevertreated", "notyettreated"):
        raise EstimationError(
            f"control_group must be 'nevertreated' or 'notyettreated', got {control_group!r}"
        )
    if est_method not in drdid.ESTIMATORS:
        raise EstimationError(
            f"est_method must be one of {', '.join(drdid.ESTIMATORS)}, got {est_method!r}"
        )
    Y, G, w, clusters, X, periods = _wide(
        data, yname, tname, idname, gname, weights, cluster, xformla
    )
    if np.any(np.diff(periods) != 1):
        raise EstimationError(f"{tname} must be consecutive integers (quarter indices); got gaps")
    n = len(G)
    groups = np.sort(np.unique(G[G > 0]))
    if len(groups) == 0:
        raise NotEstimable("no_treated", f"no treated units: every {gname} is 0")
    if control_group == "nevertreated" and not np.any(G == 0):
        raise NotEstimable(
            "no_comparison",
            f"no never-treated units ({gname} == 0); use control_group='notyettreated'",
        )
    # Cohorts treated in the first period have no pre-period and cannot be estimated.
    groups = groups[groups > periods[0] + anticipation]
    if len(groups) == 0:
        raise NotEstimable(
            "no_pre_period",
            "every cohort is treated from the first period: no pre-period to compare with",
        )
    t_position = {t: i for i, t in enumerate(periods)}
    never = G == 0
    # Without covariates, complete never-treated rows are kept as linear functions
    # of their outcomes (module docstring); otherwise every unit's influence is dense.
    by_sums = (
        BY_SUMS
        and X is None
        and not any(np.isnan(Y[part][never[part]]).any() for part in chunks(n, Y.shape[1]))
    )
    if by_sums:
        rows, influence = _cells_by_sums(
            Y, G, w, groups, periods, control_group, anticipation, base_period
        )
    else:
        rows = []
        # Filled column by column; np.empty leaves unused columns untouched (not resident).
        influence = np.empty((n, len(groups) * (len(periods) - 1)), order="F")
        # A cell reads two periods of every unit: the outcomes by period (column-major)
        # and which units each period observes are laid out once, so a cell reads two
        # contiguous columns instead of a cache line of every unit's row (the same values).
        Y = np.asfortranarray(Y)
        observed = np.asfortranarray(~np.isnan(Y))
        cohorts = {g: G == g for g in groups}

        def cell(g, t):
            """One ATT(g,t): its row, the units it uses and their influence (None: no cell)."""
            treated = cohorts[g]
            post = t >= g - anticipation
            base = g - 1 - anticipation if post or base_period == "universal" else t - 1
            if base not in t_position or base == t:
                return None
            if control_group == "nevertreated":
                control = never
            else:
                control = never | ((G > max(t, base) + anticipation) & (G != g))
            y_t, y_b = Y[:, t_position[t]], Y[:, t_position[base]]
            keep = (treated | control) & observed[:, t_position[t]] & observed[:, t_position[base]]
            n_treated, n_control = int((keep & treated).sum()), int((keep & control).sum())
            if n_treated == 0:
                return None
            if n_control == 0:
                raise NotEstimable(
                    "no_comparison",
                    f"no comparison units for cohort {g} in period {t} (control_group={control_group!r})",
                )
            dy = (y_t - y_b)[keep]
            D = treated[keep].astype(float)
            if X is None:
                att, inf = drdid.means_did(dy, D, w[keep])
            else:
                covariates = np.column_stack(
                    [np.ones(keep.sum())] + [X[c][keep, t_position[base]] for c in X]
                )
                if np.isnan(covariates).any():
                    raise EstimationError(f"missing covariate values in base period {base}")
                att, inf = drdid.ESTIMATORS[est_method](dy, D, covariates, w[keep])
            row = {
                "group": int(g),
                "time": int(t),
                "event_time": int(t - g),
                "post": bool(post),
                "att": att,
                "n_treated": n_treated,
                "n_control": n_control,
            }
            return row, keep, inf

        def place(done) -> None:
            if done is None:
                return
            row, keep, inf = done
            column = influence[:, len(rows)]
            column[:] = 0.0
            column[keep] = inf * n / keep.sum()
            rows.append(row)

        # The cells are computed CELL_THREADS at a time (NumPy releases the GIL in their
        # full-length passes) and placed in order: the same columns, rows and first error
        # as one after the other, with a few cells' units and influence in flight.
        with ThreadPoolExecutor(max_workers=CELL_THREADS) as pool:
            flight: deque = deque()
            for g in groups:
                for t in periods[1:]:
                    flight.append(pool.submit(cell, g, t))
                    if len(flight) > CELL_THREADS:
                        place(flight.popleft().result())
            while flight:
                place(flight.popleft().result())
        influence = influence[:, : len(rows)]
    table = pd.DataFrame(rows)
    table["se"] = standard_errors(influence, clusters, n)
    z = special.ndtri(1 - alpha / 2)
    critical = z
    if bstrap:
        se_boot, critical = multiplier_bootstrap(influence, clusters, n, biters, alpha, seed)
        table["se"] = se_boot
    table["ci_low"] = table["att"] - z * table["se"]
    table["ci_high"] = table["att"] + z * table["se"]
    table["band_low"] = table["att"] - critical * table["se"]
    table["band_high"] = table["att"] + critical * table["se"]
    result = ATTgtResult(
        table=table[
            [
                "group",
                "time",
                "event_time",
                "post",
                "att",
                "se",
                "ci_low",
                "ci_high",
                "band_low",
                "band_high",
                "n_treated",
                "n_control",
            ]
        ],
        influence=influence,
        unit_groups=G,
        unit_weights=w,
        unit_clusters=clusters,
        n_units=n,
        alpha=alpha,
        control_group=control_group,
        est_method=est_method,
        anticipation=anticipation,
        critical_value=critical,
        seed=seed,
        biters=biters if bstrap else 0,
    )
    if pretest:
        result.pretest = pretrend_test(result)
    return result


def _cells_by_sums(Y, G, w, groups, periods, control_group, anticipation, base_period):
    """Every ATT(g,t) without covariates, the never-treated units entering through sums.

    ``ATT(g,t) = Σ_T w ΔY / Σ_T w - Σ_C w ΔY / Σ_C w`` (the difference in weighted
    mean ``ΔY = Y_t - Y_b`` of :func:`analysis.did.drdid.means_did`), with the
    never-treated units' part of ``Σ_C w ΔY`` taken from their per-period sums of
    ``w Y`` and their influence kept as its coefficients on ``(w Y, w, 1)``
    (:class:`Influence`). Requires the never-treated units' outcomes in every period.
    """
    n, T = Y.shape
    t_position = {t: i for i, t in enumerate(periods)}
    never = np.flatnonzero(G == 0)
    ever = np.flatnonzero(G != 0)
    Y_ever, G_ever, w_ever = Y[ever], G[ever], w[ever]
    w_never = w[never]
    n_never = len(never)
    sw_never = float(w_never.sum())
    swy_never = np.zeros(T)
    for part in chunks(len(never), T):
        swy_never += w_never[part] @ Y[never[part]]
    rows, dense, coef = [], [], []
    for g in groups:
        for t in periods[1:]:
            post = t >= g - anticipation
            base = g - 1 - anticipation if post or base_period == "universal" else t - 1
            if base not in t_position or base == t:
                continue
            it, ib = t_position[t], t_position[base]
            y_t, y_b = Y_ever[:, it], Y_ever[:, ib]
            observed = ~np.isnan(y_t) & ~np.isnan(y_b)
            treated = observed & (G_ever == g)
            if control_group == "nevertreated":
                control = np.zeros(len(ever), bool)
            else:
                control = observed & (G_ever > max(t, base) + anticipation) & (G_ever != g)
            n_treated, n_control = int(treated.sum()), n_never + int(control.sum())
            if n_treated == 0:
                continue
            if n_control == 0:
                raise NotEstimable(
                    "no_comparison",
                    f"no comparison units for cohort {g} in period {t} (control_group={control_group!r})",
                )
            dy = y_t - y_b
            sw_t = w_ever[treated].sum()
            eta_t = float(w_ever[treated] @ dy[treated]) / sw_t
            sw_c = sw_never + w_ever[control].sum()
            eta_c = (swy_never[it] - swy_never[ib] + w_ever[control] @ dy[control]) / sw_c
            column = np.zeros(len(ever))
            column[treated] = n * w_ever[treated] * (dy[treated] - eta_t) / sw_t
            column[control] = -n * w_ever[control] * (dy[control] - eta_c) / sw_c
            dense.append(column)
            # ψ_i = -n w_i (Y_it - Y_ib - η_C) / Σ_C w for a never-treated unit.
            on_z = np.zeros(T + 2)
            on_z[it] -= n / sw_c
            on_z[ib] += n / sw_c
            on_z[T] = n * eta_c / sw_c
            coef.append(on_z)
            rows.append(
                {
                    "group": int(g),
                    "time": int(t),
                    "event_time": int(t - g),
                    "post": bool(post),
                    "att": float(eta_t - eta_c),
                    "n_treated": n_treated,
                    "n_control": n_control,
                }
            )
    k = len(rows)
    influence = Influence(
        n,
        ever,
        np.column_stack(dense) if k else np.zeros((len(ever), 0)),
        never,
        Y,
        w,
        np.column_stack(coef) if k else np.zeros((T + 2, 0)),
    )
    return rows, influence


def pretrend_test(result: ATTgtResult, window: str = "balanced") -> dict:
    """Wald test that the pre-treatment event-time effects θ(e), e < 0, are zero.

    The test pools cohorts through the dynamic aggregation: ``W = θ' V⁻¹ θ`` over
    the pre-treatment event times, with ``V`` from their (clustered) influence
    functions. Because ``V`` is estimated from the treated clusters (180
    households here), ``W`` is referred to Hotelling's ``T²`` distribution,
    ``W (G - df) / (df (G - 1)) ~ F(df, G - df)`` with ``G`` treated clusters: the χ²
    reference rejected 9 % instead of 5 % on the generator's parallel-trends data
    (Monte Carlo, 40 extracts × 4 outcomes), the F reference 5.6 %. With
    ``window="balanced"`` (default) only the event times to which every cohort
    contributes enter: the longest leads exist only for the last cohorts, are
    estimated from a handful of households each, and their variance estimates are
    too noisy for a χ² reference (the test then rejects far more often than its
    size under parallel trends). ``window="all"`` uses every pre-treatment event
    time. A test on every pre-treatment ATT(g,t) cell instead would need a
    covariance matrix of ~100 cells estimated from a few dozen households per
    cohort, which is close to singular and makes the statistic explode.
    """
    # scipy.stats is slow to import (about a second); only this test of the estimators needs it.
    from scipy import stats

    if window not in ("balanced", "all"):
        raise EstimationError(f"window must be 'balanced' or 'all', got {window!r}")
    nothing = {"statistic": float("nan"), "df": 0, "p_value": float("nan"), "event_times": []}
    # Only the effects and influence functions of the event times are used: the
    # aggregation's bootstrap (standard errors, band) would be computed for nothing.
    dynamic = aggte(dataclasses.replace(result, biters=0), "dynamic")
    if not len(dynamic.table):
        return nothing
    events = dynamic.table["event_time"].to_numpy()
    pre = events < 0
    if window == "balanced":
        table = result.table
        cohorts = table["group"].nunique()
        per_event = table.groupby("event_time")["group"].nunique()
        every = set(per_event.index[per_event == cohorts])
        pre = pre & np.isin(events, list(every))
    if not pre.any():
        return nothing
    att = dynamic.table.loc[pre, "att"].to_numpy()
    inf = cluster_sums(dynamic.influence[:, pre], result.unit_clusters)
    n = result.n_units
    V = inf.T @ inf / n**2
    statistic = float(att @ np.linalg.pinv(V) @ att)
    df = int(np.linalg.matrix_rank(V))
    # Hotelling's small-sample reference: V is estimated from the treated clusters,
    # so W is referred to F(df, G - df) after scaling, with G the number
    # of treated clusters (the scarcer side); χ² when G is too small for that.
    treated = result.unit_groups > 0
    if result.unit_clusters is not None:
        clusters = len(np.unique(result.unit_clusters[treated]))
    else:
        clusters = int(treated.sum())
    if clusters > df + 1:
        scaled = statistic / df * (clusters - df) / (clusters - 1)
        p_value = float(stats.f.sf(scaled, df, clusters - df))
    else:
        p_value = float(stats.chi2.sf(statistic, df))
    return {
        "statistic": statistic,
        "df": df,
        "p_value": p_value,
        "treated_clusters": clusters,
        "event_times": [int(e) for e in events[pre]],
    }
