"""An evaluation reads the money from what the payment steps stored, and computes none of it.

The payments, the ledger and the investors' figures of an evaluation report are
the quarterly results of its cut-off as ``python -m analysis quarterly`` (or, after
the last quarterly folder, ``python -m analysis ledger --results``) stored them
(:mod:`analysis.payments.stored`). These tests make the payments computation
(:func:`analysis.payments.quarterly.compute` and the ledger's settling) raise, so
that a call to it from the evaluation's path fails them.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.payments import ledger, quarterly, stored


def _refuse(*args, **kwargs):
    raise AssertionError("the evaluation computed payments")


@pytest.fixture
def no_payments_computed(monkeypatch):
    """Every way the payments are computed raises from here on."""
    monkeypatch.setattr(quarterly, "compute", _refuse)
    monkeypatch.setattr(ledger, "build", _refuse)
    monkeypatch.setattr(ledger, "settle", _refuse)


@pytest.fixture(scope="module")
def results_2025q2(tmp_path_factory, synthetic_dir, contract):
    """The quarterly results as of the midterm evaluation's cut-off, as the quarterly step writes them."""
    root = tmp_path_factory.mktemp("results") / "quarterly"
    quarterly.write_quarterly_results(synthetic_dir, "2025Q2", root / "2025Q2", contract)
    return root


def test_the_context_reads_the_stored_payments(
    results_2025q2, synthetic_dir, contract, no_payments_computed
):
    from analysis.effects.context import load_context

    context = load_context(str(synthetic_dir), "2025Q2", contract, str(results_2025q2))
    folder = results_2025q2 / "2025Q2"
    key = json.loads((folder / "key_numbers.json").read_text(encoding="utf-8"))
    assert context.quarterly.key_numbers == key
    assert context.quarterly.as_of == "2025Q2"
    assert set(context.quarterly.tables) == {p.stem for p in folder.glob("*.csv")}
    for name, table in context.quarterly.tables.items():
        pd.testing.assert_frame_equal(table, pd.read_csv(folder / f"{name}.csv"), obj=name)


def test_payments_after_the_last_quarterly_folder_are_read_from_their_own_folder(
    tmp_path, results_2025q2, contract
):
    """An evaluation's cut-off without a quarterly folder: <results>/payments/<quarter>."""
    import shutil

    quarterly_dir = tmp_path / "results" / "quarterly"
    quarterly_dir.mkdir(parents=True)
    shutil.copytree(results_2025q2 / "2025Q2", tmp_path / "results" / stored.PAYMENTS / "2025Q2")
    found = stored.at(quarterly_dir, "2025Q2")
    assert found.key_numbers["as_of"] == "2025Q2"
    assert "investors" in found.tables and "ledger" in found.tables


def test_missing_payments_are_one_clear_error(tmp_path, synthetic_dir, contract):
    from analysis.effects.context import load_context

    quarterly_dir = tmp_path / "results" / "quarterly"
    quarterly_dir.mkdir(parents=True)
    with pytest.raises(stored.MissingPaymentsError) as error:
        load_context(str(synthetic_dir), "2025Q2", contract, str(quarterly_dir))
    message = str(error.value)
    assert "no payment results as of 2025Q2" in message
    assert "python -m analysis ledger --as-of 2025Q2" in message
    assert "\n" not in message


def test_an_incomplete_results_folder_is_not_read(tmp_path, results_2025q2):
    import shutil

    from analysis.provenance import MARKER

    quarterly_dir = tmp_path / "quarterly"
    shutil.copytree(results_2025q2 / "2025Q2", quarterly_dir / "2025Q2")
    (quarterly_dir / "2025Q2" / MARKER).unlink()
    with pytest.raises(stored.MissingPaymentsError):
        stored.at(quarterly_dir, "2025Q2")


@pytest.mark.slow
def test_the_evaluation_stage_computes_no_payments(
    tmp_path, results_2025q2, synthetic_dir, contract, no_payments_computed
):
    """The whole results stage of an evaluation (estimates, disclosure control, results file)."""
    from analysis.reports.stage import prepare

    report = prepare(str(synthetic_dir), "2025Q2", 19, str(results_2025q2))
    assert report.payments.key["as_of"] == "2025Q2"
    assert report.results.numbers  # the payments' key numbers were recorded


def _calls_under(folder, action):
    """(module path, function) of every function of ``folder`` that ``action()`` calls."""
    import sys

    from analysis.paths import ROOT

    prefix = str(ROOT / folder)
    calls = set()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code.co_filename.startswith(prefix):
            relative = frame.f_code.co_filename[len(str(ROOT)) + 1 :]
            calls.add((relative, frame.f_code.co_name))

    sys.setprofile(profile)
    try:
        result = action()
    finally:
        sys.setprofile(None)
    return result, calls


def test_following_as_of_through_the_stage_reaches_only_the_stored_payments(
    results_2025q2, synthetic_dir, contract, monkeypatch
):
    """The stage's path from ``as_of`` to the protected payments and the results file, traced.

    The estimates are given (none here: their path has no payments in it, see the
    slow test above), so the stage runs everything else it does with ``as_of``:
    the context, the payments' disclosure control, the results file. Of the
    payments package it may only read what the payment steps stored, and the
    quarter, parsed once where it entered, is parsed no more.
    """
    from test_quarter import _by_place, _parses

    from analysis import quarters
    from analysis.reports.stage import Effects, StageExtras, prepare

    as_of = quarters.parse("2025Q2")  # the command line's one parse
    traced = _parses(monkeypatch, "2025Q2")
    effects = Effects({}, {}, {}, [], extras=StageExtras(pd.DataFrame(), {}, {}, {}))
    report, calls = _calls_under(
        "analysis/payments",
        lambda: prepare(
            str(synthetic_dir), as_of, 0, str(results_2025q2), effects=effects, contract=contract
        ),
    )
    assert report.payments.key["as_of"] == "2025Q2"
    assert {module for module, _ in calls} == {"analysis/payments/stored.py"}, sorted(calls)
    # Nothing parses it again (the disclosure package's reading of published cell
    # keys aside: data, as in tests/test_quarter.py).
    assert _by_place(traced.sites) == {}, traced.sites
