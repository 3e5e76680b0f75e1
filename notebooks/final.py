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
data_dir = "data/synthetic"
quarterly_dir = "data/results/quarterly"
results_path = "build/evaluation-numbers.json"
bootstrap_reps = 499
permutations = 199

# %%
from analysis.render import show
from analysis.reports import evaluation as ev
from analysis.reports import quarterly_view as view
from analysis.reports import sections

report = ev.prepare(
    data_dir,
    as_of,
    bootstrap_reps,
    quarterly_dir,
    subgroups={"ladder_step": ("area", "household_type")},
)
contract, context, payments = report.contract, report.context, report.payments
estimates, panels, results = report.estimates, report.panels, report.results
da = lang == "da"

# %%
sections.summary(report, lang)

# %%
sections.effects(report, lang, explain_twfe=True)

# %%
show.text(
    "# "
    + ("Robusthed" if da else "Robustness")
    + "\n\n"
    + (
        "Med kun tre indsatsområder er klyngerobuste standardfejl på områdeniveau upålidelige. @tbl-robust viser derfor også wild cluster bootstrap og randomiseringsinferens på områdeniveau, for udfaldet trin på selvforsørgelsesstigen."
        if da
        else "With only three intervention areas, area-clustered standard errors are unreliable. @tbl-robust therefore also shows the wild cluster bootstrap and area-level randomization inference, for the self-sufficiency step."
    )
)

# %%
#| label: tbl-robust
robust, robust_numbers = ev.robustness_table(
    panels["ladder_step"],
    estimates["ladder_step"],
    contract,
    lang,
    reps=bootstrap_reps,
    permutations=permutations,
)
results.add_many("robustness.ladder_step", robust_numbers)
show.table(
    robust,
    caption="Robusthed: alternative kontrolgrupper og inferens"
    if da
    else "Robustness: alternative comparisons and inference",
    lang=lang,
    decimals={("Estimat" if da else "Estimate"): 3},
)

# %%
#| label: tbl-sensitivity
sensitivity, breakdown = ev.sensitivity_table(estimates["ladder_step"], lang)
results.add("robustness.ladder_step.breakdown_m_bar", breakdown)
show.table(
    sensitivity,
    caption=(
        "Følsomhed over for brud på parallelle forløb (relative størrelser), nedbrudspunkt M̄ = "
        if da
        else "Sensitivity to violations of parallel trends (relative magnitudes), breakdown point M̄ = "
    )
    + view.numbers.number(breakdown, 2, lang),
    lang=lang,
    decimals={c: 3 for c in sensitivity.columns},
)

# %%
show.text("# " + ("Heterogenitet" if da else "Heterogeneity"))

# %%
#| label: tbl-het-area
show.table(
    ev.heterogeneity_table(
        panels["ladder_step"], "ladder_step", "area", contract.area_names, lang, payments
    ),
    caption=(
        "Effekt på trin pr. boligområde" if da else "Effect on the ladder step by housing area"
    ),
    lang=lang,
    decimals={"ATT": 3},
)

# %%
#| label: tbl-het-type
from analysis.data.codes import HOUSEHOLD_TYPES

show.table(
    ev.heterogeneity_table(
        panels["ladder_step"],
        "ladder_step",
        "household_type",
        {k: v[1 if da else 0] for k, v in HOUSEHOLD_TYPES.items()},
        lang,
        payments,
    ),
    caption=(
        "Effekt på trin pr. husstandstype" if da else "Effect on the ladder step by household type"
    ),
    lang=lang,
    decimals={"ATT": 3},
)

# %%
show.text("# " + ("Budgetøkonomi" if da else "Budget economics"))

# %%
#| label: tbl-budget
budget, budget_numbers = ev.budget_table(estimates, contract, lang, payments)
results.add_many("budget", budget_numbers)
show.table(
    budget,
    caption="Offentlige besparelser af de estimerede effekter (SØM-stil)"
    if da
    else "Public-finance gains of the estimated effects (SØM style)",
    lang=lang,
)
show.text(ev.budget_text(budget_numbers, contract, lang))

# %%
sections.payments(report, lang)

# %%
#| label: tbl-truth
if context.truth:
    coverage = ev.truth_coverage(estimates, context.truth, lang)
    show.text(
        "## "
        + (
            "Kontrol mod den sande effekt (kun syntetiske data)"
            if da
            else "Check against the true effect (synthetic data only)"
        )
    )
    show.table(
        coverage,
        caption="Dækker 95 %-intervallet generatorens sande effekt?"
        if da
        else "Does the 95% interval cover the generator's true effect?",
        label="tbl-truth",
        lang=lang,
        decimals={c: 4 for c in coverage.columns[1:3]},
    )

# %%
sections.methods(report, lang)

# %%
results.write(results_path)
