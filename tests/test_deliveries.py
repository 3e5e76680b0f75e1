"""Successive deliveries and the quarterly settlement cycle.

The contract is run as a data team runs it: each quarter from the latest delivery,
settled once into the settlement record; a later delivery that revises earlier
quarters never changes what was settled, and the next settlement carries the
adjustments with their reason.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from analysis.config import load_synthetic
from analysis.data import deliveries
from analysis.payments import settlement
from analysis.payments.quarterly import write_quarterly_results
from analysis.payments.store import SettlementRecordError, SettlementStore
from analysis.provenance import sign_extract


@pytest.fixture(scope="module")
def delivered(tmp_path_factory, synthetic_dir, contract):
    """The session's synthetic extract as deliveries with the default revisions."""
    out = tmp_path_factory.mktemp("deliveries") / "synthetic"
    deliveries.write_synthetic(synthetic_dir, out, contract, load_synthetic(), contract.seed)
    return out


@pytest.fixture(scope="module")
def delivered_exactly(tmp_path_factory, synthetic_dir, contract):
    """Deliveries without any revision: every delivery is the final registers, cut."""
    synth = load_synthetic()
    synth = synth.model_copy(
        update={
            "deliveries": synth.deliveries.model_copy(
                update={
                    "late_registration": 0.0,
                    "benefit_correction": 0.0,
                    "absence_correction": 0.0,
                    "late_exit": 0.0,
                }
            )
        }
    )
    out = tmp_path_factory.mktemp("exact") / "synthetic"
    deliveries.write_synthetic(synthetic_dir, out, contract, synth, contract.seed)
    return out


def _run(data, quarter, root, contract, record):
    return write_quarterly_results(data, quarter, root / quarter, contract, record=record)


def test_each_quarter_reads_the_latest_delivery_at_or_before_it(delivered, contract):
    assert deliveries.for_quarter(delivered, "2025Q1").name == "2025Q1"
    assert deliveries.is_deliveries(delivered)
    assert deliveries.reach(delivered, contract) == "2028Q3"
    first = deliveries.deliveries(delivered)[0][0]
    assert first == contract.timeline.intervention.start
    with pytest.raises(deliveries.DeliveryError, match="no delivery at or before 2023Q3"):
        deliveries.for_quarter(delivered, "2023Q3")


def test_a_single_extract_reaches_its_last_register_quarter_plus_the_lag(
    synthetic_dir, contract, tmp_path
):
    assert deliveries.reach(synthetic_dir, contract) == "2028Q3"
    cut = tmp_path / "cut"
    shutil.copytree(synthetic_dir, cut)
    for name in deliveries.REGISTER_TABLES:
        frame = pd.read_parquet(cut / f"{name}.parquet")
        frame.loc[frame["quarter"] <= "2025Q2"].to_parquet(cut / f"{name}.parquet")
    assert deliveries.reach(cut, contract) == "2025Q3"


def test_deliveries_without_revisions_give_the_numbers_of_the_single_extract(
    delivered_exactly, synthetic_dir, contract, tmp_path
):
    for quarter in ("2024Q4", "2025Q1"):
        one = _run(synthetic_dir, quarter, tmp_path / "one", contract, tmp_path / "one.sqlite")
        many = _run(
            delivered_exactly, quarter, tmp_path / "many", contract, tmp_path / "many.sqlite"
        )
        for name in ("payment_statement", "targets", "enrolment", "payments_capped", "investors"):
            pd.testing.assert_frame_equal(
                pd.read_csv(one / f"{name}.csv"), pd.read_csv(many / f"{name}.csv"), obj=name
            )
        numbers = [
            {
                k: v
                for k, v in json.loads((f / "key_numbers.json").read_text()).items()
                if k not in ("inputs", "delivery")
            }
            for f in (one, many)
        ]
        assert numbers[0] == numbers[1]


def test_a_later_delivery_never_rewrites_a_settlement_and_adds_adjustments(
    delivered, contract, tmp_path
):
    record = tmp_path / "record.sqlite"
    root = tmp_path / "quarterly"
    _run(delivered, "2025Q1", root, contract, record)
    with SettlementStore(record) as store:
        first = store.entries()
    assert set(first["report"]) == {"2025Q1"} and (first["kind"] == "settlement").all()
    _run(delivered, "2026Q1", root, contract, record)
    with SettlementStore(record) as store:
        after = store.entries()
    # The 2025Q1 entries are untouched; 2026Q1 carries the revisions as adjustments.
    pd.testing.assert_frame_equal(after.iloc[: len(first)], first)
    adjustments = after.loc[after["kind"] == "adjustment"]
    assert len(adjustments) >= 1
    assert adjustments["corrects"].str.startswith("2025Q1:").all()
    assert adjustments["reason"].str.startswith("revised_data:").all()
    # Re-running the old quarter gives the same results as before (its own delivery).
    before = (root / "2025Q1" / "payment_statement.csv").read_bytes()
    _run(delivered, "2025Q1", root, contract, record)
    assert (root / "2025Q1" / "payment_statement.csv").read_bytes() == before
    with SettlementStore(record) as store:
        pd.testing.assert_frame_equal(store.entries(), after)


def test_a_revision_of_benefit_rows_is_adjusted_with_its_reason(delivered, contract, tmp_path):
    """The data team's experiment: a later delivery corrects nine benefit rows of
    intervention persons for 2024Q3-2024Q4 (employment read as job-ready assistance)."""
    data = tmp_path / "deliveries"
    shutil.copytree(delivered, data)
    record = tmp_path / "record.sqlite"
    root = tmp_path / "quarterly"
    for quarter in ("2025Q1", "2026Q1"):
        _run(data, quarter, root, contract, record)
    with SettlementStore(record) as store:
        settled = store.entries()
    later = data / "2027Q1"
    households = pd.read_parquet(later / "households.parquet")
    persons = pd.read_parquet(later / "persons.parquet")
    treated = persons.loc[
        persons["household_id"].isin(
            households.loc[households["group"] == "intervention", "household_id"]
        ),
        "person_id",
    ]
    benefits = pd.read_parquet(later / "benefits.parquet")
    rows = benefits.index[
        benefits["person_id"].isin(treated)
        & benefits["quarter"].isin(["2024Q3", "2024Q4"])
        & (benefits["benefit_category"] == "beskaeftigelse")
    ][:9]
    assert len(rows) == 9
    benefits.loc[rows, "benefit_category"] = "kontanthjaelp_jobparat"
    benefits.to_parquet(later / "benefits.parquet")
    (later / "manifest.json").unlink()  # a delivery from the municipality: real data
    _run(data, "2027Q1", root, contract, record)
    with SettlementStore(record) as store:
        after = store.entries()
    pd.testing.assert_frame_equal(after.iloc[: len(settled)], settled)
    new = after.iloc[len(settled) :]
    employment = new.loc[(new["kind"] == "adjustment") & (new["corrects"] == "2025Q1:employment")]
    assert len(employment) == 1
    assert employment["amount"].iloc[0] < 0
    assert "benefits" in employment["reason"].iloc[0]
    ledger = pd.read_csv(root / "2027Q1" / "ledger.csv", keep_default_na=False)
    assert set(ledger["data_kind"]) == {"synthetic", "real"}


def test_an_older_delivery_is_refused(delivered, contract, tmp_path):
    record = tmp_path / "record.sqlite"
    root = tmp_path / "quarterly"
    _run(delivered, "2026Q1", root, contract, record)
    old = tmp_path / "old"
    old.mkdir()
    # A folder whose latest delivery for 2027Q1 is 2025Q4: older than 2026Q1, used already.
    for label in ("2025Q3", "2025Q4"):
        shutil.copytree(delivered / label, old / label)
    with pytest.raises(
        SettlementRecordError, match="delivery 2025Q4 is older than delivery 2026Q1"
    ):
        _run(old, "2027Q1", root, contract, record)
    with SettlementStore(record) as store:
        assert not (store.entries()["report"] == "2027Q1").any()


def test_a_period_is_settled_only_when_its_data_are_complete(delivered, contract, tmp_path):
    data = tmp_path / "deliveries"
    shutil.copytree(delivered / "2024Q4", data / "2025Q1")
    (data / "2025Q1" / "manifest.json").unlink()
    record = tmp_path / "record.sqlite"
    out = _run(data, "2025Q1", tmp_path / "quarterly", contract, record)
    with SettlementStore(record) as store:
        assert store.entries().empty
    key = json.loads((out / "key_numbers.json").read_text())
    # Register data cover what the delivery holds, not the cut-off's arithmetic.
    assert key["register_until"] == "2024Q3"


def test_the_synthetic_demo_has_a_record_of_its_own(delivered, synthetic_dir, tmp_path):
    from analysis.paths import CONTRACT_FILE

    demo = settlement.default_path(delivered, CONTRACT_FILE)
    single = settlement.default_path(synthetic_dir, CONTRACT_FILE)
    assert demo.name.startswith("synthetic-") and single.name.startswith("synthetic-")
    assert demo != single
    real = tmp_path / "real"
    shutil.copytree(synthetic_dir, real)
    (real / "manifest.json").unlink()
    assert settlement.default_path(real, CONTRACT_FILE).name == "settlement.sqlite"
    copy = tmp_path / "copy"
    shutil.copytree(synthetic_dir, copy)
    sign_extract(copy)
    assert settlement.default_path(copy, CONTRACT_FILE) == single


def _cut_extract(synthetic_dir, tmp_path, last: str):
    """The synthetic extract with no row after ``last`` (a real extract: no manifest)."""
    cut = tmp_path / f"cut-{last}"
    shutil.copytree(synthetic_dir, cut)
    (cut / "manifest.json").unlink()
    columns = {"life_satisfaction": "quarter", "action_plans": "review_quarter"}
    for name in (*deliveries.REGISTER_TABLES, *columns):
        frame = pd.read_parquet(cut / f"{name}.parquet")
        column = columns.get(name, "quarter")
        frame.loc[frame[column] <= last].to_parquet(cut / f"{name}.parquet", index=False)
    return cut


def test_only_the_reports_the_data_reach_get_rules(synthetic_dir, contract, tmp_path):
    from analysis.pipeline.rules import make_targets

    cut = _cut_extract(synthetic_dir, tmp_path, "2025Q2")
    reach = deliveries.reach(cut, contract)
    rules = make_targets(contract, "2025Q2", ["da", "en"], ["da"], jobs=2, reach=reach)
    assert "quarterly/2025Q2/provenance.json" in rules
    assert "quarterly/2025Q3/" not in rules
    assert "evaluate midterm" in rules
    assert "preliminary_final" not in rules and "evaluate final" not in rules


def test_asking_past_the_data_is_one_line_naming_their_reach(synthetic_dir, tmp_path):
    import subprocess
    import sys

    cut = _cut_extract(synthetic_dir, tmp_path, "2025Q2")
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "make-targets", "--as-of", "2026Q1", "--data", str(cut)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: AS_OF / --as-of 2026Q1 is past the data: {cut} reaches 2025Q3; the reports "
        "after it wait for a later delivery"
    ]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "quarterly",
            "--as-of",
            "2026Q1",
            "--data",
            str(cut),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "reaches 2025Q3" in done.stderr
    assert not (tmp_path / "out").exists()


def test_the_portal_lists_the_evaluations_that_are_due(tmp_path):
    from analysis.render.portal import build_portal

    page = build_portal(tmp_path, evaluations={"midterm": "2025Q2", "final": "2028Q3"})
    assert page.count("Forventes når data når") == 2
    assert "3. kvartal 2028" in page or "Q3 2028" in page


def _quarter_in_child(data, quarter, out, contract, record):
    write_quarterly_results(data, quarter, out, contract, record=record)


def test_two_quarterly_runs_settling_at_once_settle_once(delivered, contract, tmp_path):
    import multiprocessing

    record = tmp_path / "record.sqlite"
    context = multiprocessing.get_context("fork")
    runs = [
        context.Process(
            target=_quarter_in_child,
            args=(delivered, "2025Q1", tmp_path / name / "2025Q1", contract, record),
        )
        for name in ("first", "second")
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(300)
    assert [run.exitcode for run in runs] == [0, 0]
    with SettlementStore(record) as store:
        entries = store.entries()
    assert entries["entry"].is_unique and set(entries["report"]) == {"2025Q1"}
    assert (tmp_path / "first" / "2025Q1" / "ledger.csv").read_bytes() == (
        tmp_path / "second" / "2025Q1" / "ledger.csv"
    ).read_bytes()


def test_a_broken_delivery_is_one_line_naming_it(delivered, tmp_path):
    import subprocess
    import sys

    data = tmp_path / "deliveries"
    for label in ("2025Q2", "2025Q3"):
        shutil.copytree(delivered / label, data / label)
    benefits = pd.read_parquet(data / "2025Q3" / "benefits.parquet")
    benefits.loc[3, "weeks_on_benefit"] = -4
    benefits.to_parquet(data / "2025Q3" / "benefits.parquet", index=False)
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "validate", str(data)], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: {data / '2025Q3'}: the extract breaks the data contract: benefits.parquet, "
        "column weeks_on_benefit: in_range(0, 14) — data row(s) 4 — value(s): -4"
    ]
