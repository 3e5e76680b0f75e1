"""Guards for real extracts: outputs only where no git repository can pick them up.

Output computed from anything but a synthetic extract (one that regenerates
from its manifest, :func:`analysis.provenance.extract_kind`; and results folders
whose inputs are such extracts) may only go to a git-ignored path of this
repository or to a folder outside every git work tree; a path inside another
repository, or in a repository git cannot read, is refused like a tracked one,
so no file derived from personal data can be committed by accident.

The work tree is found by looking for ``.git`` in the path's parents, and git is
asked only whether this repository ignores the path, with an environment and a
configuration of our own (:func:`_git`): neither git's environment variables nor
its ownership rules can make a work tree look like none. Not covered: a work
tree whose ``.git`` lies elsewhere than in one of its parents (``core.worktree``
of a repository kept apart from its files).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from analysis import provenance
from analysis.paths import ROOT


class UnsafeOutputError(RuntimeError):
    """An output would land where git could track data derived from a real extract."""


def is_synthetic(data_dir: Path) -> bool:
    """True for an extract that regenerates from its own manifest (:func:`analysis.provenance.extract_kind`)."""
    return provenance.extract_kind(Path(data_dir)) == provenance.SYNTHETIC


class _Unreadable(Exception):
    """A work tree whose files cannot be examined: treated as a repository that tracks everything."""


def work_tree(path: Path) -> Path | None:
    """The git work tree holding ``path`` (which need not exist yet), or None.

    Found by looking for ``.git`` (a folder, or the file of a linked work tree or
    submodule) in ``path`` and each of its parents, not by asking git: git's answer
    depends on its environment (``GIT_DIR``, ``GIT_CEILING_DIRECTORIES``,
    ``GIT_WORK_TREE``) and on its ownership rules ("dubious ownership"), and every
    one of them could make a work tree look like no work tree. A folder that
    cannot be examined is taken for a work tree too (:class:`_Unreadable`).
    """
    probe = Path(os.path.abspath(path))
    try:
        probe = probe.resolve()
    except (OSError, RuntimeError) as error:  # a link loop: nothing can be said
        raise _Unreadable(f"{path}: cannot resolve ({error.__class__.__name__})") from None
    for folder in (probe, *probe.parents):
        try:
            os.lstat(folder / ".git")
        except FileNotFoundError:
            continue
        except NotADirectoryError:
            continue  # ``folder`` is a file (or does not exist below a file)
        except OSError as error:  # unreadable: a .git may be there
            raise _Unreadable(f"{folder}: cannot be examined ({error.strerror})") from None
        return folder
    return None


def _git(tree: Path, *args: str) -> subprocess.CompletedProcess:
    """Run git in ``tree`` with an environment of our own, not the caller's.

    Every ``GIT_*`` variable is dropped, the system and global configuration and
    the personal excludes file are not read (only the repository's own rules
    decide what it ignores), so a variable or a configuration file set up by
    hand cannot change the answer.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, LC_ALL="C")
    return subprocess.run(
        ["git", "-c", f"core.excludesFile={os.devnull}", "-C", str(tree), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def _ignored_in(tree: Path, path: Path) -> bool:
    """True when this repository ignores ``path``; refuses (raises) when git cannot tell."""
    probe = path.relative_to(tree) / "probe-file"
    try:
        completed = _git(tree, "check-ignore", "-q", str(probe))
    except OSError as error:  # no git at all: its rules cannot be read
        raise _Unreadable(f"{tree}: git cannot be run ({error.strerror})") from None
    if completed.returncode in (0, 1):
        return completed.returncode == 0
    reason = (completed.stderr.strip().splitlines() or ["git failed"])[0]
    raise _Unreadable(f"{tree}: git cannot read this repository ({reason})")


def git_ignored(path: Path, root: Path = ROOT) -> bool:
    """True when no repository could track ``path``: ignored in this one, or outside all of them.

    A path in another repository, in a repository nested in this one, or in a
    repository git cannot read (another owner, a damaged ``.git``) is not.
    """
    return _unsafe_reason(path, root) is None


def _unsafe_reason(path: Path, root: Path = ROOT) -> str | None:
    """Why a repository could track ``path`` (None: none could)."""
    try:
        tree = work_tree(path)
        if tree is None:
            return None
        if tree != Path(root).resolve():
            return f"{path} is inside the git work tree {tree}"
        resolved = Path(os.path.abspath(path)).resolve()
        return None if _ignored_in(tree, resolved) else f"{path} is not git-ignored"
    except _Unreadable as error:
        return str(error)


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
    reasons = [reason for p in outputs if (reason := _unsafe_reason(p)) is not None]
    if reasons:
        raise UnsafeOutputError(
            f"{source}, but these output folders could be tracked by git: {'; '.join(reasons)}. "
            "Write outputs under reports/, data/results/ or build/ (all git-ignored), or outside "
            "every git repository."
        )
