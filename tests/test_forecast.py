"""The payment forecast: simulated futures paid through the ledger's caps, IRR, and the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import quarters
from analysis.payments import forecast as forecast_module
from analysis.payments import investors
from analysis.payments import ledger as ledger_module
from analysis.payments.ledger import empty, settle
from analysis.payments.periods import result_periods


def _statement(contract, amounts: list[float]) -> pd.DataFrame:
    """A statement of the first ``len(amounts)`` result reports, one employment row each."""
    periods = result_periods(contract)
    return pd.DataFrame(
        [
            {
                "report": periods[i].report,
                "period": periods[i].label,
                "payment_quarter": periods[i].payment_quarter,
                "target": "employment",
                "units": 1,
                "achievements": 1.0,
                "unit_price": amount,
                "amount": amount,
            }
            for i, amount in enumerate(amounts)
        ],
        columns=ledger_module.STATEMENT_COLUMNS,
    )


def _settled(contract, amounts: list[float]) -> pd.DataFrame:
    """The ledger that settles ``amounts`` report by report (the real ledger code)."""
    ledger = empty()
    for i, period in enumerate(result_periods(contract)[: len(amounts)]):
        ledger = settle(ledger, _statement(contract, amounts[: i + 1]), period, contract)
    return ledger


def test_simulated_futures_are_paid_as_the_ledger_pays_them(contract):
    # Three simulated futures of the four result reports. In the first, the return
    # cap binds at the first payment (15 m due when about 11 m is disbursed) and
    # not at the second; the total cap binds at the third. In the second, no cap
    # binds. The forecast's payments per report equal the ledger's, draw by draw.
    earned = np.array(
        [
            [15e6, 1e6, 20e6, 0.0],
            [1e6, 1e6, 1e6, 1e6],
            [2e6, 14e6, 3e6, 9e6],
        ]
    )
    periods = result_periods(contract)
    sim = forecast_module._through_caps(periods, earned, empty(), contract)
    for draw in range(len(earned)):
        ledger = _settled(contract, list(earned[draw]))
        paid = ledger.groupby("report")["paid"].sum()
        expected = np.array([paid[p.report] for p in periods])
        np.testing.assert_allclose(sim.paid[draw], expected, atol=0.01)
        assert sim.total_paid[draw] == pytest.approx(ledger_module.settled_total(ledger), abs=0.05)
    first = _settled(contract, list(earned[0]))
    caps = first.loc[first["kind"] == "cap"].groupby("report")["reason"].apply(set)
    assert caps.get(periods[0].report) == {"return_cap"}
    assert periods[1].report not in caps.index
    assert "total_cap" in caps.get(periods[2].report)
    assert sim.paid[0, 0] < earned[0, 0] and sim.paid[0, 1] == earned[0, 1]
    assert (sim.paid[1] == earned[1]).all()
    # The IRR of each future is the IRR of its cash flows, at most the cap.
    for draw in range(len(earned)):
        ledger = _settled(contract, list(earned[draw]))
        flows = investors.cash_flows(contract, ledger, "2000Q1")
        by_quarter = flows.groupby(flows["quarter"].map(quarters.to_index))["amount"].sum()
        assert sim.irr[draw] == pytest.approx(investors.irr(by_quarter), abs=1e-8)
    assert sim.irr[0] <= contract.caps.investor_annual_return + 1e-9


def test_simulation_starts_from_what_the_ledger_settled(contract):
    # Two reports settled (the first capped by the return cap): the simulated
    # futures of the other two are capped by what the ledger already paid.
    settled = _settled(contract, [15e6, 1e6])
    periods = result_periods(contract)
    earned = np.array([[20e6, 0.0], [1e6, 1e6]])
    sim = forecast_module._through_caps(periods[2:], earned, settled, contract)
    for draw in range(len(earned)):
        ledger = _settled(contract, [15e6, 1e6, *earned[draw]])
        assert sim.total_paid[draw] == pytest.approx(ledger_module.settled_total(ledger), abs=0.05)


def test_a_future_wholly_withheld_by_the_caps_pays_nothing_and_keeps_its_irr(contract):
    # The return cap binds from the first report; the last report's amount (not whole
    # kroner, as simulated amounts are) is withheld whole. Rounded up to whole kroner,
    # the withheld amount exceeded it in about half of these futures: a payment of
    # minus a few øre, and an IRR of -100 % a year (quarterly report 2025Q1 printed
    # "90 %-interval -100,0 % til 4,6 %" beside payments of at least 18.3 m).
    rng = np.random.default_rng(1)
    n = 200
    earned = np.column_stack(
        [
            np.full(n, 15e6),
            np.full(n, 10e6),
            10e6 + rng.uniform(0, 1, n),
            1e4 + rng.uniform(0, 1, n),
        ]
    )
    sim = forecast_module._through_caps(result_periods(contract), earned, empty(), contract)
    assert (sim.paid >= 0).all()
    cap = contract.caps.investor_annual_return
    np.testing.assert_allclose(sim.irr, cap, atol=1e-6)


def test_irrs_agree_with_irr():
    rng = np.random.default_rng(3)
    times = np.arange(20)
    flows = np.zeros((40, 20))
    flows[:, :12] = -rng.uniform(0.5, 2.0, (40, 12))
    flows[:, 10:] += rng.uniform(0.0, 4.0, (40, 10))
    flows[0, 12:] = 0.0  # nothing back: no root
    rates = investors.irrs(times, flows)
    for row, rate in zip(flows, rates, strict=True):
        expected = investors.irr(pd.Series(row, index=times))
        if np.isnan(expected):
            assert np.isnan(rate)
        else:
            assert rate == pytest.approx(expected, abs=1e-9)


def test_return_cap_rooms_agree_with_return_cap_room(contract):
    paid = {quarters.to_index("2025Q2"): 3e6, quarters.to_index("2026Q2"): 5e6}
    pay_t = quarters.to_index("2027Q2")
    one = investors.return_cap_room(contract, paid, pay_t)
    many = investors.return_cap_rooms(
        contract, np.array(list(paid)), np.array([list(paid.values())] * 3), pay_t
    )
    np.testing.assert_allclose(many, one)


def test_cap_withheld_hand_worked(contract):
    # 30 m total cap: 29 m paid before, 3 m payable, return room 0.5 m.
    by_total, by_return = ledger_module.cap_withheld(3e6, 29e6, 0.5e6, contract)
    assert (by_total, by_return) == (2e6, 0.5e6)


def _forecast_as_of(extract, contract, cutoff, draws=400):
    from analysis.data.asof import as_of
    from analysis.payments import absence
    from analysis.payments.targets import UNIT_TARGETS

    tables = extract.tables
    data = as_of(tables, cutoff, contract)
    unit_results = {name: rule(data, contract) for name, rule in UNIT_TARGETS.items()}
    ledger = ledger_module.build(tables, cutoff, contract)
    fit = absence.fit(data)
    return forecast_module.forecast(data, unit_results, fit, ledger, contract, draws), ledger


def test_forecast_is_one_projection_with_a_band(extract, contract):
    result, ledger = _forecast_as_of(extract, contract, "2025Q2")
    table = result.table.set_index("scenario")
    base = table.loc["base"]
    # A real band, the median inside it, paid never above earned.
    assert base["low"] < base["median"] < base["high"]
    assert (result.base.total_paid <= result.base.total_earned + 0.01).all()
    assert table.loc["earned", "median"] >= base["median"]
    # The median is one simulated future: its schedule adds up to the median total.
    assert ledger_module.settled_total(ledger) + sum(result.schedule.values()) == pytest.approx(
        base["median"], abs=0.05
    )
    projected = result.quarters.loc[result.quarters["status"] == "projected"]
    assert projected["cumulative_median"].iloc[-1] == pytest.approx(base["median"], abs=0.05)
    assert projected["cumulative_low"].iloc[-1] == pytest.approx(base["low"], abs=0.05)
    # Fewer households enrolled cannot raise the projection.
    assert table.loc["shortfall", "median"] <= base["median"] + 1
    assert result.key["projected_irr_low"] <= result.key["projected_irr_median"]
    assert result.key["projected_irr_median"] <= result.key["projected_irr_high"]


def test_forecast_is_certain_once_every_report_is_settled(extract, contract):
    last = result_periods(contract)[-1].report
    result, ledger = _forecast_as_of(extract, contract, last, draws=100)
    base = result.table.set_index("scenario").loc["base"]
    assert result.key["forecast_certain"]
    assert base["low"] == base["median"] == base["high"] == ledger_module.settled_total(ledger)


def test_hazard_recovers_a_known_rate():
    # 400 households, one unit-step each, achieved with probability 0.2 a quarter
    # for 8 quarters: the estimated hazard per quarter is close to 0.2.
    rng = np.random.default_rng(1)
    n, width = 400, 8
    counts = np.zeros((n, width))
    at_risk = np.zeros((n, width))
    for i in range(n):
        for e in range(width):
            at_risk[i, e] = 1
            if rng.random() < 0.2:
                counts[i, e] = 1
                break
    model = forecast_module._TargetModel(
        "action_plan_goals",
        counts,
        at_risk,
        width - 1,
        np.array([]),
        np.array([]),
        np.ones(n),
        {},
        0.0,
    )
    weights = rng.dirichlet(np.ones(n), 500) * n
    hazard = forecast_module._hazards(model, weights, width + 4)
    assert np.median(hazard[:, :width]) == pytest.approx(0.2, abs=0.03)
    # Beyond what was seen: the level of the latest quarters seen, falling on at the
    # rate the quarters seen fall (these 400 households happen to show a fall).
    beyond = np.median(hazard[:, width:], axis=0)
    assert 0.05 < beyond[-1] <= beyond[0] <= 0.2 + 0.03


def test_open_unit_steps_per_cohort_hand_worked():
    # Three households enrolled in quarters 10, 11, 12, one unit each; the third
    # leaves in quarter 13; the first unit achieves one step in quarter 12; data to
    # quarter 14. Action-plan goals (one step, data stop at exit) and employment
    # (two steps each here, registers go on after exit).
    from analysis.payments.targets import TargetResult

    households = pd.DataFrame(
        {
            "household_id": ["a", "b", "c"],
            "g": [10, 11, 12],
            "exit_t": pd.array([pd.NA, pd.NA, 13], dtype="Int64"),
        }
    )
    eligible = pd.DataFrame(
        {
            "unit_id": ["u1", "u2", "u3"],
            "household_id": ["a", "b", "c"],
            "area": "X",
            "g": pd.array([10, 11, 12], dtype="Int64"),
            "baseline": 2,
        }
    )
    achieved = pd.DataFrame({"unit_id": ["u1"], "step": [1], "t": [12]})
    status = pd.DataFrame(columns=["unit_id", "step", "t", "holds"])
    goals = forecast_module._target_model(
        TargetResult("action_plan_goals", eligible, achieved, status, {}), households, 14, []
    )
    assert goals.cohorts.tolist() == [11] and goals.open_steps.tolist() == [1.0]
    np.testing.assert_array_equal(
        goals.at_risk, [[1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 1, 0, 0, 0]]
    )
    assert goals.counts.sum() == 1 and goals.counts[0, 2] == 1
    jobs = forecast_module._target_model(
        TargetResult("employment", eligible, achieved, status, {}), households, 14, []
    )
    assert jobs.cohorts.tolist() == [10, 11, 12] and jobs.open_steps.tolist() == [1.0, 2.0, 2.0]
    np.testing.assert_array_equal(jobs.at_risk, [[2, 2, 2, 1, 1], [2, 2, 2, 2, 0], [2, 2, 2, 0, 0]])


def _counts_with_hazard(hazard: np.ndarray, n: int, seed: int = 2):
    """Households × event time: counts and at-risk of one unit-step with ``hazard[e]``."""
    rng = np.random.default_rng(seed)
    width = len(hazard)
    counts, at_risk = np.zeros((n, width)), np.zeros((n, width))
    for i in range(n):
        for e in range(width):
            at_risk[i, e] = 1
            if rng.random() < hazard[e]:
                counts[i, e] = 1
                break
    return counts, at_risk


def _model(counts, at_risk):
    n, width = counts.shape
    return forecast_module._TargetModel(
        "employment", counts, at_risk, width - 1, np.array([]), np.array([]), np.ones(n), {}, 0.0
    )


def test_phase_of_achievements():
    yearly = np.zeros((2, 13))
    yearly[:, [4, 8, 12]] = 1
    half_yearly = np.zeros((2, 8))
    half_yearly[:, [1, 3, 5, 7]] = 1
    quarterly = np.zeros((2, 6))
    quarterly[:, [1, 2, 3, 5]] = 1
    assert forecast_module._phase(yearly) == 4
    assert forecast_module._phase(half_yearly) == 2
    assert forecast_module._phase(quarterly) == 1


def test_falling_hazard_is_extrapolated_falling():
    # The hazard halves every year (from 0.1 a quarter): the decline estimated from
    # the 12 quarters seen is about log(1/2) a year, and the hazard beyond them
    # goes on falling instead of holding at the level of the quarters seen.
    truth = 0.1 * 0.5 ** (np.arange(16) / 4)
    truth[0] = 0.0
    counts, at_risk = _counts_with_hazard(truth[:12], 20000)
    model = _model(counts, at_risk)
    weights = np.ones((1, counts.shape[0]))
    seen = list(range(12))
    decline = forecast_module._decline(weights @ counts, weights @ at_risk, seen, 1)
    assert decline[0] == pytest.approx(np.log(0.5), abs=0.12)
    hazard = forecast_module._hazards(model, weights, 16)[0]
    np.testing.assert_allclose(hazard[12:], truth[12:], rtol=0.25)
    assert (np.diff(hazard[11:]) < 0).all()


def test_no_hazard_between_survey_waves():
    # Achievements only at the yearly waves (4 and 8 quarters after enrolment):
    # beyond the data there are none between waves, and the next wave has one.
    hazard = np.zeros(10)
    hazard[[4, 8]] = 0.4
    counts, at_risk = _counts_with_hazard(hazard, 3000)
    model = _model(counts, at_risk)
    out = forecast_module._hazards(model, np.ones((1, len(counts))), 14)[0]
    assert out[[10, 11, 13]].tolist() == [0.0, 0.0, 0.0]
    assert 0.2 < out[12] <= 0.45


def test_calendar_path_hand_worked():
    # Two cohorts (enrolled in quarters 10 and 12, 30 and 10 pupils) with an effect
    # of -0.01 at event time 0, -0.02 at 1 and -0.03 beyond: in quarter 12 the first
    # cohort is at event time 2 and the second at 0.
    effect = np.array([[-0.01, -0.02]])
    path = forecast_module._calendar_path(
        np.array([10, 11, 12]), effect, np.array([0, 1]), np.array([-0.03]), {10: 30, 12: 10}
    )
    np.testing.assert_allclose(path[0], [-0.01, -0.02, (30 * -0.03 + 10 * -0.01) / 40])


def test_plateau_rests_on_enough_pupils_from_the_second_year_on():
    # Cohorts enrolled in quarters 0..5 with 10, 20, 30, 40, 50, 50 pupils, seen until
    # quarter 9: event time e rests on the cohorts g <= 9 - e (e = 9: 10 pupils; 8:
    # 30; 7: 60; 6: 100; 5: 150; 4: 200). Effects -1, ..., -10 at e = 0..9.
    weights = {0: 10, 1: 20, 2: 30, 3: 40, 4: 50, 5: 50}
    levels = np.arange(10)
    effect = -(levels[None, :] + 1.0)
    # Share 0: the latest two, weighted by their pupils.
    latest = forecast_module._plateau(effect, levels, weights, 9, 0.0)
    np.testing.assert_allclose(latest, [(10 * -10 + 30 * -9) / 40])
    # Half of the 200 pupils: back to e = 6 (100 pupils), weighted 10, 30, 60, 100.
    half = forecast_module._plateau(effect, levels, weights, 9, 0.5)
    np.testing.assert_allclose(half, [(10 * -10 + 30 * -9 + 60 * -8 + 100 * -7) / 200])
    # All of them: not into the first year (e < 4), so back to e = 4.
    pupils = np.array([10, 30, 60, 100, 150, 200])
    values = np.array([-10, -9, -8, -7, -6, -5])
    everything = forecast_module._plateau(effect, levels, weights, 9, 1.0)
    np.testing.assert_allclose(everything, [pupils @ values / pupils.sum()])
    # Only the first year seen: the latest two all the same.
    early = forecast_module._plateau(effect[:, :4], levels[:4], weights, 3, 1.0)
    np.testing.assert_allclose(early, [(10 * -4 + 30 * -3) / 40])


def test_quarter_variance_in_standard_errors_hand_worked():
    # Eight quarters: the first four rest on small cohorts (standard error 2 pp) and
    # scatter by 2 pp about the path, the last four (the anchor) by 1 pp with
    # standard error 1 pp. In standard errors every quarter is one off: variance
    # 8/7 (ddof 1), times the anchor's squared standard error.
    se = np.array([0.02] * 4 + [0.01] * 4)
    scatter = np.array([1, -1, 1, -1, 1, -1, 1, -1]) * se
    variance = forecast_module._quarter_variance(scatter, se, se[-4:], ramping=False)
    assert variance == pytest.approx(0.01**2 * 8 / 7)
    # In percentage points the early quarters would set it: (4 × 4 + 4 × 1)e-4 / 7.
    raw = forecast_module._quarter_variance(scatter, se, se[-4:], ramping=True)
    assert raw == pytest.approx(20e-4 / 7)
    # A scatter within the standard errors: the anchor's standard error alone.
    calm = forecast_module._quarter_variance(scatter / 4, se, se[-4:], ramping=False)
    assert calm == pytest.approx(0.01**2)
    # Fewer than three quarters: the standard error alone.
    assert forecast_module._quarter_variance(scatter[:2], se[:2], se[:2], ramping=True) == (
        pytest.approx(0.02**2)
    )


def test_absence_of_a_period_with_every_quarter_seen_is_its_estimate(contract):
    # Every quarter of the first period has its calendar estimate: the payment is
    # the reduction of their mean × pupil-years × price in every simulated future.
    period = result_periods(contract)[0]
    quarters_seen = range(period.first, period.last + 1)
    calendar = {t: -0.01 - 0.002 * k for k, t in enumerate(quarters_seen)}
    model = forecast_module._AbsenceModel(
        levels=np.array([0, 1, 2, 3, 4]),
        att=np.full(5, -0.015),
        cov=np.eye(5) * 1e-5,
        cohorts=np.array([period.first]),
        weights=np.array([40.0]),
        pupils=np.array([40.0]),
        pupils_per_household=1.0,
        weight_per_household=1.0,
        calendar=calendar,
        anchor=list(quarters_seen)[-4:],
        anchor_se=0.002,
        quarter_sd=0.004,
    )
    rng = np.random.default_rng(0)
    amounts = forecast_module._absence_amounts(model, [period], {}, contract, rng, 50)
    years = 40 * (period.last - period.first + 1) / 4
    expected = -100 * np.mean(list(calendar.values())) * years * contract.rate_card.school_absence
    np.testing.assert_allclose(amounts[:, 0], expected)
    # The next period is not seen: its payment is uncertain.
    following = result_periods(contract)[1]
    later = forecast_module._absence_amounts(model, [following], {}, contract, rng, 400)
    assert later[:, 0].std() > 0


def test_decline_is_pulled_to_its_prior_where_the_data_say_little(monkeypatch):
    # A constant hazard (0.05 a quarter) seen for 12 quarters. 20,000 households
    # show no decline whatever the prior; 60 households say little, so the decline
    # lies between their maximum-likelihood slope and the prior, nearer the prior
    # than the slope alone; with fewer than three quarters it is the prior.
    truth = np.full(12, 0.05)
    truth[0] = 0.0
    seen = list(range(12))

    def decline(n, seed=4):
        counts, at_risk = _counts_with_hazard(truth, n, seed)
        w = np.ones((1, n))
        return forecast_module._decline(w @ counts, w @ at_risk, seen, 1)[0]

    prior = forecast_module.DECLINE_PRIOR
    assert prior < 0
    assert decline(20000) == pytest.approx(0.0, abs=0.06)
    shrunk = decline(60)
    monkeypatch.setattr(forecast_module, "DECLINE_PRIOR_SD", 1e6)
    alone = decline(60)
    assert abs(shrunk - prior) < abs(np.clip(alone, forecast_module.MAX_DECLINE, 0) - prior)
    monkeypatch.undo()
    few = forecast_module._decline(np.ones((1, 12)), np.ones((1, 12)), [0, 1, 2], 1)
    assert few[0] == pytest.approx(prior)


def test_quarter_shocks_and_absence_error_widen_the_band(extract, contract):
    # The same futures with no quarter shocks and the absence errors unscaled, and
    # with them: the unit targets' and the absence payments' spread grows.
    from analysis.data.asof import as_of
    from analysis.payments import absence
    from analysis.payments.targets import UNIT_TARGETS

    data = as_of(extract.tables, "2025Q2", contract)
    unit_results = {name: rule(data, contract) for name, rule in UNIT_TARGETS.items()}
    ledger = ledger_module.build(extract.tables, "2025Q2", contract)
    model = forecast_module.absence_model(data, absence.fit(data, pretest=False))

    def spread(shock, scale):
        settings = contract.forecast.model_copy(
            update={"quarter_shock": shock, "absence_error_scale": scale}
        )
        sim = forecast_module.simulate(
            data,
            unit_results,
            model,
            ledger,
            contract.model_copy(update={"forecast": settings}),
            400,
        )
        jobs = sim.by_target["employment"].sum(axis=1)
        return np.std(jobs), np.std(sim.by_target["school_absence"].sum(axis=1))

    jobs_plain, absence_plain = spread(0.0, 1.0)
    jobs_shocked, absence_scaled = spread(0.6, 2.0)
    assert jobs_shocked > 1.1 * jobs_plain
    assert absence_scaled > 1.5 * absence_plain
