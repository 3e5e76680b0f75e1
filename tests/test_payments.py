"""Payment targets and payments on hand-worked examples, plus properties (hypothesis)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import quarters
from analysis.data.asof import as_of
from analysis.payments.payments import achievements_in_period, statement
from analysis.payments.periods import result_periods
from analysis.payments.targets import (
    action_plan_goals,
    employment,
    life_satisfaction,
    social_measures,
)

Q = quarters.to_index


def _tables(benefits=(), measures=(), survey=(), plans=()):
    """One household enrolled 2024Q1 in Houlkærvænget, adult P1 born 1980, child P2 born 2015."""
    households = pd.DataFrame(
        [
            {
                "household_id": "H1",
                "group": "intervention",
                "area": "HOU",
                "household_type": "single_parent",
                "enrolment_quarter": "2024Q1",
                "exit_quarter": None,
                "open_cases": 3,
            }
        ]
    )
    persons = pd.DataFrame(
        [
            {"person_id": "P1", "household_id": "H1", "birth_year": 1980, "sex": "K"},
            {"person_id": "P2", "household_id": "H1", "birth_year": 2015, "sex": "M"},
        ]
    )
    return {
        "households": households,
        "persons": persons,
        "benefits": pd.DataFrame(
            benefits, columns=["person_id", "quarter", "benefit_category", "weeks_on_benefit"]
        ),
        "social_measures": pd.DataFrame(measures, columns=["person_id", "quarter", "measure"]),
        "school_absence": pd.DataFrame(
            columns=[
                "person_id",
                "quarter",
                "grade",
                "school_days",
                "days_absent",
                "days_unauthorised",
            ]
        ),
        "life_satisfaction": pd.DataFrame(
            survey, columns=["person_id", "wave", "quarter", "score", "response"]
        ),
        "action_plans": pd.DataFrame(
            plans,
            columns=[
                "goal_id",
                "household_id",
                "domain",
                "set_quarter",
                "review_quarter",
                "status",
            ],
        ),
    }


def test_employment_hand_worked(contract):
    # Baseline 2023Q4: aktivitetsparat kontanthjælp (step 1). 2024Q1 jobparat (2), 2024Q2 jobparat (2):
    # step 1 sustained two quarters -> achieved 2024Q2. 2024Q3 fleksjob (3), 2024Q4 fleksjob (3): step 2 achieved 2024Q4.
    # 2025Q1 back to jobparat (2): step 2 no longer holds, step 1 still holds.
    path = [
        ("2023Q4", "kontanthjaelp_aktivitetsparat"),
        ("2024Q1", "kontanthjaelp_jobparat"),
        ("2024Q2", "kontanthjaelp_jobparat"),
        ("2024Q3", "fleksjob"),
        ("2024Q4", "fleksjob"),
        ("2025Q1", "kontanthjaelp_jobparat"),
    ]
    data = as_of(_tables(benefits=[("P1", q, c, 13) for q, c in path]), "2025Q2", contract)
    result = employment(data, contract)
    got = {(r.step, quarters.from_index(r.t)) for r in result.achievements.itertuples()}
    assert got == {(1, "2024Q2"), (2, "2024Q4")}
    # Payment, mode once: period 2023Q4-2024Q4 pays both steps (2 x the price).
    period = result_periods(contract)[0]
    assert len(achievements_in_period(result, period, "once")) == 2
    # Mode per_followup at the end of that period (2024Q4): both steps hold -> 2 unit-steps.
    assert len(achievements_in_period(result, period, "per_followup")) == 2


def test_employment_not_sustained_is_not_paid(contract):
    path = [
        ("2023Q4", "kontanthjaelp_aktivitetsparat"),
        ("2024Q1", "kontanthjaelp_jobparat"),
        ("2024Q2", "kontanthjaelp_aktivitetsparat"),
        ("2024Q3", "kontanthjaelp_jobparat"),
    ]
    data = as_of(_tables(benefits=[("P1", q, c, 13) for q, c in path]), "2024Q4", contract)
    assert employment(data, contract).achievements.empty


def test_social_measures_hand_worked(contract):
    # Child P2: placement (BL46 from 2024, SEL52_ANBR before) at baseline 2023Q4 = rank 2.
    # 2024Q1-2024Q2 supporting measure BL32 (rank 1): step 1 achieved 2024Q2.
    # 2024Q3-2024Q4 none (rank 0): step 2 achieved 2024Q4. 2 x 25,000 = 50,000 DKK.
    path = [
        ("2023Q4", "SEL52_ANBR"),
        ("2024Q1", "BL32"),
        ("2024Q2", "BL32"),
        ("2024Q3", "none"),
        ("2024Q4", "none"),
    ]
    data = as_of(_tables(measures=[("P2", q, m) for q, m in path]), "2025Q1", contract)
    result = social_measures(data, contract)
    assert {(r.step, quarters.from_index(r.t)) for r in result.achievements.itertuples()} == {
        (1, "2024Q2"),
        (2, "2024Q4"),
    }


def test_life_satisfaction_hand_worked(contract):
    # Baseline 5 at wave 0; wave 1 non-response (neither success nor failure); wave 2 score 6 = +1 -> achieved 2025Q1.
    survey = [
        ("P1", 0, "2024Q1", 5.0, "answered"),
        ("P1", 1, "2024Q3", None, "nonresponse"),
        ("P1", 2, "2025Q1", 6.0, "answered"),
    ]
    result = life_satisfaction(as_of(_tables(survey=survey), "2025Q1", contract), contract)
    assert [quarters.from_index(t) for t in result.achievements["t"]] == ["2025Q1"]
    assert result.extra["nonresponse_total"] == 1


def test_action_plan_goals_hand_worked(contract):
    plans = [
        ("G1", "H1", "health", "2024Q1", "2024Q2", "in_progress"),
        ("G1", "H1", "health", "2024Q1", "2024Q4", "achieved"),
        ("G2", "H1", "housing", "2024Q1", "2024Q2", "dropped"),
    ]
    result = action_plan_goals(as_of(_tables(plans=plans), "2025Q1", contract), contract)
    assert result.achievements["unit_id"].tolist() == ["G1"]
    assert len(result.eligible) == 2


def test_statement_prices_and_modes(contract):
    path = [
        ("2023Q4", "kontanthjaelp_aktivitetsparat"),
        ("2024Q1", "kontanthjaelp_jobparat"),
        ("2024Q2", "kontanthjaelp_jobparat"),
        ("2024Q3", "kontanthjaelp_jobparat"),
        ("2024Q4", "kontanthjaelp_jobparat"),
        ("2025Q1", "kontanthjaelp_jobparat"),
        ("2025Q2", "kontanthjaelp_jobparat"),
        ("2025Q3", "kontanthjaelp_jobparat"),
        ("2025Q4", "kontanthjaelp_jobparat"),
    ]
    data = as_of(_tables(benefits=[("P1", q, c, 13) for q, c in path]), "2026Q1", contract)
    results = {
        "employment": employment(data, contract),
        "social_measures": social_measures(data, contract),
        "life_satisfaction": life_satisfaction(data, contract),
        "action_plan_goals": action_plan_goals(data, contract),
    }
    periods = result_periods(contract)[:2]
    price = contract.rate_card.employment
    # Mode once: step 1 (achieved 2024Q2) is paid in the first period only: the price, then 0.
    table = statement(results, {}, periods, contract)
    employment_rows = table.loc[table["target"] == "employment", "amount"].tolist()
    assert employment_rows == [price, 0.0]
    # Mode per_followup: it still holds at the end of 2025, so it is paid again: the price twice.
    per_followup = contract.model_copy(
        update={
            "targets": contract.targets.model_copy(
                update={
                    "employment": contract.targets.employment.model_copy(
                        update={"payment_mode": "per_followup"}
                    )
                }
            )
        }
    )
    table = statement(results, {}, periods, per_followup)
    assert table.loc[table["target"] == "employment", "amount"].tolist() == [price, price]


def test_school_absence_price(contract):
    # Estimated reduction of 1.5 percentage points for 100 pupils over a one-year
    # period at a price of 4,000: 4,000 x 100 x 1.5 = 600,000 DKK.
    period = result_periods(contract)[1]
    empty = {
        name: type(
            "R",
            (),
            {
                "achievements": pd.DataFrame(columns=["unit_id", "step", "t"]),
                "status": pd.DataFrame(columns=["unit_id", "step", "t", "holds"]),
            },
        )()
        for name in ("employment", "social_measures", "life_satisfaction", "action_plan_goals")
    }
    contract = _with(contract, rate_card={"school_absence": 4000})
    whole_period = _with(contract, targets={"school_absence": {"exposure": "period"}})
    estimate = {"att": -0.015, "pupils": 100, "pupil_years": 40.0}
    table = statement(empty, {period.report: estimate}, [period], whole_period)
    assert table.loc[table["target"] == "school_absence", "amount"].item() == pytest.approx(
        600000.0
    )
    # By exposure (the default): 40 pupil-years x 1.5 points x 4,000 = 240,000 DKK.
    table = statement(empty, {period.report: estimate}, [period], contract)
    assert table.loc[table["target"] == "school_absence", "amount"].item() == pytest.approx(
        240000.0
    )
    # An increase in absence releases nothing.
    table = statement(empty, {period.report: {**estimate, "att": 0.01}}, [period], contract)
    assert table.loc[table["target"] == "school_absence", "amount"].item() == 0.0


def _with(contract, **sections):
    """The contract with some settings replaced (nested dicts merge into the sections)."""
    data = contract.model_dump()
    for name, update in sections.items():
        for key, value in update.items():
            if isinstance(value, dict):
                data[name][key] = {**data[name][key], **value}
            else:
                data[name][key] = value
    return type(contract).model_validate(data)


def test_absence_exposure_hand_worked(contract):
    # Period 2025Q1-2025Q4. Pupil A enrolled 2024Q2 (before the period): the whole
    # year, 1.0. Pupil B enrolled 2025Q3: 2025Q3-2025Q4, 0.5. Pupil C enrolled
    # 2025Q4: 0.25. Pupil D (comparison) and pupil E (enrolled 2026Q1, after the
    # period) have no exposure. Total 1.75 pupil-years for 3 pupils, where the
    # period's length would give 3 x 1.0.
    from analysis.payments.absence import exposure_years

    period = result_periods(contract)[1]
    q = quarters.to_index
    rows = []
    for pupil, g in (
        ("A", q("2024Q2")),
        ("B", q("2025Q3")),
        ("C", q("2025Q4")),
        ("D", 0),
        ("E", q("2026Q1")),
    ):
        for t in range(q("2024Q1"), q("2026Q2") + 1):
            rows.append({"person_id": pupil, "g": g, "t": t})
    pupils, years = exposure_years(pd.DataFrame(rows), period)
    assert (pupils, years) == (3, 1.75)


def _settled(contract, amounts):
    """A ledger with one employment settlement of each amount, one result report after another."""
    from analysis.payments.ledger import STATEMENT_COLUMNS, empty, settle

    ledger = empty()
    for period, amount in zip(result_periods(contract), amounts, strict=False):
        current = pd.DataFrame(
            [
                {
                    "report": period.report,
                    "period": period.label,
                    "payment_quarter": period.payment_quarter,
                    "target": "employment",
                    "units": 1,
                    "achievements": 1.0,
                    "unit_price": amount,
                    "amount": round(amount, 2),
                }
            ]
        )
        earlier = ledger.loc[
            ledger["kind"] == "settlement",
            STATEMENT_COLUMNS,
        ]
        ledger = settle(ledger, pd.concat([earlier, current], ignore_index=True), period, contract)
    return ledger


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=2e7), min_size=1, max_size=4))
def test_caps_always_hold(contract, amounts):
    from analysis.payments.investors import disbursements
    from analysis.payments.ledger import by_report

    ledger = _settled(contract, amounts)
    capped = by_report(ledger, "2030Q1")
    assert capped["cumulative_paid"].iloc[-1] <= contract.caps.total_outcome_payments + 1e-6
    assert (capped["paid"] <= capped["due"] + 1e-6).all()
    flows = disbursements(contract)
    rate = contract.caps.investor_annual_return
    for row in capped.itertuples():
        pay_t = Q(row.payment_quarter)
        past = flows.loc[flows["t"] <= pay_t]
        allowed = float((past["amount"] * (1 + rate) ** ((pay_t - past["t"]) / 4)).sum())
        assert row.cumulative_paid <= allowed + 0.01
    assert (
        (
            capped["due"]
            - capped["paid"]
            - capped["withheld_total_cap"]
            - capped["withheld_return_cap"]
        ).abs()
        < 0.03
    ).all()  # each column is rounded to cents


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "kontanthjaelp_aktivitetsparat",
                "kontanthjaelp_jobparat",
                "fleksjob",
                "beskaeftigelse",
            ]
        ),
        min_size=4,
        max_size=9,
    ),
    st.integers(min_value=0, max_value=8),
)
def test_payments_monotone_no_double_pay_and_asof_stable(contract, path, improve_at):
    quarters_list = quarters.span("2023Q4", "2026Q1")[: len(path)]
    benefits = [("P1", q, c, 13) for q, c in zip(quarters_list, path, strict=False)]
    periods = result_periods(contract)[:2]

    def amount(rows, cut="2026Q1"):
        data = as_of(_tables(benefits=rows), cut, contract)
        result = employment(data, contract)
        for period in periods:
            paid = achievements_in_period(result, period, "once")
            assert not paid.duplicated().any()
        return sum(len(achievements_in_period(result, p, "once")) for p in periods), result

    base, _ = amount(benefits)
    # Improving one post-enrolment quarter to ordinary employment never lowers the payment.
    index = 1 + improve_at % max(1, len(benefits) - 1)
    better = list(benefits)
    better[index] = (better[index][0], better[index][1], "beskaeftigelse", 0)
    improved, _ = amount(better)
    assert improved >= base
    # Results as of 2024Q4 do not change when later quarters are added.
    early = [r for r in benefits if Q(r[1]) <= Q("2024Q3")]
    _, cut_result = amount(early, "2024Q4")
    _, full_result = amount(benefits, "2024Q4")
    pd.testing.assert_frame_equal(
        cut_result.achievements.reset_index(drop=True),
        full_result.achievements.reset_index(drop=True),
    )


def test_synthetic_achievements_follow_the_truth(extract, contract, tmp_path):
    from analysis.config import load_synthetic
    from analysis.data.synth import generate
    from analysis.data.validate import load_extract
    from analysis.payments.quarterly import compute

    synth = load_synthetic()
    no_effect = synth.model_copy(
        update={
            "true_effects": synth.true_effects.model_copy(
                update={
                    "ladder_step": 0.0,
                    "support_level": 0.0,
                    "absence_rate": 0.0,
                    "life_satisfaction": 0.0,
                }
            )
        }
    )
    generate(tmp_path / "null", contract, no_effect, contract.seed)
    with_effect = compute(extract, "2027Q1", contract).key_numbers["achievements_cumulative"]
    without = compute(load_extract(tmp_path / "null", contract), "2027Q1", contract)
    # Same seed, same people: the configured effects add achievements on every effect-driven target.
    for target in ("employment", "social_measures", "life_satisfaction"):
        assert with_effect[target] > without.key_numbers["achievements_cumulative"][target], target
    # With no effect the absence estimates straddle zero; with the effect they are reductions.
    assert (compute(extract, "2027Q1", contract).tables["absence_estimates"]["att"] < 0).all()
    assert (without.tables["absence_estimates"]["ci_low"] < 0).all()


def test_first_quarter_has_no_post_period_yet(extract, contract):
    from analysis.payments.quarterly import compute

    # As of 2023Q4 register data reach 2023Q3: nothing is post-enrolment yet.
    result = compute(extract, "2023Q4", contract)
    assert result.tables["absence_estimates"].empty
    assert list(result.tables["absence_estimates"].columns)[:2] == ["report", "att"]
    assert result.key_numbers["payments_due_total"] == 0


def test_irr_hand_worked():
    from analysis.payments.investors import irr

    # 100 invested, 110 back after four quarters: 10 % a year.
    assert irr(pd.Series([-100.0, 110.0], index=[0, 4])) == pytest.approx(0.10, abs=1e-10)
    # Heavy loss: 10 back of 100 after a year is -90 %.
    assert irr(pd.Series([-100.0, 10.0], index=[0, 4])) == pytest.approx(-0.90, abs=1e-10)
    assert pd.isna(irr(pd.Series([-100.0, -10.0], index=[0, 4])))


def test_investors_count_only_disbursements_to_date(contract):
    from analysis.payments.investors import positions
    from analysis.payments.ledger import empty

    early, _ = positions(contract, empty(), until="2024Q2")
    # Three of the thirteen intervention quarters are disbursed by 2024Q2.
    assert early["invested"].sum() == pytest.approx(contract.investment.total * 3 / 13, abs=0.05)


def test_persons_of_households_are_the_merge_in_the_persons_order():
    # persons_in picks the persons by Arrow's hash lookup before merging (pandas' merge
    # of a whole national persons table turned every id into a Python object): the
    # frame is the merge's, row for row.
    from analysis.payments.targets import persons_in

    persons = pd.DataFrame(
        {
            "person_id": ["p5", "p1", "p3", "p2", "p4"],
            "household_id": ["h2", "h1", "h3", "h2", "h1"],
            "birth_year": [1980, 1990, 2000, 2010, 1970],
        },
        index=[10, 11, 12, 13, 14],
    ).astype({"person_id": "string[pyarrow]", "household_id": "string[pyarrow]"})
    households = pd.DataFrame(
        {"household_id": pd.Series(["h1", "h2"], dtype="string[pyarrow]"), "g": [8090, 8094]}
    )
    expected = persons.merge(households, on="household_id")
    pd.testing.assert_frame_equal(persons_in(persons, households), expected)
    assert persons_in(persons, households)["person_id"].tolist() == ["p5", "p1", "p2", "p4"]
