"""The disclosure-control model of a report: every count it shows and the identities between them.

The quarterly view and the evaluation reports show the same results in several
places: enrolment by quarter and in the summary, achievements by area and in the
key figures, achievements per result period in the payment statement and
cumulatively in the targets table, amounts in the statement and their sums in the
caps table and the prose, persons per subgroup and in the budget table. And each
report follows earlier ones: this quarter's cumulative counts minus last
quarter's published ones are flows. This module declares those cells under one
key each and the identities a reader could use, one table per call
(:class:`analysis.sdc.registry.Table`, :meth:`LinkedCells.add_table`), so that
:class:`analysis.sdc.linked.LinkedCells` hides every small count together with
whatever would give it back, in this report or together with earlier ones.

Keys are named tuples, one kind per table (:mod:`analysis.sdc.keys`), naming what
a number is, not where it is shown; numbers that hold "as of" a report carry its
quarter, so the same key in two reports is the same number (:func:`target_key`,
:func:`statement_key`, ...: the reports ask for a cell by the same helpers). What each quarterly
report published is kept in ``<quarterly results>/<quarter>/disclosure.json``
(:func:`write_published`), and the next report starts from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from analysis import atomic, quarters
from analysis.config import Contract
from analysis.sdc.keys import (
    AdjustmentCell,
    CapsCell,
    ChangeCell,
    CompletenessCell,
    EarlierCell,
    EffectsCell,
    EnrolmentCell,
    ProvisionalRow,
    SettledRow,
    SubgroupCell,
    SummaryCell,
    TargetCell,
    TargetSummaryCell,
)
from analysis.sdc.linked import LinkedCells
from analysis.sdc.policy import HEADLINE_COST
from analysis.sdc.registry import Table

COUNT_TARGETS = ("employment", "social_measures", "life_satisfaction", "action_plan_goals")
PUBLISHED_FILE = "disclosure.json"
# Cell costs for secondary suppression (as tau-argus and sdcTable weigh cells): the
# cheapest cell that protects is hidden. Detail cells (per area, per quarter, the
# subgroups) cost 1; the payment statement's rows give way after them; the numbers
# of page 1 (enrolment, achievements per target, the amount earned per target and
# the provisional total) cost HEADLINE_COST and are hidden only when nothing
# cheaper protects (:meth:`analysis.sdc.policy.Suppression._secondary_candidate`).
STATEMENT_COST = 2


def target_key(column: str, target: str, area: str, as_of: str) -> TargetCell:
    return TargetCell(column, target, area, as_of)


def statement_key(
    column: str, report: str, target: str, status: str, as_of: str
) -> SettledRow | ProvisionalRow:
    """A final row is the same number in every report; a provisional one is of its quarter."""
    if status == "final":
        return SettledRow(column, report, target, "final")
    return ProvisionalRow(column, report, target, "provisional", as_of)


def adjustment_key(column: str, report: str, corrects: str) -> AdjustmentCell:
    """An adjustment entry is settled in its report: the same number in every later one."""
    return AdjustmentCell(column, report, corrects)


def completeness_key(column: str, source: str, as_of: str) -> CompletenessCell:
    return CompletenessCell(column, source, as_of)


def summary_key(
    name: str, as_of: str, target: str | None = None
) -> SummaryCell | TargetSummaryCell:
    """A figure of page 1, or (with ``target``) one of a target."""
    if target is None:
        return SummaryCell(name, as_of)
    return TargetSummaryCell(name, target, as_of)


def effects_key(column: str, outcome: str, as_of: str) -> EffectsCell:
    return EffectsCell(column, outcome, as_of)


def earned_key(target: str, as_of: str) -> TargetSummaryCell:
    """The amount earned by a target to date (every statement row): page 1's chart."""
    return summary_key("earned_by_target", as_of, target)


def subgroup_key(outcome: str, by: str, value, as_of: str) -> SubgroupCell:
    return SubgroupCell(outcome, by, str(value), as_of)


def enrolment_key(column: str, quarter: str) -> EnrolmentCell:
    return EnrolmentCell(column, quarter)


def new_cells(contract: Contract, earlier: dict | None = None) -> LinkedCells:
    """An empty model with the contract's disclosure minimum, starting from earlier reports."""
    cells = LinkedCells(contract.disclosure.min_persons)
    if earlier:
        cells.load_earlier(earlier)
    return cells


def payment_cells(
    cells: LinkedCells,
    tables: dict[str, pd.DataFrame],
    key: dict,
    contract: Contract,
    history: pd.DataFrame | None = None,
) -> None:
    """Declare the cells of the quarterly results as the quarterly view shows them."""
    as_of = key["as_of"]
    _enrolment(cells, tables["enrolment"])
    _completeness(cells, tables["completeness"], as_of)
    _targets(cells, tables["targets"], contract, as_of)
    _statement(cells, tables["payment_statement"], tables.get("payments_capped"), key)
    _absence(cells, tables.get("absence_estimates"), tables["payment_statement"], as_of)
    _adjustments(cells, tables.get("adjustments"), as_of)
    if history is not None and len(history):
        _history(cells, history, as_of)
    link_to_earlier(cells)


def _enrolment(cells: LinkedCells, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    table = Table("enrolment")
    quarter_list = list(frame["quarter"])
    last = quarter_list[-1]
    for row in frame.itertuples(index=False):
        for column in ("new_households", "households", "persons", "exited_households"):
            # Households and persons enrolled by the last quarter are page 1's.
            headline = row.quarter == last and column in ("households", "persons")
            table.cell(
                enrolment_key(column, row.quarter),
                getattr(row, column),
                cost=HEADLINE_COST if headline else 1,
            )
    for cumulative, flow, name in (
        ("households", "new_households", "households enrolled = previous + new"),
        ("persons", "new_persons", "persons enrolled = previous + new"),
        ("exited_households", "exits", "households exited = previous + exits"),
    ):
        table.running_total(
            [enrolment_key(cumulative, q) for q in quarter_list],
            [enrolment_key(flow, q) for q in quarter_list],
            name,
        )
    cells.add_table(table)


def _completeness(cells: LinkedCells, frame: pd.DataFrame, as_of: str) -> None:
    table = Table("completeness")
    for row in frame.itertuples(index=False):
        expected = table.cell(completeness_key("expected", row.source, as_of), row.expected)
        present = table.cell(completeness_key("present", row.source, as_of), row.present)
        missing = table.cell(
            completeness_key("missing", row.source, as_of), row.expected - row.present, shown=False
        )
        table.sum(expected, [present, missing], f"{row.source}: expected = present + missing")
    cells.add_table(table)


def _targets(cells: LinkedCells, frame: pd.DataFrame, contract: Contract, as_of: str) -> None:
    table = Table("targets")
    for target in COUNT_TARGETS:
        part = frame.loc[frame["target"] == target].set_index("area")
        if part.empty:
            continue
        for column in ("eligible", "new_this_quarter", "cumulative"):
            for area in [*contract.area_codes, "all"]:
                # Achievements per target to date are page 1's key figures.
                headline = column == "cumulative" and area == "all"
                table.cell(
                    target_key(column, target, area, as_of),
                    part.loc[area, column],
                    cost=HEADLINE_COST if headline else 1,
                )
            table.sum(
                target_key(column, target, "all", as_of),
                [target_key(column, target, area, as_of) for area in contract.area_codes],
                f"{target} {column}: all areas = sum of areas",
            )
    cells.add_table(table)


def _statement(
    cells: LinkedCells, statement: pd.DataFrame, capped: pd.DataFrame | None, key: dict
) -> None:
    as_of = key["as_of"]
    table = Table("statement")
    for row in statement.itertuples(index=False):
        units, achievements, amount = (
            statement_key(c, row.report, row.target, row.status, as_of)
            for c in ("units", "achievements", "amount")
        )
        # The statement is what is paid on: other tables give way first.
        table.cell(units, row.units, cost=STATEMENT_COST)
        table.cell(
            achievements,
            row.achievements,
            count=row.target != "school_absence",
            cost=STATEMENT_COST,
        )
        table.cell(amount, row.amount, count=False, cost=STATEMENT_COST)
        table.sum(amount, {achievements: row.unit_price}, "amount = achievements × price")
        if row.target != "school_absence":
            table.sum(achievements, [units], "achievements = units", exact=True)
        table.bundle([units, achievements, amount])
    cells.add_table(table)
    _outside_periods(cells, statement, as_of)
    _statement_sums(cells, statement, key)
    if capped is not None and not capped.empty:
        _caps(cells, capped, statement, as_of)


def _outside_periods(cells: LinkedCells, statement: pd.DataFrame, as_of: str) -> None:
    """A target's cumulative count = its statement rows + the achievements outside them."""
    table = Table("outside periods")
    for target in COUNT_TARGETS:
        rows = statement.loc[statement["target"] == target]
        cumulative = target_key("cumulative", target, "all", as_of)
        # The targets table is declared by now (the cumulative count is its cell).
        if len(rows) and cumulative in cells.cells:
            # Achievements after the last period shown (or not yet in any period) are
            # the difference: a derivable count of its own.
            periods = [
                statement_key("achievements", r.report, target, r.status, as_of)
                for r in rows.itertuples()
            ]
            rest = target_key("outside_periods", target, "all", as_of)
            outside = cells.cells[cumulative].value - rows["achievements"].sum()
            # Until the last result period ends every achievement falls in a shown
            # period: a reader knows the rest is 0 (a structural zero), so it is known.
            table.cell(rest, outside, shown=outside == 0, count=outside != 0, hideable=False)
            table.sum(
                cumulative, [*periods, rest], f"{target}: cumulative = result periods + the rest"
            )
    cells.add_table(table)


def _statement_sums(cells: LinkedCells, statement: pd.DataFrame, key: dict) -> None:
    """Page 1's sums of statement amounts: earned per target, the provisional total, the largest item."""
    as_of = key["as_of"]
    table = Table("summary")
    for target, rows in statement.groupby("target", sort=False):
        # Page 1's chart: the amount earned per target, all result periods so far.
        earned = summary_key("earned_by_target", as_of, target)
        table.cell(earned, rows["amount"].sum(), count=False, cost=HEADLINE_COST)
        table.sum(
            earned,
            [statement_key("amount", r.report, target, r.status, as_of) for r in rows.itertuples()],
            "earned per target = sum of its statement rows",
        )
    provisional = statement.loc[statement["status"] == "provisional"]
    total = summary_key("provisional_total", as_of)
    table.cell(total, key["payments_provisional_total"], count=False, cost=HEADLINE_COST)
    table.sum(
        total,
        [
            statement_key("amount", r.report, r.target, r.status, as_of)
            for r in provisional.itertuples()
        ],
        "provisional total = sum of provisional amounts",
    )
    final = statement.loc[statement["status"] == "final"]
    largest = largest_item(statement)
    if largest is not None:
        rows = final.loc[final["target"] == largest]
        item = summary_key("amount_by_target", as_of, largest)
        table.cell(item, rows["amount"].sum(), count=False)
        table.sum(
            item,
            [statement_key("amount", r.report, largest, "final", as_of) for r in rows.itertuples()],
            "largest item = sum over result periods",
        )
    cells.add_table(table)


def _caps(cells: LinkedCells, capped: pd.DataFrame, statement: pd.DataFrame, as_of: str) -> None:
    """The amount due per result report: the sum of its final amounts, never hidden."""
    final = statement.loc[statement["status"] == "final"]
    # The payment basis is never hidden: the amount due per result report stays,
    # and partners are found among the statement rows. Paid amounts and investor
    # positions follow from it and the caps.
    table = Table("caps")
    for row in capped.itertuples(index=False):
        due = table.cell(due_key(row.report, as_of), row.due, count=False, hideable=False)
        table.sum(
            due,
            [
                statement_key("amount", row.report, t, "final", as_of)
                for t in final.loc[final["report"] == row.report, "target"]
            ],
            "due = sum of the report's amounts",
        )
    cells.add_table(table)


def due_key(report: str, as_of: str) -> CapsCell:
    """The amount due of one result report (the caps table's column; the payment basis)."""
    return CapsCell("due", report, as_of)


def adjustments_total_key(as_of: str) -> SummaryCell:
    """The sum of every adjustment to date (page 1's "changed settled amounts by ...")."""
    return summary_key("adjustments_total", as_of)


def report_adjustments_key(report: str, as_of: str) -> CapsCell:
    """The sum of one result report's adjustments (the caps table's column)."""
    return CapsCell("adjustments", report, as_of)


def _adjustments(cells: LinkedCells, frame: pd.DataFrame | None, as_of: str) -> None:
    """Adjustment entries: a change of a few units is a count of a few persons.

    Sizes are declared (a change of -2 units tells of two persons as much as +2);
    the amount is the change in achievements times the price. Their sums (page 1's
    total and each report's in the caps table) are money: declared with the signed
    entries, so that they are hidden only when the audit finds they would give a
    small count back, not whenever an entry is hidden.
    """
    if frame is None or frame.empty:
        return
    signed = {
        adjustment_key("amount", r.report, r.corrects): float(np.sign(r.amount))
        for r in frame.itertuples(index=False)
    }
    table = Table("adjustments")
    for row in frame.itertuples(index=False):
        units, achievements, amount = (
            adjustment_key(c, row.report, row.corrects) for c in ("units", "achievements", "amount")
        )
        table.cell(units, abs(row.units), cost=STATEMENT_COST)
        table.cell(
            achievements,
            abs(row.achievements),
            count=row.target != "school_absence",
            cost=STATEMENT_COST,
        )
        table.cell(amount, abs(row.amount), count=False, cost=STATEMENT_COST)
        table.sum(amount, {achievements: row.unit_price}, "change = achievements × price")
        if row.target != "school_absence":
            table.sum(achievements, [units], "achievements = units", exact=True)
        table.bundle([units, achievements, amount])
    reports = {
        report_adjustments_key(report, as_of): part for report, part in frame.groupby("report")
    }
    for key, part in [(adjustments_total_key(as_of), frame), *reports.items()]:
        entries = {
            adjustment_key("amount", r, c)
            for r, c in zip(part["report"], part["corrects"], strict=True)
        }
        terms = {k: w for k, w in signed.items() if w and k in entries}
        if not terms:
            continue
        headline = key == adjustments_total_key(as_of)
        table.cell(
            key,
            float(part["amount"].sum()),
            count=False,
            cost=HEADLINE_COST if headline else STATEMENT_COST,
        )
        table.sum(key, terms, "adjustments total = sum of signed entries")
    cells.add_table(table)


def largest_item(statement: pd.DataFrame) -> str | None:
    """The target with the largest final amount to date (named in the payment prose)."""
    final = statement.loc[statement["status"] == "final"]
    by_target = final.groupby("target", sort=False)["amount"].sum()
    return by_target.idxmax() if by_target.sum() > 0 else None


def _absence(
    cells: LinkedCells, frame: pd.DataFrame | None, statement: pd.DataFrame, as_of: str
) -> None:
    """Pupils per result report in the absence table are the statement's units."""
    if frame is None:
        return
    status = statement.loc[statement["target"] == "school_absence"].set_index("report")["status"]
    table = Table("absence")
    for row in frame.itertuples(index=False):
        key = statement_key("units", row.report, "school_absence", status[row.report], as_of)
        table.cell(key, row.pupils)
    cells.add_table(table)


def _history(cells: LinkedCells, history: pd.DataFrame, as_of: str) -> None:
    """Cumulative achievements of every quarter so far: the earlier reports' key figures.

    One table per target: its running total adds the target's flows as derivable
    cells before the next target's counts.
    """
    for target in COUNT_TARGETS:
        part = history.loc[history["target"] == target]
        if part.empty:
            continue
        table = Table(f"history of {target}")
        keys = [target_key("cumulative", target, "all", q) for q in part["quarter"]]
        for key, value in zip(keys, part["cumulative"], strict=True):
            table.cell(key, value)
        flows = [target_key("flow", target, "all", q) for q in part["quarter"]]
        table.running_total(keys, flows, f"{target}: cumulative = previous + new")
        new = target_key("new_this_quarter", target, "all", as_of)
        if as_of in set(part["quarter"]):
            flow = target_key("flow", target, "all", as_of)
            table.sum(flow, [new], "flow = new", exact=True, if_declared=True)
        cells.add_table(table)


class _Place(NamedTuple):
    """Where a number stands in its series: the same number over time, and its order in it."""

    series: tuple
    order: float


class _Earlier(NamedTuple):
    """An earlier report's number in a series: its key and its order."""

    key: tuple
    order: float


def _series(key) -> _Place | None:
    """The series a key belongs to and its place in it (None: a number of one report only).

    A target's cumulative count is one series per (target, area), ordered by the
    report's quarter; a statement row one per (measure, result period, target),
    its settled (final) version after every provisional one; an earlier report's
    version of a revised number just before the number it was revised to.
    """
    if isinstance(key, EarlierCell):
        found = _series(key.cell)
        return _Place(found.series, found.order - 0.5) if found else None
    if isinstance(key, TargetCell) and key.measure == "cumulative":
        series = (key.table, key.measure, key.target, key.area)
        return _Place(series, quarters.to_index(key.as_of))
    if isinstance(key, SettledRow):
        return _Place((key.table, key.measure, key.period, key.target), float("inf"))
    if isinstance(key, ProvisionalRow):
        series = (key.table, key.measure, key.period, key.target)
        return _Place(series, quarters.to_index(key.as_of))
    return None


def link_to_earlier(cells: LinkedCells) -> None:
    """This report's number = the latest earlier report's + the change in between.

    The change (a flow of achievements since the last report, a provisional row
    growing, a revision) is a derivable cell: a small one is protected like any
    other count.
    """
    earlier: dict[tuple, list[_Earlier]] = {}
    for key, cell in cells.cells.items():
        found = _series(key)
        if cell.earlier and found:
            earlier.setdefault(found.series, []).append(_Earlier(key, found.order))
    table = Table("change since earlier reports")
    for key in [k for k in cells.cells if k in cells.current]:
        found = _series(key)
        if not found or found.series not in earlier:
            continue
        before = [number for number in earlier[found.series] if number.order < found.order]
        if not before:
            continue
        # The latest earlier report's number (the first of equals, as declared).
        previous = max(before, key=lambda number: number.order).key
        change = ChangeCell(previous, key)
        # A change of an amount or of an estimate is not a count of persons.
        table.cell(
            change,
            cells.cells[key].value - cells.cells[previous].value,
            shown=False,
            count=cells.cells[key].count,
        )
        table.sum(key, [previous, change], "this report = earlier report + change")
        _change_is_new(table, change, previous, key)
    cells.add_table(table)


def _change_is_new(table: Table, change: ChangeCell, previous: TargetCell, key: TargetCell) -> None:
    """A cumulative count one quarter after the last report grew by this quarter's new ones.

    The report shows "new this quarter" per area beside the cumulative count, so a
    reader subtracts: the change since the previous report is a shown number.
    """
    if not (isinstance(key, TargetCell) and isinstance(previous, TargetCell)):
        return
    if quarters.to_index(key.as_of) - quarters.to_index(previous.as_of) != 1:
        return
    new = TargetCell("new_this_quarter", key.target, key.area, key.as_of)
    table.sum(
        change,
        [new],
        "change since the last report = new this quarter",
        exact=True,
        if_declared=True,
    )


def subgroup_persons(panel: pd.DataFrame, by: str) -> dict:
    """Persons of the intervention group in each subgroup (value of ``by``), in sorted order.

    :func:`effect_cells` declares these counts and the heterogeneity tables show
    them (the stage stores them), so no notebook needs the person-level panels.
    """
    counts = panel.loc[panel["g"] > 0].groupby(by)["person_id"].nunique()
    return {value: int(n) for value, n in counts.items()}


def effect_cells(
    cells: LinkedCells,
    estimates: dict,
    subgroups: dict[str, dict[str, dict]],
    as_of: str,
) -> None:
    """Declare persons per outcome (all, treated) and per subgroup of the treated.

    ``subgroups``: outcome → column → :func:`subgroup_persons` of that outcome's panel,
    for the subgroup tables the report shows.
    """
    table = Table("effects")
    for outcome, est in estimates.items():
        persons = table.cell(effects_key("persons", outcome, as_of), est.n_persons)
        treated = table.cell(effects_key("treated", outcome, as_of), est.n_treated_persons)
        comparison = table.cell(
            effects_key("comparison", outcome, as_of),
            est.n_persons - est.n_treated_persons,
            shown=False,
        )
        table.sum(persons, [treated, comparison], f"{outcome}: persons = treated + comparison")
    # The eligible adults are the targets table's (a payment report's cell).
    table.sum(
        target_key("eligible", "employment", "all", as_of),
        [effects_key("treated", "ladder_step", as_of)],
        "eligible adults = treated adults",
        exact=True,
        if_declared=True,
    )
    cells.add_table(table)
    for outcome, columns in subgroups.items():
        for by, counts in columns.items():
            table = Table(f"{outcome} by {by}")
            keys = [subgroup_key(outcome, by, value, as_of) for value in counts]
            for key, n in zip(keys, counts.values(), strict=True):
                table.cell(key, n)
            table.sum(effects_key("treated", outcome, as_of), keys, f"treated = sum by {by}")
            if outcome == "ladder_step" and by == "area":
                for value, key in zip(counts, keys, strict=True):
                    table.sum(
                        target_key("eligible", "employment", value, as_of),
                        [key],
                        "eligible adults = treated adults",
                        exact=True,
                        if_declared=True,
                    )
            cells.add_table(table)


def read_published(
    quarterly_dir: Path | str, as_of: str, include: bool, contract: Contract
) -> dict | None:
    """What the quarterly reports up to ``as_of`` published (before it unless ``include``).

    The latest quarter with a ``disclosure.json`` holds everything published until
    then. None when ``disclosure.across_reports`` is off or nothing was published.
    """
    if not contract.disclosure.across_reports:
        return None
    folder = Path(quarterly_dir)
    last = quarters.to_index(as_of) - (0 if include else 1)
    found = sorted(
        (quarters.to_index(p.parent.name), p)
        for p in folder.glob(f"*/{PUBLISHED_FILE}")
        if quarters.is_quarter(p.parent.name) and quarters.to_index(p.parent.name) <= last
    )
    if not found:
        return None
    return json.loads(found[-1][1].read_text(encoding="utf-8"))


def write_published(
    cells: LinkedCells, quarterly_dir: Path | str, as_of: str, folder: Path | None = None
) -> Path:
    """Keep what the quarterly report of ``as_of`` publishes, for the reports after it.

    ``folder`` is where the quarter's results are being written (default ``quarterly_dir/as_of``).
    """
    path = Path(folder or Path(quarterly_dir) / as_of) / PUBLISHED_FILE
    atomic.write_json(path, {"as_of": as_of, **cells.to_dict()})
    return path


def solver_line(folder: Path | str) -> str:
    """One line for a step's output: the integer programmes of the protection, and any unsolved.

    An unsolved one (HiGHS stopped) is never the ground of a decision (its range is
    taken on the safe side, :meth:`analysis.sdc.audit.Auditor._cached_range`), but the build says so.
    """
    record = json.loads((Path(folder) / PUBLISHED_FILE).read_text(encoding="utf-8"))
    fallbacks = record.get("milp_fallbacks", 0)
    line = (
        f"disclosure control: {record.get('milps', 0)} integer programme(s), "
        f"{fallbacks} MILP fallback(s)"
    )
    if fallbacks:
        line += " (HiGHS did not solve them; their ranges were taken on the safe side)"
    return line
