"""Tables, figures and texts of the evaluation reports.

The estimates themselves are computed in :mod:`analysis.effects` and assembled
with disclosure control by :mod:`analysis.reports.stage`; this module presents
them (effects, balance, power, robustness, heterogeneity, sensitivity and budget
economics).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.config import Contract
from analysis.data.asof import AsOfData
from analysis.data.codes import HOUSEHOLD_TYPES
from analysis.did import mde
from analysis.did.checks import estimated
from analysis.effects.areas import reliable
from analysis.effects.balance import balance
from analysis.effects.context import EvaluationContext
from analysis.effects.estimates import EffectEstimate, balanced_window, cohorts_per_event_time
from analysis.effects.panels import OUTCOMES
from analysis.effects.plan import PLAN_FILE, adjust, checksum, load_plan
from analysis.effects.sensitivity import Sensitivity
from analysis.render.numbers import dkk, number, percent
from analysis.render.style import ACCENT, PRIMARY, apply_theme, decimal_commas
from analysis.reports.stage import Subgroups
from analysis.reports.text import t
from analysis.sdc import disclosure

# Outcomes that are shares: their effects are shown in percentage points (table and text alike).
SHARE_OUTCOMES = ("absence_rate", "self_supporting")


def effects_table(estimates: dict[str, EffectEstimate], payments, lang: str) -> pd.DataFrame:
    """Headline table: TWFE and CS simple ATT with 95% intervals, per outcome.

    Effects on a share are in percentage points, as in the summary's sentences.
    """
    rows = []
    for outcome, est in estimates.items():
        share = outcome in SHARE_OUTCOMES
        scale = 100 if share else 1
        name = t(f"outcome.{outcome}", lang)
        rows.append(
            {
                "outcome": t("ev.in_percentage_points", lang, outcome=name) if share else name,
                "TWFE": scale * est.twfe.att,
                "twfe_95pct_ci": _interval(scale * est.twfe.ci_low, scale * est.twfe.ci_high, lang),
                "Callaway–Sant'Anna": scale * est.simple.overall_att,
                "cs_95pct_ci": _interval(*(scale * v for v in est.simple.overall_ci), lang),
                "pre_trend_p": est.attgt.pretest["p_value"],
                "number_of_persons": payments.shown(
                    disclosure.effects_key("persons", outcome, payments.as_of), est.n_persons
                ),
            }
        )
    return pd.DataFrame(rows)


def _interval(low: float, high: float, lang: str) -> str:
    return f"[{number(low, 3, lang)}; {number(high, 3, lang)}]"


def _estimates_with_intervals(ax, table: pd.DataFrame, label: str | None = None) -> None:
    """An event study's estimates by event time, each with its interval (``ci_low``,
    ``ci_high``): the household-clustered one and the area-level one draw them alike."""
    ax.errorbar(
        table["event_time"],
        table["att"],
        yerr=[table["att"] - table["ci_low"], table["ci_high"] - table["att"]],
        fmt="o",
        color=PRIMARY,
        markersize=3,
        capsize=2,
        label=label,
    )


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
        label=t("ev.uniform_band", lang),
    )
    _estimates_with_intervals(ax, table, label=t("ev.att_e_interval", lang))
    if truth:
        events = sorted(int(k) for k in truth)
        ax.plot(
            events,
            [truth[str(e)] for e in events],
            color=ACCENT,
            linestyle="--",
            label=t("ev.true_effect_synthetic", lang),
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
    ax.set_xlabel(t("ev.quarters_since_enrolment", lang))
    ax.set_ylabel(t(f"outcome.{est.outcome}", lang))
    ax.legend(fontsize=8)
    return decimal_commas(fig, lang)


def area_event_study_figure(
    tables: dict[str, pd.DataFrame], estimates: dict[str, EffectEstimate], lang: str
):
    """The area-level event study of every outcome: estimates with area-robust intervals.

    One panel per outcome of ``tables`` (:func:`analysis.effects.areas.area_event_study`),
    at the event times the household-clustered event study of the annex shows (the same
    estimates; only the intervals differ), so the figure publishes no estimate the
    reports do not already show. Estimates are means over every intervention person of
    the cohorts at that event time: no area, household or person is a point.
    """
    apply_theme()
    outcomes = [o for o in OUTCOMES if o in tables and o in estimates]
    columns = 2 if len(outcomes) > 1 else 1
    rows = max(1, -(-len(outcomes) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(7.0, 2.4 * rows + 0.4), squeeze=False)
    for ax in axes.ravel()[len(outcomes) :]:
        ax.set_visible(False)
    for ax, outcome in zip(axes.ravel(), outcomes, strict=False):
        shown = estimates[outcome].dynamic.table["event_time"]
        table = tables[outcome]
        table = table.loc[table["event_time"].isin(shown)]
        ax.axhline(0, color="black", linewidth=0.8)
        ax.axvline(-0.5, color="grey", linestyle=":", linewidth=0.8)
        _, high = balanced_window(estimates[outcome].attgt)
        if len(table) and high < table["event_time"].max():
            ax.axvspan(high + 0.5, table["event_time"].max() + 0.5, color="grey", alpha=0.08, lw=0)
        _estimates_with_intervals(ax, table)
        ax.set_title(t(f"outcome.{outcome}", lang), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[-1]:
        ax.set_xlabel(t("ev.quarters_relative_to_enrolment", lang), fontsize=8)
    fig.tight_layout()
    return decimal_commas(fig, lang)


def area_event_study_caption(tables: dict[str, pd.DataFrame], lang: str) -> str:
    """Caption of the area-level event study (what the intervals are, what they rest on)."""
    pre = min((int(x["event_time"].min()) for x in tables.values() if len(x)), default=-1)
    return t("caption.area_event_study", lang, pre=str(-pre))


def event_study_caption(est: EffectEstimate, lang: str) -> str:
    """Caption of an event study: window, cohorts, aggregation and the uniform band explained."""
    table = est.dynamic.table
    counts = cohorts_per_event_time(est.attgt)
    low, high = int(table["event_time"].min()), int(table["event_time"].max())
    _, balanced_high = balanced_window(est.attgt)
    low = str(low).replace("-", "−")  # typographic minus, as in the report's numbers
    total = int(counts.max()) if len(counts) else 0
    beyond = (
        t("caption.event_study_beyond", lang, balanced_high=balanced_high)
        if balanced_high < high
        else ""
    )
    return t(
        "caption.event_study",
        lang,
        outcome=t(f"outcome.{est.outcome}", lang).lower(),
        low=low,
        high=high,
        total=total,
        balanced_high=balanced_high,
        beyond=beyond,
    )


def not_estimable_text(result, lang: str) -> str:
    """The words "not estimable: <reason>" in ``lang`` for a :class:`~analysis.did.checks.NotEstimated`."""
    return t("ev.not_estimable", lang, reason=t(f"not_estimable.{result.reason}", lang))


def _estimate_cells(result, lang: str) -> tuple[object, str]:
    """An estimate and its 95 % interval as table cells; in words where it is not estimable."""
    if not estimated(result):
        return not_estimable_text(result, lang), ""
    return result.overall_att, _interval(*result.overall_ci, lang)


def covariate_table(
    estimates: dict[str, EffectEstimate], doubly_robust: dict, lang: str
) -> pd.DataFrame:
    """Unconditional CS simple ATT beside the doubly robust one with baseline covariates.

    ``doubly_robust``: :func:`analysis.effects.robustness.covariate_estimate` per
    outcome, as the results stage computed it.
    """
    rows = []
    for outcome, est in estimates.items():
        dr, dr_ci = _estimate_cells(doubly_robust[outcome], lang)
        rows.append(
            {
                "outcome": t(f"outcome.{outcome}", lang),
                "without_covariates": est.simple.overall_att,
                "95pct_ci_without": _interval(*est.simple.overall_ci, lang),
                "doubly_robust": dr,
                "95pct_ci_doubly_robust": dr_ci,
            }
        )
    return pd.DataFrame(rows)


def balance_table(data: AsOfData | pd.DataFrame, lang: str) -> pd.DataFrame:
    """Standardised mean differences at baseline (the quarter before enrolment; 2023Q3 for comparisons).

    ``data`` is the cut extract, or its :func:`analysis.effects.balance.balance` already computed.
    """
    computed = data if isinstance(data, pd.DataFrame) else balance(data)
    labels = {
        **{outcome: t(f"outcome.{outcome}", lang) for outcome in OUTCOMES},
        "open_cases": t("ev.open_cases_at_referral", lang),
    }
    rows = []
    for row in computed.itertuples(index=False):
        rows.append(
            {
                "characteristic": labels[row.characteristic],
                "intervention_mean": row.intervention_mean,
                "comparison_mean": row.comparison_mean,
                "std_difference": row.std_difference,
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

    The area-level MDE is that of the placebo-area test
    (:meth:`analysis.did.inference.AreaTestResult.mde`): the test's critical value
    plus the 80 % quantile of the placebo statistics, times the test's scale; with
    area shocks it is larger than the household-level MDE. The MDE at full
    enrolment (the standard error rescaled to the planned households) is a column
    only while fewer households than planned are enrolled: otherwise it equals
    "now". The MDE at the end of follow-up comes from the size benchmark
    (docs/evaluation.md, "Power").
    """
    short = bool(enrolled_households) and enrolled_households < planned_households
    rows = []
    for outcome, est in estimates.items():
        row = {
            "outcome": t(f"outcome.{outcome}", lang),
            "standard_error": est.simple.overall_se,
            "mde_now": mde(est.simple.overall_se),
        }
        if short:
            row["mde_at_full_enrolment"] = mde(
                est.simple.overall_se, scale_to=planned_households, n_now=enrolled_households
            )
        if areas and outcome in areas:
            row["mde_area_level"] = areas[outcome]["area_mde"]
        rows.append(row)
    return pd.DataFrame(rows)


def adjusted_area_p(areas: dict[str, dict] | None) -> dict[str, float | None]:
    """The area tests' p-values adjusted by the analysis plan's multiplicity rule over the outcomes."""
    if not areas:
        return {}
    return adjust({o: a["area_p"] for o, a in areas.items()}, load_plan())


# The area-level checks beside the verdicts, shown in a table of their own (one table of
# both does not fit a page).
# The wild cluster bootstrap (in the results file) is not shown: with three treated areas it
# is known to misstate its size, and the size benchmark (docs/evaluation.md) does not measure
# it at the number of extracts the shown tests are measured at.
AREA_CHECKS = ("p_pretrend_areas", "p_anticipation_areas")


def area_inference_table(
    estimates: dict[str, EffectEstimate], areas: dict[str, dict], lang: str
) -> pd.DataFrame:
    """Per outcome: CS estimate, household and area-robust intervals, area p (Holm-adjusted; the
    raw p is in the results file and the text: ten columns do not fit a page),
    area pre-trend and anticipation p and the verdict of the analysis plan's rule. The
    household interval is left out when every outcome has an area test.

    An outcome whose area-level test the data do not allow (too few areas for the
    placebo assignments the test's level needs; the plan annex lists it as a
    departure) keeps its row: the area cells say so in words, and its verdict rests
    on the household-clustered interval (:func:`analysis.effects.areas.reliable`).
    ``attrs["assignments"]`` is the number of placebo assignments, None without any
    area test.
    """
    plan = load_plan()
    areas = areas or {}
    adjusted = adjusted_area_p(areas)
    not_possible = t("ev.not_estimable", lang, reason=t("not_estimable.too_few_clusters", lang))
    rows = []
    for outcome, est in estimates.items():
        area = areas.get(outcome)
        rows.append(
            {
                "outcome": t(f"outcome.{outcome}", lang),
                "estimate_cs": est.simple.overall_att,
                "ci_household_clusters": _interval(*est.simple.overall_ci, lang),
                "ci_area_robust": (
                    not_possible
                    if area is None
                    else _interval(area["area_ci_low"], area["area_ci_high"], lang)
                ),
                "p_area_adjusted": adjusted.get(outcome),
                "p_pretrend_areas": None if area is None else area["pretrend_area_p"],
                "p_anticipation_areas": None if area is None else area.get("anticipation_area_p"),
                "statistically_reliable": (
                    t("ev.yes", lang)
                    if reliable(est, area, adjusted.get(outcome), plan.alpha)
                    else t("ev.no", lang)
                ),
            }
        )
    frame = pd.DataFrame(rows)
    if estimates and all(o in areas for o in estimates):
        # Every verdict rests on the area test: the household-clustered interval, which
        # ignores area shocks, is in the annex of household-clustered estimates only.
        frame = frame.drop(columns="ci_household_clusters")
    first = next(iter(areas.values()), None)
    frame.attrs["assignments"] = None if first is None else number(first["area_placebos"], 0, lang)
    return frame


def area_inference_caption(table: pd.DataFrame, lang: str) -> str:
    """The caption of :func:`area_inference_table`: how the area test works, or that the
    data allow none and the verdicts rest on the household-clustered interval."""
    if table.attrs.get("assignments") is None:
        return t("caption.tbl-area-inference-none", lang)
    return t("caption.tbl-area-inference", lang, assignments=table.attrs["assignments"])


def area_inference_text(areas: dict[str, dict], lang: str) -> str:
    """How the area-level test and interval work, and why the wild cluster bootstrap does not decide."""
    first = next(iter(areas.values()))
    k, n, count = first["areas_intervention"], first["areas_total"], first["area_placebos"]
    return t(
        "text.area_inference",
        lang,
        k=k,
        others=n - k,
        n=n,
        count=number(count, 0, lang),
    )


def robustness_table(
    est: EffectEstimate, not_yet, lang: str, synthetic=None
) -> tuple[pd.DataFrame, dict]:
    """Never- vs not-yet-treated comparison for one outcome, and the synthetic DiD at area level.

    ``not_yet``: :func:`analysis.effects.robustness.not_yet_estimate`, as the results
    stage computed it (in words where it is not estimable; its number then None).
    ``synthetic``: the stage's :func:`analysis.reports.stage.synthetic_did_numbers`
    (a row labelled as deciding nothing; no row when the stage has none).
    """
    value, interval = _estimate_cells(not_yet, lang)
    rows = [
        {
            "analysis": t("ev.cs_never_treated_comparison", lang),
            "ev_estimate": est.simple.overall_att,
            "ev_ci": _interval(*est.simple.overall_ci, lang),
        },
        {
            "analysis": t("ev.cs_not_yet_treated_comparison", lang),
            "ev_estimate": value,
            "ev_ci": interval,
        },
    ]
    numbers = {"not_yet_att": not_yet.overall_att if estimated(not_yet) else None}
    if synthetic is not None:
        if estimated(synthetic):
            cells = synthetic["att"], _interval(synthetic["ci_low"], synthetic["ci_high"], lang)
            numbers.update(
                sdid_att=synthetic["att"],
                sdid_ci_low=synthetic["ci_low"],
                sdid_ci_high=synthetic["ci_high"],
            )
        else:
            cells = not_estimable_text(synthetic, lang), ""
        rows.append(
            {
                "analysis": t("ev.synthetic_did_areas", lang),
                "ev_estimate": cells[0],
                "ev_ci": cells[1],
            }
        )
    return pd.DataFrame(rows), numbers


def sensitivity_target(sens: Sensitivity, lang: str) -> str:
    """The target parameter in words: the headline simple ATT over post quarters 0 … last."""
    last = sens.num_post - 1
    return t("text.sensitivity_target", lang, last=last)


def sensitivity_covariance_text(sensitivity: dict[str, Sensitivity], areas: dict, lang: str) -> str:
    """Which covariance the sensitivity's intervals rest on, for the methods of ``_sensitivity.md``.

    Area placebos (:attr:`Sensitivity.covariance` ``"area"``): the interval at M̄ = 0 is
    the verdict's area-robust interval, with the number of placebo choices of the
    area test (``areas``, :func:`analysis.effects.areas.area_inference`); outcomes
    whose intervals are household-clustered (the plan's ``sensitivity.covariance``,
    or no area test) are named.
    """
    household = [o for o, sens in sensitivity.items() if sens.covariance != "area"]
    area = [o for o in sensitivity if o not in household]
    parts = []
    if area:
        count = areas[area[0]]["area_placebos"]
        parts.append(t("text.sensitivity_covariance_area", lang, count=number(count, 0, lang)))
    if household:
        names = ", ".join(t(f"outcome.{o}", lang).lower() for o in household)
        which = t("text.sensitivity_covariance_household_for", lang, outcomes=names) if area else ""
        parts.append(t("text.sensitivity_covariance_household", lang, outcomes=which))
    return " ".join(parts)


def sensitivity_summary_text(sensitivity: dict[str, Sensitivity], lang: str) -> str:
    """One sentence for the summary: whether the sensitivity rests on the area-robust interval."""
    if sensitivity and all(sens.covariance == "area" for sens in sensitivity.values()):
        return t("text.sensitivity_summary_area", lang)
    return t("text.sensitivity_summary_household", lang)


def plan_annex(lang: str, departures: list | None = None) -> str:
    """The registered analysis plan as an annex: its SHA-256, the file itself and the departures."""
    text = PLAN_FILE.read_text(encoding="utf-8").rstrip()
    lines = [
        t("text.plan_annex", lang, path="config/analysis_plan.yaml", sha=checksum()),
        "",
        "```yaml",
        text,
        "```",
        "",
    ]
    if departures:
        lines.append(t("text.plan_departures", lang))
        lines.append("")
        for item in departures:
            outcome = t("outcome." + item["outcome"], lang)
            analysis = t("text.departure_" + item["analysis"], lang)
            lines.append(f"- {outcome}: {analysis} ({item['reason']})")
    else:
        lines.append(t("text.plan_no_departures", lang))
    return "\n".join(lines)


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
        label=t("ev.robust_95pct_interval", lang),
    )
    ax.vlines(
        [-0.15],
        [sens.original[0]],
        [sens.original[1]],
        color=ACCENT,
        linewidth=2.2,
        # At M̄ = 0 the interval is the one the covariance gives: with the area
        # placebos it is the verdict's area-robust interval, not a classic one.
        label=t(
            "ev.parallel_trends_area"
            if sens.covariance == "area"
            else "ev.parallel_trends_classic",
            lang,
        ),
    )
    if np.isfinite(sens.breakdown):
        ax.axvline(sens.breakdown, color="grey", linestyle="--", linewidth=0.9)
        ax.annotate(
            t("ev.breakdown_m", lang) + number(sens.breakdown, 2, lang),
            (sens.breakdown, ax.get_ylim()[1]),
            xytext=(4, -12),
            textcoords="offset points",
            fontsize=8,
        )
    ax.set_xlabel(t("ev.m_relative_magnitudes", lang))
    ax.set_ylabel(t(f"outcome.{sens.outcome}", lang))
    ax.legend(fontsize=7, loc="lower left")
    return decimal_commas(fig, lang)


def heterogeneity_table(groups: Subgroups, names: dict, lang: str, payments) -> pd.DataFrame:
    """CS simple ATT for the intervention units of each subgroup against all comparison units.

    A subgroup whose count disclosure control hides (small, or hidden so that a
    small one cannot be worked out from the treated total) is listed with every
    cell hidden: an effect estimated on a few persons describes those persons.
    ``groups``: the subgroups of one outcome by one column as the results stage
    stored them (:meth:`analysis.reports.stage.StageExtras.subgroup`); ``names``
    the subgroup values' names.
    """
    outcome, by, estimates, persons = groups.outcome, groups.by, groups.estimates, groups.persons
    rows = []
    for value, n in persons.items():
        label = names.get(value, value)
        if payments.is_hidden(disclosure.subgroup_key(outcome, by, value, payments.as_of)):
            rows.append({"group": label, "number_of_persons": "*", "ATT": "*", "att_ci": "*"})
            continue
        result = estimates.get(value)
        if result is None:
            continue
        att, interval = _estimate_cells(result, lang)
        rows.append({"group": label, "number_of_persons": n, "ATT": att, "att_ci": interval})
    return pd.DataFrame(rows)


def household_type_names(lang: str) -> dict[str, str]:
    """The household types' names in ``lang`` (``analysis.data.codes.HOUSEHOLD_TYPES``)."""
    position = {"en": 0, "da": 1}[lang]
    return {key: names[position] for key, names in HOUSEHOLD_TYPES.items()}


def budget_table(
    estimates: dict[str, EffectEstimate], contract: Contract, lang: str, payments
) -> tuple[pd.DataFrame, dict]:
    """Public-finance gains from the estimated effects against the programme's cost (SØM style).

    Two costs, both in the summary: what the municipality pays in outcome payments
    (the ledger's settled total: paid to date and settled but not yet paid) and the
    foundations' investment that financed the intervention.
    """
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
                "outcome": t(f"outcome.{outcome}", lang),
                "number_of_persons": "*" if hidden else est.n_treated_persons,
                "gain_dkk": "*" if hidden else round(gain),
                "lower_dkk": "*" if hidden else round(low),
                "upper_dkk": "*" if hidden else round(high),
            }
        )
    total = sum(gains.values())
    paid = float(payments.key["payments_settled_total"])
    summary = {
        # With a gain hidden, the total minus the shown one would give it back.
        "total_gain": "*" if any_hidden else total,
        "outcome_payments": paid,
        "investment": contract.investment.total,
        "net": "*" if any_hidden else total - paid,
        "gains_exceed_payments": bool(total > paid),
        "gains_exceed_investment": bool(total > contract.investment.total),
        "annuity_factor": annuity,
    }
    return pd.DataFrame(rows), summary


def budget_text(summary: dict, contract: Contract, lang: str) -> str:
    """The budget-economic result in one sentence."""
    rate = percent(contract.budget_economics.discount_rate, 1, lang)
    years = contract.budget_economics.horizon_years
    total = summary["total_gain"]
    gain = total if total == "*" else dkk(total, lang)
    verdicts = {
        name: t(
            "text.budget_exceeds" if summary[f"gains_exceed_{name}"] else "text.budget_not_covered",
            lang,
        )
        for name in ("payments", "investment")
    }
    return t(
        "text.budget",
        lang,
        years=years,
        gain=gain,
        rate=rate,
        verdict=verdicts["payments"],
        payments=dkk(summary["outcome_payments"], lang),
        verdict_investment=verdicts["investment"],
        investment=dkk(summary["investment"], lang),
    )


def truth_heading(context: EvaluationContext, lang: str) -> str:
    """The heading of the check against the generator's truth: only on synthetic data."""
    return f"## {t('h.truth', lang)}" if context.truth else ""


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
                "outcome": t(f"outcome.{outcome}", lang),
                "true_effect": true,
                "ev_estimate": est.simple.overall_att,
                "covered": t("ev.yes", lang) if low <= true <= high else t("ev.no", lang),
            }
        )
    return pd.DataFrame(rows)


def headline_text(
    estimates: dict[str, EffectEstimate], lang: str, areas: dict[str, dict] | None = None
) -> str:
    """The effects in words, each with its area-robust interval and the verdict of the analysis
    plan's rule (:func:`analysis.effects.areas.reliable`, adjusted p).

    The household-clustered interval ignores area shocks and is only in the annex; an
    outcome without an area test (too few areas) gets it, said to be household-clustered,
    as its verdict rests on it."""
    plan = load_plan()
    adjusted = adjusted_area_p(areas)
    lines = []
    for outcome, est in estimates.items():
        low, high = est.simple.overall_ci
        area = (areas or {}).get(outcome)
        significant = reliable(est, area, adjusted.get(outcome), plan.alpha)
        pretrend_p = est.attgt.pretest["p_value"]
        if plan.pre_trends.test == "area_placebo_leads" and area is not None:
            pretrend_p = area["pretrend_area_p"]
        scale, unit, decimals = (
            (100, t("ev.percentage_points", lang), 1) if outcome in SHARE_OUTCOMES else (1, "", 2)
        )
        value = number(scale * est.simple.overall_att, decimals, lang)

        def interval(a, b, scale=scale, decimals=decimals):
            return t(
                "text.interval_to",
                lang,
                low=number(scale * a, decimals, lang),
                high=number(scale * b, decimals, lang),
            )

        if area is not None:
            low, high = area["area_ci_low"], area["area_ci_high"]
        caveat = (
            t("text.pretrend_caveat", lang, p=number(pretrend_p, 3, lang))
            if pretrend_p is not None and pretrend_p < 0.05
            else ""
        )
        lines.append(
            t(
                "text.headline_item" if area is None else "text.headline_item_area",
                lang,
                label=t(f"outcome.{outcome}", lang),
                value=value,
                unit=unit,
                interval=interval(low, high),
                area="",
                p="" if area is None else number(adjusted[outcome], 3, lang),
                verdict=t("text.significant" if significant else "text.not_significant", lang),
                caveat=caveat,
            )
        )
    return "\n".join(lines)


def twfe_vs_cs_text(estimates: dict[str, EffectEstimate], lang: str) -> str:
    """Why TWFE and Callaway–Sant'Anna differ, with the largest difference computed."""
    gaps = {o: est.twfe.att - est.simple.overall_att for o, est in estimates.items()}
    largest = max(gaps, key=lambda o: abs(gaps[o]))
    relative = (
        abs(gaps[largest]) / abs(estimates[largest].simple.overall_att)
        if estimates[largest].simple.overall_att
        else float("nan")
    )
    return t(
        "text.twfe_vs_cs",
        lang,
        outcome=t(f"outcome.{largest}", lang).lower(),
        gap=number(gaps[largest], 3, lang),
        share=number(100 * relative, 0, lang),
    )
