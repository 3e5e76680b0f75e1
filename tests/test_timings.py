"""`python -m analysis timings`: a build's step timings summed per kind and laid out in time."""

from __future__ import annotations

import pytest

from analysis.pipeline.cli import main
from analysis.pipeline.timings import TimingsError, read, summary

CFG = "--config config/contract.yaml"
LINES = [
    f"0.90 0.10 100.00 103.00 {CFG} synth --out data/synthetic",
    f"0.30 0.10 103.00 104.00 {CFG} quarterly --data d --as-of 2023Q4 --out r/2023Q4",
    f"5.00 0.50 103.50 109.00 {CFG} evaluate final --estimates-only --data d --out e",
    f"0.70 0.10 104.00 105.00 {CFG} quarterly --data d --as-of 2024Q1 --out r/2024Q1",
    f"4.00 1.00 109.00 115.00 {CFG} evaluate final --data d --estimates e --out s",
    f"0.80 0.10 115.00 116.00 {CFG} report quarterly --as-of 2024Q1 --lang da",
    f"1.50 0.30 115.00 117.00 {CFG} report final --lang en",
]


def _write(tmp_path, lines):
    path = tmp_path / "times.txt"
    # Steps append when they end: the file is not in the order they started.
    path.write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")
    return path


def test_steps_are_grouped_by_kind_and_ordered_by_start(tmp_path):
    steps = read(_write(tmp_path, LINES))
    assert [s.start for s in steps] == sorted(s.start for s in steps)
    assert [s.kind for s in steps][:3] == [
        "synth",
        "quarterly results (the chain)",
        "evaluation estimates",
    ]
    text = summary(steps, cores=2)
    assert "| quarterly results (the chain) | 2 | 1.2 |" in text
    assert "| evaluation estimates | 1 | 5.5 |" in text
    assert "| evaluation stages | 1 | 5.0 |" in text
    assert "| quarterly reports | 1 | 0.9 |" in text
    assert "| evaluation reports | 1 | 1.8 |" in text
    assert "| all steps | 7 | 15.4 |" in text
    # 17 s from the first start to the last end on 2 cores: 34 core-seconds, 15.4 in steps.
    assert "first start to last end: 17.0 s; CPU / 2 cores: 7.7 s" in text
    assert "not spent in a step's CPU: 18.6" in text
    # The kinds come largest first.
    table = [line for line in text.splitlines() if line.startswith("| ")][1:]
    assert table[0].startswith("| evaluation estimates")


def test_unreadable_files_give_one_line(tmp_path, capsys):
    with pytest.raises(TimingsError, match="no step recorded"):
        read(_write(tmp_path, []))
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(TimingsError, match="not UTF-8"):
        read(binary)
    bad = tmp_path / "bad.txt"
    bad.write_text("0.1 x 1 2 synth\n", encoding="utf-8")
    with pytest.raises(TimingsError, match=r"bad.txt, line 1: expected"):
        read(bad)
    assert main(["timings", str(tmp_path / "missing.txt")]) == 2
    assert "missing.txt" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        main(["timings", str(bad), "--cores", "0"])
    assert stopped.value.code == 2
