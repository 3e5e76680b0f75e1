"""Disclosure control in the reports: the linked model of a report, and the post-render check."""

import pandas as pd
import pytest

from analysis.sdc import disclosure, quarterly
from analysis.sdc.check import problems


def test_check_catches_unsafe_reports():
    small = "| Område | Antal personer |\n|:---|---:|\n| HOU | 3 |\n| ELL | 40 |"
    assert problems(small, 5)
    assert problems("Husstand H0000123 har ...", 5)
    assert problems("CPR 010190-1234", 5)
    safe = "| Område | Antal personer |\n|:---|---:|\n| HOU | \\* |\n| ELL | 1.234 |"
    assert problems(safe, 5) == []
    english = "| Area | Number of persons |\n|:---|---:|\n| HOU | 2,594 |"
    assert problems(english, 5, lang="en") == []


def test_check_catches_small_counts_in_the_results_file():
    from analysis.sdc.check import DisclosureError, check_markdown, results_problems

    numbers = {"achievements_cumulative.life_satisfaction": 4, "effects.x.cs_simple_att": 0.2}
    assert results_problems(numbers, 5) == [
        "results file: achievements_cumulative.life_satisfaction is a count below 5"
    ]
    assert results_problems({"achievements_cumulative.life_satisfaction": "*"}, 5) == []
    with pytest.raises(DisclosureError, match="results file"):
        check_markdown("", 5, numbers=numbers)


@pytest.fixture(scope="module")
def protected_2025q1(extract, contract):
    from analysis.payments.quarterly import compute

    result = compute(extract, "2025Q1", contract)
    return quarterly.protect(
        quarterly.QuarterlyInputs("2025Q1", result.tables, result.key_numbers), contract
    )


def test_every_small_count_of_a_report_is_protected(protected_2025q1):
    """No small count, shown or derivable, can be narrowed below the minimum from the report."""
    cells = protected_2025q1.cells
    assert cells.primary, "the default data have small counts in 2025Q1"
    audit = cells.audit()
    assert audit.ranges and not audit.exposed
    for key, (low, high) in audit.ranges.items():
        assert high - low >= cells.min_persons, key


def test_hidden_statement_rows_hide_what_would_give_them_back(protected_2025q1, contract):
    from analysis.reports import quarterly_view as view

    inputs = protected_2025q1
    statement, _ = view.statement_table(inputs, contract, "da")
    rows = inputs.tables["payment_statement"]
    small = ((rows["units"] > 0) & (rows["units"] < 5)).to_numpy()
    assert small.any(), "the default data have a small first-period count"
    # The count, achievements and amount of a small row are hidden together ...
    assert (statement.loc[small, ["units", "achievements", "amount"]] == "*").all(axis=None)
    # ... with a partner row, because the report's amount due is published.
    report = rows.loc[small, "report"].iloc[0]
    same_report = (rows["report"] == report).to_numpy()
    assert (statement.loc[same_report, "amount"] == "*").sum() >= 2
    # The hidden achievements cannot be read off the cumulative count either.
    target = rows.loc[small, "target"].iloc[0]
    key = disclosure.statement_key("achievements", report, target, "final", "2025Q1")
    low, high = inputs.cells.audit([key]).ranges[key]
    assert high - low >= 5
    # The target's cumulative count is a headline number (page 1's key figures): the
    # small row is protected by statement rows instead, so it stays shown.
    cumulative = disclosure.target_key("cumulative", target, "all", "2025Q1")
    assert not inputs.cells.is_hidden(cumulative)
    figures = view.key_figures_table(inputs, contract, "da").set_index("key_figure")["value"]
    shown = figures[f"Opnåede resultater: {view.t(f'target.{target}', 'da').lower()}"]
    assert shown == view.numbers.number(inputs.cells.cells[cumulative].value, 0, "da")


def test_results_file_holds_no_hidden_number(protected_2025q1, contract):
    from analysis.reports.results import ReportResults

    results = ReportResults()
    quarterly.record_key_numbers(results, protected_2025q1, contract)
    for target in ("employment", "social_measures", "life_satisfaction", "action_plan_goals"):
        hidden = protected_2025q1.cells.is_hidden(
            disclosure.target_key("cumulative", target, "all", "2025Q1")
        )
        assert (results.numbers[f"achievements_cumulative.{target}"] == "*") == hidden


def test_tables_show_the_symbol_exactly_where_the_model_hides(protected_2025q1, contract):
    from analysis.reports import quarterly_view as view

    table, note = view.targets_table(protected_2025q1, contract, "da")
    frame = protected_2025q1.tables["targets"]
    frame = frame.loc[frame["target"] != "school_absence"].reset_index(drop=True)
    for i, row in frame.iterrows():
        key = disclosure.target_key("cumulative", row["target"], row["area"], "2025Q1")
        assert (table.iloc[i]["cumulative"] == "*") == protected_2025q1.cells.is_hidden(key)
    assert "færre end 5" in note


def test_unprotected_inputs_cannot_be_shown(extract, contract, protected_2025q1):
    from analysis.payments.quarterly import compute
    from analysis.reports import quarterly_view as view

    result = compute(extract, "2025Q1", contract)
    bare = quarterly.QuarterlyInputs("2025Q1", result.tables, result.key_numbers)
    with pytest.raises(RuntimeError, match="protect"):
        view.key_figures_table(bare, contract, "da")
    # The same quarter's inputs, protected, can.
    assert len(view.key_figures_table(protected_2025q1, contract, "da"))


def test_a_small_subgroup_is_hidden_with_a_partner_because_the_treated_total_is_shown(contract):
    """Persons by household type add up to the treated persons of the budget table."""
    from types import SimpleNamespace

    sizes = {"couple": 29, "couple_children": 88, "single": 3, "single_children": 104}
    panel = pd.DataFrame(
        [
            {"person_id": f"{kind}-{i}", "g": 5, "household_type": kind, "area": "HOU"}
            for kind, n in sizes.items()
            for i in range(n)
        ]
        + [
            {"person_id": f"c-{i}", "g": 0, "household_type": "single", "area": "X"}
            for i in range(50)
        ]
    )
    estimate = SimpleNamespace(n_persons=274, n_treated_persons=224)
    cells = disclosure.new_cells(contract)
    counts = disclosure.subgroup_persons(panel, "household_type")
    assert counts == sizes  # the comparison persons do not count
    disclosure.effect_cells(
        cells, {"ladder_step": estimate}, {"ladder_step": {"household_type": counts}}, "2028Q3"
    )
    hidden = cells.protect()
    assert disclosure.subgroup_key("ladder_step", "household_type", "single", "2028Q3") in hidden
    # Leaving out only the small group would give it back: 224 - 29 - 88 - 104 = 3.
    assert disclosure.subgroup_key("ladder_step", "household_type", "couple", "2028Q3") in hidden
    assert not cells.is_hidden(disclosure.effects_key("treated", "ladder_step", "2028Q3"))
    assert not cells.audit().exposed


def test_a_report_cannot_be_undone_by_the_one_before(extract, contract):
    """Cumulative counts shown in consecutive reports may not differ by 1–4; what one report
    hid stays hidden, and what it showed is not hidden again."""
    from analysis.payments.quarterly import compute

    first_q, second_q = "2025Q1", "2025Q2"
    first = compute(extract, first_q, contract)
    first_in = quarterly.protect(
        quarterly.QuarterlyInputs(first_q, first.tables, first.key_numbers), contract
    )
    published = first_in.cells.to_dict()
    second = compute(extract, second_q, contract)
    second_in = quarterly.protect(
        quarterly.QuarterlyInputs(second_q, second.tables, second.key_numbers), contract, published
    )
    before, after = first_in.cells, second_in.cells
    for key in before.hidden & set(after.cells):
        assert after.is_hidden(key), key
    for key, cell in before.cells.items():
        if cell.shown and key not in before.hidden and key in after.cells:
            assert not after.is_hidden(key), key
    raw_changes = (
        second.tables["targets"].set_index(["target", "area"])["cumulative"]
        - first.tables["targets"].set_index(["target", "area"])["cumulative"]
    )
    assert ((raw_changes > 0) & (raw_changes < 5)).any(), "the data have small flows to protect"
    compared = 0
    for target in disclosure.COUNT_TARGETS:
        for area in [*contract.area_codes, "all"]:
            old = disclosure.target_key("cumulative", target, area, first_q)
            new = disclosure.target_key("cumulative", target, area, second_q)
            if old in before.cells and not before.is_hidden(old) and not after.is_hidden(new):
                change = after.cells[new].value - before.cells[old].value
                assert not 0 < change < contract.disclosure.min_persons, (target, area, change)
                compared += 1
    assert compared > 0
    assert not after.audit().exposed


def test_prose_leaves_a_hidden_amount_out(protected_2025q1, contract):
    from analysis.paths import NOTEBOOKS_DIR
    from analysis.render import inline
    from analysis.render.numbers import Format
    from analysis.reports import quarterly_view as view

    def prose() -> str:
        # notebooks/_payments.md as the quarterly report includes it.
        values = view.payment_values(inputs, contract, "da")
        namespace = {"p": values, "contract": contract, "fmt": Format("da")}
        return inline.render_file(NOTEBOOKS_DIR / "_payments.md", "da", namespace)

    inputs = protected_2025q1
    largest = disclosure.largest_item(inputs.tables["payment_statement"])
    key = disclosure.summary_key("amount_by_target", inputs.as_of, largest)
    was_hidden = key in inputs.cells.hidden
    # Both ways, whichever the model chose for these data.
    try:
        inputs.cells.hidden.discard(key)
        shown = prose()
        inputs.cells.hidden.add(key)
        hidden = prose()
    finally:
        if not was_hidden:
            inputs.cells.hidden.discard(key)
    name = view.t(f"target.{largest}", "da").lower()
    assert hidden.endswith(f"Den største post er {name}.") and "*" not in hidden
    assert shown.endswith("kr.") and f"Den største post er {name}" in shown


def test_a_hidden_payment_amount_points_to_the_closed_annex(protected_2025q1, contract):
    from analysis.reports import quarterly_view as view

    inputs = protected_2025q1
    row = inputs.tables["payment_statement"].iloc[0]
    key = disclosure.statement_key("amount", row.report, row.target, row.status, inputs.as_of)
    was_hidden = inputs.is_hidden(key)
    try:
        inputs.cells.hidden.add(key)
        _, note = view.statement_table(inputs, contract, "en")
        assert "closed annex" in note and "always shown" in note
        inputs.cells.hidden.discard(key)
        _, note = view.statement_table(inputs, contract, "en")
        hidden_amounts = [
            inputs.is_hidden(
                disclosure.statement_key("amount", r.report, r.target, r.status, inputs.as_of)
            )
            for r in inputs.tables["payment_statement"].itertuples()
        ]
        assert ("closed annex" in note) == any(hidden_amounts)
    finally:
        if was_hidden:
            inputs.cells.hidden.add(key)


def _adjustments(*rows):
    columns = ["report", "corrects_report", "corrects", "target", "units", "achievements"]
    return pd.DataFrame(
        [
            dict(zip([*columns, "unit_price", "amount"], row, strict=True), paid=0, reason="")
            for row in rows
        ]
    )


def _protected_adjustments(frame, contract):
    cells = disclosure.new_cells(contract)
    disclosure._adjustments(cells, frame, "2026Q1")
    cells.protect()
    inputs = quarterly.QuarterlyInputs("2026Q1", {"adjustments": frame}, {}, cells=cells)
    return inputs, cells


def test_the_adjustments_total_is_money_shown_unless_it_gives_a_count_back(contract):
    """Quarterly 2026Q1: +1 employment (43,900) and -1.8575 school absence (-16,346).

    Each entry is hidden (one person), but their sum, 27,554, leaves the employment
    change anywhere from 1 up: page 1 shows it (before, any hidden entry hid the sum).
    """
    frame = _adjustments(
        ("2026Q1", "2025Q1", "2025Q1:employment", "employment", 1, 1, 43900, 43900),
        ("2026Q1", "2025Q1", "2025Q1:school_absence", "school_absence", 0, -1.8575, 8800, -16346),
    )
    inputs, cells = _protected_adjustments(frame, contract)
    assert cells.is_hidden(disclosure.adjustment_key("amount", "2026Q1", "2025Q1:employment"))
    assert not quarterly.adjustment_hidden(inputs)
    assert not quarterly.adjustment_hidden(inputs, "2026Q1")
    assert not cells.is_hidden(disclosure.adjustments_total_key("2026Q1"))


def test_an_adjustments_total_of_one_small_entry_is_hidden(contract):
    """A sum of one entry is the entry: 43,900 is one employment achievement."""
    frame = _adjustments(
        ("2026Q1", "2025Q1", "2025Q1:employment", "employment", 1, 1, 43900, 43900),
    )
    inputs, cells = _protected_adjustments(frame, contract)
    assert quarterly.adjustment_hidden(inputs)
    assert quarterly.adjustment_hidden(inputs, "2026Q1")
