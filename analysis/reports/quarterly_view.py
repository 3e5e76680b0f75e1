"""Tables, figures and prose of the quarterly result report, built from the quarterly results.

The tables keep stable column ids (``quarter``, ``households``: ``col.*`` in
:mod:`analysis.catalogue`), which :func:`analysis.render.show.table` translates
when it shows them. The report's prose is in the notebook's Markdown cells; the
functions here give it its values (:func:`summary_values`, :func:`methods_values`).

It only presents: every count passes disclosure control before it is shown
(:mod:`analysis.sdc.quarterly` declares all cells of the report to one linked
model and chooses what to hide), and every table, figure and sentence asks it
whether a cell is hidden. Every number in the prose is filled in from the results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import matplotlib.pyplot as plt
import pandas as pd

from analysis.config import TARGETS, Contract
from analysis.render import numbers
from analysis.render.style import ACCENT, PRIMARY, apply_theme
from analysis.reports import forecast_text
from analysis.reports.text import t
from analysis.sdc import disclosure
from analysis.sdc.quarterly import (
    QuarterlyInputs,
    adjustment_hidden,
    last_quarter,
    rounded_forecast,
    shown_forecast,
)
from analysis.sdc.suppress import SUPPRESSED, footnote


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
    """A count for prose and key figures: formatted, or why it is hidden in words."""
    return inputs.headline(key, numbers.number(value, 0, lang), lang)


def money_text(inputs: QuarterlyInputs, key, value, lang: str) -> str:
    """An amount for prose: in DKK, or why it is hidden in words."""
    return inputs.headline(key, numbers.dkk(value, lang), lang)


@dataclass(frozen=True)
class SummaryValues:
    """The summary's values (``notebooks/_summary.md``), each formatted for the report's language.

    A count disclosure control hides is the suppression symbol (``share`` with it).
    """

    quarter: str
    households: str
    persons: str
    share: str
    target: str
    register_until: str
    due: str
    provisional: str
    # The provisional amount closing its sentence (with the full stop unless it ends in one).
    provisional_end: str
    # The sentence a result-report quarter adds (empty otherwise).
    result_report: str
    # The paragraph of :func:`bottom_line`.
    bottom_line: str


def summary_values(inputs: QuarterlyInputs, contract: Contract, lang: str) -> SummaryValues:
    """The values of the summary, formatted for ``lang``, with hidden counts as the symbol."""
    key = inputs.key
    n, target = key["enrolled_households"], key["target_households"]
    last = last_quarter(inputs)
    households_key = disclosure.enrolment_key("households", last)
    households = count_text(inputs, households_key, n, lang)
    return SummaryValues(
        quarter=numbers.quarter(inputs.as_of, lang),
        households=households,
        persons=count_text(
            inputs, disclosure.enrolment_key("persons", last), key["enrolled_persons"], lang
        ),
        share=SUPPRESSED
        if inputs.is_hidden(households_key)
        else numbers.percent(n / target, 0, lang),
        target=numbers.number(target, 0, lang),
        register_until=numbers.quarter(key["register_until"], lang),
        due=numbers.dkk(key["payments_due_total"], lang),
        provisional=money_text(
            inputs,
            disclosure.summary_key("provisional_total", inputs.as_of),
            key["payments_provisional_total"],
            lang,
        ),
        # The amount closes its sentence: "kr." ends it in Danish; a symbol or "DKK" needs the stop.
        provisional_end=_sentence_end(
            money_text(
                inputs,
                disclosure.summary_key("provisional_total", inputs.as_of),
                key["payments_provisional_total"],
                lang,
            )
        ),
        result_report=t(
            "sentence.result_report_quarter", lang, quarter=numbers.quarter(inputs.as_of, lang)
        )
        if key["is_result_report_quarter"]
        else "",
        bottom_line=bottom_line(inputs, contract, lang),
    )


def _sentence_end(text: str) -> str:
    """``text`` closing a sentence: with a full stop unless it already ends in one ("kr.")."""
    return text if text.endswith(".") else f"{text}."


def bottom_line(inputs: QuarterlyInputs, contract: Contract, lang: str) -> str:
    """Paid to date from the ledger, against the cap and the investment, and the projection."""
    key = inputs.key
    cap = contract.caps.total_outcome_payments
    text = t(
        "bottom_line.paid",
        lang,
        paid=numbers.dkk(key["payments_paid_total"], lang),
        share=numbers.percent(key["payments_paid_total"] / cap, 1, lang),
        cap=numbers.dkk(cap, lang),
        invested=numbers.dkk(key["invested_to_date"], lang),
    )
    if key["payments_awaiting"]:
        text += t(
            "bottom_line.awaiting", lang, awaiting=numbers.dkk(key["payments_awaiting"], lang)
        )
    if key.get("payments_withheld_total"):
        text += t(
            "bottom_line.withheld",
            lang,
            withheld=numbers.dkk(key["payments_withheld_total"], lang),
            rule=t(
                "bottom_line.rule",
                lang,
                rate=numbers.percent(contract.caps.investor_annual_return, 1, lang),
            ),
        )
    total = numbers.dkk(contract.investment.total, lang)
    if key["final_settlement_paid"]:
        investors = inputs.tables["investors"]
        text += t(
            "bottom_line.final",
            lang,
            repaid=numbers.dkk(float(investors["repaid"].sum()), lang),
            total=total,
            irr=numbers.percent(float(investors["irr"].iloc[0]), 1, lang),
            cap_rate=numbers.percent(contract.caps.investor_annual_return, 1, lang),
        )
    else:
        low, high = (
            numbers.dkk(shown_forecast(key, f"projected_paid_{n}", contract), lang)
            for n in ("low", "high")
        )
        text += t(
            "bottom_line.projected",
            lang,
            median=numbers.dkk(shown_forecast(key, "projected_paid_median", contract), lang),
            # A band without width is left out; forecast_text says why.
            band=""
            if low == high
            else t(
                "bottom_line.band",
                lang,
                level=numbers.percent(contract.forecast.band, 0, lang),
                low=low,
                high=high,
            ),
            total=total,
        )
        text += forecast_text.projection_text(
            key, inputs.tables["forecast"], contract, lang, inputs.as_of
        )
    if key["adjustments_total"]:
        text += t(
            "bottom_line.adjusted",
            lang,
            adjustments=SUPPRESSED
            if adjustment_hidden(inputs)
            else numbers.dkk(key["adjustments_total"], lang),
            paid_or_not=t(
                "bottom_line.adj_paid"
                if contract.settlement.pay_adjustments
                else "bottom_line.adj_not_paid",
                lang,
            ),
        )
    return text


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
    protected.columns = ["quarter", "new_households", "households", "persons", "exited"]
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
        label=t("axis.target", lang),
    )
    ax.set_ylim(0, contract.programme.enrolment_target_households * 1.15)
    ax.set_ylabel(t("axis.households", lang))
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
    protected.columns = ["source", "latest", "expected", "present", "share"]
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
    shown.columns = ["target", "area", "eligible", "new", "cumulative"]
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
    ax.set_ylabel(t("axis.achievements_cumulative", lang))
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
            "report": protected["report"],
            "target": protected["target"].map(lambda s: t(f"target.{s}", lang)),
            "units": protected["units"],
            "achievements": protected["achievements"],
            "price": protected["unit_price"],
            "amount": protected["amount"],
            "status": protected["status"].map(lambda s: t(f"status.{s}", lang)),
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


def capped_table(
    inputs: QuarterlyInputs, contract: Contract, lang: str
) -> tuple[pd.DataFrame, str]:
    """Per settled result report, from the ledger: due, adjustments, what the caps withhold,
    and what is paid to date or earned but not yet paid, with a total row.

    Every amount is whole kroner (the ledger's entries are), so the total row is the
    sum of the printed rows, and its paid-to-date cell is page 1's paid to date. The
    note gives the caps' rule in one sentence.
    """
    frame = inputs.tables["payments_capped"]
    due = _masked(
        inputs,
        frame.assign(due=frame["due"].round(0)),
        {"due": lambda r: disclosure.due_key(r.report, inputs.as_of)},
    )
    paid = frame["paid"].round(0)
    is_paid = frame["status"] == "paid"
    shown = pd.DataFrame(
        {
            "report": frame["report"],
            "payment_quarter": frame["payment_quarter"],
            "due": due["due"],
            "adjustments": [
                SUPPRESSED if adjustment_hidden(inputs, r) else round(v)
                for r, v in zip(frame["report"], frame["adjustments"], strict=True)
            ],
            # Paid adjustments are the adjustments themselves when the contract pays
            # them: hidden with them (not paid, they are 0 by the contract's rule).
            "adjustments_paid": [
                SUPPRESSED
                if contract.settlement.pay_adjustments and adjustment_hidden(inputs, r)
                else round(v)
                for r, v in zip(frame["report"], frame["adjustments_paid"], strict=True)
            ],
            "withheld_total": frame["withheld_total_cap"].round(0),
            "withheld_return": frame["withheld_return_cap"].round(0),
            "paid_to_date": paid.where(is_paid, 0.0),
            "awaiting": paid.where(~is_paid, 0.0),
        }
    )
    if len(shown):
        total = {"report": t("row.total", lang), "payment_quarter": ""}
        for column in shown.columns[2:]:
            values = shown[column]
            hidden = (values == SUPPRESSED).any()
            # A hidden row would come back as the total minus the shown rows.
            total[column] = SUPPRESSED if hidden else float(sum(values))
        shown = pd.concat([shown, pd.DataFrame([total])], ignore_index=True)
    return shown, cap_rule(contract, lang)


def cap_rule(contract: Contract, lang: str) -> str:
    """The caps' rule in one sentence, with the contract's caps."""
    return t(
        "sentence.cap_rule",
        lang,
        cap=numbers.dkk(contract.caps.total_outcome_payments, lang),
        rate=numbers.percent(contract.caps.investor_annual_return, 1, lang),
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
            "report": protected["report"],
            "corrects": protected["corrects_report"],
            "target": protected["target"].map(lambda s: t(f"target.{s}", lang)),
            "units_change": protected["units"],
            "achievements_change": protected["achievements"],
            "price": protected["unit_price"],
            "amount_change": protected["amount"],
            "adjustment_payable": [
                SUPPRESSED if amount == SUPPRESSED and contract.settlement.pay_adjustments else paid
                for amount, paid in zip(protected["amount"], frame["paid"].round(0), strict=True)
            ],
            "reason": frame["reason"].map(lambda s: t(f"reason.{s.partition(':')[0]}", lang)),
        }
    )
    # The reason in words goes under the table: a sentence does not fit its column.
    reasons = sorted(
        {
            f"{report} → {corrects}: {reason_text(reason, report, lang)}"
            for reason, report, corrects in zip(
                frame["reason"], frame["report"], frame["corrects_report"], strict=True
            )
            if ":" in reason
        }
    )
    note = footnote(lang, contract.disclosure.min_persons)
    return shown, " ".join([note, *(f"{line}." for line in reasons)])


def reason_text(reason: str, report: str, lang: str) -> str:
    """An adjustment's reason in words: which data the delivery of ``report``'s quarter revised."""
    code, _, tables = reason.partition(":")
    if code != "revised_data" or not tables:
        return t(f"reason.{code}", lang)
    names = [t(f"revised.{name}", lang) for name in tables.split(",")]
    conjunction = {"da": "og", "en": "and"}[lang]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {conjunction} {names[-1]}"
    text = t("reason.revised_in", lang, tables=listed, delivery=numbers.quarter(report, lang))
    return text[0].upper() + text[1:]


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
            "investor": frame["investor"],
            "invested_total": frame["invested_total"].round(0),
            "invested": frame["invested"].round(0),
            "repaid": frame["repaid"].round(0),
            "net": frame["net_position"].round(0),
            "projected": frame["projected_repaid"].round(-3),
            "band": band,
            f"irr_{kind}": rate,
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
            "quarter": wide["quarter"],
            "flow": wide["kind"].map(lambda s: t(f"flow.{s}", lang)),
        }
    )
    for investor in investors:
        out[t("unit.dkk", lang, name=investor)] = wide[investor].round(0)
    return out


def forecast_table(inputs: QuarterlyInputs, contract: Contract, lang: str) -> pd.DataFrame:
    """Forecast amounts, rounded (:func:`rounded_forecast`)."""
    frame = inputs.tables["forecast"]
    return pd.DataFrame(
        {
            "scenario": frame["scenario"].map(lambda s: t(f"scenario.{s}", lang)),
            "median": rounded_forecast(frame["median"], contract),
            "low": rounded_forecast(frame["low"], contract),
            "high": rounded_forecast(frame["high"], contract),
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
            "report": frame["report"],
            "estimate": (100 * frame["att"]).round(2),
            "ci": [
                f"{numbers.number(100 * lo, 2, lang)} ; {numbers.number(100 * hi, 2, lang)}"
                for lo, hi in zip(frame["ci_low"], frame["ci_high"], strict=True)
            ],
            "pupils": _masked(
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


@dataclass(frozen=True)
class PaymentValues:
    """The values of the payments paragraph (``notebooks/_payments.md``)."""

    # The amount due on final statements (DKK).
    total: float
    # The sentence naming the largest item, with its amount unless disclosure control hides it.
    largest: str


def payment_values(inputs: QuarterlyInputs, contract: Contract, lang: str) -> PaymentValues:
    """The values of the payments paragraph (``notebooks/_payments.md``), for ``lang``."""
    statement = inputs.tables["payment_statement"]
    final = statement.loc[statement["status"] == "final"]
    by_target = final.groupby("target")["amount"].sum()
    largest = disclosure.largest_item(statement)
    sentence = ""
    if largest:
        name = t(f"target.{largest}", lang).lower()
        amount = _by_target(inputs, largest, by_target, lang)
        hidden = amount == SUPPRESSED
        sentence = t(
            "sentence.largest_hidden" if hidden else "sentence.largest_shown",
            lang,
            name=name,
            amount=amount,
        )
    return PaymentValues(total=float(by_target.sum()), largest=sentence)


def _by_target(inputs: QuarterlyInputs, target: str, by_target: pd.Series, lang: str) -> str:
    """The amount, or the suppression symbol (the sentence then leaves it out)."""
    shown = inputs.shown(
        disclosure.summary_key("amount_by_target", inputs.as_of, target), by_target[target]
    )
    return shown if shown == SUPPRESSED else numbers.dkk(shown, lang)


@dataclass(frozen=True)
class MethodsValues:
    """The values of the target definitions and settlement rules (``notebooks/_methods.md``).

    One name and one price (``price_<target>``) per target of
    :data:`analysis.config.TARGETS`: :func:`methods_values` fills them by that list,
    so a target added there without its fields here is a ``TypeError``.
    """

    employment: str
    social_measures: str
    school_absence: str
    life_satisfaction: str
    action_plan_goals: str
    price_employment: str
    price_social_measures: str
    price_school_absence: str
    price_life_satisfaction: str
    price_action_plan_goals: str
    min_age: int
    max_age: int
    employment_sustain: int
    social_sustain: int
    # The sentence saying absence counts from enrolment (empty under another exposure rule).
    exposure: str
    min_increase: str
    min_increase_points: str
    register_lag: int
    register_lag_quarters: str
    adjustments: str
    target_return: str
    return_cap: str
    shortfall: str


def methods_values(contract: Contract, lang: str) -> MethodsValues:
    """The values of the target definitions and settlement rules, formatted for ``lang``."""
    rules, price = contract.targets, contract.rate_card
    names = {target: t(f"target.{target}", lang) for target in TARGETS}
    prices = {f"price_{target}": numbers.dkk(getattr(price, target), lang) for target in TARGETS}
    lag = contract.timeline.register_lag_quarters
    return MethodsValues(
        **names,
        **prices,
        min_age=rules.employment.min_age,
        max_age=rules.employment.max_age,
        employment_sustain=rules.employment.sustain_quarters,
        social_sustain=rules.social_measures.sustain_quarters,
        exposure=t("sentence.exposure_enrolment", lang)
        if rules.school_absence.exposure == "enrolment"
        else "",
        min_increase=numbers.number(rules.life_satisfaction.min_increase, 0, lang),
        min_increase_points=numbers.plural(
            rules.life_satisfaction.min_increase, "point", "points", lang
        ),
        register_lag=lag,
        register_lag_quarters=numbers.plural(lag, "quarter", "quarters", lang),
        adjustments=t(
            "sentence.adjustments_paid"
            if contract.settlement.pay_adjustments
            else "sentence.adjustments_not_paid",
            lang,
        ),
        target_return=numbers.percent(contract.calibration.target_annual_return, 1, lang),
        return_cap=numbers.percent(contract.caps.investor_annual_return, 1, lang),
        shortfall=numbers.percent(contract.forecast.shortfall_scenario, 0, lang),
    )


def key_figures_table(inputs: QuarterlyInputs, contract: Contract, lang: str) -> pd.DataFrame:
    """The board's key numbers: enrolment, achievements per target, payments against the caps."""
    key = inputs.key
    rows = [
        (
            t("key.households_enrolled", lang),
            count_text(
                inputs,
                disclosure.enrolment_key("households", last_quarter(inputs)),
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
                t("key.achievements", lang, target=t(f"target.{target}", lang).lower()),
                count_text(
                    inputs,
                    disclosure.target_key("cumulative", target, "all", inputs.as_of),
                    key["achievements_cumulative"][target],
                    lang,
                ),
            )
        )
    rows += [
        (t("key.payments_due", lang), numbers.dkk(key["payments_due_total"], lang)),
        (t("key.paid_to_date", lang), numbers.dkk(key["payments_paid_total"], lang)),
        (t("key.awaiting", lang), numbers.dkk(key["payments_awaiting"], lang)),
        (t("key.withheld", lang), numbers.dkk(key.get("payments_withheld_total", 0.0), lang)),
        (t("key.invested_to_date", lang), numbers.dkk(key["invested_to_date"], lang)),
        (t("key.total_cap", lang), numbers.dkk(contract.caps.total_outcome_payments, lang)),
    ]
    # The projection page 1's bottom line gives (paid by the end, under the caps), so that the
    # page has one projection; after the final settlement nothing is projected.
    if not key["final_settlement_paid"]:
        rows.append(
            (
                t("key.projected_paid", lang),
                numbers.dkk(shown_forecast(key, "projected_paid_median", contract), lang),
            )
        )
    return pd.DataFrame(rows, columns=["key_figure", "value"])
