"""The computational-environment colophon at the end of every report (after rrtools)."""

from __future__ import annotations

import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pypandoc

from analysis.paths import ROOT

PACKAGES = (
    "pandas",
    "numpy",
    "scipy",
    "linearmodels",
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
    import os

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
    da = lang == "da"
    lines = [
        "# " + ("Kolofon" if da else "Colophon") + " {.unnumbered}",
        "",
        "::: {.colophon}",
        (
            "Rapporten er beregnet og dannet automatisk ud fra koden og data nedenfor. "
            "Samme kode og data giver de samme tal."
            if da
            else "This report was computed and rendered automatically from the code and data below. "
            "The same code and data give the same numbers."
        ),
        "",
        f"- **{'Git-commit' if da else 'Git commit'}:** `{commit}`",
        # The day the file was made, not the period the numbers describe (that is "as of").
        (
            f"- **Dannet:** {rendered.isoformat()} (den dag, filen blev dannet; tallene beskriver perioden til og med kvartalet, rapporten er opgjort pr.)"
            if da
            else f"- **Produced:** {rendered.isoformat()} (the day this file was made; the numbers describe the period up to the quarter the report is as of)"
        ),
        "",
        "| " + ("Parameter" if da else "Parameter") + " | " + ("Værdi" if da else "Value") + " |",
        "|:---|:---|",
        *[f"| {key} | `{value}` |" for key, value in sorted(parameters.items())],
        "",
        "| " + ("Datafil" if da else "Data file") + " | SHA-256 |",
        "|:---|:---|",
        *[f"| {name} | `{digest[:16]}…` |" for name, digest in sorted(checksums.items())],
        "",
        "| " + ("Program" if da else "Software") + " | Version |",
        "|:---|:---|",
        *[f"| {name} | {version} |" for name, version in versions.items()],
        ":::",
    ]
    return "\n".join(lines)
