"""The out-of-core data layer (DuckDB) gives exactly what the pandas pipeline gives.

Checks, messages, quarterly results and estimation panels are compared on the
default extract, on every broken extract of the contract corpus written as
Parquet, and (slow) on a generated extract with a comparison pool of 100 thousand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.config import load_synthetic
from analysis.data import engine
from analysis.data.asof import as_of
from analysis.data.synth import generate
from analysis.data.validate import DataContractError, load_extract, summarise
from analysis.effects.panels import OUTCOMES, outcome_panel
from analysis.payments import ledger
from analysis.payments.quarterly import compute
from tests.test_data import BROKEN

CUTOFFS = ("2024Q2", "2025Q4", "2027Q1")


def _csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, float_format="%.10g", lineterminator="\n")


def _assert_same_results(pandas_extract, disk_extract, contract, cutoffs=CUTOFFS):
    tables = engine.quarterly_tables(disk_extract, contract)
    assert set(tables) == set(pandas_extract.tables) | {engine.PUPILS}
    for name, frame in tables.items():
        if name != engine.PUPILS:
            assert dict(frame.dtypes) == dict(pandas_extract.tables[name].dtypes), name
    for cutoff in cutoffs:
        expected = compute(pandas_extract, cutoff, contract)
        got = compute(tables, cutoff, contract)
        assert expected.key_numbers == got.key_numbers
        assert set(expected.tables) == set(got.tables)
        for name, frame in expected.tables.items():
            # Bit for bit, not to a tolerance: the results files must be the same.
            pd.testing.assert_frame_equal(
                frame, got.tables[name], check_exact=True, obj=f"{cutoff} {name}"
            )
            # And as the results files hold them (analysis.atomic.write_csv).
            assert _csv(frame) == _csv(got.tables[name]), f"{cutoff} {name}.csv"
    # The evaluation ledgers (write_ledger) settle every report due from the same tables.
    last = cutoffs[-1]
    pd.testing.assert_frame_equal(
        ledger.build(pandas_extract.tables, last, contract), ledger.build(tables, last, contract)
    )


def _assert_same_panels(pandas_extract, disk_extract, contract, tmp_path, cutoffs=CUTOFFS):
    out = tmp_path / "panel.parquet"
    for cutoff in cutoffs:
        data = as_of(pandas_extract.tables, cutoff, contract)
        for outcome in OUTCOMES:
            expected = outcome_panel(data, outcome)
            rows = engine.write_outcome_panel(disk_extract, cutoff, contract, outcome, out)
            assert rows == len(expected)
            pd.testing.assert_frame_equal(expected, pd.read_parquet(out), obj=outcome)
        # Balanced, as the benchmark's estimators use it.
        counts = expected.groupby("person_id")["t"].transform("size")
        balanced = expected.loc[counts == expected["t"].nunique()].reset_index(drop=True)
        engine.write_outcome_panel(disk_extract, cutoff, contract, outcome, out, balanced=True)
        pd.testing.assert_frame_equal(balanced, pd.read_parquet(out))


def test_default_extract_is_checked_out_of_core_with_the_same_result(
    synthetic_dir, extract, contract
):
    disk = load_extract(synthetic_dir, contract, out_of_core=True)
    assert set(disk.register) == set(engine.REGISTER_TABLES)
    assert not set(disk.tables) & set(disk.register)
    assert disk.checksums == extract.checksums
    assert disk.synthetic == extract.synthetic
    for name, frame in disk.tables.items():
        pd.testing.assert_frame_equal(frame, extract.tables[name])
    pd.testing.assert_frame_equal(summarise(disk), summarise(extract))


def test_quarterly_results_on_the_default_extract_are_identical(synthetic_dir, extract, contract):
    disk = load_extract(synthetic_dir, contract, out_of_core=True)
    _assert_same_results(extract, disk, contract)


def test_estimation_panels_on_the_default_extract_are_identical(
    synthetic_dir, extract, contract, tmp_path
):
    disk = load_extract(synthetic_dir, contract, out_of_core=True)
    _assert_same_panels(extract, disk, contract, tmp_path, cutoffs=("2024Q2", "2027Q1"))


def _write_parquet(directory, tables):
    """Every table as Parquet where Arrow can type it, else as CSV (the pandas way)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            frame.to_csv(directory / f"{name}.csv", index=False)
        else:
            pq.write_table(table, directory / f"{name}.parquet")
    return directory


def _message(folder, contract, out_of_core):
    with pytest.raises(DataContractError) as error:
        load_extract(folder, contract, out_of_core=out_of_core)
    return str(error.value)


def _nan_absence(tables):
    frame = tables["school_absence"].copy()
    frame.loc[[3, 7], "days_absent"] = np.nan
    return {**tables, "school_absence": frame}


def _many_duplicates(tables):
    frame = tables["social_measures"]
    return {**tables, "social_measures": pd.concat([frame, frame.iloc[:15]], ignore_index=True)}


def _null_person(tables):
    frame = tables["benefits"].copy()
    frame["person_id"] = frame["person_id"].astype(object)
    frame.loc[2, "person_id"] = None
    return {**tables, "benefits": frame}


def _int32_grade(tables):
    # A column of another physical type goes the pandas way, with the same messages.
    frame = tables["school_absence"].copy()
    frame["grade"] = frame["grade"].astype("int32")
    frame.loc[0, "grade"] = 12
    return {**tables, "school_absence": frame}


MORE = [
    ("missing days absent", _nan_absence),
    ("fifteen duplicate person-quarters", _many_duplicates),
    ("missing person id", _null_person),
    ("grade stored as int32", _int32_grade),
]


@pytest.mark.parametrize(
    ("name", "mutation"),
    [(b[0], b[1]) for b in BROKEN] + MORE,
    ids=[b[0] for b in BROKEN] + [m[0] for m in MORE],
)
def test_broken_parquet_extract_gives_the_same_message_out_of_core(
    tmp_path, small_tables, contract, name, mutation
):
    folder = _write_parquet(
        tmp_path / "broken", mutation({k: v.copy() for k, v in small_tables.items()})
    )
    assert _message(folder, contract, True) == _message(folder, contract, False)


def test_suspect_rows_are_few_on_a_clean_file(synthetic_dir, contract):
    """A clean register table costs one scan: no row of it is read into pandas."""
    from analysis.data.schemas import build_schemas

    schemas = build_schemas(contract)
    con = engine.connect()
    try:
        for name in engine.REGISTER_TABLES:
            suspects = engine.suspect_rows(
                con, synthetic_dir / f"{name}.parquet", schemas[name], contract
            )
            assert suspects.empty, name
    finally:
        con.close()


@pytest.mark.slow
def test_results_and_panels_are_identical_on_a_100k_extract(tmp_path, contract):
    folder = tmp_path / "extract-100k"
    generate(folder, contract, load_synthetic(), contract.seed, comparison_persons=100_000)
    pandas_extract = load_extract(folder, contract)
    disk = load_extract(folder, contract, out_of_core=True)
    pd.testing.assert_frame_equal(summarise(disk), summarise(pandas_extract))
    _assert_same_results(pandas_extract, disk, contract, cutoffs=("2025Q4", "2027Q1"))
    _assert_same_panels(pandas_extract, disk, contract, tmp_path, cutoffs=("2027Q1",))


def test_pupil_codes_give_the_pupil_panel_of_the_pandas_path(synthetic_dir, extract, contract):
    """The coded pupil-quarters are pupil_panel's rows, in its order, with ids as order-keeping codes."""
    from analysis.payments.absence import pupil_panel

    tables = engine.quarterly_tables(
        load_extract(synthetic_dir, contract, out_of_core=True), contract
    )
    for cutoff in ("2024Q2", "2027Q1"):
        expected = pupil_panel(as_of(extract.tables, cutoff, contract))
        got = as_of(tables, cutoff, contract)[engine.PUPILS]
        assert len(got) == len(expected) > 0
        persons = np.sort(extract.tables["persons"]["person_id"].to_numpy())
        np.testing.assert_array_equal(persons[got["person_id"].to_numpy()], expected["person_id"])
        # One code per household and one household per code.
        pairs = pd.DataFrame({"code": got["household_id"], "id": expected["household_id"]})
        assert (pairs.drop_duplicates().groupby("code").size() == 1).all()
        assert (pairs.drop_duplicates().groupby("id").size() == 1).all()
        for column in ("t", "g", "absence_rate"):
            np.testing.assert_array_equal(got[column].to_numpy(), expected[column].to_numpy())


def test_estimates_on_coded_ids_equal_those_on_the_strings(synthetic_dir, contract, tmp_path):
    """read_coded's int32 ids give the estimators' results bit for bit (the bench reads them)."""
    from analysis.did import aggte, att_gt, twfe

    disk = load_extract(synthetic_dir, contract, out_of_core=True)
    out = tmp_path / "panel.parquet"
    engine.write_outcome_panel(disk, "2027Q1", contract, "support_level", out, balanced=True)
    columns = ["person_id", "t", "y", "g", "treated", "household_id", "area"]
    strings = pd.read_parquet(out, columns=columns)
    coded = engine.read_coded(out, columns, ["person_id", "household_id", "area"])
    assert coded["person_id"].dtype == np.int32 and coded["t"].dtype == np.int32
    # Codes keep the ids' order and are one-to-one.
    order = np.sort(strings["person_id"].unique())
    np.testing.assert_array_equal(order[coded["person_id"].to_numpy()], strings["person_id"])
    for column in ("t", "g", "treated"):
        np.testing.assert_array_equal(coded[column].to_numpy(), strings[column].to_numpy())
    for cluster in ("household_id", "area"):
        expected = twfe(strings, "y", "t", "person_id", "treated", cluster=cluster)
        assert twfe(coded, "y", "t", "person_id", "treated", cluster=cluster) == expected
    expected = att_gt(strings, "y", "t", "person_id", "g", cluster="household_id")
    got = att_gt(coded, "y", "t", "person_id", "g", cluster="household_id")
    pd.testing.assert_frame_equal(expected.table, got.table, check_exact=True)
    np.testing.assert_array_equal(expected.influence, got.influence)
    assert expected.pretest == got.pretest
    for kind in ("simple", "group", "dynamic", "calendar"):
        a, b = aggte(expected, kind), aggte(got, kind)
        assert (a.overall_att, a.overall_se) == (b.overall_att, b.overall_se), kind
        pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)


def test_codes_keep_the_order_python_sorts_ids_in(tmp_path):
    """Codes from Parquet dictionaries (several row groups) and DuckDB's order follow Python's."""
    ids = ["b2", "Ø9", "A1", "å3", "B2", "a10", "a9", "Æ", "z", "Z", "b2", "ü", "A1"]
    path = tmp_path / "ids.parquet"
    pq.write_table(pa.table({"id": ids, "x": np.arange(len(ids))}), path, row_group_size=4)
    frame = engine.read_coded(path, ["id", "x"], ["id"])
    order = sorted(set(ids))
    assert [order[c] for c in frame["id"]] == ids
    np.testing.assert_array_equal(frame["x"].to_numpy(), np.arange(len(ids)))
    assert frame["x"].dtype == np.int32
    con = engine.connect()
    try:
        got = con.execute(f"SELECT DISTINCT id FROM read_parquet('{path}') ORDER BY id").fetchall()
    finally:
        con.close()
    assert [row[0] for row in got] == order


def test_reading_in_batches_gives_the_whole_column_reading(tmp_path, monkeypatch):
    """read_coded converts batch by batch (batches across and inside row groups): the same
    frame as converting each whole column (codes of the unified dictionary, int32
    integers; integers beyond int32 or with nulls, and floats with nulls, as pandas reads them)."""
    rng = np.random.default_rng(3)
    n = 1000
    ids = np.array([f"p{i:03d}" for i in rng.integers(0, 300, n)], dtype=object)
    table = pa.table(
        {
            "id": ids,
            "small": rng.integers(-5, 5, n),
            "big": rng.integers(0, 2, n) * (1 << 40),
            "holes": pa.array([None if i % 7 == 0 else i for i in range(n)], pa.int64()),
            "y": pa.array([None if i % 5 == 0 else float(i) / 3 for i in range(n)]),
        }
    )
    path = tmp_path / "panel.parquet"
    pq.write_table(table, path, row_group_size=128)
    columns = ["id", "small", "big", "holes", "y"]
    monkeypatch.setattr(engine, "BATCH_ROWS", 50)
    got = engine.read_coded(path, columns, ["id"])
    whole = pq.read_table(path, read_dictionary=["id"])
    np.testing.assert_array_equal(got["id"].to_numpy(), engine._order_codes(whole.column("id")))
    assert got["small"].dtype == np.int32
    np.testing.assert_array_equal(got["small"].to_numpy(), table.column("small").to_numpy())
    for name in ("big", "holes", "y"):
        pd.testing.assert_series_equal(got[name], whole.column(name).to_pandas(), check_names=False)
