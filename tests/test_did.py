"""Estimators: recovery of a known effect, agreement with independent implementations, end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from linearmodels.panel import PanelOLS

from analysis import aggte, att_gt, mde, twfe, wild_bootstrap
from analysis.did.checks import EstimationError


def dgp(seed=1, n=600, periods=8, effect=1.0, growth=0.0, cohorts=(0, 4, 5, 6)):
    """Staggered adoption; the true ATT is ``effect + growth * (t - g)`` in treated periods."""
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(n), periods)
    t = np.tile(np.arange(1, periods + 1), n)
    g = np.repeat(rng.choice(cohorts, n), periods)
    unit = np.repeat(rng.normal(size=n), periods)
    x = np.repeat(rng.normal(size=n), periods)
    treated = (g > 0) & (t >= g)
    truth = np.where(treated, effect + growth * (t - g), 0.0)
    y = unit + 0.2 * t + 0.3 * x * t / periods + truth + rng.normal(size=n * periods)
    return pd.DataFrame(
        {
            "id": ids,
            "t": t,
            "g": g,
            "y": y,
            "x": x,
            "hh": ids // 2,
            "d": treated.astype(int),
            "truth": truth,
        }
    )


def test_att_gt_recovers_the_effect():
    data = dgp(effect=1.0, growth=0.25)
    result = att_gt(data, "y", "t", "id", "g")
    true_simple = data.loc[data["d"] == 1, "truth"].mean()
    simple = aggte(result, "simple")
    assert abs(simple.overall_att - true_simple) < 3 * simple.overall_se
    dynamic = aggte(result, "dynamic")
    for row in dynamic.table.itertuples():
        true = 1.0 + 0.25 * row.event_time if row.event_time >= 0 else 0.0
        assert abs(row.att - true) < 4 * row.se


def test_twfe_recovers_a_constant_effect():
    data = dgp(effect=0.7)
    result = twfe(data, "y", "t", "id", "d", cluster="hh")
    assert abs(result.att - 0.7) < 3 * result.se


def _csdid(data, est_method, control_group, xformla=None):
    from csdid.att_gt import ATTgt

    fit = ATTgt(
        yname="y",
        gname="g",
        idname="id",
        tname="t",
        data=data,
        control_group=control_group,
        xformla=xformla,
    ).fit(est_method=est_method, bstrap=False)
    return fit


@pytest.mark.parametrize("est_method", ["dr", "ipw", "reg"])
@pytest.mark.parametrize("control_group", ["nevertreated", "notyettreated"])
@pytest.mark.parametrize("covariates", [False, True])
def test_att_gt_agrees_with_csdid(est_method, control_group, covariates):
    data = dgp(seed=3, n=400)
    reference = _csdid(data, est_method, control_group, "y~x" if covariates else None)
    mine = att_gt(
        data,
        "y",
        "t",
        "id",
        "g",
        xformla=["x"] if covariates else None,
        est_method=est_method,
        control_group=control_group,
    )
    ref_att = np.asarray(reference.results["att"], dtype=float)
    ref_se = np.asarray(reference.results["se"], dtype=float)
    np.testing.assert_allclose(mine.table["att"].to_numpy(), ref_att, atol=1e-4)
    np.testing.assert_allclose(mine.table["se"].to_numpy(), ref_se, atol=1e-4)


def _twfe_panel(unbalanced=True):
    """A panel with unit-level and row-level weights and clusters nested and not nested in units."""
    data = dgp(seed=21)
    if unbalanced:
        data = data.sample(frac=0.8, random_state=3).reset_index(drop=True)
    rng = np.random.default_rng(5)
    data["w_unit"] = data.groupby("id")["id"].transform(lambda s: rng.uniform(0.5, 2.0))
    data["w_row"] = rng.uniform(0.5, 2.0, len(data))
    # Not nested: a unit's rows fall in two clusters (before and after period 4).
    data["cl_split"] = (data["id"] % 7) * 10 + (data["t"] > 4)
    data["cl_row"] = rng.integers(0, 30, len(data))
    return data


@pytest.mark.parametrize("cluster", [None, "hh", "id"])
@pytest.mark.parametrize("weights", [None, "w_unit"])
@pytest.mark.parametrize("ssc", ["fixest", "linearmodels"])
@pytest.mark.parametrize("unbalanced", [False, True])
def test_fast_twfe_agrees_with_panelols(cluster, weights, ssc, unbalanced):
    data = _twfe_panel(unbalanced)
    fast = twfe(data, "y", "t", "id", "d", cluster=cluster, weights=weights, ssc=ssc)
    reference = twfe(
        data, "y", "t", "id", "d", cluster=cluster, weights=weights, ssc=ssc, method="panelols"
    )
    assert fast.att == pytest.approx(reference.att, abs=1e-6)
    assert fast.se == pytest.approx(reference.se, abs=1e-6)
    assert fast.n_obs == reference.n_obs


@pytest.mark.parametrize("cluster", ["hh", "id", "cl_split", "cl_row", None])
@pytest.mark.parametrize("weights", [None, "w_unit", "w_row"])
def test_twfe_standard_errors_equal_pyfixest(cluster, weights):
    """Default convention = fixest/reghdfe CRV1 (nested fixed effects not counted)."""
    import pyfixest as pf

    data = _twfe_panel()
    ours = twfe(data, "y", "t", "id", "d", cluster=cluster, weights=weights)
    fit = pf.feols(
        "y ~ d | id + t",
        data=data,
        vcov={"CRV1": cluster} if cluster else "hetero",
        weights=weights,
        fixef_tol=1e-12,
    )
    assert ours.att == pytest.approx(float(fit.coef()["d"]), abs=1e-6)
    assert ours.se == pytest.approx(float(fit.se()["d"]), abs=1e-6)


def test_twfe_linearmodels_convention_is_larger_with_nested_clusters():
    data = _twfe_panel()
    fixest = twfe(data, "y", "t", "id", "d", cluster="hh")
    linearmodels = twfe(data, "y", "t", "id", "d", cluster="hh", ssc="linearmodels")
    n, units, periods, clusters = fixest.n_obs, fixest.n_units, 8, fixest.n_clusters
    expected = np.sqrt(
        (n / (n - units - periods)) / (clusters / (clusters - 1) * (n - 1) / (n - 1 - periods))
    )
    assert linearmodels.se / fixest.se == pytest.approx(expected, rel=1e-9)
    assert linearmodels.se > fixest.se


def test_twfe_agrees_with_manual_within_regression():
    data = dgp(seed=5)
    result = twfe(data, "y", "t", "id", "d")
    frame = data.set_index(["id", "t"])
    reference = PanelOLS(frame["y"], frame[["d"]], entity_effects=True, time_effects=True).fit(
        cov_type="robust"
    )
    assert result.att == pytest.approx(float(reference.params["d"]), abs=1e-6)
    # Independent check of the point estimate: two-way demeaning on the balanced panel.
    wide = data.pivot(index="id", columns="t", values="y")
    dwide = data.pivot(index="id", columns="t", values="d").astype(float)

    def demean(m):
        return (
            m
            - m.mean(axis=1).to_numpy()[:, None]
            - m.mean(axis=0).to_numpy()[None, :]
            + m.to_numpy().mean()
        )

    yy, dd = demean(wide).to_numpy().ravel(), demean(dwide).to_numpy().ravel()
    assert result.att == pytest.approx(float(dd @ yy / (dd @ dd)), abs=1e-6)


def test_wild_bootstrap_agrees_with_wildboottest():
    import statsmodels.formula.api as smf
    from wildboottest.wildboottest import wildboottest

    data = dgp(seed=7, n=200)
    data["cl"] = data["id"] % 12
    ours = wild_bootstrap(
        data, "y", "t", "id", "d", cluster="cl", reps=999, seed=1, weight_type="rademacher"
    )
    model = smf.ols("y ~ d + C(id) + C(t)", data=data)
    reference = wildboottest(
        model, param="d", cluster=data["cl"], B=999, seed=1, weights_type="rademacher", show=False
    )
    p_reference = float(np.asarray(reference["p-value"]).ravel()[0])
    assert abs(ours.p_value - p_reference) < 0.05


def test_aggregations_agree_with_csdid():
    data = dgp(seed=11, n=500, growth=0.2)
    reference = _csdid(data, "dr", "nevertreated")
    mine = att_gt(data, "y", "t", "id", "g")
    for kind in ("simple", "group", "dynamic", "calendar"):
        ref = reference.aggte(typec=kind, bstrap=False)
        ours = aggte(mine, kind)
        ref_overall = float(np.asarray(ref.atte["overall_att"]).ravel()[0])
        ref_se = float(np.asarray(ref.atte["overall_se"]).ravel()[0])
        assert ours.overall_att == pytest.approx(ref_overall, abs=1e-4), kind
        assert ours.overall_se == pytest.approx(ref_se, abs=1e-4), kind


def test_formula_covariates_equal_the_list_form():
    data = dgp(seed=3, n=300)
    data["x2"] = np.repeat(np.random.default_rng(0).normal(size=300), 8)
    as_list = att_gt(data, "y", "t", "id", "g", xformla=["x", "x2"])
    as_formula = att_gt(data, "y", "t", "id", "g", xformla="~ x + x2")
    pd.testing.assert_frame_equal(as_list.table, as_formula.table)
    none = att_gt(data, "y", "t", "id", "g", xformla="~ 1")
    pd.testing.assert_frame_equal(none.table, att_gt(data, "y", "t", "id", "g").table)
    with pytest.raises(EstimationError, match="only sums of column names"):
        att_gt(data, "y", "t", "id", "g", xformla="~ x + I(x**2)")
    with pytest.raises(EstimationError, match="one-sided formula"):
        att_gt(data, "y", "t", "id", "g", xformla="y ~ x")
    with pytest.raises(EstimationError, match="nope"):
        att_gt(data, "y", "t", "id", "g", xformla="~ nope")


def test_errors_are_clear():
    data = dgp()
    with pytest.raises(EstimationError, match="yname='nope'"):
        att_gt(data, "nope", "t", "id", "g")
    with pytest.raises(EstimationError, match="no never-treated"):
        att_gt(data.loc[data["g"] > 0], "y", "t", "id", "g")
    with pytest.raises(EstimationError, match="control_group"):
        att_gt(data, "y", "t", "id", "g", control_group="everyone")


def test_unbalanced_panel_and_bootstrap_bands():
    data = dgp(seed=2).sample(frac=0.85, random_state=1)
    result = att_gt(data, "y", "t", "id", "g", cluster="hh", bstrap=True, biters=199, seed=4)
    assert (
        result.table["band_high"] - result.table["band_low"]
        >= result.table["ci_high"] - result.table["ci_low"] - 1e-9
    ).all()


def test_universal_base_event_study_feeds_honestdid():
    from analysis.did.honestdid import event_study_inputs, original_ci, sensitivity_rm

    data = dgp(seed=9, n=800, periods=10, effect=1.0, cohorts=(0, 6, 7, 8))
    universal = att_gt(data, "y", "t", "id", "g", cluster="hh", base_period="universal")
    varying = att_gt(data, "y", "t", "id", "g", cluster="hh")
    # Post cells are the same; pre cells are long differences to g - 1 (none at g - 1).
    post = universal.table.loc[universal.table["post"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        post, varying.table.loc[varying.table["post"]].reset_index(drop=True)
    )
    assert not ((universal.table["event_time"] == -1).any())
    dynamic = aggte(universal, "dynamic", min_e=-4, max_e=2)
    betahat, sigma, num_pre, num_post = event_study_inputs(dynamic)
    assert (num_pre, num_post) == (3, 3)
    assert np.allclose(
        np.sqrt(np.diag(sigma)), dynamic.table["se"].to_numpy()[dynamic.table["event_time"] != -1]
    )
    low, high = original_ci(betahat, sigma, num_pre, num_post)
    assert low < 1.0 < high
    table = sensitivity_rm(
        betahat,
        sigma,
        num_pre,
        num_post,
        m_bar_vec=[0, 1],
        method="Conditional",
        search="bisection",
    )
    assert table.loc[0, "lb"] <= 1.0 <= table.loc[0, "ub"]
    assert table.loc[1, "ub"] - table.loc[1, "lb"] >= table.loc[0, "ub"] - table.loc[0, "lb"]


def test_power():
    assert mde(0.1) == pytest.approx((1.959964 + 0.841621) * 0.1, rel=1e-5)
    assert mde(0.1, scale_to=180, n_now=90) < mde(0.1)


@pytest.mark.slow
def test_monte_carlo_bias_and_coverage():
    covered, estimates = 0, []
    reps = 200
    for seed in range(reps):
        data = dgp(seed=seed, n=300, effect=1.0)
        simple = aggte(att_gt(data, "y", "t", "id", "g", cluster="hh"), "simple")
        estimates.append(simple.overall_att)
        covered += simple.overall_ci[0] <= 1.0 <= simple.overall_ci[1]
    assert abs(np.mean(estimates) - 1.0) < 0.1
    assert 0.92 <= covered / reps <= 0.98


def test_end_to_end_on_synthetic_data(extract, contract, synthetic_dir):
    import json

    from analysis.data.asof import as_of
    from analysis.effects.estimates import estimate
    from analysis.effects.panels import outcome_panel

    truth = json.loads((synthetic_dir / "truth.json").read_text())["realised_att"]
    data = as_of(extract.tables, "2028Q3", contract)
    for outcome in ("ladder_step", "absence_rate"):
        est = estimate(outcome_panel(data, outcome), outcome)
        low, high = est.simple.overall_ci
        assert low <= truth[outcome]["att"] <= high, outcome


def test_pretrend_test_detects_a_violation_and_accepts_parallel_trends():
    parallel = dgp(seed=13, n=800, periods=10)
    assert att_gt(parallel, "y", "t", "id", "g").pretest["p_value"] > 0.001
    violated = parallel.copy()
    # Treated cohorts drift upwards before treatment: parallel trends fail.
    violated.loc[violated["g"] > 0, "y"] += 0.15 * violated.loc[violated["g"] > 0, "t"]
    assert att_gt(violated, "y", "t", "id", "g").pretest["p_value"] < 0.01


def test_no_pretrend_rejection_on_the_default_synthetic_data(extract, contract):
    """The generator's truth has parallel trends; the test must not reject on its default data."""
    from analysis.data.asof import as_of
    from analysis.effects.panels import OUTCOMES, outcome_panel

    data = as_of(extract.tables, "2028Q3", contract)
    for outcome in OUTCOMES:
        result = att_gt(
            outcome_panel(data, outcome), "y", "t", "person_id", "g", cluster="household_id"
        )
        assert result.pretest["p_value"] >= 0.05, (outcome, result.pretest)
        # Only event times every cohort contributes to (the quarters since 2021Q2
        # before the first enrolment cohort).
        assert result.pretest["event_times"] == list(range(-10, 0)), outcome


@pytest.mark.slow
def test_pretrend_test_size_on_generator_data(tmp_path, contract):
    """Monte Carlo: under the generator's parallel trends the 5 % test rejects 2–8 % of the time."""
    from analysis.config import load_synthetic
    from analysis.data.asof import as_of
    from analysis.data.synth import generate
    from analysis.data.validate import load_extract
    from analysis.effects.panels import OUTCOMES, outcome_panel

    synth = load_synthetic()
    rejections, tests = 0, 0
    for seed in range(1000, 1050):
        out = tmp_path / f"s{seed}"
        generate(out, contract, synth, seed)
        data = as_of(load_extract(out, contract).tables, "2028Q3", contract)
        for outcome in OUTCOMES:
            panel = outcome_panel(data, outcome)
            p_value = att_gt(panel, "y", "t", "person_id", "g", cluster="household_id").pretest[
                "p_value"
            ]
            rejections += p_value < 0.05
            tests += 1
    assert 0.02 <= rejections / tests <= 0.08, rejections / tests


def _weight_influence_by_pandas(keepers, pg, G, w, groups, values):
    # The cohort sums as pandas forms them, looked up per unit with Series.map.
    p = pg[keepers]
    total = p.sum()
    cohorts = groups[keepers]
    weighted = pd.Series(values).groupby(cohorts).sum()
    counted = pd.Series(np.ones(len(keepers))).groupby(cohorts).sum()
    match_v = pd.Series(G).map(weighted).fillna(0.0).to_numpy()
    match_n = pd.Series(G).map(counted).fillna(0.0).to_numpy()
    term1 = (w * match_v - p @ values) / total
    term2 = (w * match_n - p.sum()) * (p @ values) / total**2
    return term1 - term2


@pytest.mark.parametrize("case", ["one cell per cohort", "several cells", "nan", "minus zero"])
def test_weight_influence_is_the_pandas_lookup_bit_for_bit(case):
    from analysis.did.aggte import _weight_influence

    rng = np.random.default_rng(3)
    G = rng.choice([0.0, 5.0, 6.0, 8.0], size=400)
    w = rng.uniform(0.5, 1.5, size=400)
    if case == "one cell per cohort":
        groups = np.array([8, 5, 6])
    else:
        groups = np.array([5, 6, 5, 8, 6, 8, 5])
    pg = rng.uniform(0.1, 0.3, size=len(groups))
    keepers = np.arange(len(groups))
    values = rng.normal(size=len(groups))
    if case == "nan":
        values[1] = np.nan
    if case == "minus zero":
        groups, pg, keepers = np.array([8, 5, 6]), pg[:3], keepers[:3]
        values = np.array([-0.0, 0.25, -0.5])
    ours = _weight_influence(keepers, pg, G, w, groups, values)
    theirs = _weight_influence_by_pandas(keepers, pg, G, w, groups, values)
    assert ours.tobytes() == theirs.tobytes()
