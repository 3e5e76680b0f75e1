"""The payment results a quarterly step stored, read back: what the reports show of the money.

A quarterly step (``python -m analysis quarterly``) computes the results as of a
quarter once (:func:`analysis.payments.quarterly.compute`) and stores them as tidy
CSV files, ``key_numbers.json`` and the settlement ledger exported from the
settlement record (``ledger.csv``). Where an evaluation's cut-off has no quarterly
folder (after the last quarterly report), the ledger step stores the same folder
under ``<results>/payments/<quarter>/`` (``python -m analysis ledger --results``).

An evaluation reads its payments, ledger and investor figures from there
(:func:`at`) and recomputes none of them: the money in an evaluation report is the
money the payment steps settled. The tables are read as the quarterly report
reads them (every CSV file of the folder by its name, ``ledger`` included).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import provenance

# Where the results at an evaluation's cut-off are kept when no quarterly folder is
# (beside the quarterly folders: <results>/payments/<quarter>/).
PAYMENTS = "payments"


@dataclass
class QuarterlyResults:
    """Every table of one quarter's results."""

    as_of: str
    register_until: str
    tables: dict[str, pd.DataFrame]
    key_numbers: dict


class MissingPaymentsError(FileNotFoundError):
    """No complete stored payment results as of a quarter: a payment step has not run."""


def folder_at(quarterly_dir: Path | str, as_of: str) -> Path:
    """Where the results as of ``as_of`` are stored: its quarterly folder, else ``<results>/payments/``."""
    own = Path(quarterly_dir) / as_of
    if own.is_dir():
        return own
    return Path(quarterly_dir).parent / PAYMENTS / as_of


def read(folder: Path | str) -> QuarterlyResults:
    """The results stored in ``folder`` (refused when incomplete or altered)."""
    folder = Path(folder)
    provenance.read(folder)
    tables = {
        path.stem: pd.read_csv(path, keep_default_na=True) for path in sorted(folder.glob("*.csv"))
    }
    key = json.loads((folder / "key_numbers.json").read_text(encoding="utf-8"))
    return QuarterlyResults(key["as_of"], key["register_until"], tables, key)


def at(quarterly_dir: Path | str, as_of: str) -> QuarterlyResults:
    """The payment results as of ``as_of`` as a payment step stored them.

    Raises :class:`MissingPaymentsError` (one line naming the folders looked in and
    the step that writes them) when there are none.
    """
    folder = folder_at(quarterly_dir, as_of)
    if not (folder / provenance.MARKER).is_file():
        raise MissingPaymentsError(
            f"no payment results as of {as_of}: neither {Path(quarterly_dir) / as_of} nor "
            f"{Path(quarterly_dir).parent / PAYMENTS / as_of} is complete; run "
            f"`python -m analysis quarterly --as-of {as_of}` or `python -m analysis ledger "
            f"--as-of {as_of} --results {Path(quarterly_dir).parent / PAYMENTS / as_of}` first"
        )
    results = read(folder)
    if results.as_of != as_of:
        raise MissingPaymentsError(f"{folder}: results as of {results.as_of}, not {as_of}")
    return results
