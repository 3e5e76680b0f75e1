"""The settlement record: money settled and paid, kept as a durable, append-only fact.

Every result report's settlement (its entries: settlements, adjustments, caps) is
appended to one SQLite file, the *settlement record*, which lives outside the
rebuildable results (``make clean`` keeps it; see :func:`default_path`). SQLite comes
with Python, is transactional (a settlement is written whole or not at all, also when
the process is killed), locks the file for one writer at a time (a second run that
settles the same quarter waits, then finds it settled), and any SQLite client can read
it (``sqlite3 data/settlement/<name>.sqlite 'select * from entries'``).

Append-only is enforced by the store itself: triggers refuse every ``UPDATE`` and
``DELETE`` of an entry or a publication. Every row carries the SHA-256 of its content
and of the row before it (a hash chain); the chain is verified whenever the record is
opened, so an entry edited, deleted or reordered by other means (say the ``sqlite3``
command line with the triggers dropped) is one clear error naming the entry, and
nothing is written. The chain cannot tell a record whose newest rows were all removed
together from a shorter one: the exports (``ledger.csv`` in every results folder, with
the hash of each row) and the published reports' records name the head they saw, and
:func:`SettlementStore.check_export` compares an export with the record.

Besides the entries, the record keeps each published report (``publications``): its
kind, quarter and language, the delivery it was computed from (label and checksums of
its files) and its numbers, so that a re-executed report can be compared with what
was published (``python -m analysis verify``).

Nothing here depends on the clock: the same deliveries settled in the same order
give a byte-identical record, so a demo build is reproducible.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from analysis.payments.ledger import COLUMNS, LedgerError, normalise

SCHEMA_VERSION = "1"
GENESIS = "0" * 64
# Seconds a run waits for another run's settlement before it gives up with one line.
BUSY_SECONDS = 120
# Columns of an entry besides the ledger's: where it came from, and the chain.
ENTRY_EXTRA = ["delivery", "data_kind"]
PUBLICATION_FIELDS = [
    "report_kind",
    "quarter",
    "lang",
    "delivery",
    "data_checksums",
    "numbers",
    "ledger_seq",
    "ledger_hash",
]

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    entry TEXT NOT NULL UNIQUE,
    report TEXT NOT NULL,
    payment_quarter TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    corrects TEXT NOT NULL,
    period TEXT NOT NULL,
    units INTEGER NOT NULL,
    achievements REAL NOT NULL,
    unit_price REAL NOT NULL,
    amount REAL NOT NULL,
    paid REAL NOT NULL,
    reason TEXT NOT NULL,
    delivery TEXT NOT NULL,
    data_kind TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS publications (
    seq INTEGER PRIMARY KEY,
    report_kind TEXT NOT NULL,
    quarter TEXT NOT NULL,
    lang TEXT NOT NULL,
    delivery TEXT NOT NULL,
    data_checksums TEXT NOT NULL,
    numbers TEXT NOT NULL,
    ledger_seq INTEGER NOT NULL,
    ledger_hash TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
{
    "".join(
        f'''
CREATE TRIGGER IF NOT EXISTS {table}_no_{verb} BEFORE {verb.upper()} ON {table}
BEGIN SELECT RAISE(ABORT, 'the settlement record is append-only: {table} cannot be {done}'); END;'''
        for table in ("meta", "entries", "publications")
        for verb, done in (("update", "changed"), ("delete", "deleted"))
    )
}
"""
TRIGGERS = {
    f"{table}_no_{verb}"
    for table in ("meta", "entries", "publications")
    for verb in ("update", "delete")
}


class SettlementRecordError(LedgerError):
    """The settlement record was changed outside the software, or cannot be used."""


def _canonical(value):
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError("a settlement amount is not a number")
        return repr(value + 0.0)
    return value


def row_hash(prev_hash: str, fields: dict) -> str:
    """SHA-256 of a row's fields (canonical JSON) and the hash of the row before."""
    text = json.dumps(
        [prev_hash, {k: _canonical(v) for k, v in fields.items()}],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _entry_fields(row: dict) -> dict:
    fields = {}
    for column in [*COLUMNS, *ENTRY_EXTRA]:
        value = row[column]
        if column == "units":
            value = int(value)
        elif column in ("achievements", "unit_price", "amount", "paid"):
            value = float(value)
        else:
            value = str(value)
        fields[column] = value
    return fields


class SettlementStore:
    """An open settlement record, its chain verified (use as a context manager)."""

    def __init__(self, path: Path | str, *, create: bool = True):
        self.path = Path(path)
        if not self.path.exists():
            if not create:
                raise SettlementRecordError(f"settlement record {self.path}: no such file")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.connection = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
            self.connection.row_factory = sqlite3.Row
            # The rollback journal (not WAL): the record is one self-contained file a
            # reviewer can copy, and a killed writer's journal is rolled back on open.
            self.connection.execute("PRAGMA journal_mode=DELETE")
            self.connection.execute("PRAGMA synchronous=FULL")
            self._create()
        except sqlite3.DatabaseError as error:
            raise SettlementRecordError(
                f"settlement record {self.path}: not a readable SQLite file ({error})"
            ) from None
        self.verify()

    # -- opening ---------------------------------------------------------------
    def _create(self) -> None:
        tables = {
            row[0]
            for row in self.connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if "entries" in tables:
            # An existing record is not repaired: removed triggers are tampering.
            self._check_triggers()
        else:
            # executescript commits what is pending first: the schema is its own transaction.
            self.connection.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
        with self._transaction():
            found = self.connection.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()
            if found is None:
                self.connection.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,)
                )
            elif found[0] != SCHEMA_VERSION:
                raise SettlementRecordError(
                    f"settlement record {self.path}: schema version {found[0]}, "
                    f"this software reads {SCHEMA_VERSION}"
                )

    def verify(self) -> None:
        """Check the triggers and both hash chains; one error naming the first bad row."""
        self._check_triggers()
        self._verify_chain("entries", [*COLUMNS, *ENTRY_EXTRA], "entry")
        self._verify_chain("publications", PUBLICATION_FIELDS, "publication")

    def _check_triggers(self) -> None:
        present = {
            row[0]
            for row in self.connection.execute(
                "SELECT name FROM sqlite_master WHERE type='trigger'"
            )
        }
        missing = sorted(TRIGGERS - present)
        if missing:
            raise SettlementRecordError(
                f"settlement record {self.path}: its append-only triggers were removed "
                f"({', '.join(missing)}): the record was changed outside the software"
            )

    def _verify_chain(self, table: str, fields: list[str], noun: str) -> None:
        previous = GENESIS
        names: dict[str, int] = {}
        for number, row in enumerate(
            self.connection.execute(f"SELECT * FROM {table} ORDER BY seq"), start=1
        ):
            row = dict(row)
            name = row.get("entry") or f"{row.get('report_kind')} {row.get('quarter')}"
            where = f"settlement record {self.path}: {noun} {row['seq']} ({name})"
            if row["seq"] != number:
                raise SettlementRecordError(
                    f"settlement record {self.path}: {noun} {number} is missing (the next is "
                    f"{row['seq']}, {name}): the record was changed outside the software"
                )
            if row["prev_hash"] != previous:
                raise SettlementRecordError(
                    f"{where} does not follow the {noun} before it (reordered or one removed): "
                    "the record was changed outside the software"
                )
            content = {k: row[k] for k in fields}
            if row["hash"] != row_hash(previous, content):
                raise SettlementRecordError(
                    f"{where} does not match its hash: it was changed outside the software"
                )
            if table == "entries":
                names[row["entry"]] = row["seq"]
                if row["corrects"] and row["corrects"] not in names:
                    raise SettlementRecordError(
                        f"{where} corrects {row['corrects']}, which is not an earlier entry"
                    )
            previous = row["hash"]

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> SettlementStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transactions ----------------------------------------------------------
    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            self.connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise SettlementRecordError(
                f"settlement record {self.path}: another run has held it for "
                f"{BUSY_SECONDS} s ({error}); try again when it has finished"
            ) from None
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        else:
            self.connection.execute("COMMIT")

    @contextlib.contextmanager
    def settling(self) -> Iterator[SettlementStore]:
        """Hold the record for one settlement: other writers wait until it is committed.

        The record is read again inside (another run may have settled meanwhile), and
        what :meth:`append` adds inside is committed together, or not at all.
        """
        with self._transaction():
            self.verify()
            yield self

    # -- entries ---------------------------------------------------------------
    def _rows(self, table: str) -> list[dict]:
        return [dict(r) for r in self.connection.execute(f"SELECT * FROM {table} ORDER BY seq")]

    def entries(self, *, with_chain: bool = False) -> pd.DataFrame:
        """Every entry as a ledger (``analysis.payments.ledger.COLUMNS``), in the order settled."""
        rows = self._rows("entries")
        columns = [*COLUMNS, *ENTRY_EXTRA, "seq", "prev_hash", "hash"]
        frame = pd.DataFrame(rows, columns=["seq", *COLUMNS, *ENTRY_EXTRA, "prev_hash", "hash"])
        if not with_chain:
            return normalise(frame)
        out = normalise(frame)
        for column in [*ENTRY_EXTRA, "seq", "prev_hash", "hash"]:
            out[column] = frame[column].to_numpy() if len(frame) else pd.Series(dtype=object)
        return out[columns]

    def ledger_until(self, quarter_index_of, last: int) -> pd.DataFrame:
        """The entries of result reports up to quarter index ``last`` (the ledger as it stood then)."""
        ledger = self.entries()
        if ledger.empty:
            return ledger
        keep = ledger["report"].map(quarter_index_of) <= last
        return normalise(ledger.loc[keep])

    def head(self) -> tuple[int, str]:
        row = self.connection.execute(
            "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))

    def deliveries_used(self) -> list[str]:
        """The labels of the deliveries settlements were computed from, in the order used."""
        return [
            r[0]
            for r in self.connection.execute(
                "SELECT delivery FROM entries GROUP BY delivery ORDER BY MIN(seq)"
            )
        ]

    def append(self, new: pd.DataFrame, delivery: str, data_kind: str) -> None:
        """Append ledger rows (inside :meth:`settling`), each chained to the one before."""
        if not self.connection.in_transaction:
            raise SettlementRecordError("entries are appended only inside a settlement")
        seq, previous = self.head()
        for row in normalise(new).to_dict("records"):
            fields = _entry_fields({**row, "delivery": delivery, "data_kind": data_kind})
            seq += 1
            digest = row_hash(previous, fields)
            try:
                self.connection.execute(
                    f"INSERT INTO entries (seq, {', '.join(fields)}, prev_hash, hash) "
                    f"VALUES ({', '.join('?' * (len(fields) + 3))})",
                    (seq, *fields.values(), previous, digest),
                )
            except sqlite3.IntegrityError:
                raise LedgerError(
                    f"settlement record {self.path}: entry {fields['entry']} is settled already"
                ) from None
            previous = digest

    def kinds(self) -> set[str]:
        """The kinds of data (synthetic, real) anything in the record was computed from."""
        return {r[0] for r in self.connection.execute("SELECT DISTINCT data_kind FROM entries")}

    # -- publications ------------------------------------------------------------
    def publications(self) -> pd.DataFrame:
        return pd.DataFrame(
            self._rows("publications"), columns=["seq", *PUBLICATION_FIELDS, "prev_hash", "hash"]
        )

    def published(self, report_kind: str, quarter: str, lang: str) -> dict | None:
        """The latest publication record of a report, its numbers decoded; None if none."""
        row = self.connection.execute(
            "SELECT * FROM publications WHERE report_kind = ? AND quarter = ? AND lang = ? "
            "ORDER BY seq DESC LIMIT 1",
            (report_kind, quarter, lang),
        ).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["numbers"] = json.loads(out["numbers"])
        out["data_checksums"] = json.loads(out["data_checksums"])
        return out

    def publish(
        self,
        report_kind: str,
        quarter: str,
        lang: str,
        delivery: str,
        data_checksums: dict,
        numbers: dict,
    ) -> bool:
        """Record a published report; False when the same numbers are recorded already."""
        encoded = json.dumps(numbers, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        with self._transaction():
            self.verify()
            last = self.published(report_kind, quarter, lang)
            if (
                last is not None
                and json.dumps(
                    last["numbers"], sort_keys=True, ensure_ascii=False, separators=(",", ":")
                )
                == encoded
                and last["delivery"] == delivery
            ):
                return False
            seq_entry, head = self.head()
            fields = {
                "report_kind": report_kind,
                "quarter": quarter,
                "lang": lang,
                "delivery": delivery,
                "data_checksums": json.dumps(data_checksums, sort_keys=True),
                "numbers": encoded,
                "ledger_seq": seq_entry,
                "ledger_hash": head,
            }
            row = self.connection.execute(
                "SELECT seq, hash FROM publications ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            seq, previous = (0, GENESIS) if row is None else (int(row[0]), str(row[1]))
            self.connection.execute(
                f"INSERT INTO publications (seq, {', '.join(fields)}, prev_hash, hash) "
                f"VALUES ({', '.join('?' * (len(fields) + 3))})",
                (seq + 1, *fields.values(), previous, row_hash(previous, fields)),
            )
        return True

    def check_heads(self) -> None:
        """Fail when a publication saw more entries than the record now holds (rows removed)."""
        seq, head = self.head()
        row = self.connection.execute(
            "SELECT seq, ledger_seq, ledger_hash FROM publications ORDER BY ledger_seq DESC LIMIT 1"
        ).fetchone()
        if row is not None and int(row[1]) > seq:
            raise SettlementRecordError(
                f"settlement record {self.path}: publication {row[0]} saw {row[1]} entries, "
                f"the record holds {seq}: entries {seq + 1}-{row[1]} were removed"
            )
        if row is not None and int(row[1]) > 0:
            found = self.connection.execute(
                "SELECT hash FROM entries WHERE seq = ?", (int(row[1]),)
            ).fetchone()
            if found is None or found[0] != row[2]:
                raise SettlementRecordError(
                    f"settlement record {self.path}: entry {row[1]} is not the one publication "
                    f"{row[0]} saw: the record was changed outside the software"
                )

    # -- exports -------------------------------------------------------------------
    def check_export(self, export: pd.DataFrame, source: Path | str) -> None:
        """Fail unless every row of an exported ledger is the record's row of the same hash."""
        if "hash" not in export.columns:
            raise SettlementRecordError(
                f"{source}: a ledger export without its hash column cannot be checked against "
                f"the settlement record {self.path}"
            )
        stored = self.entries(with_chain=True).set_index("hash")
        for number, row in enumerate(export.to_dict("records"), start=2):
            digest = str(row["hash"])
            if digest not in stored.index:
                raise SettlementRecordError(
                    f"{source}, row {number} ({row.get('entry', '?')}): not an entry of the "
                    f"settlement record {self.path} (the export was edited)"
                )
            want = stored.loc[digest]
            for column in COLUMNS:
                mine, theirs = row[column], want[column]
                same = (
                    abs(float(mine) - float(theirs)) < 0.005
                    if column in ("units", "achievements", "unit_price", "amount", "paid")
                    else str(mine) == str(theirs)
                )
                if not same:
                    raise SettlementRecordError(
                        f"{source}, row {number} ({row.get('entry', '?')}), column {column}: "
                        f"{mine!r} where the settlement record {self.path} has {theirs!r} "
                        "(the export was edited)"
                    )


def export_columns() -> list[str]:
    """The columns of a ledger export: the ledger's, where each entry came from, and its hash."""
    return [*COLUMNS, *ENTRY_EXTRA, "hash"]
