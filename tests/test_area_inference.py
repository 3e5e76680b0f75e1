"""Few-treated-areas inference: the placebo-area test and its interval, the wild cluster
bootstrap against wildboottest, the analysis plan and its multiplicity rule."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.did import aggte, att_gt, wild_bootstrap
from analysis.did.checks import EstimationError
from analysis.did.inference import _critical_value, area_placebo_test, pseudo_cohorts

DATA = Path(__file__).parent / "data"


def _areas(
    seed=4,
    effect=0.0,
    n_areas=14,
    treated=(1, 5),
    per_area=40,
    periods=8,
    shock=0.0,
    cohorts=(4, 5, 6),
):
    """Persons in households (two each) in areas, two of them intervention areas."""
    rng = np.random.default_rng(seed)
    n = n_areas * per_area
    ids = np.repeat(np.arange(n), periods)
    t = np.tile(np.arange(1, periods + 1), n)
    area = ids // per_area
    hh = ids // 2
    cohort_of_hh = rng.choice(list(cohorts), n // 2)
    g = np.where(np.isin(area, treated), cohort_of_hh[hh], 0)
    area_shock = rng.normal(0, shock, (n_areas, periods))[area, t - 1]
    y = (
        np.repeat(rng.normal(size=n), periods)
        + 0.2 * t
        + area_shock
        + rng.normal(size=n * periods)
        + effect * ((g > 0) & (t >= g))
    )
    return pd.DataFrame({"id": ids, "t": t, "g": g, "y": y, "hh": hh, "area": area})


def _test(data, **options):
    return area_placebo_test(data, "y", "t", "id", "g", area="area", hhname="hh", **options)


def test_estimate_is_the_simple_att_and_placebos_are_att_gt_on_comparison_areas():
    from itertools import combinations

    data = _areas().sample(frac=0.9, random_state=2)  # unbalanced
    result = _test(data, match_bins=None, studentize="household")
    observed = aggte(att_gt(data, "y", "t", "id", "g"), "simple")
    assert result.att == pytest.approx(observed.overall_att, abs=1e-10)
    assert result.se == result.se_household
    # The household-clustered SE without the weights' estimation term.
    assert result.se_household == pytest.approx(
        aggte(att_gt(data, "y", "t", "id", "g", cluster="hh"), "simple").overall_se, rel=0.1
    )
    comparison = [a for a in range(14) if a not in (1, 5)]
    assert result.placebos == len(list(combinations(comparison, 2))) == 66
    # A placebo: two comparison areas with pseudo cohorts against the other comparison
    # areas, the intervention areas left out, estimated by att_gt.
    households = data.drop_duplicates("hh")[["hh", "area", "g"]]
    pseudo = pseudo_cohorts(households, "g", "area", "hh").set_index("hh")["g"]
    assert not np.isin(result.placebo_areas, ["1", "5"]).any()
    for j in (0, 17, 65):
        chosen = result.placebo_areas[j].astype(int)
        part = data.loc[~data["area"].isin([1, 5])]
        g = np.where(part["area"].isin(chosen), part["hh"].map(pseudo), 0)
        slow = aggte(att_gt(part.assign(g=g), "y", "t", "id", "g"), "simple").overall_att
        assert result.placebo_att[j] == pytest.approx(slow, abs=1e-10)
    assert 1 / 67 <= result.p_value <= 1


def _hand_weights(data, first, bins=5, level=None):
    """Baseline-matching weights by hand (pandas): each household's mean outcome before
    ``first`` (or ``level``, one per household), bins at the treated households'
    quantiles, persons' shares per area."""
    base = data.loc[data["t"] < first].groupby("id")["y"].mean()
    units = data.drop_duplicates("id").set_index("id")[["hh", "area", "g"]]
    units["base"] = base
    households = units.groupby("hh").agg(
        base=("base", "mean"), area=("area", "first"), g=("g", "first"), persons=("base", "size")
    )
    if level is not None:
        households["base"] = level.reindex(households.index)
    treated = households["g"] > 0
    edges = np.unique(households.loc[treated, "base"].quantile(np.linspace(0, 1, bins + 1)[1:-1]))
    households["bin"] = np.searchsorted(edges, households["base"], side="left")
    target = households.loc[treated].groupby("bin")["persons"].sum()
    target = target / target.sum()
    weight = pd.Series(1.0, index=households.index)
    for _, part in households.loc[~treated].groupby("area"):
        share = part.groupby("bin")["persons"].sum() / part["persons"].sum()
        weight[part.index] = part["bin"].map(target.reindex(share.index).fillna(0) / share)
    return data["hh"].map(weight)


def test_matched_placebo_is_att_gt_with_baseline_matching_weights():
    """A placebo's estimate is the simple ATT with its households reweighted (by hand, in
    pandas) to the intervention households' baseline levels; the observed one is not."""
    data = _areas(seed=3, periods=10, cohorts=(6, 7, 8))
    # Intervention households sit higher: matching must move the placebo estimates.
    data["y"] += 1.5 * data["area"].isin([1, 5]) + 0.5 * data["y"].abs()
    matched = _test(data, match_bins=5, studentize="household")
    unmatched = _test(data, match_bins=None, studentize="household")
    assert matched.att == unmatched.att
    assert not np.allclose(matched.placebo_att, unmatched.placebo_att)
    households = data.drop_duplicates("hh")[["hh", "area", "g"]]
    pseudo = pseudo_cohorts(households, "g", "area", "hh").set_index("hh")["g"]
    part = data.loc[~data["area"].isin([1, 5])]
    weight = _hand_weights(data.loc[data["g"] > 0].pipe(lambda d: pd.concat([d, part])), 6)
    for j in (0, 31, 65):
        chosen = matched.placebo_areas[j].astype(int)
        placebo = part.assign(
            g=np.where(part["area"].isin(chosen), part["hh"].map(pseudo), 0),
            w=np.where(part["area"].isin(chosen), weight.loc[part.index], 1.0),
        )
        slow = aggte(att_gt(placebo, "y", "t", "id", "g", weights="w"), "simple").overall_att
        assert matched.placebo_att[j] == pytest.approx(slow, abs=1e-10)


def test_placebos_matched_on_another_baseline_level():
    """``match_level`` (one level per household, as the plan's ``area_match_on``): the
    placebos are reweighted to the intervention households' distribution of that level,
    by hand as above; the household means of the outcome's own baseline reproduce the
    default matching."""
    data = _areas(seed=3, periods=10, cohorts=(6, 7, 8))
    data["y"] += 1.5 * data["area"].isin([1, 5]) + 0.5 * data["y"].abs()
    own = data.loc[data["t"] < 6].groupby(["hh", "id"])["y"].mean().groupby("hh").mean()
    default = _test(data, match_bins=5, studentize="household")
    same = _test(data, match_bins=5, studentize="household", match_level=own)
    np.testing.assert_allclose(same.placebo_att, default.placebo_att, rtol=1e-12)
    # Another level (a latent index the outcome is a threshold of), intervention
    # households higher on it.
    rng = np.random.default_rng(8)
    households = data.drop_duplicates("hh").set_index("hh")
    index = pd.Series(
        rng.normal(size=len(households)) + 1.0 * households["area"].isin([1, 5]),
        index=households.index,
    )
    other = _test(data, match_bins=5, studentize="household", match_level=index)
    assert other.att == default.att
    assert not np.allclose(other.placebo_att, default.placebo_att)
    pseudo = pseudo_cohorts(households.reset_index()[["hh", "area", "g"]], "g", "area", "hh")
    pseudo = pseudo.set_index("hh")["g"]
    part = data.loc[~data["area"].isin([1, 5])]
    weight = _hand_weights(data, 6, level=index)
    for j in (0, 31, 65):
        chosen = other.placebo_areas[j].astype(int)
        placebo = part.assign(
            g=np.where(part["area"].isin(chosen), part["hh"].map(pseudo), 0),
            w=np.where(part["area"].isin(chosen), weight.loc[part.index], 1.0),
        )
        slow = aggte(att_gt(placebo, "y", "t", "id", "g", weights="w"), "simple").overall_att
        assert other.placebo_att[j] == pytest.approx(slow, abs=1e-10)


def test_baseline_studentized_statistic_does_not_depend_on_a_groups_shock_scale():
    """Multiplying the intervention group's deviations from the comparison mean by κ
    (a larger response to the same shocks) multiplies its estimate and baseline scale
    alike: t and the placebos are unchanged."""
    data = _areas(seed=5, periods=12, cohorts=(7, 8, 9), shock=0.5)
    treated = data["area"].isin([1, 5])
    centre = data.loc[~treated].groupby("t")["y"].mean()
    deviation = data["y"] - data["t"].map(centre)
    louder = data.assign(y=np.where(treated, data["t"].map(centre) + 2.5 * deviation, data["y"]))
    # Unmatched: matching would follow the louder group's baseline levels.
    base, loud = _test(data, match_bins=None), _test(louder, match_bins=None)
    assert loud.att == pytest.approx(2.5 * base.att, rel=1e-9)
    assert loud.t_stat == pytest.approx(base.t_stat, rel=1e-9)
    np.testing.assert_allclose(loud.distribution, base.distribution, rtol=1e-9)
    # The household-clustered studentizer scales only roughly (the comparison role's
    # scores do not), so that t moves.
    hh_base = _test(data, match_bins=None, studentize="household").t_stat
    hh_loud = _test(louder, match_bins=None, studentize="household").t_stat
    assert hh_loud != pytest.approx(hh_base, rel=1e-3)


def test_pre_enrolment_tests_are_studentized_by_their_own_statistic_at_earlier_event_times():
    """A pre-enrolment test's scale is the SD of the same test's estimate with every
    cohort moved back s = K, K + 1, … quarters as far as the data reach: by hand, the
    estimate of the data whose intervention households enrolled s quarters earlier."""
    data = _areas(seed=6, periods=16, cohorts=(10, 11, 12), shock=0.5)
    treated = data["g"] > 0
    for k in (1, 3):
        result = _test(data, match_bins=None, pre_periods=k)
        # The earliest cohort's first tested quarter is 10 - k with base 9 - k, and
        # quarter 1 is the first: the moved windows reach back to s = 8 - k.
        moved = [
            _test(
                data.assign(g=np.where(treated, data["g"] - s, 0)),
                match_bins=None,
                pre_periods=k,
                studentize="household",
            ).att
            for s in range(k, 9 - k)
        ]
        assert len(moved) >= 3
        assert result.se == pytest.approx(np.std(moved, ddof=1), rel=1e-10)
    # The post-enrolment test keeps the SD of the gap's levels over the baseline.
    post = _test(data, match_bins=None)
    window = data.loc[data["t"] < 10]
    inside = window["area"].isin([1, 5])
    gap = window.loc[inside].groupby("t")["y"].mean() - window.loc[~inside].groupby("t")["y"].mean()
    assert post.se == pytest.approx(np.std(gap.to_numpy(), ddof=1), rel=1e-10)


def _placebo_scales(data, k):
    """Each placebo's time-shifted scale by hand: SD of its estimates at the moved windows."""
    treated = data["g"] > 0
    moved = [
        _test(
            data.assign(g=np.where(treated, data["g"] - s, 0)),
            match_bins=None,
            pre_periods=k,
            studentize="household",
        ).placebo_att
        for s in range(k, 9 - k)
    ]
    return np.std(np.column_stack(moved), axis=1, ddof=1)


def test_pre_enrolment_null_is_every_placebos_t_at_every_window():
    """The null distribution of the one-quarter (anticipation) test pools, for every
    placebo, its estimate at the tested window and at each moved window over the SD of
    its other windows (as many as the observed t's scale has). By hand: the placebo estimates of
    the data whose cohorts enrolled s quarters earlier are the placebos' moved windows.
    Across placebos alone (the old null) the t's were too narrow: the support level's
    anticipation test rejected a true null in 9 % of 200 extracts (docs/evaluation.md)."""
    data = _areas(seed=6, periods=16, cohorts=(10, 11, 12), shock=0.5)
    treated = data["g"] > 0
    # Windows of three quarters overlap: their null is the placebos' tested windows.
    three = _test(data, match_bins=None, pre_periods=3)
    np.testing.assert_allclose(three.distribution, three.placebo_att / _placebo_scales(data, 3))
    for k in (1,):
        result = _test(data, match_bins=None, pre_periods=k)
        windows = np.column_stack(
            [result.placebo_att]
            + [
                _test(
                    data.assign(g=np.where(treated, data["g"] - s, 0)),
                    match_bins=None,
                    pre_periods=k,
                    studentize="household",
                ).placebo_att
                for s in range(k, 9 - k)
            ]
        )
        by_hand = np.concatenate(
            [
                windows[:, j] / np.std(np.delete(windows, j, axis=1), axis=1, ddof=1)
                for j in range(windows.shape[1])
            ]
        )
        assert result.placebos == 66
        np.testing.assert_allclose(result.distribution, by_hand, rtol=1e-9)
        count = np.sum(np.abs(by_hand) >= abs(result.t_stat) - 1e-12)
        assert result.p_value == pytest.approx((1 + count) / (1 + len(by_hand)))


def test_pre_enrolment_statistic_does_not_depend_on_a_groups_shock_scale():
    """As for the post-enrolment test: a group responding κ times as much to the same
    shocks has its pre-enrolment estimate and its scale multiplied by κ."""
    data = _areas(seed=5, periods=16, cohorts=(10, 11, 12), shock=0.5)
    treated = data["area"].isin([1, 5])
    centre = data.loc[~treated].groupby("t")["y"].mean()
    deviation = data["y"] - data["t"].map(centre)
    louder = data.assign(y=np.where(treated, data["t"].map(centre) + 2.5 * deviation, data["y"]))
    for k in (1, 3):
        base = _test(data, match_bins=None, pre_periods=k)
        loud = _test(louder, match_bins=None, pre_periods=k)
        assert loud.att == pytest.approx(2.5 * base.att, rel=1e-9)
        assert loud.t_stat == pytest.approx(base.t_stat, rel=1e-9)
        np.testing.assert_allclose(loud.distribution, base.distribution, rtol=1e-9)


def test_a_true_effect_does_not_enter_the_null_and_the_interval_moves_with_it():
    """The old area randomization let treated areas into its null: an effect changed it."""
    null, effect = _test(_areas(effect=0.0)), _test(_areas(effect=5.0))
    np.testing.assert_allclose(effect.distribution, null.distribution, rtol=1e-12)
    assert effect.att == pytest.approx(null.att + 5.0, abs=1e-9)
    assert effect.ci[0] == pytest.approx(null.ci[0] + 5.0, abs=1e-9)
    assert effect.ci[1] == pytest.approx(null.ci[1] + 5.0, abs=1e-9)
    assert effect.p_value == pytest.approx(1 / 67)


def test_the_interval_is_the_set_of_effects_the_test_does_not_reject():
    data = _areas(effect=0.7, shock=0.3)
    result = _test(data)
    treated_post = (data["g"] > 0) & (data["t"] >= data["g"])
    for bound, inside in ((result.ci[0], 1), (result.ci[1], -1)):
        for step, rejected in ((inside * 1e-6, False), (-inside * 1e-6, True)):
            theta = bound + step
            shifted = data.assign(y=data["y"] - theta * treated_post)
            p = _test(shifted).p_value
            assert (p <= 0.05) == rejected, (bound, step, p)


def test_critical_value_gives_p_at_most_alpha_beyond_it():
    draws = np.arange(1, 100, dtype=float)  # B = 99: m = floor(0.05 * 100) = 5
    assert _critical_value(draws, 0.05) == 95.0
    assert _critical_value(draws[:10], 0.05) == float("inf")  # m = 0: never rejects


def test_pre_period_version_and_too_few_areas():
    # Three windows of three quarters before the tested ones (moved back 3, 4, 5): the
    # fewest to take a scale from; one quarter less leaves two.
    data = _areas(effect=2.0, periods=14, cohorts=(10, 11, 12))
    pre = _test(data, pre_periods=3)
    with pytest.raises(EstimationError, match="too few"):
        _test(_areas(effect=2.0, periods=14, cohorts=(9, 10, 11)), pre_periods=3)
    assert pre.p_value > 0.05  # no pre-trend, whatever the effect after enrolment
    with pytest.raises(EstimationError, match="too few"):
        _test(_areas(n_areas=6))


@pytest.mark.slow
def test_placebo_test_holds_its_size_with_area_shocks():
    rejections = [_test(_areas(seed=s, shock=0.5)).p_value <= 0.05 for s in range(200)]
    assert 0.02 <= np.mean(rejections) <= 0.09


def _wild_panel():
    return pd.read_parquet(DATA / "wild_panel.parquet")


def _wildboottest(panel, reps, weights, seed):
    """wildboottest on the unit-demeaned outcome, treatment and quarter dummies (FWL)."""
    from wildboottest.wildboottest import WildboottestCL

    unit = panel["person"].to_numpy()
    count = np.bincount(unit)

    def demean(x):
        return x - (np.bincount(unit, x) / count)[unit]

    quarter = pd.factorize(panel["t"], sort=True)[0]
    dummies = np.eye(quarter.max() + 1)[quarter][:, 1:]
    X = np.column_stack(
        [demean(panel["treated"].to_numpy(float))]
        + [demean(dummies[:, j]) for j in range(dummies.shape[1])]
    )
    R = np.zeros(X.shape[1])
    R[0] = 1
    model = WildboottestCL(
        X,
        demean(panel["y"].to_numpy(float)),
        panel["area"].to_numpy(),
        R,
        reps,
        seed=seed,
        parallel=False,
    )
    model.get_scores(bootstrap_type="11", impose_null=True)
    model.get_weights(weights_type=weights)
    model.get_numer()
    model.get_denom()
    model.get_tboot()
    model.get_vcov()
    model.get_tstat()
    model.get_pvalue()
    return model


def test_wild_bootstrap_replays_wildboottest_draw_for_draw():
    """Same cluster weights, same bootstrap t statistics (up to the common small-sample factor).

    Without projecting the bootstrap residuals on the period effects again, the
    ratio varied by 70 % across replications on this panel.
    """
    panel = _wild_panel()
    reference = _wildboottest(panel, 199, "webb", seed=3)
    ours = wild_bootstrap(panel, "y", "t", "person", "treated", cluster="area", draws=reference.v.T)
    ratio = ours.t_star / np.ravel(reference.t_boot)
    t_ratio = ours.t_stat / float(np.ravel(reference.t_stat)[0])
    np.testing.assert_allclose(ratio, t_ratio, rtol=1e-8)
    assert ours.p_value == pytest.approx(float(reference.pvalue), abs=1e-12)


@pytest.mark.parametrize("weights", ["rademacher", "webb"])
def test_wild_bootstrap_p_value_within_monte_carlo_error_of_stored_wildboottest(weights):
    reference = json.loads((DATA / "wild_bootstrap_reference.json").read_text())
    p_ref = reference["p_value"][weights]
    reps = 9999
    ours = wild_bootstrap(
        _wild_panel(),
        "y",
        "t",
        "person",
        "treated",
        cluster="area",
        reps=reps,
        seed=11,
        weight_type=weights,
    )
    # Four standard errors of the difference of two bootstrap p-values.
    se = np.sqrt(p_ref * (1 - p_ref) * (1 / reps + 1 / reference["B"]))
    assert abs(ours.p_value - p_ref) < 4 * se, (ours.p_value, p_ref)


def test_plan_loads_and_a_bad_plan_is_one_clear_error(tmp_path):
    from analysis.config import ConfigError
    from analysis.effects.plan import checksum, load_plan

    plan = load_plan()
    assert plan.primary_outcome in plan.outcomes
    assert plan.m_bar in plan.m_bar_grid()
    assert len(checksum()) == 64
    text = Path("config/analysis_plan.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "plan.yaml"
    bad.write_text(text.replace("primary_outcome: ladder_step", "primary_outcome: happiness"))
    with pytest.raises(ConfigError, match="primary_outcome"):
        load_plan(bad)
    bad.write_text(text.replace("m_bar: 1.0", "m_bar: 5.0"))
    with pytest.raises(ConfigError, match="m_bar"):
        load_plan(bad)


def test_holm():
    from analysis.effects.plan import holm

    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": None})
    assert adjusted["a"] == pytest.approx(0.03)  # 3 × 0.01
    assert adjusted["c"] == pytest.approx(0.06)  # 2 × 0.03
    assert adjusted["b"] == pytest.approx(0.06)  # max(0.04, 0.06): monotone
    assert adjusted["d"] is None


def test_sensitivity_bounds_the_headline_simple_att():
    from analysis.effects.sensitivity import sensitivity_analysis

    data = _areas(seed=2, effect=0.5, periods=10).rename(
        columns={"id": "person_id", "hh": "household_id"}
    )
    sens = sensitivity_analysis(data, "x", m_bars=[0.0], refine=False)
    simple = aggte(att_gt(data, "y", "t", "person_id", "g"), "simple").overall_att
    assert sens.estimate == pytest.approx(simple, abs=1e-10)
    assert sens.original[0] < simple < sens.original[1]


def test_one_quarter_of_anticipation_is_detected_by_the_last_pre_period():
    data = _areas(seed=6, periods=12, cohorts=(7, 8, 9))
    clean = _test(data, pre_periods=1)
    anticipating = data.assign(y=data["y"] + 3.0 * ((data["g"] > 0) & (data["t"] == data["g"] - 1)))
    early = _test(anticipating, pre_periods=1)
    assert clean.p_value > 0.05
    # Beyond every placebo's t at every window: the smallest p the test can give.
    assert early.p_value == pytest.approx(1 / (1 + len(early.distribution)))
    assert early.att == pytest.approx(clean.att + 3.0, abs=1e-9)


def _estimates(effect):
    from analysis.effects.estimates import estimate

    data = _areas(seed=2, effect=effect, periods=12, cohorts=(7, 8, 9)).rename(
        columns={"id": "person_id", "hh": "household_id"}
    )
    data["treated"] = ((data["g"] > 0) & (data["t"] >= data["g"])).astype(int)
    return estimate(data, "ladder_step")


def test_the_verdict_rests_on_the_area_test_alone():
    """The household-clustered interval neither makes nor vetoes a verdict."""
    from analysis.effects.areas import reliable

    null, strong = _estimates(0.0), _estimates(2.0)
    assert null.simple.overall_ci[0] < 0 < null.simple.overall_ci[1]
    assert strong.simple.overall_ci[0] > 0
    excludes = {"area_p": 0.01, "area_ci_low": 0.1, "area_ci_high": 0.9}
    includes = {"area_p": 0.2, "area_ci_low": -0.1, "area_ci_high": 0.9}
    assert reliable(null, excludes)
    assert not reliable(strong, includes)
    assert not reliable(strong, excludes, adjusted_p=0.06)
    # Without area-level inference the household interval is all there is.
    assert reliable(strong, None) and not reliable(null, None)


def test_power_table_shows_full_enrolment_only_while_enrolment_is_short():
    from analysis.reports.evaluation import power_table

    estimates = {"ladder_step": _estimates(0.3)}
    full = power_table(estimates, 180, 180, "en")
    short = power_table(estimates, 180, 90, "en")
    assert "mde_at_full_enrolment" not in full.columns
    assert short["mde_at_full_enrolment"].iloc[0] == pytest.approx(
        full["mde_now"].iloc[0] * np.sqrt(90 / 180)
    )


def _near_a_cut_off(seed, n_areas=14, treated=(1, 5), per_area=40, periods=12):
    """A discretised outcome (0, 1, 2 at latent cut-offs 1 and 2) with area × quarter
    shocks on the latent index; the intervention households sit near the first cut-off,
    the comparison households mostly well below it (selected on their levels)."""
    rng = np.random.default_rng(seed)
    n = n_areas * per_area
    ids = np.repeat(np.arange(n), periods)
    t = np.tile(np.arange(1, periods + 1), n)
    area, hh = ids // per_area, ids // 2
    in_treated = np.isin(np.arange(n) // per_area, treated)
    g = np.where(np.isin(area, treated), rng.choice([7, 8, 9], n // 2)[hh], 0)
    level = np.where(in_treated, rng.normal(0.9, 0.3, n), rng.normal(-0.2, 0.6, n))
    z = (
        np.repeat(level, periods)
        + rng.normal(0, 0.4, (n_areas, periods))[area, t - 1]
        + rng.normal(0, 0.3, n * periods)
    )
    y = (z > 1).astype(float) + (z > 2)
    return pd.DataFrame({"id": ids, "t": t, "g": g, "y": y, "hh": hh, "area": area})


@pytest.mark.slow
def test_matched_baseline_studentized_test_holds_its_size_near_a_cut_off():
    """The intervention households respond more to the same area shock: the old test
    (unmatched placebos, household-studentized) over-rejects (about 20 %), this one not."""
    old, new = [], []
    for seed in range(200):
        data = _near_a_cut_off(seed)
        old.append(_test(data, match_bins=None, studentize="household").p_value <= 0.05)
        new.append(_test(data).p_value <= 0.05)
    assert np.mean(old) > 0.12
    assert np.mean(new) <= 0.08


def test_pre_enrolment_tests_of_the_reports_match_their_placebos_as_the_plan_says():
    """The plan's ``pre_trends.match_placebos`` decides whether the pre-enrolment tests'
    placebos are matched on the baseline like the area test's."""
    from analysis.effects.areas import area_inference
    from analysis.effects.plan import load_plan

    assert load_plan().pre_trends.match_placebos is True
    data = _areas(seed=2, periods=16, cohorts=(10, 11, 12), shock=0.3).rename(
        columns={"id": "person_id", "hh": "household_id"}
    )
    data["treated"] = ((data["g"] > 0) & (data["t"] >= data["g"])).astype(int)
    test = partial(
        area_placebo_test, data, "y", "t", "person_id", "g", area="area", hhname="household_id"
    )
    matched = area_inference(data, reps=9, seed=1, pre_match=True)
    unmatched = area_inference(data, reps=9, seed=1, pre_match=False)
    for key, k in (("pretrend_area_p", 3), ("anticipation_area_p", 1)):
        assert matched[key] == test(pre_periods=k).p_value
        assert unmatched[key] == test(pre_periods=k, match_bins=None).p_value
        assert matched[key] != unmatched[key]
    # The area test keeps its matched placebos either way.
    assert matched["area_p"] == unmatched["area_p"] == test().p_value


def test_area_event_study_is_the_dynamic_event_study_with_area_robust_intervals():
    """Every event time's estimate is ``aggte(..., "dynamic")``'s, its interval the
    placebo test's inversion at that event time; the quarter before enrolment is the
    anticipation test."""
    from analysis.effects.areas import area_event_study

    data = _areas(seed=6, effect=1.0, periods=16, cohorts=(10, 11, 12), shock=0.5).rename(
        columns={"id": "person_id", "hh": "household_id"}
    )
    table = area_event_study(data, pre_periods=3, match_bins=None)
    dynamic = aggte(att_gt(data, "y", "t", "person_id", "g"), "dynamic").table
    assert table["event_time"].tolist() == list(range(-3, 7))
    expected = dynamic.set_index("event_time")["att"].loc[table["event_time"]].to_numpy()
    np.testing.assert_allclose(table["att"], expected, atol=1e-10)
    assert (table["ci_low"] < table["att"]).all() and (table["att"] < table["ci_high"]).all()
    test = partial(
        area_placebo_test, data, "y", "t", "person_id", "g", area="area",
        hhname="household_id", match_bins=None,
    )  # fmt: skip
    before = table.set_index("event_time").loc[-1]
    assert before["p"] == test(pre_periods=1).p_value
    after = test(event_time=4)
    assert table.set_index("event_time").loc[4, "ci_low"] == after.ci[0]
    # After enrolment the scale is the baseline one, the same at every event time.
    assert after.se == test(event_time=0).se == test().se


def test_area_event_study_figure_has_a_panel_per_outcome_at_the_annexs_event_times():
    """One panel per outcome; only event times the annex's event study shows (the same
    estimates), each point with its area-robust interval."""
    from analysis.effects.areas import area_event_study
    from analysis.reports.evaluation import area_event_study_figure
    from analysis.reports.text import t

    estimates = {"ladder_step": _estimates(0.3), "support_level": _estimates(0.0)}
    data = _areas(seed=2, effect=0.3, periods=12, cohorts=(7, 8, 9)).rename(
        columns={"id": "person_id", "hh": "household_id"}
    )
    table = area_event_study(data, pre_periods=3, match_bins=None)
    # An event time the annex does not show is not drawn.
    extra = pd.DataFrame([[99, 1.0, 0.0, 2.0, 0.5]], columns=table.columns)
    tables = dict.fromkeys(estimates, pd.concat([table, extra], ignore_index=True))
    fig = area_event_study_figure(tables, estimates, "en")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == [
        t("outcome.ladder_step", "en"),
        t("outcome.support_level", "en"),
    ]
    events = estimates["ladder_step"].dynamic.table["event_time"]
    expected = table.loc[table["event_time"].isin(events)]
    for ax in shown:
        (bars,) = ax.containers
        points = bars.lines[0]
        np.testing.assert_allclose(np.asarray(points.get_xdata(), float), expected["event_time"])
        np.testing.assert_allclose(np.asarray(points.get_ydata(), float), expected["att"])


def test_event_vectors_are_universal_base_event_studies_and_give_an_area_covariance():
    """With ``event_times`` every assignment's event study (universal base period) comes
    with the test: the observed one is ``aggte(att_gt(..., base_period="universal"),
    "dynamic")``'s, a placebo's is that of att_gt on its pseudo cohorts; their covariance
    is ``s₀² mean(τ τ')`` over the placebos' studentized vectors, and the sensitivity
    analysis uses it instead of the household-clustered one when given."""
    from scipy import stats

    from analysis.effects.sensitivity import sensitivity_analysis, simple_weights

    data = _areas(seed=6, periods=16, cohorts=(10, 11, 12), shock=0.5).rename(
        columns={"id": "person_id", "hh": "household_id"}
    )

    def universal(frame):
        result = att_gt(frame, "y", "t", "person_id", "g", base_period="universal")
        return result, aggte(result, "dynamic", min_e=-4).table.set_index("event_time")["att"]

    result, observed = universal(data)
    events = [int(e) for e in observed.index if e != -1]
    test = partial(
        area_placebo_test, data, "y", "t", "person_id", "g", area="area",
        hhname="household_id", match_bins=None,
    )  # fmt: skip
    area = test(event_times=events)
    plain = test()
    assert (area.p_value, area.ci) == (plain.p_value, plain.ci)
    np.testing.assert_allclose(area.event_vectors[0], observed.loc[events], atol=1e-10)
    households = data.drop_duplicates("household_id")[["household_id", "area", "g"]]
    pseudo = pseudo_cohorts(households, "g", "area", "household_id").set_index("household_id")
    part = data.loc[~data["area"].isin([1, 5])]
    for j in (0, 40):
        chosen = area.placebo_areas[j].astype(int)
        g = np.where(part["area"].isin(chosen), part["household_id"].map(pseudo["g"]), 0)
        _, placebo = universal(part.assign(g=g))
        np.testing.assert_allclose(area.event_vectors[j + 1], placebo.loc[events], atol=1e-10)
    assert area.scales[0] == area.se
    tau = area.event_vectors[1:] / area.scales[1:, None]
    sigma = area.event_covariance()
    np.testing.assert_allclose(sigma, area.se**2 * tau.T @ tau / len(tau), rtol=1e-12)
    # Scaled to a target: its normal interval is the area-robust one, the shape is kept.
    num_pre = sum(e < 0 for e in events)
    target = np.concatenate([np.zeros(num_pre), simple_weights(result, len(events) - num_pre - 1)])
    scaled = area.event_covariance(target)
    z = stats.norm.ppf(0.975)
    assert z * np.sqrt(target @ scaled @ target) == pytest.approx(
        (area.ci[1] - area.ci[0]) / 2, rel=1e-12
    )
    np.testing.assert_allclose(scaled / scaled[0, 0], sigma / sigma[0, 0], rtol=1e-12)
    # The sensitivity analysis uses it: its original interval is the area-robust one.
    sens = sensitivity_analysis(
        data, "x", m_bars=[0.0], refine=False,
        area_covariance=lambda e, l_vec: test(event_times=e).event_covariance(l_vec),
    )  # fmt: skip
    household = sensitivity_analysis(data, "x", m_bars=[0.0], refine=False)
    assert (sens.covariance, household.covariance) == ("area", "household")
    assert sens.estimate == pytest.approx(area.att, abs=1e-10)
    np.testing.assert_allclose(sens.original, area.ci, rtol=1e-9)
    assert sens.original != household.original


def test_plans_sensitivity_covariance_is_area_placebos_by_default_and_validated(tmp_path):
    """``sensitivity.covariance`` names the event study's covariance of the HonestDiD
    intervals: ``area_placebos`` in the registered plan and when the key is left out,
    ``household_cluster`` accepted, anything else one error naming the key."""
    from analysis.config import ConfigError
    from analysis.effects.plan import load_plan

    assert load_plan().sensitivity.covariance == "area_placebos"
    text = Path("config/analysis_plan.yaml").read_text(encoding="utf-8")
    assert "  covariance: area_placebos\n" in text
    plan = tmp_path / "plan.yaml"
    plan.write_text(text.replace("  covariance: area_placebos\n", ""), encoding="utf-8")
    assert load_plan(plan).sensitivity.covariance == "area_placebos"
    plan.write_text(text.replace("covariance: area_placebos", "covariance: household_cluster"))
    assert load_plan(plan).sensitivity.covariance == "household_cluster"
    plan.write_text(text.replace("covariance: area_placebos", "covariance: area"))
    with pytest.raises(ConfigError, match="covariance"):
        load_plan(plan)


def test_the_reports_breakdown_refers_to_the_verdicts_area_robust_interval(tmp_path):
    """The stage hands the plan's covariance to every outcome's sensitivity analysis
    (:func:`analysis.reports.stage.sensitivity_area_tests` through ``sensitivity_all``,
    in processes as the stage runs it): the robust interval's original interval is the
    area-robust interval of the verdict's test (:func:`area_inference`, an outcome
    matched on another's baseline as the plan says), so the breakdown M̄ refers to it;
    with ``household_cluster`` the household-clustered covariance is used."""
    from analysis.effects.areas import area_inference, match_level
    from analysis.effects.plan import load_plan
    from analysis.effects.sensitivity import sensitivity_all
    from analysis.reports.stage import sensitivity_area_tests

    plan = load_plan()
    data = _areas(seed=6, periods=16, cohorts=(10, 11, 12), shock=0.5).rename(
        columns={"id": "person_id", "hh": "household_id"}
    )
    data["treated"] = ((data["g"] > 0) & (data["t"] >= data["g"])).astype(int)
    # Self-support is matched on the ladder step's baseline (area_match_on).
    top = (data["y"] > data["y"].quantile(0.7)).astype(float)
    panels = {"ladder_step": data, "self_supporting": data.assign(y=top)}
    areas = {
        outcome: area_inference(
            panel,
            19,
            7,
            alpha=plan.alpha,
            match_bins=plan.inference.area_match_bins,
            match_level=match_level(plan, panels, outcome),
        )
        for outcome, panel in panels.items()
    }
    tests = sensitivity_area_tests(plan, panels, areas, 7)
    assert tests["self_supporting"]["match_level"] is not None
    options = {"m_bars": [0.0, plan.m_bar], "refine": False}
    sens = sensitivity_all(panels, 7, jobs=2, area_tests=tests, **options)
    household = sensitivity_all(panels, 7, jobs=1, **options)
    for outcome, area, hh in zip(panels, sens, household, strict=True):
        verdict = (areas[outcome]["area_ci_low"], areas[outcome]["area_ci_high"])
        assert (area.covariance, hh.covariance) == ("area", "household")
        np.testing.assert_allclose(area.original, verdict, rtol=1e-9)
        # The robust interval at M̄ = 0 is the verdict's too (its ends past the θ̄ grid).
        at0 = area.table.loc[area.table["m_bar"] == 0.0, ["lb", "ub"]].iloc[0]
        np.testing.assert_allclose(at0, verdict, atol=1e-3 * (verdict[1] - verdict[0]))
        assert not np.allclose(hh.original, verdict, rtol=1e-3)
    text = Path("config/analysis_plan.yaml").read_text(encoding="utf-8")
    other = tmp_path / "plan.yaml"
    other.write_text(text.replace("covariance: area_placebos", "covariance: household_cluster"))
    assert sensitivity_area_tests(load_plan(other), panels, areas, 7) == {}


def test_sensitivity_text_says_which_covariance_the_intervals_rest_on():
    """The methods text of the sensitivity section follows the analyses' covariance: the
    area-robust interval with the area test's number of placebo choices, the outcomes
    without an area test named as household-clustered, and the summary sentence says
    area-robust only when every outcome's is."""
    from analysis.effects.sensitivity import Sensitivity
    from analysis.reports.evaluation import sensitivity_covariance_text, sensitivity_summary_text
    from analysis.reports.text import t

    def sens(outcome, covariance):
        return Sensitivity(outcome, pd.DataFrame(), (0.0, 1.0), 0.5, 3, 4, covariance=covariance)

    areas = {"ladder_step": {"area_placebos": 1140}}
    both = {
        "ladder_step": sens("ladder_step", "area"),
        "absence_rate": sens("absence_rate", "area"),
    }
    for lang in ("da", "en"):
        text = sensitivity_covariance_text(both, areas, lang)
        assert text == t(
            "text.sensitivity_covariance_area", lang, count="1.140" if lang == "da" else "1,140"
        )
        assert sensitivity_summary_text(both, lang) == t("text.sensitivity_summary_area", lang)
    mixed = {**both, "absence_rate": sens("absence_rate", "household")}
    text = sensitivity_covariance_text(mixed, areas, "en")
    assert text.startswith(t("text.sensitivity_covariance_area", "en", count="1,140"))
    assert "intervals for school absence (share of days), without an area-level test, rest" in text
    assert sensitivity_summary_text(mixed, "en") == t("text.sensitivity_summary_household", "en")
    household = {"ladder_step": sens("ladder_step", "household")}
    assert sensitivity_covariance_text(household, {}, "da") == t(
        "text.sensitivity_covariance_household", "da", outcomes=""
    )


@pytest.mark.parametrize(
    ("covariance", "label"),
    [("area", "Parallel trends (M̄ = 0, area-robust)"), ("household", "Parallel trends (classic)")],
)
def test_the_sensitivity_figure_names_the_interval_at_m_bar_zero(covariance, label):
    """The red bar is the interval at M̄ = 0 of the covariance used: with the area
    placebos the verdict's area-robust interval, which the legend must not call classic."""
    import matplotlib.pyplot as plt
    import pandas as pd

    from analysis.effects.sensitivity import Sensitivity
    from analysis.reports.evaluation import sensitivity_figure

    table = pd.DataFrame({"m_bar": [0.0, 0.5], "lb": [-0.1, -0.3], "ub": [0.3, 0.5]})
    sens = Sensitivity("ladder_step", table, (-0.1, 0.3), 0.4, 3, 4, covariance=covariance)
    fig = sensitivity_figure(sens, "en")
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    plt.close(fig)
    assert labels == ["Robust 95% interval", label]
