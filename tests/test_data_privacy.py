"""No personal number is ever echoed, and every unreadable extract is one clear error.

A CPR-like value is put into every column of every table (and into a column
name), in CSV and in Parquet, in the forms it takes in real exports; the message
of the data contract and the output of the command line must not contain it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from analysis.data.cpr import MASK, mask_text
from analysis.data.schemas import TABLES
from analysis.data.validate import DataContractError, load_extract
from analysis.paths import ROOT

# The forms one CPR number takes in exports, and what must never appear in output.
# The last is 0101901234 after a spreadsheet dropped its leading zero and made it a float.
CPR_FORMS = ["311285-4321", "3112854321", "311285 4321", "0101901234", "101901234.0"]
NEEDLES = ["311285", "3112854321", "0101901234", "101901234", "3.112854321e", "1.01901234e"]


def _leaks(text: str) -> list[str]:
    return [needle for needle in NEEDLES if needle in text]


def _write(folder, tables, fmt):
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def _with_value(tables, table, column, value):
    out = {k: v.copy() for k, v in tables.items()}
    frame = out[table]
    frame[column] = frame[column].astype("string")
    frame.loc[frame.index[0], column] = value
    return out


def _every_column(small_tables):
    return [(t, c) for t in TABLES for c in small_tables[t].columns]


def test_mask_text_hides_every_form():
    for text in [
        *CPR_FORMS,
        "101901234.0",
        "3.112854321e+09",
        "31.12.85-4321",
        "\uff13\uff11\uff11\uff12\uff18\uff15\uff14\uff13\uff12\uff11",
    ]:
        assert mask_text(f"value(s): {text}, M") == f"value(s): {MASK}, M"
    for harmless in ["2023Q4–2025Q2", "in_range(1920, 2028)", "data row(s) 1, 2, 3", "12345"]:
        assert mask_text(harmless) == harmless


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_cpr_like_value_in_any_column_is_never_echoed(tmp_path, small_tables, contract, fmt):
    checked = 0
    for table, column in _every_column(small_tables):
        for number, value in enumerate(CPR_FORMS):
            folder = tmp_path / f"{table}-{column}-{number}"
            _write(folder, _with_value(small_tables, table, column, value), fmt)
            with pytest.raises(DataContractError) as error:
                load_extract(folder, contract)
            message = str(error.value)
            assert not _leaks(message), (table, column, value, message)
            # The file and the column are named instead.
            assert f"{table}.{fmt}" in message, message
            checked += 1
    assert checked == len(_every_column(small_tables)) * len(CPR_FORMS)


@pytest.mark.parametrize("name", CPR_FORMS)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_cpr_like_column_name_is_never_echoed(tmp_path, small_tables, contract, fmt, name):
    for table in TABLES:
        tables = {k: v.copy() for k, v in small_tables.items()}
        tables[table] = tables[table].assign(**{name: "x"})
        folder = _write(tmp_path / table, tables, fmt)
        with pytest.raises(DataContractError) as error:
            load_extract(folder, contract)
        assert not _leaks(str(error.value))
        assert "column is not part of the data contract" in str(error.value)


def _cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("command", ["validate", "quarterly"])
def test_cli_never_echoes_a_cpr_like_value(tmp_path, small_tables, command, fmt):
    """Through the command line, in a column where it used to be echoed with its whole row."""
    for table, column in [
        ("persons", "sex"),
        ("households", "area"),
        ("life_satisfaction", "score"),
    ]:
        folder = _write(
            tmp_path / f"{table}-{column}",
            _with_value(small_tables, table, column, "0101901234"),
            fmt,
        )
        out = tmp_path / "out" / "2025Q1"
        if command == "validate":
            completed = _cli("validate", str(folder))
        else:
            completed = _cli(
                "quarterly", "--data", str(folder), "--as-of", "2025Q1", "--out", str(out)
            )
        assert completed.returncode == 1
        assert not _leaks(completed.stdout + completed.stderr), completed.stderr
        assert "Traceback" not in completed.stderr
        assert f"{table}.{fmt}" in completed.stderr
        assert not out.exists()


def test_one_bad_value_is_one_line(tmp_path, small_tables, contract):
    """A value that is not a number is reported once, not as dtype and TypeError noise too."""
    folder = _write(
        tmp_path / "x", _with_value(small_tables, "persons", "birth_year", "nineteen"), "csv"
    )
    with pytest.raises(DataContractError) as error:
        load_extract(folder, contract)
    assert str(error.value) == (
        f"{folder}: the extract breaks the data contract: persons.csv, column birth_year: "
        "wrong type: expected 'int64' — data row(s) 1 — value(s): nineteen"
    )


def test_row_rule_names_rows_not_the_row(tmp_path, small_tables, contract):
    folder = _write(tmp_path / "x", _with_value(small_tables, "households", "area", "XYZ"), "csv")
    with pytest.raises(DataContractError) as error:
        load_extract(folder, contract)
    message = str(error.value)
    assert len(message.splitlines()) == 1
    assert "households.csv: area must be a programme area" in message
    assert "intervention" not in message.split("otherwise")[1]


# -- files that are not tables --------------------------------------------------------


def _valid(tmp_path, small_tables):
    return _write(tmp_path / "extract", small_tables, "csv")


def _refused(folder, contract, fragment):
    with pytest.raises(DataContractError) as error:
        load_extract(folder, contract)
    assert fragment in str(error.value)
    completed = _cli("validate", str(folder))
    assert completed.returncode == 1
    assert fragment in completed.stderr
    assert "Traceback" not in completed.stderr


def test_folder_named_like_a_table(tmp_path, small_tables, contract):
    folder = _valid(tmp_path, small_tables)
    (folder / "persons.csv").unlink()
    (folder / "persons.csv").mkdir()
    _refused(folder, contract, "persons.csv: is not a regular file")


def test_csv_and_parquet_of_one_table_are_ambiguous(tmp_path, small_tables, contract):
    folder = _valid(tmp_path, small_tables)
    small_tables["persons"].to_parquet(folder / "persons.parquet")
    _refused(folder, contract, "persons.parquet and persons.csv: both files are present")


def test_link_out_of_the_extract_is_refused(tmp_path, small_tables, contract):
    folder = _valid(tmp_path, small_tables)
    elsewhere = tmp_path / "elsewhere.csv"
    (folder / "persons.csv").rename(elsewhere)
    (folder / "persons.csv").symlink_to(elsewhere)
    _refused(folder, contract, "persons.csv: is a link to a file outside the extract folder")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "manifest.json: is not a regular file"),
        ("{not json", "manifest.json: is not valid JSON"),
        (json.dumps([1, 2]), "manifest.json: is not a JSON object"),
    ],
)
def test_broken_manifest_is_one_clear_error(tmp_path, small_tables, contract, content, fragment):
    folder = _valid(tmp_path, small_tables)
    if content is None:
        (folder / "manifest.json").mkdir()
    else:
        (folder / "manifest.json").write_text(content)
    _refused(folder, contract, fragment)


def test_digits_are_counted_on_the_bytes_as_the_unicode_regex_counts_them():
    # looks_like_cpr sends to the CPR detector only values with nine digits or more;
    # ASCII ids are counted in NumPy (Arrow's regex took seconds a million ids), the
    # rest by the regex: both give the regex's counts, missing values 0.
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from analysis.data.cpr import digit_counts

    def regex(array):
        counts = pc.count_substring_regex(array, r"\p{Nd}").fill_null(0)
        return np.asarray(counts.to_numpy(zero_copy_only=False))

    ascii_ids = pa.array(["P00000001", "H1", "", None, "010190-1234", "a1b2c3d4e5"])
    cases = [
        ascii_ids,
        ascii_ids.slice(2),
        pa.array(["x１２３４５６７８９", "12", None]),  # full-width digits: the regex's path
        pa.array(["P1", "22", "333"], pa.large_string()).slice(1),
        pa.array([None, None], pa.string()),
        pa.array([], pa.string()),
    ]
    for array in cases:
        assert digit_counts(array).tolist() == regex(array).tolist()
    chunked = pa.chunked_array([pa.array(["1", "22"]), pa.array(["0101901234"])])
    assert digit_counts(chunked).tolist() == [1, 2, 10]
