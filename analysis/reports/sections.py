"""Report sections shared by the evaluation reports: summary, effects, payments, methods.

Each function shows its prose, tables and figures through :mod:`analysis.render.show`,
with labels and captions in the output metadata and the function that builds each
table or figure named as its source (for the appendix of tables and figures).
"""

from __future__ import annotations

from analysis.render import show
from analysis.render.numbers import number
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
    effects = ev.headline_text(report.estimates, lang, report.areas)
    why = effect_and_payment_text(report, lang)
    show.text(
        f"# {t('h.summary', lang)}\n\n::: {{.summary}}\n{text}\n\n{effects}"
        + (f"\n\n{why}" if why else "")
        + "\n:::"
    )
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


def effect_and_payment_text(report: ev.EvaluationReport, lang: str) -> str:
    """Why a significant effect can come with a small repayment, or the reverse, when that is so.

    Payments follow the rate card (achievements × price, the absence estimate ×
    pupil-years × price), not the estimated effects: gross achievements include
    what would have happened anyway, and prices decide how much each is worth.
    """
    significant = [
        o
        for o, est in report.estimates.items()
        if est.simple.overall_ci[0] > 0 or est.simple.overall_ci[1] < 0
    ]
    key = report.payments.key
    expected = (
        float(report.payments.tables["investors"]["repaid"].sum())
        if key["final_settlement_paid"]
        else view.rounded_forecast(key["projected_paid_median"], report.contract)
    )
    total = report.contract.investment.total
    da = lang == "da"
    if significant and expected < total:
        return (
            f"Indsatsen har en statistisk sikker effekt på {len(significant)} af {len(report.estimates)} udfald, men investorerne får (forventet) {view.numbers.dkk(expected, lang)} tilbage af {view.numbers.dkk(total, lang)}: betalingerne følger resultatkontraktens priser pr. opnået resultat, ikke effektestimaterne. En effekt kan være sikker og alligevel lille i kroner, hvis få resultater opnås i de betalte perioder eller priserne er lave."
            if da
            else f"The intervention has a statistically significant effect on {len(significant)} of {len(report.estimates)} outcomes, yet the investors (are projected to) get {view.numbers.dkk(expected, lang)} back of {view.numbers.dkk(total, lang)}: payments follow the contract's prices per achievement, not the effect estimates. An effect can be significant and still small in kroner when few achievements fall in the paid periods or the prices are low."
        )
    if not significant and expected >= total:
        return (
            f"Ingen effekt er statistisk sikker, men investorerne får (forventet) {view.numbers.dkk(expected, lang)} tilbage af {view.numbers.dkk(total, lang)}: betalingerne følger opnåede resultater i indsatsgruppen, også dem der ville være sket uden indsatsen, ikke forskellen til kontrolgruppen."
            if da
            else f"No effect is statistically significant, yet the investors (are projected to) get {view.numbers.dkk(expected, lang)} back of {view.numbers.dkk(total, lang)}: payments follow achievements in the intervention group, including those that would have happened without it, not the difference from the comparison group."
        )
    return ""


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
            caption=ev.event_study_caption(report.estimates[outcome], lang),
            label=label,
            source=f"{EV}.event_study_figure",
        )


SENSITIVITY_FIGURES = {
    "ladder_step": "fig-sens-ladder",
    "self_supporting": "fig-sens-selfsupport",
    "support_level": "fig-sens-support",
    "absence_rate": "fig-sens-absence",
}


def sensitivity(report: ev.EvaluationReport, lang: str) -> None:
    """Rambachan–Roth sensitivity to violations of parallel trends, one figure per outcome."""
    da = lang == "da"
    show.text(
        "## "
        + (
            "Følsomhed over for brud på parallelle forløb"
            if da
            else "Sensitivity to violations of parallel trends"
        )
        + "\n\n"
        + (
            "Figurerne viser, hvor robust effekten er, hvis forløbene i indsats- og kontrolgruppen ikke ville have været parallelle (Rambachan og Roth 2023, relative størrelser): M̄ = 1 betyder, at bruddet efter indskrivning fra kvartal til kvartal højst er så stort som det største brud før indskrivning. Intervallerne er 95 %-konfidensintervaller fra den betingede test af Andrews, Roth og Pakes; nedbrudspunktet er den mindste M̄, hvor intervallet indeholder nul."
            if da
            else "The figures show how robust the effect is if the intervention and comparison groups would not have followed parallel trends (Rambachan and Roth 2023, relative magnitudes): M̄ = 1 means that the violation after enrolment changes from quarter to quarter by at most as much as the largest change before enrolment. Intervals are 95% confidence sets from the conditional test of Andrews, Roth and Pakes; the breakdown value is the smallest M̄ at which the interval contains zero."
        )
    )
    for outcome, label in SENSITIVITY_FIGURES.items():
        sens = report.sensitivity.get(outcome)
        if sens is None:
            continue
        breakdown = (
            ("ingen inden for M̄ ≤ 2" if da else "none within M̄ ≤ 2")
            if sens.breakdown == float("inf")
            else number(sens.breakdown, 2, lang)
        )
        show.figure(
            ev.sensitivity_figure(sens, lang),
            caption=(
                f"Følsomhed: {ev.LABELS[lang][outcome].lower()}, målparameter {ev.sensitivity_target(sens, lang)}; nedbrudspunkt M̄ = {breakdown}"
                if da
                else f"Sensitivity: {ev.LABELS[lang][outcome].lower()}, target parameter {ev.sensitivity_target(sens, lang)}; breakdown M̄ = {breakdown}"
            ),
            label=label,
            source=f"{EV}.sensitivity_figure",
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
        decimals={"achievements": 2},
        note=note,
        source=f"{VIEW}.statement_table",
    )
    show.table(
        view.capped_table(inputs, lang),
        caption="Afregnede resultatrapporter i afregningsregnskabet: opgjort, reguleringer, lofter og udbetalt"
        if da
        else "Settled result reports in the ledger: due, adjustments, caps and paid",
        label="tbl-caps",
        lang=lang,
        source=f"{VIEW}.capped_table",
    )
    adjustments, adjustment_note = view.adjustments_table(inputs, contract, lang)
    if not adjustments.empty:
        show.table(
            adjustments,
            caption="Reguleringer: senere data ændrer afregnede beløb (afregningen står fast)"
            if da
            else "Adjustments: later data change settled amounts (the settlement stands)",
            label="tbl-adjustments",
            lang=lang,
            decimals={"achievements_change": 2},
            note=adjustment_note,
            source=f"{VIEW}.adjustments_table",
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
        "Data: registerdata (ydelser, sociale foranstaltninger, skolefravær), spørgeskema om livstilfredshed og kommunens handleplaner. Effekter estimeres med forskel-i-forskelle: TWFE (to-vejs faste effekter; klyngerobuste standardfejl med samme småstikprøvekorrektion som Stata reghdfe og R fixest) og Callaway–Sant'Anna ATT(g,t) med aldrig-indskrevne husstande som kontrolgruppe. Testen for parallelle forløb er en Wald-test af, at de dynamiske effekter før indskrivning er nul i de kvartaler, som alle indskrivningskohorter bidrager til (husstandsklynget kovarians; F-fordeling med Hotellings korrektion for antallet af indsatshusstande); de længste forløb før indskrivning findes kun for de sidste, små kohorter og er for usikkert bestemt til testen. "
        f"Ingen tabel, figur eller tekst viser et antal på 1 til {minimum - 1} personer. Desuden skjules så mange andre tal, at et skjult antal ikke kan regnes ud fra totaler, andre tabeller eller forskelle til tal i tidligere kvartalsrapporter til et interval smallere end {minimum}. Det efterprøves med et heltalsprogram over alle tal i denne og de tidligere rapporter og alt, hvad en læser ved om dem (også at ethvert resultat før 2028 hører til en vist resultatperiode). Et tal, der kun er skjult for at beskytte et lille antal, er {minimum} eller derover og kan i enkelte tilfælde regnes ud. Betalingsgrundlaget (opgjorte beløb pr. resultatrapport) og hver rapports totaler vises altid; er en enkelt betalingsrække skjult, får kontraktens parter beløbet i et lukket bilag til resultatrapporten."
        if da
        else "Data: register data (benefits, social measures, school absence), the life-satisfaction survey and the municipality's action plans. Effects are estimated by difference-in-differences: TWFE (two-way fixed effects; clustered standard errors with the small-sample correction of Stata reghdfe and R fixest) and Callaway–Sant'Anna ATT(g,t) with never-enrolled households as comparison. The test of parallel trends is a Wald test that the dynamic effects before enrolment are zero in the quarters to which every enrolment cohort contributes (household-clustered covariance; F distribution with Hotelling's correction for the number of intervention households); the longest leads exist only for the last, small cohorts and are too imprecisely estimated for the test. "
        f"No table, figure or sentence shows a count of 1 to {minimum - 1} persons. Enough other numbers are hidden that no hidden count can be worked out, from totals, other tables or differences from numbers in earlier quarterly reports, to a range narrower than {minimum}. This is checked with an integer programme over every number of this and the earlier reports and everything a reader knows about them (including that before 2028 every achievement belongs to a shown result period). A number hidden only to protect a small count is {minimum} or more and can in some cases be worked out. The payment basis (amounts due per result report) and every report's totals are always shown; where a single payment row is hidden, the contract parties receive its amount in a closed annex to the result report."
    )
    area = f"\n\n{ev.area_inference_text(report.areas, lang)}" if report.areas else ""
    show.text(
        f"# {t('h.methods', lang)}\n\n{intro}{area}\n\n{view.methods_text(report.contract, lang)}"
    )
    show.table(
        view.cash_flow_table(report.payments, lang),
        caption="Investorernes pengestrømme bag den interne rente"
        if da
        else "The investors' cash flows behind the internal rate of return",
        label="tbl-cashflows",
        lang=lang,
        source=f"{VIEW}.cash_flow_table",
    )
