"""The size benchmark's bookkeeping (analysis/size.py): merging runs, the table, the docs block.

The benchmark itself is a long Monte Carlo run (``make size``), not a test; these tests
check that its tables say what its files hold.
"""

from __future__ import annotations

import json

import pytest
from scipy import stats

from analysis import size
from analysis.config import load_synthetic
from analysis.data.synth import comparison_design


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _record(seed, scenario, **outcomes):
    return {"seed": seed, "scenario": scenario, "as_of": "2028Q3", "outcomes": outcomes}


def test_a_later_run_overlays_an_earlier_one_key_by_key(tmp_path):
    early = _write(
        tmp_path / "a.jsonl",
        [
            _record(1, "null", ladder_step={"area_p": 0.01, "household_reject": True}),
            _record(2, "null", ladder_step={"area_p": 0.50, "household_reject": False}),
        ],
    )
    late = _write(
        tmp_path / "b.jsonl",
        [_record(1, "null", ladder_step={"area_p": 0.70, "pretrend_area_p": 0.2})],
    )
    records = {r["seed"]: r for r in size.load_records([early, late])}
    assert records[1]["outcomes"]["ladder_step"] == {
        "area_p": 0.70,
        "household_reject": True,
        "pretrend_area_p": 0.2,
    }
    assert records[2]["outcomes"]["ladder_step"]["area_p"] == 0.50
    table = size.summary([early, late])
    area = table.loc[table["procedure"].str.startswith("area placebo test (matched")]
    assert area["n"].tolist() == [2] and area["rate"].tolist() == [0.0]
    pre = table.loc[table["procedure"] == "area pre-trend placebo test"]
    assert pre["n"].tolist() == [1]
    # An outcome measured on fewer extracts than its row says so in its cell.
    mixed = _write(
        tmp_path / "c.jsonl",
        [
            _record(1, "null", ladder_step={"area_p": 0.5}, absence_rate={"area_p": 0.5}),
            _record(2, "null", ladder_step={"area_p": 0.5}),
        ],
    )
    row = size.markdown(size.summary([mixed])).splitlines()[2]
    assert row.count("; n = 1)") == 1 and "| 2 |" in row


def test_runs_cut_at_different_quarters_are_not_merged(tmp_path):
    early = _write(tmp_path / "a.jsonl", [_record(1, "null", ladder_step={"area_p": 0.1})])
    other = _record(1, "null", ladder_step={"area_p": 0.2})
    late = _write(tmp_path / "b.jsonl", [{**other, "as_of": "2026Q3"}])
    with pytest.raises(ValueError, match="2026Q3"):
        size.load_records([early, late])


def test_table_marks_rates_outside_the_band_and_says_each_role(tmp_path):
    records = [
        _record(s, "null", ladder_step={"area_p": 0.01 if s < 2 else 0.5, "area_cover": True})
        for s in range(40)
    ]
    path = _write(tmp_path / "a.jsonl", records)
    text = size.markdown(size.summary([path]))
    row = next(line for line in text.splitlines() if line.startswith("| area placebo test (m"))
    assert "| decides the verdict |" in row
    assert "| 5.0 % (" in row  # 2 of 40: inside 3-7 %, not bold
    cover = next(line for line in text.splitlines() if line.startswith("| area-robust CI"))
    assert "**100.0 % (" in cover  # outside 92-98 %: bold


def test_docs_block_is_replaced_and_nothing_else(tmp_path):
    path = _write(tmp_path / "run.jsonl", [_record(7, "null", ladder_step={"area_p": 0.3})])
    doc = tmp_path / "doc.md"
    doc.write_text(
        f"before\n{size.MARK_START}\nold table\n{size.MARK_END}\nafter\n", encoding="utf-8"
    )
    size.write_docs(doc, [path], "| new |")
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("before\n") and text.endswith(f"{size.MARK_END}\nafter\n")
    assert "old table" not in text and "| new |" in text and f"--out {path.as_posix()} " in text
    doc.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="size-table"):
        size.write_docs(doc, [path], "| new |")


def test_anticipation_part_runs_the_anticipation_test_alone():
    """``--parts anticipation`` re-runs only the anticipation test (the pre-trend test
    and everything else are left to the run it is merged over)."""
    record = size.one_extract(20000, "null", "2028Q3", 0, parts=("anticipation",))
    assert set(record["outcomes"]) == set(size.OUTCOMES)
    for row in record["outcomes"].values():
        assert set(row) == {"truth", "anticipation_area_p"}
        assert 0 < row["anticipation_area_p"] <= 1


SDID_ROW = "synthetic DiD, areas (placebo variance, t(N_co − 1))"


def test_the_synthetic_did_rows_count_its_rejections_and_coverage(tmp_path):
    """``--parts sdid`` records (``sdid_p`` under no effect, ``sdid_cover`` with effects)
    make the table's two synthetic DiD rows, labelled as deciding nothing."""
    path = _write(
        tmp_path / "s.jsonl",
        [
            _record(1, "null", ladder_step={"sdid_p": 0.01, "sdid_cover": False}),
            _record(2, "null", ladder_step={"sdid_p": 0.40, "sdid_cover": True}),
            _record(1, "effects", ladder_step={"sdid_p": 0.001, "sdid_cover": True}),
        ],
    )
    table = size.summary([path])
    rows = table.loc[table["procedure"] == SDID_ROW]
    assert rows["extracts"].tolist() == ["no effect", "default effects"]
    assert rows["rate"].tolist() == [0.5, 1.0] and rows["n"].tolist() == [2, 1]
    assert set(rows["role"]) == {"robustness row (final), decides nothing"}
    assert "sdid" in size.PARTS and "sdid" in size.EFFECTS_PARTS


def test_synthetic_did_records_with_the_normal_interval_get_the_t_reference(tmp_path):
    """A record written before the t reference (no ``sdid_df``) is counted with the t
    interval derived from its stored estimate and normal interval; a record that states
    ``sdid_se`` and ``sdid_df`` is counted as written."""
    z, df = stats.norm.ppf(0.975), comparison_design(load_synthetic())[1] - 1
    att, se = 0.1, 0.05

    def legacy(truth):
        # |att − truth| = 2 SE: outside the normal interval (1.96), inside t's (> 2 here).
        return {
            "truth": truth,
            "sdid_att": att,
            "sdid_ci": [att - z * se, att + z * se],
            "sdid_p": 2 * stats.norm.sf(2.0),
            "sdid_cover": False,
        }

    current = {"truth": 0.0, "sdid_att": att, "sdid_se": se, "sdid_df": df, "sdid_p": 0.001}
    path = _write(
        tmp_path / "s.jsonl",
        [
            _record(1, "null", ladder_step=legacy(0.0)),
            _record(2, "null", ladder_step=current),
            _record(1, "effects", ladder_step=legacy(att - 2 * se)),
        ],
    )
    table = size.summary([path])
    rows = table.loc[table["procedure"] == SDID_ROW].set_index("extracts")
    # The legacy null record no longer rejects (t p-value above 5 %), the current one does.
    assert rows.loc["no effect", "rate"] == 0.5
    assert rows.loc["default effects", "rate"] == 1.0
    records = size.load_records([path])
    assert size.sdid_t_reference(records) == 2
    row = records[1]["outcomes"]["ladder_step"]
    assert row["sdid_se"] == pytest.approx(se, rel=1e-12) and row["sdid_df"] == df
    assert row["sdid_p"] == pytest.approx(2 * stats.t.sf(2.0, df), rel=1e-10)
    assert records[2]["outcomes"]["ladder_step"] == current
    doc = tmp_path / "doc.md"
    doc.write_text(f"{size.MARK_START}\n{size.MARK_END}\n", encoding="utf-8")
    size.write_docs(doc, [path], "| t |")
    assert "values of 2 extracts were written with the normal" in doc.read_text(encoding="utf-8")


def test_honest_rows_of_both_covariances_are_told_apart(tmp_path):
    """``honest_<M̄>_…`` (household-clustered) and ``honest_area_<M̄>_…`` (area placebo
    covariance) make rows of their own, at M̄ = 0 and at the plan's M̄."""
    values = {
        "honest_0_reject": True,
        "honest_1_reject": False,
        "honest_area_0_reject": False,
        "honest_area_1_reject": False,
    }
    path = _write(tmp_path / "h.jsonl", [_record(1, "null", ladder_step=values)])
    table = size.summary([path]).set_index("procedure")["rate"]
    assert table["HonestDiD interval, M̄ = 0 (breakdown M̄ > 0)"] == 1.0
    assert table["HonestDiD interval, area placebo covariance, M̄ = 0 (breakdown M̄ > 0)"] == 0.0
    assert table["HonestDiD interval, area placebo covariance, M̄ = 1"] == 0.0
    assert table["HonestDiD interval, M̄ = 1"] == 0.0
    assert not any("M̄ = area" in label for label in table.index)
