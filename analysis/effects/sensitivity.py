"""Rambachan–Roth sensitivity of the average post-enrolment effect to violations of parallel trends."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.did import aggte, att_gt

SENSITIVITY_PRE = 3  # pre-period coefficients (event times -4 … -2; -1 is the reference)
SENSITIVITY_POST = 8  # post-period coefficients at most (event times 0 … 7)
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


def sensitivity_analysis(panel: pd.DataFrame, outcome: str, seed: int = 0) -> Sensitivity | None:
    """Robust intervals for the average effect over the post quarters, against M̄.

    The event study is re-estimated with a universal base period (every coefficient
    relative to the quarter before enrolment), clustered by household, on the window
    of ``SENSITIVITY_PRE`` pre and up to ``SENSITIVITY_POST`` post event times; the
    target is the average of the post coefficients. Intervals come from the ARP
    conditional test (:func:`analysis.did.honestdid.sensitivity_rm`); the breakdown
    value is refined by bisection to 0,01 between the grid's points. None when the
    data have too few pre or post periods.
    """
    from analysis.did import honestdid

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
    dynamic = aggte(result, "dynamic", min_e=-(SENSITIVITY_PRE + 1), max_e=SENSITIVITY_POST - 1)
    betahat, sigma, num_pre, num_post = honestdid.event_study_inputs(dynamic)
    if num_pre < 2 or num_post < 1:
        return None
    options = {"method": "Conditional", "search": "bisection", "seed": seed, "grid_points": 500}

    def run(m_bars):
        return honestdid.sensitivity_rm(
            betahat, sigma, num_pre, num_post, m_bar_vec=m_bars, **options
        )

    table = run(M_BAR_GRID)
    breakdown = honestdid.breakdown_value(table)
    if 0 < breakdown < np.inf:
        low, high = breakdown - 0.1, breakdown
        while high - low > 0.01 + 1e-9:
            mid = round((low + high) / 2, 4)
            row = run([mid]).iloc[0]
            covers = np.isnan(row["lb"]) or row["lb"] <= 0 <= row["ub"]
            low, high = (low, mid) if covers else (mid, high)
        breakdown = round(high, 2)
    original = honestdid.original_ci(betahat, sigma, num_pre, num_post)
    return Sensitivity(outcome, table, original, breakdown, num_pre, num_post)


def _one(args: tuple) -> Sensitivity | None:
    return sensitivity_analysis(*args)


def sensitivity_all(
    panels: dict[str, pd.DataFrame], seed: int = 0, jobs: int = 1
) -> list[Sensitivity | None]:
    """:func:`sensitivity_analysis` of every outcome, in ``jobs`` processes at once.

    The analyses are independent and each is seeded, so the result is the same
    for any ``jobs``; ``jobs=1`` (or where ``fork`` is not available) runs them here.
    """
    import multiprocessing

    work = [(panel, outcome, seed) for outcome, panel in panels.items()]
    if jobs <= 1 or len(work) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [_one(args) for args in work]
    with multiprocessing.get_context("fork").Pool(min(jobs, len(work))) as pool:
        analyses = pool.map(_one, work, chunksize=1)
        # Workers leave on the end-of-work sentinel; leaving the block alone would
        # SIGTERM them, and a worker holding the task queue's lock then hung the stage.
        pool.close()
        pool.join()
    return analyses
