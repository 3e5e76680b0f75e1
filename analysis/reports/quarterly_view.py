"""Tables, figures and prose of the quarterly result report, built from the quarterly results.

Every count passes disclosure control before it is shown; every number in the
prose is filled in from the results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from analysis import quarters
from analysis.config import TARGETS, Contract
from analysis.render import numbers
from analysis.render.style import ACCENT, PRIMARY, apply_theme
from analysis.reports.text import t
from analysis.sdc.suppress import footnote, is_small, suppress, suppress_rows


@dataclass
class QuarterlyInputs:
    """The quarterly results of one quarter, read back from disk."""

    as_of: str
    tables: dict[str, pd.DataFrame]
    key: dict


def load(quarterly_dir: Path | str, as_of: str) -> QuarterlyInputs:
    folder = Path(quarterly_dir) / as_of
    tables = {
        path.stem: pd.read_csv(path, keep_default_na=True) for path in sorted(folder.glob("*.csv"))
    }
    return QuarterlyInputs(
        as_of, tables, json.loads((folder / "key_numbers.json").read_text(encoding="utf-8"))
    )


def load_history(quarterly_dir: Path | str, first: str, last: str) -> pd.DataFrame:
    """Cumulative achievements per target for every quarter with results up to ``last``."""
    rows = []
    for quarter in quarters.span(first, last):
        path = Path(quarterly_dir) / quarter / "key_numbers.json"
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
    share = numbers.percent(n / target, 0, lang)
    if lang == "da":
        text = (
            f"Pr. {inputs.as_of} er **{numbers.number(n, 0, lang)} husstande** indskrevet i indsatsen "
            f"({share} af målet på {numbers.number(target, 0, lang)}) med i alt {numbers.number(key['enrolled_persons'], 0, lang)} personer. "
            f"Registerdata foreligger til og med {key['register_until']}. "
            f"Opgjorte resultatbetalinger i alt: **{numbers.dkk(key['payments_due_total'], lang)}**; "
            f"foreløbigt opgjort i den løbende periode: {numbers.dkk(key['payments_provisional_total'], lang)}"
        )
        if key["is_result_report_quarter"]:
            text += f" {inputs.as_of} er et resultatrapport-kvartal: betalingsopgørelsen nedenfor er grundlaget for udbetalingen."
    else:
        text = (
            f"As of {inputs.as_of}, **{numbers.number(n, 0, lang)} households** are enrolled "
            f"({share} of the target of {numbers.number(target, 0, lang)}), with {numbers.number(key['enrolled_persons'], 0, lang)} persons. "
            f"Register data reach {key['register_until']}. "
            f"Outcome payments due in total: **{numbers.dkk(key['payments_due_total'], lang)}**; "
            f"provisional in the running period: {numbers.dkk(key['payments_provisional_total'], lang)}."
        )
        if key["is_result_report_quarter"]:
            text += f" {inputs.as_of} is a result-report quarter: the payment statement below is the basis of the payment."
    return text


def enrolment_table(
    inputs: QuarterlyInputs, contract: Contract, lang: str
) -> tuple[pd.DataFrame, str]:
    frame = inputs.tables["enrolment"][
        ["quarter", "new_households", "households", "persons", "exited_households"]
    ]
    protected, _ = suppress(
        frame, ["new_households", "exited_households"], contract.disclosure.min_persons
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
    protected, _ = suppress(
        frame[["source", "latest_quarter", "expected", "present", "share"]],
        ["expected", "present"],
        contract.disclosure.min_persons,
        dependent={"expected": ["share"], "present": ["share"]},
    )
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
    pieces = []
    linked = targets_with_hidden_periods(inputs, contract)
    for _target, part in frame.groupby("target", sort=False):
        protected, _ = suppress(
            part,
            ["eligible", "new_this_quarter", "cumulative"],
            contract.disclosure.min_persons,
            total_row=("area", "all"),
        )
        if _target in linked:
            protected["cumulative"] = "*"
        pieces.append(protected)
    shown = pd.concat(pieces)
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


def targets_figure(history: pd.DataFrame, lang: str, min_persons: int):
    """Cumulative achievements per target; points built on fewer than ``min_persons`` are not drawn."""
    apply_theme()
    fig, ax = plt.subplots()
    shown = history.loc[history["target"] != "school_absence"]
    for target, part in shown.groupby("target", sort=False):
        values = part["cumulative"].where(~is_small(part["cumulative"], min_persons))
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
    protected, _ = suppress_rows(
        frame.assign(achievements=frame["achievements"].round(2), amount=frame["amount"].round(0)),
        "units",
        ["units", "achievements", "amount"],
        contract.disclosure.min_persons,
        group_column="report",
        sum_column="amount",
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
    return shown, footnote(lang, contract.disclosure.min_persons)


def capped_table(inputs: QuarterlyInputs, lang: str) -> pd.DataFrame:
    frame = inputs.tables["payments_capped"]
    return pd.DataFrame(
        {
            t("col.report", lang): frame["report"],
            t("col.due", lang): frame["due"].round(0),
            t("col.withheld_total", lang): frame["withheld_total_cap"].round(0),
            t("col.withheld_return", lang): frame["withheld_return_cap"].round(0),
            t("col.paid", lang): frame["paid"].round(0),
            t("col.cumulative_paid", lang): frame["cumulative_paid"].round(0),
        }
    )


def investors_table(inputs: QuarterlyInputs, lang: str) -> pd.DataFrame:
    frame = inputs.tables["investors"]
    return pd.DataFrame(
        {
            t("col.investor", lang): frame["investor"],
            t("col.invested", lang): frame["invested"].round(0),
            t("col.repaid", lang): frame["repaid"].round(0),
            t("col.net", lang): frame["net_position"].round(0),
            t("col.irr", lang): (100 * frame["irr"]).round(1),
        }
    )


def forecast_table(inputs: QuarterlyInputs, contract: Contract, lang: str) -> pd.DataFrame:
    """Forecast amounts, rounded to ``disclosure.money_rounding`` DKK: they are estimates, not payments."""
    frame = inputs.tables["forecast"]
    step = contract.disclosure.money_rounding

    def rounded(values: pd.Series) -> pd.Series:
        return (values / step).round() * step

    return pd.DataFrame(
        {
            t("col.scenario", lang): frame["scenario"].map(lambda s: t(f"scenario.{s}", lang)),
            t("col.median", lang): rounded(frame["median"]),
            t("col.low", lang): rounded(frame["low"]),
            t("col.high", lang): rounded(frame["high"]),
        }
    )


def absence_table(inputs: QuarterlyInputs, lang: str) -> pd.DataFrame:
    frame = inputs.tables.get("absence_estimates", pd.DataFrame())
    if frame.empty:
        return frame
    return pd.DataFrame(
        {
            t("col.report", lang): frame["report"],
            t("col.estimate", lang): (100 * frame["att"]).round(2),
            t("col.ci", lang): [
                f"{numbers.number(100 * lo, 2, lang)} ; {numbers.number(100 * hi, 2, lang)}"
                for lo, hi in zip(frame["ci_low"], frame["ci_high"], strict=True)
            ],
            t("col.pupils", lang): frame["pupils"],
        }
    )


def payment_prose(inputs: QuarterlyInputs, contract: Contract, lang: str) -> str:
    statement = inputs.tables["payment_statement"]
    final = statement.loc[statement["status"] == "final"]
    by_target = final.groupby("target")["amount"].sum().reindex(list(TARGETS)).fillna(0)
    largest = by_target.idxmax() if by_target.sum() > 0 else None
    total = float(by_target.sum())
    caps = contract.caps
    if lang == "da":
        text = f"Opgjorte resultatbetalinger i alt er {numbers.dkk(total, lang)} mod et samlet loft på {numbers.dkk(caps.total_outcome_payments, lang)}"
        text += (
            f" og et afkastloft på {numbers.percent(caps.investor_annual_return, 1, lang)} om året."
        )
        if largest:
            text += f" Den største post er {t(f'target.{largest}', lang).lower()} med {numbers.dkk(by_target[largest], lang)}"
    else:
        text = f"Outcome payments due total {numbers.dkk(total, lang)} against a total cap of {numbers.dkk(caps.total_outcome_payments, lang)}"
        text += (
            f" and a return cap of {numbers.percent(caps.investor_annual_return, 1, lang)} a year."
        )
        if largest:
            text += f" The largest item is {t(f'target.{largest}', lang).lower()} at {numbers.dkk(by_target[largest], lang)}."
    return text


def methods_text(contract: Contract, lang: str) -> str:
    rules = contract.targets
    price = contract.rate_card
    if lang == "da":
        return "\n".join(
            [
                f"- **{t('target.employment', lang)}**: voksne {rules.employment.min_age}–{rules.employment.max_age} år; mindst ét trin op ad selvforsørgelsesstigen i forhold til kvartalet før indskrivning, fastholdt i {rules.employment.sustain_quarters} kvartaler i træk. Pris {numbers.dkk(price.employment, lang)} pr. trin.",
                f"- **{t('target.social_measures', lang)}**: støtteniveau under niveauet før indskrivning, fastholdt i {rules.social_measures.sustain_quarters} kvartaler i træk. Pris {numbers.dkk(price.social_measures, lang)} pr. trin.",
                f"- **{t('target.school_absence', lang)}**: forskel-i-forskelle-estimat (Callaway–Sant'Anna) af fraværsandelen for elever i indsatsen mod elever i kontrolgruppen. Pris {numbers.dkk(price.school_absence, lang)} pr. elev pr. procentpoint reduktion pr. skoleår.",
                f"- **{t('target.life_satisfaction', lang)}**: en opfølgende besvarelse mindst {numbers.number(rules.life_satisfaction.min_increase, 0, lang)} point over besvarelsen ved indskrivning. Manglende besvarelse tæller hverken som succes eller fiasko. Pris {numbers.dkk(price.life_satisfaction, lang)} pr. person.",
                f"- **{t('target.action_plan_goals', lang)}**: mål i handleplanen, der ved en opfølgning er markeret som opfyldt. Pris {numbers.dkk(price.action_plan_goals, lang)} pr. mål.",
                f"- Registerdata kommer {contract.timeline.register_lag_quarters} kvartal forsinket; alle tal er opgjort med de data, der fandtes pr. rapportens kvartal.",
            ]
        )
    return "\n".join(
        [
            f"- **{t('target.employment', lang)}**: adults {rules.employment.min_age}–{rules.employment.max_age}; at least one step up the self-sufficiency ladder from the quarter before enrolment, held for {rules.employment.sustain_quarters} consecutive quarters. Price {numbers.dkk(price.employment, lang)} per step.",
            f"- **{t('target.social_measures', lang)}**: support level below the level before enrolment, held for {rules.social_measures.sustain_quarters} consecutive quarters. Price {numbers.dkk(price.social_measures, lang)} per step.",
            f"- **{t('target.school_absence', lang)}**: difference-in-differences estimate (Callaway–Sant'Anna) of the absence rate of pupils in the intervention against pupils in the comparison group. Price {numbers.dkk(price.school_absence, lang)} per pupil per percentage point of reduction per school year.",
            f"- **{t('target.life_satisfaction', lang)}**: a follow-up answer at least {numbers.number(rules.life_satisfaction.min_increase, 0, lang)} point(s) above the answer at enrolment. Non-response is neither success nor failure. Price {numbers.dkk(price.life_satisfaction, lang)} per person.",
            f"- **{t('target.action_plan_goals', lang)}**: action-plan goals marked achieved at a review. Price {numbers.dkk(price.action_plan_goals, lang)} per goal.",
            f"- Register data arrive {contract.timeline.register_lag_quarters} quarter(s) late; every number uses the data that existed as of the report's quarter.",
        ]
    )


def key_figures_table(inputs: QuarterlyInputs, contract: Contract, lang: str) -> pd.DataFrame:
    """The board's key numbers: enrolment, achievements per target, payments against the caps."""
    key = inputs.key
    da = lang == "da"
    rows = [
        (
            "Indskrevne husstande" if da else "Households enrolled",
            f"{numbers.number(key['enrolled_households'], 0, lang)} / {numbers.number(key['target_households'], 0, lang)}",
        ),
    ]
    for target in TARGETS:
        if target == "school_absence":
            continue
        rows.append(
            (
                ("Opnåede resultater: " if da else "Achievements: ")
                + t(f"target.{target}", lang).lower(),
                "*"
                if target in targets_with_hidden_periods(inputs, contract)
                else _count(key["achievements_cumulative"][target], contract, lang),
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
            "Samlet loft" if da else "Total cap",
            numbers.dkk(contract.caps.total_outcome_payments, lang),
        ),
        (
            "Prognose for samlede betalinger (median)"
            if da
            else "Forecast of total payments (median)",
            numbers.dkk(key["forecast_median"], lang),
        ),
    ]
    return pd.DataFrame(
        rows, columns=["Nøgletal" if da else "Key figure", "Værdi" if da else "Value"]
    )


def _count(value: int, contract: Contract, lang: str) -> str:
    """A count for prose or a mixed table: hidden (``*``) when below the disclosure minimum."""
    return (
        "*" if is_small(value, contract.disclosure.min_persons) else numbers.number(value, 0, lang)
    )


def targets_with_hidden_periods(inputs: QuarterlyInputs, contract: Contract) -> set[str]:
    """Targets with a hidden row in the payment statement (small, or hidden as partner).

    Their cumulative counts are hidden elsewhere in the same report, because the
    cumulative minus the shown periods would give the hidden period back.
    """
    statement = inputs.tables["payment_statement"].reset_index(drop=True)
    protected, _ = suppress_rows(
        statement,
        "units",
        ["units"],
        contract.disclosure.min_persons,
        group_column="report",
        sum_column="amount",
    )
    return set(statement.loc[protected["units"].astype(str) == "*", "target"])


KEY_NUMBERS = (
    "enrolled_households",
    "enrolled_persons",
    "payments_due_total",
    "payments_provisional_total",
    "payments_paid_total",
    "forecast_median",
)


def record_key_numbers(results, key: dict) -> None:
    """Put the enrolment, payment and achievement numbers of a summary into the results file."""
    for name in KEY_NUMBERS:
        results.add(name, key[name])
    results.add_many("achievements_cumulative", key["achievements_cumulative"])
