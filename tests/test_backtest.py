"""The forecast backtest's bookkeeping: coverage and error on cases with a known answer."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from analysis import backtest
from analysis.config import load_synthetic


def test_coverage_of_a_known_band():
    # 1,000 outcomes at the quantiles (i + 1/2)/1000 of U(0, 1) against the band
    # [0.05, 0.95]: exactly 900 lie inside.
    outcomes = (np.arange(1000) + 0.5) / 1000
    inside = backtest.covered(outcomes, np.full(1000, 0.05), np.full(1000, 0.95), tolerance=0.0)
    assert inside.mean() == 0.9


def test_coverage_tolerance_and_missing_bands():
    inside = backtest.covered(
        [10.0, 10.4, 11.0, 5.0, 5.0], [0.0, 0.0, 0.0, None, 5.0], [10.0, 10.0, 10.0, 9.0, 5.0]
    )
    # On the edge, within half a krone, beyond it, no band, a band of no width hit exactly.
    assert inside.tolist() == [True, True, False, False, True]


def test_summary_per_horizon_hand_worked():
    rows = []
    for horizon, outcome, lows, medians in (
        (5, 100.0, [90, 90, 101, 90], [100, 104, 110, 98]),
        (1, 50.0, [40, 40, 40, 40], [50, 50, 50, 50]),
    ):
        for i, (low, median) in enumerate(zip(lows, medians, strict=True)):
            rows.append(
                {
                    "programme": i,
                    "cutoff": f"h{horizon}",
                    "horizon": horizon,
                    "settled": True,
                    "outcome": outcome,
                    "low": low,
                    "median": median,
                    "high": 120.0,
                    "naive_low": outcome - 1,
                    "naive_median": outcome + 20,
                    "naive_high": outcome + 30,
                    "outcome_irr": 0.02 if i else np.nan,
                    "irr_low": 0.01,
                    "irr_median": 0.03,
                    "irr_high": 0.04,
                    "naive_irr_low": 0.03,
                    "naive_irr_median": 0.05,
                    "naive_irr_high": 0.06,
                }
            )
    summary = backtest.summarise(pd.DataFrame(rows)).set_index("horizon")
    # Horizon 5: three of four bands hold 100; errors 0, 4, 10, 2 -> median 3.
    assert summary.loc[5, "coverage"] == 0.75
    assert summary.loc[5, "mae"] == 3.0
    assert summary.loc[5, "naive_coverage"] == 1.0
    assert summary.loc[5, "naive_mae"] == 20.0
    assert summary.loc[5, "mae_vs_naive"] == pytest.approx(3 / 20 - 1)
    # The IRR over the three programmes whose realised IRR is defined.
    assert summary.loc[5, "irr_programmes"] == 3
    assert summary.loc[5, "irr_coverage"] == 1.0
    assert summary.loc[5, "naive_irr_coverage"] == 0.0
    assert summary.loc[5, "irr_mae_pp"] == pytest.approx(1.0)
    assert summary.loc[1, "coverage"] == 1.0 and summary.loc[1, "mae"] == 0.0
    # Longest horizon first, as the table reads.
    assert list(summary.index) == [5, 1]


def test_programmes_draw_their_parameters_from_the_configured_ranges():
    synth = load_synthetic()
    ranges = synth.backtest
    seen = set()
    for number in range(20):
        params, seed, scale = backtest.programme_parameters(synth, number)
        assert ranges.effect_scale.low <= scale <= ranges.effect_scale.high
        low, high = ranges.enrolment_shortfall.low, ranges.enrolment_shortfall.high
        assert low <= params.enrolment_shortfall <= high
        assert params.true_effects.ladder_step == pytest.approx(
            synth.true_effects.ladder_step * scale
        )
        seen.add(seed)
        # Reproducible: the same number gives the same programme.
        assert backtest.programme_parameters(synth, number)[1] == seed
    assert len(seen) == 20


def test_truncated_targets_equal_the_targets_as_of_the_quarter(extract, contract):
    # The backtest computes the targets once on the whole extract and cuts them at
    # each quarter; on synthetic data (no revisions) that is what the reports compute.
    from analysis import quarters
    from analysis.data.asof import as_of
    from analysis.payments.targets import UNIT_TARGETS

    tables = backtest.compact_tables(extract.tables, contract)
    whole = as_of(tables, "2028Q2", contract)
    everything = {name: rule(whole, contract) for name, rule in UNIT_TARGETS.items()}
    for cutoff in ("2024Q3", "2025Q2"):
        data = as_of(tables, cutoff, contract)
        cut = backtest.truncated(
            everything, quarters.to_index(cutoff), quarters.to_index(data.register_until)
        )
        for name, rule in UNIT_TARGETS.items():
            direct = rule(data, contract)
            key = ["unit_id", "step", "t"]
            pd.testing.assert_frame_equal(
                cut[name].achievements.sort_values(key).reset_index(drop=True)[key],
                direct.achievements.sort_values(key).reset_index(drop=True)[key],
                check_dtype=False,
            )
            assert set(cut[name].eligible["unit_id"]) == set(direct.eligible["unit_id"]), name


def test_ledger_without_the_pretest_is_the_ledger(extract, contract):
    # The backtest's ledgers leave out the pre-trend test, which no amount uses:
    # the first settlement is the same to the øre, and the fit is restored after.
    from analysis.payments import absence
    from analysis.payments import ledger as ledger_module

    tables = backtest.compact_tables(extract.tables, contract)
    fit = absence.fit
    with backtest._settlements_without_pretest():
        assert absence.fit is not fit
        quick = ledger_module.build(tables, "2025Q1", contract)
    assert absence.fit is fit
    # The settlement's own fit leaves the test out too (absence.fit's default): the
    # ledger with it, for the comparison.
    absence.fit = functools.partial(fit, pretest=True)
    try:
        full = ledger_module.build(tables, "2025Q1", contract)
    finally:
        absence.fit = fit
    assert (full["kind"] == "settlement").any()
    pd.testing.assert_frame_equal(quick, full)


def test_verdict_names_the_horizons_that_miss_the_goals(tmp_path):
    # Horizons 5 to 1 (1: everything settled, left out); coverage misses the 85-95 %
    # goal at 4 (80 %), the error misses the 30 % goal at 5 (-20 %).
    summary = pd.DataFrame(
        {
            "horizon": [5, 4, 3, 2, 1],
            "settled": True,
            "coverage": [0.9, 0.8, 0.95, 0.88, 1.0],
            "irr_coverage": [0.9, 0.9, 0.9, 0.9, 1.0],
            "mae_vs_naive": [-0.2, -0.5, -0.6, -0.1, np.nan],
        }
    )
    text = backtest.verdict(summary, [0, 1, 2, 3], 200, 0.9)
    assert "**4 of the 200 configured programmes** (numbers 0 to 3;" in text
    assert "within 85-95 % at 3 of 4 horizons (80.0 % at 4)" in text
    assert "20 % to 50 % below the naive method's at horizons of 4 quarters or more" in text
    assert "short of the 30 % goal at 5 (-20 %)" in text
    page = tmp_path / "page.md"
    page.write_text(f"a\n{backtest.BEGIN}\nold\n{backtest.END}\nb\n", encoding="utf-8")
    backtest.write_docs("new\n", [page])
    assert page.read_text(encoding="utf-8") == f"a\n{backtest.BEGIN}\nnew\n{backtest.END}\nb\n"


def test_a_screen_takes_spans_and_stays_out_of_the_docs(capsys):
    # --numbers/--horizons run a subset (the development programmes, a few horizons);
    # its table must not replace the 200 programmes' in the docs.
    assert backtest._span("1000-1069") == (1000, 1069)
    assert backtest._span("11") == (11, 11)
    with pytest.raises(SystemExit):
        backtest.main(["--numbers", "1000-1001", "--docs"])
    assert "screen" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        backtest.main(["--horizons", "13-10"])


def test_a_screen_forecasts_only_its_horizons():
    from analysis.config import CONTRACT_FILE, SYNTHETIC_CONFIG_FILE

    rows = backtest.run_programme(1000, str(CONTRACT_FILE), str(SYNTHETIC_CONFIG_FILE), (1, 2))
    assert sorted(row["horizon"] for row in rows) == [1, 2]
    assert {row["programme"] for row in rows} == {1000}
