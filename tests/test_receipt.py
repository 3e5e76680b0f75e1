"""Validation receipts: an extract is checked once, and any change means a full check again.

The extract is a real one from the synthetic generator, copied to a temporary
folder; the number of full validations is counted by wrapping the validation's own
per-table check (it still runs), so a skipped check is visible.
"""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest

from analysis.data import receipt, validate
from analysis.data.validate import DataContractError, load_extract
from analysis.pipeline.cli import main


@pytest.fixture()
def receipts(tmp_path, monkeypatch):
    """An empty receipts folder of this test alone, and no forced revalidation."""
    folder = tmp_path / "validated"
    monkeypatch.setattr(receipt, "FOLDER", folder)
    monkeypatch.delenv(receipt.REVALIDATE, raising=False)
    return folder


@pytest.fixture()
def copy(tmp_path, synthetic_dir):
    """A private copy of the synthetic extract, free to change."""
    target = tmp_path / "extract"
    shutil.copytree(synthetic_dir, target)
    return target


@pytest.fixture()
def checks(monkeypatch):
    """How many tables went through the contract's rules (the real check runs)."""
    calls = []
    real = validate._frame_problems

    def counted(name, *args, **kwargs):
        calls.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(validate, "_frame_problems", counted)
    return calls


def _break_households(folder):
    """One household of an unknown group: a rule of the contract is broken."""
    path = folder / "households.parquet"
    frame = pd.read_parquet(path)
    frame.loc[0, "group"] = "nobody"
    frame.to_parquet(path, index=False)


@pytest.mark.parametrize("out_of_core", [False, True])
def test_a_second_read_uses_the_receipt_and_gives_the_same_tables(
    receipts, copy, contract, checks, out_of_core
):
    first = load_extract(copy, contract, out_of_core=out_of_core)
    assert first.checked and len(checks) == 7
    assert [p.parent for p in receipts.iterdir()] == [receipts]
    second = load_extract(copy, contract, out_of_core=out_of_core)
    assert not second.checked and len(checks) == 7  # no table checked again
    assert second.checksums == first.checksums
    assert second.synthetic == first.synthetic
    assert second.register == first.register
    assert sorted(second.tables) == sorted(first.tables)
    for name, frame in first.tables.items():
        pd.testing.assert_frame_equal(second.tables[name], frame, check_exact=True)


def test_the_receipt_holds_checksums_and_counts_only_and_stays_out_of_the_extract(
    receipts, copy, contract
):
    before = sorted(p.name for p in copy.iterdir())
    extract = load_extract(copy, contract)
    assert sorted(p.name for p in copy.iterdir()) == before
    (path,) = receipts.iterdir()
    content = json.loads(path.read_text(encoding="utf-8"))
    assert set(content) == {"format", "files", "contract", "code", "rows"}
    assert content["files"] == extract.checksums
    digests = [content["contract"], content["code"], *content["files"].values()]
    assert all(re.fullmatch(r"[0-9a-f]{64}", d) for d in digests)
    assert content["rows"] == {name: len(frame) for name, frame in extract.tables.items()}


def test_revalidate_checks_in_full_despite_a_receipt(receipts, copy, contract, checks, monkeypatch):
    load_extract(copy, contract)
    assert not load_extract(copy, contract).checked
    assert load_extract(copy, contract, revalidate=True).checked
    monkeypatch.setenv(receipt.REVALIDATE, "1")
    assert load_extract(copy, contract).checked
    assert len(checks) == 3 * 7


def test_a_changed_contract_checks_in_full(receipts, copy, contract, checks):
    load_extract(copy, contract)
    other = contract.model_copy(update={"seed": contract.seed + 1})
    assert load_extract(copy, other).checked
    assert len(checks) == 2 * 7
    assert not load_extract(copy, other).checked


def test_changed_validation_code_makes_the_receipt_stale(receipts, copy, contract, monkeypatch):
    load_extract(copy, contract)
    assert not load_extract(copy, contract).checked
    # What a changed source file of the checks does to the digest.
    monkeypatch.setattr(receipt, "code_digest", lambda: "0" * 64)
    assert load_extract(copy, contract).checked


def test_the_code_digest_covers_the_validation_modules():
    import analysis.data.engine
    import analysis.data.io
    import analysis.data.schemas

    for module in (
        validate,
        receipt,
        analysis.data.schemas,
        analysis.data.engine,
        analysis.data.io,
    ):
        name = module.__name__.replace(".", "/") + ".py"
        assert name in receipt.CODE


def test_no_receipt_for_an_invalid_extract(receipts, copy, contract):
    _break_households(copy)
    for _ in range(2):
        with pytest.raises(DataContractError, match="households.parquet, column group"):
            load_extract(copy, contract, out_of_core=True)
    assert not receipts.exists() or not list(receipts.iterdir())


def test_an_extract_changed_after_its_receipt_is_refused_as_without_one(
    receipts, copy, contract, checks, tmp_path, capsys
):
    as_of = "2024Q2"
    assert main(["validate", str(copy)]) == 0
    assert len(list(receipts.iterdir())) == 1
    _break_households(copy)
    checks.clear()
    out = tmp_path / "results" / as_of
    args = ["quarterly", "--data", str(copy), "--as-of", as_of, "--out", str(out)]
    capsys.readouterr()
    assert main(args) == 1
    with_receipt = capsys.readouterr().err
    assert len(checks) == 7  # validated in full
    assert not out.exists() and not list(out.parent.glob("*"))
    # The same refusal with no receipt at all.
    shutil.rmtree(receipts)
    assert main(args) == 1
    assert capsys.readouterr().err == with_receipt
    assert "households.parquet, column group" in with_receipt
    assert not out.exists()
    assert len(list(receipts.iterdir()) if receipts.exists() else []) == 0
