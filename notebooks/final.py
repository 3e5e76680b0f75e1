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
stage_dir = "data/results/final/2028Q3"
config = "config/contract.yaml"
results_path = "build/evaluation-numbers.json"
bootstrap_reps = 499

# %%
from analysis.render import show
from analysis.reports import evaluation as ev
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
show.text(
    "# "
    + ("Robusthed og inferens på områdeniveau" if da else "Robustness and area-level inference")
    + "\n\n"
    + (
        "@tbl-area-inference viser inferens på områdeniveau for hvert udfald, og @tbl-covariates viser estimaterne med baggrundsvariable. Metodeafsnittet forklarer, hvorfor randomiseringsinferensen afgør, om en effekt kaldes statistisk sikker."
        if da
        else "@tbl-area-inference shows area-level inference for every outcome, and @tbl-covariates the estimates with baseline covariates. The methods section explains why randomization inference decides whether an effect is called statistically reliable."
    )
)

# %%
#| label: tbl-area-inference
area_table = ev.area_inference_table(estimates, report.areas, lang)
show.table(
    area_table,
    caption=(
        f"Inferens på områdeniveau for hvert udfald (randomisering over alle {area_table.attrs['assignments']} valg af områder)"
        if da
        else f"Area-level inference for every outcome (randomization over all {area_table.attrs['assignments']} choices of areas)"
    ),
    lang=lang,
    decimals={c: 3 for c in area_table.columns[1:5]},
)

# %%
#| label: tbl-balance
show.table(
    computed["balance"][lang],
    caption="Standardiserede forskelle ved baseline"
    if da
    else "Standardised differences at baseline",
    lang=lang,
    decimals={("Std. forskel" if da else "Std. difference"): 2},
    source="analysis.reports.evaluation.balance_table",
)

# %%
#| label: tbl-covariates
covariates = ev.covariate_table(estimates, panels, lang, computed["doubly_robust"])
show.table(
    covariates,
    caption=(
        "Effekt uden og med baggrundsvariable (dobbelt robust: alder, køn, åbne sager ved visitation, enlig forsørger)"
        if da
        else "Effect without and with baseline covariates (doubly robust: age, sex, open cases at referral, single parent)"
    ),
    lang=lang,
    decimals={c: 3 for c in covariates.columns if c not in covariates.columns[[0, 2, 4]]},
)

# %%
#| label: tbl-robust
robust, robust_numbers = ev.robustness_table(
    panels["ladder_step"],
    estimates["ladder_step"],
    contract,
    lang,
    computed["not_yet"]["ladder_step"],
)
results.add_many("robustness.ladder_step", robust_numbers)
show.table(
    robust,
    caption="Robusthed: alternative kontrolgrupper (trin på selvforsørgelsesstigen)"
    if da
    else "Robustness: alternative comparisons (self-sufficiency step)",
    lang=lang,
    decimals={("Estimat" if da else "Estimate"): 3},
)

# %%
show.text("# " + ("Heterogenitet" if da else "Heterogeneity"))

# %%
#| label: tbl-het-area
show.table(
    ev.heterogeneity_table(
        panels["ladder_step"],
        "ladder_step",
        "area",
        contract.area_names,
        lang,
        payments,
        computed["subgroups"]["ladder_step"]["area"],
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
        computed["subgroups"]["ladder_step"]["household_type"],
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
