"""Where every result came from: synthetic or real, and from which files.

An extract counts as **synthetic** only when the generator's ``manifest.json`` says
so *and* lists the SHA-256 of every other file in the folder, each matching
(:func:`sign_extract` records them when the generator has written the files).
Copying a manifest into a real extract therefore does not make it synthetic: the
real files do not have the recorded checksums. Anything else is **real**.

Every quarterly results folder ends with ``provenance.json`` (:data:`MARKER`),
written last: the kind and checksums of the extract, the kinds of the earlier
results folders it used, and the checksum of every file in the folder. Its
presence marks the folder complete (it is the Makefile's target), and every
consumer reads the kind from it: output that used any real or unrecorded input
is real, whatever ``--data`` says. A record is trusted only when the files it
lists match it (:func:`folder_kind`); a single results file (the ledger of an
evaluation's cut-off) has its record beside it (:func:`record_file`).
"""

from __future__ import annotations

import json
from pathlib import Path

from analysis import atomic, quarters
from analysis.data import io

MANIFEST = io.MANIFEST
MARKER = "provenance.json"
SYNTHETIC = "synthetic"
REAL = "real"


class ProvenanceError(RuntimeError):
    """A results folder is incomplete or its record does not match its files."""


def _files(directory: Path) -> dict[str, str]:
    return {
        p.name: io.sha256(p)
        for p in sorted(Path(directory).iterdir())
        if p.name != MANIFEST and p.is_file() and not p.name.startswith(".")
    }


def sign_extract(directory: Path | str) -> dict:
    """Record the SHA-256 of every file the generator wrote in its manifest (called right after it)."""
    directory = Path(directory)
    path = directory / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["files"] = _files(directory)
    atomic.write_text(path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def extract_kind(directory: Path | str, manifest: dict | None = None) -> str:
    """``"synthetic"`` when the folder holds exactly the files the generator signed, else ``"real"``."""
    directory = Path(directory)
    if manifest is None:
        manifest = io.read_manifest(directory)
    signed = manifest.get("files")
    if manifest.get("synthetic") is not True or not isinstance(signed, dict) or not signed:
        return REAL
    if any(
        p.is_symlink() or not p.is_file()
        for p in directory.iterdir()
        if p.name != MANIFEST and not p.name.startswith(".")
    ):
        return REAL
    return SYNTHETIC if _files(directory) == signed else REAL


def record(folder: Path, kind: str, inputs: dict[str, str], used: dict[str, str]) -> dict:
    """Write the completion marker of a results folder: last, after every other file."""
    content = {
        "kind": kind,
        "inputs": dict(inputs),
        "earlier_results": dict(used),
        "files": {name: digest for name, digest in _files(folder).items() if name != MARKER},
    }
    atomic.write_json(folder / MARKER, content)
    return content


def read(folder: Path | str) -> dict:
    """The provenance of a complete results folder; refuses an incomplete or altered one."""
    folder = Path(folder)
    path = folder / MARKER
    if not path.is_file():
        raise ProvenanceError(
            f"{folder}: incomplete results folder (no {MARKER}); run `python -m analysis "
            f"quarterly --as-of {folder.name} --out {folder}` again"
        )
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        kind, files = content["kind"], content["files"]
    except (ValueError, KeyError, TypeError):
        raise ProvenanceError(f"{path}: not a provenance record") from None
    present = {k: v for k, v in _files(folder).items() if k != MARKER}
    if kind not in (SYNTHETIC, REAL) or present != files:
        raise ProvenanceError(
            f"{folder}: its files do not match {MARKER} (changed by hand or from another run); "
            "compute the quarter again"
        )
    return content


def earlier_kinds(quarterly_dir: Path | str, before: str) -> dict[str, str]:
    """Kind of every quarter folder in ``quarterly_dir`` before ``before``.

    Unrecorded, or recorded but not matching its files, counts as real.
    """
    kinds = {}
    folder = Path(quarterly_dir)
    if not folder.is_dir():
        return kinds
    last = quarters.to_index(before)
    for path in sorted(folder.iterdir()):
        if path.is_dir() and quarters.is_quarter(path.name) and quarters.to_index(path.name) < last:
            kinds[path.name] = folder_kind(path)
    return kinds


def folder_kind(folder: Path | str) -> str:
    """Recorded kind of a results folder whose files match its record; anything else is real.

    A record copied from a synthetic folder into one holding other files does not
    match them (:func:`read` refuses it), so it cannot make the folder synthetic.
    """
    try:
        return read(folder)["kind"]
    except (ProvenanceError, OSError):
        return REAL


def sidecar(path: Path | str) -> Path:
    """The provenance record of a single results file (``<name>.provenance.json`` beside it)."""
    path = Path(path)
    return path.with_name(f"{path.name}.{MARKER}")


def record_file(
    path: Path | str, kind: str, used: dict[str, str], written: Path | str | None = None
) -> None:
    """Record the kind and checksum of a single results file (e.g. a ledger).

    ``written``: where its content is now, when it is moved onto ``path`` only after
    the record is written (a run killed in between leaves a record that does not
    match, which counts as real, never a file without one).
    """
    path = Path(path)
    digest = io.sha256(Path(written) if written is not None else path)
    atomic.write_json(
        sidecar(path), {"kind": kind, "earlier_results": dict(used), "files": {path.name: digest}}
    )


def file_kind(path: Path | str) -> str:
    """Recorded kind of a single results file whose checksum matches its record; else real."""
    path = Path(path)
    try:
        content = json.loads(sidecar(path).read_text(encoding="utf-8"))
        kind, files = content["kind"], content["files"]
        if kind in (SYNTHETIC, REAL) and files == {path.name: io.sha256(path)}:
            return kind
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return REAL


def results_kinds(
    data_dir: Path | str, out: Path | str, cutoff: str, manifest: dict | None = None
) -> tuple[str, dict[str, str]]:
    """Kind of quarterly results written to ``out``, and the kinds of the folders they use.

    Real if the extract is, or (when ``out`` is a quarter's folder) any earlier
    quarter's folder beside it: the results start from those.
    """
    out = Path(out)
    used = earlier_kinds(out.parent, cutoff) if quarters.is_quarter(out.name) else {}
    return combined(extract_kind(data_dir, manifest), *used.values()), used


def combined(*kinds: str) -> str:
    """Synthetic only when every input is."""
    return SYNTHETIC if all(k == SYNTHETIC for k in kinds) else REAL


def report_kind(quarterly_dir: Path | str, as_of: str, data_dir: Path | str | None) -> str:
    """Kind of a report as of ``as_of``: of every results folder up to it, and of the extract it reads.

    The results folder of ``as_of`` itself must be complete when it exists.
    """
    own = Path(quarterly_dir) / as_of
    kinds = list(earlier_kinds(quarterly_dir, as_of).values())
    if own.is_dir():
        kinds.append(read(own)["kind"])
    # A ledger kept beside the quarterly folders (an evaluation's cut-off) is read too.
    ledger = Path(quarterly_dir).parent / "ledger" / f"{as_of}.csv"
    if not own.is_dir() and ledger.is_file():
        kinds.append(file_kind(ledger))
    if data_dir is not None:
        kinds.append(extract_kind(data_dir))
    return combined(*kinds)
