"""The CI switch that makes a skipped test fail (:mod:`no_skips`), run on a test that skips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import no_skips

SKIPPING = """
import pytest

def test_needs_a_tool():
    pytest.skip("no such tool here")

@pytest.mark.skipif(True, reason="marked to skip")
def test_marked():
    pass

@pytest.mark.xfail(reason="known")
def test_expected_to_fail():
    assert False

def test_runs():
    assert True
"""


def _pytest(folder: Path, strict: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != no_skips.VARIABLE}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(no_skips.__file__).parent), env.get("PYTHONPATH", "")]
    )
    if strict:
        env[no_skips.VARIABLE] = "1"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no_skips",
            "-p",
            "no:cacheprovider",
            "test_skipping.py",
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_in_ci_a_skipped_test_fails_and_names_its_reason(tmp_path):
    (tmp_path / "test_skipping.py").write_text(SKIPPING, encoding="utf-8")
    relaxed = _pytest(tmp_path, strict=False)
    assert relaxed.returncode == 0, relaxed.stdout
    assert "1 passed, 2 skipped, 1 xfailed" in relaxed.stdout
    strict = _pytest(tmp_path, strict=True)
    assert strict.returncode == 1, strict.stdout
    # A skip in the test is a failure; a skip at its setup (a skipif mark) an error.
    assert "1 failed, 1 passed, 1 xfailed, 1 error" in strict.stdout
    assert "no such tool here" in strict.stdout
    assert "marked to skip" in strict.stdout


def test_ci_sets_the_switch():
    ci = (Path(no_skips.__file__).parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    assert f"export {no_skips.VARIABLE}=1" in ci
