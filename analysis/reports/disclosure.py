"""The disclosure-control model of a report: every count it shows and the identities between them.

The quarterly view and the evaluation reports show the same results in several
places: enrolment by quarter and in the summary, achievements by area and in the
key figures, achievements per result period in the payment statement and
cumulatively in the targets table, amounts in the statement and their sums in the
caps table and the prose, persons per subgroup and in the budget table. This
module declares those cells under one key each and the identities a reader could
use, so that :class:`analysis.sdc.linked.LinkedCells` hides every small count
together with whatever would give it back. Tables, figures, prose and the results
file then ask :meth:`LinkedCells.shown` for each cell.

Keys are tuples naming what a number is, not where it is shown:
``("enrolment", column, quarter)``, ``("targets", column, target, area)``,
``("statement", column, report, target)``, ``("caps", column, report)``,
``("history", target, quarter)``, ``("completeness", column, source)``,
``("effects", column, outcome)``, ``("subgroup", outcome, by, value)``.
"""

from __future__ import annotations

import pandas as pd

from analysis.config import Contract
from analysis.sdc.linked import LinkedCells

COUNT_TARGETS = ("employment", "social_measures", "life_satisfaction", "action_plan_goals")


def payment_cells(
    cells: LinkedCells,
    tables: dict[str, pd.DataFrame],
    key: dict,
    contract: Contract,
    history: pd.DataFrame | None = None,
) -> None:
    """Declare the cells of the quarterly results as the quarterly view shows them."""
    _enrolment(cells, tables["enrolment"])
    _completeness(cells, tables["completeness"])
    _targets(cells, tables["targets"], contract)
    _statement(cells, tables["payment_statement"], tables.get("payments_capped"), key)
    _absence(cells, tables.get("absence_estimates"))
    if history is not None and len(history):
        _history(cells, history, key["as_of"])


def _enrolment(cells: LinkedCells, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    quarters = list(frame["quarter"])
    for row in frame.itertuples(index=False):
        for column in ("new_households", "households", "persons", "exited_households"):
            cells.add(("enrolment", column, row.quarter), getattr(row, column))
    cells.running_total(
        [("enrolment", "households", q) for q in quarters],
        [("enrolment", "new_households", q) for q in quarters],
        "households enrolled = previous + new",
    )
    cells.running_total(
        [("enrolment", "persons", q) for q in quarters],
        [("enrolment", "new_persons", q) for q in quarters],
        "persons enrolled = previous + new",
    )
    cells.running_total(
        [("enrolment", "exited_households", q) for q in quarters],
        [("enrolment", "exits", q) for q in quarters],
        "households exited = previous + exits",
    )


def _completeness(cells: LinkedCells, frame: pd.DataFrame) -> None:
    for row in frame.itertuples(index=False):
        expected, present = (
            ("completeness", "expected", row.source),
            (
                "completeness",
                "present",
                row.source,
            ),
        )
        missing = ("completeness", "missing", row.source)
        cells.add(expected, row.expected)
        cells.add(present, row.present)
        cells.add(missing, row.expected - row.present, shown=False)
        cells.sum_of(expected, [present, missing], f"{row.source}: expected = present + missing")


def _targets(cells: LinkedCells, frame: pd.DataFrame, contract: Contract) -> None:
    for target in COUNT_TARGETS:
        part = frame.loc[frame["target"] == target].set_index("area")
        if part.empty:
            continue
        for column in ("eligible", "new_this_quarter", "cumulative"):
            for area in [*contract.area_codes, "all"]:
                cells.add(("targets", column, target, area), part.loc[area, column])
            cells.sum_of(
                ("targets", column, target, "all"),
                [("targets", column, target, area) for area in contract.area_codes],
                f"{target} {column}: all areas = sum of areas",
            )


def _statement(
    cells: LinkedCells, statement: pd.DataFrame, capped: pd.DataFrame | None, key: dict
) -> None:
    for row in statement.itertuples(index=False):
        units = ("statement", "units", row.report, row.target)
        achievements = ("statement", "achievements", row.report, row.target)
        amount = ("statement", "amount", row.report, row.target)
        cells.add(units, row.units)
        cells.add(achievements, row.achievements, count=row.target != "school_absence")
        cells.add(amount, row.amount, count=False)
        cells.sum_of(amount, {achievements: row.unit_price}, "amount = achievements × price")
        if row.target != "school_absence":
            cells.sum_if_exact(achievements, [units], "achievements = units")
        cells.bundle([units, achievements, amount])
    for target in COUNT_TARGETS:
        rows = statement.loc[statement["target"] == target]
        cumulative = ("targets", "cumulative", target, "all")
        if len(rows) and cumulative in cells.cells:
            # Achievements after the last period shown (or not yet in any period) are
            # the difference: a derivable count of its own.
            periods = [("statement", "achievements", r, target) for r in rows["report"]]
            rest = ("targets", "outside_periods", target)
            cells.add(rest, cells.cells[cumulative].value - rows["achievements"].sum(), shown=False)
            cells.sum_of(
                cumulative, [*periods, rest], f"{target}: cumulative = result periods + the rest"
            )
    # The payment basis is never hidden: the provisional total (summary) and the
    # amount due per result report (caps table) stay, and partners are found among
    # the statement rows. Paid amounts and investor positions follow from these.
    provisional = statement.loc[statement["status"] == "provisional"]
    cells.add(
        ("summary", "provisional_total"),
        key["payments_provisional_total"],
        count=False,
        hideable=False,
    )
    cells.sum_of(
        ("summary", "provisional_total"),
        [("statement", "amount", r.report, r.target) for r in provisional.itertuples()],
        "provisional total = sum of provisional amounts",
    )
    final = statement.loc[statement["status"] == "final"]
    largest = largest_item(statement)
    if largest is not None:
        rows = final.loc[final["target"] == largest]
        cells.add(("summary", "amount_by_target", largest), rows["amount"].sum(), count=False)
        cells.sum_of(
            ("summary", "amount_by_target", largest),
            [("statement", "amount", r.report, largest) for r in rows.itertuples()],
            "largest item = sum over result periods",
        )
    if capped is None or capped.empty:
        return
    for row in capped.itertuples(index=False):
        due = ("caps", "due", row.report)
        cells.add(due, row.due, count=False, hideable=False)
        cells.sum_of(
            due,
            [
                ("statement", "amount", row.report, t)
                for t in final.loc[final["report"] == row.report, "target"]
            ],
            "due = sum of the report's amounts",
        )


def largest_item(statement: pd.DataFrame) -> str | None:
    """The target with the largest final amount to date (named in the payment prose)."""
    final = statement.loc[statement["status"] == "final"]
    by_target = final.groupby("target", sort=False)["amount"].sum()
    return by_target.idxmax() if by_target.sum() > 0 else None


def _absence(cells: LinkedCells, frame: pd.DataFrame | None) -> None:
    if frame is None:
        return
    for row in frame.itertuples(index=False):
        cells.add(("statement", "units", row.report, "school_absence"), row.pupils)


def _history(cells: LinkedCells, history: pd.DataFrame, as_of: str) -> None:
    for target in COUNT_TARGETS:
        part = history.loc[history["target"] == target]
        if part.empty:
            continue
        keys = []
        for row in part.itertuples(index=False):
            key = (
                ("targets", "cumulative", target, "all")
                if row.quarter == as_of
                else ("history", target, row.quarter)
            )
            cells.add(key, row.cumulative)
            keys.append(key)
        cells.running_total(
            keys,
            [("history", "flow", target, q) for q in part["quarter"]],
            f"{target}: cumulative = previous + new",
        )
        new = ("targets", "new_this_quarter", target, "all")
        if as_of in set(part["quarter"]) and new in cells.cells:
            cells.sum_if_exact(("history", "flow", target, as_of), [new], "flow = new this quarter")


def effect_cells(
    cells: LinkedCells,
    estimates: dict,
    panels: dict[str, pd.DataFrame],
    subgroups: dict[str, tuple[str, ...]],
) -> None:
    """Declare persons per outcome (all, treated) and per subgroup of the treated."""
    for outcome, est in estimates.items():
        persons, treated = ("effects", "persons", outcome), ("effects", "treated", outcome)
        comparison = ("effects", "comparison", outcome)
        cells.add(persons, est.n_persons)
        cells.add(treated, est.n_treated_persons)
        cells.add(comparison, est.n_persons - est.n_treated_persons, shown=False)
        cells.sum_of(persons, [treated, comparison], f"{outcome}: persons = treated + comparison")
    eligible = ("targets", "eligible", "employment", "all")
    if eligible in cells.cells and ("effects", "treated", "ladder_step") in cells.cells:
        cells.sum_if_exact(eligible, [("effects", "treated", "ladder_step")], "adults = adults")
    for outcome, columns in subgroups.items():
        treated = panels[outcome].loc[panels[outcome]["g"] > 0]
        for by in columns:
            counts = treated.groupby(by)["person_id"].nunique()
            keys = []
            for value, n in counts.items():
                keys.append(("subgroup", outcome, by, value))
                cells.add(keys[-1], n)
            cells.sum_of(("effects", "treated", outcome), keys, f"{outcome}: treated = sum by {by}")
            if outcome == "ladder_step" and by == "area":
                for value in counts.index:
                    eligible = ("targets", "eligible", "employment", value)
                    if eligible in cells.cells:
                        cells.sum_if_exact(eligible, [("subgroup", outcome, by, value)])


def new_cells(contract: Contract) -> LinkedCells:
    """An empty model with the contract's disclosure minimum."""
    return LinkedCells(contract.disclosure.min_persons)
