"""Named disclosure keys: stored as the plain lists they always were, read back as their kinds."""

from __future__ import annotations

import json

from analysis.sdc import disclosure, keys
from analysis.sdc.linked import LinkedCells

Q1, Q2 = "2025Q1", "2025Q2"


def test_a_key_is_stored_as_the_list_of_its_items():
    """The persisted form of disclosure.json: a key is the JSON list of its items."""
    settled = disclosure.statement_key("amount", "2024Q4", "employment", "final", Q1)
    provisional = disclosure.statement_key("amount", "2025Q1", "employment", "provisional", Q1)
    assert keys.encode(settled) == ["statement", "amount", "2024Q4", "employment", "final"]
    assert keys.encode(provisional) == [
        *["statement", "amount", "2025Q1", "employment", "provisional"],
        Q1,
    ]
    change = keys.ChangeCell(disclosure.target_key("cumulative", "employment", "all", Q1), settled)
    assert json.dumps(keys.encode(change)) == (
        '["change", ["targets", "cumulative", "employment", "all", "2025Q1"], '
        '["statement", "amount", "2024Q4", "employment", "final"]]'
    )
    # The same number as the plain tuple it replaces: equal, and the same hash.
    assert settled == ("statement", "amount", "2024Q4", "employment", "final")
    assert hash(settled) == hash(("statement", "amount", "2024Q4", "employment", "final"))


def test_every_kind_reads_back_as_itself():
    found = [
        disclosure.enrolment_key("households", Q1),
        disclosure.completeness_key("present", "education", Q1),
        disclosure.target_key("eligible", "employment", "north", Q1),
        disclosure.statement_key("units", "2024Q4", "employment", "final", Q1),
        disclosure.statement_key("units", "2025Q1", "employment", "provisional", Q1),
        disclosure.adjustment_key("amount", "2026Q1", "2025Q1:employment"),
        disclosure.due_key("2024Q4", Q1),
        disclosure.summary_key("provisional_total", Q1),
        disclosure.earned_key("employment", Q1),
        disclosure.effects_key("treated", "ladder_step", Q1),
        disclosure.subgroup_key("ladder_step", "area", "north", Q1),
    ]
    found.append(keys.EarlierCell(found[2]))
    for key in found:
        back = keys.decode(json.loads(json.dumps(keys.encode(key))))
        assert back == key and type(back) is type(key), key
    assert keys.decode(["no such table", 1]) == ("no such table", 1)


def test_earlier_reports_cells_come_back_named_and_link_to_this_report():
    """Loaded from a record, a cumulative count is a TargetCell and its change a ChangeCell."""
    first = LinkedCells(min_persons=5)
    old = disclosure.target_key("cumulative", "employment", "all", Q1)
    first.model.add(old, 20)
    record = json.loads(json.dumps(first.to_dict()))
    second = LinkedCells(min_persons=5)
    second.load_earlier(record)
    assert all(isinstance(k, keys.TargetCell) for k in second.cells)
    new = disclosure.target_key("cumulative", "employment", "all", Q2)
    second.model.add(new, 23)
    disclosure.link_to_earlier(second)
    change = keys.ChangeCell(old, new)
    assert change in second.cells and second.cells[change].value == 3
    assert all(type(k) is not tuple for k in second.cells)
