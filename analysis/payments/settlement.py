"""The quarterly settlement cycle: settle what is due into the settlement record, once.

A quarter's step (``python -m analysis quarterly`` / ``ledger``) opens the settlement
record (:mod:`analysis.payments.store`) and holds it while it settles: every result
report due by its quarter that the record lacks is settled from the delivery of that
report's own quarter (:func:`analysis.data.deliveries.for_quarter`), with the
adjustments of earlier settled periods that this delivery revises, and the caps
(:func:`analysis.payments.ledger.settle`). A report already in the record is never
settled again: its settlement, payment quarter and paid amount are read from the
record, whatever the build's data. A period is settled only when the delivery's
register data reach its last quarter; and a delivery older than one the record has
already used is refused.

Where the record lives (:func:`default_path`): ``LEDGER`` / ``--ledger`` when given;
for the synthetic demo ``data/settlement/synthetic-<digest>.sqlite``, one record per
set of generated files (so per generator configuration, seed and version) and contract (so another configuration starts its
own and ``make clean && make report`` stays reproducible); for real data
``data/settlement/settlement.sqlite``. ``make clean`` leaves ``data/settlement/``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from analysis import quarters
from analysis.config import Contract
from analysis.data import deliveries
from analysis.data.asof import as_of
from analysis.data.validate import isin
from analysis.paths import DATA_DIR
from analysis.payments import ledger as ledger_module
from analysis.payments.periods import reports_due, result_periods
from analysis.payments.store import SettlementRecordError, SettlementStore, export_columns
from analysis.provenance import SYNTHETIC, extract_kind

SETTLEMENT_DIR = DATA_DIR / "settlement"
REAL_NAME = "settlement.sqlite"
# Another folder for the default records (the test suite gives each test its own).
FOLDER_VARIABLE = "ANALYSIS_SETTLEMENT_DIR"


def settlement_dir() -> Path:
    """The folder of the default settlement records: ``data/settlement`` (or ``$ANALYSIS_SETTLEMENT_DIR``)."""
    return Path(os.environ.get(FOLDER_VARIABLE) or SETTLEMENT_DIR)


def _synthetic_identity(data: Path) -> dict | None:
    """The generator's seed and parameters when ``data`` is the generator's output, else None."""
    manifest_file = data / "manifest.json"
    if not manifest_file.is_file():
        return None
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except ValueError:
        return None
    if manifest.get("synthetic") is not True:
        return None
    found = deliveries.deliveries(data)
    folders = [folder for _, folder in found] if found else [data]
    if any(extract_kind(folder) != SYNTHETIC for folder in folders):
        return None
    # The generator's files themselves: another configuration, seed or generator
    # version gives other files, and so a record of its own.
    signed = {}
    for folder in folders:
        content = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        signed[folder.name if found else ""] = content.get("files", {})
    return {"seed": manifest.get("seed"), "files": signed}


def default_path(data: Path | str, contract_file: Path | str) -> Path:
    """Where the settlement record of these data and this contract is kept by default."""
    identity = _synthetic_identity(Path(data))
    if identity is None:
        return settlement_dir() / REAL_NAME
    digest = hashlib.sha256(
        json.dumps(identity, sort_keys=True).encode() + Path(contract_file).read_bytes()
    ).hexdigest()[:16]
    return settlement_dir() / f"synthetic-{digest}.sqlite"


def record_path(given: str | None, data: Path | str, contract_file: Path | str) -> Path:
    """``--ledger`` when given, else :func:`default_path`."""
    return Path(given) if given else default_path(data, contract_file)


def ledger_as_of(store: SettlementStore, quarter: str) -> pd.DataFrame:
    """The ledger as it stood at ``quarter``: the entries of result reports up to it."""
    return store.ledger_until(quarters.to_index, quarters.to_index(quarter))


def export(store: SettlementStore, quarter: str) -> pd.DataFrame:
    """The ledger as of ``quarter`` with each entry's delivery, kind of data and hash (a CSV export)."""
    frame = store.entries(with_chain=True)
    if len(frame):
        frame = frame.loc[frame["report"].map(quarters.to_index) <= quarters.to_index(quarter)]
    return frame[export_columns()].reset_index(drop=True)


def _check_delivery(store: SettlementStore, label: str) -> None:
    """Refuse a delivery older than one the record has already used."""
    mine = deliveries.label_quarter(label)
    if mine is None:
        return
    for used in store.deliveries_used():
        theirs = deliveries.label_quarter(used)
        if theirs is not None and theirs > mine:
            raise SettlementRecordError(
                f"delivery {label.split('@')[0]} is older than delivery {used.split('@')[0]}, "
                f"which the settlement record {store.path} has already used: settle from the "
                "latest delivery"
            )


def settle(
    store: SettlementStore,
    cutoff: str,
    contract: Contract,
    tables_for,
    *,
    label_for,
    kind_for,
    keep: dict | None = None,
) -> pd.DataFrame:
    """Settle into ``store`` every result report due by ``cutoff`` that it lacks (inside
    :meth:`SettlementStore.settling`); return the ledger as of ``cutoff``.

    ``tables_for(quarter)`` gives the extract's tables as delivered at a report's
    quarter (:func:`analysis.data.engine.quarterly_tables`), ``label_for(quarter)``
    and ``kind_for(quarter)`` that delivery's label and kind of data. Each report is
    settled with its own quarter's delivery, in order; a period whose data do not
    yet reach its last quarter is left for a later delivery, and so is every later one.
    ``keep``: receives the cut of ``cutoff`` (:class:`analysis.payments.ledger.Cut`)
    when ``cutoff``'s own report is settled here, for the quarter's results to start from.
    """
    ledger = ledger_as_of(store, cutoff)
    settled = set(ledger["report"])
    later = store.entries()
    later = later.loc[~later["report"].isin(settled)]
    for period in reports_due(contract, cutoff):
        if period.report in settled:
            continue
        if len(later):
            raise SettlementRecordError(
                f"result report {period.report} is not in the settlement record {store.path}, "
                f"but the later {later['report'].iloc[0]} is: the record cannot be completed "
                "out of order"
            )
        label = label_for(period.report)
        _check_delivery(store, label)
        tables = tables_for(period.report)
        # Only the register's reach is kept: a cut held through the settlement below
        # would be a second copy of every table beside the one it makes (at a pool of
        # 5 million persons, about a GiB of pupil-quarters and persons).
        register_until = as_of(tables, period.report, contract).register_until
        if quarters.to_index(register_until) < period.last:
            # The data of the period are not complete yet: no settlement on part of them.
            break
        # Only the last report's cut is kept (the others would be held through the
        # settlements after them); it is the one the quarter's results need.
        mine = keep if period.report == cutoff else None
        after = ledger_module.build(tables, period.report, contract, ledger, keep=mine)
        new = after.iloc[len(ledger) :].copy()
        new = _with_sources(new, store, tables, tables_for, contract)
        store.append(new, label, kind_for(period.report))
        ledger = after
        settled.add(period.report)
    return ledger_as_of(store, cutoff)


REVISED_TABLES = {
    "benefits": "quarter",
    "social_measures": "quarter",
    "school_absence": "quarter",
    "life_satisfaction": "quarter",
    "action_plans": "review_quarter",
}


def revised_tables(before: dict, after: dict, first: int, last: int) -> list[str]:
    """The tables whose rows for quarters ``first``..``last`` differ between two deliveries
    (households: whose enrolment or exit differs).

    One delivery's tables (the same object, as :func:`settle` is given them when the
    reports of several quarters are settled from one extract) revise nothing.
    """
    if before is after:
        return []
    changed = []
    # Only who was in the earlier delivery: households enrolled since are not a revision.
    # Selected by Arrow's hash lookup (analysis.data.validate.isin): pandas' isin on a
    # column of Arrow strings makes every id a Python object (minutes at national size).
    known = {
        "person_id": before["persons"]["person_id"],
        "household_id": before["households"]["household_id"],
    }
    for name, column in REVISED_TABLES.items():
        parts = []
        for tables in (before, after):
            frame = tables[name]
            ids = "person_id" if "person_id" in frame.columns else "household_id"
            t = quarters.series_to_index(frame[column])
            keep = (t >= first) & (t <= last) & isin(frame[ids], known[ids])
            part = frame.loc[keep.to_numpy()]
            keys = [c for c in part.columns if c not in ("t", "g", "exit_t", "set_t")]
            part = part[keys].astype(str).sort_values(keys).reset_index(drop=True)
            parts.append(part)
        if not parts[0].equals(parts[1]):
            changed.append(name)
    columns = ["household_id", "enrolment_quarter", "exit_quarter"]
    households = []
    for tables in (before, after):
        frame = tables["households"]
        frame = frame.loc[isin(frame["household_id"], known["household_id"]), columns].copy()
        # An exit after the period is no revision of it.
        exits = quarters.series_to_index(frame["exit_quarter"])
        frame["exit_quarter"] = frame["exit_quarter"].where((exits <= last).to_numpy(), None)
        households.append(frame.astype(str).sort_values(columns).reset_index(drop=True))
    if not households[0].equals(households[1]):
        changed.append("households")
    return changed


def _with_sources(new: pd.DataFrame, store, tables: dict, tables_for, contract) -> pd.DataFrame:
    """Adjustment entries with the tables the delivery revised: ``revised_data:<table>,…``."""
    periods = {p.report: p for p in result_periods(contract)}
    for index, row in new.loc[new["kind"] == "adjustment"].iterrows():
        corrected = row["corrects"].split(":")[0]
        period = periods[corrected]
        changed = revised_tables(tables_for(corrected), tables, period.first, period.last)
        if changed:
            new.loc[index, "reason"] = f"revised_data:{','.join(changed)}"
    return new


def open_record(path: Path | str) -> SettlementStore:
    """Open (creating if needed) and verify a settlement record."""
    return SettlementStore(path)


def reset_demo(path: Path | str) -> bool:
    """Delete a synthetic demo's settlement record; refuse one holding anything real."""
    path = Path(path)
    if not path.exists():
        return False
    with SettlementStore(path, create=False) as store:
        kinds = store.kinds()
    if "real" in kinds or not path.name.startswith("synthetic-"):
        raise SettlementRecordError(
            f"{path} holds settlements of real data: it is a record of money paid and is "
            "never reset (move it away by hand if it really must go)"
        )
    path.unlink()
    return True
