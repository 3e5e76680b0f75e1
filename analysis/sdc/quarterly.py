"""The quarterly report's numbers under disclosure control: what it shows, hides and publishes.

The computing half of the quarterly report, apart from its presentation
(:mod:`analysis.reports.quarterly_view`), so that the quarterly results step and
the evaluation stages run without the report's tables and figures and a change
to those re-renders without recomputing. :func:`protect` declares every cell the
report shows to one linked model (:mod:`analysis.sdc.disclosure`) and chooses
what to hide; :func:`publish` keeps what a quarter's report publishes for the
reports after it; :func:`record_key_numbers` puts the summary's numbers into the
results file as the report shows them (a hidden one as the suppression symbol).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import provenance, quarters
from analysis.config import Contract
from analysis.sdc import disclosure
from analysis.sdc.linked import LinkedCells
from analysis.sdc.suppress import SUPPRESSED, hidden_words


@dataclass
class QuarterlyInputs:
    """The quarterly results of one quarter and the disclosure model of the report showing them."""

    as_of: str
    tables: dict[str, pd.DataFrame]
    key: dict
    history: pd.DataFrame | None = None
    cells: LinkedCells | None = None

    def is_hidden(self, key) -> bool:
        """Whether disclosure control hides the cell ``key`` in this report."""
        if self.cells is None:
            raise RuntimeError("call analysis.sdc.quarterly.protect(...) before showing any table")
        return self.cells.is_hidden(key)

    def shown(self, key, value=None):
        """``value`` (or the cell's own), or the suppression symbol when disclosure control hides it."""
        if self.is_hidden(key):
            return SUPPRESSED
        return self.cells.cells[key].value if value is None else value

    def headline(self, key, text: str, lang: str) -> str:
        """``text`` (the formatted number), or why it is hidden in words: for page 1."""
        if self.is_hidden(key):
            return hidden_words(lang, self.cells.min_persons)
        return text


def load(
    quarterly_dir: Path | str,
    as_of: str,
    contract: Contract,
    decided: bool = True,
    folder: Path | None = None,
) -> QuarterlyInputs:
    """The quarterly results of ``as_of`` with their history, protected for a quarterly report.

    With ``decided``, the suppression chosen when the results were computed
    (``disclosure.json`` of the quarter) is used as it is, and the folder must be
    complete (:func:`analysis.provenance.read`); otherwise it is chosen again from
    what the earlier quarterly reports published. ``folder`` is where this
    quarter's results are while they are written (default ``quarterly_dir/as_of``).
    """
    if folder is None:
        folder = Path(quarterly_dir) / as_of
    if decided:
        provenance.read(folder)
    tables = {
        path.stem: pd.read_csv(path, keep_default_na=True) for path in sorted(folder.glob("*.csv"))
    }
    key = json.loads((folder / "key_numbers.json").read_text(encoding="utf-8"))
    history = load_history(quarterly_dir, contract.timeline.intervention.start, as_of, folder)
    inputs = QuarterlyInputs(as_of, tables, key, history)
    published = disclosure.read_published(quarterly_dir, as_of, include=True, contract=contract)
    if decided and published and published.get("as_of") == as_of:
        inputs.cells = LinkedCells.decided(published)
        return inputs
    earlier = disclosure.read_published(quarterly_dir, as_of, include=False, contract=contract)
    return protect(inputs, contract, earlier)


def publish(
    quarterly_dir: Path | str, as_of: str, contract: Contract, folder: Path | None = None
) -> Path:
    """Protect the quarterly report of ``as_of`` and keep what it publishes for later reports.

    ``folder`` holds this quarter's results while they are written (see :func:`load`).
    """
    inputs = load(quarterly_dir, as_of, contract, decided=False, folder=folder)
    return disclosure.write_published(inputs.cells, quarterly_dir, as_of, folder)


def protect(
    inputs: QuarterlyInputs,
    contract: Contract,
    earlier: dict | None = None,
    more: Callable[[LinkedCells], None] | None = None,
) -> QuarterlyInputs:
    """Declare every cell the report shows (``more`` adds the evaluation's) and choose what to hide.

    ``earlier`` is what earlier reports published (:func:`disclosure.read_published`):
    their hidden cells stay hidden and their shown ones count as known.
    """
    cells = disclosure.new_cells(contract, earlier)
    disclosure.payment_cells(cells, inputs.tables, inputs.key, contract, inputs.history)
    if more is not None:
        more(cells)
    cells.protect()
    inputs.cells = cells
    return inputs


def load_history(
    quarterly_dir: Path | str, first: str, last: str, folder: Path | None = None
) -> pd.DataFrame:
    """Cumulative achievements per target for every quarter with results up to ``last``.

    ``folder`` replaces ``quarterly_dir/last`` (results being written).
    """
    rows = []
    for quarter in quarters.span(first, last):
        path = Path(quarterly_dir) / quarter / "key_numbers.json"
        if quarter == last and folder is not None:
            path = Path(folder) / "key_numbers.json"
        if path.exists():
            key = json.loads(path.read_text(encoding="utf-8"))
            rows += [
                {"quarter": quarter, "target": k, "cumulative": v}
                for k, v in key["achievements_cumulative"].items()
            ]
    return pd.DataFrame(rows, columns=["quarter", "target", "cumulative"])


def last_quarter(inputs: QuarterlyInputs) -> str | None:
    enrolment = inputs.tables["enrolment"]
    return enrolment["quarter"].iloc[-1] if len(enrolment) else None


def adjustment_hidden(inputs: QuarterlyInputs, report: str | None = None) -> bool:
    """Whether disclosure control hides the sum of the adjustments (of ``report``, or all).

    The sums are cells of the disclosure model (:func:`disclosure.payment_cells`):
    hidden only when they would give a small count back. A model without them
    (published before they were declared) hides a sum whenever an entry is hidden.
    """
    frame = inputs.tables.get("adjustments")
    if frame is None or frame.empty:
        return False
    if report is None:
        total = disclosure.adjustments_total_key(inputs.as_of)
    else:
        total = disclosure.report_adjustments_key(report, inputs.as_of)
    if total in inputs.cells.cells:
        return inputs.is_hidden(total)
    rows = frame if report is None else frame.loc[frame["report"] == report]
    return any(
        inputs.is_hidden(disclosure.adjustment_key("amount", r.report, r.corrects))
        for r in rows.itertuples(index=False)
    )


def rounded_forecast(values, contract: Contract):
    """Forecast amounts are estimates, not payments: shown to ``disclosure.money_rounding`` DKK."""
    step = contract.disclosure.money_rounding
    return (
        (values / step).round() * step if hasattr(values, "round") else round(values / step) * step
    )


def shown_forecast(key: dict, name: str, contract: Contract) -> float:
    """A forecast amount of the key numbers as shown: rounded, or exact once it is certain.

    With every result report settled (``forecast_certain``) the "forecast" is the
    settled total, printed exactly on the same page: rounded, it read 20.637.000
    beside 20.637.335 under "the amount is fixed".
    """
    value = key[name]
    return value if key.get("forecast_certain") else rounded_forecast(value, contract)


KEY_NUMBERS = (
    "enrolled_households",
    "enrolled_persons",
    "payments_due_total",
    "payments_provisional_total",
    "payments_paid_total",
    "payments_settled_total",
    "payments_awaiting",
    "payments_withheld_total",
    "adjustments_total",
    "adjustments_paid_total",
    "invested_to_date",
    "forecast_median",
    "projected_paid_median",
)


def record_key_numbers(results, inputs: QuarterlyInputs, contract: Contract) -> None:
    """Put the enrolment, payment and achievement numbers of a summary into the results file.

    The results file is published beside the report: a number the report hides is
    recorded as the suppression symbol.
    """
    key, last = inputs.key, last_quarter(inputs)
    cells = {
        "enrolled_households": disclosure.enrolment_key("households", last),
        "enrolled_persons": disclosure.enrolment_key("persons", last),
        "payments_provisional_total": disclosure.summary_key("provisional_total", inputs.as_of),
    }
    if adjustment_hidden(inputs):
        results.add("adjustments_total", SUPPRESSED)
    for name in KEY_NUMBERS:
        if name == "adjustments_total" and adjustment_hidden(inputs):
            continue
        cell = cells.get(name)
        declared = cell is not None and cell in inputs.cells.cells
        projected = name in ("forecast_median", "projected_paid_median")
        value = shown_forecast(key, name, contract) if projected else key[name]
        results.add(name, inputs.shown(cell, value) if declared else value)
    record_investors(results, inputs)
    for target in disclosure.COUNT_TARGETS:
        results.add(
            f"achievements_cumulative.{target}",
            inputs.shown(
                disclosure.target_key("cumulative", target, "all", inputs.as_of),
                key["achievements_cumulative"][target],
            ),
        )


def record_investors(results, inputs: QuarterlyInputs) -> None:
    """Each investor's position and the cash-flow schedule behind its IRR, into the results file."""
    for row in inputs.tables["investors"].itertuples(index=False):
        prefix = f"investors.{row.investor}"
        for name in ("invested", "invested_total", "repaid", "net_position", "projected_repaid"):
            results.add(f"{prefix}.{name}", getattr(row, name))
        results.add(f"{prefix}.irr_{row.irr_kind}", row.irr)
    for row in inputs.tables["cash_flows"].itertuples(index=False):
        results.add(f"cash_flows.{row.investor}.{row.quarter}.{row.kind}", row.amount)
    # Per settled report as the ledger has it (entries per target follow the
    # statement's disclosure control, so only the report totals are recorded).
    for row in inputs.tables["payments_capped"].itertuples(index=False):
        results.add(f"ledger.{row.report}.due", row.due)
        results.add(f"ledger.{row.report}.paid", row.paid)
        results.add(
            f"ledger.{row.report}.adjustments",
            SUPPRESSED if adjustment_hidden(inputs, row.report) else row.adjustments,
        )
