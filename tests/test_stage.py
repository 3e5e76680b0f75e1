"""The evaluation results stage: stored estimates come back bit for bit, and only as written."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis import aggte, att_gt, codec, provenance, twfe
from analysis.provenance import ProvenanceError


def _panel(seed=3, n=300, periods=6):
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(n), periods)
    t = np.tile(np.arange(1, periods + 1), n)
    g = np.repeat(rng.choice([0, 4, 5], n), periods)
    y = (
        np.repeat(rng.normal(size=n), periods)
        + 0.5 * ((g > 0) & (t >= g))
        + rng.normal(size=n * periods)
    )
    return pd.DataFrame(
        {"id": ids, "t": t, "g": g, "y": y, "hh": ids // 2, "d": (g > 0) & (t >= g)}
    )


def _same(a, b, where="$"):
    assert type(a) is type(b), where
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert a.attrs == b.attrs, where
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif type(a).__module__.startswith("analysis."):
        _same(vars(a), vars(b), where)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where


def test_estimates_come_back_bit_for_bit(tmp_path):
    panel = _panel()
    result = att_gt(panel, "y", "t", "id", "g", cluster="hh", bstrap=True, biters=49, seed=1)
    value = {
        "attgt": result,
        "dynamic": aggte(result, "dynamic"),
        "twfe": twfe(panel.assign(d=panel["d"].astype(int)), "y", "t", "id", "d", cluster="hh"),
        "panel": panel,
        "labels": pd.DataFrame({1: [1.5, np.nan], ("a", "b"): ["x", None]}),
        ("tuple", 1): {frozenset({"a"}), (1, 2)},
        "numbers": [np.float64(0.1) * 3, float("inf"), np.int64(7), None, True],
    }
    value["labels"].attrs["assignments"] = 3
    codec.dump(value, tmp_path)
    _same(value, codec.load(tmp_path))


def test_stored_estimates_keep_their_tables_and_drop_the_per_person_arrays(tmp_path):
    from analysis.effects.estimates import EffectEstimate, without_unit_arrays

    panel = _panel()
    result = att_gt(panel, "y", "t", "id", "g", cluster="hh", bstrap=True, biters=49, seed=1)
    aggregations = {k: aggte(result, k) for k in ("simple", "group", "dynamic", "calendar")}
    est = EffectEstimate(
        outcome="y",
        twfe=twfe(panel.assign(d=panel["d"].astype(int)), "y", "t", "id", "d", cluster="hh"),
        attgt=result,
        n_persons=300,
        n_treated_persons=200,
        **aggregations,
    )
    assert result.influence.shape[0] == 300  # a row per person before
    stored = without_unit_arrays(est)
    for name in ("influence", "unit_groups", "unit_weights", "unit_clusters"):
        assert getattr(stored.attgt, name) is None
    for name, aggregation in aggregations.items():
        kept = getattr(stored, name)
        assert kept.influence is None and kept.clusters is None
        pd.testing.assert_frame_equal(kept.table, aggregation.table, check_exact=True)
        assert (kept.overall_att, kept.overall_se) == (
            aggregation.overall_att,
            aggregation.overall_se,
        )
    pd.testing.assert_frame_equal(stored.attgt.table, result.table, check_exact=True)
    assert stored.twfe == est.twfe and without_unit_arrays(None) is None
    # The original is left as it was (the stage stores a copy).
    assert est.attgt.influence is result.influence
    codec.dump(stored, tmp_path)
    assert not (tmp_path / "arrays").exists() or not any((tmp_path / "arrays").iterdir())


def test_large_arrays_are_stored_as_npy_bit_for_bit(tmp_path):
    arrays = {
        "f": np.random.default_rng(0).normal(size=(200, 3)) * 1e-300,
        "i": np.arange(100, dtype=np.int32),
        "b": np.arange(100) % 3 == 0,
        "small": np.array([0.1, np.nan]),
    }
    arrays["f"][5, 1] = np.nan
    codec.dump(arrays, tmp_path)
    assert sorted(p.name for p in (tmp_path / codec.ARRAYS).iterdir()) == [
        "0000.npy",
        "0001.npy",
        "0002.npy",
    ]
    _same(arrays, codec.load(tmp_path))


_WRITE_SETS = """
import sys
from analysis import codec
value = {"sets": {frozenset({("adjustment", "2026Q1", f"k{i}"), ("amount", str(i))}) for i in range(30)}}
codec.dump(value, sys.argv[1])
"""


def test_two_writes_of_the_same_value_are_the_same_bytes(tmp_path):
    """Sets of sets (as the disclosure model's linked cells) do not follow the hash seed."""
    import os
    import subprocess
    import sys

    written = []
    for seed in ("1", "2"):
        folder = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-c", _WRITE_SETS, str(folder)], check=True, env=env)
        written.append((folder / codec.OBJECTS).read_bytes())
    assert written[0] == written[1]


def test_only_package_classes_are_rebuilt(tmp_path):
    with pytest.raises(codec.CodecError, match="cannot store"):
        codec.dump({"x": pd.Timestamp("2024-01-01").to_pydatetime()}, tmp_path / "a")
    codec.dump({"x": 1}, tmp_path / "b")
    (tmp_path / "b" / codec.OBJECTS).write_text(
        json.dumps({"$object": "os:system", "fields": {}}), encoding="utf-8"
    )
    with pytest.raises(codec.CodecError, match="refusing"):
        codec.load(tmp_path / "b")


def test_an_altered_stage_folder_is_refused(tmp_path):
    from analysis.reports.stage import load

    folder = tmp_path / "final" / "2028Q3"
    codec.dump({"report": {}, "extra": {}, "as_of": "2028Q3"}, folder)
    provenance.record(folder, provenance.SYNTHETIC, {}, {})
    (folder / codec.OBJECTS).write_text("{}", encoding="utf-8")
    with pytest.raises(ProvenanceError):
        load(folder, "config/contract.yaml")


def test_object_columns_keep_none_and_strings(tmp_path):
    frame = pd.DataFrame(
        {
            "report": pd.Series([None, "2025Q1", np.nan], dtype=object),
            "n": [1, 2, 3],
            "empty": pd.Series([None, None, None], dtype=object),
        }
    )
    frame.index = pd.Index(["a", "b", "c"], dtype=object, name="key")
    codec.dump({"f": frame, "e": frame.iloc[:0]}, tmp_path)
    back = codec.load(tmp_path)
    pd.testing.assert_frame_equal(back["f"], frame, check_exact=True)
    assert back["f"]["report"].tolist()[0] is None


@pytest.mark.slow
def test_sensitivity_in_processes_equals_one_process():
    # The stage runs the outcomes' sensitivity analyses side by side (stage.jobs()).
    from analysis.effects.sensitivity import sensitivity_all

    panels = {}
    for name, seed in (("a", 3), ("b", 4)):
        frame = _panel(seed=seed, n=200, periods=8)
        frame["g"] = np.where(frame["g"] > 0, frame["g"] + 2, 0)
        panels[name] = frame.rename(columns={"id": "person_id", "hh": "household_id"})
    alone = sensitivity_all(panels, seed=5, jobs=1)
    together = sensitivity_all(panels, seed=5, jobs=2)
    assert all(s is not None for s in alone)
    for a, b in zip(alone, together, strict=True):
        _same(a, b)


@pytest.mark.slow
def test_stage_from_stored_estimates_equals_the_stage_computed_whole(
    tmp_path, synthetic_dir, contract
):
    """`evaluate --estimates-only` then `evaluate --estimates` (as make runs them) stores
    exactly what one `evaluate` does."""
    from analysis import quarters
    from analysis.config import CONTRACT_FILE
    from analysis.payments.quarterly import write_quarterly_results
    from analysis.reports.kinds import load_kind
    from analysis.reports.stage import write, write_estimates
    from analysis.sdc.quarterly import publish

    kind = load_kind("midterm")
    as_of = kind.as_of(contract, None)
    root = tmp_path / "quarterly"
    for q in quarters.span(contract.timeline.intervention.start, as_of):
        write_quarterly_results(
            synthetic_dir, q, root / q, contract, lambda f, q=q: publish(root, q, contract, f)
        )
    whole = write(kind, as_of, synthetic_dir, root, CONTRACT_FILE, tmp_path / "whole")
    estimates = write_estimates(kind, as_of, synthetic_dir, CONTRACT_FILE, tmp_path / "est")
    parts = write(kind, as_of, synthetic_dir, root, CONTRACT_FILE, tmp_path / "parts", estimates)
    _same(codec.load(whole), codec.load(parts))
    # No results folder holds person-level rows or arrays: no panel (every stored
    # table is shorter than the fewest persons of an outcome) and no influence
    # function or per-unit cohort, weight or cluster in any stored estimate.
    persons = min(e.n_persons for e in codec.load(whole)["report"]["estimates"].values())
    unit_arrays = ("influence", "unit_groups", "unit_weights", "unit_clusters", "clusters")

    def no_unit_arrays(value, where):
        if isinstance(value, dict):
            for key, item in value.items():
                no_unit_arrays(item, f"{where}.{key}")
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                no_unit_arrays(item, f"{where}[{i}]")
        elif type(value).__module__.startswith("analysis."):
            for name in unit_arrays:
                assert getattr(value, name, None) is None, f"{where}.{name}"
            no_unit_arrays(vars(value), where)

    for folder in (whole, estimates, parts):
        for frame in (folder / "frames").glob("*.parquet"):
            assert len(pd.read_parquet(frame)) < persons, frame
        no_unit_arrays(codec.load(folder), folder.name)
