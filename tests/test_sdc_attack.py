"""An attacker with an integer programme over everything the quarterly reports published.

The attacker (:mod:`analysis.sdc.attack`) writes its own identities from what the
cells mean, so it also finds what the protection model might have missed. It
must recover the two counts found by hand in earlier published reports when they
are protected the old way, and nothing small from the reports this code publishes.
"""

from __future__ import annotations

import pytest

from analysis import quarters
from analysis.sdc import keys
from analysis.sdc.attack import (
    attack,
    attack_build,
    attack_folder,
    merge_published,
    published_records,
)

MIN = 5
LAST_RESULT_REPORT = "2028Q1"


def _cell(key, value, hidden=False, count=True):
    return [list(key), float(value), True, count, hidden]


def _statement(column, report, target, status, as_of=None):
    key = ("statement", column, report, target, status)
    return key + ((as_of,) if as_of else ())


def test_attacker_recovers_a_count_from_the_next_report():
    """2024Q2 hid the provisional social-measures row (3); 2024Q3 showed 9 and 6 new."""
    cells = []
    for q, cumulative, new, hidden in (("2024Q2", 3, 3, True), ("2024Q3", 9, 6, False)):
        cells += [
            _cell(("targets", "cumulative", "social_measures", "all", q), cumulative, hidden),
            _cell(("targets", "new_this_quarter", "social_measures", "all", q), new, hidden),
        ]
        for column, value in (("units", cumulative), ("achievements", cumulative)):
            cells.append(
                _cell(
                    _statement(column, "2025Q1", "social_measures", "provisional", q), value, hidden
                )
            )
        cells.append(
            _cell(
                _statement("amount", "2025Q1", "social_measures", "provisional", q),
                25_000 * cumulative,
                hidden,
                count=False,
            )
        )
    found = attack({"cells": cells}, MIN, LAST_RESULT_REPORT)
    key = _statement("achievements", "2025Q1", "social_measures", "provisional", "2024Q2")
    assert key in found.recovered
    assert found.ranges[key] == pytest.approx((3, 3))


def test_attacker_recovers_a_row_from_the_amount_due():
    """2025Q1: the amount due minus the shown rows is 20,000 DKK = 4 × 5,000."""
    rows = {
        "employment": (19, 10_000),
        "life_satisfaction": (4, 5_000),
        "action_plan_goals": (68, 2_500),
    }
    cells = []
    for target, (n, price) in rows.items():
        hidden = target == "life_satisfaction"
        cells += [
            _cell(_statement("units", "2025Q1", target, "final"), n, hidden),
            _cell(_statement("achievements", "2025Q1", target, "final"), n, hidden),
            _cell(_statement("amount", "2025Q1", target, "final"), n * price, hidden, count=False),
        ]
    # A reader knows the prices from the contract: one shown row per target gives them.
    cells.append(
        _cell(
            _statement("achievements", "2026Q1", "life_satisfaction", "provisional", "2025Q1"), 14
        )
    )
    cells.append(
        _cell(
            _statement("amount", "2026Q1", "life_satisfaction", "provisional", "2025Q1"),
            70_000,
            count=False,
        )
    )
    due = sum(n * p for n, p in rows.values())
    cells.append(_cell(("caps", "due", "2025Q1", "2025Q1"), due, count=False))
    found = attack({"cells": cells}, MIN, LAST_RESULT_REPORT)
    assert _statement("achievements", "2025Q1", "life_satisfaction", "final") in found.recovered


@pytest.fixture(scope="module")
def published_chain(tmp_path_factory, synthetic_dir, contract):
    """The quarterly results 2023Q4–2025Q1 as `make results` writes them (each from the one before)."""
    from analysis.payments.quarterly import write_quarterly_results
    from analysis.sdc.quarterly import publish

    root = tmp_path_factory.mktemp("published") / "quarterly"
    for q in quarters.span(contract.timeline.intervention.start, "2025Q1"):
        write_quarterly_results(
            synthetic_dir, q, root / q, contract, lambda f, q=q: publish(root, q, contract, f)
        )
    return root


def test_no_hidden_count_is_recovered_from_the_published_reports(published_chain, contract):
    """Neither a small count nor a secondary one: a * a reader can work out would be shown."""
    found = attack_folder(published_chain, contract.disclosure.min_persons, LAST_RESULT_REPORT)
    assert found.identities > 50 and len(found.ranges) > 50
    assert found.recovered == []


def test_the_two_hand_recoveries_fail_now(published_chain, contract):
    """The counts recovered by hand from the published 2024Q2–2025Q1 reports stay hidden."""
    found = attack_folder(published_chain, contract.disclosure.min_persons, LAST_RESULT_REPORT)
    hand = [
        _statement("achievements", "2025Q1", "social_measures", "provisional", "2024Q2"),
        _statement("achievements", "2025Q1", "life_satisfaction", "final"),
        ("targets", "cumulative", "life_satisfaction", "all", "2024Q4"),
    ]
    for key in hand:
        # Each is a small count, hidden (primary suppression) in these data as it was then.
        assert key in found.ranges and found.values[key] < contract.disclosure.min_persons, key
        low, high = found.ranges[key]
        assert high - low >= contract.disclosure.min_persons, (key, low, high)


@pytest.fixture(scope="module")
def full_chain(tmp_path_factory, synthetic_dir, contract):
    """Every quarterly results folder of `make report` (up to the default as-of)."""
    from analysis.payments.quarterly import write_quarterly_results
    from analysis.reports.kinds import load_kind
    from analysis.sdc.quarterly import publish

    last = load_kind("quarterly").default_as_of(contract)
    root = tmp_path_factory.mktemp("full") / "quarterly"
    for q in quarters.span(contract.timeline.intervention.start, last):
        write_quarterly_results(
            synthetic_dir, q, root / q, contract, lambda f, q=q: publish(root, q, contract, f)
        )
    return root


@pytest.mark.slow
def test_attacker_recovers_nothing_from_a_full_build(full_chain, contract):
    """Every quarterly report of `make report`, attacked together."""
    found = attack_folder(full_chain, contract.disclosure.min_persons, LAST_RESULT_REPORT)
    assert len(found.ranges) > 200
    assert found.recovered == []


@pytest.mark.slow
def test_attacker_recovers_nothing_from_every_report_of_a_build(tmp_path, synthetic_dir, contract):
    """The quarterly reports and the three evaluation reports of `make report`, together."""
    from analysis.pipeline.build import build

    results = tmp_path / "results"
    build(
        data=synthetic_dir,
        results=results,
        reports=tmp_path / "reports",
        goal="results",
        jobs=2,
        contract=contract,
    )
    records = published_records(results)
    assert {p.parent.parent.name for p in records} == {
        "quarterly",
        "midterm",
        "preliminary_final",
        "final",
    }
    found = attack_build(results, contract.disclosure.min_persons, LAST_RESULT_REPORT)
    assert len(found.ranges) > 250
    assert found.recovered == []
    # Every hidden count settled: by its bounds, or by the solutions found (witnessed).
    assert found.unsolved == {}


def test_a_number_any_report_showed_is_known_to_the_attacker():
    key = ("targets", "cumulative", "employment", "all", "2024Q2")
    hidden = {"cells": [[list(key), 9.0, True, True, True]]}
    shown = {"cells": [[list(key), 9.0, True, True, False]]}
    assert merge_published([hidden])["cells"][0][4] is True
    assert merge_published([hidden, shown])["cells"][0][4] is False
    with pytest.raises(ValueError, match="published as"):
        merge_published([hidden, {"cells": [[list(key), 8.0, True, True, False]]}])


def test_the_attack_command_names_what_it_recovers(tmp_path, capsys):
    """`python -m analysis attack` exits 1 and names the cell when a * can be worked out."""
    import json

    from analysis.pipeline.cli import main

    cells = []
    for q, cumulative, new, hidden in (("2024Q2", 3, 3, True), ("2024Q3", 9, 6, False)):
        cells += [
            _cell(("targets", "cumulative", "social_measures", "all", q), cumulative, hidden),
            _cell(("targets", "new_this_quarter", "social_measures", "all", q), new, hidden),
        ]
    folder = tmp_path / "results" / "quarterly" / "2024Q3"
    folder.mkdir(parents=True)
    (folder / "disclosure.json").write_text(json.dumps({"cells": cells}), encoding="utf-8")
    assert main(["attack", str(tmp_path / "results")]) == 1
    out = capsys.readouterr().out
    assert "recovered: 1" in out and "'2024Q2'): between 3 and 3" in out
    assert main(["attack", str(tmp_path / "empty")]) == 2


def test_an_unsolved_bound_is_a_failure_not_nothing_learnt(tmp_path, capsys):
    """A record HiGHS finds no whole-number solution for ('infeasible': here a count
    published as 3.5) is unsolved: listed, and the command exits 1; on main it counted
    as nothing learnt."""
    import json

    from analysis.pipeline.cli import main

    cells = [
        _cell(("targets", "cumulative", "social_measures", "all", "2024Q2"), 3.5, True),
        _cell(("targets", "new_this_quarter", "social_measures", "all", "2024Q3"), 6, True),
        _cell(("targets", "cumulative", "social_measures", "all", "2024Q3"), 9.5),
    ]
    found = attack({"cells": cells}, MIN, LAST_RESULT_REPORT)
    assert found.identities == 1 and found.recovered == []
    assert set(found.unsolved) == {keys.decode(c[0]) for c in cells[:2]}
    folder = tmp_path / "results" / "quarterly" / "2024Q3"
    folder.mkdir(parents=True)
    (folder / "disclosure.json").write_text(json.dumps({"cells": cells}), encoding="utf-8")
    assert main(["attack", str(tmp_path / "results")]) == 1
    out = capsys.readouterr().out
    assert "recovered: 0; unsolved: 2" in out and "unsolved TargetCell(table='targets'" in out


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["midterm", "final"])
def test_attacker_recovers_nothing_from_an_evaluation(full_chain, synthetic_dir, contract, kind):
    """An evaluation report's model as its notebook protects it (the quarterly reports up to
    it, its effect counts and, in the final report, the subgroup tables), attacked."""
    from analysis.payments import stored
    from analysis.payments.quarterly import write_quarterly_results
    from analysis.reports.kinds import load_kind
    from analysis.reports.stage import prepare

    as_of = load_kind(kind).as_of(contract, None)
    subgroups = {"ladder_step": ("area", "household_type")} if kind == "final" else None
    if not (full_chain / as_of).is_dir():
        # After the last quarterly folder: the payments as the ledger step stores them.
        write_quarterly_results(
            synthetic_dir,
            as_of,
            full_chain.parent / stored.PAYMENTS / as_of,
            contract,
            quarterly_dir=full_chain,
        )
    report = prepare(str(synthetic_dir), as_of, 19, str(full_chain), subgroups)
    found = attack(
        report.payments.cells.to_dict(), contract.disclosure.min_persons, LAST_RESULT_REPORT
    )
    small = [k for k in found.recovered if found.values[k] < contract.disclosure.min_persons]
    assert small == []


def _page_one(inputs, contract, lang="da"):
    """Page 1's numbers as the quarterly report shows them: summary, key figures, dashboard."""
    from analysis.reports import dashboard
    from analysis.reports import quarterly_view as view

    summary = view.summary_values(inputs, contract, lang)
    key = view.key_figures_table(inputs, contract, lang)
    board = dashboard.target_status(inputs, lang)
    texts = [summary.households, summary.persons, summary.provisional, *key["value"]]
    return texts, board


def test_page_one_numbers_are_not_the_price_of_detail(published_chain, contract):
    """2025Q1 (after the small first-period rows): every page-1 number is shown.

    The small life-satisfaction row of result report 2025Q1 is protected by detail
    cells and statement rows, not by the target's cumulative count, the amount it
    earned (the dashboard) or the provisional total.
    """
    from analysis.sdc import quarterly
    from analysis.sdc.disclosure import COUNT_TARGETS, earned_key, summary_key, target_key

    inputs = quarterly.load(published_chain, "2025Q1", contract)
    small = _statement("achievements", "2025Q1", "life_satisfaction", "final")
    assert inputs.cells.cells[small].value < contract.disclosure.min_persons
    assert inputs.is_hidden(small)
    headline = [target_key("cumulative", t, "all", "2025Q1") for t in COUNT_TARGETS]
    headline += [earned_key(t, "2025Q1") for t in inputs.tables["payment_statement"]["target"]]
    headline.append(summary_key("provisional_total", "2025Q1"))
    assert [k for k in headline if inputs.is_hidden(k)] == []
    texts, board = _page_one(inputs, contract)
    assert not any("*" in text for text in texts)
    assert "hidden" not in set(board["status"])


def test_a_hidden_page_one_number_is_said_in_words(published_chain, contract):
    """2024Q4: life satisfaction's first 4 achievements must be hidden; page 1 says why."""
    from analysis.sdc import quarterly
    from analysis.sdc.disclosure import target_key
    from analysis.sdc.suppress import hidden_words

    inputs = quarterly.load(published_chain, "2024Q4", contract)
    assert inputs.is_hidden(target_key("cumulative", "life_satisfaction", "all", "2024Q4"))
    texts, board = _page_one(inputs, contract)
    assert not any("*" in text for text in texts)
    assert hidden_words("da", contract.disclosure.min_persons) in texts
    assert "hidden" in set(board["status"])


def test_protection_records_no_solver_fallback(published_chain):
    """Every integer programme of the chain was solved by HiGHS (none fell back)."""
    import json

    for path in sorted(published_chain.glob("*/disclosure.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["milps"] >= 0 and record["milp_fallbacks"] == 0, path


def test_attacker_reads_an_adjustment_back_from_the_sum_of_adjustments():
    """A sum of one hidden entry gives it back, whatever its sign."""
    entry = ("adjustment", "achievements", "2026Q1", "2025Q1:employment")
    amount = ("adjustment", "amount", "2026Q1", "2025Q1:employment")
    statement = _statement("achievements", "2025Q1", "employment", "final")
    cells = [
        _cell(statement, 10),
        _cell(_statement("amount", "2025Q1", "employment", "final"), 439000, count=False),
        _cell(entry, 1, hidden=True),
        _cell(amount, 43900, hidden=True, count=False),
        _cell(("summary", "adjustments_total", "2026Q1"), -43900, count=False),
    ]
    found = attack({"cells": cells}, MIN, LAST_RESULT_REPORT)
    assert entry in found.recovered


def test_solutions_found_before_a_limit_settle_a_count_they_show_safe():
    """A bound HiGHS stops before finding (a node limit in the default build's largest
    group) leaves the cell unsolved unless the values known feasible, the true one and
    the solutions found, already show it is not recovered."""
    from analysis.sdc.attack import settled_by_witnesses

    # A count of 55 seen at 113 as well: not pinned.
    assert settled_by_witnesses(55.0, [55.0, 113.0], MIN)
    # A small count needs feasible values at least the minimum apart.
    assert settled_by_witnesses(2.0, [2.0, 7.0], MIN)
    assert not settled_by_witnesses(2.0, [2.0, 5.0], MIN)
    # Nothing but the true value: nothing shown.
    assert not settled_by_witnesses(55.0, [55.0], MIN)
    assert not settled_by_witnesses(0.0, [0.0, 0.0], MIN)
