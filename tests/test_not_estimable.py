"""Estimates that valid data do not allow are results in words, never a stopped build.

Perfect separation in the propensity score of a cohort, covariates collinear in a
comparison, a cohort without comparison units: each raises
:class:`analysis.did.checks.NotEstimable` with a reason, the robustness checks
return :class:`analysis.did.checks.NotEstimated`, and the reports' tables say
"not estimable: <reason>" in Danish and English.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import codec
from analysis.catalogue import entries
from analysis.did import aggte, att_gt
from analysis.did.checks import (
    REASONS,
    EstimationError,
    NotEstimable,
    NotEstimated,
    or_not_estimable,
)
from analysis.effects.robustness import covariate_estimate, not_yet_estimate, subgroup_estimates
from analysis.reports import evaluation as ev


def _panel(seed=3, n=300, periods=6):
    """Persons in households, cohorts 4 and 5 and never treated, the covariates of the outcome panels."""
    rng = np.random.default_rng(seed)
    person = np.repeat(np.arange(n), periods)
    g = np.repeat(rng.choice([0, 4, 5], n), periods)
    t = np.tile(np.arange(1, periods + 1), n)
    y = (
        np.repeat(rng.normal(size=n), periods)
        + 0.5 * ((g > 0) & (t >= g))
        + rng.normal(size=n * periods)
    )
    return pd.DataFrame(
        {
            "treated": ((g > 0) & (t >= g)).astype(int),
            "person_id": person,
            "household_id": person // 2,
            "t": t,
            "g": g,
            "y": y,
            "area": np.where(g > 0, np.repeat(rng.choice(["HOU", "ELL"], n), periods), "C01"),
            "age": np.repeat(rng.integers(18, 65, n), periods).astype(float),
            "female": np.repeat(rng.integers(0, 2, n), periods).astype(float),
            "open_cases": np.repeat(rng.integers(2, 6, n), periods).astype(float),
            "single_parent": np.repeat(rng.integers(0, 2, n), periods).astype(float),
        }
    )


def _separated():
    panel = _panel()
    # Cohort 4's households have more open cases than any comparison household.
    panel.loc[panel["g"] == 4, "open_cases"] += 100
    return panel


def test_separation_in_the_propensity_score_is_not_estimable():
    # Before: a finite estimate from propensity scores of 1 (the comparison weights on the clip).
    with pytest.raises(NotEstimable) as raised:
        att_gt(_separated(), "y", "t", "person_id", "g", xformla="~ open_cases", est_method="dr")
    assert raised.value.reason == "separation"
    with pytest.raises(NotEstimable):
        att_gt(_separated(), "y", "t", "person_id", "g", xformla="~ open_cases", est_method="ipw")


def test_collinear_covariates_are_not_estimable():
    # Before: numpy's LinAlgError "Singular matrix" out of the propensity score's logit.
    panel = _panel().assign(constant=1.0)
    with pytest.raises(NotEstimable) as raised:
        att_gt(panel, "y", "t", "person_id", "g", xformla="~ constant", est_method="dr")
    assert raised.value.reason == "singular_design"


def test_the_propensity_score_is_unchanged_where_it_exists():
    panel = _panel()
    result = att_gt(panel, "y", "t", "person_id", "g", xformla="~ age + female", est_method="dr")
    assert np.isfinite(result.table["att"]).all() and np.isfinite(result.table["se"]).all()


def test_a_wrong_call_is_still_an_error():
    with pytest.raises(EstimationError) as raised:
        att_gt(_panel(), "nope", "t", "person_id", "g")
    assert not isinstance(raised.value, NotEstimable)
    assert or_not_estimable(lambda: 1)() == 1
    with pytest.raises(KeyError):
        or_not_estimable(lambda: {}["x"])()


def test_robustness_checks_return_the_reason_instead_of_stopping():
    result = covariate_estimate(_separated())
    assert isinstance(result, NotEstimated) and result.reason == "separation"
    # No comparison unit at all for the not-yet-treated: one cohort, no never-treated.
    only = _panel().query("g == 4")
    assert not_yet_estimate(only).reason == "no_comparison"
    panel = _panel()
    # A subgroup made only of a cohort without pre-period cannot be estimated; the others can.
    panel.loc[panel["area"] == "ELL", "g"] = 1
    subgroups = subgroup_estimates(panel, "area")
    assert isinstance(subgroups["ELL"], NotEstimated)
    assert subgroups["ELL"].reason == "no_pre_period"
    assert np.isfinite(subgroups["HOU"].overall_att)


def test_every_reason_has_words_in_both_languages():
    for reason in REASONS:
        texts = entries()[f"not_estimable.{reason}"]
        assert texts["da"] and texts["en"] and texts["da"] != texts["en"]


def test_tables_show_a_check_that_is_not_estimable_in_words(tmp_path):
    from analysis.effects.estimates import estimate

    panel = _panel()
    est = {"ladder_step": estimate(panel, "ladder_step")}
    dr = {"ladder_step": covariate_estimate(_separated())}
    # Stored and read back as the stage does.
    codec.dump(dr, tmp_path)
    dr = codec.load(tmp_path)
    assert dr["ladder_step"] == NotEstimated("separation", dr["ladder_step"].detail)
    da = ev.covariate_table(est, dr, "da")
    en = ev.covariate_table(est, dr, "en")
    assert da.loc[0, "doubly_robust"].startswith("ikke estimerbar: baggrundsvariablene adskiller")
    assert en.loc[0, "doubly_robust"].startswith("not estimable: the covariates separate")
    assert da.loc[0, "95pct_ci_doubly_robust"] == ""
    table, numbers = ev.robustness_table(est["ladder_step"], dr["ladder_step"], "en")
    assert table.loc[1, "ev_estimate"].startswith("not estimable") and numbers == {
        "not_yet_att": None
    }
    assert isinstance(table.loc[0, "ev_estimate"], float)


def test_a_subgroup_that_cannot_be_estimated_is_listed_with_its_reason():
    from types import SimpleNamespace

    from analysis.reports.stage import Subgroups

    payments = SimpleNamespace(as_of="2028Q3", is_hidden=lambda key: False)
    estimates = {"HOU": aggte(att_gt(_panel(), "y", "t", "person_id", "g"), "simple")}
    estimates["ELL"] = NotEstimated(
        "no_pre_period", "every cohort is treated from the first period"
    )
    groups = Subgroups("ladder_step", "area", estimates, {"HOU": 120, "ELL": 40})
    table = ev.heterogeneity_table(groups, {}, "da", payments)
    assert list(table["group"]) == ["HOU", "ELL"]
    assert (
        table.loc[1, "ATT"] == "ikke estimerbar: intet kvartal før indskrivning at sammenligne med"
    )


def test_the_programme_that_stopped_the_build_reports_not_estimable(tmp_path):
    """Finding 8: a valid small programme whose doubly robust estimate stopped every report.

    The sweep's programme 3 (143 planned households, half of them never enrolled,
    5.9 comparison households each, the timeline two years later) validates; the
    doubly robust estimate of the ladder step then stopped the build with numpy's
    "Singular matrix" (a cohort separated by its covariates).
    """
    from analysis.config import load_contract, load_synthetic
    from analysis.data.synth import generate
    from analysis.data.validate import load_extract
    from analysis.effects.panels import estimation_panels
    from analysis.provenance import sign_extract
    from analysis.reports.kinds import load_kind
    from analysis.sweep import programmes, write_configuration

    design = programmes(30, load_contract().seed)[2]
    assert (design["households"], design["shortfall"], design["shift_years"]) == (143, 0.5, 2)
    contract_file, synthetic_file, _ = write_configuration(design, tmp_path)
    contract = load_contract(contract_file)
    generate(tmp_path / "x", contract, load_synthetic(synthetic_file), contract.seed)
    sign_extract(tmp_path / "x")
    extract = load_extract(tmp_path / "x", contract)
    cutoff = load_kind("final").as_of(contract, None)
    panel = estimation_panels(extract, cutoff, contract, ["ladder_step"])["ladder_step"]
    result = covariate_estimate(panel)
    assert isinstance(result, NotEstimated) and result.reason == "separation"
    # The estimates without covariates are there as before.
    assert np.isfinite(not_yet_estimate(panel).overall_att)


def test_too_few_areas_for_an_area_test_keeps_every_row_and_says_why():
    """Sweep programme 8 (5 areas, 3 with the intervention): C(5, 3) = 10 placebo
    assignments cannot give a test at 5 %, so no outcome has an area test, and the
    final report stopped with StopIteration in this table."""
    from analysis.effects.estimates import estimate

    est = {"ladder_step": estimate(_panel(), "ladder_step")}
    for lang, words in (("da", "ikke estimerbar"), ("en", "not estimable")):
        table = ev.area_inference_table(est, {}, lang)
        assert len(table) == 1 and table.loc[0, "ci_area_robust"].startswith(words)
        assert table.loc[0, "p_area_adjusted"] is None
        # The verdict rests on the household-clustered interval, as the caption says.
        low, high = est["ladder_step"].simple.overall_ci
        yes = {"da": "ja", "en": "yes"}[lang]
        assert (table.loc[0, "statistically_reliable"] == yes) == (low > 0 or high < 0)
        assert "household-clustered" in ev.area_inference_caption(table, "en") or lang == "da"
        assert table.attrs["assignments"] is None


def test_with_an_area_test_for_every_outcome_the_verdict_table_has_no_household_interval():
    """The household-clustered interval ignores area shocks; where every verdict rests on
    the area test it is shown only in the annex, and the wild bootstrap not at all."""
    from analysis.effects.estimates import estimate

    est = {"ladder_step": estimate(_panel(), "ladder_step")}
    area = {
        "area_ci_low": 0.1,
        "area_ci_high": 0.3,
        "area_p": 0.01,
        "pretrend_area_p": 0.5,
        "anticipation_area_p": 0.4,
        "wild_p_bootstrap": 0.2,
        "area_placebos": 1140,
    }
    table = ev.area_inference_table(est, {"ladder_step": area}, "en")
    assert "ci_household_clusters" not in table.columns
    assert "ci_area_robust" in table.columns
    assert not any("wild" in c for c in table.columns)
    assert table.loc[0, "statistically_reliable"] == "yes"
