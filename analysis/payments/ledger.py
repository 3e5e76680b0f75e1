"""The settlement ledger: each result report's statement as settled, frozen, and its corrections.

A result report settles its statement with the data that exist as of its quarter:
one ``settlement`` entry per target. The ledger is append-only: later reports
read it and never recompute a settled period. When later data change a settled
amount, the next result report appends an ``adjustment`` entry (the change in
units, achievements and amount, the reason, and the entry it ``corrects``); the
contract's ``settlement.pay_adjustments`` says whether it is paid (default: shown,
not paid). The caps apply to what each result report pays, as ``cap`` entries
that withhold the excess (shown, not paid).

Every total a report prints comes from here: paid to date is the sum of ``paid``
over the entries whose payment quarter has come (:func:`paid_to_date`).

The ledger is a CSV file a reviewer can read: each quarterly results folder holds
the ledger as it stood at that quarter (``ledger.csv``), carried forward from the
quarter before, and ``<results>/ledger/<quarter>.csv`` holds it at each
evaluation's cut-off (:func:`carry_forward`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import atomic, quarters
from analysis.config import Contract
from analysis.data.asof import AsOfData, as_of
from analysis.payments import absence
from analysis.payments.investors import return_cap_room
from analysis.payments.payments import statement
from analysis.payments.periods import Period, reports_due, result_periods
from analysis.payments.targets import UNIT_TARGETS

COLUMNS = [
    "entry",
    "report",
    "payment_quarter",
    "kind",
    "target",
    "corrects",
    "period",
    "units",
    "achievements",
    "unit_price",
    "amount",
    "paid",
    "reason",
]
FILE = "ledger.csv"
# A settled statement row as the payment tables show it (a settlement entry's columns).
STATEMENT_COLUMNS = [
    "report",
    "period",
    "payment_quarter",
    "target",
    "units",
    "achievements",
    "unit_price",
    "amount",
]
# Amounts are DKK to the øre; smaller differences are float noise.
CENT = 0.005


class LedgerError(RuntimeError):
    """The ledger would be rewritten, settled twice or out of order."""


def empty() -> pd.DataFrame:
    """A ledger without entries."""
    return normalise(pd.DataFrame(columns=COLUMNS))


def normalise(ledger: pd.DataFrame) -> pd.DataFrame:
    """Fixed column order and types, so a ledger read back equals the one written."""
    out = ledger[COLUMNS].copy()
    for column in ("entry", "report", "payment_quarter", "kind", "target", "corrects", "period"):
        out[column] = out[column].fillna("").astype(str)
    out["reason"] = out["reason"].fillna("").astype(str)
    out["units"] = out["units"].astype("int64")
    for column in ("achievements", "unit_price", "amount", "paid"):
        out[column] = out[column].astype(float)
    out["achievements"] = out["achievements"].round(6)
    out["amount"] = out["amount"].round(2)
    out["paid"] = out["paid"].round(2)
    return out.reset_index(drop=True)


def read(path: Path | str) -> pd.DataFrame:
    """Read a ledger file."""
    frame = pd.read_csv(path, keep_default_na=False, dtype={c: str for c in COLUMNS[:7]})
    return normalise(frame)


def write(path: Path | str, ledger: pd.DataFrame, before: pd.DataFrame | None = None) -> None:
    """Write the ledger; with ``before``, refuse unless it only appends to it."""
    if before is not None:
        check_append_only(before, ledger)
    atomic.write_csv(path, normalise(ledger))


def check_append_only(before: pd.DataFrame, after: pd.DataFrame) -> None:
    """Fail unless ``after`` starts with every entry of ``before``, unchanged."""
    before, after = normalise(before), normalise(after)
    head = after.iloc[: len(before)].reset_index(drop=True)
    if len(after) < len(before) or not head.equals(before):
        changed = [
            entry
            for entry in before["entry"]
            if entry not in set(head["entry"])
            or not head.loc[head["entry"] == entry]
            .reset_index(drop=True)
            .equals(before.loc[before["entry"] == entry].reset_index(drop=True))
        ]
        raise LedgerError(
            "the settlement ledger is append-only, but entries settled earlier would change: "
            + ", ".join(changed[:5])
            + (" …" if len(changed) > 5 else "")
        )


@dataclass
class Cut:
    """What a statement as of a quarter is computed from: the data as of it, the unit
    targets' results and the absence fit (:func:`cut`), with the tables they were cut from.

    The quarter's results (:func:`analysis.payments.quarterly.compute`) start from the
    same three; a cut the settlement made for the results' own quarter is handed on
    (``keep`` of :func:`build`) instead of being made a second time.
    """

    tables: dict[str, pd.DataFrame]
    data: AsOfData
    unit_results: dict
    absence_fit: object


def cut(tables: dict[str, pd.DataFrame], cutoff: str, contract: Contract) -> Cut:
    """The data as of ``cutoff``, the unit targets' results and the absence fit on them."""
    data = as_of(tables, cutoff, contract)
    unit_results = {name: rule(data, contract) for name, rule in UNIT_TARGETS.items()}
    return Cut(tables, data, unit_results, absence.fit(data))


def recompute(
    tables: dict[str, pd.DataFrame],
    cutoff: str,
    contract: Contract,
    keep: dict[str, Cut] | None = None,
) -> pd.DataFrame:
    """The statement of every result report due by ``cutoff``, from the data as of ``cutoff``.

    ``keep``: a dict that receives the cut (``keep[cutoff]``), for a caller that goes
    on from the same data as of ``cutoff``.
    """
    made = cut(tables, cutoff, contract)
    due = reports_due(contract, cutoff)
    estimates = absence.absence_estimates(made.data, due, made.absence_fit)
    if keep is not None:
        keep[cutoff] = made
    return statement(made.unit_results, estimates, due, contract)


def standing(ledger: pd.DataFrame) -> pd.DataFrame:
    """Each settlement entry with its adjustments added: units, achievements and amount now."""
    settled = ledger.loc[ledger["kind"] == "settlement"].set_index("entry")
    changes = (
        ledger.loc[ledger["kind"] == "adjustment"]
        .groupby("corrects")[["units", "achievements", "amount"]]
        .sum()
    )
    out = settled[["report", "target", "units", "achievements", "amount"]].copy()
    out[["units", "achievements", "amount"]] = out[["units", "achievements", "amount"]].add(
        changes.reindex(out.index).fillna(0)
    )
    return out


def settle(
    ledger: pd.DataFrame, current: pd.DataFrame, period: Period, contract: Contract
) -> pd.DataFrame:
    """Append the settlement of ``period``'s result report, its adjustments and caps.

    ``current`` is the statement of every result report up to this one, computed
    with the data as of this report's quarter (:func:`recompute`). Rows of earlier
    reports that differ from the ledger (settled amount plus earlier adjustments)
    by at least ``settlement.adjustment_threshold`` become adjustment entries.
    """
    report = period.report
    if (ledger["report"] == report).any():
        raise LedgerError(f"result report {report} is already settled in the ledger")
    later = [r for r in ledger["report"] if quarters.label_index(r) > quarters.to_index(report)]
    if later:
        raise LedgerError(f"result report {report} comes before {later[0]}, already settled")
    rows = []
    for row in current.loc[current["report"] == report].itertuples(index=False):
        rows.append(
            {
                "entry": f"{report}:{row.target}",
                "report": report,
                "payment_quarter": period.payment_quarter,
                "kind": "settlement",
                "target": row.target,
                "corrects": "",
                "period": row.period,
                "units": int(row.units),
                "achievements": row.achievements,
                "unit_price": row.unit_price,
                "amount": row.amount,
                "paid": row.amount,
                "reason": "settled",
            }
        )
    now = standing(ledger)
    threshold = max(CENT, contract.settlement.adjustment_threshold)
    for row in current.loc[current["report"] != report].itertuples(index=False):
        corrected = f"{row.report}:{row.target}"
        if corrected not in now.index:
            raise LedgerError(
                f"result report {row.report} is due before {report} but not settled in the ledger"
            )
        before = now.loc[corrected]
        change = round(row.amount - before["amount"], 2)
        if abs(change) < threshold:
            continue
        rows.append(
            {
                "entry": f"{report}:adjustment:{corrected}",
                "report": report,
                "payment_quarter": period.payment_quarter,
                "kind": "adjustment",
                "target": row.target,
                "corrects": corrected,
                "period": row.period,
                "units": int(row.units - before["units"]),
                "achievements": row.achievements - before["achievements"],
                "unit_price": row.unit_price,
                "amount": change,
                "paid": change if contract.settlement.pay_adjustments else 0.0,
                "reason": "revised_data",
            }
        )
    rows += _caps(ledger, rows, period, contract)
    new = pd.DataFrame(rows, columns=COLUMNS) if rows else empty()
    return normalise(pd.concat([ledger, new], ignore_index=True) if len(ledger) else new)


def _caps(ledger: pd.DataFrame, rows: list[dict], period: Period, contract: Contract) -> list:
    """Entries withholding what this report would pay beyond the total and the return cap.

    The return cap (:func:`analysis.payments.investors.return_cap_room`) keeps
    the investors' return at or below ``investor_annual_return`` (all investors
    together).
    """
    payable = sum(row["paid"] for row in rows)
    pay_t = quarters.to_index(period.payment_quarter)
    paid = ledger.groupby("payment_quarter")["paid"].sum()
    room = return_cap_room(contract, {quarters.label_index(q): a for q, a in paid.items()}, pay_t)
    by_total, by_return = cap_withheld(payable, float(ledger["paid"].sum()), room, contract)
    out = []
    for name, withheld in (("total_cap", float(by_total)), ("return_cap", float(by_return))):
        # Whole kroner like the statement (payments.statement), rounded up so that
        # what is paid stays within the cap.
        withheld = float(math.ceil(round(withheld, 2)))
        if withheld > CENT:
            out.append(
                {
                    "entry": f"{period.report}:cap:{name}",
                    "report": period.report,
                    "payment_quarter": period.payment_quarter,
                    "kind": "cap",
                    "target": "",
                    "corrects": "",
                    "period": period.label,
                    "units": 0,
                    "achievements": 0.0,
                    "unit_price": 0.0,
                    "amount": -round(withheld, 2),
                    "paid": -round(withheld, 2),
                    "reason": name,
                }
            )
    return out


def cap_withheld(payable, paid_before, return_room, contract: Contract):
    """What the total cap and the return cap withhold of what a result report would pay.

    ``payable`` is the report's settlement and paid adjustments, ``paid_before``
    what the ledger paid before it and ``return_room`` what the return cap still
    allows at its payment quarter
    (:func:`analysis.payments.investors.return_cap_room`). The total cap comes
    first: with :math:`C` the total cap, :math:`P` what was paid before and
    :math:`R` the return cap's room,

    .. math:: a = \\min(x, \\max(0, C - P)), \\qquad b = \\min(a, \\max(0, R)),

    and the caps withhold :math:`x - a` and :math:`a - b`. Scalars or NumPy arrays
    (one value per simulated future, :mod:`analysis.payments.forecast`): the
    ledger and the forecast apply the caps with this one function.
    """
    room_total = np.maximum(0.0, contract.caps.total_outcome_payments - np.asarray(paid_before))
    after_total = np.minimum(payable, room_total)
    after_return = np.minimum(after_total, np.maximum(0.0, return_room))
    return payable - after_total, after_total - after_return


def build(
    tables: dict[str, pd.DataFrame],
    until: str,
    contract: Contract,
    ledger: pd.DataFrame | None = None,
    statements: dict[str, pd.DataFrame] | None = None,
    complete_until: int | None = None,
    keep: dict[str, Cut] | None = None,
) -> pd.DataFrame:
    """``ledger`` (empty if None) with every result report due by ``until`` settled.

    Reports already in the ledger are left as they are; each missing one is
    settled in order with the data as of its own quarter (``statements`` may hold
    the statement already computed for a report quarter). ``complete_until``: the
    last quarter (index) the register data reach; a period ending after it is not
    settled yet, nor any after it. ``keep``: receives the cut of ``until`` when
    ``until``'s own report is settled here (:func:`recompute`).
    """
    out = empty() if ledger is None else normalise(ledger)
    settled = set(out["report"])
    for period in reports_due(contract, until):
        if period.report in settled:
            continue
        if complete_until is not None and period.last > complete_until:
            break
        current = (statements or {}).get(period.report)
        if current is None:
            mine = keep if period.report == until else None
            current = recompute(tables, period.report, contract, mine)
        out = settle(out, current, period, contract)
    return out


def carry_forward(quarterly_dir: Path | str, as_of_quarter: str) -> pd.DataFrame | None:
    """The ledger of the latest quarterly results folder at or before ``as_of_quarter``.

    None when there is none: the ledger is then built from the extract.
    """
    folder = Path(quarterly_dir)
    last = quarters.to_index(as_of_quarter)
    found = sorted(
        (quarters.label_index(path.parent.name), path)
        for path in folder.glob(f"*/{FILE}")
        if quarters.is_quarter(path.parent.name) and quarters.label_index(path.parent.name) <= last
    )
    return read(found[-1][1]) if found else None


def locate(quarterly_dir: Path | str, as_of_quarter: str) -> Path:
    """Where the ledger as of a quarter is kept: its quarterly folder, else ``<results>/ledger/``."""
    folder = Path(quarterly_dir) / as_of_quarter / FILE
    if folder.exists():
        return folder
    return Path(quarterly_dir).parent / "ledger" / f"{as_of_quarter}.csv"


def paid_to_date(ledger: pd.DataFrame, as_of_quarter: str) -> float:
    """Σ paid over the entries whose payment quarter is at or before ``as_of_quarter``."""
    due = ledger["payment_quarter"].map(quarters.label_index) <= quarters.to_index(as_of_quarter)
    return round(float(ledger.loc[due, "paid"].sum()), 2)


def settled_total(ledger: pd.DataFrame) -> float:
    """Σ paid over every entry: what the settled result reports pay, paid out or not yet."""
    return round(float(ledger["paid"].sum()), 2)


def by_report(ledger: pd.DataFrame, as_of_quarter: str) -> pd.DataFrame:
    """Per settled result report: due, adjustments, what the caps withhold, paid and paid to date."""
    rows, cumulative = [], 0.0
    for report, part in ledger.groupby("report", sort=True):
        kind = part["kind"]
        paid = round(float(part["paid"].sum()), 2)
        cumulative += paid
        payment_quarter = part["payment_quarter"].iloc[0]
        rows.append(
            {
                "report": report,
                "payment_quarter": payment_quarter,
                "due": round(float(part.loc[kind == "settlement", "amount"].sum()), 2),
                "adjustments": round(float(part.loc[kind == "adjustment", "amount"].sum()), 2),
                "adjustments_paid": round(float(part.loc[kind == "adjustment", "paid"].sum()), 2),
                # 0.0 - x: a withheld zero is 0, not -0.
                "withheld_total_cap": 0.0
                - round(float(part.loc[part["reason"] == "total_cap", "paid"].sum()), 2),
                "withheld_return_cap": 0.0
                - round(float(part.loc[part["reason"] == "return_cap", "paid"].sum()), 2),
                "paid": paid,
                "cumulative_paid": round(cumulative, 2),
                "status": "paid"
                if quarters.label_index(payment_quarter) <= quarters.to_index(as_of_quarter)
                else "awaiting_payment",
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "report",
            "payment_quarter",
            "due",
            "adjustments",
            "adjustments_paid",
            "withheld_total_cap",
            "withheld_return_cap",
            "paid",
            "cumulative_paid",
            "status",
        ],
    )


def final_settled(ledger: pd.DataFrame, contract: Contract, as_of_quarter: str) -> bool:
    """Whether the last result report is settled and its payment quarter has come."""
    last = result_periods(contract)[-1]
    return bool((ledger["report"] == last.report).any()) and quarters.to_index(
        last.payment_quarter
    ) <= quarters.to_index(as_of_quarter)
