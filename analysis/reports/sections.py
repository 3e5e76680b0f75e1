"""What the evaluation notebooks show beyond single tables: summary values, event studies, sensitivity.

The prose of the evaluation reports is in the notebooks' Markdown cells (and the
Markdown files they include); these functions give it its values and draw the
figures that several notebooks show alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from analysis import quarters
from analysis.effects.areas import reliable
from analysis.effects.plan import load_plan
from analysis.payments.periods import result_periods
from analysis.render import show
from analysis.render.numbers import dkk, number, quarter
from analysis.reports import evaluation as ev
from analysis.reports import quarterly_view as view
from analysis.reports.stage import EvaluationReport
from analysis.reports.text import t

EV = "analysis.reports.evaluation"


@dataclass(frozen=True)
class EvaluationSummary(view.SummaryValues):
    """The evaluation summary's values: the quarterly summary's, and the effects in words."""

    # The effects in one paragraph (:func:`analysis.reports.evaluation.headline_text`).
    headline: str
    # Why the effects and the repayment differ, when they do (:func:`effect_and_payment_text`).
    why: str


def summary_values(report: EvaluationReport, lang: str) -> EvaluationSummary:
    """The summary's values: the quarterly summary (``s``), the effects in words and why payments differ."""
    return EvaluationSummary(
        **asdict(view.summary_values(report.payments, report.contract, lang)),
        headline=ev.headline_text(report.estimates, lang, report.areas),
        why=effect_and_payment_text(report, lang),
    )


def effect_and_payment_text(report: EvaluationReport, lang: str) -> str:
    """Why a significant effect can come with a small repayment, or the reverse, when that is so.

    Payments follow the rate card (achievements × price, the absence estimate ×
    pupil-years × price), not the estimated effects: gross achievements include
    what would have happened anyway, and prices decide how much each is worth.
    """
    alpha = load_plan().alpha
    adjusted = ev.adjusted_area_p(report.areas)
    significant = [
        o
        for o, est in report.estimates.items()
        if reliable(est, (report.areas or {}).get(o), adjusted.get(o), alpha)
    ]
    key = report.payments.key
    expected = (
        float(report.payments.tables["investors"]["repaid"].sum())
        if key["final_settlement_paid"]
        else view.rounded_forecast(key["projected_paid_median"], report.contract)
    )
    total = report.contract.investment.total
    values = {"expected": dkk(expected, lang), "total": dkk(total, lang)}
    if significant and expected < total:
        return t(
            "text.effect_small_repayment",
            lang,
            significant=len(significant),
            outcomes=len(report.estimates),
            **values,
        )
    if not significant and expected >= total:
        return t("text.no_effect_repayment", lang, **values)
    return ""


def event_study(report: EvaluationReport, outcome: str, lang: str) -> None:
    """The event study of ``outcome``, with the generator's true effect on synthetic data."""
    truth = (report.context.truth or {}).get(outcome, {}).get("by_event_time")
    show.figure(
        ev.event_study_figure(report.estimates[outcome], lang, truth),
        caption=ev.event_study_caption(report.estimates[outcome], lang),
        source=f"{EV}.event_study_figure",
    )


def area_event_study(report: EvaluationReport, lang: str) -> None:
    """The area-level event study of every outcome (if computed), with its caption."""
    tables = report.area_events or {}
    if not tables:
        return
    show.figure(
        ev.area_event_study_figure(tables, report.estimates, lang),
        caption=ev.area_event_study_caption(tables, lang),
        source=f"{EV}.area_event_study_figure",
    )


def sensitivity(report: EvaluationReport, outcome: str, lang: str) -> None:
    """Rambachan–Roth sensitivity of ``outcome`` to violations of parallel trends (if computed)."""
    sens = report.sensitivity.get(outcome)
    if sens is None:
        return
    breakdown = (
        t("text.no_breakdown", lang)
        if sens.breakdown == float("inf")
        else number(sens.breakdown, 2, lang)
    )
    show.figure(
        ev.sensitivity_figure(sens, lang),
        caption=t(
            "caption.sensitivity",
            lang,
            outcome=t(f"outcome.{outcome}", lang).lower(),
            target=ev.sensitivity_target(sens, lang),
            breakdown=breakdown,
        ),
        source=f"{EV}.sensitivity_figure",
    )


@dataclass(frozen=True)
class EvaluationMethodsValues:
    """The values of the evaluation's methods section (``notebooks/_evaluation_methods.md``)."""

    # The disclosure control's minimum persons per published count, and one below it.
    minimum: int
    below: int
    # The quarter the last result period ends, in words (empty without periods).
    last_period_end: str
    # The area-level inference in words (empty when the stage has none).
    area: str
    # Which covariance the sensitivity's intervals rest on (``_sensitivity.md``), and
    # the same in one sentence for the summary.
    sensitivity: str
    sensitivity_summary: str


def methods_values(report: EvaluationReport, lang: str) -> EvaluationMethodsValues:
    """The values of the evaluation's methods section (``notebooks/_evaluation_methods.md``)."""
    minimum = report.contract.disclosure.min_persons
    # Until the last result period ends every achievement falls in a shown period.
    periods = result_periods(report.contract)
    last_period_end = quarter(quarters.from_index(periods[-1].last), lang) if periods else ""
    return EvaluationMethodsValues(
        minimum=minimum,
        below=minimum - 1,
        last_period_end=last_period_end,
        area=ev.area_inference_text(report.areas, lang) if report.areas else "",
        sensitivity=ev.sensitivity_covariance_text(
            report.sensitivity or {}, report.areas or {}, lang
        ),
        sensitivity_summary=ev.sensitivity_summary_text(report.sensitivity or {}, lang),
    )
