"""``make bench``'s steps: each runs in a process of its own and reports its estimate; here
they run in this process on a small extract, and the estimators agree with their peers."""

from __future__ import annotations

import pytest

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
