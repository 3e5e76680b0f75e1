"""The quarter as a value: its arithmetic and wording, and one parse per entry point.

:class:`analysis.quarters.Quarter` is parsed where a quarter enters the program
(the command line, the configuration files) and carried from there: following
``as_of`` through a step parses it no more. The entry-point tests count the
parses of the step's quarter by where they happen (:data:`analysis.quarters.PARSES`,
traced): the command line's and the configuration's parses are the edges, each
once; the disclosure package (``analysis/sdc/``, under rewrite) parses the quarters
in cell keys read back from published files, which are data, and is left out.
"""

from __future__ import annotations

import collections
import pickle
import traceback

import pytest
import yaml

from analysis import quarters
from analysis.paths import ROOT
from analysis.quarters import Quarter


def test_a_quarter_is_its_label_with_an_index():
    q = Quarter("2025Q2")
    assert q == "2025Q2" and hash(q) == hash("2025Q2") and {"2025Q2": 1}[q] == 1
    assert q.index == quarters.to_index("2025Q2") == 2025 * 4 + 1
    assert (q.year, q.number) == (2025, 2)
    assert Quarter(q) is q


def test_quarter_arithmetic_and_order():
    q = Quarter("2025Q4")
    assert q + 1 == "2026Q1" and isinstance(q + 1, Quarter)
    assert q - 4 == "2024Q4" and q - Quarter("2024Q4") == 4 and q - "2025Q1" == 3
    assert sorted([Quarter("2026Q1"), "2025Q4", Quarter("2024Q2")]) == [
        "2024Q2",
        "2025Q4",
        "2026Q1",
    ]
    assert Quarter("2025Q4") < "2026Q1" and Quarter.of(q.index) == q
    assert quarters.span("2025Q3", "2026Q1") == ["2025Q3", "2025Q4", "2026Q1"]
    assert quarters.shift(q, -1) == "2025Q3"
    assert q + "x" == "2025Q4x"  # still a string where a string is wanted


def test_quarter_wording_in_both_languages():
    from analysis.render.numbers import quarter

    q = Quarter("2027Q1")
    assert q.label("da") == "1. kvartal 2027" == quarter("2027Q1", "da") == quarter(q, "da")
    assert q.label("en") == "Q1 2027" == quarter("2027Q1", "en") == quarter(q, "en")


def test_a_quarter_is_written_and_read_as_its_label():
    import json

    q = Quarter("2025Q2")
    assert json.dumps({q: q}) == '{"2025Q2": "2025Q2"}'
    assert yaml.safe_load(yaml.safe_dump({"as_of": q})) == {"as_of": "2025Q2"}
    back = pickle.loads(pickle.dumps(q))
    assert back == q and back.index == q.index and isinstance(back, Quarter)


@pytest.mark.parametrize("bad", ["2025q1", "2025-Q1", "Q1 2025", "2025Q5", "２０２５Q1"])
def test_a_malformed_quarter_is_named(bad):
    with pytest.raises(ValueError, match="YYYYQn"):
        Quarter(bad)


def test_the_configuration_holds_quarters(contract):
    timeline = contract.timeline
    for value in (
        timeline.evaluations.final,
        timeline.intervention.start,
        timeline.result_reports[0],
    ):
        assert isinstance(value, Quarter)


class _Traced(collections.Counter):
    """:data:`quarters.PARSES` that notes where each parse of ``label`` happened."""

    def __init__(self, label: str):
        super().__init__()
        self.label = label
        self.sites: list[str] = []

    def __setitem__(self, key, value):
        if key == self.label:
            frames = [
                f
                for f in traceback.extract_stack()[:-2]
                if f.filename.startswith(str(ROOT / "analysis"))
                and not f.filename.endswith("quarters.py")
            ]
            self.sites.append(f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?")
        super().__setitem__(key, value)


def _parses(monkeypatch, label: str) -> _Traced:
    traced = _Traced(label)
    monkeypatch.setattr(quarters, "PARSES", traced)
    return traced


def _by_place(sites: list[str]) -> collections.Counter:
    places = collections.Counter()
    for site in sites:
        relative = site[len(str(ROOT)) + 1 :].partition(":")[0]
        if relative.startswith("analysis/sdc/"):
            continue  # cell keys read back from published files (data; see the docstring)
        places[relative] += 1
    return places


def test_the_quarterly_step_parses_its_quarter_once(tmp_path, synthetic_dir, monkeypatch):
    """``python -m analysis quarterly --as-of 2024Q1``: the command line parses it, nothing after."""
    from analysis.pipeline.cli import main

    traced = _parses(monkeypatch, "2024Q1")
    out = tmp_path / "quarterly" / "2024Q1"
    args = ["quarterly", "--data", str(synthetic_dir), "--as-of", "2024Q1", "--out", str(out)]
    assert main(args) == 0
    assert _by_place(traced.sites) == {"analysis/pipeline/cli.py": 1}, traced.sites


@pytest.mark.slow
def test_the_evaluation_step_parses_its_quarter_once(
    tmp_path, synthetic_dir, contract, monkeypatch
):
    """``python -m analysis evaluate midterm``: its quarter comes from the contract, read once.

    The contract holds 2025Q2 twice (the midterm evaluation and the end of
    enrolment): two fields, each parsed once, and nothing parses it after.
    """
    from analysis.payments.quarterly import write_quarterly_results
    from analysis.pipeline.cli import main
    from analysis.sdc.quarterly import publish

    root = tmp_path / "results" / "quarterly"
    for q in quarters.span(contract.timeline.intervention.start, "2025Q2"):
        write_quarterly_results(
            synthetic_dir, q, root / q, contract, lambda f, q=q: publish(root, q, contract, f)
        )
    fields = yaml.safe_load((ROOT / "config" / "contract.yaml").read_text(encoding="utf-8"))
    in_contract = str(fields["timeline"]).count("'2025Q2'")
    traced = _parses(monkeypatch, "2025Q2")
    args = ["evaluate", "midterm", "--data", str(synthetic_dir), "--quarterly-dir", str(root)]
    assert main([*args, "--out", str(tmp_path / "midterm")]) == 0
    assert _by_place(traced.sites) == {"analysis/config.py": in_contract}, traced.sites
