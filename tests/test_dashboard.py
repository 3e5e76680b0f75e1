"""The dashboard figure: drawn from plain series exactly, and fed from real quarterly results."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from analysis.payments.quarterly import write_quarterly_results
from analysis.reports import dashboard
from analysis.reports import quarterly_view as view
from analysis.sdc import quarterly as published_cells
from analysis.sdc.suppress import SUPPRESSED


def _series() -> dashboard.DashboardSeries:
    quarters = ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    return dashboard.DashboardSeries(
        as_of="2024Q3",
        paid=pd.Series([0.0, 1e6, 2e6], index=quarters[:3]),
        invested=pd.Series([5e6, 10e6, 15e6, 20e6], index=quarters),
        cap=30e6,
        forecast=pd.DataFrame(
            {
                "quarter": ["2024Q3", "2024Q4"],
                "low": [2e6, 3e6],
                "median": [2e6, 4e6],
                "high": [2e6, 5e6],
            }
        ),
        targets=pd.DataFrame(
            {
                "target": ["A", "B", "C"],
                "amount": [1.5e6, None, 0.0],
                "status": ["earning", "hidden", "none"],
            }
        ),
    )


@pytest.mark.parametrize("narrow", [False, True])
def test_figure_draws_the_series_it_is_given(narrow):
    # Side by side, or (narrow, for a phone) one above the other: the same drawing.
    fig = dashboard.dashboard_figure(_series(), "en", narrow=narrow)
    money, bars = fig.axes[:2]
    fig.canvas.draw()
    above = money.get_window_extent().y0 > bars.get_window_extent().y1
    assert above == narrow
    lines = {line.get_label(): line for line in money.get_lines()}
    np.testing.assert_allclose(lines["Paid (cumulative)"].get_ydata(), [0, 1, 2])
    np.testing.assert_allclose(lines["Forecast, median"].get_ydata(), [2, 4])
    assert lines["Total cap"].get_ydata()[0] == pytest.approx(30)
    widths = [patch.get_width() for patch in bars.patches]
    # Bars are drawn bottom-up: C, B (hidden: not drawn), A.
    assert widths == pytest.approx([0.0, 0.0, 1.5])
    labels = [text.get_text() for text in bars.texts]
    # A hidden bar says so in words (page 1 shows no suppression symbol).
    assert "hidden (confidentiality)" in labels and "1.50" in labels
    assert SUPPRESSED not in labels
    plt.close(fig)


def test_the_as_of_label_stays_legible_over_the_lines():
    # The label sits at the foot of the chart, where the invested and paid lines start
    # (quarterly 2024Q1 and 2026Q1 printed it with the lines running through its words).
    fig = dashboard.dashboard_figure(_series(), "en")
    money = fig.axes[0]
    label = next(text for text in money.texts if text.get_text().startswith("As of"))
    ground = label.get_bbox_patch()
    assert ground is not None, "the as-of label has no background"
    red, green, blue, alpha = ground.get_facecolor()
    assert min(red, green, blue) > 0.99 and alpha >= 0.8
    assert label.get_zorder() > max(line.get_zorder() for line in money.get_lines())
    plt.close(fig)


def test_fed_from_real_quarterly_results(tmp_path, synthetic_dir, contract):
    quarterly = tmp_path / "quarterly"
    for quarter in ("2024Q4", "2025Q1"):
        # As `python -m analysis quarterly` does: what the report publishes is written
        # into the folder before its provenance marker.
        write_quarterly_results(
            synthetic_dir,
            quarter,
            quarterly / quarter,
            contract,
            lambda folder, q=quarter: published_cells.publish(quarterly, q, contract, folder),
        )
    inputs = published_cells.load(quarterly, "2025Q1", contract)
    series = dashboard.from_quarterly(inputs, contract, "da")
    assert series.paid.index[0] == contract.timeline.intervention.start
    assert series.paid.iloc[-1] == pytest.approx(inputs.key["payments_paid_total"])
    assert series.invested.iloc[-1] == pytest.approx(contract.investment.total)
    base = inputs.tables["forecast"].set_index("scenario").loc["base"]
    assert series.forecast["median"].iloc[-1] == pytest.approx(
        view.rounded_forecast(base["median"], contract)
    )
    # The fan is what the simulated futures pay, cumulatively: it starts at paid to
    # date and steps up at the payment quarters, never above the band's end.
    assert series.forecast["median"].iloc[0] == pytest.approx(
        view.rounded_forecast(inputs.key["payments_paid_total"], contract)
    )
    assert series.forecast["median"].is_monotonic_increasing
    assert series.forecast["high"].iloc[-1] == pytest.approx(
        view.rounded_forecast(base["high"], contract)
    )
    assert len(series.targets) == 5
    # A target whose amount the report hides is never given an amount.
    for row in series.targets.itertuples():
        assert (row.status == "hidden") == (row.amount is None or pd.isna(row.amount))
    plt.close(dashboard.dashboard_figure(series, "da"))
    alt = dashboard.alt_text(series, "en")
    assert alt.startswith("As of Q1 2025, DKK ")
    for row in series.targets.itertuples():
        if row.status == "hidden":
            assert f"{row.target}: hidden (confidentiality)" in alt


def test_alt_text_says_what_the_figure_shows():
    alt = dashboard.alt_text(_series(), "en")
    assert alt.startswith(
        "As of Q3 2024, DKK 2,000,000 paid and DKK 15,000,000 invested; total cap DKK 30,000,000."
    )
    assert (
        "Forecast of total payments DKK 4,000,000 (DKK 3,000,000 to DKK 5,000,000) in Q4 2024."
        in alt
    )
    assert (
        "A: earning payments (DKK 1,500,000); B: hidden (confidentiality); C: no achievements yet."
        in alt
    )
