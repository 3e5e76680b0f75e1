"""The command line and the Makefile: every command has help, and the docs match the code."""

from __future__ import annotations

import subprocess
import sys

import pytest

from analysis.data.contract_doc import render
from analysis.paths import ROOT
from analysis.pipeline.cli import build_parser

COMMANDS = [
    "synth",
    "validate",
    "quarterly",
    "ledger",
    "calibrate",
    "report",
    "evaluate",
    "make-targets",
    "contract-sections",
    "data-contract",
    "verify",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([command, "--help"])
    assert exit_.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_module_entry_point():
    completed = subprocess.run(
        [sys.executable, "-m", "analysis", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert completed.returncode == 0
    for command in COMMANDS:
        assert command in completed.stdout


def test_make_prints_help_from_comments():
    completed = subprocess.run(
        ["make", "--no-print-directory"], capture_output=True, text=True, cwd=ROOT
    )
    assert completed.returncode == 0
    for target in ("setup", "data", "report", "test", "lint", "clean", "verify", "bench"):
        assert target in completed.stdout


def test_data_contract_document_matches_the_schemas(contract):
    assert (ROOT / "data" / "README.md").read_text(encoding="utf-8") == render(contract), (
        "run `python -m analysis data-contract`"
    )


def test_bad_config_is_one_clear_error(tmp_path):
    bad = tmp_path / "contract.yaml"
    bad.write_text("programme: [unclosed\n")
    completed = subprocess.run(
        [sys.executable, "-m", "analysis", "--config", str(bad), "validate"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert completed.returncode == 1
    assert "not valid YAML" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_make_targets_lists_every_report(contract):
    from analysis.pipeline.rules import make_targets

    text = make_targets(contract, "2025Q1", ["da", "en"], ["da"])
    assert "kvartalsrapport-2023Q4.da.html" in text and "kvartalsrapport-2025Q1.da.html" in text
    assert "kvartalsrapport-2025Q2" not in text
    # A quarter counts as done only when its completion marker (written last) is there.
    assert "$(RESULTS)/quarterly/2025Q1/provenance.json:" in text
    assert "key_numbers.json" not in text
    # Each evaluation's results stage is computed once and read by both languages;
    # its estimates, once, by a rule that waits for no quarterly results.
    assert text.count(" evaluate final ") == 2
    assert "$(RESULTS)/final/2028Q3/provenance.json:" in text
    (estimates,) = [
        line for line in text.splitlines() if line.startswith("$(RESULTS)/estimates/final/")
    ]
    assert "quarterly" not in estimates
    (stage,) = [line for line in text.splitlines() if line.startswith("$(RESULTS)/final/2028Q3")]
    assert "$(RESULTS)/estimates/final/2028Q3/provenance.json" in stage
    (rule,) = [
        line for line in text.splitlines() if " &: " in line and "final/slutevaluering.da" in line
    ]
    assert "$(RESULTS)/final/2028Q3/provenance.json" in rule
    for name in (
        "midtvejsevaluering.da.pdf",
        "midterm-evaluation.en.pdf",
        "slutevaluering.da.html",
        "final-evaluation.en.html",
        "forelobig-slutevaluering.da.html",
    ):
        assert name in text


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args], capture_output=True, text=True, cwd=ROOT
    )


@pytest.mark.parametrize("as_of", ["2025-Q1", "2025q1", "Q1 2025", "", "２０２５Q1"])
@pytest.mark.parametrize("command", ["quarterly", "report"])
def test_malformed_as_of_is_one_line(tmp_path, command, as_of):
    extra = ["--out", str(tmp_path / "out")] if command == "quarterly" else ["quarterly"]
    completed = _run(command, *extra, "--as-of", as_of)
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1, completed.stderr
    assert "argument --as-of" in completed.stderr and "YYYYQn" in completed.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("as_of", ["2019Q4", "2023Q3", "2029Q1", "2030Q1"])
def test_as_of_outside_the_programme_is_refused(tmp_path, synthetic_dir, as_of):
    out = tmp_path / "quarterly" / as_of
    completed = _run("quarterly", "--data", str(synthetic_dir), "--as-of", as_of, "--out", str(out))
    assert completed.returncode == 1
    assert completed.stderr.startswith(f"error: --as-of {as_of} is outside 2023Q4–2028Q4")
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / "quarterly").exists()


def test_report_from_a_missing_quarterly_dir_is_one_line(tmp_path):
    completed = _run(
        "report",
        "quarterly",
        "--as-of",
        "2025Q1",
        "--quarterly-dir",
        "/nonexistent",
        "--reports",
        str(tmp_path / "reports"),
    )
    assert completed.returncode == 1
    assert completed.stderr == "error: --quarterly-dir /nonexistent: no such folder\n"
    assert not (tmp_path / "reports").exists()


def test_make_targets_refuses_a_malformed_as_of():
    completed = _run("make-targets", "--as-of", "2025q1")
    assert completed.returncode == 1
    assert completed.stderr == "error: AS_OF / --as-of '2025q1' is not a quarter written YYYYQn\n"


@pytest.mark.parametrize("as_of", ["2019Q4", "2023Q3", "2030Q1"])
@pytest.mark.parametrize("command", ["make-targets", "build"])
def test_last_quarter_outside_the_programme_is_refused_up_front(tmp_path, command, as_of):
    extra = ["--results", str(tmp_path / "results"), "--reports", str(tmp_path / "reports")]
    completed = _run(command, "--as-of", as_of, *(extra if command == "build" else []))
    assert completed.returncode == 1
    assert completed.stderr == (
        f"error: --as-of {as_of} is outside 2023Q4–2028Q4: "
        "the programme's quarterly reports cover that window\n"
    )
    assert completed.stdout == ""
    assert not any(tmp_path.iterdir())


def test_build_names_a_malformed_as_of(tmp_path):
    completed = _run("build", "--as-of", "2025q1", "--results", str(tmp_path / "results"))
    assert completed.returncode == 1
    assert completed.stderr == "error: AS_OF / --as-of '2025q1' is not a quarter written YYYYQn\n"
    assert not any(tmp_path.iterdir())


def test_ledger_from_a_missing_quarterly_dir_is_one_line(tmp_path, synthetic_dir):
    out = tmp_path / "ledger" / "2025Q2.csv"
    completed = _run(
        "ledger",
        "--data",
        str(synthetic_dir),
        "--as-of",
        "2025Q2",
        "--quarterly-dir",
        "/nonexistent",
        "--out",
        str(out),
    )
    assert completed.returncode == 1
    assert completed.stderr == "error: --quarterly-dir /nonexistent: no such folder\n"
    assert not out.parent.exists()


@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_an_evaluation_refuses_another_cut_off(tmp_path, command, contract):
    from analysis.reports.kinds import load_kind

    fixed = load_kind("midterm").as_of(contract, None)
    completed = _run(
        command, "midterm", "--as-of", "2019Q4", "--quarterly-dir", str(tmp_path / "quarterly")
    )
    assert completed.returncode == 1
    assert completed.stderr == (
        f"error: --as-of 2019Q4: the midterm report's cut-off is fixed by the contract ({fixed}); "
        "leave --as-of out\n"
    )
    assert not any(tmp_path.iterdir())


ESTIMATED = ("midterm/2025Q2", "preliminary_final/2027Q1", "final/2028Q3")


@pytest.mark.parametrize("as_of", [None, "2027Q1"])
def test_make_targets_lanes_keep_a_slot_for_the_quarterly_chain(contract, as_of):
    """Default chain (to the final cut-off) and a shorter one (the final's payments stored apart)."""
    from analysis.pipeline.rules import make_targets

    plain = make_targets(contract, as_of, ["da", "en"], ["da"])
    assert (
        "ifneq" not in plain
        and make_targets(contract, as_of, ["da", "en"], ["da"], jobs=1) == plain
    )
    text = make_targets(contract, as_of, ["da", "en"], ["da"], jobs=2)
    block = text[text.index("ifneq ($(filter report report-files,$(MAKECMDGOALS)),)") :]
    # The waits are left out in the pass after a failed step (WAITS=no, the Makefile's report).
    assert block.splitlines()[1] == "ifneq ($(WAITS),no)"
    block = block[: block.index("endif")].splitlines()[2:]
    after = dict(line.split(": | ") for line in block)
    end = as_of or contract.timeline.evaluations.final
    last = f"$(RESULTS)/quarterly/{end}/provenance.json"
    estimates = [f"$(RESULTS)/estimates/{k}/provenance.json" for k in ESTIMATED]
    # One lane: the estimates one after the other beside the chain, the final one first.
    assert after[estimates[1]] == estimates[2] and after[estimates[0]] == estimates[1]
    assert estimates[2] not in after
    # The evaluation steps beside or after the chain wait for the gate: the chain's end
    # and what the final stage needs, so that make starts the final stage first. The
    # quarterly (payment) reports wait for the chain's end only, never for estimation.
    gate = f"{last} {estimates[2]}"
    if as_of is not None:
        # The chain stops before the final cut-off: its ledger step stores those payments.
        gate += " $(RESULTS)/ledger/2028Q3.csv $(RESULTS)/payments/2028Q3/provenance.json"
    others = [targets for targets in after if targets not in estimates]
    payments = [targets for targets in others if "kvartalsrapport" in targets]
    evaluations = [targets for targets in others if targets not in payments]
    assert payments and all(after[targets] == last for targets in payments)
    assert evaluations and all(after[targets] == gate for targets in evaluations)
    held = " ".join(others)
    assert "kvartalsrapport-2023Q4" in held and "kvartalsrapport-2027Q1" in held
    assert "midterm/2025Q2/provenance.json" in held and "midterm-evaluation.en" in held
    assert "preliminary_final/2027Q1/provenance.json" in held
    # The chain is in no lane, nor is the final stage, its reports or the ledger.
    assert "$(RESULTS)/quarterly/" not in held
    assert "/final/" not in held
    assert "ledger" not in held
    # make walks the evaluations first, the final one first: its stage is the longest
    # step after the chain.
    goals = text[text.index("REPORT_FILES := ") :].splitlines()[0].split()[2:]
    assert goals[0] == "$(REPORTS)/final/slutevaluering.da.html"
    assert [g for g in goals if "/quarterly/" not in g] == goals[:12]
    # Without evaluation reports nothing needs the final stage: the held steps wait for
    # the chain's end only, and the final estimates and ledger are not brought in.
    alone = make_targets(contract, as_of, [], ["da"], jobs=2)
    held_alone = [line for line in alone.splitlines() if ".da.results.json: | " in line]
    assert held_alone and all(line.endswith(f": | {last}") for line in held_alone)
    # Three job slots: two lanes, the midterm estimate after the final one.
    wider = make_targets(contract, as_of, ["da", "en"], ["da"], jobs=3)
    assert f"{estimates[0]}: | {estimates[2]}" in wider
    assert f"{estimates[1]}: | " not in wider
