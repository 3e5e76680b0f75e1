"""Effect estimates, balance, power, robustness and budget economics for the evaluation reports.

Outcomes (DESIGN.md section 4): the self-sufficiency step and being
self-supporting (adults 18–64), the support level (all persons) and school absence
(pupils), each a person × quarter panel with the household's enrolment quarter as
cohort ``g`` (0 for comparison households) and clustered by household.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.config import Contract
from analysis.did import (
    aggte,
    att_gt,
    honest_did,
    mde,
    randomization_inference,
    twfe,
    wild_bootstrap,
)
from analysis.did.checks import EstimationError
from analysis.payments.absence import pupil_panel
from analysis.payments.asof import AsOfData
from analysis.payments.targets import RANK_OF_MEASURE, STEP_OF_CATEGORY
from analysis.render.style import ACCENT, PRIMARY, apply_theme
from analysis.reports import disclosure

OUTCOMES = ("ladder_step", "self_supporting", "support_level", "absence_rate")
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


def _units(data: AsOfData) -> pd.DataFrame:
    households = data["households"]
    usable = households.loc[
        households["group"].isin(["intervention", "comparison"]),
        ["household_id", "group", "area", "household_type", "g", "open_cases"],
    ]
    persons = data["persons"].merge(usable, on="household_id")
    persons["g"] = persons["g"].fillna(0).astype(int)
    return persons


def outcome_panel(data: AsOfData, outcome: str) -> pd.DataFrame:
    """Person × quarter panel of one outcome with g, household, area and household type."""
    persons = _units(data)
    columns = ["person_id", "household_id", "area", "household_type", "group", "g", "t", "y"]
    if outcome in ("ladder_step", "self_supporting"):
        frame = data["benefits"].merge(persons, on="person_id")
        frame["step"] = frame["benefit_category"].map(STEP_OF_CATEGORY)
        age = frame["t"] // 4 - frame["birth_year"]
        frame = frame.loc[frame["step"].notna() & age.between(18, 64)]
        frame["y"] = (
            frame["step"] if outcome == "ladder_step" else (frame["step"] == 4).astype(float)
        )
    elif outcome == "support_level":
        frame = data["social_measures"].merge(persons, on="person_id")
        frame["y"] = frame["measure"].map(RANK_OF_MEASURE).map({0: 0.0, 1: 2.0, 2: 3.0})
    elif outcome == "absence_rate":
        frame = (
            pupil_panel(data)
            .merge(persons[["person_id", "group"]], on="person_id")
            .rename(columns={"absence_rate": "y"})
        )
    else:
        raise EstimationError(f"unknown outcome {outcome!r}")
    frame = frame[columns].copy()
    frame["t"] = frame["t"].astype(int)
    frame["treated"] = ((frame["g"] > 0) & (frame["t"] >= frame["g"])).astype(int)
    return frame.reset_index(drop=True)


@dataclass
class EffectEstimate:
    """Every estimate of one outcome."""

    outcome: str
    twfe: object
    attgt: object
    simple: object
    group: object
    dynamic: object
    calendar: object
    n_persons: int
    n_treated_persons: int


def estimate(
    panel: pd.DataFrame,
    outcome: str,
    control_group: str = "nevertreated",
    bootstrap_reps: int = 0,
    seed: int = 0,
) -> EffectEstimate:
    """TWFE beside Callaway–Sant'Anna with all four aggregations, clustered by household."""
    result = att_gt(
        panel,
        "y",
        "t",
        "person_id",
        "g",
        control_group=control_group,
        cluster="household_id",
        bstrap=bootstrap_reps > 0,
        biters=max(bootstrap_reps, 1),
        seed=seed,
    )
    return EffectEstimate(
        outcome=outcome,
        twfe=twfe(panel, "y", "t", "person_id", "treated", cluster="household_id"),
        attgt=result,
        simple=aggte(result, "simple"),
        group=aggte(result, "group"),
        dynamic=aggte(result, "dynamic"),
        calendar=aggte(result, "calendar"),
        n_persons=int(panel["person_id"].nunique()),
        n_treated_persons=int(panel.loc[panel["g"] > 0, "person_id"].nunique()),
    )


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
    ax.set_xlabel("Kvartaler siden indskrivning" if lang == "da" else "Quarters since enrolment")
    ax.set_ylabel(LABELS[lang][est.outcome])
    ax.legend(fontsize=8)
    return fig


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
) -> pd.DataFrame:
    """Minimum detectable effect (80 % power, 5 % level) now and at full enrolment."""
    rows = []
    for outcome, est in estimates.items():
        rows.append(
            {
                ("Udfald" if lang == "da" else "Outcome"): LABELS[lang][outcome],
                ("Standardfejl" if lang == "da" else "Standard error"): est.simple.overall_se,
                ("MDE nu" if lang == "da" else "MDE now"): mde(est.simple.overall_se),
                ("MDE ved fuld indskrivning" if lang == "da" else "MDE at full enrolment"): mde(
                    est.simple.overall_se, scale_to=planned_households, n_now=enrolled_households
                ),
            }
        )
    return pd.DataFrame(rows)


def robustness_table(
    panel: pd.DataFrame,
    est: EffectEstimate,
    contract: Contract,
    lang: str,
    reps: int,
    permutations: int,
) -> tuple[pd.DataFrame, dict]:
    """Never- vs not-yet-treated, wild cluster bootstrap by area, randomization inference by area."""
    not_yet = aggte(
        att_gt(
            panel, "y", "t", "person_id", "g", control_group="notyettreated", cluster="household_id"
        ),
        "simple",
    )
    wild = wild_bootstrap(
        panel, "y", "t", "person_id", "treated", cluster="area", reps=reps, seed=contract.seed
    )
    households = panel.drop_duplicates("household_id")
    ri = randomization_inference(
        panel,
        "y",
        "t",
        "person_id",
        "g",
        level="area",
        area="area",
        permutations=permutations,
        seed=contract.seed,
    )
    da = lang == "da"
    rows = [
        {
            "Analyse" if da else "Analysis": "CS, aldrig-behandlede som kontrol"
            if da
            else "CS, never-treated comparison",
            "Estimat" if da else "Estimate": est.simple.overall_att,
            "p / KI" if da else "p / CI": _interval(*est.simple.overall_ci, lang),
        },
        {
            "Analyse" if da else "Analysis": "CS, endnu-ikke-behandlede som kontrol"
            if da
            else "CS, not-yet-treated comparison",
            "Estimat" if da else "Estimate": not_yet.overall_att,
            "p / KI" if da else "p / CI": _interval(*not_yet.overall_ci, lang),
        },
        {
            "Analyse"
            if da
            else "Analysis": f"TWFE, wild cluster bootstrap ({wild.n_clusters} områder)"
            if da
            else f"TWFE, wild cluster bootstrap ({wild.n_clusters} areas)",
            "Estimat" if da else "Estimate": wild.att,
            "p / KI" if da else "p / CI": f"p = {wild.p_value:.3f}".replace(
                ".", "," if da else "."
            ),
        },
        {
            "Analyse" if da else "Analysis": "Randomiseringsinferens (områder)"
            if da
            else "Randomization inference (areas)",
            "Estimat" if da else "Estimate": ri.att,
            "p / KI" if da else "p / CI": f"p = {ri.p_value:.3f}".replace(".", "," if da else "."),
        },
    ]
    return pd.DataFrame(rows), {
        "not_yet_att": not_yet.overall_att,
        "wild_p_bootstrap": wild.p_value,
        "ri_p_permutation": ri.p_value,
        "n_households": int(households.shape[0]),
    }


def sensitivity_table(est: EffectEstimate, lang: str) -> tuple[pd.DataFrame, float]:
    """Pre-trend sensitivity (relative magnitudes) of the average post-period effect."""
    frame = honest_did(est.dynamic)
    breakdown = frame.attrs["breakdown_m_bar"]
    shown = frame.rename(
        columns={
            "m_bar": "M̄",
            "lower": "Nedre" if lang == "da" else "Lower",
            "upper": "Øvre" if lang == "da" else "Upper",
        }
    )
    return shown, breakdown


def heterogeneity_table(
    panel: pd.DataFrame, outcome: str, by: str, names: dict, lang: str, payments
) -> pd.DataFrame:
    """CS simple ATT for the intervention units of each subgroup against all comparison units.

    A subgroup whose count disclosure control hides (small, or hidden so that a
    small one cannot be worked out from the treated total) is listed with every
    cell hidden: an effect estimated on a few persons describes those persons.
    """
    rows = []
    comparison = panel.loc[panel["g"] == 0]
    group, count = (
        ("Gruppe" if lang == "da" else "Group"),
        ("Antal personer" if lang == "da" else "Number of persons"),
    )
    for value, part in panel.loc[panel["g"] > 0].groupby(by):
        label = names.get(value, value)
        if payments.is_hidden(disclosure.subgroup_key(outcome, by, value, payments.as_of)):
            rows.append({group: label, count: "*", "ATT": "*", CI_LABEL[lang]: "*"})
            continue
        try:
            result = aggte(
                att_gt(
                    pd.concat([part, comparison]),
                    "y",
                    "t",
                    "person_id",
                    "g",
                    cluster="household_id",
                ),
                "simple",
            )
        except EstimationError:
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


@dataclass
class EvaluationContext:
    """Everything an evaluation report starts from: the as-of data, payments and (synthetic) truth."""

    data: AsOfData
    quarterly: object
    truth: dict | None
    checksums: dict[str, str]


def load_context(data_dir: str, as_of: str, contract: Contract) -> EvaluationContext:
    """Validate the extract, cut it at ``as_of`` and compute the payments to date."""
    import json
    from pathlib import Path

    from analysis.data.validate import load_extract
    from analysis.payments.asof import as_of as cut
    from analysis.payments.quarterly import compute

    extract = load_extract(data_dir, contract)
    truth_file = Path(data_dir) / "truth.json"
    truth = (
        json.loads(truth_file.read_text(encoding="utf-8"))["realised_att"]
        if extract.synthetic and truth_file.exists()
        else None
    )
    return EvaluationContext(
        cut(extract.tables, as_of, contract),
        compute(extract, as_of, contract),
        truth,
        extract.checksums,
    )


def estimate_all(
    context: EvaluationContext, outcomes=OUTCOMES, **options
) -> tuple[dict[str, EffectEstimate], dict[str, pd.DataFrame]]:
    """Panels and estimates for each outcome."""
    panels = {outcome: outcome_panel(context.data, outcome) for outcome in outcomes}
    return {outcome: estimate(panels[outcome], outcome, **options) for outcome in outcomes}, panels


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


def headline_text(estimates: dict[str, EffectEstimate], lang: str) -> str:
    """The effects in words, with their uncertainty."""
    from analysis.render.numbers import number

    lines = []
    for outcome, est in estimates.items():
        low, high = est.simple.overall_ci
        significant = low > 0 or high < 0
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


def prepare(
    data_dir: str,
    as_of: str,
    bootstrap_reps: int,
    quarterly_dir: str,
    subgroups: dict[str, tuple[str, ...]] | None = None,
) -> EvaluationReport:
    """Load and cut the data, compute payments and every effect, protect, and start the results file.

    Disclosure control starts from what the quarterly reports up to ``as_of``
    published (in ``quarterly_dir``). ``subgroups`` names the subgroup tables the
    report shows (outcome → columns of the panel), so that their counts are linked
    to the totals.
    """
    from analysis.config import contract as load_contract
    from analysis.reports.quarterly_view import QuarterlyInputs, protect, record_key_numbers
    from analysis.reports.results import ReportResults

    contract = load_contract()
    context = load_context(data_dir, as_of, contract)
    estimates, panels = estimate_all(context, bootstrap_reps=bootstrap_reps, seed=contract.seed)
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
    return EvaluationReport(contract, context, payments, estimates, panels, results)
