"""Rambachan–Roth sensitivity of the headline estimand to violations of parallel trends.

The target is the estimand the verdict rests on (the analysis plan's
``sensitivity.target: estimand``): the Callaway–Sant'Anna simple ATT, which is a
fixed linear combination of the event-study coefficients (:func:`simple_weights`).
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.did import aggte, att_gt, honestdid
from analysis.effects.areas import area_covariance

SENSITIVITY_PRE = 3  # default pre-period coefficients (event times -4 … -2; -1 is the reference)
M_BAR_GRID = np.round(np.arange(0, 2.0001, 0.1), 2)


@dataclass
class Sensitivity:
    """Rambachan–Roth relative-magnitudes sensitivity of one outcome."""

    outcome: str
    table: pd.DataFrame  # m_bar, lb, ub
    original: tuple[float, float]
    breakdown: float
    num_pre: int
    num_post: int
    target: str = "simple_att"  # the estimand bounded: the headline simple ATT
    estimate: float = float("nan")  # the target's point estimate (= the simple ATT)
    covariance: str = "household"  # of the event study: household-clustered or area placebos


def simple_weights(result, max_e: int) -> np.ndarray:
    """Event-time weights ``l`` with ``l'θ(e) = `` the simple ATT, for ``e = 0 … max_e``.

    The simple aggregation weights each post cell ``(g, t)`` by ``p_g``; grouped by
    event time ``e = t - g`` that is ``θ_simple = Σ_e W_e θ(e) / Σ_e W_e`` with
    ``W_e = Σ_{g: (g, g+e) in the data} p_g``, ``θ(e)`` the dynamic aggregation.
    """
    table = result.table
    post = table.loc[table["post"] & (table["event_time"] <= max_e)]
    G, w = result.unit_groups, result.unit_weights
    pg = {g: float(np.sum(w * (G == g))) for g in post["group"].unique()}
    W = post.assign(p=post["group"].map(pg)).groupby("event_time")["p"].sum()
    W = W.reindex(range(max_e + 1), fill_value=0.0).to_numpy()
    return W / W.sum()


def sensitivity_analysis(
    panel: pd.DataFrame,
    outcome: str,
    seed: int = 0,
    pre_periods: int = SENSITIVITY_PRE,
    m_bars=None,
    refine: bool = True,
    area_covariance=None,
) -> Sensitivity | None:
    """Robust intervals for the simple ATT (the headline estimand), against M̄.

    The event study is re-estimated with a universal base period (every coefficient
    relative to the quarter before enrolment), clustered by household, on
    ``pre_periods`` pre and every post event time; the target ``l'θ`` uses the
    simple aggregation's weights (:func:`simple_weights`), so it equals the headline
    simple ATT. Intervals come from the ARP conditional test
    (:func:`analysis.did.honestdid.sensitivity_rm`) at ``m_bars`` (default: the
    grid of ``M_BAR_GRID``); with ``refine`` the breakdown value is refined by
    bisection to 0,01 between the grid's points. None when the data have too few
    pre or post periods.

    ``area_covariance``: a function of the event times (without the reference) and
    the target's weights over them that returns an area-robust covariance of the
    event study, used instead of the household-clustered one (the matched area
    placebos' event studies, scaled to the area-robust interval of the target:
    :meth:`analysis.did.inference.AreaTestResult.event_covariance`).
    """
    result = att_gt(
        panel,
        "y",
        "t",
        "person_id",
        "g",
        cluster="household_id",
        base_period="universal",
        pretest=False,  # the event study below is all that is used
    )
    dynamic = aggte(result, "dynamic", min_e=-(pre_periods + 1))
    betahat, sigma, num_pre, num_post = honestdid.event_study_inputs(dynamic)
    if num_pre < 2 or num_post < 1:
        return None
    l_vec = simple_weights(result, num_post - 1)
    if area_covariance is not None:
        events = dynamic.table.iloc[:, 0].to_numpy()
        target = np.concatenate([np.zeros(num_pre), l_vec])
        sigma = area_covariance([int(e) for e in events if e != -1], target)
    # The interval's ends refined past the θ̄ grid's steps (one round: to 1/500 of a
    # step), which otherwise make it narrower than the test's (honestdid.sensitivity_rm).
    options = {
        "method": "Conditional",
        "search": "bisection",
        "seed": seed,
        "grid_points": 500,
        "refine_ends": 1,
    }

    def run(values):
        return honestdid.sensitivity_rm(
            betahat, sigma, num_pre, num_post, l_vec=l_vec, m_bar_vec=values, **options
        )

    grid = np.asarray(M_BAR_GRID if m_bars is None else m_bars, dtype=float)
    table = run(grid)
    breakdown = honestdid.breakdown_value(table)
    if refine and 0 < breakdown < np.inf:
        step = float(np.min(np.diff(np.sort(grid)))) if len(grid) > 1 else 0.1
        low, high = breakdown - step, breakdown
        while high - low > 0.01 + 1e-9:
            mid = round((low + high) / 2, 4)
            row = run([mid]).iloc[0]
            covers = np.isnan(row["lb"]) or row["lb"] <= 0 <= row["ub"]
            low, high = (low, mid) if covers else (mid, high)
        breakdown = round(high, 2)
    original = honestdid.original_ci(betahat, sigma, num_pre, num_post, l_vec=l_vec)
    estimate = float(l_vec @ betahat[num_pre:])
    covariance = "household" if area_covariance is None else "area"
    return Sensitivity(
        outcome, table, original, breakdown, num_pre, num_post, "simple_att", estimate, covariance
    )


def _one(args: tuple) -> Sensitivity | None:
    panel, outcome, seed, area_test, options = args
    if area_test is not None:
        # Built here, in the worker: a closure over the panel cannot be sent to it.
        options = {**options, "area_covariance": area_covariance(panel, **area_test)}
    return sensitivity_analysis(panel, outcome, seed, **options)


def sensitivity_all(
    panels: dict[str, pd.DataFrame],
    seed: int = 0,
    jobs: int = 1,
    area_tests: dict[str, dict] | None = None,
    **options,
) -> list[Sensitivity | None]:
    """:func:`sensitivity_analysis` of every outcome, in ``jobs`` processes at once.

    ``area_tests``: outcome → the options of its area test
    (:func:`analysis.effects.areas.outcome_placebo_test`: ``alpha``, ``seed``,
    ``match_bins``, ``match_level``); an outcome named there gets the area-robust
    covariance of :func:`analysis.effects.areas.area_covariance` (its
    :attr:`Sensitivity.covariance` is ``"area"``), the others the household-clustered
    one. The analyses are independent and each is seeded, so the result is the same
    for any ``jobs``; ``jobs=1`` (or where ``fork`` is not available) runs them here.
    """
    area_tests = area_tests or {}
    work = [
        (panel, outcome, seed, area_tests.get(outcome), options)
        for outcome, panel in panels.items()
    ]
    if jobs <= 1 or len(work) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [_one(args) for args in work]
    with multiprocessing.get_context("fork").Pool(min(jobs, len(work))) as pool:
        analyses = pool.map(_one, work, chunksize=1)
        # Workers leave on the end-of-work sentinel; leaving the block alone would
        # SIGTERM them, and a worker holding the task queue's lock then hung the stage.
        pool.close()
        pool.join()
    return analyses
