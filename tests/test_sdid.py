"""Synthetic DiD at area level (analysis/did/sdid.py): recovery, agreement with a port of R's synthdid, checks.

The independent implementation is ``synthdid-py`` (dev extra; a line-by-line port of
the authors' R package ``synthdid``): on California's Proposition 99 (the R
package's ``california_prop99``, the paper's application) both must give R's
documented estimate −15.604 and the same weights, and with the same placebo
permutations the same placebo standard error. Their staggered designs differ (it
weights a cohort by its treated units, this module by its persons), so on a project
panel each cohort's block is compared with its ``synthdid_estimate``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import synthdid
from scipy import stats

from analysis.did.checks import EstimationError, NotEstimable
from analysis.did.sdid import synthetic_did

# R synthdid's README and vignette: "point estimate: -15.60" for Proposition 99; the
# paper's Table 1, SDID column: -15.6.
PROP99_ATT = -15.603827872733


@pytest.fixture(scope="module")
def prop99() -> pd.DataFrame:
    data = synthdid.load_california_prop99()
    first = data.loc[data["treated"] == 1].groupby("State")["Year"].min()
    data["g"] = data["State"].map(first).fillna(0).astype(int)
    return data


def test_prop99_agrees_with_the_r_port(prop99):
    ours = synthetic_did(prop99, "PacksPerCapita", "Year", "State", "g", placebo_reps=40, seed=7)
    setup = synthdid.panel_matrices(prop99[["State", "Year", "PacksPerCapita", "treated"]])
    theirs = synthdid.synthdid_estimate(setup.Y, setup.N0, setup.T0)
    assert ours.att == pytest.approx(PROP99_ATT, abs=1e-9)
    assert ours.att == pytest.approx(float(theirs), abs=1e-10)
    omega = ours.unit_weights[1989]
    assert list(omega.index) == list(setup.units[: setup.N0])
    np.testing.assert_allclose(omega, np.asarray(theirs.weights.omega), atol=1e-12)
    np.testing.assert_allclose(
        ours.time_weights[1989], np.asarray(theirs.weights.lambda_), atol=1e-12
    )
    # The same permutations (numpy's default_rng(7), one permutation per draw, the
    # last of each the placebo-treated unit, R's order): the same placebo SE.
    se = synthdid.placebo_se(theirs, replications=40, random_state=7)
    assert ours.se == pytest.approx(se, rel=1e-9)
    low, high = ours.ci_low, ours.ci_high
    # 38 comparison states: t with 37 degrees of freedom (R's interval uses the normal).
    assert ours.df == 37
    assert (high - low) / 2 == pytest.approx(stats.t.ppf(0.975, 37) * se, rel=1e-9)
    assert low < PROP99_ATT < high


def _staggered_panel(seed: int, effects: dict[int, float], noise: float = 0.05) -> pd.DataFrame:
    """Persons in 24 comparison areas and in three intervention cohorts; a stated effect.

    Outcome = person level + area level + a common quarter effect + an area loading
    times a common factor (so parallel trends hold only for the right mix of areas)
    + ``effects[g]`` in every quarter from the cohort's enrolment ``g`` on + noise.
    """
    rng = np.random.default_rng(seed)
    periods = np.arange(30)
    factor = np.cumsum(rng.normal(0, 0.3, periods.size))
    common = rng.normal(0, 0.5, periods.size)
    rows = []
    person = 0
    loadings = np.linspace(0.0, 2.0, 24)
    groups = [(f"C{a:02d}", 0, loadings[a], 20) for a in range(24)]
    # The cohorts load on the factor like comparison areas in the middle of the range.
    groups += [
        (f"T{g}", g, load, n)
        for (g, n), load in zip([(12, 15), (16, 30), (20, 10)], [0.9, 1.1, 1.3], strict=True)
    ]
    for area, g, load, n in groups:
        level = rng.normal(0, 1)
        for _ in range(n):
            own = rng.normal(0, 0.5)
            y = own + level + common + load * factor + rng.normal(0, noise, periods.size)
            if g:
                y = y + effects[g] * (periods >= g)
            rows.append(pd.DataFrame({"id": person, "area": area, "t": periods, "g": g, "y": y}))
            person += 1
    return pd.concat(rows, ignore_index=True)


def test_recovers_a_stated_staggered_effect():
    """The effect differs by cohort; the truth is the persons × post-quarters weighted mean."""
    effects = {12: 1.0, 16: 2.0, 20: 4.0}
    persons = {12: 15, 16: 30, 20: 10}
    weights = {g: persons[g] * (30 - g) for g in effects}
    truth = sum(effects[g] * w for g, w in weights.items()) / sum(weights.values())
    result = synthetic_did(
        _staggered_panel(3, effects), "y", "t", "id", "g", unit="area", placebo_reps=50, seed=1
    )
    assert result.att == pytest.approx(truth, abs=0.05)
    table = result.cohorts.set_index("g")
    for g, effect in effects.items():
        assert table.loc[g, "att"] == pytest.approx(effect, abs=0.1)
        assert table.loc[g, "weight"] == pytest.approx(weights[g] / sum(weights.values()))
        assert table.loc[g, "persons"] == persons[g]
    assert result.ci_low < truth < result.ci_high
    assert result.n_comparison == 24
    summary = result.summary()
    assert summary["g"].iloc[-1] == "overall" and summary["att"].iloc[-1] == result.att


def test_each_cohort_agrees_with_the_r_port():
    """A cohort's estimate is R's synthdid_estimate on its block (comparison areas' means,
    the cohort's mean last), the same weights included."""
    panel = _staggered_panel(5, {12: 1.0, 16: 2.0, 20: 4.0}, noise=0.5)
    ours = synthetic_did(panel, "y", "t", "id", "g", unit="area", placebo_reps=2)
    areas = panel.loc[panel["g"] == 0].groupby(["area", "t"])["y"].mean().unstack()
    for g, series in panel.loc[panel["g"] > 0].groupby(["g", "t"])["y"].mean().unstack().iterrows():
        Y = np.vstack([areas.to_numpy(), series.to_numpy()])
        theirs = synthdid.synthdid_estimate(Y, len(areas), int(g))
        row = ours.cohorts.set_index("g").loc[g]
        assert row["att"] == pytest.approx(float(theirs), abs=1e-10)
        np.testing.assert_allclose(ours.unit_weights[g], theirs.weights.omega, atol=1e-12)


def test_the_interval_and_p_value_use_t_with_comparison_units_minus_one_df():
    """The placebo variance rests on the N₀ comparison units: interval and p-value refer
    the studentized estimate to t(N₀ − 1), not to the normal (module docstring)."""
    panel = _staggered_panel(7, {12: 0.2, 16: 0.2, 20: 0.2}, noise=0.5)
    result = synthetic_did(panel, "y", "t", "id", "g", unit="area", placebo_reps=30, seed=3)
    half = (result.ci_high - result.ci_low) / 2
    assert half == pytest.approx(stats.t.ppf(0.975, 23) * result.se, rel=1e-12)
    assert result.n_comparison == 24 and result.df == 23
    assert (result.ci_high + result.ci_low) / 2 == pytest.approx(result.att, rel=1e-12)
    p = 2 * stats.t.sf(abs(result.att) / result.se, 23)
    assert result.p_value == pytest.approx(p, rel=1e-10)
    # At another level the t quantile of that level.
    ninety = synthetic_did(
        panel, "y", "t", "id", "g", unit="area", alpha=0.1, placebo_reps=30, seed=3
    )
    assert (ninety.ci_high - ninety.ci_low) / 2 == pytest.approx(
        stats.t.ppf(0.95, 23) * ninety.se, rel=1e-12
    )


def test_placebo_size_without_an_effect():
    """No effect: the placebo estimates are centred near zero and the interval covers it."""
    result = synthetic_did(
        _staggered_panel(11, {12: 0.0, 16: 0.0, 20: 0.0}, noise=0.5),
        "y",
        "t",
        "id",
        "g",
        unit="area",
        placebo_reps=30,
        seed=2,
    )
    assert result.ci_low < 0 < result.ci_high
    assert abs(result.placebos.mean()) < 2 * result.se


def test_refuses_what_it_cannot_use(prop99):
    with pytest.raises(EstimationError, match="no such column"):
        synthetic_did(prop99, "packs", "Year", "State", "g")
    bad = prop99.assign(g=prop99["g"].where(prop99["Year"] != 1970, 1975))
    with pytest.raises(EstimationError, match="constant within"):
        synthetic_did(bad, "PacksPerCapita", "Year", "State", "g")
    with pytest.raises(EstimationError, match="alpha"):
        synthetic_did(prop99, "PacksPerCapita", "Year", "State", "g", alpha=1.5)
    with pytest.raises(NotEstimable) as error:
        synthetic_did(prop99.assign(g=0), "PacksPerCapita", "Year", "State", "g")
    assert error.value.reason == "no_treated"
    few = prop99.loc[prop99["State"].isin(["California", "Alabama"])]
    with pytest.raises(NotEstimable) as error:
        synthetic_did(few, "PacksPerCapita", "Year", "State", "g")
    assert error.value.reason == "no_comparison"


def test_the_robustness_table_has_the_synthetic_did_row():
    """The row shows the stage's numbers (estimate, placebo interval) or the reason in words."""
    from types import SimpleNamespace

    from analysis.did.checks import NotEstimated
    from analysis.reports import evaluation as ev

    simple = SimpleNamespace(overall_att=0.2, overall_ci=(0.1, 0.3))
    est = SimpleNamespace(simple=simple)
    not_yet = SimpleNamespace(overall_att=0.21, overall_ci=(0.1, 0.32))
    synthetic = {"att": 0.25, "ci_low": 0.15, "ci_high": 0.35}
    table, numbers = ev.robustness_table(est, not_yet, "da", synthetic)
    assert table.loc[2, "analysis"].startswith("Syntetisk DiD på områdeniveau")
    assert "afgør intet" in table.loc[2, "analysis"]
    assert table.loc[2, "ev_estimate"] == 0.25 and table.loc[2, "ev_ci"] == "[0,150; 0,350]"
    assert numbers == {
        "not_yet_att": 0.21,
        "sdid_att": 0.25,
        "sdid_ci_low": 0.15,
        "sdid_ci_high": 0.35,
    }
    table, numbers = ev.robustness_table(
        est, not_yet, "en", NotEstimated("no_comparison", "too few areas")
    )
    assert table.loc[2, "ev_estimate"].startswith("not estimable") and "sdid_att" not in numbers
    # A stage stored without it (None): the table as before.
    assert len(ev.robustness_table(est, not_yet, "en")[0]) == 2


@pytest.mark.parametrize("name", ["slutevaluering.da.html", "final-evaluation.en.html"])
def test_the_rendered_final_report_shows_the_row(name):
    """End to end: the rendered final evaluation's robustness table has the synthetic DiD row,
    with the estimate and interval of its results file (checks what ``make report`` left)."""
    from analysis.paths import REPORTS_DIR
    from tests.test_readers import _results, amount, tables_of

    page = REPORTS_DIR / "final" / name
    if not page.exists():
        pytest.skip("no final evaluation rendered: run `make report` first")
    lang = "en" if ".en." in name else "da"
    numbers = _results(page)["numbers"]
    (table,) = [t for t in tables_of(page) if t["id"] == "tbl-robust"]
    label = "Synthetic DiD at area level" if lang == "en" else "Syntetisk DiD på områdeniveau"
    (row,) = [r for r in table["rows"] if r[0].startswith(label)]
    assert amount(row[1], lang) == round(numbers["robustness.ladder_step.sdid_att"], 3)
    low, high = (
        amount(part.strip(" []"), lang) for part in row[2].split(";" if lang == "da" else ",")
    )
    assert low == round(numbers["robustness.ladder_step.sdid_ci_low"], 3)
    assert high == round(numbers["robustness.ladder_step.sdid_ci_high"], 3)
