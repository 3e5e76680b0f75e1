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
as_of = "2025Q1"
lang = "da"
data_dir = "data/synthetic"
quarterly_dir = "data/results/quarterly"
config = "config/contract.yaml"
results_path = "build/quarterly-numbers.json"

# %%
# The prose is in the Markdown cells, each language in a Quarto conditional div
# (when-profile="da"/"en"); captions and column headers come from
# analysis/catalogue.yaml by each cell's label and the tables' column ids.
from analysis.config import load_contract
from analysis.paths import from_root
from analysis.render import show
from analysis.render.numbers import Format
from analysis.reports import dashboard
from analysis.reports import quarterly_view as view
from analysis.reports.results import ReportResults
from analysis.sdc import quarterly

# Relative paths are the project root's, wherever the kernel started.
config, quarterly_dir, results_path = from_root(config, quarterly_dir, results_path)
contract = load_contract(config)
inputs = quarterly.load(quarterly_dir, as_of, contract)
results = ReportResults()
results.set_inputs(inputs.key["inputs"])
quarterly.record_key_numbers(results, inputs, contract)
fmt = Format(lang)
s = view.summary_values(inputs, contract, lang)
p = view.payment_values(inputs, contract, lang)
m = view.methods_values(contract, lang)

# %% [markdown]
# ::: {.content-visible when-profile="da"}
# # Sammenfatning
# :::
#
# ::: {.content-visible when-profile="en"}
# # Summary
# :::
#
# ::: {.summary}
# {{< include _summary.md >}}
# :::

# %%
#| label: fig-dashboard
board = dashboard.from_quarterly(inputs, contract, lang)
show.figure(
    dashboard.dashboard_figure(board, lang),
    narrow=dashboard.dashboard_figure(board, lang, narrow=True),
    alt=dashboard.alt_text(board, lang),
)

# %%
#| label: tbl-key
show.table(view.key_figures_table(inputs, contract, lang), lang=lang)

# %% [markdown]
# ::: {.content-visible when-profile="da"}
# # Indskrivning
#
# Indskrivningen pr. kvartal fremgår af @tbl-enrolment og @fig-enrolment.
# :::
#
# ::: {.content-visible when-profile="en"}
# # Enrolment
#
# Enrolment by quarter is shown in @tbl-enrolment and @fig-enrolment.
# :::

# %%
#| label: tbl-enrolment
table, note = view.enrolment_table(inputs, contract, lang)
show.table(table, lang=lang, note=note)

# %%
#| label: fig-enrolment
show.figure(view.enrolment_figure(inputs, contract, lang))

# %% [markdown]
# ::: {.content-visible when-profile="da"}
# # Datakomplethed
# :::
#
# ::: {.content-visible when-profile="en"}
# # Data completeness
# :::

# %%
#| label: tbl-completeness
table, note = view.completeness_table(inputs, contract, lang)
show.table(table, lang=lang, note=note)

# %% [markdown]
# ::: {.content-visible when-profile="da"}
# # Betalingsmål
#
# @tbl-targets viser de fem betalingsmål pr. boligområde; @fig-targets viser udviklingen.
# :::
#
# ::: {.content-visible when-profile="en"}
# # Payment targets
#
# @tbl-targets shows the payment targets by area; @fig-targets shows their development.
# :::

# %%
#| label: tbl-targets
table, note = view.targets_table(inputs, contract, lang)
show.table(table, lang=lang, note=note)

# %%
#| label: fig-targets
show.figure(view.targets_figure(inputs, lang))

# %% [markdown]
# ::: {.content-visible when-profile="da"}
# ## Skolefravær: forskel-i-forskelle
# :::
#
# ::: {.content-visible when-profile="en"}
# ## School absence: difference-in-differences
# :::

# %%
#| label: tbl-absence
absence = view.absence_table(inputs, lang)
if not absence.empty:
    show.table(absence, lang=lang, decimals={"estimate": 2})

# %% [markdown]
# ::: {.content-visible when-profile="da"}
# # Resultatbetalinger
# :::
#
# ::: {.content-visible when-profile="en"}
# # Outcome payments
# :::
#
# {{< include _payments.md >}}

# %%
#| label: tbl-statement
table, note = view.statement_table(inputs, contract, lang)
show.table(table, lang=lang, decimals={"achievements": 2}, note=note)

# %%
#| label: tbl-caps
if len(inputs.tables["payments_capped"]):
    show.table(view.capped_table(inputs, lang), lang=lang)

# %%
#| label: tbl-adjustments
adjustments, note = view.adjustments_table(inputs, contract, lang)
if not adjustments.empty:
    show.table(adjustments, lang=lang, decimals={"achievements_change": 2}, note=note)

# %% [markdown]
# ::: {.content-visible when-profile="da"}
# ## Investorernes position
# :::
#
# ::: {.content-visible when-profile="en"}
# ## The investors' position
# :::

# %%
#| label: tbl-investors
show.table(view.investors_table(inputs, lang), lang=lang)

# %% [markdown]
# ::: {.content-visible when-profile="da"}
# ## Prognose
# :::
#
# ::: {.content-visible when-profile="en"}
# ## Forecast
# :::

# %%
#| label: tbl-forecast
show.table(view.forecast_table(inputs, contract, lang), lang=lang)

# %% [markdown]
# ::: {.content-visible when-profile="da"}
# # Metode og definitioner
# :::
#
# ::: {.content-visible when-profile="en"}
# # Methods and definitions
# :::
#
# {{< include _methods.md >}}

# %%
#| label: tbl-cashflows
show.table(view.cash_flow_table(inputs, lang), lang=lang)

# %%
results.write(results_path)
