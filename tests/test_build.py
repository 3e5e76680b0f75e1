"""``python -m analysis build``: the Makefile's rules and out-of-date logic without make.

Fast tests check the rule reading, the out-of-date decisions and the scheduling
against small hand-made cases, and against GNU make itself on the generated rules
(where make is installed). The slow test builds a small set of reports both ways
and compares every file byte for byte.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.paths import ROOT
from analysis.pipeline import build as b
from analysis.pipeline.rules import Rule, RuleSet, makefile

MAKE = shutil.which("make")
needs_make = pytest.mark.skipif(MAKE is None, reason="GNU make is not installed")


def _make_version() -> tuple[int, ...]:
    if MAKE is None:
        return ()
    first = subprocess.run([MAKE, "--version"], capture_output=True, text=True).stdout.split()
    return tuple(int(part) for part in first[2].split(".")[:2]) if len(first) > 2 else ()


MAKE_VERSION = _make_version()


def _touch(path: Path, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    os.utime(path, (mtime, mtime))


RULES = RuleSet(
    [
        Rule(("out/a.txt",), ("in/a.txt",), ("$(PY)", "-m", "analysis", "step", "a")),
        Rule(
            ("out/b.txt", "out/b.log"),
            ("out/a.txt", "$(DATA)/x.csv"),
            ("$(PY)", "-m", "analysis", "step", "b", "--data", "$(DATA)"),
        ),
    ],
    groups={"ALL": ["out/b.txt"]},
)


def test_expanding_the_rules_keeps_a_path_with_spaces_as_one_word():
    values = {"PY": ["$(PY)"], "DATA": ["C:/Users/Jane Doe/extract"]}
    steps = b.expand(RULES, values)
    assert [s.targets for s in steps] == [["out/a.txt"], ["out/b.txt", "out/b.log"]]
    assert steps[1].inputs == ["out/a.txt", "C:/Users/Jane Doe/extract/x.csv"]
    assert steps[1].commands == [
        ["$(PY)", "-m", "analysis", "step", "b", "--data", "C:/Users/Jane Doe/extract"]
    ]
    assert values["ALL"] == ["out/b.txt"]


def test_the_makefile_text_is_the_same_rules():
    text = makefile(RULES)
    assert "out/b.txt out/b.log &: out/a.txt $(DATA)/x.csv\n\t$(PY) -m analysis step b" in text
    assert "out/a.txt: in/a.txt\n" in text and "ALL := out/b.txt" in text


def test_unknown_variable_is_an_error():
    with pytest.raises(b.BuildError, match=r"\$\(NOPE\)"):
        b.expand(RuleSet([Rule(("x",), ("$(NOPE)",), ())]), {})


def test_out_of_date_like_make(tmp_path):
    now = time.time()
    rule = b.Step(["t1", "t2"], ["i1", "i2"])
    _touch(tmp_path / "i1", now - 100)
    _touch(tmp_path / "i2", now - 100)
    _touch(tmp_path / "t1", now - 50)
    assert b.out_of_date(rule, tmp_path)  # t2 missing
    _touch(tmp_path / "t2", now - 50)
    assert not b.out_of_date(rule, tmp_path)
    _touch(tmp_path / "i2", now - 10)  # an input newer than the targets
    assert b.out_of_date(rule, tmp_path)
    _touch(tmp_path / "t1", now)
    assert b.out_of_date(rule, tmp_path)  # newer than the *oldest* target (t2)


def test_missing_input_without_a_rule_is_named(tmp_path):
    rules = [b.Step(["t"], ["nowhere.csv"], [["$(PY)", "-m", "analysis", "x"]])]
    with pytest.raises(b.BuildError, match="no rule to make nowhere.csv, needed by t"):
        b.plan(rules, ["t"], tmp_path)


def _chain(tmp_path: Path) -> list[b.Step]:
    def step(name):
        return [["$(PY)", "-m", "analysis", name]]

    return [
        b.Step(["a"], ["src"], step("a")),
        b.Step(["b"], ["a"], step("b")),
        b.Step(["c"], ["src"], step("c")),
        b.Step(["d"], ["b", "c"], step("d")),
    ]


def _fake_runner(tmp_path: Path, log: list[str], fail: str | None = None):
    def run(command, root):
        name = command[-1]
        log.append(name)
        if name == fail:
            raise b.BuildError(f"step failed: {name}")
        time.sleep(0.01)
        (root / name).write_text(name)

    return run


@pytest.mark.parametrize("jobs", [1, 2])
def test_execute_redoes_only_what_depends_on_a_change(tmp_path, jobs):
    now = time.time()
    _touch(tmp_path / "src", now - 100)
    rules = _chain(tmp_path)
    log: list[str] = []
    run = _fake_runner(tmp_path, log)
    ran = b.execute(b.plan(rules, ["d"], tmp_path), jobs, root=tmp_path, runner=run, echo=str)
    assert sorted(r.targets[0] for r in ran) == ["a", "b", "c", "d"]
    assert log.index("a") < log.index("b") < log.index("d") and log.index("c") < log.index("d")
    log.clear()
    assert b.execute(b.plan(rules, ["d"], tmp_path), jobs, root=tmp_path, runner=run) == []
    # An older target whose input changed: it and what depends on it, nothing else.
    for name in ("a", "b", "c", "d"):
        os.utime(tmp_path / name, (now - 50, now - 50))
    os.utime(tmp_path / "a", (now - 90, now - 90))
    _touch(tmp_path / "src", now - 80)
    ran = b.execute(b.plan(rules, ["d"], tmp_path), jobs, root=tmp_path, runner=run, echo=str)
    assert sorted(r.targets[0] for r in ran) == ["a", "b", "d"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_rule_that_leaves_its_target_as_it_was_redoes_nothing_after_it(tmp_path, jobs):
    """As make does, the build reads a target's time again after its rule ran: the contract's
    sections are rewritten only when they changed, and the steps reading them stay done."""
    now = time.time()
    _touch(tmp_path / "src", now - 100)
    rules = _chain(tmp_path)
    log: list[str] = []
    run = _fake_runner(tmp_path, log)
    b.execute(b.plan(rules, ["d"], tmp_path), jobs, root=tmp_path, runner=run, echo=str)
    for name in ("a", "b", "c", "d"):
        os.utime(tmp_path / name, (now - 50, now - 50))
    _touch(tmp_path / "src", now - 10)  # newer than a and c: both rules run

    def unchanged_a(command, root):
        if command[-1] == "a":  # "a" finds its output as it was and leaves it
            log.append("a")
            return
        run(command, root)

    log.clear()
    ran = b.execute(b.plan(rules, ["d"], tmp_path), jobs, root=tmp_path, runner=unchanged_a)
    assert sorted(r.targets[0] for r in ran) == ["a", "c", "d"]
    assert "b" not in log


def test_contract_sections_are_rewritten_only_when_they_change(tmp_path, contract):
    from analysis.pipeline.sections import write_sections

    folder = tmp_path / "contract"
    assert "rate_card" in write_sections(contract, folder)
    before = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")}
    assert write_sections(contract, folder) == []
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")} == before
    rate_card = contract.rate_card.model_copy(
        update={"employment": contract.rate_card.employment + 100}
    )
    assert write_sections(contract.model_copy(update={"rate_card": rate_card}), folder) == [
        "rate_card"
    ]


def test_the_estimates_wait_for_their_sections_not_for_the_whole_contract(contract):
    from analysis.pipeline.rules import READS, report_rules

    rules = report_rules(contract, None, ["da"], ["da"]).rules
    estimates = [r for r in rules if "--estimates-only" in r.command]
    assert len(estimates) == 3
    for rule in estimates:
        assert "$(CONFIG)" not in rule.inputs and "$(CONTRACT)" not in rule.inputs
        assert {f"$(SECTIONS)/{name}.json" for name in READS["estimates"]} <= set(rule.inputs)
    # Every other step that reads the contract still waits for all of it.
    quarterly = [r for r in rules if r.command[5:6] == ("quarterly",)]
    assert quarterly and all("$(CONFIG)" in r.inputs for r in quarterly)


def test_the_default_chain_has_a_quarterly_report_for_every_settlement(contract):
    """Without AS_OF the quarterly reports run to the final evaluation's cut-off (issue 33, finding 6)."""
    from analysis.pipeline.rules import report_rules

    rules = report_rules(contract, None, ["da"], ["da"]).rules
    targets = {t for rule in rules for t in rule.targets}
    final = contract.timeline.evaluations.final
    for quarter in [*contract.timeline.result_reports, final]:
        assert f"$(REPORTS)/quarterly/kvartalsrapport-{quarter}.da.pdf" in targets


def test_default_as_of_is_a_quarter_or_a_report_kind(contract, monkeypatch):
    from analysis.config import ConfigError
    from analysis.reports.kinds import load_kind

    kind = load_kind("quarterly")
    assert kind.default_as_of(contract) == contract.timeline.evaluations.final
    monkeypatch.setitem(kind.extra, "default_as_of", "2025Q2")
    assert kind.default_as_of(contract) == "2025Q2"
    monkeypatch.setitem(kind.extra, "default_as_of", "2025-06")
    with pytest.raises(ConfigError, match="default_as_of"):
        kind.default_as_of(contract)


def test_the_estimates_read_only_the_sections_they_wait_for(synthetic_dir, tmp_path, monkeypatch):
    """Record every section of the contract an estimation step reads: each must be among
    the inputs of its rule (rules.READS), else a changed section would leave it stale."""
    from analysis.config import Contract
    from analysis.pipeline.cli import main
    from analysis.pipeline.rules import READS

    read: set[str] = set()
    fields = set(Contract.model_fields)
    original = Contract.__getattribute__

    def recording(self, name):
        if name in fields:
            read.add(name)
        return original(self, name)

    monkeypatch.setattr(Contract, "__getattribute__", recording)
    out = tmp_path / "estimates"
    assert (
        main(
            [
                "evaluate",
                "midterm",
                "--estimates-only",
                "--data",
                str(synthetic_dir),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert read and read <= set(READS["estimates"]), sorted(read)


def test_dry_run_reports_dependents_and_runs_nothing(tmp_path):
    _touch(tmp_path / "src", time.time())
    lines: list[str] = []
    ran = b.execute(
        b.plan(_chain(tmp_path), ["d"], tmp_path),
        dry_run=True,
        root=tmp_path,
        runner=_fake_runner(tmp_path, []),
        echo=lines.append,
    )
    assert len(ran) == 4 and lines[0] == "python -m analysis a"
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("keep_going", [False, True])
def test_a_failed_step_stops_what_needs_it(tmp_path, jobs, keep_going):
    """A failed step stops the build (make), or with ``keep_going`` only the rules that
    need it (make -k, as make report runs): c does not need a and is made."""
    _touch(tmp_path / "src", time.time())
    log: list[str] = []
    with pytest.raises(b.BuildError, match="step failed: a"):
        b.execute(
            b.plan(_chain(tmp_path), ["d"], tmp_path),
            jobs,
            root=tmp_path,
            runner=_fake_runner(tmp_path, log, fail="a"),
            echo=str,
            keep_going=keep_going,
        )
    assert "b" not in log and "d" not in log
    if keep_going:
        assert "c" in log and (tmp_path / "c").exists()


def test_only_analysis_steps_are_run(tmp_path):
    with pytest.raises(b.BuildError, match="no shell"):
        b.run_command(["rm", "-rf", "x"], tmp_path)
    with pytest.raises(b.BuildError, match="no shell"):
        b.run_command(["$(PY)", "-c", "print(1)"], tmp_path)


def test_windows_safe_code():
    """No POSIX-only temporary folder or shell in the package (Windows users run it)."""
    offenders = []
    for path in (ROOT / "analysis").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"[\"']/tmp\b|shell=True|os\.system\(", text):
            offenders.append(path.relative_to(ROOT).as_posix())
    assert offenders == []


@needs_make
def test_code_and_render_inputs_are_the_makefiles():
    completed = subprocess.run(
        [
            MAKE,
            "-s",
            "--no-print-directory",
            "--eval",
            "show-deps: ; @echo $(CODE_DEPS) | tr ' ' '\\n'; echo ---; echo $(RENDER_DEPS) | tr ' ' '\\n'; echo ---; echo $(RESULTS_DEPS) | tr ' ' '\\n'",
            "show-deps",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    code, render, results = completed.stdout.split("---\n")
    make_code = sorted(w for w in code.split() if ".installed" not in w)
    assert make_code == b.code_files()
    assert sorted(render.split()) == b.render_files()
    # The results and stages depend on the code without the presentation modules.
    make_results = sorted(w for w in results.split() if ".installed" not in w)
    assert make_results == [f for f in b.code_files() if f not in b.PRESENTATION]
    assert set(b.PRESENTATION) <= set(make_code)


def _agreement_makefile(tmp_path: Path, values: dict[str, list[str]], text: str) -> Path:
    (tmp_path / "targets.mk").write_text(text, encoding="utf-8")
    makefile = tmp_path / "Makefile"
    lines = [f"{name} := {' '.join(words)}" for name, words in values.items() if name != "PY"]
    lines += [
        "PY := python",
        f"include {tmp_path / 'targets.mk'}",
        "report: $(REPORT_FILES) $(PORTAL)",
        "",
    ]
    makefile.write_text("\n".join(lines), encoding="utf-8")
    return makefile


@needs_make
def test_same_steps_as_make_on_the_generated_rules(tmp_path, contract):
    """GNU make and the build pick the same steps from the same rules and files."""
    from analysis.pipeline.rules import report_rules

    extract = tmp_path / "extract"
    out = tmp_path / "out"
    data, results, reports = str(extract), str(out / "results"), str(out / "reports")
    _touch(extract / "households.csv", time.time() - 3600)
    values = b.variables(data, results, reports)
    # The build's own records in the test's folder, not the repository's build/.
    values["SECTIONS"] = [str(out / "contract")]
    values["CONTRACT_ARGS"] = [str(out / "contract.args")]
    _touch(out / "contract.args", time.time() - 3600)
    rule_set = report_rules(contract, "2024Q3", ["da", "en"], ["da"])
    makefile_path = _agreement_makefile(tmp_path, values, makefile(rule_set))
    expanded = dict(values)
    rules = b.expand(rule_set, expanded)
    goals = expanded["REPORT_FILES"] + expanded["PORTAL"]

    def compare() -> list[str]:
        made = subprocess.run(
            [MAKE, "-n", "--no-print-directory", "-f", str(makefile_path), "report"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        ).stdout.splitlines()
        lines: list[str] = []
        b.execute(b.plan(rules, goals), dry_run=True, echo=lines.append)
        # Words as the shell splits them (an empty $(LEDGER_ARG) leaves a blank in make's echo).
        made = [
            " ".join(m.split())
            for m in made
            if "up to date" not in m and "Nothing to be done" not in m
        ]
        lines = [" ".join(line.split()) for line in lines]
        # GNU make 4.3's dry run does not count a grouped target (&:) as remade for the
        # rules that depend on it (a real run does, as it rewrites the files): its -n
        # omits the portal when only reports are redone. The build lists it.
        portal = [line for line in lines if " portal " in line]
        if portal and portal[0] not in made and MAKE_VERSION < (4, 4):
            made.append(portal[0])
        assert made == lines
        return lines

    # four quarters (results + report), three evaluation ledgers, three evaluations'
    # estimates and results stages, 3 evaluations × 2 languages, the portal, the
    # contract's sections
    assert len(compare()) == 4 * 2 + 3 + 3 * 2 + 6 + 1 + 1
    future = time.time() + 3600
    for rule in rules:
        for target in rule.targets:
            # Only the test's own files: the synthetic extract's rule names the
            # repository's data/synthetic (not needed with this DATA), and touching it
            # left an empty manifest.json there, dated an hour ahead, on which the next
            # `make report` stopped ("manifest.json: is not valid JSON").
            if Path(target).resolve().is_relative_to(tmp_path):
                _touch(Path(target), future)
    assert compare() == []
    # The 2024Q2 results are redone: so are 2024Q3's, their reports and every evaluation
    # that starts from them.
    _touch(Path(results) / "quarterly" / "2024Q2" / "provenance.json", future + 10)
    steps = compare()
    assert any("--as-of 2024Q3 --out" in s for s in steps)
    assert not any("--as-of 2024Q1" in s for s in steps)


def test_cli_dry_run_lists_every_step(tmp_path):
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "build",
            "--dry-run",
            "--as-of",
            "2024Q1",
            "--langs",
            "en",
            "--results",
            str(tmp_path / "results"),
            "--reports",
            str(tmp_path / "reports"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # paths are the repository's wherever the command is started
        check=True,
    )
    steps = completed.stdout.splitlines()
    assert sum(" quarterly --data" in s for s in steps) == 2
    assert sum(" report " in s for s in steps) == 2 + 3
    assert all(" --lang en " in s for s in steps if " report " in s and "quarterly" not in s)


@pytest.mark.slow
def test_build_makes_the_same_reports_as_make(tmp_path):
    """``make report`` and ``python -m analysis build`` give byte-identical outputs.

    Both write to the same folder (the results files record where their inputs
    were), one after the other; the make outputs are moved aside in between.
    """
    if MAKE is None:
        pytest.skip("GNU make is not installed")
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1790000000"}
    settings = {"AS_OF": "2024Q1", "LANGS": "en"}
    out, by_make = tmp_path / "out", tmp_path / "by_make"
    subprocess.run(
        [
            MAKE,
            "--no-print-directory",
            "report",
            f"PY={sys.executable}",
            *(f"ENV_STAMP={stamp}" for stamp in b.environment_stamp()),
            f"RESULTS={out / 'results'}",
            f"REPORTS={out / 'reports'}",
            *(f"{k}={v}" for k, v in settings.items()),
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    out.rename(by_make)
    command = [sys.executable, "-m", "analysis", "build", "--as-of", settings["AS_OF"]]
    command += ["--langs", settings["LANGS"], "--results", str(out / "results")]
    command += ["--reports", str(out / "reports")]
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    made = sorted(p.relative_to(by_make) for p in by_make.rglob("*") if p.is_file())
    built = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert made == built and len(made) > 10
    different = [p for p in made if (by_make / p).read_bytes() != (out / p).read_bytes()]
    assert different == []
    again = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    assert "up to date" in again.stdout


def test_build_and_lab_have_help():
    for module, command in (("analysis", ["build"]), ("analysis.pipeline.lab", [])):
        completed = subprocess.run(
            [sys.executable, "-m", module, *command, "--help"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert completed.returncode == 0 and "usage:" in completed.stdout


@needs_make
def test_the_rules_are_regenerated_for_another_contract_however_old(tmp_path):
    """build/targets.args (a prerequisite of build/targets.mk) names the contract and its checksum.

    The rules are also regenerated when the contract file is newer than they are;
    these are the cases its time does not catch.
    """
    old = time.time() - 86400
    for name, seed in (("a.yaml", 1), ("b.yaml", 2)):
        (tmp_path / name).write_text(f"seed: {seed}\n", encoding="utf-8")
        os.utime(tmp_path / name, (old, old))
    args = tmp_path / "build" / "targets.args"

    def make(contract: str) -> tuple[str, int]:
        subprocess.run(
            [MAKE, "-s", "--no-print-directory", "-f", str(ROOT / "Makefile")]
            + ["build/targets.args", f"CONTRACT={contract}", "JOBS=1"],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )
        return args.read_text(encoding="utf-8"), args.stat().st_mtime_ns

    first = make("a.yaml")
    assert '--contract "a.yaml"' in first[0]
    time.sleep(0.01)
    assert make("a.yaml") == first  # nothing changed: not rewritten, the rules stay
    other = make("b.yaml")
    assert '--contract "b.yaml"' in other[0] and other[1] > first[1]
    # The same path with other contents, its time set back.
    (tmp_path / "a.yaml").write_text("seed: 3\n", encoding="utf-8")
    os.utime(tmp_path / "a.yaml", (old, old))
    edited = make("a.yaml")
    assert edited[0] not in (first[0], other[0])
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^build/targets\.mk: build/targets\.args ", makefile, re.MULTILINE)


def _repository_copy(tmp_path: Path) -> Path:
    """The files a build reads, copied with their times (so what is up to date here is
    there), the synthetic extract too when it has been made: a repository to break."""
    copy = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("analysis", "config", "notebooks", "params", "docs", "data/synthetic"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    for name in ("Makefile", "pyproject.toml", "requirements.lock", "requirements-dev.lock"):
        shutil.copy2(ROOT / name, copy / name)
    return copy


@pytest.mark.slow
def test_a_failed_estimate_leaves_the_payment_reports_and_the_portal(tmp_path):
    """A real failing estimation step (the analysis plan broken in a copy of the
    repository, so every evaluation's estimates stop at once) and both builders: the
    quarterly payment report and the portal are made, no evaluation report is, the
    portal names the evaluations that failed, and the exit status is non-zero with the
    failed step named."""
    if MAKE is None:
        pytest.skip("GNU make is not installed")
    copy = _repository_copy(tmp_path)
    plan = copy / "config" / "analysis_plan.yaml"
    text = plan.read_text(encoding="utf-8")
    assert "  alpha: 0.05\n" in text
    # The plan refuses a level of 0.5 or more (analysis/effects/plan.py): only the
    # evaluation steps read the plan, so only they fail.
    plan.write_text(text.replace("  alpha: 0.05\n", "  alpha: 0.9\n"), encoding="utf-8")
    # The running environment is the copy's (make would otherwise install one there).
    # Its own stamp is never touched: every target of its builds would be out of date.
    stamps = b.environment_stamp()
    stamp = stamps[0] if stamps else str(tmp_path / "installed")
    if not stamps:
        Path(stamp).touch()
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1790000000"}

    def made(out: Path) -> tuple[list[str], list[str]]:
        files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
        evaluations = [f for f in files if not f.startswith("quarterly/") and f != "index.html"]
        return files, evaluations

    by_make = tmp_path / "make"
    completed = subprocess.run(
        [MAKE, "--no-print-directory", "report", f"PY={sys.executable}", f"ENV_STAMP={stamp}"]
        + [f"RESULTS={by_make / 'results'}", f"REPORTS={by_make / 'reports'}"]
        + ["AS_OF=2023Q4", "LANGS=en", "JOBS=2"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 2, completed.stderr[-3000:]
    # Every evaluation's estimates were tried: the midterm's and the preliminary final's
    # wait for the final one's only to order the steps (rules._lanes), not because they
    # need it, so the final one's failure does not leave them out.
    failed = [line for line in completed.stderr.splitlines() if "***" in line]
    for name in ("final", "preliminary_final", "midterm"):
        assert any(f"estimates/{name}/" in line for line in failed), completed.stderr[-3000:]
    assert "analysis_plan.yaml" in completed.stderr
    files, evaluations = made(by_make / "reports")
    assert "quarterly/kvartalsrapport-2023Q4.da.html" in files, files
    assert "index.html" in files and evaluations == []
    assert (by_make / "reports" / "quarterly" / "kvartalsrapport-2023Q4.da.pdf").exists()
    portal = (by_make / "reports" / "index.html").read_text(encoding="utf-8")
    assert "kvartalsrapport-2023Q4.da.html" in portal
    # The portal says which evaluations failed (build/failed/), not that they are due.
    assert portal.count("failed in this build (step: estimates)") == 3, portal
    assert "due when the data reach" not in portal

    by_build = tmp_path / "build"
    completed = subprocess.run(
        [sys.executable, "-m", "analysis", "build", "--as-of", "2023Q4", "--langs", "en"]
        + ["--results", str(by_build / "results"), "--reports", str(by_build / "reports")]
        + ["--jobs", "2"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 1, completed.stderr[-3000:]
    error = completed.stderr.strip().splitlines()[-1]
    assert error.startswith("error: 3 steps failed: ") and "--estimates-only" in error, error
    assert "evaluate final --estimates-only" in error
    assert made(by_build / "reports") == (files, [])
    portal = (by_build / "reports" / "index.html").read_text(encoding="utf-8")
    assert portal.count("failed in this build (step: estimates)") == 3, portal
