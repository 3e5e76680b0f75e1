"""What an evaluation starts from: the extract cut at the report's quarter and the payments to date as stored."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from analysis.config import Contract
from analysis.data.asof import AsOfData
from analysis.data.asof import as_of as cut
from analysis.data.validate import Extract, load_extract
from analysis.payments import stored
from analysis.payments.stored import QuarterlyResults


@dataclass
class EvaluationContext:
    """Everything an evaluation report starts from: the as-of data, payments and (synthetic) truth."""

    data: AsOfData | None
    # The payment results as of the report's quarter, as a payment step stored them.
    quarterly: QuarterlyResults | None
    # The generator's realised effects per outcome (``truth.json``), on synthetic data only.
    truth: dict[str, dict] | None
    # The SHA-256 of each table file of the extract, as read.
    checksums: dict[str, str]
    # The validated extract, from which the estimation panels are built out of core
    # (analysis.data.engine.evaluation_panels); never stored with the results.
    extract: Extract | None = None


def load_context(
    data_dir: str, as_of: str, contract: Contract, quarterly_dir: str | None = None
) -> EvaluationContext:
    """Validate the extract, cut it at ``as_of`` and read the payments to date as stored.

    The payments, the ledger and the investors' figures as of ``as_of`` are the
    results a payment step stored beside ``quarterly_dir``
    (:func:`analysis.payments.stored.at`: the quarterly folder of ``as_of``, else
    ``<results>/payments/<as_of>``); nothing of them is computed here, and their
    absence is one clear error. Without ``quarterly_dir``, no payments are read.
    """
    extract = load_extract(data_dir, contract)
    truth_file = Path(data_dir) / "truth.json"
    truth = (
        json.loads(truth_file.read_text(encoding="utf-8"))["realised_att"]
        if extract.synthetic and truth_file.exists()
        else None
    )
    payments = stored.at(quarterly_dir, as_of) if quarterly_dir is not None else None
    return EvaluationContext(
        cut(extract.tables, as_of, contract),
        payments,
        truth,
        extract.checksums,
        extract,
    )
