"""Reading extract files: CSV (including Danish exports) and Parquet, with checksums,
and the generator's ``manifest.json`` beside a synthetic extract.

Danish exports often use ``;`` as separator, ``,`` as decimal mark and Latin-1
text. Every column is read as text first so that type problems are reported by
the schema with row numbers instead of failing inside the CSV parser.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from analysis.data.cpr import mask_text
from analysis.data.problems import DataContractError, Problem

SUFFIXES = (".parquet", ".csv")
MANIFEST = "manifest.json"


class ReadError(ValueError):
    """A file could not be read as a table at all."""

    def __init__(self, path: Path, message: str):
        super().__init__(f"{path.name}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class TableFile:
    """A table read from disk: its frame, path, format details and checksum."""

    frame: pd.DataFrame
    path: Path
    sha256: str
    encoding: str | None = None
    separator: str | None = None


def sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(directory: Path) -> dict:
    """The generator's manifest beside an extract, or an empty dict for real extracts.

    Raises :class:`DataContractError` when ``manifest.json`` is there but is not a
    JSON object in a regular file.
    """
    path = Path(directory) / MANIFEST
    if not path.exists() and not path.is_symlink():
        return {}

    def refuse(rule: str):
        return DataContractError(Path(directory), [Problem(MANIFEST, None, rule)])

    if not path.is_file():
        raise refuse("is not a regular file (a folder or a broken link?)")
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise refuse(f"is not valid JSON ({mask_text(error)})") from None
    if not isinstance(content, dict):
        raise refuse("is not a JSON object")
    return content


def _decode(path: Path, raw: bytes) -> tuple[str, str]:
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as error:
        utf8_error = error
    text = raw.decode("latin-1")
    # Latin-1 maps every byte; C1 control characters and NUL mean it is not text.
    bad = [i for i, ch in enumerate(text) if ch == "\x00" or "\x80" <= ch <= "\x9f"]
    if bad:
        offset = bad[0]
        raise ReadError(
            path,
            f"not UTF-8 or Latin-1 text: undecodable byte 0x{raw[offset]:02x} at byte offset {offset} "
            f"(UTF-8 failed at offset {utf8_error.start})",
        )
    return text, "latin-1"


def _read_csv(path: Path) -> TableFile:
    raw = path.read_bytes()
    text, encoding = _decode(path, raw)
    if not text.strip():
        raise ReadError(path, "the file is empty (no header row)")
    if "\r" in text.replace("\r\n", ""):
        raise ReadError(
            path,
            "has bare carriage-return (CR) line endings; save it with LF or CRLF line endings",
        )
    header = text.splitlines()[0]
    separator = ";" if header.count(";") > header.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=separator))
    except csv.Error as error:
        # The csv module names no value, only the limit: safe to repeat.
        raise ReadError(path, f"cannot be read as CSV: {error}") from None
    width = len(rows[0])
    short = [number for number, row in enumerate(rows[1:], start=2) if row and len(row) != width]
    if short:
        lines = ", ".join(str(n) for n in short[:10])
        raise ReadError(
            path,
            f"rows with a different number of fields than the header ({width}) at line(s) {lines}: the file may be truncated",
        )
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=separator,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
        )
    except (pd.errors.ParserError, ValueError) as error:
        raise ReadError(path, f"cannot be read as CSV: {mask_text(error)}") from None
    if separator == ";":
        # Danish decimal comma; ids and codes never contain a comma, so only
        # numeric-looking cells change.
        numeric_like = r"^-?\d+,\d+$"
        for column in frame.columns:
            values = frame[column]
            mask = values.str.match(numeric_like, na=False)
            if mask.any():
                frame[column] = values.where(~mask, values.str.replace(",", ".", regex=False))
    # The checksum of the very bytes parsed, not of the file read once more.
    return TableFile(frame, path, hashlib.sha256(raw).hexdigest(), encoding, separator)


def _read_parquet(path: Path) -> TableFile:
    try:
        frame = pq.read_table(path).to_pandas()
    except Exception as error:  # pyarrow raises several types for damaged files
        raise ReadError(
            path, f"not a readable Parquet file ({type(error).__name__}: {mask_text(error)})"
        ) from None
    return TableFile(frame, path, sha256(path))


def read_table(path: Path) -> TableFile:
    """Read one table file by its suffix."""
    if path.suffix == ".csv":
        return _read_csv(path)
    if path.suffix == ".parquet":
        return _read_parquet(path)
    raise ReadError(path, f"unsupported file type {path.suffix!r} (use .csv or .parquet)")


def write_danish_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame the way Danish exports look: ``;``, decimal comma, Latin-1."""
    frame.to_csv(path, sep=";", decimal=",", index=False, encoding="latin-1")


def extract_to_danish_csv(directory: Path | str) -> list[Path]:
    """Rewrite every Parquet table file of ``directory`` as a Danish CSV file beside it.

    Each ``<table>.parquet`` becomes ``<table>.csv`` (:func:`write_danish_csv`: ``;``,
    decimal comma, Latin-1) and the Parquet file is removed, so the folder is an
    extract in the format Danish exports come in, with the same tables. Whole tables
    are read into memory: meant for extracts of programme size, not national pools.
    """
    written = []
    for source in sorted(Path(directory).glob("*.parquet")):
        target = source.with_suffix(".csv")
        write_danish_csv(pq.read_table(source).to_pandas(), target)
        source.unlink()
        written.append(target)
    return written
