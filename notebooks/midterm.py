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
from analysis.render import show
from analysis.reports import evaluation as ev
from analysis.reports import quarterly_view as view
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
        "@tbl-balance viser standardiserede forskelle mellem indsats- og kontrolgruppen før indskrivning. Der anvendes ingen matchning eller vægtning, så forskellene er de samme før og efter justering; forskellene er grunden til, at effekten måles som forskel-i-forskelle og ikke som en simpel sammenligning."
        if da
        else "@tbl-balance shows standardised differences between the intervention and comparison groups before enrolment. No matching or weighting is applied, so the differences before and after adjustment are the same; they are why the effect is measured by difference-in-differences rather than a plain comparison."
    )
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
sections.effects(report, lang)
sections.sensitivity(report, lang)

# %%
show.text(
    "## "
    + ("Foreløbige forbehold og styrke" if da else "Early caveats and power")
    + "\n\n"
    + (
        "Effekterne er tidlige: mange husstande har kun været i indsatsen kort tid. @tbl-power viser den mindste effekt, der kan opdages med 80 % styrke, med husstandsklyngede standardfejl og med randomiseringsinferens på områdeniveau (se metodeafsnittet)."
        if da
        else "The effects are early: many households have been in the intervention only briefly. @tbl-power shows the minimum detectable effect at 80% power, with household-clustered standard errors and with area-level randomization inference (see the methods section)."
    )
)

# %%
#| label: tbl-power
power = ev.power_table(
    estimates,
    contract.programme.enrolment_target_households,
    payments.key["enrolled_households"],
    lang,
    report.areas,
)
show.table(
    power,
    caption="Mindste påviselige effekt (MDE)" if da else "Minimum detectable effect (MDE)",
    lang=lang,
    decimals={c: 3 for c in power.columns[1:]},
)

# %%
sections.payments(report, lang)

# %%
sections.methods(report, lang)

# %%
results.write(results_path)
