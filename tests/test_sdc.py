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
