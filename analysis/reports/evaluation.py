"""Tables, figures and texts of the evaluation reports, and their results stage's assembly.

The estimates themselves are computed in :mod:`analysis.effects`; this module
presents them (effects, balance, power, robustness, heterogeneity, sensitivity
and budget economics) and :func:`prepare` assembles one report's estimates with
its disclosure control and results file.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from analysis.config import Contract
from analysis.data.asof import AsOfData
from analysis.did import mde
from analysis.effects.areas import area_inference, reliable
from analysis.effects.context import EvaluationContext, load_context
from analysis.effects.estimates import (
    EffectEstimate,
    balanced_window,
    cohorts_per_event_time,
    estimate,
    estimate_all,
)
from analysis.effects.panels import COVARIATES, OUTCOMES, outcome_panel
from analysis.effects.panels import units as _units
from analysis.effects.robustness import covariate_estimate, not_yet_estimate, subgroup_estimates
from analysis.effects.sensitivity import (
    M_BAR_GRID,
    SENSITIVITY_POST,
    SENSITIVITY_PRE,
    Sensitivity,
    sensitivity_analysis,
)
from analysis.render.style import ACCENT, PRIMARY, apply_theme
from analysis.reports import disclosure

# The estimation names are part of this module's namespace because the notebooks and
# the results stage reach them through it (``ev.estimate``, ``ev.EffectEstimate``).
__all__ = [
    "COVARIATES",
    "M_BAR_GRID",
    "OUTCOMES",
    "SENSITIVITY_POST",
    "SENSITIVITY_PRE",
    "EffectEstimate",
    "EvaluationContext",
    "Sensitivity",
    "area_inference",
    "balanced_window",
    "cohorts_per_event_time",
    "covariate_estimate",
    "estimate",
    "estimate_all",
    "load_context",
    "not_yet_estimate",
    "outcome_panel",
    "reliable",
    "sensitivity_analysis",
    "subgroup_estimates",
]

LABELS = {
    "da": {
        "ladder_step": "Trin på selvforsørgelsesstigen",
        "self_supporting": "Selvforsørgende (andel)",
        "support_level": "Støtteniveau (0–3)",
        "absence_rate": "Skolefravær (andel af dage)",
    },
    "en": {
        "ladder_step": "Step on the self-sufficiency ladder",
        "self_supporting": "Self-supporting (share)",
        "support_level": "Support level (0–3)",
        "absence_rate": "School absence (share of days)",
    },
}


def effects_table(estimates: dict[str, EffectEstimate], payments, lang: str) -> pd.DataFrame:
    """Headline table: TWFE and CS simple ATT with 95% intervals, per outcome."""
    rows = []
    for outcome, est in estimates.items():
        rows.append(
            {
                ("Udfald" if lang == "da" else "Outcome"): LABELS[lang][outcome],
                "TWFE": est.twfe.att,
                ("TWFE 95 %-KI" if lang == "da" else "TWFE 95% CI"): _interval(
                    est.twfe.ci_low, est.twfe.ci_high, lang
                ),
                "Callaway–Sant'Anna": est.simple.overall_att,
                ("CS 95 %-KI" if lang == "da" else "CS 95% CI"): _interval(
                    *est.simple.overall_ci, lang
                ),
                ("p, forløb før" if lang == "da" else "Pre-trend p"): est.attgt.pretest["p_value"],
                ("Antal personer" if lang == "da" else "Number of persons"): payments.shown(
                    disclosure.effects_key("persons", outcome, payments.as_of), est.n_persons
                ),
            }
        )
    return pd.DataFrame(rows)


def _interval(low: float, high: float, lang: str) -> str:
    from analysis.render.numbers import number

    return f"[{number(low, 3, lang)}; {number(high, 3, lang)}]"


def event_study_figure(est: EffectEstimate, lang: str, truth: dict | None = None):
    """Dynamic effects with pointwise intervals and uniform bands (never unit-level points)."""
    apply_theme()
    table = est.dynamic.table
    fig, ax = plt.subplots()
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axvline(-0.5, color="grey", linestyle=":", linewidth=0.8)
    ax.fill_between(
        table["event_time"],
        table["band_low"],
        table["band_high"],
        color=PRIMARY,
        alpha=0.15,
        label="Uniformt bånd" if lang == "da" else "Uniform band",
    )
    ax.errorbar(
        table["event_time"],
        table["att"],
        yerr=[table["att"] - table["ci_low"], table["ci_high"] - table["att"]],
        fmt="o",
        color=PRIMARY,
        markersize=3,
        capsize=2,
        label="ATT(e), 95 %",
    )
    if truth:
        events = sorted(int(k) for k in truth)
        ax.plot(
            events,
            [truth[str(e)] for e in events],
            color=ACCENT,
            linestyle="--",
            label="Sand effekt (syntetisk)" if lang == "da" else "True effect (synthetic)",
        )
    counts = cohorts_per_event_time(est.attgt)
    low, high = balanced_window(est.attgt)
    if high < table["event_time"].max():
        ax.axvspan(high + 0.5, table["event_time"].max() + 0.5, color="grey", alpha=0.08, lw=0)
    for e in table["event_time"]:
        ax.annotate(
            str(int(counts.get(e, 0))),
            (e, 0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            fontsize=6,
            color="grey",
        )
    ax.set_xlabel(
        "Kvartaler siden indskrivning (tal nederst: antal kohorter)"
        if lang == "da"
        else "Quarters since enrolment (numbers at the bottom: cohorts)"
    )
    ax.set_ylabel(LABELS[lang][est.outcome])
    ax.legend(fontsize=8)
    return fig


def event_study_caption(est: EffectEstimate, lang: str) -> str:
    """Caption of an event study: window, cohorts, aggregation and the uniform band explained."""
    table = est.dynamic.table
    counts = cohorts_per_event_time(est.attgt)
    low, high = int(table["event_time"].min()), int(table["event_time"].max())
    _, balanced_high = balanced_window(est.attgt)
    low = str(low).replace("-", "−")  # typographic minus, as in the report's numbers
    total = int(counts.max()) if len(counts) else 0
    if lang == "da":
        beyond = (
            f" Efter kvartal {balanced_high} (gråt felt) bidrager kun de tidligste kohorter; tallene nederst viser antallet af kohorter pr. kvartal."
            if balanced_high < high
            else ""
        )
        return (
            f"Event study: {LABELS[lang][est.outcome].lower()}. Kvartal {low} til {high} i forhold til indskrivning; alle {total} indskrivningskohorter bidrager til kvartalerne før indskrivning, og alle, der er nået til indskrivning, til kvartal 0 til {balanced_high}.{beyond} "
            "Efter indskrivning måles ændringen siden kvartalet før indskrivning, før indskrivning ændringen fra det foregående kvartal (så punkterne før indskrivning tester parallelle forløb kvartal for kvartal). Hvert punkt er gennemsnittet af kohorternes effekter (ATT(g,t)) i det kvartal, vægtet med kohorternes størrelse. Lodrette streger: punktvise 95 %-intervaller; det skraverede bånd dækker hele kurven samtidig med 95 % sandsynlighed (multiplier bootstrap)."
        )
    beyond = (
        f" After quarter {balanced_high} (grey area) only the earliest cohorts contribute; the numbers at the bottom are the cohorts per quarter."
        if balanced_high < high
        else ""
    )
    return (
        f"Event study: {LABELS[lang][est.outcome].lower()}. Quarters {low} to {high} relative to enrolment; all {total} enrolment cohorts contribute to the quarters before enrolment, and all that have reached enrolment to quarters 0 to {balanced_high}.{beyond} "
        "After enrolment the change since the quarter before enrolment is measured, before enrolment the change from the previous quarter (so the points before enrolment test parallel trends quarter by quarter). Each point is the average of the cohorts' effects (ATT(g,t)) in that quarter, weighted by cohort size. Vertical bars: pointwise 95% intervals; the shaded band covers the whole curve simultaneously with 95% probability (multiplier bootstrap)."
    )


def covariate_table(
    estimates: dict[str, EffectEstimate],
    panels: dict[str, pd.DataFrame],
    lang: str,
    doubly_robust: dict | None = None,
) -> pd.DataFrame:
    """Unconditional CS simple ATT beside the doubly robust one with baseline covariates.

    ``doubly_robust`` gives :func:`covariate_estimate` per outcome where it was
    computed already (the results stage); otherwise it is computed here.
    """
    da = lang == "da"
    rows = []
    for outcome, est in estimates.items():
        dr = (
            doubly_robust[outcome]
            if doubly_robust is not None
            else covariate_estimate(panels[outcome])
        )
        rows.append(
            {
                ("Udfald" if da else "Outcome"): LABELS[lang][outcome],
                ("Uden baggrundsvariable" if da else "Without covariates"): est.simple.overall_att,
                ("95 %-KI, uden" if da else "95% CI, without"): _interval(
                    *est.simple.overall_ci, lang
                ),
                ("Dobbelt robust" if da else "Doubly robust"): dr.overall_att,
                ("95 %-KI, dobbelt robust" if da else "95% CI, doubly robust"): _interval(
                    *dr.overall_ci, lang
                ),
            }
        )
    return pd.DataFrame(rows)


def balance_table(data: AsOfData, lang: str) -> pd.DataFrame:
    """Standardised mean differences at baseline (the quarter before enrolment; 2023Q3 for comparisons)."""
    persons = _units(data)
    rows = []
    first_g = int(persons.loc[persons["g"] > 0, "g"].min()) if (persons["g"] > 0).any() else 0
    base_t = np.where(persons["g"] > 0, persons["g"] - 1, first_g - 1)
    persons = persons.assign(base_t=base_t)
    measures = {}
    ladder = outcome_panel(data, "ladder_step")
    support = outcome_panel(data, "support_level")
    absence = outcome_panel(data, "absence_rate")
    for name, panel in (
        ("ladder_step", ladder),
        ("support_level", support),
        ("absence_rate", absence),
    ):
        merged = panel.merge(persons[["person_id", "base_t"]], on="person_id")
        measures[name] = merged.loc[merged["t"] == merged["base_t"], ["person_id", "group", "y"]]
    households = data["households"].loc[
        data["households"]["group"].isin(["intervention", "comparison"])
    ]
    measures["open_cases"] = households.rename(columns={"open_cases": "y"})[
        ["household_id", "group", "y"]
    ]
    labels = {
        **LABELS[lang],
        "open_cases": "Åbne sager ved visitation" if lang == "da" else "Open cases at referral",
    }
    for name, frame in measures.items():
        a = frame.loc[frame["group"] == "intervention", "y"].astype(float)
        b = frame.loc[frame["group"] == "comparison", "y"].astype(float)
        pooled = np.sqrt((a.var() + b.var()) / 2)
        rows.append(
            {
                ("Kendetegn" if lang == "da" else "Characteristic"): labels[name],
                ("Indsats, gns." if lang == "da" else "Intervention, mean"): a.mean(),
                ("Kontrol, gns." if lang == "da" else "Comparison, mean"): b.mean(),
                ("Std. forskel" if lang == "da" else "Std. difference"): (a.mean() - b.mean())
                / pooled
                if pooled > 0
                else np.nan,
            }
        )
    return pd.DataFrame(rows)


def power_table(
    estimates: dict[str, EffectEstimate],
    planned_households: int,
    enrolled_households: int,
    lang: str,
    areas: dict[str, dict] | None = None,
) -> pd.DataFrame:
    """Minimum detectable effect (80 % power, 5 % level): now, at full enrolment, at area level.

    The area-level MDE is the effect the exact randomization test would detect with
    80 % power: the 95 % quantile of |ATT| over the area assignments plus 0,84 times
    their standard deviation (normal approximation of the estimate's spread across
    assignments). With three intervention areas it is usually far larger than the
    household-level MDE.
    """
    from analysis.did.inference import mde_randomization

    da = lang == "da"
    rows = []
    for outcome, est in estimates.items():
        row = {
            ("Udfald" if da else "Outcome"): LABELS[lang][outcome],
            ("Standardfejl" if da else "Standard error"): est.simple.overall_se,
            ("MDE nu" if da else "MDE now"): mde(est.simple.overall_se),
            ("MDE ved fuld indskrivning" if da else "MDE at full enrolment"): mde(
                est.simple.overall_se, scale_to=planned_households, n_now=enrolled_households
            ),
        }
        if areas and outcome in areas:
            row[("MDE, områdeniveau" if da else "MDE, area level")] = mde_randomization(
                areas[outcome]["ri_distribution"]
            )
        rows.append(row)
    return pd.DataFrame(rows)


def area_inference_table(
    estimates: dict[str, EffectEstimate], areas: dict[str, dict], lang: str
) -> pd.DataFrame:
    """Per outcome: CS estimate, household-clustered p, exact area RI p, wild bootstrap p."""
    from analysis.render.numbers import number

    da = lang == "da"
    rows = []
    for outcome, est in estimates.items():
        area = areas[outcome]
        z = est.simple.overall_att / est.simple.overall_se
        p_household = float(2 * stats.norm.sf(abs(z)))
        rows.append(
            {
                ("Udfald" if da else "Outcome"): LABELS[lang][outcome],
                ("Estimat (CS)" if da else "Estimate (CS)"): est.simple.overall_att,
                ("p, husstandsklynger" if da else "p, household clusters"): p_household,
                (
                    "p, randomisering (områder, eksakt)"
                    if da
                    else "p, randomization (areas, exact)"
                ): area["ri_p_exact"],
                (
                    "p, wild cluster bootstrap (områder)"
                    if da
                    else "p, wild cluster bootstrap (areas)"
                ): area["wild_p_bootstrap"],
                ("Statistisk sikker" if da else "Statistically reliable"): (
                    ("ja" if da else "yes") if reliable(est, area) else ("nej" if da else "no")
                ),
            }
        )
    frame = pd.DataFrame(rows)
    frame.attrs["assignments"] = number(next(iter(areas.values()))["ri_assignments"], 0, lang)
    return frame


def area_inference_text(areas: dict[str, dict], lang: str) -> str:
    """Why area-level inference decides, and why the wild cluster bootstrap does not."""
    first = next(iter(areas.values()))
    k, n, count = first["areas_intervention"], first["areas_total"], first["ri_assignments"]
    if lang == "da":
        return (
            f"Husstandene er indskrevet i {k} indsatsområder og sammenlignes med husstande i {n - k} andre områder, så stød, der rammer et helt område, deles af alle husstande i det. Husstandsklyngede standardfejl tager ikke højde for det. "
            f"Randomiseringsinferensen gennemgår derfor alle {count} måder at vælge {k} af de {n} områder som indsatsområder på, giver de valgte områders husstande indskrivningskvartaler som i den faktiske indsatsgruppe og beregner Callaway–Sant'Anna-estimatet for hver; p-værdien er andelen af valg med et mindst lige så stort estimat (i absolut værdi) og er eksakt under nulhypotesen om ingen effekt for nogen. "
            f"Wild cluster bootstrap på områdeniveau vises til sammenligning, men er kendt for at være upålidelig med så få behandlede klynger ({k}). "
            "En effekt kaldes statistisk sikker kun, når både det husstandsklyngede interval udelukker nul og randomiseringsinferensen giver p < 0,05."
        )
    return (
        f"Households are enrolled in {k} intervention areas and compared with households in {n - k} other areas, so shocks that hit a whole area are shared by all its households. Household-clustered standard errors do not allow for that. "
        f"Randomization inference therefore goes through all {count} ways of choosing {k} of the {n} areas as intervention areas, gives the chosen areas' households enrolment quarters as in the actual intervention group and computes the Callaway–Sant'Anna estimate for each; the p-value is the share of choices with an estimate at least as large (in absolute value) and is exact under the null of no effect for anyone. "
        f"The wild cluster bootstrap at area level is shown for comparison but is known to be unreliable with so few treated clusters ({k}). "
        "An effect is called statistically reliable only when the household-clustered interval excludes zero and randomization inference gives p < 0.05."
    )


def robustness_table(
    panel: pd.DataFrame, est: EffectEstimate, contract: Contract, lang: str, not_yet=None
) -> tuple[pd.DataFrame, dict]:
    """Never- vs not-yet-treated comparison for one outcome (``not_yet``: :func:`not_yet_estimate`, if computed)."""
    if not_yet is None:
        not_yet = not_yet_estimate(panel)
    da = lang == "da"
    rows = [
        {
            "Analyse" if da else "Analysis": "CS, aldrig-behandlede som kontrol"
            if da
            else "CS, never-treated comparison",
            "Estimat" if da else "Estimate": est.simple.overall_att,
            "KI" if da else "CI": _interval(*est.simple.overall_ci, lang),
        },
        {
            "Analyse" if da else "Analysis": "CS, endnu-ikke-behandlede som kontrol"
            if da
            else "CS, not-yet-treated comparison",
            "Estimat" if da else "Estimate": not_yet.overall_att,
            "KI" if da else "CI": _interval(*not_yet.overall_ci, lang),
        },
    ]
    return pd.DataFrame(rows), {"not_yet_att": not_yet.overall_att}


def sensitivity_target(sens: Sensitivity, lang: str) -> str:
    """The target parameter in words."""
    last = sens.num_post - 1
    if lang == "da":
        return f"gennemsnitlig effekt i kvartal 0–{last} efter indskrivning"
    return f"average effect in quarters 0–{last} after enrolment"


def sensitivity_figure(sens: Sensitivity, lang: str):
    """Robust interval against M̄ (relative magnitudes), the breakdown value marked."""
    apply_theme()
    table = sens.table
    fig, ax = plt.subplots(figsize=(6.0, 3.2))
    ax.axhline(0, color="black", linewidth=0.8)
    ax.vlines(
        table["m_bar"],
        table["lb"],
        table["ub"],
        color=PRIMARY,
        linewidth=2.2,
        label="Robust 95 %-interval" if lang == "da" else "Robust 95% interval",
    )
    ax.vlines(
        [-0.15],
        [sens.original[0]],
        [sens.original[1]],
        color=ACCENT,
        linewidth=2.2,
        label="Parallelle forløb (M̄ = 0, klassisk)"
        if lang == "da"
        else "Parallel trends (classic)",
    )
    if np.isfinite(sens.breakdown):
        from analysis.render.numbers import number

        ax.axvline(sens.breakdown, color="grey", linestyle="--", linewidth=0.9)
        ax.annotate(
            ("Nedbrudspunkt M̄ = " if lang == "da" else "Breakdown M̄ = ")
            + number(sens.breakdown, 2, lang),
            (sens.breakdown, ax.get_ylim()[1]),
            xytext=(4, -12),
            textcoords="offset points",
            fontsize=8,
        )
    ax.set_xlabel("M̄ (relative størrelser)" if lang == "da" else "M̄ (relative magnitudes)")
    ax.set_ylabel(LABELS[lang][sens.outcome])
    ax.legend(fontsize=7, loc="lower left")
    return fig


def sensitivity_table(sens: Sensitivity, lang: str) -> pd.DataFrame:
    """The robust intervals at M̄ = 0, 0,5, 1, 1,5, 2 (the figure shows the whole grid)."""
    shown = sens.table.loc[sens.table["m_bar"].isin([0.0, 0.5, 1.0, 1.5, 2.0])]
    return shown.rename(
        columns={
            "m_bar": "M̄",
            "lb": "Nedre" if lang == "da" else "Lower",
            "ub": "Øvre" if lang == "da" else "Upper",
        }
    )


def heterogeneity_table(
    panel: pd.DataFrame,
    outcome: str,
    by: str,
    names: dict,
    lang: str,
    payments,
    estimates: dict | None = None,
) -> pd.DataFrame:
    """CS simple ATT for the intervention units of each subgroup against all comparison units.

    A subgroup whose count disclosure control hides (small, or hidden so that a
    small one cannot be worked out from the treated total) is listed with every
    cell hidden: an effect estimated on a few persons describes those persons.
    ``estimates`` are :func:`subgroup_estimates` where computed already.
    """
    rows = []
    if estimates is None:
        estimates = subgroup_estimates(panel, by)
    group, count = (
        ("Gruppe" if lang == "da" else "Group"),
        ("Antal personer" if lang == "da" else "Number of persons"),
    )
    for value, part in panel.loc[panel["g"] > 0].groupby(by):
        label = names.get(value, value)
        if payments.is_hidden(disclosure.subgroup_key(outcome, by, value, payments.as_of)):
            rows.append({group: label, count: "*", "ATT": "*", CI_LABEL[lang]: "*"})
            continue
        result = estimates.get(value)
        if result is None:
            continue
        rows.append(
            {
                group: label,
                count: part["person_id"].nunique(),
                "ATT": result.overall_att,
                CI_LABEL[lang]: _interval(*result.overall_ci, lang),
            }
        )
    return pd.DataFrame(rows)


CI_LABEL = {"da": "95 %-KI", "en": "95% CI"}


def budget_table(
    estimates: dict[str, EffectEstimate], contract: Contract, lang: str, payments
) -> tuple[pd.DataFrame, dict]:
    """Public-finance gains from the estimated effects against the programme's cost (SØM style)."""
    be = contract.budget_economics
    years = np.arange(be.horizon_years)
    annuity = float(np.sum(1 / (1 + be.discount_rate) ** years))
    rows = []
    gains = {}
    any_hidden = False
    for outcome, per_year, sign in (
        ("ladder_step", be.saving_per_ladder_step_year, 1),
        ("support_level", be.saving_per_support_level_year, -1),
    ):
        if outcome not in estimates:
            continue
        est = estimates[outcome]
        gain = sign * est.simple.overall_att * est.n_treated_persons * per_year * annuity
        low = (
            sign
            * est.simple.overall_ci[0 if sign > 0 else 1]
            * est.n_treated_persons
            * per_year
            * annuity
        )
        high = (
            sign
            * est.simple.overall_ci[1 if sign > 0 else 0]
            * est.n_treated_persons
            * per_year
            * annuity
        )
        gains[outcome] = gain
        # The gains are the count times known factors: they go with a hidden count.
        hidden = payments.is_hidden(disclosure.effects_key("treated", outcome, payments.as_of))
        any_hidden = any_hidden or hidden
        rows.append(
            {
                ("Udfald" if lang == "da" else "Outcome"): LABELS[lang][outcome],
                ("Antal personer" if lang == "da" else "Number of persons"): "*"
                if hidden
                else est.n_treated_persons,
                ("Gevinst (kr.)" if lang == "da" else "Gain (DKK)"): "*" if hidden else round(gain),
                ("Nedre (kr.)" if lang == "da" else "Lower (DKK)"): "*" if hidden else round(low),
                ("Øvre (kr.)" if lang == "da" else "Upper (DKK)"): "*" if hidden else round(high),
            }
        )
    total = sum(gains.values())
    summary = {
        # With a gain hidden, the total minus the shown one would give it back.
        "total_gain": "*" if any_hidden else total,
        "programme_cost": contract.investment.total,
        "net": "*" if any_hidden else total - contract.investment.total,
        "gains_exceed_cost": bool(total > contract.investment.total),
        "annuity_factor": annuity,
    }
    return pd.DataFrame(rows), summary


def budget_text(summary: dict, contract: Contract, lang: str) -> str:
    """The budget-economic result in one sentence."""
    from analysis.render.numbers import dkk, percent

    rate = percent(contract.budget_economics.discount_rate, 1, lang)
    years = contract.budget_economics.horizon_years
    total = summary["total_gain"]
    gain = total if total == "*" else dkk(total, lang)
    cost = dkk(summary["programme_cost"], lang)
    if lang == "da":
        verdict = "overstiger" if summary["gains_exceed_cost"] else "dækker ikke"
        return f"Den samlede offentlige gevinst over {years} år er {gain} (tilbagediskonteret med {rate}), som {verdict} programmets omkostning på {cost}"
    verdict = "exceeds" if summary["gains_exceed_cost"] else "does not cover"
    return f"The total public gain over {years} years is {gain} (discounted at {rate}), which {verdict} the programme's cost of {cost}."


def truth_coverage(estimates: dict[str, EffectEstimate], truth: dict, lang: str) -> pd.DataFrame:
    """Synthetic runs only: does the 95 % interval of the simple ATT cover the generator's realised ATT?"""
    rows = []
    for outcome, est in estimates.items():
        true = truth.get(outcome, {}).get("att")
        if true is None:
            continue
        low, high = est.simple.overall_ci
        rows.append(
            {
                ("Udfald" if lang == "da" else "Outcome"): LABELS[lang][outcome],
                ("Sand effekt" if lang == "da" else "True effect"): true,
                "Estimat" if lang == "da" else "Estimate": est.simple.overall_att,
                ("Dækket" if lang == "da" else "Covered"): ("ja" if lang == "da" else "yes")
                if low <= true <= high
                else ("nej" if lang == "da" else "no"),
            }
        )
    return pd.DataFrame(rows)


def record_effects(results, estimates: dict[str, EffectEstimate], payments) -> None:
    """Put the headline estimates into the report's results file (counts as the report shows them)."""
    for outcome, est in estimates.items():
        results.add(f"effects.{outcome}.cs_simple_att", est.simple.overall_att)
        results.add(f"effects.{outcome}.cs_simple_se", est.simple.overall_se)
        results.add(f"effects.{outcome}.twfe_att", est.twfe.att)
        results.add(f"effects.{outcome}.twfe_se", est.twfe.se)
        results.add(f"effects.{outcome}.pretrend_p", est.attgt.pretest["p_value"])
        results.add(
            f"effects.{outcome}.n_persons",
            payments.shown(
                disclosure.effects_key("persons", outcome, payments.as_of), est.n_persons
            ),
        )


def headline_text(
    estimates: dict[str, EffectEstimate], lang: str, areas: dict[str, dict] | None = None
) -> str:
    """The effects in words, with their uncertainty (wording by :func:`reliable`)."""
    from analysis.render.numbers import number

    lines = []
    for outcome, est in estimates.items():
        low, high = est.simple.overall_ci
        significant = reliable(est, (areas or {}).get(outcome))
        pretrend_p = est.attgt.pretest["p_value"]
        scale, unit, decimals = (
            (100, " procentpoint" if lang == "da" else " percentage points", 1)
            if outcome in ("absence_rate", "self_supporting")
            else (1, "", 2)
        )
        value = number(scale * est.simple.overall_att, decimals, lang)
        interval = (
            f"{number(scale * low, decimals, lang)} til {number(scale * high, decimals, lang)}"
            if lang == "da"
            else f"{number(scale * low, decimals, lang)} to {number(scale * high, decimals, lang)}"
        )
        if lang == "da":
            verdict = "statistisk sikker" if significant else "ikke statistisk sikker"
            caveat = (
                f" Testen for parallelle forløb før indskrivning afviser dog (p = {number(pretrend_p, 3, lang)}), så estimatet skal tolkes varsomt."
                if pretrend_p < 0.05
                else ""
            )
            lines.append(
                f"- **{LABELS[lang][outcome]}**: {value}{unit} (95 %-konfidensinterval {interval}); effekten er {verdict}.{caveat}"
            )
        else:
            verdict = (
                "statistically significant" if significant else "not statistically significant"
            )
            caveat = (
                f" The test of parallel trends before enrolment rejects, however (p = {number(pretrend_p, 3, lang)}), so the estimate should be read with caution."
                if pretrend_p < 0.05
                else ""
            )
            lines.append(
                f"- **{LABELS[lang][outcome]}**: {value}{unit} (95% confidence interval {interval}); the effect is {verdict}.{caveat}"
            )
    return "\n".join(lines)


def twfe_vs_cs_text(estimates: dict[str, EffectEstimate], lang: str) -> str:
    """Why TWFE and Callaway–Sant'Anna differ, with the largest difference computed."""
    from analysis.render.numbers import number

    gaps = {o: est.twfe.att - est.simple.overall_att for o, est in estimates.items()}
    largest = max(gaps, key=lambda o: abs(gaps[o]))
    relative = (
        abs(gaps[largest]) / abs(estimates[largest].simple.overall_att)
        if estimates[largest].simple.overall_att
        else float("nan")
    )
    if lang == "da":
        return (
            "TWFE sammenligner også husstande, der allerede er i indsatsen, med husstande, der kommer ind senere. "
            "Når effekten vokser med tiden i indsatsen, trækker disse sammenligninger TWFE-estimatet mod nul, mens "
            "Callaway–Sant'Anna kun sammenligner med husstande, der (endnu) ikke er i indsatsen. "
            f"Den største forskel er for {LABELS[lang][largest].lower()}: {number(gaps[largest], 3, lang)} "
            f"({number(100 * relative, 0, lang)} % af Callaway–Sant'Anna-estimatet)."
        )
    return (
        "TWFE also compares households already in the intervention with households that enter later. "
        "When the effect grows with time in the intervention, those comparisons pull the TWFE estimate towards zero, "
        "whereas Callaway–Sant'Anna compares only with households not (yet) in the intervention. "
        f"The largest difference is for {LABELS[lang][largest].lower()}: {number(gaps[largest], 3, lang)} "
        f"({number(100 * relative, 0, lang)}% of the Callaway–Sant'Anna estimate)."
    )


@dataclass
class EvaluationReport:
    """What every evaluation notebook starts from."""

    contract: Contract
    context: EvaluationContext
    payments: object
    estimates: dict[str, EffectEstimate]
    panels: dict[str, pd.DataFrame]
    results: object
    sensitivity: dict = None
    areas: dict = None  # area-level inference per outcome (area_inference)


def prepare(
    data_dir: str,
    as_of: str,
    bootstrap_reps: int,
    quarterly_dir: str,
    subgroups: dict[str, tuple[str, ...]] | None = None,
    config: str | None = None,
) -> EvaluationReport:
    """Load and cut the data, compute payments and every effect, protect, and start the results file.

    Disclosure control starts from what the quarterly reports up to ``as_of``
    published (in ``quarterly_dir``). ``subgroups`` names the subgroup tables the
    report shows (outcome → columns of the panel), so that their counts are linked
    to the totals. ``config`` is the contract file (default: ``config/contract.yaml``).
    """
    from analysis.config import load_contract
    from analysis.reports.quarterly_view import QuarterlyInputs, protect, record_key_numbers
    from analysis.reports.results import ReportResults

    contract = load_contract(config) if config else load_contract()
    context = load_context(data_dir, as_of, contract, quarterly_dir)
    # DuckDB builds the panels from the Parquet register files (pandas for a CSV extract).
    from analysis.data.engine import evaluation_panels

    panels = evaluation_panels(context.extract, as_of, contract, OUTCOMES)
    estimates, panels = estimate_all(
        context, panels=panels, bootstrap_reps=bootstrap_reps, seed=contract.seed
    )
    payments = protect(
        QuarterlyInputs(as_of, context.quarterly.tables, context.quarterly.key_numbers),
        contract,
        disclosure.read_published(quarterly_dir, as_of, include=True, contract=contract),
        more=lambda cells: disclosure.effect_cells(
            cells, estimates, panels, subgroups or {}, as_of
        ),
    )
    results = ReportResults()
    results.set_inputs(context.checksums)
    record_effects(results, estimates, payments)
    record_key_numbers(results, payments, contract)
    areas = {
        outcome: area_inference(panel, max(bootstrap_reps, 99), contract.seed)
        for outcome, panel in panels.items()
    }
    for outcome, area in areas.items():
        results.add_many(
            f"area_inference.{outcome}",
            {k: v for k, v in area.items() if k != "ri_distribution"},
        )
    sensitivity = {}
    for outcome, panel in panels.items():
        sens = sensitivity_analysis(panel, outcome, seed=contract.seed)
        if sens is not None:
            sensitivity[outcome] = sens
            results.add(f"sensitivity.{outcome}.breakdown_m_bar", sens.breakdown)
    return EvaluationReport(
        contract, context, payments, estimates, panels, results, sensitivity, areas
    )
