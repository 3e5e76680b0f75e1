"""Disclosure control: primary and secondary suppression, and the post-render check."""

import pandas as pd

from analysis.sdc.check import problems
from analysis.sdc.suppress import suppress


def test_primary_and_secondary_suppression():
    table = pd.DataFrame({"area": ["HOU", "ELL", "KAR", "all"], "persons": [40, 3, 12, 55]})
    protected, hidden = suppress(table, ["persons"], 5, total_row=("area", "all"))
    # Primary-only suppression would be undone by the total: 55 - 40 - 12 = 3.
    assert protected.loc[1, "persons"] == "*"
    # Secondary: the smallest other cell (KAR) is hidden too.
    assert protected.loc[2, "persons"] == "*"
    assert protected.loc[0, "persons"] == 40
    assert hidden == 2


def test_dependent_columns_are_hidden_with_their_count():
    table = pd.DataFrame({"target": ["a", "b"], "units": [2, 30], "amount": [40000, 600000]})
    protected, _ = suppress(table, ["units"], 5, dependent={"units": ["amount"]})
    assert protected.loc[0, "amount"] == "*"


def test_zero_is_not_suppressed():
    protected, hidden = suppress(pd.DataFrame({"n": [0, 7]}), ["n"], 5)
    assert hidden == 0


def test_check_catches_unsafe_reports():
    small = "| Område | Antal personer |\n|:---|---:|\n| HOU | 3 |\n| ELL | 40 |"
    assert problems(small, 5)
    assert problems("Husstand H0000123 har ...", 5)
    assert problems("CPR 010190-1234", 5)
    safe = "| Område | Antal personer |\n|:---|---:|\n| HOU | \\* |\n| ELL | 1.234 |"
    assert problems(safe, 5) == []
    english = "| Area | Number of persons |\n|:---|---:|\n| HOU | 2,594 |"
    assert problems(english, 5, lang="en") == []


def test_payment_rows_are_hidden_with_a_partner_when_the_sum_is_published():
    from analysis.sdc.suppress import suppress_rows

    statement = pd.DataFrame(
        {
            "report": ["2025Q1"] * 3 + ["2026Q1"] * 2,
            "target": ["employment", "life_satisfaction", "goals", "employment", "goals"],
            "units": [19, 4, 68, 55, 124],
            "amount": [380000, 20000, 204000, 1100000, 372000],
        }
    )
    protected, hidden = suppress_rows(
        statement, "units", ["units", "amount"], 5, group_column="report", sum_column="amount"
    )
    # Life satisfaction (4 persons) is hidden; with the report's total published, the
    # smallest other amount of the same report (goals, 204,000) is hidden too.
    assert protected.loc[1, "amount"] == "*" and protected.loc[1, "units"] == "*"
    assert protected.loc[2, "amount"] == "*"
    assert protected.loc[0, "amount"] == 380000
    # The other report has nothing small and is left as it is.
    assert protected.loc[3, "amount"] == 1100000 and hidden == 2


def test_hidden_statement_rows_hide_the_cumulative_counts_of_the_report(extract, contract):
    from analysis.payments.quarterly import compute
    from analysis.reports import quarterly_view as view

    result = compute(extract, "2025Q1", contract)
    inputs = view.QuarterlyInputs("2025Q1", result.tables, result.key_numbers)
    statement, _ = view.statement_table(inputs, contract, "da")
    hidden = view.targets_with_hidden_periods(inputs, contract)
    assert hidden, "the default data have a small first-period count"
    key = view.key_figures_table(inputs, contract, "da").set_index("Nøgletal")["Værdi"]
    targets, _ = view.targets_table(inputs, contract, "da")
    for target in hidden:
        name = view.t(f"target.{target}", "da")
        assert key[f"Opnåede resultater: {name.lower()}"] == "*"
        assert (targets.loc[targets["Betalingsmål"] == name, "Antal opnåede (akk.)"] == "*").all()
    # Every count in the statement is hidden or at least the minimum.
    units = statement["Antal enheder"]
    assert all(u == "*" or u == 0 or u >= contract.disclosure.min_persons for u in units)
