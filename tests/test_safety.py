"""Crash-safe outputs and the guard against writing derived data where git tracks it."""

from __future__ import annotations

import hashlib
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.atomic import atomic_path, write_text
from analysis.paths import ROOT
from analysis.safety import UnsafeOutputError, guard_outputs


def _snapshot(folder: Path) -> dict:
    return {
        p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "result.json"
    write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_sigterm_during_a_render_leaves_previous_reports_intact(tmp_path, synthetic_dir, contract):
    from analysis.payments.quarterly import write_quarterly_results

    quarterly = tmp_path / "quarterly"
    write_quarterly_results(synthetic_dir, "2025Q1", quarterly / "2025Q1", contract)
    reports = tmp_path / "reports" / "quarterly"
    reports.mkdir(parents=True)
    for suffix in ("html", "pdf", "results.json"):
        (reports / f"kvartalsrapport-2025Q1.da.{suffix}").write_text(f"previous {suffix}")
    before = _snapshot(tmp_path / "reports")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "analysis",
            "report",
            "quarterly",
            "--as-of",
            "2025Q1",
            "--data",
            str(synthetic_dir),
            "--quarterly-dir",
            str(quarterly),
            "--reports",
            str(tmp_path / "reports"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(4)  # inside notebook execution
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    assert process.returncode != 0
    assert _snapshot(tmp_path / "reports") == before
    assert not [p for p in (tmp_path / "reports").rglob("*") if p.name.startswith(".")]


def test_real_extract_outputs_must_be_git_ignored(tmp_path, synthetic_dir):
    real = tmp_path / "real"
    shutil.copytree(synthetic_dir, real)
    (real / "manifest.json").unlink()
    tracked = ROOT / "analysis"
    with pytest.raises(UnsafeOutputError, match="not ignored by git"):
        guard_outputs(real, [tracked])
    guard_outputs(real, [ROOT / "reports", ROOT / "data" / "results"])
    guard_outputs(synthetic_dir, [tracked])  # synthetic data may go anywhere
