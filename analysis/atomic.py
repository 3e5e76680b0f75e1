"""Crash-safe writes: write beside the target, then move into place.

A reader (or a killed build) sees either the previous file or the finished new
one, never a half-written file. A whole folder is written as a temporary sibling
and swapped in by one rename (:func:`atomic_folder`). Temporary folders carry the
writer's process id, so what a killed run (SIGKILL, power loss) left behind is
removed by the next run (:func:`remove_stale`) without touching a live one's.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
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


def alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (one owned by another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def move_into_place(finished: Path | str, target: Path | str) -> None:
    """Put a finished folder where ``target`` is, replacing it: the old one is moved aside
    first and removed only once the new one is in place."""
    finished, target = Path(finished), Path(target)
    if target.exists():
        backup = target.with_name(f".{target.name}.old")
        if backup.exists():
            shutil.rmtree(backup)
        target.rename(backup)
        finished.rename(target)
        shutil.rmtree(backup)
    else:
        finished.rename(target)


def remove_stale(parent: Path | str, prefix: str) -> list[Path]:
    """Remove ``<prefix><pid>.*`` folders in ``parent`` whose process is gone."""
    removed = []
    parent = Path(parent)
    if not parent.is_dir():
        return removed
    for path in parent.glob(f"{prefix}*"):
        pid = path.name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not alive(int(pid)) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def scratch_folder(parent: Path | str, prefix: str) -> Path:
    """A new temporary folder ``<prefix><pid>.<random>`` in ``parent``; dead runs' ones are removed."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale(parent, prefix)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}.", dir=parent))


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one system call (Linux ``renameat2``); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


@contextmanager
def atomic_folder(target: Path | str) -> Iterator[Path]:
    """Yield an empty temporary sibling of ``target``; on success it replaces ``target`` whole.

    The swap is one ``renameat2(RENAME_EXCHANGE)`` where the system has it, so a
    reader sees the old folder or the new one and never neither. Elsewhere the old
    folder is first renamed aside (a kill in between leaves no folder, which a
    Makefile rebuilds, never a mixed one).
    """
    target = Path(target)
    prefix = f".{target.name}.tmp-"
    temporary = scratch_folder(target.parent, prefix)
    try:
        yield temporary
        os.chmod(temporary, 0o755)
        if target.exists() and _exchange(temporary, target):
            shutil.rmtree(temporary)  # now the previous folder
        elif target.exists():
            aside = scratch_folder(target.parent, prefix)
            os.rmdir(aside)
            os.rename(target, aside)
            os.rename(temporary, target)
            shutil.rmtree(aside)
        else:
            os.rename(temporary, target)
    finally:
        if temporary.exists() and temporary != target:
            shutil.rmtree(temporary, ignore_errors=True)
