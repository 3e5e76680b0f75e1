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
from analysis.config import load_contract
from analysis.render import show
from analysis.reports import dashboard
from analysis.reports import quarterly_view as view
from analysis.reports.results import ReportResults
from analysis.reports.text import t

contract = load_contract(config)
inputs = view.load(quarterly_dir, as_of, contract)
results = ReportResults()
results.set_inputs(inputs.key["inputs"])
view.record_key_numbers(results, inputs, contract)

# %%
show.text(
    f"# {t('h.summary', lang)}\n\n::: {{.summary}}\n{view.summary(inputs, contract, lang)}\n:::"
)

# %%
#| label: fig-dashboard
board = dashboard.from_quarterly(inputs, contract, lang)
show.figure(
    dashboard.dashboard_figure(board, lang),
    caption=dashboard.caption(lang),
    alt=dashboard.alt_text(board, lang),
)

# %%
#| label: tbl-key
show.table(
    view.key_figures_table(inputs, contract, lang),
    caption="Nøgletal" if lang == "da" else "Key figures",
    lang=lang,
)

# %%
show.text(
    f"# {t('h.enrolment', lang)}\n\n"
    + (
        "Indskrivningen pr. kvartal fremgår af @tbl-enrolment og @fig-enrolment."
        if lang == "da"
        else "Enrolment by quarter is shown in @tbl-enrolment and @fig-enrolment."
    )
)

# %%
#| label: tbl-enrolment
table, note = view.enrolment_table(inputs, contract, lang)
show.table(
    table,
    caption="Indskrevne husstande og personer pr. kvartal"
    if lang == "da"
    else "Enrolled households and persons by quarter",
    lang=lang,
    note=note,
)

# %%
#| label: fig-enrolment
show.figure(
    view.enrolment_figure(inputs, contract, lang),
    caption="Indskrevne husstande mod målet"
    if lang == "da"
    else "Enrolled households against the target",
)

# %%
show.text(f"# {t('h.completeness', lang)}")

# %%
#| label: tbl-completeness
table, note = view.completeness_table(inputs, contract, lang)
show.table(
    table,
    caption="Data modtaget pr. kilde i seneste kvartal"
    if lang == "da"
    else "Data received per source in the latest quarter",
    lang=lang,
    note=note,
)

# %%
show.text(
    f"# {t('h.targets', lang)}\n\n"
    + (
        "@tbl-targets viser de fem betalingsmål pr. boligområde; @fig-targets viser udviklingen."
        if lang == "da"
        else "@tbl-targets shows the payment targets by area; @fig-targets shows their development."
    )
)

# %%
#| label: tbl-targets
table, note = view.targets_table(inputs, contract, lang)
show.table(
    table,
    caption="Betalingsmål: omfattede og opnåede resultater"
    if lang == "da"
    else "Payment targets: eligible units and achievements",
    lang=lang,
    note=note,
)

# %%
#| label: fig-targets
show.figure(
    view.targets_figure(inputs, lang),
    caption="Opnåede resultater over tid (punkter skjult af hensyn til diskretion er udeladt)"
    if lang == "da"
    else "Achievements over time (points hidden for confidentiality are left out)",
)

# %%
show.text(f"## {t('h.absence', lang)}")
absence = view.absence_table(inputs, lang)
if not absence.empty:
    show.table(
        absence,
        caption="Ændring i skolefravær (procentpoint) mod kontrolgruppen"
        if lang == "da"
        else "Change in school absence (percentage points) against the comparison group",
        label="tbl-absence",
        lang=lang,
        decimals={t("col.estimate", lang): 2},
    )

# %%
show.text(f"# {t('h.payments', lang)}\n\n{view.payment_prose(inputs, contract, lang)}")

# %%
#| label: tbl-statement
table, note = view.statement_table(inputs, contract, lang)
show.table(
    table,
    caption="Betalingsopgørelse: opnåede resultater × enhedspris = beløb"
    if lang == "da"
    else "Payment statement: achievements × unit price = amount",
    lang=lang,
    decimals={t("col.achievements", lang): 2},
    note=note,
)

# %%
if len(inputs.tables["payments_capped"]):
    show.table(
        view.capped_table(inputs, lang),
        caption="Opgjorte beløb mod lofterne" if lang == "da" else "Amounts due against the caps",
        label="tbl-caps",
        lang=lang,
    )

# %%
adjustments, note = view.adjustments_table(inputs, contract, lang)
if not adjustments.empty:
    show.table(
        adjustments,
        caption="Reguleringer: senere data ændrer afregnede beløb (afregningen står fast)"
        if lang == "da"
        else "Adjustments: later data change settled amounts (the settlement stands)",
        label="tbl-adjustments",
        lang=lang,
        decimals={view._p("achievements_change", lang): 2},
        note=note,
    )

# %%
show.text(f"## {t('h.investors', lang)}")

# %%
#| label: tbl-investors
show.table(
    view.investors_table(inputs, lang),
    caption="Investorernes investering, tilbagebetaling til dato og forventet tilbagebetaling"
    if lang == "da"
    else "The investors' investment, repayments to date and projected repayment",
    lang=lang,
)

# %%
show.text(f"## {t('h.forecast', lang)}")

# %%
#| label: tbl-forecast
show.table(
    view.forecast_table(inputs, contract, lang),
    caption="Prognose for samlede resultatbetalinger (90 %-interval)"
    if lang == "da"
    else "Forecast of total outcome payments (90% interval)",
    lang=lang,
)

# %%
show.text(f"# {t('h.methods', lang)}\n\n{view.methods_text(contract, lang)}")

# %%
#| label: tbl-cashflows
show.table(
    view.cash_flow_table(inputs, lang),
    caption="Investorernes pengestrømme bag den interne rente"
    if lang == "da"
    else "The investors' cash flows behind the internal rate of return",
    lang=lang,
)

# %%
results.write(results_path)
