"""The settlement ledger: settled entries frozen, adjustments as entries, one reconciled total."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from analysis import quarters
from analysis.payments import ledger as ledger_module
from analysis.payments.ledger import LedgerError, build, by_report, empty, paid_to_date, settle
from analysis.payments.periods import result_periods
from analysis.payments.reconcile import ReconciliationError, check_report
from analysis.render.numbers import dkk


def _with(contract, **sections):
    data = contract.model_dump()
    for name, update in sections.items():
        data[name] = {**data[name], **update}
    return type(contract).model_validate(data)


def _statement(rows):
    """Statement rows (report index, target, units, price) for the contract's result periods."""
    return lambda contract: pd.DataFrame(
        [
            {
                "report": result_periods(contract)[i].report,
                "period": result_periods(contract)[i].label,
                "payment_quarter": result_periods(contract)[i].payment_quarter,
                "target": target,
                "units": units,
                "achievements": float(units),
                "unit_price": price,
                "amount": units * price,
            }
            for i, target, units, price in rows
        ],
        columns=ledger_module.STATEMENT_COLUMNS,
    )


def test_settlement_hand_worked(contract):
    # Report 1 settles 3 employment steps at 10,000 and 2 goals at 1,000: 32,000 DKK,
    # paid in the quarter after the report.
    first, second = result_periods(contract)[:2]
    ledger = settle(
        empty(),
        _statement([(0, "employment", 3, 10000), (0, "action_plan_goals", 2, 1000)])(contract),
        first,
        contract,
    )
    assert list(ledger["entry"]) == [
        f"{first.report}:employment",
        f"{first.report}:action_plan_goals",
    ]
    assert set(ledger["kind"]) == {"settlement"}
    assert ledger["paid"].tolist() == [30000.0, 2000.0]
    # Paid to date counts a payment once its quarter has come.
    assert paid_to_date(ledger, first.report) == 0.0
    assert paid_to_date(ledger, first.payment_quarter) == 32000.0
    # Settling the same report again, or an earlier one after a later, is refused.
    with pytest.raises(LedgerError, match="already settled"):
        settle(ledger, _statement([(0, "employment", 3, 10000)])(contract), first, contract)
    later = settle(empty(), _statement([(1, "employment", 1, 1)])(contract), second, contract)
    with pytest.raises(LedgerError, match="comes before"):
        settle(later, _statement([(0, "employment", 1, 1)])(contract), first, contract)


def test_adjustment_hand_worked(contract):
    # Report 1 settled 3 steps at 10,000. As of report 2 a late register correction
    # shows 2 steps in report 1's period: an adjustment of -1 step, -10,000 DKK,
    # correcting entry "<report 1>:employment", shown but not paid (the default).
    first, second = result_periods(contract)[:2]
    settled = settle(empty(), _statement([(0, "employment", 3, 10000)])(contract), first, contract)
    current = _statement([(0, "employment", 2, 10000), (1, "employment", 4, 10000)])(contract)
    ledger = settle(settled, current, second, contract)
    # The settled entry stands, unchanged.
    pd.testing.assert_frame_equal(ledger.iloc[:1], settled)
    adjustment = ledger.loc[ledger["kind"] == "adjustment"].iloc[0]
    assert adjustment["corrects"] == f"{first.report}:employment"
    assert adjustment["report"] == second.report
    assert (adjustment["units"], adjustment["amount"], adjustment["paid"]) == (-1, -10000.0, 0.0)
    assert adjustment["reason"] == "revised_data"
    # Paid to date: 30,000 + 40,000; the adjustment is shown, not paid.
    assert paid_to_date(ledger, second.payment_quarter) == 70000.0
    table = by_report(ledger, second.payment_quarter)
    assert table["adjustments"].tolist() == [0.0, -10000.0]
    assert table["adjustments_paid"].tolist() == [0.0, 0.0]
    # The next report compares with the amount as adjusted: no second adjustment
    # for the same change.
    third = result_periods(contract)[2]
    again = settle(
        ledger,
        pd.concat([current, _statement([(2, "employment", 0, 10000)])(contract)]),
        third,
        contract,
    )
    assert (again["kind"] == "adjustment").sum() == 1
    # With pay_adjustments the correction is paid (deducted here).
    paying = _with(contract, settlement={"pay_adjustments": True})
    ledger = settle(settled, current, second, paying)
    assert paid_to_date(ledger, second.payment_quarter) == 60000.0


def test_append_only_names_the_changed_entry(contract, tmp_path):
    first = result_periods(contract)[0]
    ledger = settle(empty(), _statement([(0, "employment", 3, 10000)])(contract), first, contract)
    path = tmp_path / "ledger.csv"
    ledger_module.write(path, ledger)
    assert ledger_module.read(path).equals(ledger)
    rewritten = ledger.copy()
    rewritten.loc[0, "amount"] = 20000.0
    with pytest.raises(LedgerError, match=f"{first.report}:employment"):
        ledger_module.write(path, rewritten, before=ledger)


def test_caps_are_entries_that_withhold(contract):
    # A total cap of 25,000 on a 32,000 statement withholds 7,000 as a cap entry.
    capped = _with(contract, caps={"total_outcome_payments": 25000})
    first = result_periods(contract)[0]
    ledger = settle(
        empty(),
        _statement([(0, "employment", 3, 10000), (0, "action_plan_goals", 2, 1000)])(capped),
        first,
        capped,
    )
    cap = ledger.loc[ledger["kind"] == "cap"].iloc[0]
    assert (cap["reason"], cap["paid"]) == ("total_cap", -7000.0)
    assert ledger["paid"].sum() == 25000.0


def _corrected(tables, contract):
    """A later vintage of the extract: one person's first-period employment steps undone.

    The register correction sets the person's benefit category back to the one
    before enrolment in every quarter from enrolment on.
    """
    from analysis.data.asof import as_of
    from analysis.payments.targets import employment

    first = result_periods(contract)[0]
    data = as_of(tables, first.report, contract)
    result = employment(data, contract)
    achieved = result.achievements.loc[result.achievements["t"].between(first.first, first.last)]
    person = achieved["unit_id"].iloc[0]
    steps = int((achieved["unit_id"] == person).sum())
    g = int(result.eligible.set_index("unit_id").loc[person, "g"])
    benefits = tables["benefits"].copy()
    t = benefits["quarter"].map(quarters.to_index)
    mine = benefits["person_id"] == person
    baseline = benefits.loc[mine & (t == g - 1), "benefit_category"].iloc[0]
    benefits.loc[mine & (t >= g), "benefit_category"] = baseline
    return {**tables, "benefits": benefits}, steps


def test_two_vintages_late_register_correction(extract, contract):
    first, second = result_periods(contract)[:2]
    early = build(extract.tables, first.report, contract)
    later, steps = _corrected(extract.tables, contract)
    ledger = build(later, second.report, contract, ledger=early)
    # The settlement of the first report stands as settled from the first vintage.
    pd.testing.assert_frame_equal(ledger.iloc[: len(early)], early)
    adjustment = ledger.loc[
        (ledger["kind"] == "adjustment") & (ledger["target"] == "employment")
    ].iloc[0]
    price = contract.rate_card.employment
    assert adjustment["corrects"] == f"{first.report}:employment"
    assert adjustment["units"] == -steps
    assert adjustment["amount"] == -steps * price
    assert adjustment["paid"] == 0.0
    # Settled from the corrected vintage alone, the first report would differ.
    fresh = build(later, first.report, contract)
    settled = lambda frame: frame.set_index("entry").loc[f"{first.report}:employment", "amount"]  # noqa: E731
    assert settled(fresh) == settled(early) - steps * price


def test_two_vintages_through_the_results_folders(synthetic_dir, contract, tmp_path):
    from analysis.data.validate import load_extract
    from analysis.payments.quarterly import write_quarterly_results

    first, second = result_periods(contract)[:2]
    folder = tmp_path / "quarterly"
    before_second = quarters.shift(second.report, -1)
    # One settlement record for both deliveries: what was settled is read from it.
    record = tmp_path / "record.sqlite"
    write_quarterly_results(
        synthetic_dir, before_second, folder / before_second, contract, record=record
    )
    vintage = tmp_path / "vintage2"
    shutil.copytree(synthetic_dir, vintage)
    tables, steps = _corrected(load_extract(synthetic_dir, contract).tables, contract)
    tables["benefits"].to_parquet(vintage / "benefits.parquet", index=False)
    write_quarterly_results(vintage, second.report, folder / second.report, contract, record=record)
    old = pd.read_csv(folder / before_second / "payment_statement.csv")
    new = pd.read_csv(folder / second.report / "payment_statement.csv")
    settled = old.loc[old["status"] == "final"].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        new.loc[new["report"] == first.report].reset_index(drop=True), settled
    )
    adjustments = pd.read_csv(folder / second.report / "adjustments.csv")
    row = adjustments.loc[adjustments["target"] == "employment"].iloc[0]
    assert (row["corrects_report"], row["units"]) == (first.report, -steps)


def test_every_later_quarter_keeps_settled_amounts(synthetic_dir, contract, tmp_path):
    from analysis.payments.quarterly import write_quarterly_results

    folder = tmp_path / "quarterly"
    span = quarters.span(result_periods(contract)[0].report, result_periods(contract)[1].report)
    for quarter in span:
        write_quarterly_results(synthetic_dir, quarter, folder / quarter, contract)
    first = pd.read_csv(folder / span[0] / "ledger.csv", keep_default_na=False)
    for quarter in span[1:]:
        later = pd.read_csv(folder / quarter / "ledger.csv", keep_default_na=False)
        pd.testing.assert_frame_equal(later.iloc[: len(first)], first)


def test_final_irr_between_zero_and_the_cap(extract, contract):
    # The calibrated illustrative contract on the default synthetic data: every
    # investor gets the principal back with a return at most the cap.
    from analysis.payments.quarterly import compute

    final = compute(extract, contract.timeline.evaluations.final, contract)
    investors = final.tables["investors"]
    assert final.key_numbers["final_settlement_paid"]
    assert (investors["irr_kind"] == "realised").all()
    assert investors["irr"].between(0, contract.caps.investor_annual_return).all()
    assert (investors["repaid"] >= investors["invested"]).all()
    # Before the final settlement the IRR is projected, never below -99 %.
    early = compute(extract, contract.timeline.evaluations.midterm, contract)
    rates = early.tables["investors"]
    assert (rates["irr_kind"] == "projected").all()
    assert not (rates["irr"] < -0.99).any()


def test_projected_repayment_hand_worked(contract):
    from analysis.payments.investors import cash_flows

    # One settled report paid 1,000,000; the projection is 4,000,000 at the end. The
    # 3,000,000 not yet settled is spread over the remaining reports' payment
    # quarters in proportion to their periods (each a calendar year: equal parts).
    periods = result_periods(contract)
    ledger = settle(
        empty(), _statement([(0, "employment", 100, 10000)])(contract), periods[0], contract
    )
    flows = cash_flows(contract, ledger, periods[0].payment_quarter, projected_median=4_000_000)
    projected = flows.loc[flows["kind"] == "repayment_projected"]
    per_report = projected.groupby("quarter")["amount"].sum()
    assert list(per_report.index) == [p.payment_quarter for p in periods[1:]]
    assert per_report.to_numpy() == pytest.approx([1_000_000.0] * 3)
    # Each investor gets its share.
    share = contract.investment.shares["DSI"]
    assert projected.loc[projected["investor"] == "DSI", "amount"].sum() == pytest.approx(
        3_000_000 * share
    )


def test_calibration_reaches_the_business_case(contract):
    from analysis.config import load_synthetic
    from analysis.payments.calibration import calibrate

    result = calibrate(contract, load_synthetic())
    # Rounded prices land near the target return, below the cap; the shortfall
    # scenario loses money.
    assert result.irr == pytest.approx(contract.calibration.target_annual_return, abs=0.005)
    assert result.irr < contract.caps.investor_annual_return
    assert result.irr_shortfall < 0
    # The contract's rate card is the calibrated one (re-run `python -m analysis
    # calibrate` after changing the generator and copy its rate card).
    for target, price in result.prices.items():
        assert getattr(contract.rate_card, target) == pytest.approx(price, rel=0.10)


def test_rendered_total_must_match_the_ledger(contract):
    first = result_periods(contract)[0]
    ledger = settle(empty(), _statement([(0, "employment", 3, 10000)])(contract), first, contract)
    quarter = first.payment_quarter
    numbers = {
        "payments_paid_total": 30000.0,
        "payments_settled_total": 30000.0,
        **{f"investors.{k}.repaid": 30000.0 * v for k, v in contract.investment.shares.items()},
    }
    check_report(
        "Udbetalt til dato **30.000 kr.**", numbers, ledger, quarter, "da", "test", dkk=dkk
    )
    with pytest.raises(ReconciliationError, match="not printed"):
        check_report(
            "Udbetalt til dato **31.000 kr.**", numbers, ledger, quarter, "da", "test", dkk=dkk
        )
    with pytest.raises(ReconciliationError, match="payments_paid_total"):
        check_report(
            "30.000 kr.",
            {**numbers, "payments_paid_total": 29000.0},
            ledger,
            quarter,
            "da",
            "t",
            dkk=dkk,
        )


def test_small_adjustment_is_hidden_with_its_sums(extract, contract):
    # An adjustment of a few steps is a count of a few persons: disclosure control
    # hides it, and the report's adjustment total for that report with it.
    from analysis.payments.quarterly import compute
    from analysis.reports.quarterly_view import capped_table
    from analysis.sdc import disclosure
    from analysis.sdc.quarterly import QuarterlyInputs, protect
    from analysis.sdc.suppress import SUPPRESSED

    first, second = result_periods(contract)[:2]
    early = build(extract.tables, first.report, contract)
    later, steps = _corrected(extract.tables, contract)
    assert 0 < steps < contract.disclosure.min_persons
    results = compute(later, second.report, contract, early)
    inputs = protect(QuarterlyInputs(second.report, results.tables, results.key_numbers), contract)
    corrects = f"{first.report}:employment"
    assert inputs.is_hidden(disclosure.adjustment_key("units", second.report, corrects))
    assert inputs.is_hidden(disclosure.adjustment_key("amount", second.report, corrects))
    table, _ = capped_table(inputs, contract, "en")
    shown = table.set_index("report").loc[second.report, "adjustments"]
    assert shown == SUPPRESSED


def test_a_paid_small_adjustment_is_hidden_where_it_is_paid_too(extract, contract):
    # Under a contract that pays adjustments, what an adjustment pays is its amount:
    # the caps table's paid adjustments and the adjustments table's payable column
    # are hidden with the amount (they were printed whole).
    from analysis.payments.quarterly import compute
    from analysis.reports.quarterly_view import adjustments_table, capped_table
    from analysis.sdc.quarterly import QuarterlyInputs, protect
    from analysis.sdc.suppress import SUPPRESSED

    paying = contract.model_copy(
        update={"settlement": contract.settlement.model_copy(update={"pay_adjustments": True})}
    )
    first, second = result_periods(paying)[:2]
    early = build(extract.tables, first.report, paying)
    later, steps = _corrected(extract.tables, paying)
    assert 0 < steps < paying.disclosure.min_persons
    results = compute(later, second.report, paying, early)
    adjustments = results.tables["adjustments"]
    assert (adjustments["paid"] != 0).any()
    inputs = protect(QuarterlyInputs(second.report, results.tables, results.key_numbers), paying)
    caps, _ = capped_table(inputs, paying, "en")
    assert caps.set_index("report").loc[second.report, "adjustments_paid"] == SUPPRESSED
    table, _ = adjustments_table(inputs, paying, "en")
    hidden = table["amount_change"] == SUPPRESSED
    assert hidden.any()
    assert (table.loc[hidden, "adjustment_payable"] == SUPPRESSED).all()
    # Under the default contract they are 0 by its rule, and shown.
    results = compute(later, second.report, contract, build(extract.tables, first.report, contract))
    inputs = protect(QuarterlyInputs(second.report, results.tables, results.key_numbers), contract)
    table, _ = adjustments_table(inputs, contract, "en")
    assert (table["adjustment_payable"] == 0).all()


def test_return_cap_keeps_the_irr_at_the_cap(contract):
    # Settlements far above what the investment could earn: the return cap
    # withholds the excess, however early the repayments come, so the investors'
    # IRR is exactly the cap.
    from analysis.payments.investors import positions

    ledger = empty()
    for i, period in enumerate(result_periods(contract)):
        current = _statement([(j, "employment", 1, 20_000_000) for j in range(i + 1)])(contract)
        ledger = settle(ledger, current, period, contract)
    assert (ledger["reason"] == "return_cap").any()
    final, _ = positions(contract, ledger, "2030Q1", final=True)
    assert final["irr"].to_numpy() == pytest.approx(contract.caps.investor_annual_return, abs=1e-6)


def test_printed_money_adds_up_and_paid_to_date_counts_only_what_is_paid(extract, contract):
    # Every entry of the ledger is whole kroner (statements and cap entries are), so a
    # printed total is the sum of its printed rows: round the entries, then sum them. The
    # table of settled reports keeps what is paid to date apart from what is earned but
    # not yet paid, and its total row gives page 1's paid to date.
    from analysis.payments.quarterly import compute
    from analysis.reports.quarterly_view import capped_table
    from analysis.sdc.quarterly import QuarterlyInputs, protect
    from analysis.sdc.suppress import SUPPRESSED

    first, second = result_periods(contract)[:2]
    early = build(extract.tables, first.report, contract)
    later, _ = _corrected(extract.tables, contract)
    results = compute(later, second.report, contract, early)
    ledger = results.tables["ledger"]
    assert ((ledger[["amount", "paid"]] % 1) == 0).all().all(), ledger[["amount", "paid"]]
    statement = results.tables["payment_statement"]
    assert ((statement["amount"] % 1) == 0).all()
    # amount = achievements × price still holds for school absence's pupil-point-years.
    assert (
        statement["achievements"] * statement["unit_price"] - statement["amount"]
    ).abs().max() < 0.01
    inputs = protect(QuarterlyInputs(second.report, results.tables, results.key_numbers), contract)
    table, note = capped_table(inputs, contract, "da")
    rows, total = table.iloc[:-1].set_index("report"), table.iloc[-1]
    assert total["report"] == "I alt"
    for column in (
        "due",
        "adjustments_paid",
        "withheld_total",
        "withheld_return",
        "paid_to_date",
        "awaiting",
    ):
        assert total[column] == SUPPRESSED or total[column] == sum(rows[column]), column
    key = results.key_numbers
    # The second report is settled this quarter and paid the next: earned, not yet paid.
    assert rows.loc[second.report, "paid_to_date"] == 0
    assert rows.loc[second.report, "awaiting"] > 0
    assert (
        total["paid_to_date"]
        == key["payments_paid_total"]
        == rows.loc[first.report, "paid_to_date"]
    )
    assert total["awaiting"] == key["payments_awaiting"]
    # A row: due + adjustments payable − withheld = paid to date + earned not yet paid.
    for report, row in rows.iterrows():
        assert (
            row["due"] + row["adjustments_paid"] - row["withheld_total"] - row["withheld_return"]
            == row["paid_to_date"] + row["awaiting"]
        ), report
    # Table 11's adjustments are the sum of Table 12's rows for the same report.
    adjustments = results.tables["adjustments"]
    for report, part in adjustments.groupby("report"):
        raw = inputs.tables["payments_capped"].set_index("report").loc[report, "adjustments"]
        assert raw == part["amount"].round(0).sum()
    assert note.startswith("Lofterne:")


def test_the_quarter_of_a_settled_report_is_cut_and_fitted_once(
    synthetic_dir, contract, tmp_path, monkeypatch
):
    # On a fresh settlement record the cut-off's own result report is settled from the
    # data as of the cut-off, and the quarter's results start from those same data: the
    # cut and the absence fit (seconds at a pool of a million persons) are made once.
    from analysis.payments import absence
    from analysis.payments.quarterly import write_quarterly_results

    fitted = []
    original = absence.fit

    def counted(data, *args, **kwargs):
        fitted.append(data.as_of)
        return original(data, *args, **kwargs)

    monkeypatch.setattr(absence, "fit", counted)
    report = result_periods(contract)[1].report
    record = tmp_path / "record.sqlite"
    write_quarterly_results(synthetic_dir, report, tmp_path / report, contract, record=record)
    assert report in fitted
    assert sorted(fitted) == sorted(set(fitted))
