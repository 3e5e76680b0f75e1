"""The pre-imported worker: same output and exit status as a command run in its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from analysis.paths import ROOT
from analysis.pipeline import worker

pytestmark = pytest.mark.skipif(
    not worker.usable(worker.socket_path()), reason="no fork or descriptor passing here"
)

MAKE_TARGETS = ["make-targets", "--as-of", "", "--langs", "da en", "--quarterly-langs", "da"]


def _run(args: list[str], use_worker: bool, **more: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANALYSIS_WORKER": "1" if use_worker else "0", **more}
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_worker_gives_the_same_output_and_status_as_a_process_of_its_own(tmp_path):
    alone = _run(MAKE_TARGETS, use_worker=False)
    times = tmp_path / "times.txt"
    served = _run(MAKE_TARGETS, use_worker=True, ANALYSIS_WORKER_TIMES=str(times))
    # The command's CPU time is reported to the caller (user, system seconds, start, end, command).
    user, system, start, end, command = times.read_text().split(" ", 4)
    assert float(user) >= 0 and float(system) >= 0 and command.startswith("make-targets")
    assert 0 < float(start) <= float(end)
    # And `python -m analysis timings` reads what the worker wrote.
    summary = _run(["timings", str(times)], use_worker=False)
    assert summary.returncode == 0 and "| make-targets | 1 |" in summary.stdout
    assert alone.returncode == served.returncode == 0
    assert served.stdout == alone.stdout and "QUARTERLY_RESULTS" in served.stdout
    # The worker is running now: the command was not run in the calling process.
    assert worker.socket_path().exists()
    # Errors: the argument error (status 2) and a usage error (status 1) come through.
    for args, status in ((["bogus"], 2), (["evaluate", "quarterly"], 1)):
        alone, served = _run(args, False), _run(args, True)
        assert alone.returncode == served.returncode == status
        assert served.stderr == alone.stderr and served.stderr


def test_interrupted_caller_stops_its_command(tmp_path):
    # A large synthetic extract takes several seconds; its manifest is written last.
    out = tmp_path / "extract"
    code = (
        "import sys; from analysis.pipeline import worker; "
        "sys.exit(worker.run(['synth', '--out', sys.argv[1], '--comparison-persons', '300000']))"
    )
    caller = subprocess.Popen(
        [sys.executable, "-c", code, str(out)], cwd=ROOT, env={**os.environ, "ANALYSIS_WORKER": "1"}
    )
    deadline = time.monotonic() + 120
    # The extract is written in a temporary folder beside ``out`` and moved into place.
    while not any(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(tmp_path.iterdir()), "the command did not start"
    caller.send_signal(signal.SIGTERM)
    assert caller.wait(timeout=60) != 0
    # Stopped with SIGTERM, the command removes its temporary folder and places nothing;
    # had it gone on, the extract would be in place by the end of the wait.
    deadline = time.monotonic() + 30
    while any(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(tmp_path.iterdir()) == []


def test_version_key_follows_the_source_files(tmp_path):
    package = tmp_path / "analysis"
    package.mkdir()
    module = package / "a.py"
    module.write_text("x = 1\n")
    first = worker.version_key(tmp_path)
    assert worker.version_key(tmp_path) == first
    module.write_text("x = 22\n")
    assert worker.version_key(tmp_path) != first


def test_no_worker_where_the_socket_path_is_too_long(tmp_path):
    assert not worker.usable(tmp_path / ("x" * 120) / "w.sock")
