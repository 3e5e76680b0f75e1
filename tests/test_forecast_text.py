"""Page 1's forecast sentences: one projection, the caps in kroner, certainty, the backtest."""

from __future__ import annotations

import json

import pandas as pd

from analysis.reports import forecast_text


def _table(median=18e6, low=15e6, high=21e6, earned=24e6):
    return pd.DataFrame(
        [
            {"scenario": "base", "median": median, "low": low, "high": high},
            {"scenario": "shortfall", "median": median - 1e6, "low": low, "high": high},
            {"scenario": "earned", "median": earned, "low": earned - 3e6, "high": earned + 3e6},
        ]
    )


def _key(**extra):
    return {
        "projected_paid_median": 18e6,
        "projected_paid_low": 15e6,
        "projected_paid_high": 21e6,
        "projected_withheld_median": 1_234_567.0,
        "projected_irr_median": 0.031,
        "projected_irr_low": 0.01,
        "projected_irr_high": 0.046,
        "forecast_certain": False,
        **extra,
    }


def test_caps_sentence_gives_the_effect_in_kroner(contract, tmp_path):
    text = forecast_text.projection_text(
        _key(), _table(), contract, "en", "2026Q2", tmp_path / "none.json"
    )
    # Earned = paid median + withheld, both rounded to DKK 1,000.
    assert "would earn DKK 19,235,000" in text and "withhold DKK 1,235,000" in text
    assert "3.1% a year (90% interval 1.0% to 4.6%)" in text
    assert "backtest" not in text  # no summary: no claim


def test_certain_outcome_is_said_and_nothing_else(contract):
    text = forecast_text.projection_text(
        _key(forecast_certain=True), _table(), contract, "da", "2028Q1"
    )
    assert text == " Alle resultatrapporter er afregnet: beløbet ligger fast."


def test_backtest_sentence_reads_the_summary_at_the_reports_horizon(contract, tmp_path):
    summary = tmp_path / "summary.json"
    summary.write_text(
        json.dumps(
            {
                "band": 0.9,
                "programmes": 200,
                "by_horizon": [
                    {"horizon": 8, "coverage": 0.885, "mae": 812_345.0},
                    {"horizon": 9, "coverage": 0.5, "mae": 1.0},
                ],
            }
        )
    )
    # 2026Q2 is 8 quarters before the last payment quarter (2028Q2).
    assert forecast_text.horizon(contract, "2026Q2") == 8
    text = forecast_text.projection_text(
        _key(projected_withheld_median=0.0), _table(), contract, "en", "2026Q2", summary
    )
    assert (
        "In a backtest over 200 synthetic programmes, the final amount lay within the 90% "
        "interval 8 quarters before the last payment in 88% of them, with a typical (median) "
        "error of DKK 812,000." in text
    )
    assert "withhold" not in text


def test_an_irr_band_of_no_width_is_said_in_words(contract):
    """Seen on page 1 of a quarterly report: "(90 %-interval 4,6 % til 4,6 %)"."""
    cap = contract.caps.investor_annual_return
    at_cap = _key(projected_irr_median=cap, projected_irr_low=cap - 1e-5, projected_irr_high=cap)
    # Percentages carry a no-break space before the sign.
    text = forecast_text.projection_text(at_cap, _table(), contract, "da", "2026Q2")
    text = text.replace("\xa0", " ")
    assert "til 4,6 %" not in text
    assert (
        " Investorernes forventede interne rente: 4,6 % om året, afkastloftet, som nås i mindst "
        "90 % af de simulerede forløb." in text
    )
    fixed = _key(projected_irr_median=0.02, projected_irr_low=0.02, projected_irr_high=0.02)
    text = forecast_text.projection_text(fixed, _table(), contract, "en", "2026Q2")
    text = text.replace("\xa0", " ")
    assert "2.0% a year in at least 90% of the simulated futures." in text
    assert "afkastloft" not in text and "return cap," not in text
