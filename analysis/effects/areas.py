"""Area-level inference: the few-treated-areas placebo test with its area-robust interval, an
area-level pre-trend test, and the wild cluster bootstrap; the verdict rule of the analysis plan.
"""

from __future__ import annotations

import pandas as pd

from analysis.did import wild_bootstrap
from analysis.did.checks import EstimationError
from analysis.did.inference import area_placebo_test
from analysis.effects.estimates import EffectEstimate


def area_inference(
    panel: pd.DataFrame, reps: int, seed: int, alpha: float = 0.05, pre_periods: int = 3
) -> dict:
    """Area-level inference for one outcome (numbers only: what the results file stores).

    ``area_*``: :func:`analysis.did.inference.area_placebo_test` of the simple ATT
    (studentized, comparison areas only) with its area-robust interval and the MDE of
    that test; ``pretrend_area_p``: the same test of the mean pre-enrolment placebo
    effect over ``pre_periods`` quarters; ``anticipation_area_p``: of the effect in
    the quarter before enrolment (one quarter of anticipation); ``wild_p_bootstrap``: the restricted wild
    cluster bootstrap by area of the TWFE coefficient (shown, not used to decide).
    """
    test = area_placebo_test(
        panel,
        "y",
        "t",
        "person_id",
        "g",
        area="area",
        hhname="household_id",
        alpha=alpha,
        seed=seed,
    )

    def pre_test(quarters: int) -> float | None:
        try:
            return area_placebo_test(
                panel,
                "y",
                "t",
                "person_id",
                "g",
                area="area",
                hhname="household_id",
                alpha=alpha,
                seed=seed,
                pre_periods=quarters,
            ).p_value
        except EstimationError:
            return None

    pre = pre_test(pre_periods)
    # One quarter of anticipation (referral before enrolment) would show as an effect
    # in the quarter before enrolment against the one before it.
    anticipation = pre_test(1)
    wild = wild_bootstrap(
        panel, "y", "t", "person_id", "treated", cluster="area", reps=reps, seed=seed
    )
    return {
        "area_att": test.att,
        "area_se": test.se,
        "area_t": test.t_stat,
        "area_p": test.p_value,
        "area_ci_low": test.ci[0],
        "area_ci_high": test.ci[1],
        "area_critical_value": test.critical_value,
        "area_placebos": test.placebos,
        "area_mde": test.mde(),
        "areas_total": test.n_areas,
        "areas_intervention": test.n_treated_areas,
        "pretrend_area_p": pre,
        "anticipation_area_p": anticipation,
        "wild_att": wild.att,
        "wild_p_bootstrap": wild.p_value,
    }


def reliable(
    est: EffectEstimate,
    area: dict | None,
    adjusted_p: float | None = None,
    alpha: float = 0.05,
) -> bool:
    """Statistically reliable by the analysis plan's rule.

    The household-clustered interval must exclude zero and, where area-level
    inference is available, so must the area-robust interval, and the area test's
    p-value adjusted for multiplicity (``adjusted_p``, the plan's rule over the
    outcomes; the unadjusted one when not given) must be below ``alpha``: with three
    intervention areas, shocks shared within an area are not covered by household
    clustering. The wild cluster bootstrap does not decide: with three treated
    clusters it is known to be unreliable.
    """
    low, high = est.simple.overall_ci
    significant = low > 0 or high < 0
    if area is not None:
        p = area["area_p"] if adjusted_p is None else adjusted_p
        excludes = area["area_ci_low"] > 0 or area["area_ci_high"] < 0
        significant = significant and excludes and p < alpha
    return bool(significant)
