"""Tables, figures and prose of the quarterly result report, built from the quarterly results.

Every count passes disclosure control before it is shown: :func:`protect` declares
all cells of the report to one linked model (:mod:`analysis.reports.disclosure`),
and every table, figure, sentence and results-file number asks it whether a cell
is hidden. Every number in the prose is filled in from the results.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from analysis import provenance, quarters
from analysis.config import TARGETS, Contract
from analysis.render import numbers
from analysis.render.style import ACCENT, PRIMARY, apply_theme
from analysis.reports import disclosure
from analysis.reports.text import t
from analysis.sdc.linked import LinkedCells
from analysis.sdc.suppress import SUPPRESSED, footnote


@dataclass
class QuarterlyInputs:
    """The quarterly results of one quarter and the disclosure model of the report showing them."""

    as_of: str
    tables: dict[str, pd.DataFrame]
    key: dict
    history: pd.DataFrame | None = None
    cells: LinkedCells | None = None

    def is_hidden(self, key) -> bool:
        """Whether disclosure control hides the cell ``key`` in this report."""
        if self.cells is None:
            raise RuntimeError("call quarterly_view.protect(...) before showing any table")
        return self.cells.is_hidden(key)

    def shown(self, key, value=None):
        """``value`` (or the cell's own), or the suppression symbol when disclosure control hides it."""
        if self.is_hidden(key):
            return SUPPRESSED
        return self.cells.cells[key].value if value is None else value


def load(
    quarterly_dir: Path | str,
    as_of: str,
    contract: Contract,
    decided: bool = True,
    folder: Path | None = None,
) -> QuarterlyInputs:
    """The quarterly results of ``as_of`` with their history, protected for a quarterly report.

    With ``decided``, the suppression chosen when the results were computed
    (``disclosure.json`` of the quarter) is used as it is, and the folder must be
    complete (:func:`analysis.provenance.read`); otherwise it is chosen again from
    what the earlier quarterly reports published. ``folder`` is where this
    quarter's results are while they are written (default ``quarterly_dir/as_of``).
    """
    if folder is None:
        folder = Path(quarterly_dir) / as_of
    if decided:
        provenance.read(folder)
    tables = {
        path.stem: pd.read_csv(path, keep_default_na=True) for path in sorted(folder.glob("*.csv"))
    }
    key = json.loads((folder / "key_numbers.json").read_text(encoding="utf-8"))
    history = load_history(quarterly_dir, contract.timeline.intervention.start, as_of, folder)
    inputs = QuarterlyInputs(as_of, tables, key, history)
    published = disclosure.read_published(quarterly_dir, as_of, include=True, contract=contract)
    if decided and published and published.get("as_of") == as_of:
        inputs.cells = LinkedCells.decided(published)
        return inputs
    earlier = disclosure.read_published(quarterly_dir, as_of, include=False, contract=contract)
    return protect(inputs, contract, earlier)


def publish(
    quarterly_dir: Path | str, as_of: str, contract: Contract, folder: Path | None = None
) -> Path:
    """Protect the quarterly report of ``as_of`` and keep what it publishes for later reports.

    ``folder`` holds this quarter's results while they are written (see :func:`load`).
    """
    inputs = load(quarterly_dir, as_of, contract, decided=False, folder=folder)
    return disclosure.write_published(inputs.cells, quarterly_dir, as_of, folder)


def protect(
    inputs: QuarterlyInputs,
    contract: Contract,
    earlier: dict | None = None,
    more: Callable[[LinkedCells], None] | None = None,
) -> QuarterlyInputs:
    """Declare every cell the report shows (``more`` adds the evaluation's) and choose what to hide.

    ``earlier`` is what earlier reports published (:func:`disclosure.read_published`):
    their hidden cells stay hidden and their shown ones count as known.
    """
    cells = disclosure.new_cells(contract, earlier)
    disclosure.payment_cells(cells, inputs.tables, inputs.key, contract, inputs.history)
    if more is not None:
        more(cells)
    cells.protect()
    inputs.cells = cells
    return inputs


def _masked(
    inputs: QuarterlyInputs, frame: pd.DataFrame, keys: dict[str, Callable]
) -> pd.DataFrame:
    """``frame`` as objects with each cell of ``keys[column](row)`` replaced when hidden."""
    out = frame.astype(object).copy()
    for column, key_of in keys.items():
        out[column] = [
            SUPPRESSED if inputs.is_hidden(key_of(row)) else value
            for row, value in zip(frame.itertuples(index=False), frame[column], strict=True)
        ]
    return out


def count_text(inputs: QuarterlyInputs, key, value, lang: str) -> str:
    """A count for prose: formatted, or the suppression symbol."""
    shown = inputs.shown(key, value)
    return shown if shown == SUPPRESSED else numbers.number(shown, 0, lang)


def money_text(inputs: QuarterlyInputs, key, value, lang: str) -> str:
    """An amount for prose: in DKK, or the suppression symbol."""
    shown = inputs.shown(key, value)
    return shown if shown == SUPPRESSED else numbers.dkk(shown, lang)


def load_history(
    quarterly_dir: Path | str, first: str, last: str, folder: Path | None = None
) -> pd.DataFrame:
    """Cumulative achievements per target for every quarter with results up to ``last``.

    ``folder`` replaces ``quarterly_dir/last`` (results being written).
    """
    rows = []
    for quarter in quarters.span(first, last):
        path = Path(quarterly_dir) / quarter / "key_numbers.json"
        if quarter == last and folder is not None:
            path = Path(folder) / "key_numbers.json"
        if path.exists():
            key = json.loads(path.read_text(encoding="utf-8"))
            rows += [
                {"quarter": quarter, "target": k, "cumulative": v}
                for k, v in key["achievements_cumulative"].items()
            ]
    return pd.DataFrame(rows, columns=["quarter", "target", "cumulative"])


def summary(inputs: QuarterlyInputs, contract: Contract, lang: str) -> str:
    key = inputs.key
    n, target = key["enrolled_households"], key["target_households"]
    last = _last_quarter(inputs)
    households = count_text(inputs, disclosure.enrolment_key("households", last), n, lang)
    persons = count_text(
        inputs, disclosure.enrolment_key("persons", last), key["enrolled_persons"], lang
    )
    provisional = money_text(
        inputs,
        disclosure.summary_key("provisional_total", inputs.as_of),
        key["payments_provisional_total"],
        lang,
    )
    share = numbers.percent(n / target, 0, lang) if households != SUPPRESSED else SUPPRESSED
    if lang == "da":
        text = (
            f"Pr. {numbers.quarter(inputs.as_of, lang)} er **{households} husstande** indskrevet i indsatsen "
            f"({share} af målet på {numbers.number(target, 0, lang)}) med i alt {persons} personer. "
            f"Registerdata foreligger til og med {numbers.quarter(key['register_until'], lang)}. "
            f"Opgjorte resultatbetalinger i alt: **{numbers.dkk(key['payments_due_total'], lang)}**; "
            f"foreløbigt opgjort i den løbende periode: {provisional}"
        )
        if key["is_result_report_quarter"]:
            text += f" {inputs.as_of} er et resultatrapport-kvartal: betalingsopgørelsen nedenfor er grundlaget for udbetalingen."
    else:
        text = (
            f"As of {numbers.quarter(inputs.as_of, lang)}, **{households} households** are enrolled "
            f"({share} of the target of {numbers.number(target, 0, lang)}), with {persons} persons. "
            f"Register data cover the period up to {numbers.quarter(key['register_until'], lang)}. "
            f"Outcome payments due in total: **{numbers.dkk(key['payments_due_total'], lang)}**; "
            f"provisional in the running period: {provisional}."
        )
        if key["is_result_report_quarter"]:
            text += f" {inputs.as_of} is a result-report quarter: the payment statement below is the basis of the payment."
    return text + "\n\n" + bottom_line(inputs, contract, lang)


BOTTOM_LINE = {
    "da": {
        "paid": "**Bundlinje:** udbetalt til dato **{paid}** ({share} af det samlede loft på {cap}) mod {invested} investeret til dato.",
        # The amount ends in "kr.", which closes the sentence.
        "awaiting": " Afregnet og til udbetaling senere: {awaiting}",
        "projected": " Forventet udbetalt ved kontraktens slutning: {median}{band} mod {total} investeret i alt.",
        "band": " (90 %-interval {low} til {high})",
        "final": " Endelig afregning: investorerne har fået {repaid} tilbage på {total} investeret, en intern rente på {irr} om året (afkastloft {cap_rate}).",
        "adjusted": " Senere data har ændret afregnede beløb med {adjustments} i alt; ændringerne vises som reguleringer og {paid_or_not}.",
        "adj_paid": "udbetales",
        "adj_not_paid": "udbetales ikke",
    },
    "en": {
        "paid": "**Bottom line:** paid to date **{paid}** ({share} of the total cap of {cap}) against {invested} invested to date.",
        "awaiting": " Settled and to be paid later: {awaiting}.",
        "projected": " Projected to be paid by the end of the contract: {median}{band} against {total} invested in total.",
        "band": " (90% interval {low} to {high})",
        "final": " Final settlement: the investors got {repaid} back on {total} invested, an internal rate of return of {irr} a year (return cap {cap_rate}).",
        "adjusted": " Later data changed settled amounts by {adjustments} in total; the changes are shown as adjustments and {paid_or_not}.",
        "adj_paid": "are paid",
        "adj_not_paid": "are not paid",
    },
}


def bottom_line(inputs: QuarterlyInputs, contract: Contract, lang: str) -> str:
    """Paid to date from the ledger, against the cap and the investment, and the projection."""
    key, words = inputs.key, BOTTOM_LINE[lang]
    cap = contract.caps.total_outcome_payments
    text = words["paid"].format(
        paid=numbers.dkk(key["payments_paid_total"], lang),
        share=numbers.percent(key["payments_paid_total"] / cap, 1, lang),
        cap=numbers.dkk(cap, lang),
        invested=numbers.dkk(key["invested_to_date"], lang),
    )
    if key["payments_awaiting"]:
        text += words["awaiting"].format(awaiting=numbers.dkk(key["payments_awaiting"], lang))
    total = numbers.dkk(contract.investment.total, lang)
    if key["final_settlement_paid"]:
        investors = inputs.tables["investors"]
        text += words["final"].format(
            repaid=numbers.dkk(float(investors["repaid"].sum()), lang),
            total=total,
            irr=numbers.percent(float(investors["irr"].iloc[0]), 1, lang),
            cap_rate=numbers.percent(contract.caps.investor_annual_return, 1, lang),
        )
    else:
        low, high = (
            numbers.dkk(rounded_forecast(key[f"projected_paid_{n}"], contract), lang)
            for n in ("low", "high")
        )
        text += words["projected"].format(
            median=numbers.dkk(rounded_forecast(key["projected_paid_median"], contract), lang),
            # At a cap the band has no width: it is left out.
            band="" if low == high else words["band"].format(low=low, high=high),
            total=total,
        )
    if key["adjustments_total"]:
        text += words["adjusted"].format(
            adjustments=SUPPRESSED
            if adjustment_hidden(inputs)
            else numbers.dkk(key["adjustments_total"], lang),
            paid_or_not=words[
                "adj_paid" if contract.settlement.pay_adjustments else "adj_not_paid"
            ],
        )
    return text


def _last_quarter(inputs: QuarterlyInputs) -> str | None:
    enrolment = inputs.tables["enrolment"]
    return enrolment["quarter"].iloc[-1] if len(enrolment) else None


def enrolment_table(
    inputs: QuarterlyInputs, contract: Contract, lang: str
) -> tuple[pd.DataFrame, str]:
    columns = ["new_households", "households", "persons", "exited_households"]
    frame = inputs.tables["enrolment"][["quarter", *columns]]
    protected = _masked(
        inputs,
        frame,
        {c: (lambda row, c=c: disclosure.enrolment_key(c, row.quarter)) for c in columns},
    )
    protected.columns = [
        t("col.quarter", lang),
        t("col.new_households", lang),
        t("col.households", lang),
        t("col.persons", lang),
        t("col.exited", lang),
    ]
    return protected, footnote(lang, contract.disclosure.min_persons)


def enrolment_figure(inputs: QuarterlyInputs, contract: Contract, lang: str):
    apply_theme()
    frame = inputs.tables["enrolment"]
    fig, ax = plt.subplots()
    ax.plot(
        frame["quarter"],
        frame["households"],
        marker="o",
        color=PRIMARY,
        label=t("col.households", lang),
    )
    ax.axhline(
        contract.programme.enrolment_target_households,
        color=ACCENT,
        linestyle="--",
        label="Mål" if lang == "da" else "Target",
    )
    ax.set_ylim(0, contract.programme.enrolment_target_households * 1.15)
    ax.set_ylabel("Husstande" if lang == "da" else "Households")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(loc="lower right")
    return fig


def completeness_table(
    inputs: QuarterlyInputs, contract: Contract, lang: str
) -> tuple[pd.DataFrame, str]:
    frame = inputs.tables["completeness"].copy()
    frame["source"] = frame["source"].map(lambda s: t(f"source.{s}", lang))
    frame["share"] = (100 * frame["share"]).round(contract.disclosure.percent_decimals)
    sources = inputs.tables["completeness"]["source"]
    protected = _masked(
        inputs,
        frame[["source", "latest_quarter", "expected", "present", "share"]].assign(key=sources),
        {
            "expected": lambda row: disclosure.completeness_key("expected", row.key, inputs.as_of),
            "present": lambda row: disclosure.completeness_key("present", row.key, inputs.as_of),
        },
    ).drop(columns="key")
    # The share gives the hidden count back from the other one.
    either = (protected["expected"] == SUPPRESSED) | (protected["present"] == SUPPRESSED)
    protected.loc[either, "share"] = SUPPRESSED
    protected.columns = [
        t("col.source", lang),
        t("col.latest", lang),
        t("col.expected", lang),
        t("col.present", lang),
        t("col.share", lang),
    ]
    return protected, footnote(lang, contract.disclosure.min_persons)


def targets_table(
    inputs: QuarterlyInputs, contract: Contract, lang: str
) -> tuple[pd.DataFrame, str]:
    frame = inputs.tables["targets"]
    frame = frame.loc[frame["target"] != "school_absence"]
    shown = _masked(
        inputs,
        frame,
        {
            c: (lambda row, c=c: disclosure.target_key(c, row.target, row.area, inputs.as_of))
            for c in ("eligible", "new_this_quarter", "cumulative")
        },
    )
    shown["target"] = shown["target"].map(lambda s: t(f"target.{s}", lang))
    shown["area"] = shown["area"].map(
        lambda a: t("area.all", lang) if a == "all" else contract.area_names.get(a, a)
    )
    shown = shown[["target", "area", "eligible", "new_this_quarter", "cumulative"]]
    shown.columns = [
        t("col.target", lang),
        t("col.area", lang),
        t("col.eligible", lang),
        t("col.new", lang),
        t("col.cumulative", lang),
    ]
    return shown, footnote(lang, contract.disclosure.min_persons)


def targets_figure(inputs: QuarterlyInputs, lang: str):
    """Cumulative achievements per target; points hidden by disclosure control are not drawn."""
    apply_theme()
    fig, ax = plt.subplots()
    history = inputs.history
    shown = history.loc[history["target"].isin(disclosure.COUNT_TARGETS)]
    for target, part in shown.groupby("target", sort=False):
        keys = [disclosure.target_key("cumulative", target, "all", q) for q in part["quarter"]]
        drawn = [not inputs.is_hidden(k) for k in keys]
        values = part["cumulative"].where(drawn)
        ax.plot(part["quarter"], values, marker="o", label=t(f"target.{target}", lang))
    ax.set_ylabel("Opnåede resultater (akk.)" if lang == "da" else "Achievements (cum.)")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(fontsize=8)
    return fig


def statement_table(
    inputs: QuarterlyInputs, contract: Contract, lang: str, report: str | None = None
) -> tuple[pd.DataFrame, str]:
    """The payment statement, with targets paid for fewer than the minimum persons hidden."""
    frame = inputs.tables["payment_statement"]
    if report is not None:
        frame = frame.loc[frame["report"] == report]
    frame = frame.reset_index(drop=True)
    protected = _masked(
        inputs,
        frame.assign(achievements=frame["achievements"].round(2), amount=frame["amount"].round(0)),
        {
            c: (
                lambda row, c=c: disclosure.statement_key(
                    c, row.report, row.target, row.status, inputs.as_of
                )
            )
            for c in ("units", "achievements", "amount")
        },
    )
    shown = pd.DataFrame(
        {
            t("col.report", lang): protected["report"],
            t("col.target", lang): protected["target"].map(lambda s: t(f"target.{s}", lang)),
            t("col.units", lang): protected["units"],
            t("col.achievements", lang): protected["achievements"],
            t("col.price", lang): protected["unit_price"],
            t("col.amount", lang): protected["amount"],
            t("col.status", lang): protected["status"].map(lambda s: t(f"status.{s}", lang)),
        }
    )
    note = footnote(lang, contract.disclosure.min_persons)
    if (protected["amount"] == SUPPRESSED).any():
        note += " " + ANNEX_NOTE[lang]
    return shown, note


ANNEX_NOTE = {
    "da": "Kontraktens parter får de skjulte beløb i et lukket bilag; beløbet til udbetaling pr. resultatrapport vises altid.",
    "en": "The contract parties receive the hidden amounts in a closed annex; the amount due per result report is always shown.",
}


PAYMENT_COLUMNS = {
    "da": {
        "adjustments": "Reguleringer (kr.)",
        "adjustments_paid": "Heraf udbetalt (kr.)",
        "payment_quarter": "Udbetales",
        "pay_status": "Status",
        "paid_status.paid": "udbetalt",
        "paid_status.awaiting_payment": "afventer udbetaling",
        "corrects": "Retter resultatrapport",
        "units_change": "Antal enheder (ændring)",
        "achievements_change": "Opnåede resultater (ændring)",
        "amount_change": "Ændring (kr.)",
        "paid": "Udbetalt (kr.)",
        "reason": "Årsag",
        "reason.revised_data": "senere data",
        "invested_total": "Investering i alt (kr.)",
        "projected": "Forventet tilbagebetalt i alt (kr.)",
        "band": "90 %-interval (kr.)",
        "irr.realised": "Intern rente (%)",
        "irr.projected": "Forventet intern rente (%)",
        "kind": "Pengestrøm",
        "kind.disbursement": "udbetalt investering",
        "kind.disbursement_planned": "planlagt investering",
        "kind.repayment": "tilbagebetaling",
        "kind.repayment_settled": "afregnet tilbagebetaling",
        "kind.repayment_projected": "forventet tilbagebetaling",
    },
    "en": {
        "adjustments": "Adjustments (DKK)",
        "adjustments_paid": "Of which paid (DKK)",
        "payment_quarter": "Paid in",
        "pay_status": "Status",
        "paid_status.paid": "paid",
        "paid_status.awaiting_payment": "awaiting payment",
        "corrects": "Corrects result report",
        "units_change": "Number of units (change)",
        "achievements_change": "Achievements (change)",
        "amount_change": "Change (DKK)",
        "paid": "Paid (DKK)",
        "reason": "Reason",
        "reason.revised_data": "later data",
        "invested_total": "Total investment (DKK)",
        "projected": "Projected repaid in total (DKK)",
        "band": "90% interval (DKK)",
        "irr.realised": "Internal rate of return (%)",
        "irr.projected": "Projected internal rate of return (%)",
        "kind": "Cash flow",
        "kind.disbursement": "investment disbursed",
        "kind.disbursement_planned": "investment planned",
        "kind.repayment": "repayment",
        "kind.repayment_settled": "repayment settled",
        "kind.repayment_projected": "repayment projected",
    },
}


def _p(key: str, lang: str) -> str:
    return PAYMENT_COLUMNS[lang][key]


def adjustment_hidden(inputs: QuarterlyInputs, report: str | None = None) -> bool:
    """Whether disclosure control hides an adjustment amount (of ``report``, or any).

    A sum over adjustments would give a hidden one back, so it is hidden with it.
    """
    frame = inputs.tables.get("adjustments")
    if frame is None or frame.empty:
        return False
    rows = frame if report is None else frame.loc[frame["report"] == report]
    return any(
        inputs.is_hidden(disclosure.adjustment_key("amount", r.report, r.corrects))
        for r in rows.itertuples(index=False)
    )


def capped_table(inputs: QuarterlyInputs, lang: str) -> pd.DataFrame:
    """Per settled result report, from the ledger: due, adjustments, caps, paid and paid to date."""
    frame = inputs.tables["payments_capped"]
    due = _masked(
        inputs,
        frame.assign(due=frame["due"].round(0)),
        {"due": lambda r: ("caps", "due", r.report, inputs.as_of)},
    )
    return pd.DataFrame(
        {
            t("col.report", lang): frame["report"],
            t("col.due", lang): due["due"],
            _p("adjustments", lang): [
                SUPPRESSED if adjustment_hidden(inputs, r) else round(v)
                for r, v in zip(frame["report"], frame["adjustments"], strict=True)
            ],
            _p("adjustments_paid", lang): frame["adjustments_paid"].round(0),
            t("col.withheld_total", lang): frame["withheld_total_cap"].round(0),
            t("col.withheld_return", lang): frame["withheld_return_cap"].round(0),
            t("col.paid", lang): frame["paid"].round(0),
            t("col.cumulative_paid", lang): frame["cumulative_paid"].round(0),
            _p("payment_quarter", lang): frame["payment_quarter"],
            _p("pay_status", lang): frame["status"].map(lambda s: _p(f"paid_status.{s}", lang)),
        }
    )


def adjustments_table(
    inputs: QuarterlyInputs, contract: Contract, lang: str
) -> tuple[pd.DataFrame, str]:
    """Adjustment entries of the ledger: later data changing a settled amount, with the entry corrected."""
    frame = inputs.tables.get("adjustments", pd.DataFrame())
    if frame is None or frame.empty:
        return pd.DataFrame(), ""
    frame = frame.reset_index(drop=True)
    protected = _masked(
        inputs,
        frame.assign(achievements=frame["achievements"].round(2), amount=frame["amount"].round(0)),
        {
            c: (lambda row, c=c: disclosure.adjustment_key(c, row.report, row.corrects))
            for c in ("units", "achievements", "amount")
        },
    )
    shown = pd.DataFrame(
        {
            t("col.report", lang): protected["report"],
            _p("corrects", lang): protected["corrects_report"],
            t("col.target", lang): protected["target"].map(lambda s: t(f"target.{s}", lang)),
            _p("units_change", lang): protected["units"],
            _p("achievements_change", lang): protected["achievements"],
            t("col.price", lang): protected["unit_price"],
            _p("amount_change", lang): protected["amount"],
            _p("paid", lang): frame["paid"].round(0),
            _p("reason", lang): frame["reason"].map(lambda s: _p(f"reason.{s}", lang)),
        }
    )
    return shown, footnote(lang, contract.disclosure.min_persons)


def investors_table(inputs: QuarterlyInputs, lang: str) -> pd.DataFrame:
    """Per investor: invested, repaid so far, net, projected repayment with its band, and an IRR
    only once defined (realised after the final settlement; before, projected and labelled so)."""
    frame = inputs.tables["investors"]
    kind = frame["irr_kind"].iloc[0] if len(frame) else "projected"
    rate = (100 * frame["irr"]).round(1).astype(object).where(frame["irr"].notna(), "–")
    # After the final settlement nothing is projected: the band is left out.
    band = [
        "–"
        if kind == "realised"
        else f"{numbers.number(round(lo, -3), 0, lang)} – {numbers.number(round(hi, -3), 0, lang)}"
        for lo, hi in zip(frame["projected_low"], frame["projected_high"], strict=True)
    ]
    return pd.DataFrame(
        {
            t("col.investor", lang): frame["investor"],
            _p("invested_total", lang): frame["invested_total"].round(0),
            t("col.invested", lang): frame["invested"].round(0),
            t("col.repaid", lang): frame["repaid"].round(0),
            t("col.net", lang): frame["net_position"].round(0),
            _p("projected", lang): frame["projected_repaid"].round(-3),
            _p("band", lang): band,
            _p(f"irr.{kind}", lang): rate,
        }
    )


def cash_flow_table(inputs: QuarterlyInputs, lang: str) -> pd.DataFrame:
    """The cash flows behind every IRR: per quarter and kind, each investor's amount (DKK)."""
    flows = inputs.tables["cash_flows"]
    wide = flows.pivot_table(
        index=["quarter", "kind"], columns="investor", values="amount", aggfunc="sum", sort=False
    ).reset_index()
    wide = wide.sort_values(["quarter", "kind"], kind="stable").reset_index(drop=True)
    investors = list(dict.fromkeys(flows["investor"]))
    out = pd.DataFrame(
        {
            t("col.quarter", lang): wide["quarter"],
            _p("kind", lang): wide["kind"].map(lambda s: _p(f"kind.{s}", lang)),
        }
    )
    for investor in investors:
        out[f"{investor} (kr.)" if lang == "da" else f"{investor} (DKK)"] = wide[investor].round(0)
    return out


def rounded_forecast(values, contract: Contract):
    """Forecast amounts are estimates, not payments: shown to ``disclosure.money_rounding`` DKK."""
    step = contract.disclosure.money_rounding
    return (
        (values / step).round() * step if hasattr(values, "round") else round(values / step) * step
    )


def forecast_table(inputs: QuarterlyInputs, contract: Contract, lang: str) -> pd.DataFrame:
    """Forecast amounts, rounded (:func:`rounded_forecast`)."""
    frame = inputs.tables["forecast"]
    return pd.DataFrame(
        {
            t("col.scenario", lang): frame["scenario"].map(lambda s: t(f"scenario.{s}", lang)),
            t("col.median", lang): rounded_forecast(frame["median"], contract),
            t("col.low", lang): rounded_forecast(frame["low"], contract),
            t("col.high", lang): rounded_forecast(frame["high"], contract),
        }
    )


def absence_table(inputs: QuarterlyInputs, lang: str) -> pd.DataFrame:
    frame = inputs.tables.get("absence_estimates", pd.DataFrame())
    if frame.empty:
        return frame
    statement = inputs.tables["payment_statement"]
    status = statement.loc[statement["target"] == "school_absence"].set_index("report")["status"]
    return pd.DataFrame(
        {
            t("col.report", lang): frame["report"],
            t("col.estimate", lang): (100 * frame["att"]).round(2),
            t("col.ci", lang): [
                f"{numbers.number(100 * lo, 2, lang)} ; {numbers.number(100 * hi, 2, lang)}"
                for lo, hi in zip(frame["ci_low"], frame["ci_high"], strict=True)
            ],
            t("col.pupils", lang): _masked(
                inputs,
                frame,
                {
                    "pupils": lambda r: disclosure.statement_key(
                        "units", r.report, "school_absence", status[r.report], inputs.as_of
                    )
                },
            )["pupils"],
        }
    )


PAYMENT_PROSE = {
    "da": (
        "Opgjorte resultatbetalinger i alt er {total} mod et samlet loft på {cap} "
        "og et afkastloft på {rate} om året.",
        " Den største post er {name}.",
        # The amount ends in "kr.", which closes the sentence.
        " Den største post er {name} med {amount}",
    ),
    "en": (
        "Outcome payments due total {total} against a total cap of {cap} "
        "and a return cap of {rate} a year.",
        " The largest item is {name}.",
        " The largest item is {name} at {amount}.",
    ),
}


def payment_prose(inputs: QuarterlyInputs, contract: Contract, lang: str) -> str:
    """Payments due against the caps, and the largest item (left out of the sentence if hidden)."""
    statement = inputs.tables["payment_statement"]
    final = statement.loc[statement["status"] == "final"]
    by_target = final.groupby("target")["amount"].sum()
    largest = disclosure.largest_item(statement)
    caps = contract.caps
    opening, largest_hidden, largest_shown = PAYMENT_PROSE[lang]
    text = opening.format(
        total=numbers.dkk(float(by_target.sum()), lang),
        cap=numbers.dkk(caps.total_outcome_payments, lang),
        rate=numbers.percent(caps.investor_annual_return, 1, lang),
    )
    if largest:
        name = t(f"target.{largest}", lang).lower()
        amount = _by_target(inputs, largest, by_target, lang)
        text += (largest_hidden if amount == SUPPRESSED else largest_shown).format(
            name=name, amount=amount
        )
    return text


def _by_target(inputs: QuarterlyInputs, target: str, by_target: pd.Series, lang: str) -> str:
    return money_text(
        inputs,
        disclosure.summary_key("amount_by_target", inputs.as_of, target),
        by_target[target],
        lang,
    )


EXPOSURE = {
    "da": " i indsatsen (fra husstandens indskrivning til periodens slutning)",
    "en": " in the intervention (from the household's enrolment to the period's end)",
}


def methods_text(contract: Contract, lang: str) -> str:
    rules = contract.targets
    price = contract.rate_card
    exposure = EXPOSURE[lang] if rules.school_absence.exposure == "enrolment" else ""
    if lang == "da":
        return "\n".join(
            [
                f"- **{t('target.employment', lang)}**: voksne {rules.employment.min_age}–{rules.employment.max_age} år; mindst ét trin op ad selvforsørgelsesstigen i forhold til kvartalet før indskrivning, fastholdt i {rules.employment.sustain_quarters} kvartaler i træk. Pris {numbers.dkk(price.employment, lang)} pr. trin.",
                f"- **{t('target.social_measures', lang)}**: støtteniveau under niveauet før indskrivning, fastholdt i {rules.social_measures.sustain_quarters} kvartaler i træk. Pris {numbers.dkk(price.social_measures, lang)} pr. trin.",
                f"- **{t('target.school_absence', lang)}**: forskel-i-forskelle-estimat (Callaway–Sant'Anna) af fraværsandelen for elever i indsatsen mod elever i kontrolgruppen. Pris {numbers.dkk(price.school_absence, lang)} pr. elev pr. procentpoint reduktion pr. skoleår{exposure}.",
                f"- **{t('target.life_satisfaction', lang)}**: en opfølgende besvarelse mindst {numbers.number(rules.life_satisfaction.min_increase, 0, lang)} point over besvarelsen ved indskrivning. Manglende besvarelse tæller hverken som succes eller fiasko. Pris {numbers.dkk(price.life_satisfaction, lang)} pr. person.",
                f"- **{t('target.action_plan_goals', lang)}**: mål i handleplanen, der ved en opfølgning er markeret som opfyldt. Pris {numbers.dkk(price.action_plan_goals, lang)} pr. mål.",
                f"- Registerdata kommer {contract.timeline.register_lag_quarters} kvartal forsinket; alle tal er opgjort med de data, der fandtes pr. rapportens kvartal.",
                *settlement_text(contract, lang),
            ]
        )
    return "\n".join(
        [
            f"- **{t('target.employment', lang)}**: adults {rules.employment.min_age}–{rules.employment.max_age}; at least one step up the self-sufficiency ladder from the quarter before enrolment, held for {rules.employment.sustain_quarters} consecutive quarters. Price {numbers.dkk(price.employment, lang)} per step.",
            f"- **{t('target.social_measures', lang)}**: support level below the level before enrolment, held for {rules.social_measures.sustain_quarters} consecutive quarters. Price {numbers.dkk(price.social_measures, lang)} per step.",
            f"- **{t('target.school_absence', lang)}**: difference-in-differences estimate (Callaway–Sant'Anna) of the absence rate of pupils in the intervention against pupils in the comparison group. Price {numbers.dkk(price.school_absence, lang)} per pupil per percentage point of reduction per school year{exposure}.",
            f"- **{t('target.life_satisfaction', lang)}**: a follow-up answer at least {numbers.plural(rules.life_satisfaction.min_increase, 'point', 'points', lang)} above the answer at enrolment. Non-response is neither success nor failure. Price {numbers.dkk(price.life_satisfaction, lang)} per person.",
            f"- **{t('target.action_plan_goals', lang)}**: action-plan goals marked achieved at a review. Price {numbers.dkk(price.action_plan_goals, lang)} per goal.",
            f"- Register data arrive {numbers.plural(contract.timeline.register_lag_quarters, 'quarter', 'quarters', lang)} late; every number uses the data that existed as of the report's quarter.",
            *settlement_text(contract, lang),
        ]
    )


def settlement_text(contract: Contract, lang: str) -> list[str]:
    """How the ledger settles, corrects and caps payments, and the business case behind the prices."""
    case = contract.calibration
    rate = numbers.percent(case.target_annual_return, 1, lang)
    cap = numbers.percent(contract.caps.investor_annual_return, 1, lang)
    shortfall = numbers.percent(contract.forecast.shortfall_scenario, 0, lang)
    paid = contract.settlement.pay_adjustments
    if lang == "da":
        return [
            "- **Afregning**: en resultatrapports betalingsopgørelse afregnes med de data, der findes pr. rapportens kvartal, og står derefter fast i afregningsregnskabet. Ændrer senere data et afregnet beløb, vises ændringen som en regulering i den næste resultatrapport (beløb, årsag og den post, den retter); reguleringer "
            + ("udbetales." if paid else "vises, men udbetales ikke.")
            + " Udbetalt til dato er summen af regnskabets udbetalte poster; beløb over lofterne vises, men udbetales ikke.",
            "- **Investorernes rente**: en intern rente er kun defineret over hele kontrakten. Før den endelige afregning vises en forventet intern rente ud fra prognosen; pengestrømmene bag den står i tabellen over investorernes pengestrømme.",
            f"- **Illustrative priser**: priserne er afledt af en forretningsplan: med den syntetiske generators indbyggede effekter og fuld indskrivning får investorerne deres investering tilbage med {rate} om året (afkastloftet er {cap}); de relative priser i udkastet til takstbladet skaleres med én faktor (`python -m analysis calibrate`). Med {shortfall} lavere indskrivning taber investorerne.",
        ]
    return [
        "- **Settlement**: a result report's payment statement is settled with the data that exist as of the report's quarter and then stands in the settlement ledger. When later data change a settled amount, the change is shown as an adjustment in the next result report (amount, reason and the entry it corrects); adjustments "
        + ("are paid." if paid else "are shown but not paid.")
        + " Paid to date is the sum of the ledger's paid entries; amounts above the caps are shown, not paid.",
        "- **The investors' return**: an internal rate of return is defined only over the whole contract. Before the final settlement a projected rate from the forecast is shown; the cash flows behind it are in the table of the investors' cash flows.",
        f"- **Illustrative prices**: the prices derive from a business case: with the synthetic generator's designed effects and full enrolment the investors get their investment back with {rate} a year (the return cap is {cap}); the design's relative prices are scaled by one factor (`python -m analysis calibrate`). With {shortfall} lower enrolment the investors lose.",
    ]


def key_figures_table(inputs: QuarterlyInputs, contract: Contract, lang: str) -> pd.DataFrame:
    """The board's key numbers: enrolment, achievements per target, payments against the caps."""
    key = inputs.key
    da = lang == "da"
    rows = [
        (
            "Indskrevne husstande" if da else "Households enrolled",
            count_text(
                inputs,
                disclosure.enrolment_key("households", _last_quarter(inputs)),
                key["enrolled_households"],
                lang,
            )
            + f" / {numbers.number(key['target_households'], 0, lang)}",
        ),
    ]
    for target in TARGETS:
        if target == "school_absence":
            continue
        rows.append(
            (
                ("Opnåede resultater: " if da else "Achievements: ")
                + t(f"target.{target}", lang).lower(),
                count_text(
                    inputs,
                    disclosure.target_key("cumulative", target, "all", inputs.as_of),
                    key["achievements_cumulative"][target],
                    lang,
                ),
            )
        )
    rows += [
        (
            "Opgjorte resultatbetalinger" if da else "Outcome payments due",
            numbers.dkk(key["payments_due_total"], lang),
        ),
        (
            "Udbetalt til dato" if da else "Paid to date",
            numbers.dkk(key["payments_paid_total"], lang),
        ),
        (
            "Investeret til dato" if da else "Invested to date",
            numbers.dkk(key["invested_to_date"], lang),
        ),
        (
            "Samlet loft" if da else "Total cap",
            numbers.dkk(contract.caps.total_outcome_payments, lang),
        ),
        (
            "Prognose for samlede betalinger (median)"
            if da
            else "Forecast of total payments (median)",
            numbers.dkk(rounded_forecast(key["forecast_median"], contract), lang),
        ),
    ]
    return pd.DataFrame(
        rows, columns=["Nøgletal" if da else "Key figure", "Værdi" if da else "Value"]
    )


KEY_NUMBERS = (
    "enrolled_households",
    "enrolled_persons",
    "payments_due_total",
    "payments_provisional_total",
    "payments_paid_total",
    "payments_settled_total",
    "payments_awaiting",
    "adjustments_total",
    "adjustments_paid_total",
    "invested_to_date",
    "forecast_median",
)


def record_key_numbers(results, inputs: QuarterlyInputs, contract: Contract) -> None:
    """Put the enrolment, payment and achievement numbers of a summary into the results file.

    The results file is published beside the report: a number the report hides is
    recorded as the suppression symbol.
    """
    key, last = inputs.key, _last_quarter(inputs)
    cells = {
        "enrolled_households": disclosure.enrolment_key("households", last),
        "enrolled_persons": disclosure.enrolment_key("persons", last),
        "payments_provisional_total": disclosure.summary_key("provisional_total", inputs.as_of),
    }
    if adjustment_hidden(inputs):
        results.add("adjustments_total", SUPPRESSED)
    for name in KEY_NUMBERS:
        if name == "adjustments_total" and adjustment_hidden(inputs):
            continue
        cell = cells.get(name)
        declared = cell is not None and cell in inputs.cells.cells
        value = rounded_forecast(key[name], contract) if name == "forecast_median" else key[name]
        results.add(name, inputs.shown(cell, value) if declared else value)
    record_investors(results, inputs)
    for target in disclosure.COUNT_TARGETS:
        results.add(
            f"achievements_cumulative.{target}",
            inputs.shown(
                disclosure.target_key("cumulative", target, "all", inputs.as_of),
                key["achievements_cumulative"][target],
            ),
        )


def record_investors(results, inputs: QuarterlyInputs) -> None:
    """Each investor's position and the cash-flow schedule behind its IRR, into the results file."""
    for row in inputs.tables["investors"].itertuples(index=False):
        prefix = f"investors.{row.investor}"
        for name in ("invested", "invested_total", "repaid", "net_position", "projected_repaid"):
            results.add(f"{prefix}.{name}", getattr(row, name))
        results.add(f"{prefix}.irr_{row.irr_kind}", row.irr)
    for row in inputs.tables["cash_flows"].itertuples(index=False):
        results.add(f"cash_flows.{row.investor}.{row.quarter}.{row.kind}", row.amount)
    # Per settled report as the ledger has it (entries per target follow the
    # statement's disclosure control, so only the report totals are recorded).
    for row in inputs.tables["payments_capped"].itertuples(index=False):
        results.add(f"ledger.{row.report}.due", row.due)
        results.add(f"ledger.{row.report}.paid", row.paid)
        results.add(
            f"ledger.{row.report}.adjustments",
            SUPPRESSED if adjustment_hidden(inputs, row.report) else row.adjustments,
        )
