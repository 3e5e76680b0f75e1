"""Guards for real extracts: unit-level outputs only where git cannot track them.

When the data directory is a real extract (no synthetic manifest), every output
folder must be ignored by git, so no file derived from personal data can be
committed by accident.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from analysis.data.validate import read_manifest
from analysis.paths import ROOT


class UnsafeOutputError(RuntimeError):
    """An output would land where git could track data derived from a real extract."""


def is_synthetic(data_dir: Path) -> bool:
    """True for an extract written by the synthetic generator."""
    return bool(read_manifest(Path(data_dir)).get("synthetic"))


def git_ignored(path: Path, root: Path = ROOT) -> bool:
    """True when git would ignore ``path`` (or the folder is outside the repository)."""
    path = Path(path).resolve()
    try:
        relative = path.relative_to(root)
    except ValueError:
        return True
    probe = relative / "probe-file"
    completed = subprocess.run(
        ["git", "check-ignore", "-q", str(probe)], cwd=root, capture_output=True, check=False
    )
    if completed.returncode == 128:  # not a git checkout: nothing can be committed from here
        return True
    return completed.returncode == 0


def guard_outputs(data_dir: Path, outputs: list[Path]) -> None:
    """Refuse outputs that git would track when ``data_dir`` is a real extract."""
    if is_synthetic(data_dir):
        return
    tracked = [str(p) for p in outputs if not git_ignored(p)]
    if tracked:
        raise UnsafeOutputError(
            f"{data_dir} is a real extract, but these output folders are not ignored by git: {', '.join(tracked)}. "
            "Write outputs under reports/, data/results/ or build/ (all git-ignored)."
        )
