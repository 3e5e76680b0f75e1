"""The board's one-figure dashboard: money over time and the status of each payment target.

:func:`dashboard_figure` draws from plain series (:class:`DashboardSeries`), so any
source of the numbers can feed it: today :func:`from_quarterly` builds them from the
quarterly payment results; a settlement ledger can build the same series.

Left (or, drawn narrow, upper) panel: cumulative outcome payments paid, the investment disbursed and the
total cap over the quarters, with the forecast of total payments as a fan from
what is earned so far to the last payment quarter. Right (lower) panel: the amount earned
per payment target so far, coloured by its status. A target whose amount
disclosure control hides is marked, never drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis import quarters
from analysis.config import TARGETS, Contract
from analysis.payments import investors
from analysis.payments import ledger as ledger_module
from analysis.render import numbers
from analysis.render.style import ACCENT, NEUTRAL, PRIMARY, apply_theme
from analysis.reports import quarterly_view as view
from analysis.reports.text import t
from analysis.sdc import disclosure
from analysis.sdc.suppress import SUPPRESSED

STATUSES = ("earning", "pending", "none", "hidden")
STATUS_COLOURS = {
    "earning": "#2E7D4F",
    "pending": "#E0A526",
    "none": "#B0B0B0",
    "hidden": "#FFFFFF",
}


@dataclass(frozen=True)
class DashboardSeries:
    """Plain inputs of the dashboard.

    Attributes
    ----------
    as_of : str
        The report's quarter (``YYYYQn``); the forecast starts here.
    paid : pandas.Series
        Cumulative amount paid, indexed by quarter, up to ``as_of``.
    invested : pandas.Series
        Cumulative investment disbursed, indexed by quarter (may run past ``as_of``:
        the part after it is drawn as the plan).
    cap : float
        Total cap on outcome payments.
    forecast : pandas.DataFrame
        Columns ``quarter``, ``low``, ``median``, ``high``: cumulative payments
        forecast from ``as_of`` on.
    targets : pandas.DataFrame
        Columns ``target`` (label shown), ``amount`` (earned so far, ``None`` when
        hidden) and ``status`` (one of :data:`STATUSES`).
    """

    as_of: str
    paid: pd.Series
    invested: pd.Series
    cap: float
    forecast: pd.DataFrame
    targets: pd.DataFrame


# Amounts are drawn in millions of kroner.
SCALE = 1e6


def _now_line(money, as_of: str, now: int, span: list[int], lang: str) -> None:
    """The as-of quarter as a vertical line, labelled on the side with room."""
    money.axvline(now, color="#444", lw=0.8)
    # The label goes on the side of the line with room: left of it, it would run over the
    # y-axis when the as-of quarter is early in the timeline.
    left_half = now - min(span) < (max(span) - min(span)) / 2
    money.annotate(
        f"{t('dash.now', lang)} {numbers.quarter(as_of, lang)}",
        (now, 0),
        xytext=(4 if left_half else -4, 4),
        textcoords="offset points",
        ha="left" if left_half else "right",
        va="bottom",
        fontsize=8,
        color="#333",
        # At the foot of the chart the invested and paid lines run through the label
        # (2024Q1, 2026Q1): a white ground keeps it legible, drawn above the lines.
        bbox={
            "boxstyle": "square,pad=0.15",
            "facecolor": "white",
            "edgecolor": "none",
            "alpha": 0.85,
        },
        zorder=5,
    )


def _money_panel(money, series: DashboardSeries, lang: str, small: float, narrow: bool) -> None:
    """Money over time: invested, paid, the forecast's fan and median, the cap, and now."""
    everything = sorted(
        set(series.paid.index)
        | set(series.invested.index)
        | set(series.forecast["quarter"] if len(series.forecast) else [])
    )
    index = {q: quarters.to_index(q) for q in everything}
    now = quarters.to_index(series.as_of)

    def x(values) -> list[int]:
        return [index[q] for q in values]

    invested = series.invested.sort_index()
    done = invested[[index[q] <= now for q in invested.index]]
    plan = invested[[index[q] >= now for q in invested.index]]
    money.step(
        x(done.index),
        done.values / SCALE,
        where="post",
        color=NEUTRAL,
        lw=2,
        label=t("dash.invested", lang),
    )
    if len(plan) > 1:
        money.step(
            x(plan.index),
            plan.values / SCALE,
            where="post",
            color=NEUTRAL,
            lw=1.3,
            ls=":",
            label=t("dash.planned", lang),
        )
    paid = series.paid.sort_index()
    money.step(
        x(paid.index),
        paid.values / SCALE,
        where="post",
        color=PRIMARY,
        lw=2.4,
        label=t("dash.paid", lang),
    )
    if len(series.forecast):
        fan = series.forecast.sort_values("quarter")
        money.fill_between(
            x(fan["quarter"]),
            fan["low"] / SCALE,
            fan["high"] / SCALE,
            color=PRIMARY,
            alpha=0.18,
            lw=0,
            label=t("dash.fan", lang),
        )
        money.plot(
            x(fan["quarter"]),
            fan["median"] / SCALE,
            color=PRIMARY,
            lw=1.3,
            ls="--",
            label=t("dash.median", lang),
        )
    money.axhline(series.cap / SCALE, color=ACCENT, lw=1.4, ls="-.", label=t("dash.cap", lang))
    _now_line(money, series.as_of, now, [*index.values(), now], lang)
    ticks = [i for i in sorted(index.values()) if i % 4 == 0]
    money.set_xticks(ticks, [quarters.from_index(i)[:4] for i in ticks])
    money.set_ylabel(t("dash.money", lang))
    money.set_ylim(bottom=0)
    money.set_title(t("dash.over_time", lang), loc="left", fontsize=10)
    money.set_ylim(top=series.cap / SCALE * 1.08)
    money.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.1), fontsize=small, ncol=2 if narrow else 3
    )


def _targets_panel(
    bars, series: DashboardSeries, lang: str, small: float, label: float, narrow: bool
) -> None:
    """Amount per target as bars coloured by status, a hidden amount said in words."""
    targets = series.targets.iloc[::-1].reset_index(drop=True)
    amounts = [0.0 if a is None or pd.isna(a) else float(a) / SCALE for a in targets["amount"]]
    colours = [STATUS_COLOURS[s] for s in targets["status"]]
    bars.barh(
        np.arange(len(targets)),
        amounts,
        color=colours,
        edgecolor=[
            ("#666" if s == "hidden" else c)
            for s, c in zip(targets["status"], colours, strict=True)
        ],
        height=0.6,
    )
    for row, (amount, status) in enumerate(zip(amounts, targets["status"], strict=True)):
        # Page 1 says in words what is hidden (the legend says why).
        text = (
            t("dash.status.hidden", lang) if status == "hidden" else numbers.number(amount, 2, lang)
        )
        bars.annotate(
            text,
            (amount, row),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=label,
        )
    bars.set_yticks(np.arange(len(targets)), targets["target"], fontsize=label)
    bars.set_title(t("dash.per_target", lang), loc="left", fontsize=10)
    bars.set_xlim(0, max(amounts + [0.1]) * 1.35)
    bars.grid(axis="y", visible=False)
    present = [s for s in STATUSES if s in set(targets["status"])]
    handles = [
        plt.Rectangle((0, 0), 1, 1, facecolor=STATUS_COLOURS[s], edgecolor="#666") for s in present
    ]
    bars.legend(
        handles,
        [t(f"dash.status.{s}", lang) for s in present],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12) if narrow else (0.3, -0.1),
        fontsize=small,
        ncol=2 if narrow else 1,
    )


def dashboard_figure(series: DashboardSeries, lang: str = "da", narrow: bool = False):
    """The dashboard as a matplotlib figure (two panels, one legend each).

    ``narrow``: the panels one above the other, for a phone's width (the HTML report
    shows this drawing on narrow screens instead of the side-by-side one, which a
    phone could only show scrolled sideways or with unreadably small text).
    """
    apply_theme()
    # Drawn narrow, the figure is shown about as wide as it is drawn: larger small print.
    small, label = (8.5, 9) if narrow else (7.5, 8)
    if narrow:
        # Two sub-figures, so that the target names left of the bars do not narrow
        # the panel of money over time above them.
        fig = plt.figure(figsize=(4.4, 7.6), layout="constrained")
        upper, lower = fig.subfigures(2, 1, height_ratios=[1.45, 1.0])
        money, bars = upper.subplots(), lower.subplots()
    else:
        fig, (money, bars) = plt.subplots(
            1, 2, figsize=(9.0, 3.7), gridspec_kw={"width_ratios": [1.6, 1.0]}
        )
    _money_panel(money, series, lang, small, narrow)
    _targets_panel(bars, series, lang, small, label, narrow)
    if not narrow:
        fig.tight_layout()
    return fig


def from_quarterly(inputs, contract: Contract, lang: str = "da") -> DashboardSeries:
    """The dashboard series from a report's payment results (:class:`QuarterlyInputs`), protected.

    Paid is paid to date from the settlement ledger at each quarter; invested
    the contract's disbursement plan; the forecast fan is the cumulative paid
    amount of the simulated futures at each payment quarter (median future and
    band, after the caps: ``forecast_quarters``), ending at the projection the
    summary states (results without that table: a straight line from what is
    earned so far to the forecast's low, median and high).
    """
    as_of = inputs.as_of
    start = contract.timeline.intervention.start
    last_payment = quarters.from_index(quarters.to_index(contract.timeline.result_reports[-1]) + 1)
    span = quarters.span(start, as_of)
    # Paid to date as every report counts it: the settlement ledger's paid entries
    # whose payment quarter has come (one reconciliation identity).
    ledger = inputs.tables["ledger"]
    paid = pd.Series([ledger_module.paid_to_date(ledger, q) for q in span], index=span)
    plan = investors.disbursements(contract).groupby("quarter")["amount"].sum().cumsum()
    plan.index = list(plan.index)
    forecast = inputs.tables["forecast"].set_index("scenario")
    earned = float(inputs.key["payments_due_total"]) + float(
        inputs.key["payments_provisional_total"]
    )
    fan_quarters = (
        quarters.span(as_of, last_payment)
        if quarters.to_index(last_payment) > quarters.to_index(as_of)
        else []
    )
    fan = pd.DataFrame(columns=["quarter", "low", "median", "high"])
    by_quarter = inputs.tables.get("forecast_quarters")
    if fan_quarters and by_quarter is not None and len(by_quarter):
        # Cumulative paid as the simulated futures pay it, payment quarter by payment
        # quarter (after the caps): its end is the projection the summary states.
        rows = by_quarter.assign(t=by_quarter["payment_quarter"].map(quarters.to_index))
        values = {}
        for column in ("low", "median", "high"):
            values[column] = []
            for quarter in fan_quarters:
                done = rows.loc[rows["t"] <= quarters.to_index(quarter), f"cumulative_{column}"]
                amount = float(done.iloc[-1]) if len(done) else 0.0
                values[column].append(float(view.rounded_forecast(amount, contract)))
        fan = pd.DataFrame({"quarter": fan_quarters, **values})
    elif fan_quarters and "base" in forecast.index:
        steps = np.linspace(0.0, 1.0, len(fan_quarters))
        base = forecast.loc["base"]
        fan = pd.DataFrame(
            {
                "quarter": fan_quarters,
                **{
                    # The forecast is an estimate: rounded as in the forecast table.
                    column: earned
                    + steps * (float(view.rounded_forecast(float(base[column]), contract)) - earned)
                    for column in ("low", "median", "high")
                },
            }
        )
    return DashboardSeries(
        as_of=as_of,
        paid=paid,
        invested=plan,
        cap=float(contract.caps.total_outcome_payments),
        forecast=fan,
        targets=target_status(inputs, lang),
    )


def target_status(inputs, lang: str) -> pd.DataFrame:
    """Per target: the amount earned so far (all statement rows) and its status, as disclosure allows."""
    statement = inputs.tables["payment_statement"]
    rows = []
    for target in TARGETS:
        lines = statement.loc[statement["target"] == target]
        earned = disclosure.earned_key(target, inputs.as_of)
        if earned in inputs.cells.cells:
            # The amount earned per target is a cell of its own (a headline one).
            hidden = inputs.is_hidden(earned)
        else:
            # A report protected before the cell was declared: hidden with any row.
            hidden = any(
                inputs.is_hidden(key)
                for key in (
                    disclosure.statement_key("amount", r.report, r.target, r.status, inputs.as_of)
                    for r in lines.itertuples(index=False)
                )
                if key in inputs.cells.cells
            )
        amount = float(lines["amount"].sum())
        if hidden:
            status, amount = "hidden", None
        elif amount > 0:
            status = "earning"
        else:
            achieved = inputs.key["achievements_cumulative"].get(target)
            shown = (
                inputs.shown(
                    disclosure.target_key("cumulative", target, "all", inputs.as_of), achieved
                )
                if achieved is not None
                and disclosure.target_key("cumulative", target, "all", inputs.as_of)
                in inputs.cells.cells
                else achieved
            )
            if shown == SUPPRESSED:
                status = "hidden"
            elif shown:
                status = "pending"
            else:
                status = "none"
        rows.append({"target": t(f"target.{target}", lang), "amount": amount, "status": status})
    return pd.DataFrame(rows, columns=["target", "amount", "status"])


def caption(lang: str) -> str:
    """The dashboard's caption (the catalogue's ``caption.fig-dashboard``)."""
    return t("caption.fig-dashboard", lang)


def alt_text(series: DashboardSeries, lang: str = "da") -> str:
    """The dashboard in words, for readers who cannot see it (only numbers the figure shows)."""
    paid = float(series.paid.iloc[-1]) if len(series.paid) else 0.0
    now = quarters.to_index(series.as_of)
    invested_now = series.invested[[quarters.to_index(q) <= now for q in series.invested.index]]
    invested = float(invested_now.iloc[-1]) if len(invested_now) else 0.0
    parts = [
        t(
            "alt.dashboard_money",
            lang,
            quarter=numbers.quarter(series.as_of, lang),
            paid=numbers.dkk(paid, lang),
            invested=numbers.dkk(invested, lang),
            cap=numbers.dkk(series.cap, lang),
        )
    ]
    if len(series.forecast):
        end = series.forecast.sort_values("quarter").iloc[-1]
        parts.append(
            t(
                "alt.dashboard_forecast",
                lang,
                median=numbers.dkk(end["median"], lang),
                low=numbers.dkk(end["low"], lang),
                high=numbers.dkk(end["high"], lang),
                quarter=numbers.quarter(end["quarter"], lang),
            )
        )
    targets = []
    for row in series.targets.itertuples(index=False):
        status = t(f"dash.status.{row.status}", lang)
        if row.status == "earning":
            status += f" ({numbers.dkk(row.amount, lang)})"
        targets.append(f"{row.target}: {status}")
    parts.append(t("alt.dashboard_targets", lang, targets="; ".join(targets)))
    sentences = [p[0].upper() + p[1:] for p in parts]
    return " ".join(p if p.endswith(".") else p + "." for p in sentences)
