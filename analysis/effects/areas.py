"""Area-level inference: the few-treated-areas placebo test with its area-robust interval, an
area-level pre-trend test, the area-level event study, and the wild cluster bootstrap; the
verdict rule of the analysis plan.
"""

from __future__ import annotations

from functools import partial

import pandas as pd

from analysis.did import wild_bootstrap
from analysis.did.checks import EstimationError
from analysis.did.inference import area_placebo_test
from analysis.effects.estimates import EffectEstimate


def baseline_level(panel: pd.DataFrame) -> pd.Series:
    """Each household's mean outcome before the first enrolment (index ``household_id``).

    The level a placebo area is matched on (``match_level`` of
    :func:`analysis.did.inference.area_placebo_test`) when an outcome is matched on
    another outcome's baseline, as the analysis plan's ``area_match_on`` says.
    """
    first = panel.loc[panel["g"] > 0, "g"].min()
    before = panel.loc[panel["t"] < first]
    return before.groupby("household_id")["y"].mean()


def match_level(plan, panels: dict, outcome: str) -> pd.Series | None:
    """The baseline level the plan matches ``outcome``'s placebos on (None: its own)."""
    source = plan.inference.area_match_on.get(outcome)
    if source is None or source == outcome or source not in panels:
        return None
    return baseline_level(panels[source])


def outcome_placebo_test(panel: pd.DataFrame, **options) -> partial:
    """:func:`area_placebo_test` bound to an outcome panel's columns (``y``, ``t``,
    ``person_id``, ``g``, ``area``, ``household_id``: :func:`analysis.effects.panels.
    outcome_panel`) and ``options``; called with the test's remaining arguments."""
    return partial(
        area_placebo_test,
        panel,
        "y",
        "t",
        "person_id",
        "g",
        area="area",
        hhname="household_id",
        **options,
    )


def area_covariance(panel: pd.DataFrame, **options):
    """The area-robust covariance of ``panel``'s event study, as a function of the event times.

    For :func:`analysis.effects.sensitivity.sensitivity_analysis`'s ``area_covariance``:
    called with the event times (without the reference) and the target's weights over
    them, it returns :meth:`analysis.did.inference.AreaTestResult.event_covariance` of
    the area test with ``options`` (those of the verdict's test: the same placebos,
    matching and level), scaled so that the target's interval at M̄ = 0 is the area
    test's interval.
    """
    test = outcome_placebo_test(panel, **options)

    def covariance(event_times: list[int], target) -> object:
        return test(event_times=event_times).event_covariance(target)

    return covariance


def area_inference(
    panel: pd.DataFrame,
    reps: int,
    seed: int,
    alpha: float = 0.05,
    pre_periods: int = 3,
    match_bins: int | None = 5,
    match_level: pd.Series | None = None,
    pre_match: bool = True,
) -> dict:
    """Area-level inference for one outcome (numbers only: what the results file stores).

    ``area_*``: :func:`analysis.did.inference.area_placebo_test` of the simple ATT
    (studentized, comparison areas only) with its area-robust interval and the MDE of
    that test; ``pretrend_area_p``: the same test of the mean pre-enrolment placebo
    effect over ``pre_periods`` quarters; ``anticipation_area_p``: of the effect in
    the quarter before enrolment (one quarter of anticipation); ``wild_p_bootstrap``: the restricted wild
    cluster bootstrap by area of the TWFE coefficient (shown, not used to decide).
    ``match_level``: the households' baseline level the placebos are matched on
    (:func:`baseline_level` of another outcome's panel; default: this outcome's own).
    ``pre_match``: whether the pre-enrolment tests' placebos are matched too (the
    analysis plan's ``pre_trends.match_placebos``; docs/evaluation.md weighs the two).
    """
    # The same test on the data after enrolment and, with ``pre_periods``, before it.
    placebo_test = outcome_placebo_test(
        panel, alpha=alpha, seed=seed, match_bins=match_bins, match_level=match_level
    )
    test = placebo_test()

    pre_options = {} if pre_match else {"match_bins": None, "match_level": None}

    def pre_test(quarters: int) -> float | None:
        try:
            return placebo_test(pre_periods=quarters, **pre_options).p_value
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


EVENT_STUDY_COLUMNS = ["event_time", "att", "ci_low", "ci_high", "p"]


def area_event_study(
    panel: pd.DataFrame,
    pre_periods: int,
    alpha: float = 0.05,
    seed: int = 0,
    match_bins: int | None = 5,
    match_level: pd.Series | None = None,
    pre_match: bool = True,
) -> pd.DataFrame:
    """The event study at area level: every event time's estimate with its area-robust interval.

    Event times ``-pre_periods … -1`` and ``0 …`` the last one the panel reaches, each
    :func:`analysis.did.inference.area_placebo_test` with ``event_time``: the same
    estimates as the household-clustered event study (``aggte(..., "dynamic")``), with
    pointwise intervals by test inversion of the placebo-area test (after enrolment
    studentized by the baseline scale, before it by the same statistic at earlier
    event times; placebos matched as the plan says, ``pre_match`` for the quarters
    before enrolment). An event time the test cannot be made for (too few earlier
    windows, no cell) is left out. Columns: :data:`EVENT_STUDY_COLUMNS`.
    """
    enrolled = panel.loc[panel["g"] > 0, "g"]
    if enrolled.empty:
        return pd.DataFrame(columns=EVENT_STUDY_COLUMNS)
    last = int(panel["t"].max() - enrolled.min())
    test = outcome_placebo_test(
        panel, alpha=alpha, seed=seed, match_bins=match_bins, match_level=match_level
    )
    unmatched = {"match_bins": None, "match_level": None}
    rows = []
    for e in range(-pre_periods, last + 1):
        options = unmatched if e < 0 and not pre_match else {}
        try:
            result = test(event_time=e, **options)
        except EstimationError:
            continue
        rows.append([e, result.att, result.ci[0], result.ci[1], result.p_value])
    return pd.DataFrame(rows, columns=EVENT_STUDY_COLUMNS)


def reliable(
    est: EffectEstimate,
    area: dict | None,
    adjusted_p: float | None = None,
    alpha: float = 0.05,
) -> bool:
    """Statistically reliable by the analysis plan's rule.

    Where area-level inference is available, the verdict rests on it alone: the
    area-robust interval must exclude zero and the area test's p-value adjusted for
    multiplicity (``adjusted_p``, the plan's rule over the outcomes; the unadjusted
    one when not given) must be below ``alpha``. With three intervention areas,
    shocks shared within an area are not covered by household clustering: in the
    size benchmark (docs/evaluation.md, "Size and coverage") the household-clustered
    interval rejects a true null far more often than ``alpha``, so it is shown
    (labelled as not robust to area shocks) but does not decide. Without area-level
    inference (a panel without areas) the household-clustered interval is all there
    is, and the verdict says so by its source. The wild cluster bootstrap does not
    decide either: with three treated clusters it is known to be unreliable.
    """
    if area is None:
        low, high = est.simple.overall_ci
        return bool(low > 0 or high < 0)
    p = area["area_p"] if adjusted_p is None else adjusted_p
    excludes = area["area_ci_low"] > 0 or area["area_ci_high"] < 0
    return bool(excludes and p < alpha)
