"""Crash-safe writes: write beside the target, then move into place.

A reader (or a killed build) sees either the previous file or the finished new
one, never a half-written file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd


@contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; move it onto ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_text(target: Path | str, text: str) -> None:
    """Write text atomically."""
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json(target: Path | str, content) -> None:
    """Write JSON atomically, with sorted keys so identical content gives identical bytes."""
    write_text(
        target,
        json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False, default=_default) + "\n",
    )


def write_csv(target: Path | str, frame: pd.DataFrame) -> None:
    """Write a tidy table as CSV atomically, with a fixed float format."""
    with atomic_path(target) as temporary:
        frame.to_csv(temporary, index=False, float_format="%.10g", lineterminator="\n")


def _default(value):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
