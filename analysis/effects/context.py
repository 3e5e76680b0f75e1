"""What an evaluation starts from: the extract cut at the report's quarter and the payments to date."""

from __future__ import annotations

from dataclasses import dataclass

from analysis.config import Contract
from analysis.data.asof import AsOfData


@dataclass
class EvaluationContext:
    """Everything an evaluation report starts from: the as-of data, payments and (synthetic) truth."""

    data: AsOfData
    quarterly: object
    truth: dict | None
    checksums: dict[str, str]
    # The validated extract, from which the estimation panels are built out of core
    # (analysis.data.engine.evaluation_panels); never stored with the results.
    extract: object = None


def load_context(
    data_dir: str, as_of: str, contract: Contract, quarterly_dir: str | None = None
) -> EvaluationContext:
    """Validate the extract, cut it at ``as_of`` and read the payments to date from the ledger.

    The settlement ledger as of ``as_of`` is read from the results beside
    ``quarterly_dir`` (:func:`analysis.payments.ledger.locate`); where none is
    there, it is carried forward from the latest quarterly folder and the result
    reports due since are settled.
    """
    import json
    from pathlib import Path

    from analysis.data.asof import as_of as cut
    from analysis.data.validate import load_extract
    from analysis.payments.quarterly import compute

    extract = load_extract(data_dir, contract)
    truth_file = Path(data_dir) / "truth.json"
    truth = (
        json.loads(truth_file.read_text(encoding="utf-8"))["realised_att"]
        if extract.synthetic and truth_file.exists()
        else None
    )
    ledger = None
    if quarterly_dir is not None:
        from analysis.payments import ledger as ledger_module

        path = ledger_module.locate(quarterly_dir, as_of)
        ledger = (
            ledger_module.read(path)
            if path.exists()
            else ledger_module.carry_forward(quarterly_dir, as_of)
        )
    return EvaluationContext(
        cut(extract.tables, as_of, contract),
        compute(extract, as_of, contract, ledger),
        truth,
        extract.checksums,
        extract,
    )
