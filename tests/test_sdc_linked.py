"""Secondary suppression across linked cells: totals in two directions, tables that share
a total, cumulative series, and amounts tied to counts; the audit checked by enumeration."""

import numpy as np
import pytest

from analysis.sdc.linked import DisclosureError, LinkedCells


def two_way_table(values: dict[tuple[str, str], int]) -> LinkedCells:
    """A rows × columns table with row totals, column totals and a grand total."""
    cells = LinkedCells(min_persons=5)
    rows = sorted({r for r, _ in values})
    columns = sorted({c for _, c in values})
    for key, value in values.items():
        cells.model.add(key, value)
    for r in rows:
        cells.model.add((r, "total"), sum(values[r, c] for c in columns))
        cells.model.sum_of((r, "total"), [(r, c) for c in columns])
    for c in columns:
        cells.model.add(("total", c), sum(values[r, c] for r in rows))
        cells.model.sum_of(("total", c), [(r, c) for r in rows])
    cells.model.add(("total", "total"), sum(values.values()))
    cells.model.sum_of(("total", "total"), [("total", c) for c in columns])
    return cells


TABLE = {
    ("ELL", "men"): 12, ("ELL", "women"): 3, ("ELL", "children"): 20,
    ("HOU", "men"): 30, ("HOU", "women"): 25, ("HOU", "children"): 41,
    ("KAR", "men"): 9, ("KAR", "women"): 8, ("KAR", "children"): 15,
}  # fmt: skip
TABLE_TOTALS = {
    **{(r, "total"): sum(v for k, v in TABLE.items() if k[0] == r) for r in ("ELL", "HOU", "KAR")},
    **{
        ("total", c): sum(v for k, v in TABLE.items() if k[1] == c)
        for c in ("men", "women", "children")
    },
}


def test_primary_only_suppression_is_undone_by_the_totals():
    cells = two_way_table(TABLE)
    cells.hidden = {("ELL", "women")}
    low, high = cells.audit().ranges[("ELL", "women")]
    # The row total gives it back exactly: 35 - 12 - 20 = 3.
    assert low == pytest.approx(3) and high == pytest.approx(3)


def test_secondary_suppression_protects_against_row_and_column_totals():
    cells = two_way_table(TABLE)
    hidden = cells.protect()
    assert ("ELL", "women") in hidden
    # A single cell in a row or column can never be left alone.
    for r in ("ELL", "HOU", "KAR"):
        assert sum((r, c) in hidden for c in ("men", "women", "children")) != 1
    for c in ("men", "women", "children"):
        assert sum((r, c) in hidden for r in ("ELL", "HOU", "KAR")) != 1
    low, high = cells.audit([("ELL", "women")]).ranges[("ELL", "women")]
    assert high - low >= 5
    assert not cells.audit().exposed


def test_audit_agrees_with_enumerating_every_integer_table():
    """The LP range equals the range found by trying every table consistent with what is shown."""
    cells = two_way_table(TABLE)
    cells.protect()
    inner = sorted((k for k in cells.hidden if "total" not in k), key=str)
    assert 2 <= len(inner) <= 5
    grid = (
        np.array(np.meshgrid(*[np.arange(50)] * len(inner), indexing="ij"))
        .reshape(len(inner), -1)
        .T
    )
    consistent = np.ones(len(grid), dtype=bool)
    lines = [(r, None) for r in ("ELL", "HOU", "KAR")] + [
        (None, c) for c in ("men", "women", "children")
    ]
    for row, column in lines:
        total_key = (row, "total") if row else ("total", column)
        if total_key in cells.hidden:
            continue
        members = [k for k in TABLE if (row and k[0] == row) or (column and k[1] == column)]
        known = sum(TABLE[k] for k in members if k not in cells.hidden)
        unknown = [inner.index(k) for k in members if k in cells.hidden]
        consistent &= grid[:, unknown].sum(axis=1) + known == TABLE_TOTALS[total_key]
    audit = cells.audit(inner)
    for i, key in enumerate(inner):
        values = grid[consistent, i]
        assert (values.min(), values.max()) == (
            # The audit allows each identity a rounding slack of 1e-6 of its terms.
            pytest.approx(audit.ranges[key][0], abs=1e-3),
            pytest.approx(audit.ranges[key][1], abs=1e-3),
        )


def test_a_total_shared_by_two_tables_links_their_suppression():
    """Persons by area and by household type add up to the same published total."""
    cells = LinkedCells(min_persons=5)
    by_area = {"ELL": 80, "HOU": 97, "KAR": 47}
    by_type = {"couple": 29, "couple_children": 88, "single": 3, "single_children": 104}
    for k, v in by_area.items():
        cells.model.add(("area", k), v)
    for k, v in by_type.items():
        cells.model.add(("type", k), v)
    cells.model.add("treated", 224)  # published in a third table (budget economics)
    cells.model.sum_of("treated", [("area", k) for k in by_area])
    cells.model.sum_of("treated", [("type", k) for k in by_type])
    hidden = cells.protect()
    assert ("type", "single") in hidden
    # Dropping the small group alone would leave 224 - 29 - 88 - 104 = 3 to read off.
    assert len([k for k in hidden if k[0] == "type"]) >= 2
    assert not cells.audit().exposed


def test_differences_of_a_cumulative_series_are_protected():
    """Cumulative exits 6, 8, 10: each quarter's flow of 2 would be read off by subtraction."""
    cells = LinkedCells(min_persons=5)
    quarters = ["q1", "q2", "q3", "q4"]
    for q, v in zip(quarters, [6, 8, 10, 20], strict=True):
        cells.model.add(("exited", q), v)
    cells.model.running_total([("exited", q) for q in quarters], [("exits", q) for q in quarters])
    assert cells.cells[("exits", "q2")].value == 2 and not cells.cells[("exits", "q2")].shown
    hidden = cells.protect()
    assert hidden, "some cumulative count must go"
    assert not cells.audit().exposed
    for q in ("q2", "q3"):
        low, high = cells.audit([("exits", q)]).ranges[("exits", q)]
        assert high - low >= 5


def test_amounts_are_hidden_with_their_count_and_the_total_is_protected():
    cells = LinkedCells(min_persons=5)
    rows = {"employment": (19, 20000), "life": (4, 5000), "goals": (68, 3000)}
    for target, (units, price) in rows.items():
        cells.model.add(("units", target), units)
        cells.model.add(("amount", target), units * price, count=False)
        cells.model.sum_of(("amount", target), {("units", target): price})
        cells.model.bundle([("units", target), ("amount", target)])
    cells.model.add("due", sum(u * p for u, p in rows.values()), count=False)
    cells.model.sum_of("due", [("amount", t) for t in rows])
    hidden = cells.protect()
    assert {("units", "life"), ("amount", "life")} <= hidden
    # The due total would give the hidden amount back: a second row goes with it.
    assert {("units", "goals"), ("amount", "goals")} <= hidden
    assert ("units", "employment") not in hidden


def test_zero_cells_are_shown_and_large_tables_untouched():
    cells = two_way_table({("a", "x"): 0, ("a", "y"): 10, ("b", "x"): 7, ("b", "y"): 12})
    assert cells.protect() == set()


def test_inconsistent_declarations_are_refused():
    cells = LinkedCells(min_persons=5)
    cells.model.add("a", 3)
    with pytest.raises(DisclosureError, match="declared twice"):
        cells.model.add("a", 4)
    cells.model.add("b", 10)
    with pytest.raises(DisclosureError, match="does not hold"):
        cells.model.sum_of("b", ["a"])
    with pytest.raises(DisclosureError, match="undeclared"):
        cells.model.sum_of("b", ["c"])
    assert not cells.model.sum_if_exact("b", ["a"])


def test_a_small_total_is_hidden_and_protects_its_only_part():
    cells = LinkedCells(min_persons=5)
    cells.model.add("total", 3)
    cells.model.add("part", 3, shown=False)
    cells.model.sum_of("total", ["part"])
    assert cells.protect() == {"total"}
    assert cells.audit(["part"]).ranges["part"] == (0, np.inf)


def test_a_later_report_that_pins_an_earlier_partner_is_audited():
    """Report 1 hides two small counts (3 and 1) and their partner (30) under a shown total;
    report 2 shows the partner's later value and its growth, which pins the partner and
    narrows the small counts to 0–4 unless report 2 hides one of them."""
    first = LinkedCells(min_persons=5)
    for key, value in (("A", 3), ("B", 30), ("D", 1)):
        first.model.add((key, "q1"), value)
    first.model.add(("total", "q1"), 34)
    first.model.sum_of(("total", "q1"), [("A", "q1"), ("B", "q1"), ("D", "q1")])
    assert first.protect() == {("A", "q1"), ("B", "q1"), ("D", "q1")}
    second = LinkedCells(min_persons=5)
    second.load_earlier(first.to_dict())
    second.model.add(("B", "q2"), 40)
    second.model.add(("B", "new", "q2"), 10)
    second.model.sum_of(("B", "q2"), [("B", "q1"), ("B", "new", "q2")])
    hidden = second.protect()
    assert {("B", "q2"), ("B", "new", "q2")} & hidden
    low, high = second.audit([("A", "q1")]).ranges[("A", "q1")]
    assert high - low >= 5


def test_an_earlier_hidden_count_of_any_size_is_not_given_back_later():
    """Report 1 hid a count of 9 (published as *); report 2 shows the next cumulative count
    and the new ones of its quarter, which would give the 9 back: report 2 hides one of them."""
    first = {
        "min_persons": 5,
        "cells": [[["cumulative", "q1"], 9.0, True, True, True]],
        "relations": [],
    }
    second = LinkedCells(min_persons=5)
    second.load_earlier(first)
    second.model.add(("cumulative", "q2"), 15)
    second.model.add(("new", "q2"), 6)
    second.model.sum_of(("cumulative", "q2"), [("cumulative", "q1"), ("new", "q2")])
    hidden = second.protect()
    assert {("cumulative", "q2"), ("new", "q2")} & hidden
    low, high = second.audit([("cumulative", "q1")]).ranges[("cumulative", "q1")]
    assert high - low >= 1


def test_a_hidden_cell_the_shown_ones_give_back_is_shown():
    """A * that a reader can work out protects nothing: showing it changes no range."""
    cells = LinkedCells(min_persons=5)
    for key, value in (("x", 8), ("y", 12)):
        cells.model.add(key, value)
    cells.model.add("total", 20, hideable=False)
    cells.model.sum_of("total", ["x", "y"])
    cells.hidden = {"x"}
    cells._show_determined()
    assert cells.hidden == set()
    # Hidden together, neither is determined: both stay hidden.
    cells.hidden = {"x", "y"}
    cells._show_determined()
    assert cells.hidden == {"x", "y"}


def test_protect_leaves_no_secondary_cell_that_the_shown_ones_give_back():
    """A 2 × 3 table with one small cell: whatever is hidden, none of it can be worked out."""
    cells = LinkedCells(min_persons=5)
    rows = {"r1": (3, 20, 30), "r2": (40, 50, 60)}
    columns = ("c1", "c2", "c3")
    for row, values in rows.items():
        for column, value in zip(columns, values, strict=True):
            cells.model.add((row, column), value)
        cells.model.add((row, "all"), sum(values))
        cells.model.sum_of((row, "all"), [(row, c) for c in columns])
    for index, column in enumerate(columns):
        cells.model.add(("all", column), sum(v[index] for v in rows.values()))
        cells.model.sum_of(("all", column), [(row, column) for row in rows])
    hidden = cells.protect()
    assert ("r1", "c1") in hidden
    audit = cells.audit(sorted(hidden))
    for key in hidden:
        low, high = audit.ranges[key]
        assert high - low >= 1, (key, low, high)


def test_the_stored_model_leaves_the_solver_caches_out(tmp_path):
    from analysis import codec

    cells = LinkedCells(min_persons=5)
    cells.model.add("a", 3)
    cells.model.add("b", 30)
    cells.model.add("total", 33)
    cells.model.sum_of("total", ["a", "b"])
    cells.protect()
    assert cells.auditor._witnesses
    codec.dump({"cells": cells}, tmp_path)
    text = (tmp_path / "objects.json").read_text(encoding="utf-8")
    assert not {"_ranges", "_uppers", "_witnesses", "_valid"} & set(text.split('"'))
    loaded = codec.load(tmp_path)["cells"]
    assert loaded.hidden == cells.hidden and not loaded.auditor._ranges
    assert not loaded.auditor._witnesses and not loaded.auditor._uppers
    assert loaded.auditor._valid_for is None and loaded.auditor.model is loaded.model
    assert loaded.is_hidden("a")


def test_an_unsolved_integer_programme_is_counted_and_never_makes_a_cell_look_safe(monkeypatch):
    """With no time to solve, a range is what solutions actually found show: never wider
    than the true one, so the protection hides more or says it cannot protect; each
    fallback is counted in the published record."""
    from analysis.sdc import programmes

    exact = two_way_table(TABLE)
    exact.protect()
    assert exact.fallbacks == 0 and exact.milps > 0
    assert exact.to_dict()["milp_fallbacks"] == 0
    monkeypatch.setattr(programmes, "MILP_TIME_LIMIT", 0.0)
    starved = two_way_table(TABLE)
    with pytest.raises(DisclosureError, match="not solved by HiGHS"):
        starved.protect()
    assert starved.fallbacks > 0


def test_a_programme_asked_again_is_answered_from_its_first_solve():
    """The same objective and bounds over the same group: HiGHS would return the same
    result, so it is not asked again (the audit asked it again before)."""
    cells = two_way_table(TABLE)
    cells.hidden = {("ELL", "women"), ("ELL", "men"), ("HOU", "women"), ("HOU", "men")}
    auditor = cells.auditor
    pinned, groups = auditor.open_cells()
    key = ("ELL", "women")
    problem = auditor._problem(groups[key], pinned)
    objective = np.zeros(len(problem["variables"]))
    objective[problem["column"][key]] = 1.0
    first = auditor._solve(problem, objective)
    solved = auditor.milps
    assert auditor._solve(problem, objective) == first
    assert auditor.milps == solved
    # Another bound is another programme.
    bounds = list(problem["bounds"])
    bounds[problem["column"][key]] = (1, None)
    assert auditor._solve(problem, objective, bounds=bounds)[0] == pytest.approx(1)
    assert auditor.milps == solved + 1


def test_whether_a_hidden_count_is_given_back_takes_a_question_per_direction():
    """A hidden count is given back when no solution puts it one above or one below its
    value: one integer programme each (its range took two, after two bounded ones that
    answer nothing for a whole count)."""
    cells = LinkedCells(min_persons=5)
    for key, value in (("x", 0), ("y", 0), ("u", 2), ("v", 1)):
        cells.model.add(key, value)
    cells.model.add("zero", 0, hideable=False)
    cells.model.sum_of("zero", ["x", "y"])
    cells.model.add("three", 3, hideable=False)
    cells.model.sum_of("three", ["u", "v"])
    cells.hidden = {"x", "y", "u", "v"}
    auditor = cells.auditor
    pinned, groups = auditor.open_cells()
    assert not pinned
    # x + y = 0 gives x back (nothing is negative): no solution with x >= 1.
    assert auditor.determined("x", groups, pinned) == 0.0
    assert auditor._ranges[("x", groups["x"])] == (0, 0)
    assert auditor.milps == 1
    # u + v = 3 leaves u open: a solution with u = 3 answers (and is a witness).
    assert auditor.determined("u", groups, pinned) is None
    assert auditor.milps == 2
    assert auditor.determined("v", groups, pinned) is None
    assert auditor.milps == 2
    # The same answers as the exact ranges.
    assert cells.audit(["x", "u"]).ranges == {"x": (0, 0), "u": (0, 3)}


def test_a_table_is_declared_in_one_call_cells_then_identities_then_bundles_in_order():
    """:meth:`LinkedCells.add_table`: the order given is the model's (the tie-break of the
    suppression and the row order of HiGHS), whatever order the table was built in."""
    from analysis.sdc.registry import Table

    cells = LinkedCells(5)
    table = Table("toy")
    a = table.cell(("a",), 3)
    table.sum(("total",), [a, ("b",)], "total = a + b")  # before b is added to the table
    table.cell(("b",), 30)
    table.cell(("total",), 33, cost=2)
    table.sum(("total",), [("b",)], "holds by the data only", exact=True)  # 33 != 30: not declared
    table.sum(("other",), [a], "a cell no table declared", if_declared=True)  # skipped
    table.running_total([("total",)], [("flow",)], "running")
    table.bundle([a, ("b",)])
    assert not cells.cells  # building a table touches no model
    cells.add_table(table)
    assert list(cells.cells) == [("a",), ("b",), ("total",), ("flow",)]
    assert [r.name for r in cells.relations] == ["total = a + b", "running"]
    assert cells.cells[("total",)].cost == 2 and not cells.cells[("flow",)].shown
    assert cells.model.bundles == [[("a",), ("b",)]]
    with pytest.raises(DisclosureError, match="undeclared"):
        bad = Table("bad")
        bad.sum(("a",), [("nowhere",)], "a cell no table declared")
        cells.add_table(bad)


def _reference_open_cells(model) -> tuple[dict, dict]:
    """The unknown cells as the audit worked them out before its caches: pinned, then groups."""
    unknown = [k for k in model.cells if model.unknown(k)]
    open_cells, pinned = set(unknown), {}
    queue = list(range(len(model.relations)))
    while queue:
        relation = model.relations[queue.pop()]
        free = [k for k in relation.terms if k in open_cells]
        if len(free) != 1:
            continue
        carried = sum(pinned.get(k, 0.0) * abs(w) for k, w in relation.terms.items())
        pinned[free[0]] = (relation.slack + carried) / abs(relation.terms[free[0]])
        open_cells.discard(free[0])
        queue.extend(model.relations_of.get(free[0], []))
    rest = [k for k in unknown if k not in pinned]
    parent = {k: k for k in rest}

    def root(key):
        while parent[key] != key:
            key = parent[key]
        return key

    for relation in model.relations:
        inside = [k for k in relation.terms if k in parent]
        for other in inside[1:]:
            parent[root(other)] = root(inside[0])
    members: dict = {}
    for key in rest:
        members.setdefault(root(key), []).append(key)
    return pinned, {k: frozenset(members[root(k)]) for k in rest}


def test_the_unknown_cells_of_each_state_are_those_worked_out_afresh():
    """The groups (connected parts in SciPy) and pinned cells, kept per state of the hidden
    cells, are those the identities give for that state, whatever was asked before."""
    cells = two_way_table(TABLE)
    cells.model.add(("LAN", "men"), 4)
    cells.model.add(("LAN", "women"), 6)
    cells.model.add(("LAN", "total"), 10)
    cells.model.sum_of(("LAN", "total"), [("LAN", "men"), ("LAN", "women")])
    auditor = cells.auditor
    states = [
        {("ELL", "women")},
        {("ELL", "women"), ("ELL", "men"), ("HOU", "women"), ("HOU", "men")},
        {("ELL", "women"), ("KAR", "women"), ("LAN", "men"), ("LAN", "women")},
        {("ELL", "women"), ("ELL", "men"), ("KAR", "men"), ("total", "men"), ("LAN", "total")},
    ]
    for hidden in states + states[::-1]:
        cells.hidden = set(hidden)
        auditor.sync()
        pinned, groups = auditor.open_cells()
        expected_pinned, expected_groups = _reference_open_cells(cells.model)
        assert pinned == pytest.approx(expected_pinned)
        assert groups == expected_groups and list(groups) == list(expected_groups)
    # A new cell is a new revision: the state's answer is worked out again.
    cells.model.add(("LAN", "children"), 2)
    cells.model.add(("LAN", "all"), 12)
    cells.model.sum_of(("LAN", "all"), [("LAN", "total"), ("LAN", "children")])
    auditor.sync()
    assert auditor.open_cells() == _reference_open_cells(cells.model)


def test_a_witness_range_counts_the_solutions_found_since_it_was_last_asked():
    """The span of a cell's witnesses is extended by solutions kept after it was asked,
    and a solution moving a cell that is now shown no longer counts."""
    cells = two_way_table(TABLE)
    cells.hidden = {("ELL", "women"), ("ELL", "men"), ("HOU", "women"), ("HOU", "men")}
    auditor = cells.auditor
    pinned, groups = auditor.open_cells()
    key = ("ELL", "women")
    assert auditor._witness_range(key, groups) == (3, 3)
    moved = [("ELL", "women"), ("ELL", "men"), ("HOU", "women"), ("HOU", "men")]
    auditor._keep_witness(moved, np.array([5.0, 10.0, 23.0, 32.0]))
    assert auditor._witness_range(key, groups) == (3, 5)
    auditor._keep_witness(moved, np.array([0.0, 15.0, 28.0, 27.0]))
    assert auditor._witness_range(key, groups) == (0, 5)
    # Another state: ("HOU", "men") shown again, so neither solution is feasible.
    cells.hidden = {("ELL", "women"), ("ELL", "men"), ("HOU", "women")}
    pinned, groups = auditor.open_cells()
    assert auditor._witness_range(key, groups) == (3, 3)
