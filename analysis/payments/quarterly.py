"""Quarterly results as of a quarter: enrolment, data completeness, targets, payments.

:func:`compute` returns every table of the quarterly result report;
:func:`write_quarterly_results` writes them as tidy CSV files plus
``key_numbers.json`` (all atomically). Nothing here is unit-level: every table
is a count or an amount by target, area or period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import atomic, provenance, quarters
from analysis.config import TARGETS, Contract
from analysis.data import deliveries, engine
from analysis.data.asof import AsOfData
from analysis.data.validate import Extract, load_extract
from analysis.paths import CONTRACT_FILE
from analysis.payments import absence, investors, reconcile, settlement
from analysis.payments import ledger as ledger_module
from analysis.payments.forecast import forecast
from analysis.payments.payments import statement
from analysis.payments.periods import Period, reports_due, result_periods
from analysis.payments.stored import QuarterlyResults
from analysis.payments.targets import TargetResult, persons_in


def enrolment(data: AsOfData, contract: Contract) -> pd.DataFrame:
    """Enrolled households and persons by quarter, cumulative, against the target."""
    households = data["households"]
    enrolled = households.loc[households["g"].notna()]
    span = (
        quarters.span(contract.timeline.enrolment.start, data.as_of)
        if quarters.to_index(data.as_of) >= quarters.to_index(contract.timeline.enrolment.start)
        else []
    )
    persons = persons_in(data["persons"], enrolled[["household_id", "g"]])
    rows = []
    for quarter in span:
        t = quarters.to_index(quarter)
        rows.append(
            {
                "quarter": quarter,
                "new_households": int((enrolled["g"] == t).sum()),
                "households": int((enrolled["g"] <= t).sum()),
                "persons": int((persons["g"] <= t).sum()),
                "exited_households": int((enrolled["exit_t"] <= t).sum()),
                "target_households": contract.programme.enrolment_target_households,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "quarter",
            "new_households",
            "households",
            "persons",
            "exited_households",
            "target_households",
        ],
    )


def enrolment_by_area(data: AsOfData, contract: Contract) -> pd.DataFrame:
    """Enrolled households and persons per programme area."""
    enrolled = data["households"].loc[data["households"]["g"].notna()]
    persons = persons_in(data["persons"], enrolled[["household_id", "area"]])
    frame = pd.DataFrame({"area": contract.area_codes})
    frame["households"] = frame["area"].map(enrolled["area"].value_counts()).fillna(0).astype(int)
    frame["persons"] = frame["area"].map(persons["area"].value_counts()).fillna(0).astype(int)
    return frame


def completeness(data: AsOfData, contract: Contract) -> pd.DataFrame:
    """Per source: the latest quarter with data and the share of expected records present."""
    households = data["households"]
    enrolled = households.loc[households["g"].notna(), ["household_id"]]
    persons = persons_in(data["persons"], enrolled)
    register_t = quarters.to_index(data.register_until)
    age = register_t // 4 - persons["birth_year"]
    rows = []
    expected = {
        "benefits": persons.loc[age >= 18, "person_id"],
        "social_measures": persons["person_id"],
    }
    for source, ids in expected.items():
        frame = data[source]
        present = frame.loc[frame["t"] == register_t, "person_id"].isin(ids).sum()
        rows.append(
            {
                "source": source,
                "latest_quarter": data.register_until,
                "expected": len(ids),
                "present": int(present),
            }
        )
    pupils = data["school_absence"]
    pupil_ids = pupils.loc[pupils["person_id"].isin(persons["person_id"])]
    rows.append(
        {
            "source": "school_absence",
            "latest_quarter": data.register_until,
            "expected": int(pupil_ids.loc[pupil_ids["t"] == register_t - 1, "person_id"].nunique()),
            "present": int(pupil_ids.loc[pupil_ids["t"] == register_t, "person_id"].nunique()),
        }
    )
    survey = data["life_satisfaction"]
    rows.append(
        {
            "source": "life_satisfaction",
            "latest_quarter": data.as_of,
            "expected": len(survey),
            "present": int((survey["response"] == "answered").sum()),
        }
    )
    plans = data["action_plans"]
    rows.append(
        {
            "source": "action_plans",
            "latest_quarter": data.as_of,
            "expected": len(enrolled),
            "present": int(enrolled["household_id"].isin(plans["household_id"]).sum()),
        }
    )
    frame = pd.DataFrame(rows)
    frame["share"] = (frame["present"] / frame["expected"].where(frame["expected"] > 0)).round(6)
    return frame


def target_table(
    unit_results: dict[str, TargetResult], absence_now: dict, data: AsOfData, contract: Contract
) -> pd.DataFrame:
    """Per target and area: eligible units, new achievements this quarter and cumulative."""
    rows = []
    latest = {
        "employment": data.register_until,
        "social_measures": data.register_until,
        "life_satisfaction": data.as_of,
        "action_plan_goals": data.as_of,
    }
    for target, result in unit_results.items():
        latest_t = quarters.to_index(latest[target])
        achievements = result.achievements.merge(result.eligible[["unit_id", "area"]], on="unit_id")
        for area in contract.area_codes + ["all"]:
            eligible = (
                result.eligible
                if area == "all"
                else result.eligible.loc[result.eligible["area"] == area]
            )
            done = achievements if area == "all" else achievements.loc[achievements["area"] == area]
            rows.append(
                {
                    "target": target,
                    "area": area,
                    "eligible": int(eligible["unit_id"].nunique()),
                    "new_this_quarter": int((done["t"] == latest_t).sum()),
                    "cumulative": int(len(done)),
                    "units_achieved": int(done["unit_id"].nunique()),
                }
            )
    rows.append(
        {
            "target": "school_absence",
            "area": "all",
            "eligible": absence_now.get("pupils", 0),
            "new_this_quarter": 0,
            "cumulative": 0,
            "units_achieved": 0,
        }
    )
    return pd.DataFrame(rows)


def open_period(contract: Contract, cutoff: str) -> Period | None:
    """The result period that holds ``cutoff`` and whose report is not yet due."""
    t = quarters.to_index(cutoff)
    for period in result_periods(contract):
        if quarters.to_index(period.report) > t and period.first <= t:
            return period
    return None


def _absence_rate(payment_statement: pd.DataFrame, shown: list[Period], cutoff: str) -> float:
    """School-absence payment per year for the forecast: the latest settled period's amount per
    year of its length; before any settlement, the open period's amount so far per year elapsed."""
    rows = payment_statement.loc[payment_statement["target"] == "school_absence"]
    if rows.empty:
        return 0.0
    periods = {p.report: p for p in shown}
    final = rows.loc[rows["status"] == "final"]
    if len(final):
        row = final.iloc[-1]
        return float(row["amount"]) / periods[row["report"]].years
    row = rows.iloc[-1]
    period = periods[row["report"]]
    elapsed = (min(quarters.to_index(cutoff), period.last) - period.first + 1) / 4
    return float(row["amount"]) / elapsed if elapsed > 0 else 0.0


@dataclass
class _Basis:
    """What every table of a quarter's results starts from: the cut data, the targets'
    results and the ledger as of the cut-off, settled."""

    data: AsOfData
    unit_results: dict[str, TargetResult]
    due: list[Period]
    current: Period | None
    absence_fit: object
    absence_estimates: dict
    # The statements of the due and open periods as the data give them now.
    recomputed: pd.DataFrame
    settled: pd.DataFrame


def _basis(
    tables_in: dict,
    cutoff: str,
    contract: Contract,
    ledger: pd.DataFrame | None,
    made: ledger_module.Cut | None = None,
) -> _Basis:
    """Cut the data, apply the target rules and settle what is due by ``cutoff`` (see :func:`compute`).

    ``made``: the cut of these tables as of ``cutoff`` when the settlement already made it.
    """
    if made is None or made.tables is not tables_in:
        made = ledger_module.cut(tables_in, cutoff, contract)
    data, unit_results, absence_fit = made.data, made.unit_results, made.absence_fit
    del made
    due = reports_due(contract, cutoff)
    current = open_period(contract, cutoff)
    shown = due + ([current] if current else [])
    absence_estimates = absence.absence_estimates(data, shown, absence_fit)
    recomputed = statement(unit_results, absence_estimates, shown, contract)
    statements = {}
    if cutoff in contract.timeline.result_reports:
        statements[cutoff] = recomputed.loc[recomputed["report"].isin([p.report for p in due])]
    settled = ledger_module.build(
        tables_in,
        cutoff,
        contract,
        ledger,
        statements,
        complete_until=quarters.to_index(data.register_until),
    )
    return _Basis(
        data, unit_results, due, current, absence_fit, absence_estimates, recomputed, settled
    )


def _payment_tables(basis: _Basis) -> dict[str, pd.DataFrame]:
    """The settlement entries, the statement (settled rows final, the open period's
    provisional) and the adjustments, from the ledger and the recomputed statements."""
    settled, current = basis.settled, basis.current
    entries = settled.loc[settled["kind"] == "settlement"]
    final_rows = entries.assign(status="final")[[*ledger_module.STATEMENT_COLUMNS, "status"]]
    provisional = basis.recomputed.loc[
        basis.recomputed["report"] == (current.report if current else "")
    ].assign(status="provisional")
    payment_statement = pd.concat(
        [final_rows, provisional[final_rows.columns]], ignore_index=True
    ).astype({"units": int})
    adjustments = settled.loc[
        settled["kind"] == "adjustment",
        [
            "report",
            "corrects",
            "target",
            "units",
            "achievements",
            "unit_price",
            "amount",
            "paid",
            "reason",
        ],
    ].reset_index(drop=True)
    adjustments.insert(1, "corrects_report", adjustments["corrects"].str.split(":").str[0])
    return {
        "entries": entries,
        "provisional": provisional,
        "payment_statement": payment_statement,
        "adjustments": adjustments,
    }


def compute(
    extract: Extract | dict,
    cutoff: str,
    contract: Contract,
    ledger: pd.DataFrame | None = None,
    made: ledger_module.Cut | None = None,
) -> QuarterlyResults:
    """All quarterly results as of ``cutoff``.

    ``ledger`` is the settlement ledger carried forward (from the quarter before);
    result reports due by ``cutoff`` that it lacks are settled here
    (:func:`analysis.payments.ledger.build`). Without it, the ledger is built from
    the extract. Settled periods come from the ledger, never recomputed; only the
    open period's statement is computed (provisional). ``made``: the cut of the same
    tables as of ``cutoff`` (:func:`analysis.payments.ledger.cut`) when the settlement
    of ``cutoff``'s own report made it (used only when it is of these very tables).
    """
    tables_in = extract.tables if isinstance(extract, Extract) else extract
    basis = _basis(tables_in, cutoff, contract, ledger, made)
    del made
    data, unit_results, settled = basis.data, basis.unit_results, basis.settled
    due, current, absence_estimates = basis.due, basis.current, basis.absence_estimates
    money = _payment_tables(basis)
    entries, provisional, adjustments = (
        money["entries"],
        money["provisional"],
        money["adjustments"],
    )
    capped = ledger_module.by_report(settled, cutoff)
    absence_rows = pd.DataFrame(
        [{"report": k, **v} for k, v in absence_estimates.items()],
        columns=["report", "att", "se", "ci_low", "ci_high", "pupils", "pupil_years", "quarters"],
    )
    enrol = enrolment(data, contract)
    # Simulated futures of the result reports not yet settled, through the ledger's
    # caps: the median future's schedule is the investors' projected repayments.
    projection = forecast(data, unit_results, basis.absence_fit, settled, contract)
    table = projection.table.set_index("scenario")
    base = table.loc["base"]
    final = ledger_module.final_settled(settled, contract, cutoff)
    projected = {name: float(base[name]) for name in ("median", "low", "high")}
    positions, flows = investors.positions(
        contract, settled, cutoff, projected, final=final, schedule=projection.schedule
    )
    targets = target_table(
        unit_results,
        absence_estimates.get(current.report if current else (due[-1].report if due else ""), {}),
        data,
        contract,
    )
    tables = {
        "enrolment": enrol,
        "enrolment_by_area": enrolment_by_area(data, contract),
        "completeness": completeness(data, contract),
        "targets": targets,
        "absence_estimates": absence_rows,
        "payment_statement": money["payment_statement"],
        "adjustments": adjustments,
        "payments_capped": capped,
        "ledger": settled,
        "investors": positions,
        "cash_flows": flows,
        "forecast": projection.table,
        "forecast_quarters": projection.quarters,
        "nonresponse": pd.DataFrame(
            [
                {"wave": k, "nonresponse": v}
                for k, v in unit_results["life_satisfaction"].extra["nonresponse_by_wave"].items()
            ],
            columns=["wave", "nonresponse"],
        ),
    }
    key_numbers = _key_numbers(
        cutoff, contract, data, tables, entries, provisional, projection, projected, final
    )
    reconcile.check_tables(tables, key_numbers, contract)
    return QuarterlyResults(cutoff, data.register_until, tables, key_numbers)


def _key_numbers(
    cutoff, contract, data, tables, entries, provisional, projection, projected, final
) -> dict:
    """The summary numbers of a quarter's results (``key_numbers.json``), from its tables."""
    enrol, targets, settled = tables["enrolment"], tables["targets"], tables["ledger"]
    adjustments, positions = tables["adjustments"], tables["investors"]
    table = projection.table.set_index("scenario")
    base, earned = table.loc["base"], table.loc["earned"]
    settled_total = ledger_module.settled_total(settled)
    paid = ledger_module.paid_to_date(settled, cutoff)
    return {
        "as_of": cutoff,
        "register_until": data.register_until,
        "enrolled_households": int(enrol["households"].iloc[-1]) if len(enrol) else 0,
        "enrolled_persons": int(enrol["persons"].iloc[-1]) if len(enrol) else 0,
        "target_households": contract.programme.enrolment_target_households,
        "achievements_cumulative": {
            t: int(
                targets.loc[
                    (targets["target"] == t) & (targets["area"] == "all"), "cumulative"
                ].sum()
            )
            for t in TARGETS
        },
        "payments_due_total": round(float(entries["amount"].sum()), 2),
        "payments_provisional_total": round(float(provisional["amount"].sum()), 2),
        "payments_paid_total": paid,
        "payments_settled_total": settled_total,
        "payments_awaiting": round(settled_total - paid, 2),
        # What the caps keep back from the settled reports (shown, never paid); 0.0 - x: no -0.
        "payments_withheld_total": 0.0
        - round(float(settled.loc[settled["kind"] == "cap", "paid"].sum()), 2),
        "adjustments_total": round(float(adjustments["amount"].sum()), 2),
        "adjustments_paid_total": round(float(adjustments["paid"].sum()), 2),
        "invested_to_date": round(float(positions["invested"].sum()), 2),
        "projected_paid_median": projected["median"],
        "projected_paid_low": projected["low"],
        "projected_paid_high": projected["high"],
        "final_settlement_paid": final,
        "forecast_median": round(float(base["median"]), 2),
        "projected_earned_median": float(earned["median"]),
        "projected_earned_low": float(earned["low"]),
        "projected_earned_high": float(earned["high"]),
        "projected_withheld_median": float(base["withheld_median"]),
        **projection.key,
        "is_result_report_quarter": cutoff in contract.timeline.result_reports,
    }


def _settle_into_record(
    data_dir: Path, cutoff: str, contract: Contract, record: Path, current: tuple
) -> tuple[pd.DataFrame, set, ledger_module.Cut | None]:
    """Settle what is due by ``cutoff`` into the settlement record.

    Returns the ledger as of ``cutoff`` (an export), the kinds of data in the record,
    and the cut of ``cutoff``'s tables when its own report was settled here (else None).
    ``data_dir`` is what ``--data`` named (one extract, or a folder of deliveries);
    ``current`` is the delivery of ``cutoff`` already loaded (its folder, extract and
    tables), so that only an earlier report's delivery is loaded again.
    """
    loaded: dict[Path, tuple] = {current[0]: current[1:]}
    keep: dict[str, ledger_module.Cut] = {}

    def delivery(quarter: str) -> tuple:
        folder = deliveries.for_quarter(data_dir, quarter)
        if folder not in loaded:
            extract = load_extract(folder, contract, out_of_core=True)
            loaded[folder] = (extract, engine.quarterly_tables(extract, contract))
        return folder, *loaded[folder]

    def label_for(quarter: str) -> str:
        folder, extract, _ = delivery(quarter)
        return deliveries.label(folder, extract.checksums)

    def kind_for(quarter: str) -> str:
        folder, extract, _ = delivery(quarter)
        return provenance.extract_kind(folder, extract.manifest)

    with settlement.open_record(record) as store, store.settling():
        settlement.settle(
            store,
            cutoff,
            contract,
            lambda quarter: delivery(quarter)[2],
            label_for=label_for,
            kind_for=kind_for,
            keep=keep,
        )
        return settlement.export(store, cutoff), store.kinds(), keep.get(cutoff)


def write_quarterly_results(
    data_dir: Path,
    cutoff: str,
    out: Path,
    contract: Contract,
    publish: Callable[[Path], object] | None = None,
    record: Path | None = None,
    quarterly_dir: Path | None = None,
) -> Path:
    """Validate the extract, settle what is due, compute the results as of ``cutoff``, write them.

    ``data_dir`` is one extract or a folder of deliveries (the delivery of ``cutoff``
    is used: :func:`analysis.data.deliveries.for_quarter`). The result reports due by
    ``cutoff`` are settled into the settlement record ``record``
    (:mod:`analysis.payments.settlement`), once; the ledger as of ``cutoff`` is read
    from it and written as ``ledger.csv`` (an export: every entry with its delivery
    and hash).

    Whole or nothing: the folder is written as a temporary sibling and swapped in
    by one rename, so a kill leaves the previous folder or the new one. ``publish``
    writes more into the temporary folder (what the report publishes); the
    completion marker :data:`analysis.provenance.MARKER` is written last, with the
    kind of data the results come from: real if the extract, any earlier results
    folder beside ``out`` (or in ``quarterly_dir``, for results kept apart from the
    quarterly folders) or any entry of the settlement record is.
    """
    folder_in = deliveries.for_quarter(data_dir, cutoff)
    record = Path(record) if record else settlement.default_path(data_dir, _contract_file())
    # The register tables stay on disk; only the rows the results read are loaded.
    extract = load_extract(folder_in, contract, out_of_core=True)
    tables = engine.quarterly_tables(extract, contract)
    exported, record_kinds, made = _settle_into_record(
        Path(data_dir), cutoff, contract, record, (folder_in, extract, tables)
    )
    ledger = ledger_module.normalise(exported)
    # The settlement of ``cutoff``'s own report (a result report quarter, on the first
    # run) cut the data as of ``cutoff`` and fitted the absence estimate: reused, not
    # made again (at a pool of a million persons, seconds of the step).
    results = compute(tables, cutoff, contract, ledger, made)
    del made
    kind, used = provenance.results_kinds(folder_in, out, cutoff, extract.manifest)
    if quarterly_dir is not None:
        # Results kept apart from the quarterly folders (an evaluation's cut-off,
        # ``<results>/payments/<quarter>``) start from those folders all the same.
        used = provenance.earlier_kinds(quarterly_dir, cutoff)
        kind = provenance.combined(kind, *used.values())
    kind = provenance.combined(kind, *record_kinds)
    with atomic.atomic_folder(out) as folder:
        for name, frame in results.tables.items():
            if name == "ledger":
                atomic.write_csv(folder / ledger_module.FILE, exported)
            else:
                atomic.write_csv(folder / f"{name}.csv", frame)
        atomic.write_json(
            folder / "key_numbers.json",
            {
                **results.key_numbers,
                "inputs": extract.checksums,
                "delivery": deliveries.label(folder_in, extract.checksums),
            },
        )
        if publish is not None:
            publish(folder)
        provenance.record(folder, kind, extract.checksums, used)
    return out


def _contract_file() -> Path:
    return CONTRACT_FILE


def write_ledger(
    data_dir: Path,
    cutoff: str,
    quarterly_dir: Path,
    out: Path,
    contract: Contract,
    record: Path | None = None,
) -> pd.DataFrame:
    """The ledger as of ``cutoff`` (e.g. an evaluation's), exported from the settlement record
    after the result reports due by then are settled (each from its own quarter's delivery)."""
    folder_in = deliveries.for_quarter(data_dir, cutoff)
    record = Path(record) if record else settlement.default_path(data_dir, _contract_file())
    extract = load_extract(folder_in, contract, out_of_core=True)
    tables = engine.quarterly_tables(extract, contract)
    exported, _, _ = _settle_into_record(
        Path(data_dir), cutoff, contract, record, (folder_in, extract, tables)
    )
    atomic.write_csv(out, exported)
    return ledger_module.normalise(exported)
