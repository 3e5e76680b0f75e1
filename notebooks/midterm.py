# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
as_of = "2025Q2"
lang = "da"
data_dir = "data/synthetic"
quarterly_dir = "data/results/quarterly"
results_path = "build/evaluation-numbers.json"
bootstrap_reps = 499
permutations = 99

# %%
from analysis.render import show
from analysis.reports import evaluation as ev
from analysis.reports import quarterly_view as view
from analysis.reports.text import t

report = ev.prepare(data_dir, as_of, bootstrap_reps)
contract, context, payments = report.contract, report.context, report.payments
estimates, panels, results = report.estimates, report.panels, report.results
da = lang == "da"

# %%
show.text(
    f"# {t('h.summary', lang)}\n\n::: {{.summary}}\n{view.summary(payments, contract, lang)}\n\n{ev.headline_text(estimates, lang)}\n:::"
)

# %%
#| label: tbl-key
show.table(
    view.key_figures_table(payments, contract, lang),
    caption="Nøgletal" if da else "Key figures",
    lang=lang,
)

# %%
show.text(
    "# "
    + ("Implementering og indskrivning" if da else "Implementation and enrolment")
    + "\n\n"
    + (
        "@tbl-enrolment og @fig-enrolment viser indskrivningen mod målet."
        if da
        else "@tbl-enrolment and @fig-enrolment show enrolment against the target."
    )
)

# %%
#| label: tbl-enrolment
table, note = view.enrolment_table(payments, contract, lang)
show.table(
    table,
    caption="Indskrevne husstande og personer pr. kvartal"
    if da
    else "Enrolled households and persons by quarter",
    lang=lang,
    note=note,
)

# %%
#| label: fig-enrolment
show.figure(
    view.enrolment_figure(payments, contract, lang),
    caption="Indskrevne husstande mod målet" if da else "Enrolled households against the target",
)

# %%
show.text(
    "# "
    + ("Balance ved baseline" if da else "Baseline balance")
    + "\n\n"
    + (
        "@tbl-balance viser standardiserede forskelle mellem indsats- og kontrolgruppen før indskrivning. Der anvendes ingen matchning eller vægtning, så tabellen viser forskellene før og efter er de samme; forskellene er grunden til, at effekten måles som forskel-i-forskelle og ikke som en simpel sammenligning."
        if da
        else "@tbl-balance shows standardised differences between the intervention and comparison groups before enrolment. No matching or weighting is applied, so the differences before and after adjustment are the same; they are why the effect is measured by difference-in-differences rather than a plain comparison."
    )
)

# %%
#| label: tbl-balance
show.table(
    ev.balance_table(context.data, lang),
    caption="Standardiserede forskelle ved baseline"
    if da
    else "Standardised differences at baseline",
    lang=lang,
    decimals={("Std. forskel" if da else "Std. difference"): 2},
)

# %%
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

# %%
#| label: tbl-effects
show.table(
    ev.effects_table(estimates, lang),
    caption="Effekt af indsatsen pr. udfald" if da else "Effect of the intervention by outcome",
    lang=lang,
    decimals={"TWFE": 3, "Callaway–Sant'Anna": 3, ("Præ-trend p" if da else "Pre-trend p"): 3},
)

# %%
show.text(
    "## "
    + (
        "Udvikling i betalingsmålene pr. boligområde"
        if da
        else "Development of the payment targets by area"
    )
)

# %%
#| label: tbl-targets
table, note = view.targets_table(payments, contract, lang)
show.table(
    table,
    caption="Betalingsmål: omfattede og opnåede resultater"
    if da
    else "Payment targets: eligible units and achievements",
    lang=lang,
    note=note,
)

# %%
#| label: fig-event-ladder
show.figure(
    ev.event_study_figure(
        estimates["ladder_step"],
        lang,
        (context.truth or {}).get("ladder_step", {}).get("by_event_time"),
    ),
    caption=("Event study: " + ev.LABELS[lang]["ladder_step"]),
)

# %%
#| label: fig-event-selfsupport
show.figure(
    ev.event_study_figure(
        estimates["self_supporting"],
        lang,
        (context.truth or {}).get("self_supporting", {}).get("by_event_time"),
    ),
    caption=("Event study: " + ev.LABELS[lang]["self_supporting"]),
)

# %%
#| label: fig-event-support
show.figure(
    ev.event_study_figure(
        estimates["support_level"],
        lang,
        (context.truth or {}).get("support_level", {}).get("by_event_time"),
    ),
    caption=("Event study: " + ev.LABELS[lang]["support_level"]),
)

# %%
#| label: fig-event-absence
show.figure(
    ev.event_study_figure(
        estimates["absence_rate"],
        lang,
        (context.truth or {}).get("absence_rate", {}).get("by_event_time"),
    ),
    caption=("Event study: " + ev.LABELS[lang]["absence_rate"]),
)

# %%
show.text(
    "## "
    + ("Foreløbige forbehold og styrke" if da else "Early caveats and power")
    + "\n\n"
    + (
        "Effekterne er tidlige: mange husstande har kun været i indsatsen kort tid. @tbl-power viser den mindste effekt, der kan opdages med 80 % styrke."
        if da
        else "The effects are early: many households have been in the intervention only briefly. @tbl-power shows the minimum detectable effect at 80% power."
    )
)

# %%
#| label: tbl-power
power = ev.power_table(
    estimates,
    contract.programme.enrolment_target_households,
    payments.key["enrolled_households"],
    lang,
)
show.table(
    power,
    caption="Mindste påviselige effekt (MDE)" if da else "Minimum detectable effect (MDE)",
    lang=lang,
    decimals={c: 3 for c in power.columns[1:]},
)

# %%
show.text(f"# {t('h.payments', lang)}\n\n{view.payment_prose(payments, contract, lang)}")

# %%
#| label: tbl-statement
table, note = view.statement_table(payments, contract, lang)
show.table(
    table,
    caption="Betalingsopgørelse: opnåede resultater × enhedspris = beløb"
    if da
    else "Payment statement: achievements × unit price = amount",
    lang=lang,
    decimals={t("col.achievements", lang): 2},
    note=note,
)

# %%
#| label: tbl-investors
show.table(
    view.investors_table(payments, lang),
    caption="Investorernes position" if da else "The investors' position",
    lang=lang,
)

# %%
#| label: tbl-forecast
show.table(
    view.forecast_table(payments, contract, lang),
    caption="Prognose for samlede resultatbetalinger (90 %-interval)"
    if da
    else "Forecast of total outcome payments (90% interval)",
    lang=lang,
)

# %%
show.text(
    f"# {t('h.methods', lang)}\n\n"
    + (
        "Data: registerdata (ydelser, sociale foranstaltninger, skolefravær), spørgeskema om livstilfredshed og kommunens handleplaner. Effekter estimeres med forskel-i-forskelle: TWFE (linearmodels PanelOLS) og Callaway–Sant'Anna ATT(g,t) med aldrig-indskrevne husstande som kontrolgruppe. Ingen tabel viser celler med færre end "
        if da
        else "Data: register data (benefits, social measures, school absence), the life-satisfaction survey and the municipality's action plans. Effects are estimated by difference-in-differences: TWFE (linearmodels PanelOLS) and Callaway–Sant'Anna ATT(g,t) with never-enrolled households as comparison. No table shows cells with fewer than "
    )
    + f"{contract.disclosure.min_persons}"
    + (" personer." if da else " persons.")
    + f"\n\n{view.methods_text(contract, lang)}"
)

# %%
results.write(results_path)
