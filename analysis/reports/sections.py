"""Report sections shared by the evaluation reports: summary, effects, payments, methods.

Each function shows its prose, tables and figures through :mod:`analysis.render.show`,
with labels and captions in the output metadata and the function that builds each
table or figure named as its source (for the appendix of tables and figures).
"""

from __future__ import annotations

from analysis.render import show
from analysis.reports import dashboard
from analysis.reports import evaluation as ev
from analysis.reports import quarterly_view as view
from analysis.reports.text import t

EV = "analysis.reports.evaluation"
VIEW = "analysis.reports.quarterly_view"
EVENT_STUDIES = {
    "ladder_step": "fig-event-ladder",
    "self_supporting": "fig-event-selfsupport",
    "support_level": "fig-event-support",
    "absence_rate": "fig-event-absence",
}


def summary(report: ev.EvaluationReport, lang: str) -> None:
    """The one-page summary: enrolment and payments in words, effects in words, the dashboard, key figures."""
    text = view.summary(report.payments, report.contract, lang)
    effects = ev.headline_text(report.estimates, lang)
    show.text(f"# {t('h.summary', lang)}\n\n::: {{.summary}}\n{text}\n\n{effects}\n:::")
    board = dashboard.from_quarterly(report.payments, report.contract, lang)
    show.figure(
        dashboard.dashboard_figure(board, lang),
        caption=dashboard.caption(lang),
        alt=dashboard.alt_text(board, lang),
        label="fig-dashboard",
        source="analysis.reports.dashboard.dashboard_figure",
    )
    show.table(
        view.key_figures_table(report.payments, report.contract, lang),
        caption="Nøgletal" if lang == "da" else "Key figures",
        label="tbl-key",
        lang=lang,
        source=f"{VIEW}.key_figures_table",
    )


def effects(report: ev.EvaluationReport, lang: str, explain_twfe: bool = False) -> None:
    """Effect table (TWFE beside Callaway–Sant'Anna) and an event study per outcome."""
    da = lang == "da"
    show.text(
        "# "
        + ("Effektestimater" if da else "Effect estimates")
        + "\n\n"
        + (
            "@tbl-effects sammenligner to-vejs faste effekter (TWFE) med Callaway–Sant'Anna-estimatoren, som er robust over for forskellige effekter på tværs af indskrivningskohorter. Standardfejl er klyngerobuste på husstandsniveau."
            if da
            else "@tbl-effects compares two-way fixed effects (TWFE) with the Callaway–Sant'Anna estimator, which is robust to effects that differ across enrolment cohorts. Standard errors are clustered by household."
        )
    )
    show.table(
        ev.effects_table(report.estimates, report.payments, lang),
        caption="Effekt af indsatsen pr. udfald" if da else "Effect of the intervention by outcome",
        label="tbl-effects",
        lang=lang,
        decimals={
            "TWFE": 3,
            "Callaway–Sant'Anna": 3,
            ("p, forløb før" if da else "Pre-trend p"): 3,
        },
        source=f"{EV}.effects_table",
    )
    if explain_twfe:
        show.text(ev.twfe_vs_cs_text(report.estimates, lang))
    truth = report.context.truth or {}
    for outcome, label in EVENT_STUDIES.items():
        show.figure(
            ev.event_study_figure(
                report.estimates[outcome], lang, truth.get(outcome, {}).get("by_event_time")
            ),
            caption=("Effekt over tid (hændelsesstudie): " if lang == "da" else "Event study: ")
            + ev.LABELS[lang][outcome],
            label=label,
            source=f"{EV}.event_study_figure",
        )


def payments(report: ev.EvaluationReport, lang: str) -> None:
    """Payments to date: the statement, the investors' position and the forecast."""
    da = lang == "da"
    inputs, contract = report.payments, report.contract
    show.text(f"# {t('h.payments', lang)}\n\n{view.payment_prose(inputs, contract, lang)}")
    table, note = view.statement_table(inputs, contract, lang)
    show.table(
        table,
        caption="Betalingsopgørelse: opnåede resultater × enhedspris = beløb"
        if da
        else "Payment statement: achievements × unit price = amount",
        label="tbl-statement",
        lang=lang,
        decimals={t("col.achievements", lang): 2},
        note=note,
        source=f"{VIEW}.statement_table",
    )
    show.table(
        view.investors_table(inputs, lang),
        caption="Investorernes position" if da else "The investors' position",
        label="tbl-investors",
        lang=lang,
        source=f"{VIEW}.investors_table",
    )
    show.table(
        view.forecast_table(inputs, contract, lang),
        caption="Prognose for samlede resultatbetalinger (90 %-interval)"
        if da
        else "Forecast of total outcome payments (90% interval)",
        label="tbl-forecast",
        lang=lang,
        source=f"{VIEW}.forecast_table",
    )


def methods(report: ev.EvaluationReport, lang: str) -> None:
    """The methods appendix: data sources, estimators, disclosure rules, target definitions."""
    da = lang == "da"
    minimum = report.contract.disclosure.min_persons
    intro = (
        "Data: registerdata (ydelser, sociale foranstaltninger, skolefravær), spørgeskema om livstilfredshed og kommunens handleplaner. Effekter estimeres med forskel-i-forskelle: TWFE (linearmodels PanelOLS) og Callaway–Sant'Anna ATT(g,t) med aldrig-indskrevne husstande som kontrolgruppe. "
        f"Ingen tabel, figur eller tekst viser et antal på 1 til {minimum - 1} personer. Desuden skjules så mange andre tal, at et skjult antal ikke kan regnes ud fra totaler, andre tabeller eller forskelle til tal i tidligere kvartalsrapporter til et interval smallere end {minimum}; betalingsgrundlaget (opgjorte beløb pr. resultatrapport) vises altid."
        if da
        else "Data: register data (benefits, social measures, school absence), the life-satisfaction survey and the municipality's action plans. Effects are estimated by difference-in-differences: TWFE (linearmodels PanelOLS) and Callaway–Sant'Anna ATT(g,t) with never-enrolled households as comparison. "
        f"No table, figure or sentence shows a count of 1 to {minimum - 1} persons. Enough other numbers are hidden that no hidden count can be worked out, from totals, other tables or differences from numbers in earlier quarterly reports, to a range narrower than {minimum}; the payment basis (amounts due per result report) is always shown."
    )
    show.text(f"# {t('h.methods', lang)}\n\n{intro}\n\n{view.methods_text(report.contract, lang)}")
