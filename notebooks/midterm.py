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
stage_dir = "data/results/midterm/2025Q2"
config = "config/contract.yaml"
results_path = "build/evaluation-numbers.json"
bootstrap_reps = 499

# %%
# The midterm evaluation. The prose is in the Markdown cells, each language in a
# Quarto conditional div; the sections it shares with the final evaluation are
# Markdown files included from this folder. Captions and column headers come from
# analysis/catalogue.yaml by each cell's label and the tables' column ids.
from analysis.paths import from_root
from analysis.render import show
from analysis.render.numbers import Format
from analysis.reports import dashboard, sections, stage
from analysis.reports import evaluation as ev
from analysis.reports import quarterly_view as view
from analysis.reports.text import t

# Relative paths are the project root's, wherever the kernel started.
config, stage_dir, results_path = from_root(config, stage_dir, results_path)
# Everything below was computed once for both languages (`python -m analysis evaluate`).
staged = stage.load(stage_dir, config)
report, computed = staged.report, staged.extra
contract, payments, estimates, results = (
    report.contract,
    report.payments,
    report.estimates,
    report.results,
)
fmt = Format(lang)
s = sections.summary_values(report, lang)
p = view.payment_values(payments, contract, lang)
m = view.methods_values(contract, lang)
em = sections.methods_values(report, lang)

# %% [markdown]
# {{< include _evaluation_summary.md >}}

# %%
#| label: fig-dashboard
board = dashboard.from_quarterly(payments, contract, lang)
show.figure(
    dashboard.dashboard_figure(board, lang),
    narrow=dashboard.dashboard_figure(board, lang, narrow=True),
    alt=dashboard.alt_text(board, lang),
    source="analysis.reports.dashboard.dashboard_figure",
)

# %%
#| label: tbl-key
show.table(view.key_figures_table(payments, contract, lang), lang=lang)

# %% [markdown]
# ::: {.content-visible when-profile="da"}
# # Implementering og indskrivning
#
# @tbl-enrolment og @fig-enrolment viser indskrivningen mod målet.
# :::
#
# ::: {.content-visible when-profile="en"}
# # Implementation and enrolment
#
# @tbl-enrolment and @fig-enrolment show enrolment against the target.
# :::

# %%
#| label: tbl-enrolment
table, note = view.enrolment_table(payments, contract, lang)
show.table(table, lang=lang, note=note)

# %%
#| label: fig-enrolment
show.figure(view.enrolment_figure(payments, contract, lang))

# %% [markdown]
# ::: {.content-visible when-profile="da"}
# # Balance ved baseline
#
# @tbl-balance viser standardiserede forskelle mellem indsats- og kontrolgruppen før indskrivning. Der anvendes ingen matchning eller vægtning, så forskellene er de samme før og efter justering; forskellene er grunden til, at effekten måles som forskel-i-forskelle og ikke som en simpel sammenligning.
# :::
#
# ::: {.content-visible when-profile="en"}
# # Baseline balance
#
# @tbl-balance shows standardised differences between the intervention and comparison groups before enrolment. No matching or weighting is applied, so the differences before and after adjustment are the same; they are why the effect is measured by difference-in-differences rather than a plain comparison.
# :::

# %%
#| label: tbl-balance
show.table(
    ev.balance_table(computed.balance, lang),
    lang=lang,
    decimals={"std_difference": 2},
    source="analysis.reports.evaluation.balance_table",
)

# %% [markdown]
# ::: {.content-visible when-profile="da"}
# ## Udvikling i betalingsmålene pr. boligområde
# :::
#
# ::: {.content-visible when-profile="en"}
# ## Development of the payment targets by area
# :::

# %%
#| label: tbl-targets
table, note = view.targets_table(payments, contract, lang)
show.table(table, lang=lang, note=note)

# %% [markdown]
# ::: {.content-visible when-profile="da"}
# # Effekter og inferens på områdeniveau
#
# @tbl-area-inference viser den foreløbige effekt af indsatsen for hvert udfald med dens områderobuste interval og testen på områdeniveau, som afgør, om en effekt kaldes statistisk sikker. Husstandsklyngede intervaller, TWFE og dynamiske effekter, som alle ignorerer områdestød, står i et bilag og afgør intet. `{python} em.sensitivity_summary`
# :::
#
# ::: {.content-visible when-profile="en"}
# # Effects and area-level inference
#
# @tbl-area-inference shows the early effect of the intervention on every outcome with its area-robust interval and the area-level test that decides whether an effect is called statistically reliable. Household-clustered intervals, TWFE and the dynamic effects, which all ignore area shocks, are in an annex and decide nothing. `{python} em.sensitivity_summary`
# :::

# %%
#| label: tbl-area-inference
area_table = ev.area_inference_table(estimates, report.areas, lang)
verdicts = area_table.drop(columns=list(ev.AREA_CHECKS))
show.table(
    verdicts,
    caption=ev.area_inference_caption(area_table, lang),
    lang=lang,
    decimals={c: 3 for c in verdicts.columns if c.startswith("p_") or c == "estimate_cs"},
)

# %%
#| label: fig-area-events
sections.area_event_study(report, lang)

# %% [markdown]
# ::: {.content-visible when-profile="da"}
# ## Foreløbige forbehold og styrke
#
# Effekterne er tidlige: mange husstande har kun været i indsatsen kort tid. @tbl-power viser den mindste effekt, der kan opdages med 80 % styrke, med husstandsklyngede standardfejl (ikke robuste over for områdestød) og med placebotesten på områdeniveau (se metodeafsnittet).
# :::
#
# ::: {.content-visible when-profile="en"}
# ## Early caveats and power
#
# The effects are early: many households have been in the intervention only briefly. @tbl-power shows the minimum detectable effect at 80% power, with household-clustered standard errors (not robust to area shocks) and with the area-level placebo test (see the methods section).
# :::

# %%
#| label: tbl-power
power = ev.power_table(
    estimates,
    contract.programme.enrolment_target_households,
    payments.key["enrolled_households"],
    lang,
    report.areas,
)
show.table(power, lang=lang, decimals={c: 3 for c in power.columns[1:]})

# %% [markdown]
# {{< include _evaluation_payments.md >}}

# %%
#| label: tbl-statement
table, note = view.statement_table(payments, contract, lang)
show.table(table, lang=lang, decimals={"achievements": 2}, note=note)

# %%
#| label: tbl-caps
table, note = view.capped_table(payments, contract, lang)
show.table(table, caption=t("caption.tbl-caps-ledger", lang), lang=lang, note=note)

# %%
#| label: tbl-adjustments
adjustments, note = view.adjustments_table(payments, contract, lang)
if not adjustments.empty:
    show.table(adjustments, lang=lang, decimals={"achievements_change": 2}, note=note)

# %%
#| label: tbl-investors
show.table(
    view.investors_table(payments, lang),
    caption=t("caption.tbl-investors-position", lang),
    lang=lang,
)

# %%
#| label: tbl-forecast
show.table(view.forecast_table(payments, contract, lang), lang=lang)

# %% [markdown]
# {{< include _evaluation_methods.md >}}

# %%
#| label: tbl-cashflows
show.table(view.cash_flow_table(payments, lang), lang=lang)

# %% [markdown]
# {{< include _effects.md >}}

# %%
#| label: tbl-effects
show.table(
    ev.effects_table(estimates, payments, lang),
    lang=lang,
    decimals={"TWFE": 3, "Callaway–Sant'Anna": 3, "pre_trend_p": 3},
)

# %%
#| label: fig-event-ladder
sections.event_study(report, "ladder_step", lang)

# %%
#| label: fig-event-selfsupport
sections.event_study(report, "self_supporting", lang)

# %%
#| label: fig-event-support
sections.event_study(report, "support_level", lang)

# %%
#| label: fig-event-absence
sections.event_study(report, "absence_rate", lang)

# %% [markdown]
# {{< include _sensitivity.md >}}

# %%
#| label: fig-sens-ladder
sections.sensitivity(report, "ladder_step", lang)

# %%
#| label: fig-sens-selfsupport
sections.sensitivity(report, "self_supporting", lang)

# %%
#| label: fig-sens-support
sections.sensitivity(report, "support_level", lang)

# %%
#| label: fig-sens-absence
sections.sensitivity(report, "absence_rate", lang)

# %% [markdown]
# ::: {.content-visible when-profile="da"}
# # Bilag: Registreret analyseplan
# :::
#
# ::: {.content-visible when-profile="en"}
# # Annex: Registered analysis plan
# :::
#
# `{python} ev.plan_annex(lang, report.departures)`

# %%
results.write(results_path)
