"""An attacker's view of the published quarterly reports: try to recover every hidden count.

Independent of the protection model's own identities: from the published cells
alone (what each report showed, and where it showed ``*``) and what a careful
reader knows about their meaning, this module writes the identities itself and
solves, for every hidden count, the smallest and largest whole number it can be
(scipy's HiGHS MILP). What a reader knows:

- a table's "all areas" row is the sum of the areas;
- a cumulative count of one report is the previous report's plus the new ones
  of this quarter (per area and overall), and enrolled households likewise;
- before the last result period ends, every achievement belongs to a shown
  result period, so a cumulative count is the sum of the statement rows shown
  beside it (a structural zero: nothing lies outside the shown periods);
- a row's amount is the unit price times its achievements (prices are in the
  contract), and its units are its achievements; likewise an adjustment entry's
  change in DKK, achievements and units;
- the amount due of a result report is the sum of its final rows; the
  provisional total the sum of the provisional rows; the largest item the sum
  of its target's final rows;
- in an evaluation report, the treated persons of an outcome are the sum of
  each subgroup table, and the treated adults are the eligible ones.

A reader could only use an identity that is true, so each is used only where
the true values satisfy it (to within the rounding of the shown values, which the
programme allows). A hidden count is **recovered** when its range is narrower than
the disclosure minimum while its value is small, or when it is pinned to one value.
A bound HiGHS does not find (a solve error, a time or node limit, or "infeasible",
which the true values contradict) is **unsolved**: a failure of the attack, listed,
never read as "nothing learnt" — unless what is known already settles the cell: its
range holds its true value and every solution HiGHS found before it stopped, so
when those lie at least the disclosure minimum apart (a small count), or apart at
all (a larger one), the cell is not recovered whatever the missing bound
(**witnessed**). Amounts are whole kroner, as every report prints them: a hidden
cell whose value is whole is a whole number in the programme (true of every amount;
of any other cell it only makes the attacker stronger), which is what lets HiGHS
find integer points in the largest groups at all.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint

from analysis import quarters
from analysis.sdc import keys
from analysis.sdc.solver import milp

TOLERANCE = 1e-6
# The least half-width of a row scaled to a largest coefficient of 1: ten times HiGHS's
# feasibility tolerance (a narrower range row made HiGHS stop with a solve error).
SLACK_FLOOR = 1e-6
# Limits of one integer programme: beyond them the bound is reported as unsolved.
TIME_LIMIT = 120.0
NODE_LIMIT = 100_000
EVALUATION_KINDS = ("midterm", "preliminary_final", "final")
# Adjustment entries behind one sum whose signs an attacker tries one by one (2**n).
SIGN_PATTERN_LIMIT = 14


@dataclass
class Attack:
    """The ranges an attacker finds for every hidden count, and the recovered ones."""

    ranges: dict[Hashable, tuple[float, float]] = field(default_factory=dict)
    values: dict[Hashable, float] = field(default_factory=dict)
    recovered: list[Hashable] = field(default_factory=list)
    # Hidden counts with a bound HiGHS did not find, with its message.
    unsolved: dict[Hashable, str] = field(default_factory=dict)
    # Hidden counts with a bound not found whose solutions found already show them safe.
    witnessed: list[Hashable] = field(default_factory=list)
    identities: int = 0


def published_cells(published: dict) -> dict[tuple, dict]:
    """The cells some report showed (as a number or as ``*``) from a ``disclosure.json``."""
    cells = {}
    for key, value, shown, count, hidden in published["cells"]:
        key = keys.decode(key)
        if shown and not isinstance(key, keys.EarlierCell):
            cells[key] = {"value": float(value), "count": bool(count), "hidden": bool(hidden)}
    return cells


class _Identities:
    def __init__(self, cells: dict[tuple, dict]):
        self.cells = cells
        self.rows: list[dict[tuple, float]] = []

    def add(self, terms: dict[tuple, float]) -> None:
        """``Σ weight × cell = 0``, used only when every cell was published and it holds."""
        if not terms or any(k not in self.cells for k in terms):
            return
        residual = sum(w * self.cells[k]["value"] for k, w in terms.items())
        scale = max(1.0, *(abs(w * self.cells[k]["value"]) for k, w in terms.items()))
        if abs(residual) > TOLERANCE * scale:
            return
        if all(not self.cells[k]["hidden"] for k in terms):
            return  # tells nothing
        self.rows.append(terms)


def reader_identities(cells: dict[tuple, dict], last_result_report: str) -> list[dict]:
    """The identities a reader can write down for the published cells (see the module text)."""
    ids = _Identities(cells)
    published = list(cells)
    _target_identities(ids, published)
    _statement_identities(ids, published, last_result_report)
    _money_identities(ids, published)
    _adjustment_sums(ids, published)
    _evaluation_identities(ids, published)
    _enrolment_identities(ids, published)
    return ids.rows


def _target_identities(ids: _Identities, published: list) -> None:
    """All areas = sum of the areas; a cumulative count = the previous quarter's + the new ones."""
    targets = [k for k in published if isinstance(k, keys.TargetCell)]
    by_quarter = sorted({k.as_of for k in targets}, key=quarters.to_index)
    areas = sorted({k.area for k in targets if k.area != "all"})
    names = sorted({k.target for k in targets})
    for q in by_quarter:
        for column in ("eligible", "new_this_quarter", "cumulative"):
            for t in names:
                total = keys.TargetCell(column, t, "all", q)
                ids.add({total: -1.0, **{keys.TargetCell(column, t, a, q): 1.0 for a in areas}})
    for previous, q in zip(by_quarter, by_quarter[1:], strict=False):
        if quarters.to_index(q) - quarters.to_index(previous) != 1:
            continue
        for t in names:
            for area in [*areas, "all"]:
                ids.add(
                    {
                        keys.TargetCell("cumulative", t, area, q): 1.0,
                        keys.TargetCell("cumulative", t, area, previous): -1.0,
                        keys.TargetCell("new_this_quarter", t, area, q): -1.0,
                    }
                )


def _shown_in(row, quarter: str) -> bool:
    """Whether a statement row is one the report of ``quarter`` shows.

    Final rows of result reports due by then, provisional rows of that report.
    """
    if isinstance(row, keys.SettledRow):
        return quarters.to_index(row.period) <= quarters.to_index(quarter)
    return row.as_of == quarter


def _statement_rows(published: list) -> list:
    return [k for k in published if isinstance(k, keys.STATEMENT_ROWS)]


def _statement_identities(ids: _Identities, published: list, last_result_report: str) -> None:
    """Each report's cumulative count = the achievements of the statement rows it shows."""
    statement = _statement_rows(published)
    targets = [k for k in published if isinstance(k, keys.TargetCell)]
    by_quarter = sorted({k.as_of for k in targets}, key=quarters.to_index)
    names = sorted({k.target for k in targets})
    for q in by_quarter:
        if quarters.to_index(q) > quarters.to_index(last_result_report):
            continue
        for t in names:
            rows = [
                k
                for k in statement
                if k.measure == "achievements" and k.target == t and _shown_in(k, q)
            ]
            ids.add({keys.TargetCell("cumulative", t, "all", q): -1.0, **dict.fromkeys(rows, 1.0)})


def _money_identities(ids: _Identities, published: list) -> None:
    """Amount = price × achievements, units = achievements (statement rows and adjustments),
    and the sums of amounts: due per result report, the provisional total, the largest item."""
    cells = ids.cells
    statement = _statement_rows(published)
    prices: dict[str, float] = {}
    for k in statement:
        if k.measure == "achievements" and cells[k]["value"] > 0:
            amount = k._replace(measure="amount")
            if amount in cells:
                prices.setdefault(k.target, cells[amount]["value"] / cells[k]["value"])
    for k in statement:
        if k.measure != "achievements":
            continue
        amount, units = k._replace(measure="amount"), k._replace(measure="units")
        if k.target in prices:
            ids.add({amount: 1.0, k: -prices[k.target]})
        ids.add({units: 1.0, k: -1.0})
    # Adjustment entries: |change in DKK| = price × |change in achievements|, and units
    # are achievements (the corrected entry, "<report>:<target>", names the target).
    for k in published:
        if isinstance(k, keys.AdjustmentCell) and k.measure == "achievements":
            target = str(k.corrects).rsplit(":", 1)[-1]
            amount, units = k._replace(measure="amount"), k._replace(measure="units")
            if target in prices and amount in cells:
                ids.add({amount: 1.0, k: -prices[target]})
            if units in cells:
                ids.add({units: 1.0, k: -1.0})
    amounts = [s for s in statement if s.measure == "amount"]
    for k in published:
        if isinstance(k, keys.CapsCell) and k.measure == "due":
            finals = [s for s in amounts if s.period == k.period and s.status == "final"]
            ids.add({k: -1.0, **dict.fromkeys(finals, 1.0)})
        if isinstance(k, keys.SummaryCell) and k.figure == "provisional_total":
            rows = [s for s in amounts if s.status == "provisional" and s.as_of == k.as_of]
            ids.add({k: -1.0, **dict.fromkeys(rows, 1.0)})
        if isinstance(k, keys.TargetSummaryCell) and k.figure == "amount_by_target":
            rows = [
                s
                for s in amounts
                if s.target == k.target
                and s.status == "final"
                and quarters.to_index(s.period) <= quarters.to_index(k.as_of)
            ]
            ids.add({k: -1.0, **dict.fromkeys(rows, 1.0)})


def _adjustment_sums(ids: _Identities, published: list) -> None:
    """The sums of adjustments (page 1's total to date, each report's in the caps table).

    They are sums of the entries, each added or taken off: a reader who does not know
    the signs tries them all, and an identity that holds is one the reader can use.
    """
    entries = [k for k in published if isinstance(k, keys.AdjustmentCell) and k.measure == "amount"]
    for k in published:
        if isinstance(k, keys.SummaryCell) and k.figure == "adjustments_total":
            parts = [
                e for e in entries if quarters.to_index(e.period) <= quarters.to_index(k.as_of)
            ]
        elif isinstance(k, keys.CapsCell) and k.measure == "adjustments":
            parts = [e for e in entries if e.period == k.period]
        else:
            continue
        if len(parts) > SIGN_PATTERN_LIMIT:
            raise ValueError(f"{k!r}: {len(parts)} adjustment entries, too many sign patterns")
        for signs in itertools.product((1.0, -1.0), repeat=len(parts)):
            ids.add({k: -1.0, **dict(zip(parts, signs, strict=True))})


def _evaluation_identities(ids: _Identities, published: list) -> None:
    """Evaluation reports: the treated persons of an outcome are the sum of any subgroup table."""
    subgroups = [s for s in published if isinstance(s, keys.SubgroupCell)]
    for k in published:
        if not (isinstance(k, keys.EffectsCell) and k.measure == "treated"):
            continue
        mine = [s for s in subgroups if s.outcome == k.outcome and s.as_of == k.as_of]
        for by in {s.by for s in mine}:
            parts = [s for s in mine if s.by == by]
            ids.add({k: -1.0, **dict.fromkeys(parts, 1.0)})
        # Treated adults are the adults eligible for the employment target.
        ids.add({k: 1.0, keys.TargetCell("eligible", "employment", "all", k.as_of): -1.0})
        for s in mine:
            if s.by == "area":
                ids.add({s: 1.0, keys.TargetCell("eligible", "employment", s.value, k.as_of): -1.0})


def _enrolment_identities(ids: _Identities, published: list) -> None:
    """Households enrolled = the previous quarter's + the new ones (the first: the new ones)."""
    enrolment = sorted(
        {k.quarter for k in published if isinstance(k, keys.EnrolmentCell)}, key=quarters.to_index
    )
    for previous, q in zip(enrolment, enrolment[1:], strict=False):
        ids.add(
            {
                keys.EnrolmentCell("households", q): 1.0,
                keys.EnrolmentCell("households", previous): -1.0,
                keys.EnrolmentCell("new_households", q): -1.0,
            }
        )
    if enrolment:
        first = enrolment[0]
        ids.add(
            {
                keys.EnrolmentCell("households", first): 1.0,
                keys.EnrolmentCell("new_households", first): -1.0,
            }
        )


def attack(published: dict, min_persons: int, last_result_report: str) -> Attack:
    """Try to recover every hidden count of the reports behind one ``disclosure.json``."""
    cells = published_cells(published)
    rows = reader_identities(cells, last_result_report)
    hidden = [k for k, c in cells.items() if c["hidden"]]
    result = Attack(identities=len(rows))
    if not hidden:
        return result
    a, rhs, slack = _system(cells, rows, hidden)
    # Counts are whole numbers, and so are amounts: every amount a report prints is whole
    # kroner (the ledger's entries are). A hidden cell whose value is whole is taken to be
    # a whole number: true of every amount, and of any other cell it only makes the
    # attacker stronger. With amounts continuous, HiGHS found no integer point in 100,000
    # nodes in the default build's largest group (308 hidden cells); with them whole,
    # each bound solves in about a second.
    integral = np.array(
        [1 if cells[k]["count"] or float(cells[k]["value"]).is_integer() else 0 for k in hidden]
    )
    # A hidden cell's range depends only on the cells linked to it by identities: each
    # group of linked cells is its own (much smaller) integer programme, the same bounds.
    for columns, members in _components(a, len(hidden)):
        sub = a[np.ix_(members, columns)]
        constraint = (
            LinearConstraint(sub, rhs[members] - slack[members], rhs[members] + slack[members])
            if len(members)
            else None
        )
        # Published counts and amounts are not negative.
        bounds = Bounds(np.zeros(len(columns)), np.full(len(columns), np.inf))
        for place, index in enumerate(columns):
            k = hidden[index]
            if cells[k]["count"]:
                _bound(
                    result,
                    k,
                    cells[k]["value"],
                    place,
                    constraint,
                    integral[columns],
                    bounds,
                    min_persons,
                )
    return result


def _system(
    cells: dict, rows: list[dict], hidden: list
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The identities as rows over the hidden cells: ``a``, the right-hand side and the slack.

    Each row is scaled to a largest coefficient of 1 (prices and counts in one row).
    """
    column = {k: i for i, k in enumerate(hidden)}
    a = np.zeros((len(rows), len(hidden)))
    rhs = np.zeros(len(rows))
    residual = np.zeros(len(rows))
    for r, terms in enumerate(rows):
        for k, w in terms.items():
            residual[r] += w * cells[k]["value"]
            if k in column:
                a[r, column[k]] += w
            else:
                rhs[r] -= w * cells[k]["value"]
    # An identity holds to within the rounding of the shown values (how far the true
    # values miss it, at most TOLERANCE of its largest term): exactly that is allowed.
    slack = np.abs(residual)
    row_scale = np.abs(a).max(axis=1, initial=0.0)
    row_scale[row_scale == 0] = 1.0
    a, rhs = a / row_scale[:, None], rhs / row_scale
    slack = np.maximum(slack / row_scale, SLACK_FLOOR)
    return a, rhs, slack


def _bound(
    result: Attack, k, value: float, place: int, constraint, integral, bounds, min_persons: int
) -> None:
    """The smallest and largest value of one hidden count, and what that says (into ``result``)."""
    objective = np.zeros(len(integral))
    objective[place] = 1.0
    low, low_failure, low_point = _solve(objective, constraint, integral, bounds)
    high, high_failure, high_point = _solve(-objective, constraint, integral, bounds)
    high = -high
    result.values[k] = value
    # The values known feasible: the true one, each bound found (attained, or
    # infinite when unbounded) and, where HiGHS stopped before a bound, the
    # solution it had then.
    points = [value]
    for bound, failure, point in ((low, low_failure, low_point), (high, high_failure, high_point)):
        if not failure:
            points.append(bound)
        elif point is not None:
            points.append(point[place])
    settled = settled_by_witnesses(value, points, min_persons)
    if low_failure or high_failure:
        # A bound not found: the cell is still not recovered when the values
        # known feasible show it (witnessed); else the attack is unsolved.
        result.ranges[k] = (min(points), max(points))
        if settled:
            result.witnessed.append(k)
        else:
            result.unsolved[k] = low_failure or high_failure
        return
    result.ranges[k] = (low, high)
    if not settled:
        result.recovered.append(k)


def _components(a: np.ndarray, n: int) -> list[tuple[list[int], list[int]]]:
    """The hidden cells (columns) linked by identities (rows), with their rows, in order."""
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for row in a:
        linked = np.nonzero(row)[0]
        for other in linked[1:]:
            parent[root(int(other))] = root(int(linked[0]))
    columns: dict[int, list[int]] = {}
    for i in range(n):
        columns.setdefault(root(i), []).append(i)
    rows: dict[int, list[int]] = {}
    for r, row in enumerate(a):
        linked = np.nonzero(row)[0]
        if len(linked):
            rows.setdefault(root(int(linked[0])), []).append(r)
    return [(cols, rows.get(key, [])) for key, cols in columns.items()]


def settled_by_witnesses(value: float, points: list[float], min_persons: int) -> bool:
    """Whether feasible values of a hidden count (its true ``value`` among them) show it is
    not recovered: they lie ``min_persons`` apart for a small count, apart at all for another.

    With both bounds as the points this is the attack's own rule (a count is recovered
    exactly when it is not settled)."""
    width = max(points) - min(points)
    small = 0 < value < min_persons
    return width >= TOLERANCE and (not small or width >= min_persons - TOLERANCE)


def _solve(objective, constraint, integral, bounds) -> tuple[float, str, np.ndarray | None]:
    """The minimum (-inf when unbounded), HiGHS's message when it found none ('' if it did),
    and the best solution HiGHS had when it stopped at a limit (None if none)."""
    solution = milp(
        objective,
        constraints=[constraint] if constraint is not None else [],
        integrality=integral,
        bounds=bounds,
        options={"time_limit": TIME_LIMIT, "node_limit": NODE_LIMIT},
    )
    if solution.status == 0:
        return float(solution.fun), "", None
    if solution.status == 3 or "unbounded" in solution.message.lower():
        return -np.inf, "", None  # unbounded: nothing learnt in that direction
    return -np.inf, solution.message, solution.x


def _latest_quarterly(quarterly_dir: Path) -> Path | None:
    found = sorted(
        (quarters.to_index(p.parent.name), p)
        for p in Path(quarterly_dir).glob("*/disclosure.json")
        if quarters.is_quarter(p.parent.name)
    )
    return found[-1][1] if found else None


def attack_folder(quarterly_dir: Path | str, min_persons: int, last_result_report: str) -> Attack:
    """Attack everything the quarterly reports in ``quarterly_dir`` published (the latest record)."""
    latest = _latest_quarterly(Path(quarterly_dir))
    if latest is None:
        raise FileNotFoundError(f"{quarterly_dir}: no disclosure.json to attack")
    published = json.loads(latest.read_text(encoding="utf-8"))
    return attack(published, min_persons, last_result_report)


def published_records(results_dir: Path | str) -> list[Path]:
    """The publication records of a build: the quarterly reports' latest, and each evaluation's."""
    results_dir = Path(results_dir)
    records = [p for p in [_latest_quarterly(results_dir / "quarterly")] if p is not None]
    for kind in EVALUATION_KINDS:
        records += sorted(
            p
            for p in (results_dir / kind).glob("*/disclosure.json")
            if quarters.is_quarter(p.parent.name)
        )
    return records


def merge_published(records: list[dict]) -> dict:
    """One record of several reports: a number any report showed is known, else it stays hidden."""
    merged: dict[tuple, dict] = {}
    for record in records:
        for key, value, shown, count, hidden in record["cells"]:
            key = keys.decode(key)
            cell = merged.setdefault(
                key, {"value": value, "shown": False, "count": False, "known": False}
            )
            if abs(cell["value"] - value) > TOLERANCE * max(1.0, abs(value)):
                raise ValueError(f"cell {key!r} published as {cell['value']} and as {value}")
            cell["shown"] |= bool(shown)
            cell["count"] |= bool(count)
            cell["known"] |= bool(shown) and not hidden
    return {
        "cells": [
            [key, c["value"], c["shown"], c["count"], c["shown"] and not c["known"]]
            for key, c in merged.items()
        ]
    }


def attack_build(results_dir: Path | str, min_persons: int, last_result_report: str) -> Attack:
    """Attack every report of a build together: the quarterly reports and the evaluations."""
    records = published_records(results_dir)
    if not records:
        raise FileNotFoundError(f"{results_dir}: no disclosure.json to attack")
    published = merge_published([json.loads(p.read_text(encoding="utf-8")) for p in records])
    return attack(published, min_persons, last_result_report)
