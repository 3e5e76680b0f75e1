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
stage_dir = "data/results/preliminary_final/2027Q1"
config = "config/contract.yaml"
results_path = "build/evaluation-numbers.json"
bootstrap_reps = 499

# %%
from analysis.reports import sections, stage

# Everything below was computed once for both languages (`python -m analysis evaluate`).
staged = stage.load(stage_dir, config)
report, computed = staged.report, staged.extra
contract, context, payments = report.contract, report.context, report.payments
estimates, panels, results = report.estimates, report.panels, report.results
da = lang == "da"

# %%
sections.summary(report, lang)

# %%
sections.effects(report, lang, explain_twfe=True)
sections.sensitivity(report, lang)

# %%
sections.payments(report, lang)

# %%
sections.methods(report, lang)

# %%
results.write(results_path)
