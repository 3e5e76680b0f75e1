"""The command line and the Makefile: every command has help, and the docs match the code."""

from __future__ import annotations

import subprocess
import sys

import pytest

from analysis.cli import build_parser
from analysis.data.contract_doc import render
from analysis.paths import ROOT

COMMANDS = [
    "synth",
    "validate",
    "quarterly",
    "ledger",
    "calibrate",
    "report",
    "make-targets",
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
    from analysis.reports.maketargets import make_targets

    text = make_targets(contract, "2025Q1", ["da", "en"], ["da"])
    assert "kvartalsrapport-2023Q4.da.html" in text and "kvartalsrapport-2025Q1.da.html" in text
    assert "kvartalsrapport-2025Q2" not in text
    for name in (
        "midtvejsevaluering.da.pdf",
        "midterm-evaluation.en.pdf",
        "slutevaluering.da.html",
        "final-evaluation.en.html",
        "forelobig-slutevaluering.da.html",
    ):
        assert name in text
