"""The computational-environment colophon at the end of every report (after rrtools)."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pypandoc

from analysis.catalogue import t
from analysis.paths import ROOT

PACKAGES = (
    "pandas",
    "numpy",
    "scipy",
    "pandera",
    "matplotlib",
    "seaborn",
    "papermill",
    "jupytext",
    "pypandoc-binary",
    "typst",
)


def git_commit(root: Path = ROOT) -> str:
    """The checked-out commit, marked ``-dirty`` when tracked files differ from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown (not a git checkout)"
    return commit + ("-dirty" if dirty else "")


def environment() -> dict[str, str]:
    """Python, platform and the versions of the packages that make the numbers."""
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    versions["pandoc"] = pypandoc.get_pandoc_version()
    return versions


def render_time() -> datetime:
    """Now, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), tz=UTC)
    return datetime.now(tz=UTC).replace(microsecond=0)


def markdown(
    lang: str,
    commit: str,
    parameters: dict,
    checksums: dict[str, str],
    versions: dict[str, str],
    rendered: datetime,
) -> str:
    """The colophon section as Markdown."""
    lines = [
        f"# {t('colophon.heading', lang)} {{.unnumbered}}",
        "",
        "::: {.colophon}",
        t("colophon.intro", lang),
        "",
        f"- **{t('colophon.commit', lang)}:** `{commit}`",
        # The day the file was made, not the period the numbers describe (that is "as of").
        t("colophon.produced", lang, rendered=rendered.isoformat()),
        "",
        f"| {t('col.parameter', lang)} | {t('col.value', lang)} |",
        "|:---|:---|",
        *[f"| {key} | `{value}` |" for key, value in sorted(parameters.items())],
        "",
        f"| {t('col.data_file', lang)} | SHA-256 |",
        "|:---|:---|",
        *[f"| {name} | `{digest[:16]}…` |" for name, digest in sorted(checksums.items())],
        "",
        f"| {t('col.software', lang)} | Version |",
        "|:---|:---|",
        *[f"| {name} | {version} |" for name, version in versions.items()],
        ":::",
    ]
    return "\n".join(lines)
