"""``make bench``'s steps: each runs in a process of its own and reports its estimate; here
they run in this process on a small extract, and the estimators agree with their peers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from analysis.paths import ROOT
from analysis.pipeline import bench


@pytest.mark.slow
def test_the_benchmark_steps_run_and_agree_with_the_peers(tmp_path):
    data_dir = tmp_path / "extract-1000"
    rows = {
        step: bench.run_step(step, data_dir, 1000)
        for step in ("synth", "validate", "panel", "twfe", "panelols", "pyfixest", "att_gt")
    }
    for row in rows.values():
        assert row["seconds"] >= 0 and row["peak_gib"] > 0
    assert rows["twfe"]["estimate"] == pytest.approx(rows["panelols"]["estimate"], abs=1e-10)
    assert rows["twfe"]["estimate"] == pytest.approx(rows["pyfixest"]["estimate"], abs=1e-10)
    assert rows["att_gt"]["estimate"] is not None


def test_an_unknown_step_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="unknown step nope"):
        bench.run_step("nope", tmp_path, 10)


def test_the_estimator_steps_import_only_their_estimator(tmp_path):
    # The held-out race times the import of what each step needs: the TWFE and att_gt
    # steps must not import the wild bootstrap's module and scipy.stats (about a
    # second, a sixth of pyfixest's whole step) with it.
    panel = tmp_path / "heldout.parquet"
    code = (
        "import sys; from pathlib import Path; from analysis.pipeline import bench; "
        f"bench.heldout_path = lambda: Path({str(panel)!r}); "
        "bench.heldout_panel(1, units=300, periods=8).to_parquet(bench.heldout_path()); "
        "[bench.run_step(s, Path('.'), 300) for s in ('heldout_twfe', 'heldout_att_gt')]; "
        "print(sorted(m for m in ('scipy.stats', 'analysis.did.inference') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip().splitlines()[-1] == "[]", out


def test_a_measured_step_keeps_its_bytecode(tmp_path, monkeypatch):
    # With PYTHONDONTWRITEBYTECODE set (as in some sandboxes) and `make setup`'s
    # --no-compile, every step's fresh process compiled pandas, pyarrow and the project
    # again (3 to 8 CPU s a step, counted as the step's work). The steps' processes
    # keep their bytecode under build/bench/pycache instead.
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setattr(bench, "PYCACHE", tmp_path / "pycache")
    env = bench.step_environment()
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path / "pycache")
    subprocess.run(
        [sys.executable, "-c", "import analysis.quarters"], check=True, cwd=ROOT, env=env
    )
    assert list((tmp_path / "pycache").rglob("quarters*.pyc"))
