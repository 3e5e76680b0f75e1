"""The settlement record: append-only by the store itself, hash-chained, checked on every open.

Tampering is tried as a person with a shell would: with the ``sqlite3`` command line
(raw SQL through Python's sqlite3 module, the same library), on the entries and on the
CSV exports; each is one clear error naming the entry, and nothing is written.
"""

from __future__ import annotations

import multiprocessing
import signal
import sqlite3

import pandas as pd
import pytest

from analysis.payments import ledger as ledger_module
from analysis.payments import settlement
from analysis.payments.store import SettlementRecordError, SettlementStore


def _entries(report: str, amounts: list[float]) -> pd.DataFrame:
    rows = [
        {
            "entry": f"{report}:t{i}",
            "report": report,
            "payment_quarter": "2025Q2",
            "kind": "settlement",
            "target": f"t{i}",
            "corrects": "",
            "period": "2023Q4–2024Q4",
            "units": i + 1,
            "achievements": float(i + 1),
            "unit_price": 1000.0,
            "amount": amount,
            "paid": amount,
            "reason": "settled",
        }
        for i, amount in enumerate(amounts)
    ]
    return ledger_module.normalise(pd.DataFrame(rows, columns=ledger_module.COLUMNS))


@pytest.fixture
def record(tmp_path):
    path = tmp_path / "record.sqlite"
    with SettlementStore(path) as store, store.settling():
        store.append(_entries("2025Q1", [1000.0, 2500.5, 300.0]), "2025Q1@abc", "synthetic")
    return path


def _raw(path, *statements):
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in statements:
            connection.execute(statement)
    finally:
        connection.close()


def _drop_triggers(path):
    _raw(
        path,
        *[f"DROP TRIGGER {name}" for name in ("entries_no_update", "entries_no_delete")],
    )


def _recreate_triggers(path):
    # Opening the store creates missing triggers again (CREATE TRIGGER IF NOT EXISTS),
    # as a careful tamperer would after editing.
    from analysis.payments.store import _SCHEMA

    connection = sqlite3.connect(path, isolation_level=None)
    connection.executescript(_SCHEMA)
    connection.close()


def test_entries_read_back_and_the_chain_verifies(record):
    with SettlementStore(record) as store:
        frame = store.entries()
        assert list(frame["entry"]) == ["2025Q1:t0", "2025Q1:t1", "2025Q1:t2"]
        assert frame["amount"].tolist() == [1000.0, 2500.5, 300.0]
        assert store.head()[0] == 3
        assert store.deliveries_used() == ["2025Q1@abc"]


def test_the_store_itself_refuses_updates_and_deletes(record):
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        _raw(record, "UPDATE entries SET amount = 1 WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        _raw(record, "DELETE FROM entries WHERE seq = 3")
    with SettlementStore(record) as store:
        assert store.entries()["amount"].tolist() == [1000.0, 2500.5, 300.0]


def test_removed_triggers_are_detected(record):
    _drop_triggers(record)
    with pytest.raises(SettlementRecordError, match="append-only triggers were removed"):
        SettlementStore(record)


def test_an_edited_entry_is_named(record):
    _drop_triggers(record)
    _raw(record, "UPDATE entries SET amount = 9999, paid = 9999 WHERE seq = 2")
    _recreate_triggers(record)
    before = record.read_bytes()
    with pytest.raises(
        SettlementRecordError, match=r"entry 2 \(2025Q1:t1\) does not match its hash"
    ):
        SettlementStore(record)
    assert record.read_bytes() == before  # nothing written


def test_a_deleted_entry_is_named(record):
    _drop_triggers(record)
    _raw(record, "DELETE FROM entries WHERE seq = 2")
    _recreate_triggers(record)
    with pytest.raises(
        SettlementRecordError, match=r"entry 2 is missing \(the next is 3, 2025Q1:t2\)"
    ):
        SettlementStore(record)


def test_reordered_entries_are_named(record):
    _drop_triggers(record)
    _raw(
        record,
        "UPDATE entries SET seq = 100 WHERE seq = 1",
        "UPDATE entries SET seq = 1 WHERE seq = 2",
        "UPDATE entries SET seq = 2 WHERE seq = 100",
    )
    _recreate_triggers(record)
    with pytest.raises(SettlementRecordError, match=r"entry 1 \(2025Q1:t1\) does not follow"):
        SettlementStore(record)


def test_a_removed_newest_entry_is_found_by_a_publication(record):
    with SettlementStore(record) as store:
        store.publish("quarterly", "2025Q1", "da", "2025Q1@abc", {}, {"paid": 1.0})
    _drop_triggers(record)
    _raw(record, "DELETE FROM entries WHERE seq = 3")
    _recreate_triggers(record)
    with SettlementStore(record) as store, pytest.raises(SettlementRecordError, match="removed"):
        store.check_heads()


def test_an_edited_export_is_named(record, tmp_path):
    with SettlementStore(record) as store:
        exported = settlement.export(store, "2025Q1")
        file = tmp_path / "ledger.csv"
        exported.to_csv(file, index=False)
        edited = pd.read_csv(file, keep_default_na=False)
        store.check_export(edited, file)  # as written: fine
        edited.loc[1, "amount"] = 2600.5
        with pytest.raises(SettlementRecordError, match=r"row 3 \(2025Q1:t1\), column amount"):
            store.check_export(edited, file)
        edited.loc[1, "hash"] = "0" * 64
        with pytest.raises(SettlementRecordError, match="not an entry of the settlement record"):
            store.check_export(edited, file)


def test_an_entry_is_never_settled_twice(record):
    with SettlementStore(record) as store, store.settling():
        with pytest.raises(ledger_module.LedgerError, match="settled already"):
            store.append(_entries("2025Q1", [1.0]), "2025Q1@abc", "synthetic")
    with SettlementStore(record) as store:
        assert store.head()[0] == 3  # the failed settlement left nothing


def test_a_synthetic_demo_record_is_reset_but_a_real_one_is_refused(tmp_path):
    demo = tmp_path / "synthetic-0123.sqlite"
    with SettlementStore(demo) as store, store.settling():
        store.append(_entries("2025Q1", [1.0]), "2025Q1@abc", "synthetic")
    assert settlement.reset_demo(demo) and not demo.exists()
    real = tmp_path / "synthetic-4567.sqlite"
    with SettlementStore(real) as store, store.settling():
        store.append(_entries("2025Q1", [1.0]), "2025Q1@abc", "real")
    with pytest.raises(SettlementRecordError, match="real data"):
        settlement.reset_demo(real)
    assert real.exists()


def _settle_and_die(path, kill_after: int):
    """Append three entries, SIGKILLing this process after the ``kill_after``-th write."""
    import os

    store = SettlementStore(path)
    real_execute = store.connection.execute
    writes = iter(range(1_000))

    class Connection:
        def __getattr__(self, name):
            return getattr(store.connection_real, name)

        def execute(self, sql, *args):
            result = real_execute(sql, *args)
            if sql.lstrip().upper().startswith(("INSERT", "COMMIT")) and next(writes) == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            return result

    store.connection_real = store.connection
    store.connection = Connection()
    with store.settling():
        store.append(_entries("2026Q1", [10.0, 20.0, 30.0]), "2026Q1@def", "synthetic")
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("kill_after", [0, 1, 2, 3])
def test_a_kill_at_any_write_leaves_the_record_as_it_was_or_whole(record, kill_after):
    process = multiprocessing.get_context("fork").Process(
        target=_settle_and_die, args=(record, kill_after)
    )
    process.start()
    process.join(60)
    assert process.exitcode == -signal.SIGKILL
    with SettlementStore(record) as store:
        reports = store.entries()["report"].tolist()
    # Killed at an INSERT (0-2): nothing of 2026Q1; killed after COMMIT (3): all of it.
    expected = 3 if kill_after < 3 else 6
    assert len(reports) == expected
    assert reports.count("2026Q1") in (0, 3)


def _settle_slowly(path, started, label):
    import time

    with SettlementStore(path) as store, store.settling():
        started.set()
        time.sleep(1.0)
        if "2026Q1" not in set(store.entries()["report"]):
            store.append(_entries("2026Q1", [10.0]), label, "synthetic")


def test_two_runs_settling_the_same_quarter_settle_it_once(record):
    context = multiprocessing.get_context("fork")
    started = context.Event()
    first = context.Process(target=_settle_slowly, args=(record, started, "2026Q1@first"))
    first.start()
    started.wait(30)
    second = context.Process(target=_settle_slowly, args=(record, context.Event(), "2026Q1@second"))
    second.start()
    first.join(60)
    second.join(60)
    assert first.exitcode == 0 and second.exitcode == 0
    with SettlementStore(record) as store:
        frame = store.entries()
        assert frame["report"].tolist().count("2026Q1") == 1
        assert store.deliveries_used() == ["2025Q1@abc", "2026Q1@first"]


def test_the_same_settlements_give_a_byte_identical_record(tmp_path):
    """Nothing in the record depends on the clock: a demo rebuilt from scratch is the same file."""
    files = []
    for name in ("one", "two"):
        path = tmp_path / f"{name}.sqlite"
        with SettlementStore(path) as store:
            with store.settling():
                store.append(_entries("2025Q1", [1000.0, 2.5]), "2025Q1@abc", "synthetic")
            store.publish("quarterly", "2025Q1", "da", "2025Q1@abc", {"a": "1"}, {"paid": 1.0})
            with store.settling():
                store.append(_entries("2026Q1", [7.0]), "2026Q1@def", "synthetic")
        files.append(path.read_bytes())
    assert files[0] == files[1]


def test_the_revision_check_selects_ids_as_pandas_isin():
    # revised_tables selects the earlier delivery's persons through Arrow's is_in
    # (pandas' isin on Arrow strings took minutes at national size), with the data
    # layer's helper (one for the validation, the targets and the settlement): the same rows.
    from analysis.data import validate

    assert settlement.isin is validate.isin
    known = pd.Series(["p3", "p1", "p7", "p1"], dtype="string[pyarrow]")
    for dtype in ("string[pyarrow]", object, "string"):
        values = pd.Series(["p1", "p2", "p3", "p3", "p9", "p7"], dtype=dtype)
        expected = values.isin(set(known)).to_numpy()
        assert (settlement.isin(values, known) == expected).all()
        assert expected.tolist() == [True, False, True, True, False, True]


def test_one_delivery_revises_nothing():
    from analysis.payments.settlement import revised_tables

    tables = {"persons": pd.DataFrame({"person_id": ["p1"]})}
    # The same tables: no comparison is made (the tables lack what one would read).
    assert revised_tables(tables, tables, 1, 4) == []


def test_settling_holds_no_cut_of_the_data_beside_the_one_it_estimates_on(
    extract, contract, tmp_path, monkeypatch
):
    # At a pool of 5 million persons a cut of the tables (as_of) is about a GiB:
    # settle() once kept its own cut alive through the settlement, beside the one the
    # settlement makes, and the quarterly step peaked over 6 GiB. Every cut settle()
    # makes must be gone when the settlement's estimation starts.
    import gc
    import weakref

    from analysis.data.asof import as_of
    from analysis.payments.periods import reports_due

    made = []

    def tracked_as_of(*args, **kwargs):
        data = as_of(*args, **kwargs)
        made.append(weakref.ref(data))
        return data

    alive_at_build = []
    original_build = ledger_module.build

    def build(*args, **kwargs):
        gc.collect()
        alive_at_build.append(sum(ref() is not None for ref in made))
        return original_build(*args, **kwargs)

    monkeypatch.setattr(settlement, "as_of", tracked_as_of)
    monkeypatch.setattr(settlement.ledger_module, "build", build)
    cutoff = contract.timeline.result_reports[0]
    assert reports_due(contract, cutoff)
    with settlement.open_record(tmp_path / "record.sqlite") as store, store.settling():
        settlement.settle(
            store,
            cutoff,
            contract,
            lambda quarter: extract.tables,
            label_for=lambda quarter: f"{quarter}@test",
            kind_for=lambda quarter: "synthetic",
        )
    assert made and alive_at_build and alive_at_build == [0] * len(alive_at_build)
