"""Validation receipts: an extract that met the data contract is not checked again.

Checking a whole extract against the contract (:func:`analysis.data.validate.load_extract`)
costs about half a second of CPU for the default synthetic extract and about 14
seconds at a million comparison persons, and every step that reads the extract
(each quarter's results, each evaluation, the estimation panel) used to pay it
again. After a full validation passes, a receipt is written under the git-ignored
``build/validated/``: the SHA-256 of every table file as read (the checksums that
:class:`analysis.data.validate.Extract` carries into each results folder's
provenance), a digest of the contract and a digest of the validation code. A
later read of the same extract skips the checks only when the checksums of the
files it has just read, the contract and the code all match a receipt exactly;
anything else (a changed byte, another contract, changed checks) validates in
full as before.

A receipt holds checksums, table names and row counts: never a data value. It is
never written inside the extract folder (``data/raw`` is read-only input), and it
changes nothing of what is decided elsewhere: whether an extract is synthetic
(:func:`analysis.provenance.extract_kind`), where real results may be written
(:mod:`analysis.safety`) and the masking of CPR-like values. Only an extract that
passed every check gets a receipt, so an invalid one is refused with the same
message every time. ``ANALYSIS_REVALIDATE=1`` (or ``python -m analysis
--revalidate …``) ignores the receipts and validates in full.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

from analysis import atomic
from analysis.config import Contract
from analysis.paths import BUILD_DIR, ROOT

# Where the receipts live (git-ignored); tests point it elsewhere.
FOLDER = BUILD_DIR / "validated"
# Set to anything but "" or "0": every read validates in full.
REVALIDATE = "ANALYSIS_REVALIDATE"
# The code whose checks a receipt vouches for: a change to any of them (a new rule,
# another message) makes every earlier receipt stale.
CODE = (
    "analysis/config.py",
    "analysis/quarters.py",
    "analysis/data/codes.py",
    "analysis/data/cpr.py",
    "analysis/data/engine.py",
    "analysis/data/io.py",
    "analysis/data/receipt.py",
    "analysis/data/schemas.py",
    "analysis/data/validate.py",
)
FORMAT = 1


def forced() -> bool:
    """True when ``ANALYSIS_REVALIDATE`` asks for a full validation on every read."""
    return os.environ.get(REVALIDATE, "").strip() not in ("", "0")


@functools.cache
def code_digest() -> str:
    """SHA-256 of the package version and the source of the validation code."""
    try:
        version = metadata.version("relationel-velfaerd-analysis")
    except metadata.PackageNotFoundError:
        version = "unknown"
    digest = hashlib.sha256(f"{FORMAT}\n{version}\n".encode())
    for name in CODE:
        digest.update(f"{name}\n".encode())
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def contract_digest(contract: Contract) -> str:
    """SHA-256 of the contract as the checks see it (every field; comments and layout aside)."""
    return hashlib.sha256(contract.model_dump_json().encode("utf-8")).hexdigest()


def _content(checksums: dict[str, str], contract: Contract) -> dict:
    return {
        "format": FORMAT,
        "files": dict(sorted(checksums.items())),
        "contract": contract_digest(contract),
        "code": code_digest(),
    }


def path_for(checksums: dict[str, str], contract: Contract, folder: Path | None = None) -> Path:
    """The receipt's file: named by a digest of the file checksums, contract and code."""
    key = hashlib.sha256(
        json.dumps(_content(checksums, contract), sort_keys=True).encode("utf-8")
    ).hexdigest()
    return Path(folder or FOLDER) / f"{key}.json"


def holds(checksums: dict[str, str], contract: Contract, folder: Path | None = None) -> bool:
    """True when a receipt vouches for exactly these files, this contract and this code."""
    if forced() or not checksums:
        return False
    path = path_for(checksums, contract, folder)
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(recorded, dict):
        return False
    # The name is a digest of the content; comparing the content itself as well
    # makes a receipt copied or edited under another name worthless.
    return {k: recorded.get(k) for k in ("format", "files", "contract", "code")} == _content(
        checksums, contract
    )


def record(
    checksums: dict[str, str], contract: Contract, rows: dict[str, int], folder: Path | None = None
) -> Path | None:
    """Write the receipt of an extract that has just passed every check (atomically).

    Returns its path, or None when ``build/`` cannot be written (a read-only
    install): a receipt only saves time, so the extract is then checked each time.
    """
    path = path_for(checksums, contract, folder)
    content = {**_content(checksums, contract), "rows": dict(sorted(rows.items()))}
    try:
        atomic.write_json(path, content)
    except OSError:
        return None
    return path
