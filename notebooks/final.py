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
as_of = "2028Q3"
lang = "da"
profile = "final"
data_dir = "data/synthetic"
quarterly_dir = "data/results/quarterly"
stage_dir = "data/results/final/2028Q3"
config = "config/contract.yaml"
results_path = "build/evaluation-numbers.json"
bootstrap_reps = 499

# %%
# The final evaluation (profile "final") and the preliminary final evaluation
# (profile "preliminary_final", params/preliminary_final.yaml), which shows the
# sections that are not marked final-only. The prose is in the Markdown cells, each
# language and report in a Quarto conditional div; captions and column headers come
# from analysis/catalogue.yaml by each cell's label and the tables' column ids.
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
contract, context, payments = report.contract, report.context, report.payments
estimates, results = report.estimates, report.results
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
# ::: {.content-visible when-profile="final"}
# ::: {.content-visible when-profile="da"}
# # Effekter og inferens på områdeniveau
#
# @tbl-area-inference viser effekten af indsatsen for hvert udfald med dens områderobuste interval og testen på områdeniveau, som afgør, om en effekt kaldes statistisk sikker; @tbl-area-checks viser test på områdeniveau for forløb før indskrivning og for foregribelse. Metodeafsnittet forklarer hvorfor. Husstandsklyngede intervaller, TWFE, dynamiske effekter, estimaterne med baggrundsvariable og andre kontrolgrupper og heterogeniteten, som alle ignorerer områdestød, står i et bilag og afgør intet. `{python} em.sensitivity_summary`
# :::
#
# ::: {.content-visible when-profile="en"}
# # Effects and area-level inference
#
# @tbl-area-inference shows the effect of the intervention on every outcome with its area-robust interval and the area-level test that decides whether an effect is called statistically reliable; @tbl-area-checks shows area-level tests of the trends before enrolment and of anticipation. The methods section explains why. Household-clustered intervals, TWFE, the dynamic effects, the estimates with baseline covariates and other comparisons and the heterogeneity, which all ignore area shocks, are in an annex and decide nothing. `{python} em.sensitivity_summary`
# :::
# :::

# %%
#| label: tbl-area-inference
if profile == "final":
    area_table = ev.area_inference_table(estimates, report.areas, lang)
    verdicts = area_table.drop(columns=list(ev.AREA_CHECKS))
    show.table(
        verdicts,
        caption=ev.area_inference_caption(area_table, lang),
        lang=lang,
        decimals={c: 3 for c in verdicts.columns if c.startswith("p_") or c == "estimate_cs"},
    )

# %%
#| label: tbl-area-checks
if profile == "final":
    show.table(
        area_table[["outcome", *ev.AREA_CHECKS]],
        caption=t("caption.tbl-area-checks", lang),
        lang=lang,
        decimals=dict.fromkeys(ev.AREA_CHECKS, 3),
    )

# %% [markdown]
# ::: {.content-visible when-profile="preliminary_final"}
# ::: {.content-visible when-profile="da"}
# # Hændelsesstudie på områdeniveau
# :::
#
# ::: {.content-visible when-profile="en"}
# # Area-level event study
# :::
# :::

# %%
#| label: fig-area-events
sections.area_event_study(report, lang)

# %%
#| label: tbl-balance
if profile == "final":
    show.table(
        ev.balance_table(computed.balance, lang),
        lang=lang,
        decimals={"std_difference": 2},
        source="analysis.reports.evaluation.balance_table",
    )

# %% [markdown]
# ::: {.content-visible when-profile="final"}
# ::: {.content-visible when-profile="da"}
# # Budgetøkonomi
# :::
#
# ::: {.content-visible when-profile="en"}
# # Budget economics
# :::
# :::

# %%
#| label: tbl-budget
if profile == "final":
    budget, budget_numbers = ev.budget_table(estimates, contract, lang, payments)
    results.add_many("budget", budget_numbers)
    show.table(budget, lang=lang)

# %% [markdown]
# ::: {.content-visible when-profile="final"}
# `{python} ev.budget_text(budget_numbers, contract, lang)`
# :::
#
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
# ::: {.content-visible when-profile="final"}
# `{python} ev.truth_heading(context, lang)`
# :::

# %%
#| label: tbl-truth
if profile == "final" and context.truth:
    coverage = ev.truth_coverage(estimates, context.truth, lang)
    show.table(coverage, lang=lang, decimals={c: 4 for c in coverage.columns[1:3]})

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

# %% [markdown]
# `{python} ev.twfe_vs_cs_text(estimates, lang)`

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
# ::: {.content-visible when-profile="final"}
# ::: {.content-visible when-profile="da"}
# ## Baggrundsvariable og andre kontrolgrupper
# :::
#
# ::: {.content-visible when-profile="en"}
# ## Baseline covariates and other comparisons
# :::
# :::

# %%
#| label: tbl-covariates
if profile == "final":
    covariates = ev.covariate_table(estimates, computed.doubly_robust, lang)
    show.table(
        covariates,
        lang=lang,
        decimals={c: 3 for c in covariates.columns if c not in covariates.columns[[0, 2, 4]]},
    )

# %%
#| label: tbl-robust
if profile == "final":
    robust, robust_numbers = ev.robustness_table(
        estimates["ladder_step"],
        computed.not_yet["ladder_step"],
        lang,
        (computed.synthetic_did or {}).get("ladder_step"),
    )
    results.add_many("robustness.ladder_step", robust_numbers)
    show.table(robust, lang=lang, decimals={"ev_estimate": 3})

# %% [markdown]
# ::: {.content-visible when-profile="final"}
# ::: {.content-visible when-profile="da"}
# ## Heterogenitet
# :::
#
# ::: {.content-visible when-profile="en"}
# ## Heterogeneity
# :::
# :::

# %%
#| label: tbl-het-area
if profile == "final":
    show.table(
        ev.heterogeneity_table(
            computed.subgroup("ladder_step", "area"), contract.area_names, lang, payments
        ),
        lang=lang,
        decimals={"ATT": 3},
    )

# %%
#| label: tbl-het-type
if profile == "final":
    show.table(
        ev.heterogeneity_table(
            computed.subgroup("ladder_step", "household_type"),
            ev.household_type_names(lang),
            lang,
            payments,
        ),
        lang=lang,
        decimals={"ATT": 3},
    )

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
