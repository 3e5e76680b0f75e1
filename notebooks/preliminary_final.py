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
as_of = "2027Q1"
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
show.text(ev.twfe_vs_cs_text(estimates, lang))

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
