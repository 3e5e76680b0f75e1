"""Where every result came from: synthetic or real, and from which files.

An extract counts as **synthetic** only when writing it again from its own
``manifest.json`` gives exactly its files: the manifest records the generator's
arguments and code version, :func:`analysis.data.regenerate.regenerate` writes the
extract again to a scratch folder, and every file in the folder (the manifest
too, apart from the list of checksums :func:`list_checksums` adds) must have the
regenerated SHA-256. A manifest that merely says ``"synthetic": true``, or lists
the checksums of other files, does not make a real extract synthetic. Anything
else is **real**. (Regeneration answers are cached: see
:func:`analysis.data.regenerate.regenerate` for what that cache trusts.)

Every quarterly results folder ends with ``provenance.json`` (:data:`MARKER`),
written last: the checksums of the extract's tables and the generator's record
when the extract was synthetic, the earlier results folders it used, and the
checksum of every file in the folder. Its presence marks the folder complete
(it is the Makefile's target). The kind of a folder is **derived each time it is
read** (:func:`folder_kind`), never taken from an editable field: synthetic only
when the record's own ``kind`` says so, the record's generator regenerates
exactly the recorded input checksums, and every earlier results folder it
names (beside it) is synthetic by the same derivation now. A record that cannot
be re-derived, or whose files do not match it, counts as real. A single
results file (the ledger of an evaluation's cut-off) has its record beside it
(:func:`record_file`), derived from the quarterly folders it was carried forward
from.

Not covered: a person who computes results from real data and then writes a
whole record by hand, naming a synthetic extract's checksums and generator, is
not caught here (the results are not recomputed when read); ``python -m analysis
verify`` recomputes published results and compares them.
"""

from __future__ import annotations

import json
from pathlib import Path

from analysis import atomic, quarters
from analysis.data import io, regenerate, synth
from analysis.data.synth import list_checksums as listed

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


def list_checksums(directory: Path | str) -> dict:
    """:func:`analysis.data.synth.list_checksums`: the generator's files listed in its manifest."""
    return listed(directory)


# The former name, kept for callers (nothing is signed: the files are listed).
sign_extract = list_checksums


# Generator records of the extracts found synthetic in this process, by the checksums of
# their files: a results folder computed from one records it (:func:`record`).
_VERIFIED: dict[tuple, dict] = {}


def _key(checksums: dict[str, str]) -> tuple:
    return tuple(sorted(checksums.items()))


def _regenerates(generator, inputs: dict[str, str]) -> bool:
    """True when ``generator`` (a manifest's record) writes files with exactly these checksums.

    ``inputs`` may be a part of the extract (the tables a results folder read),
    but not an empty one.
    """
    if not isinstance(generator, dict) or not isinstance(inputs, dict) or not inputs:
        return False
    try:
        regenerated = regenerate.regenerate({synth.GENERATOR: generator})
    except regenerate.NotRegenerable:
        return False
    return all(regenerated.get(name) == digest for name, digest in inputs.items())


def extract_kind(directory: Path | str, manifest: dict | None = None) -> str:
    """``"synthetic"`` when regenerating from the folder's manifest gives exactly its files, else ``"real"``."""
    directory = Path(directory)
    if manifest is None:
        manifest = io.read_manifest(directory)
    generator = manifest.get(synth.GENERATOR)
    if manifest.get("synthetic") is not True or not isinstance(generator, dict):
        return REAL
    if any(
        p.is_symlink() or not p.is_file()
        for p in directory.iterdir()
        if p.name != MANIFEST and not p.name.startswith(".")
    ):
        return REAL
    present = _files(directory)
    listed = manifest.get("files")
    if listed is not None and listed != present:
        return REAL  # the list the generator made no longer matches: no need to regenerate
    # The manifest's content, the list of files aside, as the writer wrote it.
    present[MANIFEST] = synth.manifest_digest(manifest)
    try:
        regenerated = regenerate.regenerate(manifest)
    except regenerate.NotRegenerable:
        return REAL
    if regenerated != present:
        return REAL
    tables = {k: v for k, v in present.items() if k != MANIFEST}
    _VERIFIED[_key(tables)] = generator
    return SYNTHETIC


def _generator_for(inputs: dict[str, str]) -> dict | None:
    """The generator record of a verified extract whose files include ``inputs``, if any."""
    wanted = set(inputs.items())
    for files, generator in _VERIFIED.items():
        if wanted and wanted <= set(files):
            return generator
    return None


def record(folder: Path, kind: str, inputs: dict[str, str], used: dict[str, str]) -> dict:
    """Write the completion marker of a results folder: last, after every other file.

    ``kind`` is what the caller found; the generator record of the extract the
    ``inputs`` come from (found synthetic in this process) is kept beside them, so
    the kind can be derived again when the folder is read (:func:`folder_kind`).
    """
    generator = _generator_for(inputs) if kind == SYNTHETIC else None
    content = {
        "kind": kind if generator is not None else REAL,
        "inputs": dict(inputs),
        # As JSON text: the record is written with sorted keys, and the order inside
        # the generator's arguments (the areas' shares) is part of what it draws.
        "generator": None if generator is None else json.dumps(generator),
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
        if (
            path.is_dir()
            and quarters.is_quarter(path.name)
            and quarters.label_index(path.name) < last
        ):
            kinds[path.name] = folder_kind(path)
    return kinds


# Kinds derived in this process, by folder and the state of its record: each quarter
# names every earlier one, so without this a chain of n quarters is derived 2**n times.
_DERIVED: dict[tuple, str] = {}


def _state(folder: Path) -> tuple:
    """The folder and the size, time and inode of each of its files (any change: derived again)."""
    (folder / MARKER).stat()  # no record: OSError
    files = sorted(
        (p.name, st.st_mtime_ns, st.st_size, st.st_ino)
        for p in folder.iterdir()
        if (st := p.stat(follow_symlinks=False))
    )
    return (folder.resolve(), tuple(files))


def derived_kind(folder: Path | str, content: dict, _seen: frozenset = frozenset()) -> str:
    """The kind of a results folder derived from its record's inputs (see the module docstring).

    Synthetic only when the record says so, its generator regenerates its input
    checksums, and every earlier results folder it names, beside it, is synthetic
    by this same derivation now; anything that cannot be derived is real.
    """
    folder = Path(folder)
    if content.get("kind") != SYNTHETIC:
        return REAL
    generator = content.get("generator")
    try:
        generator = json.loads(generator) if isinstance(generator, str) else None
    except ValueError:
        return REAL
    if not _regenerates(generator, content.get("inputs")):
        return REAL
    used = content.get("earlier_results")
    if not isinstance(used, dict):
        return REAL
    seen = _seen | {folder.resolve()}
    for name in used:
        earlier = folder.parent / str(name)
        if not quarters.is_quarter(str(name)) or earlier.resolve() in seen:
            return REAL
        if _folder_kind(earlier, seen) != SYNTHETIC:
            return REAL
    return SYNTHETIC


def _folder_kind(folder: Path, seen: frozenset) -> str:
    try:
        key = _state(folder)
    except OSError:
        return REAL
    if key not in _DERIVED:
        try:
            _DERIVED[key] = derived_kind(folder, read(folder), seen)
        except (ProvenanceError, OSError):
            _DERIVED[key] = REAL
    return _DERIVED[key]


def folder_kind(folder: Path | str) -> str:
    """Kind of a results folder, derived from its inputs (:func:`derived_kind`); else real.

    A record copied from a synthetic folder into one holding other files does not
    match them (:func:`read` refuses it), and an edited ``kind`` is not believed:
    the inputs must regenerate. Checked afresh in each process (then remembered
    while the record is unchanged).
    """
    return _folder_kind(Path(folder), frozenset())


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
    match, which counts as real, never a file without one). A synthetic file
    records what its kind can be derived from again (:func:`file_kind`): the
    earlier quarterly folders it used and, when exactly one extract was found
    synthetic in this process (the command's ``--data``), that extract's table
    checksums and generator record.
    """
    path = Path(path)
    digest = io.sha256(Path(written) if written is not None else path)
    content = {"kind": kind, "earlier_results": dict(used), "files": {path.name: digest}}
    if kind == SYNTHETIC and len(_VERIFIED) == 1:
        (files, generator), *_ = _VERIFIED.items()
        content["inputs"] = dict(files)
        content["generator"] = json.dumps(generator)
    atomic.write_json(sidecar(path), content)


def file_kind(path: Path | str, quarterly_dir: Path | str | None = None) -> str:
    """Kind of a single results file whose checksum matches its record, derived; else real.

    Synthetic only when its record says so, every earlier quarterly results
    folder it names (in ``quarterly_dir``, by default ``quarterly/`` beside the
    file's folder) is synthetic by :func:`folder_kind` now, its recorded extract
    (if any) regenerates, and it names at least one of the two: a record with
    nothing to derive its kind from is real.
    """
    path = Path(path)
    folder = Path(quarterly_dir) if quarterly_dir is not None else path.parent.parent / "quarterly"
    try:
        content = json.loads(sidecar(path).read_text(encoding="utf-8"))
        kind, files, used = content["kind"], content["files"], content["earlier_results"]
        if kind != SYNTHETIC or files != {path.name: io.sha256(path)} or not isinstance(used, dict):
            return REAL
        inputs = content.get("inputs")
        if inputs is not None:
            generator = content.get("generator")
            generator = json.loads(generator) if isinstance(generator, str) else None
            if not _regenerates(generator, inputs):
                return REAL
        if not used and inputs is None:
            return REAL
        if all(
            quarters.is_quarter(str(name)) and folder_kind(folder / str(name)) == SYNTHETIC
            for name in used
        ):
            return SYNTHETIC
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
        kinds.append(derived_kind(own, read(own)))
    # A ledger kept beside the quarterly folders (an evaluation's cut-off) is read too.
    ledger = Path(quarterly_dir).parent / "ledger" / f"{as_of}.csv"
    if not own.is_dir() and ledger.is_file():
        kinds.append(file_kind(ledger, quarterly_dir))
    if data_dir is not None:
        kinds.append(extract_kind(data_dir))
    return combined(*kinds)
