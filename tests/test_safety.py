"""Crash-safe outputs and the guard against writing derived data where git tracks it."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis import provenance
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
    # The build's scratch folder exists from just before the notebook runs until the
    # report is placed: the signal arrives during the build (a report takes a few
    # seconds in-process, so a fixed wait could miss it).
    from analysis.paths import BUILD_DIR

    pattern = f"quarterly-kvartalsrapport-2025Q1.da.{process.pid}.*"
    deadline = time.monotonic() + 60
    while not list(BUILD_DIR.glob(pattern)) and time.monotonic() < deadline:
        time.sleep(0.05)
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
    with pytest.raises(UnsafeOutputError, match="could be tracked by git"):
        guard_outputs(real, [tracked])
    guard_outputs(real, [ROOT / "reports", ROOT / "data" / "results", tmp_path / "out"])
    guard_outputs(synthetic_dir, [tracked])  # synthetic data may go anywhere


# -- the guard cannot be bypassed ------------------------------------------------------


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args], capture_output=True, text=True, cwd=ROOT
    )


def _real_copy(synthetic_dir, folder):
    """A real-looking extract: the same tables as CSV files, the generator's manifest copied in."""
    import pandas as pd

    folder.mkdir(parents=True)
    for path in synthetic_dir.glob("*.parquet"):
        pd.read_parquet(path).to_csv(folder / f"{path.stem}.csv", index=False)
    shutil.copy(synthetic_dir / "manifest.json", folder / "manifest.json")
    return folder


def test_only_signed_files_make_an_extract_synthetic(tmp_path, synthetic_dir):
    assert provenance.extract_kind(synthetic_dir) == provenance.SYNTHETIC
    # The generator's manifest copied beside other files.
    assert provenance.extract_kind(_real_copy(synthetic_dir, tmp_path / "a")) == provenance.REAL
    # A bare claim.
    claim = tmp_path / "b"
    shutil.copytree(synthetic_dir, claim)
    (claim / "manifest.json").write_text('{"synthetic": true}')
    assert provenance.extract_kind(claim) == provenance.REAL
    # One changed file, or one file more.
    changed = tmp_path / "c"
    shutil.copytree(synthetic_dir, changed)
    (changed / "truth.json").write_text("{}")
    assert provenance.extract_kind(changed) == provenance.REAL
    extra = tmp_path / "d"
    shutil.copytree(synthetic_dir, extra)
    (extra / "notes.csv").write_text("x\n")
    assert provenance.extract_kind(extra) == provenance.REAL


def test_copied_manifest_does_not_open_tracked_outputs(tmp_path, synthetic_dir):
    real = _real_copy(synthetic_dir, tmp_path / "real")
    leak = ROOT / "analysis" / "leak" / "2025Q1"
    completed = _cli("quarterly", "--data", str(real), "--as-of", "2025Q1", "--out", str(leak))
    assert completed.returncode == 1
    assert "could be tracked by git" in completed.stderr
    assert not leak.parent.exists()


def test_report_kind_comes_from_the_results_not_from_data(tmp_path, synthetic_dir):
    """Real quarterly results with --data pointing at the synthetic extract stay real."""
    real = _real_copy(synthetic_dir, tmp_path / "real")
    quarterly = tmp_path / "quarterly"
    completed = _cli(
        "quarterly", "--data", str(real), "--as-of", "2025Q1", "--out", str(quarterly / "2025Q1")
    )
    assert completed.returncode == 0, completed.stderr
    record = json.loads((quarterly / "2025Q1" / provenance.MARKER).read_text())
    assert record["kind"] == provenance.REAL
    assert record["inputs"]["persons.csv"]
    leak = ROOT / "notebooks" / "leak"
    completed = _cli(
        "report",
        "quarterly",
        "--as-of",
        "2025Q1",
        "--data",
        str(synthetic_dir),
        "--quarterly-dir",
        str(quarterly),
        "--reports",
        str(leak),
    )
    assert completed.returncode == 1
    assert "the results come from real data" in completed.stderr
    assert not leak.exists()


def test_real_earlier_results_make_later_results_real(tmp_path, synthetic_dir, contract):
    from analysis.payments.quarterly import write_quarterly_results

    quarterly = tmp_path / "quarterly"
    write_quarterly_results(
        _real_copy(synthetic_dir, tmp_path / "real"), "2024Q4", quarterly / "2024Q4", contract
    )
    write_quarterly_results(synthetic_dir, "2025Q1", quarterly / "2025Q1", contract)
    record = provenance.read(quarterly / "2025Q1")
    assert record["earlier_results"] == {"2024Q4": provenance.REAL}
    assert record["kind"] == provenance.REAL
    assert provenance.report_kind(quarterly, "2025Q1", None) == provenance.REAL


def test_a_path_inside_another_repository_is_not_safe(tmp_path, synthetic_dir):
    real = _real_copy(synthetic_dir, tmp_path / "real")
    other = tmp_path / "other-repo"
    other.mkdir()
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    with pytest.raises(UnsafeOutputError, match="could be tracked by git"):
        guard_outputs(real, [other / "results" / "2025Q1"])
    # Even a path that repository ignores: it is not this repository's rule.
    (other / ".gitignore").write_text("results/\n")
    with pytest.raises(UnsafeOutputError):
        guard_outputs(real, [other / "results"])
    guard_outputs(real, [tmp_path / "plain" / "results"])  # outside every work tree


def test_an_altered_results_folder_is_refused(tmp_path, synthetic_dir, contract):
    from analysis.payments.quarterly import write_quarterly_results

    folder = write_quarterly_results(synthetic_dir, "2025Q1", tmp_path / "q" / "2025Q1", contract)
    provenance.read(folder)
    (folder / "targets.csv").write_text("target\n")
    with pytest.raises(provenance.ProvenanceError, match="do not match"):
        provenance.read(folder)
    (folder / provenance.MARKER).unlink()
    with pytest.raises(provenance.ProvenanceError, match="incomplete results folder"):
        provenance.read(folder)


# -- whole or nothing on disk ----------------------------------------------------------


def _run_killed(data, out, contract, kill_at):
    """Write a quarter's results in a child process that SIGKILLs itself at its ``kill_at``-th
    file-system commit (a rename or replace); True when it was killed before finishing."""
    import multiprocessing
    import os

    from analysis import atomic
    from analysis.payments.quarterly import write_quarterly_results
    from analysis.sdc.quarterly import publish

    def child():
        counter = iter(range(10_000))
        real_replace, real_rename, real_exchange = os.replace, os.rename, atomic._exchange

        def step():
            if next(counter) == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

        def replace(a, b):
            step()
            real_replace(a, b)

        def rename(a, b):
            step()
            real_rename(a, b)

        def exchange(a, b):
            step()
            done = real_exchange(a, b)
            step()  # swapped in, the previous folder not yet removed
            return done

        os.replace, os.rename, atomic._exchange = replace, rename, exchange
        write_quarterly_results(
            data, out.name, out, contract, lambda f: publish(out.parent, out.name, contract, f)
        )

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(120)
    return process.exitcode == -signal.SIGKILL


def _kill_sweep(tmp_path, synthetic_dir, contract, points):
    """Kill a rewrite of a complete results folder at each point; it must stay old or become new.

    ``points`` maps the number of files in a results folder to the kill points.
    """
    from analysis.payments.quarterly import write_quarterly_results
    from analysis.sdc.quarterly import publish

    def write(out):
        return write_quarterly_results(
            synthetic_dir,
            "2025Q1",
            out,
            contract,
            lambda folder: publish(out.parent, "2025Q1", contract, folder),
        )

    new_snapshot = _snapshot(write(tmp_path / "new" / "2025Q1"))
    points = points(len(new_snapshot))
    previous = write(tmp_path / "previous" / "2025Q1")
    (previous / "from-the-previous-run.txt").write_text("old")
    provenance.record(previous, provenance.SYNTHETIC, {}, {})
    old_snapshot = _snapshot(previous)
    out = tmp_path / "results" / "2025Q1"
    outcomes = []
    for point in points:
        shutil.rmtree(out.parent, ignore_errors=True)
        shutil.copytree(previous, out)
        killed = _run_killed(synthetic_dir, out, contract, point)
        state = _snapshot(out)
        assert state in (old_snapshot, new_snapshot), (point, sorted(state))
        provenance.read(out)  # complete either way: the Makefile's target is right
        outcomes.append((killed, "old" if state == old_snapshot else "new"))
    # The next run removes what the killed ones left beside the folder.
    write(out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["2025Q1"]
    assert _snapshot(out) == new_snapshot
    return outcomes


def test_killed_quarterly_leaves_old_or_new_folder(tmp_path, synthetic_dir, contract):
    """Killed before the first file, before the marker, before and after the swap."""
    outcomes = _kill_sweep(
        tmp_path, synthetic_dir, contract, lambda files: [0, files - 2, files - 1, files, files + 1]
    )
    # The folder's files are committed inside the temporary folder (the marker last),
    # then it is swapped in (point `files`) and the previous folder removed (after
    # point `files + 1`).
    assert outcomes == [(True, "old")] * 4 + [(True, "new")]


@pytest.mark.slow
def test_killed_quarterly_at_every_point(tmp_path, synthetic_dir, contract):
    outcomes = _kill_sweep(tmp_path, synthetic_dir, contract, lambda files: range(files + 3))
    files = len(outcomes) - 3
    assert outcomes == [(True, "old")] * (files + 1) + [(True, "new"), (False, "new")]


def test_scratch_folders_of_dead_runs_are_removed(tmp_path):
    import os

    from analysis.atomic import scratch_folder

    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = tmp_path / f"quarterly-x.{finished.stdout.strip()}.abc"
    live = tmp_path / f"quarterly-x.{os.getpid()}.def"
    for folder in (dead, live):
        folder.mkdir()
        (folder / "numbers.json").write_text("{}")
    made = scratch_folder(tmp_path, "quarterly-x.")
    assert not dead.exists() and live.exists() and made.is_dir()


def test_a_copied_synthetic_record_does_not_make_an_earlier_quarter_synthetic(tmp_path):
    """earlier_kinds checks the files as read() does: a record copied beside other files is real."""
    quarterly = tmp_path / "quarterly"
    synthetic = tmp_path / "syn"
    synthetic.mkdir()
    (synthetic / "targets.csv").write_text("synthetic numbers\n")
    provenance.record(synthetic, provenance.SYNTHETIC, {}, {})
    real = quarterly / "2024Q4"
    real.mkdir(parents=True)
    (real / "targets.csv").write_text("real numbers\n")
    shutil.copy(synthetic / provenance.MARKER, real / provenance.MARKER)
    assert provenance.earlier_kinds(quarterly, "2025Q1") == {"2024Q4": provenance.REAL}
    assert provenance.report_kind(quarterly, "2025Q1", None) == provenance.REAL
    # The same record beside the files it lists still names no input its kind can be
    # derived from (no extract that regenerates): real (tests/test_guards.py has the
    # synthetic case).
    shutil.copy(synthetic / "targets.csv", real / "targets.csv")
    assert provenance.earlier_kinds(quarterly, "2025Q1") == {"2024Q4": provenance.REAL}


def test_a_ledger_file_is_synthetic_only_with_a_matching_record(tmp_path, synthetic_dir, contract):
    from analysis.payments.quarterly import write_quarterly_results

    quarterly = tmp_path / "results" / "quarterly"
    write_quarterly_results(synthetic_dir, "2025Q3", quarterly / "2025Q3", contract)
    ledger = tmp_path / "results" / "ledger" / "2025Q4.csv"
    ledger.parent.mkdir()
    ledger.write_text("entry,paid\n")
    # No record: real (it may come from anywhere).
    assert provenance.report_kind(quarterly, "2025Q4", None) == provenance.REAL
    provenance.record_file(ledger, provenance.SYNTHETIC, {"2025Q3": provenance.SYNTHETIC})
    assert provenance.report_kind(quarterly, "2025Q4", None) == provenance.SYNTHETIC
    ledger.write_text("entry,paid\nreal,1\n")  # replaced after the record was written
    assert provenance.file_kind(ledger) == provenance.REAL
    assert provenance.report_kind(quarterly, "2025Q4", None) == provenance.REAL


def test_the_ledger_command_records_its_kind(tmp_path, synthetic_dir):
    quarterly = tmp_path / "results" / "quarterly"
    quarterly.mkdir(parents=True)
    out = tmp_path / "results" / "ledger" / "2025Q1.csv"
    completed = _cli(
        "ledger",
        "--data",
        str(synthetic_dir),
        "--as-of",
        "2025Q1",
        "--quarterly-dir",
        str(quarterly),
        "--out",
        str(out),
    )
    assert completed.returncode == 0, completed.stderr
    assert provenance.file_kind(out) == provenance.SYNTHETIC


@pytest.mark.parametrize("report", ["midterm", "final"])
def test_a_real_evaluation_folder_makes_its_report_real(tmp_path, synthetic_dir, contract, report):
    """`report` takes the kind of the evaluation results it reads, not only of --data."""
    from analysis.reports.kinds import load_kind

    as_of = load_kind(report).as_of(contract, None)
    quarterly = tmp_path / "results" / "quarterly"
    quarterly.mkdir(parents=True)
    stage = tmp_path / "results" / report / as_of
    stage.mkdir(parents=True)
    (stage / "numbers.bin").write_text("numbers of a real extract")
    provenance.record(stage, provenance.REAL, {"persons.csv": "0" * 64}, {})
    other = tmp_path / "other-repo"
    other.mkdir()
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    completed = _cli(
        "report",
        report,
        "--data",
        str(synthetic_dir),
        "--quarterly-dir",
        str(quarterly),
        "--reports",
        str(other / "reports"),
    )
    assert completed.returncode == 1
    assert "the results come from real data" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not (other / "reports").exists()


_KILLED_REPORT = """
import os, signal, sys
from pathlib import Path
from analysis.config import load_contract
from analysis.render.build import build_report
from analysis.reports.kinds import load_kind
data, quarterly, reports, scratch, config, kill_at = sys.argv[1:]
counter, real_replace = iter(range(10_000)), os.replace
def replace(a, b):
    if next(counter) == int(kill_at):
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(a, b)
os.replace = replace
build_report(load_kind("quarterly"), load_contract(config), "2025Q1", "da", Path(data),
             Path(quarterly), Path(reports), scratch_root=Path(scratch), config=Path(config))
"""


def _report_killed(data, quarterly, reports, scratch, kill_at) -> tuple[bool, int]:
    """Build a report in a process that SIGKILLs itself at its ``kill_at``-th ``os.replace``
    (every atomic write ends with one); whether it was killed, and its pid."""
    from analysis.paths import CONTRACT_FILE

    # A fresh interpreter, not a fork: a forked child of the test process can hang on
    # locks its threads held.
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _KILLED_REPORT,
            *map(str, (data, quarterly, reports, scratch)),
            str(CONTRACT_FILE),
            str(kill_at),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, stderr = process.communicate(timeout=300)
    assert process.returncode in (0, -signal.SIGKILL), stderr.decode()
    return process.returncode == -signal.SIGKILL, process.pid


def _report_kill_sweep(tmp_path, synthetic_dir, contract, points, monkeypatch):
    """Kill a report build at each point; after the next run no scratch folder of the killed
    run remains, and the report's files are wholly the old ones or wholly the new ones."""
    from analysis.payments.quarterly import write_quarterly_results
    from analysis.render.build import build_report, finish_killed_builds
    from analysis.reports.kinds import load_kind

    # Every run renders the same bytes (the date on the title page is fixed).
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    quarterly = tmp_path / "quarterly"
    write_quarterly_results(synthetic_dir, "2025Q1", quarterly / "2025Q1", contract)
    kind = load_kind("quarterly")
    reports, scratch = tmp_path / "reports", tmp_path / "scratch"
    targets = kind.paths("2025Q1", "da", reports)
    build_report(kind, contract, "2025Q1", "da", synthetic_dir, quarterly, reports, scratch)
    new = _snapshot(reports)
    for path in targets.values():
        path.write_text(f"previous {path.name}")
    old = _snapshot(reports)
    outcomes = []
    assert old.keys() == new.keys()
    for point in points:
        for path in targets.values():
            path.write_text(f"previous {path.name}")
        killed, pid = _report_killed(synthetic_dir, quarterly, reports, scratch, point)
        # What a killed run left is finished or removed by the next run, of any report.
        finish_killed_builds(scratch)
        assert not list(scratch.glob(f"*.{pid}.*")), point
        state = _snapshot(reports)
        assert state in (old, new), (point, killed, sorted(state))
        outcomes.append((killed, "old" if state == old else "new"))
    return outcomes


def test_killed_report_builds_leave_no_scratch_and_whole_reports(
    tmp_path, synthetic_dir, contract, monkeypatch
):
    """Killed at each atomic write: the notebook's numbers, the results file and the file list
    in the scratch folder, then before placing the HTML, the PDF and the results file."""
    outcomes = _report_kill_sweep(
        tmp_path, synthetic_dir, contract, [0, 1, 2, 3, 4, 5, 6], monkeypatch
    )
    # Before the file list is written the report stays old; from then on the next run
    # finishes placing it (also when the HTML is already new and the PDF still old).
    assert outcomes == [(True, "old")] * 3 + [(True, "new")] * 3 + [(False, "new")]
