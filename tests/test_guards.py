"""Guards that hold against a determined insider (issue 32, findings 1-6).

1. Every spelling of a CPR number a person or a spreadsheet produces is masked, in
   every column and header of every table, in CSV and Parquet, through the data
   contract's message and through ``validate`` and ``quarterly`` (a generated sweep).
2. The output guard does not depend on git's environment or ownership rules.
3. Synthetic is a fact: an extract is synthetic only when it regenerates from its
   manifest, and a results folder's kind is derived from its inputs when read.
4. A forged validation receipt cannot bring a CPR-like id into the pipeline.
5. A table with a header and no rows: refused by ``validate`` in one line.
6. A very long value is cut in messages, its length stated.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from analysis import provenance
from analysis.data import receipt, regenerate, synth
from analysis.data.cpr import MASK, could_be_cpr, looks_like_cpr, mask_text
from analysis.data.schemas import TABLES
from analysis.data.validate import DataContractError, load_extract
from analysis.paths import ROOT
from analysis.safety import UnsafeOutputError, git_ignored, guard_outputs

# -- 1. every spelling -------------------------------------------------------------------

# Three numbers (a leading zero, the last day of a year, a leap day) as day, month,
# two- and four-digit year and serial.
BASES = [("01", "01", "90", "1990", "1234"), ("31", "12", "85", "1985", "4321")]
LEAP = ("29", "02", "88", "1988", "5678")
# Between the date and the serial: nothing, one of each kind, runs, and mixtures.
JOINS = [
    "",
    "-",
    " ",
    "  ",
    "\t",
    "\u00a0",  # no-break space
    "\u2009",  # thin space
    "\u202f",  # narrow no-break space
    "\u200b",  # zero-width space
    "\u200c",
    "\u200d",
    "\u2060",  # word joiner
    "\ufeff",  # zero-width no-break space (BOM)
    "\u00ad",  # soft hyphen
    "\u2010",
    "\u2011",
    "\u2012",
    "\u2013",
    "\u2014",
    "\u2015",
    "\u2212",  # minus sign
    "\uff0d",  # full-width hyphen
    "/",
    ".",
    "_",
    " - ",
    " \u2013 ",
    "\u200b-\u200b",
    "   ",
]
FULL_WIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + i) for i in range(10)))


def _spellings() -> list[str]:
    out = []
    for dd, mm, yy, yyyy, serial in BASES:
        out += [f"{dd}{mm}{yy}{join}{serial}" for join in JOINS]
        out += [
            f"{dd} {mm} {yy} {serial}",
            f"{dd}-{mm}-{yy}-{serial}",
            f"{dd}.{mm}.{yy}-{serial}",
            f"{dd}/{mm}/{yy} {serial}",
            f"{dd}{mm}{yyyy}{serial}",
            f"{dd}{mm}{yyyy}-{serial}",
            f"{dd}-{mm}-{yyyy}-{serial}",
            f"{dd}.{mm}.{yyyy} {serial}",
            f"{dd}{mm}{yy}-{serial}".translate(FULL_WIDTH),
            f"{dd}{mm}{yy}{serial}".translate(FULL_WIDTH),
            f"{dd}{mm}{yy}\u200b{serial}".translate(FULL_WIDTH),
            f"P{dd}{mm}{yy}{serial}",  # inside an id
            f"{int(dd + mm + yy + serial)}.0",  # a spreadsheet's float
            f"{int(dd + mm + yy + serial)}",  # the leading zero lost
            f"{float(dd + mm + yy + serial):.8E}",  # a spreadsheet's exponent form
        ]
    dd, mm, yy, yyyy, serial = LEAP
    out += [f"{dd}{mm}{yy}-{serial}", f"{dd} {mm} {yyyy} {serial}"]
    return list(dict.fromkeys(out))


SPELLINGS = _spellings()
_SEPARATOR = re.compile(r"[\s\u00ad\u200b-\u200f\u2060\ufeff\-\u2010-\u2015\u2212\uff0d/._]")


def _normalised(text: str) -> str:
    text = "".join(
        str(unicodedata.decimal(c)) if unicodedata.decimal(c, None) is not None else c for c in text
    )
    return _SEPARATOR.sub("", text)


def _needles() -> list[str]:
    found = []
    for dd, mm, yy, yyyy, serial in [*BASES, LEAP]:
        digits = dd + mm + yy + serial
        found += [digits, digits.lstrip("0"), digits[:-1].lstrip("0")[:8], dd + mm + yyyy + serial]
    return found


NEEDLES = _needles()


def leaks(text: str) -> list[str]:
    """The CPR numbers of the sweep found in ``text``, however spelled (separators removed)."""
    flat = _normalised(text)
    return [needle for needle in NEEDLES if needle in flat]


def test_the_sweep_has_enough_spellings_and_every_one_is_found():
    assert len(SPELLINGS) >= 30
    for spelling in SPELLINGS:
        assert leaks(spelling), spelling  # the leak test itself can fail
        assert could_be_cpr(spelling), repr(spelling)
        masked = mask_text(f"value(s): {spelling}, M")
        assert not leaks(masked), (repr(spelling), masked)
        assert MASK in masked


def test_the_issue_spellings_are_masked():
    for text in [
        "010190  1234",
        "010190\u200b1234",
        "01 01 90 1234",
        "010190/1234",
        "010190\u22121234",
        "01-01-1990-1234",
        "010190 - 1234",
    ]:
        assert mask_text(f"x {text} y") == f"x {MASK} y", repr(text)


def test_harmless_numbers_are_not_masked():
    """Quarters, ISO dates, amounts, row lists and counts are shown as they are."""
    for harmless in [
        "2023Q4–2025Q2",
        "2023-01-01",
        "2023-01-01 1234",
        "2023-12-31T12:00:00",
        "in_range(1920, 2028)",
        "data row(s) 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 12 more",
        "12345",
        "12.345.678 kr.",
        "1.234.567,50",
        "0,25",
        "score 7.5",
        "99999999",
        "3701234567",  # ten digits, but no day 37
        "1313131313",  # no month 13
        "3002901234",  # no 30 February
    ]:
        assert mask_text(harmless) == harmless, harmless


def test_ids_holding_a_cpr_number_are_refused():
    ids = pd.Series(["P00000001", "P0101901234", "H010190-1234", "P01\u200b0190\u200b1234", None])
    assert looks_like_cpr(ids).tolist() == [False, True, True, True, False]


def _write(folder: Path, tables: dict, fmt: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def _with_values(tables: dict, changes: list[tuple[str, str, str]]) -> dict:
    out = {k: v.copy() for k, v in tables.items()}
    for table, column, value in changes:
        frame = out[table]
        frame[column] = frame[column].astype("string")
        frame.loc[frame.index[0], column] = value
    return out


def _columns(small_tables) -> list[tuple[str, str]]:
    return [(t, c) for t in TABLES for c in small_tables[t].columns]


def _assignments(small_tables, full: bool) -> list[tuple[str, str, str]]:
    """(table, column, spelling): every pair when ``full``, else every column and every spelling."""
    columns = _columns(small_tables)
    if full:
        return [(t, c, s) for t, c in columns for s in SPELLINGS]
    n = max(len(columns), len(SPELLINGS))
    return [(*columns[i % len(columns)], SPELLINGS[i % len(SPELLINGS)]) for i in range(n)]


def _sweep(tmp_path, small_tables, contract, fmt, full):
    checked = 0
    for number, (table, column, value) in enumerate(_assignments(small_tables, full)):
        folder = _write(
            tmp_path / f"{fmt}-{number}", _with_values(small_tables, [(table, column, value)]), fmt
        )
        with pytest.raises(DataContractError) as error:
            load_extract(folder, contract)
        message = str(error.value)
        assert not leaks(message), (table, column, repr(value), message)
        assert f"{table}.{fmt}" in message, message
        checked += 1
        shutil.rmtree(folder)
    return checked


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_sweep_every_column_and_every_spelling(tmp_path, small_tables, contract, fmt):
    """Every column gets a spelling and every spelling a column (the full product: slow)."""
    checked = _sweep(tmp_path, small_tables, contract, fmt, full=False)
    assert checked >= max(len(SPELLINGS), len(_columns(small_tables)))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_sweep_every_spelling_in_every_column(tmp_path, small_tables, contract, fmt):
    checked = _sweep(tmp_path, small_tables, contract, fmt, full=True)
    assert checked == len(SPELLINGS) * len(_columns(small_tables))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_sweep_every_spelling_as_a_header_of_every_table(tmp_path, small_tables, contract, fmt):
    for table in TABLES:
        tables = {k: v.copy() for k, v in small_tables.items()}
        tables[table] = tables[table].assign(**{spelling: "x" for spelling in SPELLINGS})
        folder = _write(tmp_path / f"{fmt}-{table}", tables, fmt)
        with pytest.raises(DataContractError) as error:
            load_extract(folder, contract)
        message = str(error.value)
        assert "column is not part of the data contract" in message
        assert not leaks(message), message


def _cli(*args, env=None, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("command", ["validate", "quarterly", "make report"])
def test_cli_sweep_never_echoes(tmp_path, small_tables, command, fmt):
    """Every column of every table holds a different spelling; every spelling a header."""
    columns = _columns(small_tables)
    changes = [(*columns[i % len(columns)], SPELLINGS[i]) for i in range(len(columns))]
    tables = _with_values(small_tables, changes)
    rest = SPELLINGS[len(columns) :]
    tables["persons"] = tables["persons"].assign(**{s: "x" for s in rest})
    folder = _write(tmp_path / "extract", tables, fmt)
    out = tmp_path / "out" / "2025Q1"
    if command == "validate":
        completed = _cli("validate", str(folder))
    elif command == "quarterly":
        completed = _cli("quarterly", "--data", str(folder), "--as-of", "2025Q1", "--out", str(out))
    else:
        from analysis.pipeline.build import environment_stamp

        out = tmp_path / "results"
        completed = subprocess.run(
            ["make", "--no-print-directory", "report", f"DATA={folder}", f"RESULTS={out}",
             f"REPORTS={tmp_path / 'reports'}", f"LEDGER={tmp_path / 'settlement.sqlite'}",
             f"PY={sys.executable}", *(f"ENV_STAMP={stamp}" for stamp in environment_stamp())],
            capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        assert not (tmp_path / "reports").exists()
        # It stopped where the data are checked, with the one-line error.
        assert "breaks the data contract" in completed.stderr, completed.stderr
    assert completed.returncode == (2 if command == "make report" else 1), completed.stderr
    assert not leaks(completed.stdout + completed.stderr), completed.stderr
    assert "Traceback" not in completed.stderr
    assert not out.exists()


def test_an_id_holding_a_cpr_number_is_refused_by_validate(tmp_path, small_tables, contract):
    """``P0101901234`` fits the id pattern; it holds a CPR number all the same."""
    for value in ["P0101901234", "H010190-1234"]:
        folder = _write(
            tmp_path / value, _with_values(small_tables, [("persons", "person_id", value)]), "csv"
        )
        with pytest.raises(DataContractError, match="like a CPR number") as error:
            load_extract(folder, contract)
        assert not leaks(str(error.value))


# -- 2. the output guard and git ---------------------------------------------------------


def _real_copy(synthetic_dir: Path, folder: Path) -> Path:
    """A valid extract the generator did not write: one birth year differs, no manifest."""
    folder.mkdir(parents=True)
    for path in synthetic_dir.glob("*.parquet"):
        shutil.copy(path, folder / path.name)
    persons = pd.read_parquet(folder / "persons.parquet")
    persons.loc[0, "birth_year"] = persons.loc[0, "birth_year"] + 1
    persons.to_parquet(folder / "persons.parquet", index=False)
    return folder


@pytest.mark.parametrize(
    "variable", [("GIT_DIR", "/nonexistent"), ("GIT_CEILING_DIRECTORIES", str(ROOT))]
)
def test_git_environment_does_not_open_tracked_outputs(
    tmp_path, synthetic_dir, monkeypatch, variable
):
    real = _real_copy(synthetic_dir, tmp_path / "real")
    monkeypatch.setenv(*variable)
    with pytest.raises(UnsafeOutputError, match="could be tracked by git"):
        guard_outputs(real, [ROOT / "notebooks" / "leak" / "2023Q4"])
    guard_outputs(real, [ROOT / "reports" / "x", tmp_path / "outside"])  # still allowed


def test_git_dir_through_the_command_line(tmp_path, synthetic_dir):
    real = _real_copy(synthetic_dir, tmp_path / "real")
    leak = ROOT / "notebooks" / "leak" / "2025Q1"
    completed = _cli(
        "quarterly",
        "--data",
        str(real),
        "--as-of",
        "2025Q1",
        "--out",
        str(leak),
        env={"GIT_DIR": "/nonexistent"},
    )
    assert completed.returncode == 1, completed.stderr
    assert "could be tracked by git" in completed.stderr
    assert not leak.parent.exists()


def _foreign_repository(path: Path) -> Path:
    """A repository owned by another user: git refuses it ("dubious ownership")."""
    if os.geteuid() != 0:
        pytest.skip("needs root to give a repository another owner")
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / ".gitignore").write_text("out/\n")
    for item in [path, *path.rglob("*")]:
        os.lchown(item, 65534, 65534)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    refused = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--show-toplevel"], capture_output=True, env=env
    )
    if refused.returncode == 0:
        pytest.skip("git here does not check ownership")
    return path


def test_a_repository_of_another_owner_is_refused(tmp_path, synthetic_dir):
    other = _foreign_repository(tmp_path / "other")
    real = _real_copy(synthetic_dir, tmp_path / "real")
    with pytest.raises(UnsafeOutputError, match="could be tracked by git"):
        guard_outputs(real, [other / "results" / "2025Q1"])


def test_this_repository_unreadable_to_git_is_refused(tmp_path):
    """Even a path the repository ignores: git cannot read its rules, so nothing is assumed."""
    other = _foreign_repository(tmp_path / "other")
    assert not git_ignored(other / "out" / "x", root=other)
    assert not git_ignored(other / "results", root=other)


def test_a_global_excludes_file_does_not_open_tracked_outputs(tmp_path, synthetic_dir, monkeypatch):
    """Only the repository's own rules say what it ignores, not a configuration set up by hand."""
    home = tmp_path / "home"
    (home / ".config" / "git").mkdir(parents=True)
    (home / ".config" / "git" / "ignore").write_text("*\n")
    (home / ".gitconfig").write_text(f"[core]\n\texcludesFile = {home}/.config/git/ignore\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    real = _real_copy(synthetic_dir, tmp_path / "real")
    with pytest.raises(UnsafeOutputError):
        guard_outputs(real, [ROOT / "notebooks" / "leak"])


# -- 3. synthetic is a fact --------------------------------------------------------------


def _files(folder: Path) -> dict[str, str]:
    from analysis.data.io import sha256

    return {p.name: sha256(p) for p in sorted(folder.iterdir()) if p.is_file()}


def test_the_manifest_records_every_argument_and_the_code(synthetic_dir, contract):
    manifest = json.loads((synthetic_dir / "manifest.json").read_text())
    generator = manifest[synth.GENERATOR]
    assert generator["writer"] == "generate"
    arguments = json.loads(generator["arguments"])
    assert set(arguments) == {"contract", "synth", "seed", "comparison_persons"}
    assert arguments["seed"] == contract.seed
    assert generator["code"] == synth.code_version()


def test_regenerating_from_the_manifest_gives_the_same_files(synthetic_dir, tmp_path, monkeypatch):
    """Without the cache: the writer runs again with the recorded arguments."""
    monkeypatch.setattr(synth, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(synth, "_MEMO", {})
    manifest = json.loads((synthetic_dir / "manifest.json").read_text())
    regenerated = regenerate.regenerate(manifest, cached=False)
    present = _files(synthetic_dir)
    del present["manifest.json"]
    assert {k: v for k, v in regenerated.items() if k != "manifest.json"} == present
    # The manifest too: its content as the writer wrote it (the list of files aside).
    assert regenerated["manifest.json"] == synth.manifest_digest(manifest)


def test_a_manifest_listing_real_files_does_not_make_them_synthetic(tmp_path, synthetic_dir):
    """The forgery of finding 3: {"synthetic": true, "files": {...}} over real files."""
    real = _real_copy(synthetic_dir, tmp_path / "real")
    (real / "truth.json").write_text("{}\n")
    forged = {"synthetic": True, "files": _files(real)}
    (real / "manifest.json").write_text(json.dumps(forged))
    assert provenance.extract_kind(real) == provenance.REAL
    # The generator's record copied in as well: the files do not regenerate.
    manifest = json.loads((synthetic_dir / "manifest.json").read_text())
    shutil.copy(synthetic_dir / "truth.json", real / "truth.json")
    manifest["files"] = {k: v for k, v in _files(real).items() if k != "manifest.json"}
    (real / "manifest.json").write_text(json.dumps(manifest))
    assert provenance.extract_kind(real) == provenance.REAL


def test_changed_generator_arguments_are_regenerated(tmp_path, synthetic_dir, monkeypatch):
    """Another seed in the manifest, same files: the regeneration differs, so real."""
    monkeypatch.setattr(synth, "CACHE", tmp_path / "cache")
    copy = tmp_path / "copy"
    shutil.copytree(synthetic_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    assert provenance.extract_kind(copy, manifest) == provenance.SYNTHETIC
    arguments = json.loads(manifest[synth.GENERATOR]["arguments"])
    arguments["seed"] += 1
    manifest[synth.GENERATOR]["arguments"] = json.dumps(arguments)
    (copy / "manifest.json").write_text(synth.manifest_text(manifest))
    assert provenance.extract_kind(copy) == provenance.REAL


def test_an_edited_manifest_value_is_real(tmp_path, synthetic_dir):
    """The manifest is compared by content: another layout is fine, another value is not."""
    copy = tmp_path / "copy"
    shutil.copytree(synthetic_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=4))
    assert provenance.extract_kind(copy) == provenance.SYNTHETIC
    manifest["rows"]["persons"] += 1
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert provenance.extract_kind(copy) == provenance.REAL


def test_a_synthetic_delivery_regenerates_and_a_changed_one_is_real(
    tmp_path, synthetic_dir, contract, monkeypatch
):
    """A delivery's manifest names its writer and quarter: regenerated without the cache."""
    from analysis.config import load_synthetic
    from analysis.data.deliveries import write_synthetic

    labels = write_synthetic(
        synthetic_dir, tmp_path / "deliveries", contract, load_synthetic(), contract.seed
    )
    delivery = tmp_path / "deliveries" / labels[2]
    monkeypatch.setattr(synth, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(synth, "_MEMO", {})
    manifest = json.loads((delivery / "manifest.json").read_text())
    assert manifest[synth.GENERATOR]["writer"] == "delivery"
    assert json.loads(manifest[synth.GENERATOR]["arguments"])["delivery"] == labels[2]
    assert provenance.extract_kind(delivery) == provenance.SYNTHETIC
    # Another delivery's files under this manifest: real.
    other = tmp_path / "other"
    shutil.copytree(tmp_path / "deliveries" / labels[3], other)
    shutil.copy(delivery / "manifest.json", other / "manifest.json")
    manifest.pop("files")
    (other / "manifest.json").write_text(json.dumps(manifest))
    assert provenance.extract_kind(other) == provenance.REAL


def test_an_unknown_writer_is_not_regenerated(synthetic_dir):
    manifest = json.loads((synthetic_dir / "manifest.json").read_text())
    manifest[synth.GENERATOR]["writer"] = "os.system"
    with pytest.raises(regenerate.NotRegenerable):
        regenerate.regenerate(manifest)


def _quarter(data: Path, results: Path, contract, as_of="2025Q1") -> Path:
    from analysis.payments.quarterly import write_quarterly_results

    return write_quarterly_results(data, as_of, results / as_of, contract)


def test_an_edited_kind_in_provenance_does_not_make_real_results_synthetic(
    tmp_path, synthetic_dir, contract
):
    real = _real_copy(synthetic_dir, tmp_path / "real")
    folder = _quarter(real, tmp_path / "q", contract)
    path = folder / provenance.MARKER
    record = json.loads(path.read_text())
    assert record["kind"] == provenance.REAL
    record["kind"] = provenance.SYNTHETIC
    path.write_text(json.dumps(record))
    assert provenance.folder_kind(folder) == provenance.REAL
    assert provenance.report_kind(tmp_path / "q", "2025Q1", None) == provenance.REAL
    # A generator record copied in from a synthetic folder: the inputs do not regenerate.
    synthetic = _quarter(synthetic_dir, tmp_path / "s", contract)
    assert provenance.folder_kind(synthetic) == provenance.SYNTHETIC
    record["generator"] = json.loads((synthetic / provenance.MARKER).read_text())["generator"]
    path.write_text(json.dumps(record))
    assert provenance.folder_kind(folder) == provenance.REAL
    # Through the command line: the report into a tracked folder is refused.
    completed = _cli(
        "report",
        "quarterly",
        "--as-of",
        "2025Q1",
        "--data",
        str(synthetic_dir),
        "--quarterly-dir",
        str(tmp_path / "q"),
        "--reports",
        str(ROOT / "notebooks" / "leak"),
    )
    assert completed.returncode == 1
    assert "could be tracked by git" in completed.stderr
    assert not (ROOT / "notebooks" / "leak").exists()


def test_a_synthetic_record_that_cannot_be_rederived_is_real(tmp_path, synthetic_dir, contract):
    folder = _quarter(synthetic_dir, tmp_path / "q", contract)
    path = folder / provenance.MARKER
    record = json.loads(path.read_text())
    assert provenance.folder_kind(folder) == provenance.SYNTHETIC
    for change in [{"generator": None}, {"inputs": {}}, {"earlier_results": {"2024Q4": "x"}}]:
        path.write_text(json.dumps({**record, **change}))
        assert provenance.folder_kind(folder) == provenance.REAL, change


# -- 4. a forged receipt ------------------------------------------------------------------


def test_a_forged_receipt_does_not_let_a_cpr_like_id_in(tmp_path, small_tables, contract):
    folder = _write(
        tmp_path / "x", _with_values(small_tables, [("persons", "person_id", "0101901234")]), "csv"
    )
    from analysis.data.io import sha256

    checksums = {p.name: sha256(p) for p in folder.iterdir()}
    receipt.record(checksums, contract, {name: 1 for name in TABLES})
    assert receipt.holds(checksums, contract)
    with pytest.raises(DataContractError, match="like a CPR number") as error:
        load_extract(folder, contract)
    assert not leaks(str(error.value))


# -- 5. a header and no rows --------------------------------------------------------------


def _header_only(tmp_path, small_tables, table) -> Path:
    tables = {k: v.copy() for k, v in small_tables.items()}
    tables[table] = tables[table].iloc[0:0]
    return _write(tmp_path / f"header-only-{table}", tables, "csv")


def test_a_header_only_benefits_table_is_refused_in_one_line(tmp_path, small_tables):
    """Finding 5 through the command line: validate refuses it, quarterly does not crash."""
    folder = _header_only(tmp_path, small_tables, "benefits")
    completed = _cli("validate", str(folder))
    assert completed.returncode == 1
    assert completed.stderr.count("\n") == 1, completed.stderr
    assert "benefits.csv: the table has no rows" in completed.stderr
    out = tmp_path / "out" / "2025Q1"
    completed = _cli("quarterly", "--data", str(folder), "--as-of", "2025Q1", "--out", str(out))
    assert completed.returncode == 1
    assert "unexpected" not in completed.stderr, completed.stderr
    assert "benefits.csv: the table has no rows" in completed.stderr
    assert not out.exists()


@pytest.mark.parametrize("table", TABLES)
def test_a_header_only_table_is_refused_or_runs_end_to_end(tmp_path, small_tables, contract, table):
    """Either validate refuses it in one line, or the quarterly results are computed."""
    from analysis.data.validate import REQUIRED_ROWS
    from analysis.payments.quarterly import write_quarterly_results

    folder = _header_only(tmp_path, small_tables, table)
    if table in REQUIRED_ROWS:
        with pytest.raises(DataContractError) as error:
            load_extract(folder, contract)
        assert str(error.value).endswith(
            f"{table}.csv: the table has no rows (only a header); "
            "the quarterly results need households, persons, "
            "benefits, social_measures"
        )
        assert len(str(error.value).splitlines()) == 1
        return
    load_extract(folder, contract)
    written = write_quarterly_results(folder, "2025Q1", tmp_path / "q" / "2025Q1", contract)
    assert (written / provenance.MARKER).is_file()


# -- 6. long values ------------------------------------------------------------------------


def test_a_long_value_is_cut_with_its_length(tmp_path, small_tables, contract):
    value = "x" * 120_000
    folder = _write(tmp_path / "x", _with_values(small_tables, [("persons", "sex", value)]), "csv")
    with pytest.raises(DataContractError) as error:
        load_extract(folder, contract)
    message = str(error.value)
    assert len(message) < 1_000, len(message)
    assert "120,000 characters" in message
    completed = _cli("validate", str(folder))
    assert completed.returncode == 1
    assert len(completed.stderr) < 1_000
    assert "120,000 characters" in completed.stderr


def test_a_long_column_name_is_cut_with_its_length(tmp_path, small_tables, contract):
    tables = {k: v.copy() for k, v in small_tables.items()}
    tables["persons"] = tables["persons"].assign(**{"y" * 50_000: "x"})
    folder = _write(tmp_path / "x", tables, "parquet")
    with pytest.raises(DataContractError) as error:
        load_extract(folder, contract)
    assert len(str(error.value)) < 1_000
    assert "50,000 characters" in str(error.value)


def test_the_code_version_covers_every_writer():
    """A cached regeneration answer is keyed by the code version: every writer's module is in it."""
    for writer in regenerate.writers().values():
        path = Path(sys.modules[writer.__module__].__file__).resolve().relative_to(ROOT)
        assert path.as_posix() in synth.GENERATOR_CODE, path


def test_an_interval_of_two_amounts_in_a_report_is_not_a_personal_number():
    """A rendered band "3.211.000 – 5.839.000" (14 digits) stopped a report build."""
    from analysis.data.cpr import could_be_cpr

    assert not could_be_cpr("| 4.340.000 | 3.211.000 – 5.839.000 | – |", standalone=True)
    assert could_be_cpr("| 010190 - 1234 |", standalone=True)
    assert could_be_cpr("| 01-01-1990-1234 |", standalone=True)


def test_a_band_of_two_six_digit_amounts_is_not_a_personal_number():
    """A band "111.000 – 954.000" stopped quarterly 2024Q1: its last ".000" was read as a
    float's tail (leaving 111000954, nine digits: 1 November), and its twelve digits as a
    date with an 8-digit year (11 October 0095). A float's tail follows a plain run of
    digits only, and a twelve-digit CPR spelling has a living person's century."""
    from analysis.data.cpr import could_be_cpr, mask_text

    assert not could_be_cpr("| 455.000 | 111.000 – 954.000 | – |", standalone=True)
    assert could_be_cpr("101901234.0")
    assert could_be_cpr("| 11-10-1995-4000 |", standalone=True)
    assert could_be_cpr("111019954000")
    assert mask_text("id 01011890 1234") != "id 01011890 1234"
    assert mask_text("id 010120201234") != "id 010120201234"


def test_an_amount_grouped_in_thousands_in_a_report_is_not_a_personal_number():
    """Sweep programme 9: the final report's "103.328.277 kr." (nine digits: 0103328277,
    1 March, with a spreadsheet's dropped zero put back) stopped the build."""
    from analysis.data.cpr import could_be_cpr, mask_text

    line = "Den samlede offentlige gevinst over 5 år er 103.328.277 kr. (tilbagediskonteret)"
    assert not could_be_cpr(line, standalone=True)
    assert not could_be_cpr("| 1.012.345.678 |", standalone=True)
    # Not grouped in thousands, or in messages (not standalone): still hidden.
    assert could_be_cpr("| 103328277 |", standalone=True)
    assert could_be_cpr("| 010.190.1234 |", standalone=True)
    assert could_be_cpr("| 0.101.901.234 |", standalone=True)
    assert mask_text(line) != line
