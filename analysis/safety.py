"""Guards for real extracts: outputs only where no git repository can pick them up.

Output computed from anything but a signed synthetic extract
(:func:`analysis.provenance.extract_kind`, and the results folders' own records)
may only go to a git-ignored path of this repository or to a folder outside
every git work tree; a path inside another repository is refused like a tracked
one, so no file derived from personal data can be committed by accident.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from analysis import provenance
from analysis.paths import ROOT


class UnsafeOutputError(RuntimeError):
    """An output would land where git could track data derived from a real extract."""


def is_synthetic(data_dir: Path) -> bool:
    """True for an extract holding exactly the files the synthetic generator signed."""
    return provenance.extract_kind(Path(data_dir)) == provenance.SYNTHETIC


def work_tree(path: Path) -> Path | None:
    """The git work tree holding ``path`` (which need not exist yet), or None."""
    probe = Path(path).resolve()
    while not probe.exists():
        probe = probe.parent
    if probe.is_file():
        probe = probe.parent
    try:
        completed = subprocess.run(
            ["git", "-C", str(probe), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:  # no git: nothing can be committed from here
        return None
    if completed.returncode != 0:
        return None
    return Path(completed.stdout.strip()).resolve()


def git_ignored(path: Path, root: Path = ROOT) -> bool:
    """True when no repository could track ``path``: ignored in this one, or outside all of them."""
    path = Path(path).resolve()
    tree = work_tree(path)
    if tree is None:
        return True
    if tree != Path(root).resolve():
        return False  # another repository (or a repository nested in this one)
    probe = path.relative_to(tree) / "probe-file"
    completed = subprocess.run(
        ["git", "check-ignore", "-q", str(probe)], cwd=tree, capture_output=True, check=False
    )
    return completed.returncode == 0


def guard_outputs(data_dir: Path | None, outputs: list[Path], kind: str | None = None) -> None:
    """Refuse outputs a repository could track unless the data are synthetic.

    ``kind`` is the kind of the data the outputs are computed from (default: of
    the extract in ``data_dir``).
    """
    source = "the results come from real data (see their provenance.json)"
    if kind is None:
        kind = provenance.extract_kind(Path(data_dir))
        source = f"{data_dir} is a real extract"
    if kind == provenance.SYNTHETIC:
        return
    tracked = [str(p) for p in outputs if not git_ignored(p)]
    if tracked:
        raise UnsafeOutputError(
            f"{source}, but these output folders could be tracked by git: {', '.join(tracked)}. "
            "Write outputs under reports/, data/results/ or build/ (all git-ignored), or outside "
            "every git repository."
        )
