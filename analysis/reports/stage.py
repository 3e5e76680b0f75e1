"""The results stage of an evaluation report: everything it shows, computed once for all languages.

``python -m analysis evaluate <kind>`` runs :func:`write`: it cuts the extract at
the report's quarter, reads the payments to date from the quarterly results and
the settlement ledger, estimates every outcome (TWFE, Callaway–Sant'Anna with its
aggregations and bootstrap), the area-level randomization inference, the
pre-trend sensitivity, the baseline balance, and what the report kind's parameter file asks for under
``stage`` (doubly robust estimates with covariates, the not-yet-treated
comparison, subgroup effects), applies disclosure control, and stores it all in
``data/results/<kind>/<as_of>/`` (JSON and Parquet, :mod:`analysis.codec`) with
its ``provenance.json``, whole or nothing. The notebook of each language reads
it back with :func:`load` and only presents it. Nothing stored has a row or an
array per person: the estimates lose their influence functions
(:func:`analysis.effects.estimates.without_unit_arrays`) and the subgroup tables
get their person counts instead of the panels.

What does not depend on the quarterly results (the estimates, area inference,
sensitivity, balance and the ``stage`` extras: nearly all of the stage's work) can
be computed first and on its own, from the extract alone: ``python -m analysis
evaluate <kind> --estimates-only`` (:func:`write_estimates`) stores it, and
``evaluate <kind> --estimates <folder>`` reads it instead of computing it. ``make``
does so, so that the estimation runs beside the chain of quarterly results, on
which only the payments and their disclosure control wait.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import atomic, codec, provenance
from analysis.config import Contract, load_contract
from analysis.data.asof import as_of as cut
from analysis.data.validate import load_extract
from analysis.did.checks import EstimationError, estimated
from analysis.effects import plan as registered
from analysis.effects.areas import area_event_study, area_inference, match_level, reliable
from analysis.effects.balance import balance
from analysis.effects.context import EvaluationContext, load_context
from analysis.effects.estimates import EffectEstimate, estimate_all, without_unit_arrays
from analysis.effects.panels import OUTCOMES, estimation_panels
from analysis.effects.plan import load_plan
from analysis.effects.robustness import (
    covariate_estimate,
    not_yet_estimate,
    subgroup_estimates,
    synthetic_did_estimate,
)
from analysis.effects.sensitivity import sensitivity_all
from analysis.reports.kinds import ReportKind
from analysis.reports.results import ReportResults
from analysis.sdc import disclosure
from analysis.sdc.quarterly import QuarterlyInputs, protect, record_key_numbers

# What the stage stores beside the evaluation report (names of EvaluationReport fields
# are stored as they are; the contract is read again from the configuration).
EXTRA = "extra"


@dataclass
class Subgroups:
    """One outcome's effects per subgroup of one panel column, with each subgroup's persons."""

    outcome: str
    by: str
    # Subgroup value -> :func:`analysis.effects.robustness.subgroup_estimates`' result.
    estimates: dict
    # Subgroup value -> persons of the intervention group (:func:`disclosure.subgroup_persons`).
    persons: dict[str, int]


@dataclass
class StageExtras:
    """What an evaluation shows beyond the estimates of every outcome (the kind's ``stage`` settings).

    Outcome names and panel columns stay keys (they are the report's parameters,
    as in ``sections.event_study(report, "ladder_step", lang)``); a notebook reads
    one subgroup table with :meth:`subgroup`.
    """

    # The baseline balance (:func:`analysis.effects.balance.balance`), before labelling.
    balance: pd.DataFrame
    # Outcome -> column -> subgroup value -> estimate.
    subgroups: dict[str, dict[str, dict]]
    # Outcome -> column -> subgroup value -> persons (:func:`disclosure.subgroup_persons`).
    subgroup_persons: dict[str, dict[str, dict[str, int]]]
    # Outcome -> the not-yet-treated comparison (:func:`analysis.effects.robustness.not_yet_estimate`).
    not_yet: dict
    # Outcome -> the doubly robust estimate with covariates, when the kind asks for it.
    doubly_robust: dict | None = None
    # Outcome -> the synthetic DiD at area level (:func:`synthetic_did_numbers`), for the
    # robustness outcomes; None in a stage stored before it existed.
    synthetic_did: dict | None = None

    def subgroup(self, outcome: str, by: str) -> Subgroups:
        """The subgroup effects of ``outcome`` by ``by``, with their person counts."""
        return Subgroups(
            outcome, by, self.subgroups[outcome][by], self.subgroup_persons[outcome][by]
        )


@dataclass
class Effects:
    """What the stage estimates from the extract alone (no payments): :func:`write_estimates` stores it.

    ``panels`` are the person-level estimation panels while computed, None once
    stored; ``extras``, ``checksums`` and ``as_of`` are set when stored (the extract
    and quarter they were estimated from, checked when read back).
    """

    estimates: dict[str, EffectEstimate]
    # Outcome -> area-level inference (:func:`analysis.effects.areas.area_inference`).
    areas: dict[str, dict]
    # Outcome -> pre-trend sensitivity (:func:`analysis.effects.sensitivity.sensitivity_all`).
    sensitivity: dict
    # Where the analysis did not follow the registered plan.
    departures: list[dict]
    panels: dict[str, pd.DataFrame] | None = None
    extras: StageExtras | None = None
    checksums: dict[str, str] | None = None
    as_of: str | None = None
    # Outcome -> area-level event study (:func:`analysis.effects.areas.area_event_study`).
    area_events: dict[str, pd.DataFrame] | None = None


@dataclass
class EvaluationReport:
    """What every evaluation notebook starts from."""

    contract: Contract
    context: EvaluationContext
    # The payments to date under the report's disclosure control (analysis.sdc.quarterly).
    payments: QuarterlyInputs
    estimates: dict[str, EffectEstimate]
    # The person-level estimation panels while the stage is computed; None once
    # stored (:func:`write`): a notebook reads estimates and counts, never persons.
    panels: dict[str, pd.DataFrame] | None
    results: ReportResults
    sensitivity: dict | None = None  # outcome -> pre-trend sensitivity (sensitivity_all)
    areas: dict | None = None  # area-level inference per outcome (area_inference)
    departures: list | None = (
        None  # where the analysis did not follow the plan (analysis.effects.plan)
    )
    # Outcome -> area-level event study (analysis.effects.areas.area_event_study).
    area_events: dict | None = None


def jobs() -> int:
    """Processes for the per-outcome sensitivity analyses: ``ANALYSIS_JOBS``, else the CPUs (at most 4)."""
    if os.environ.get("ANALYSIS_JOBS"):
        return max(1, int(os.environ["ANALYSIS_JOBS"]))
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, usable or 1))


def verdict_test_options(plan, panels: dict, outcome: str, seed: int) -> dict:
    """The options of ``outcome``'s area test the verdict rests on (level, seed, matching):
    :func:`analysis.effects.areas.area_inference` runs it with them, and the sensitivity's
    area covariance (:func:`sensitivity_area_tests`) repeats it with the same."""
    return {
        "alpha": plan.alpha,
        "seed": seed,
        "match_bins": plan.inference.area_match_bins,
        "match_level": match_level(plan, panels, outcome),
    }


def sensitivity_area_tests(plan, panels: dict, areas: dict, seed: int) -> dict[str, dict]:
    """Outcome → the options of the area test whose placebos give its sensitivity's covariance.

    For :func:`analysis.effects.sensitivity.sensitivity_all`'s ``area_tests``: with the
    plan's ``sensitivity.covariance: area_placebos`` every outcome with an area test
    (``areas``) gets the options of the verdict's test (level, seed, matching: those
    :func:`analysis.effects.areas.area_inference` gives its test), so that the
    sensitivity's interval at M̄ = 0 is the verdict's area-robust interval; with
    ``household_cluster`` none does.
    """
    if plan.sensitivity.covariance != "area_placebos":
        return {}
    return {outcome: verdict_test_options(plan, panels, outcome, seed) for outcome in areas}


def _effects(extract, as_of: str, contract: Contract, bootstrap_reps: int) -> Effects:
    """Panels, estimates, area inference and sensitivity of every outcome (no payments needed).

    The choices come from the registered analysis plan (``config/analysis_plan.yaml``):
    the level of the area test, the pre-periods, the M̄ grid and the event study's
    covariance of the sensitivity analysis; an analysis that cannot be made as planned
    is listed in ``departures``.
    """
    plan = load_plan()
    # DuckDB builds the panels out of core from Parquet register files, pandas from CSV ones.
    panels = estimation_panels(extract, as_of, contract, OUTCOMES)
    estimates, panels = estimate_all(
        None, panels=panels, bootstrap_reps=bootstrap_reps, seed=contract.seed
    )
    departures = []
    areas, area_events = {}, {}
    for outcome, panel in panels.items():
        options = {
            **verdict_test_options(plan, panels, outcome, contract.seed),
            "pre_periods": plan.sensitivity.pre_periods,
            "pre_match": plan.pre_trends.match_placebos,
        }
        try:
            areas[outcome] = area_inference(panel, max(bootstrap_reps, 99), **options)
        except EstimationError as error:
            departures.append({"outcome": outcome, "analysis": "area_test", "reason": str(error)})
            continue
        area_events[outcome] = area_event_study(panel, **options)
    analyses = sensitivity_all(
        panels,
        contract.seed,
        jobs=jobs(),
        area_tests=sensitivity_area_tests(plan, panels, areas, contract.seed),
        pre_periods=plan.sensitivity.pre_periods,
        m_bars=plan.m_bar_grid(),
    )
    sensitivity = {}
    for outcome, sens in zip(panels, analyses, strict=True):
        if sens is None:
            departures.append(
                {"outcome": outcome, "analysis": "sensitivity", "reason": "too few periods"}
            )
            continue
        sensitivity[outcome] = sens
        if plan.sensitivity.covariance == "area_placebos" and sens.covariance != "area":
            departures.append(
                {
                    "outcome": outcome,
                    "analysis": "sensitivity_covariance",
                    "reason": "no area test",
                }
            )
    return Effects(estimates, areas, sensitivity, departures, panels, area_events=area_events)


def prepare(
    data_dir: str,
    as_of: str,
    bootstrap_reps: int,
    quarterly_dir: str,
    subgroups: dict[str, tuple[str, ...]] | None = None,
    config: str | None = None,
    effects: Effects | None = None,
    contract: Contract | None = None,
) -> EvaluationReport:
    """Load and cut the data, compute payments and every effect, protect, and start the results file.

    Disclosure control starts from what the quarterly reports up to ``as_of``
    published (in ``quarterly_dir``). ``subgroups`` names the subgroup tables the
    report shows (outcome → columns of the panel), so that their counts are linked
    to the totals. ``config`` is the contract file (default: ``config/contract.yaml``).
    ``effects``: the estimates as :func:`write_estimates` stored them (computed here
    when None). ``contract``: the contract already read (else read from ``config``).
    """
    if contract is None:
        contract = load_contract(config) if config else load_contract()
    context = load_context(data_dir, as_of, contract, quarterly_dir)
    if effects is None:
        effects = _effects(context.extract, as_of, contract, bootstrap_reps)
    estimates, panels = effects.estimates, effects.panels
    # The subgroups' person counts: stored with the estimates (their panels are not),
    # else counted here.
    persons = (
        effects.extras.subgroup_persons
        if effects.extras is not None
        else _subgroup_persons(panels, subgroups or {})
    )
    payments = protect(
        QuarterlyInputs(as_of, context.quarterly.tables, context.quarterly.key_numbers),
        contract,
        disclosure.read_published(quarterly_dir, as_of, include=True, contract=contract),
        more=lambda cells: disclosure.effect_cells(cells, estimates, persons, as_of),
    )

    plan = registered.load_plan()
    results = ReportResults()
    # The plan's checksum beside the data's: the colophon prints both.
    results.set_inputs({**context.checksums, registered.PLAN_FILE.name: registered.checksum()})
    record_effects(results, estimates, payments)
    record_key_numbers(results, payments, contract)
    areas = effects.areas
    adjusted = registered.adjust({o: a["area_p"] for o, a in areas.items()}, plan)
    for outcome, area in areas.items():
        results.add_many(
            f"area_inference.{outcome}", {**area, "area_p_adjusted": adjusted[outcome]}
        )
    for outcome, est in estimates.items():
        results.add(
            f"verdict.{outcome}.reliable",
            reliable(est, areas.get(outcome), adjusted.get(outcome), plan.alpha),
        )
    area_events = effects.area_events or {}
    record_area_events(results, area_events)
    sensitivity = effects.sensitivity
    for outcome, sens in sensitivity.items():
        results.add(f"sensitivity.{outcome}.breakdown_m_bar", sens.breakdown)
    departures = list(effects.departures)
    return EvaluationReport(
        contract,
        context,
        payments,
        estimates,
        panels,
        results,
        sensitivity,
        areas,
        departures,
        area_events,
    )


def record_area_events(results, area_events: dict[str, pd.DataFrame]) -> None:
    """Put the area-level event study (estimate, interval, p per event time) into the results file."""
    for outcome, table in area_events.items():
        for row in table.itertuples(index=False):
            results.add_many(
                f"area_event_study.{outcome}.{row.event_time}",
                {"att": row.att, "ci_low": row.ci_low, "ci_high": row.ci_high, "p": row.p},
            )


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


@dataclasses.dataclass
class StagedEvaluation:
    """What an evaluation notebook reads: the report and the extra estimates."""

    report: EvaluationReport
    extra: StageExtras


def options(kind: ReportKind) -> dict:
    """The kind's ``stage`` settings: subgroups, covariates, robustness outcomes."""
    stage = kind.extra.get("stage") or {}
    return {
        "subgroups": {k: tuple(v) for k, v in (stage.get("subgroups") or {}).items()},
        "covariates": bool(stage.get("covariates", False)),
        "robustness": list(stage.get("robustness") or []),
    }


def _subgroup_persons(panels: dict[str, pd.DataFrame], subgroups: dict) -> dict:
    """outcome → column → :func:`analysis.sdc.disclosure.subgroup_persons`, for ``subgroups``."""
    return {
        outcome: {by: disclosure.subgroup_persons(panels[outcome], by) for by in columns}
        for outcome, columns in subgroups.items()
    }


def synthetic_did_numbers(panel: pd.DataFrame, seed: int):
    """The area-level synthetic DiD of one outcome as the stage stores it: its numbers only
    (``att``, ``se``, ``ci_low``, ``ci_high``, ``p``, ``cohorts``, ``comparison_areas``), or
    :class:`analysis.did.checks.NotEstimated`. Every number is an aggregate over all
    cohorts' persons; no cohort's or area's mean is stored."""
    result = synthetic_did_estimate(panel, seed=seed)
    if not estimated(result):
        return result
    return {
        "att": result.att,
        "se": result.se,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "p": result.p_value,
        "cohorts": len(result.cohorts),
        "comparison_areas": result.n_comparison,
    }


def _extra(settings: dict, data, panels: dict[str, pd.DataFrame], seed: int) -> StageExtras:
    """The balance table and what the kind's ``stage`` settings ask for.

    Subgroups come with their person counts, so that the heterogeneity tables need
    no person-level panel. ``seed``: the contract's, for the synthetic DiD's placebo draws.
    """
    # The balance table is all the reports use of the cut extract: its numbers are
    # stored (labelled per language when read), so the stage does not store the extract.
    return StageExtras(
        balance=balance(data),
        subgroups={
            outcome: {by: subgroup_estimates(panels[outcome], by) for by in columns}
            for outcome, columns in settings["subgroups"].items()
        },
        subgroup_persons=_subgroup_persons(panels, settings["subgroups"]),
        not_yet={outcome: not_yet_estimate(panels[outcome]) for outcome in settings["robustness"]},
        doubly_robust={outcome: covariate_estimate(panel) for outcome, panel in panels.items()}
        if settings["covariates"]
        else None,
        synthetic_did={
            outcome: synthetic_did_numbers(panels[outcome], seed)
            for outcome in settings["robustness"]
        },
    )


def compute(
    kind: ReportKind,
    as_of: str,
    data_dir: Path,
    quarterly_dir: Path,
    config: Path,
    estimates: Path | None = None,
    contract: Contract | None = None,
) -> StagedEvaluation:
    """Every number, table input and estimate the report of ``kind`` shows.

    ``estimates``: a folder of :func:`write_estimates` for the same kind, quarter,
    extract and contract, read instead of estimating again. ``contract``: the
    contract of ``config`` already read (read here when None).
    """
    settings = options(kind)
    stored = load_estimates(estimates) if estimates is not None else None
    report = prepare(
        str(data_dir),
        as_of,
        int(kind.extra["bootstrap_reps"]),
        str(quarterly_dir),
        subgroups=settings["subgroups"] or None,
        config=str(config),
        effects=stored,
        contract=contract,
    )
    if stored is not None:
        if stored.checksums != report.context.checksums or stored.as_of != as_of:
            raise ValueError(f"{estimates}: estimated from another extract or quarter")
        return StagedEvaluation(report, stored.extras)
    return StagedEvaluation(
        report, _extra(settings, report.context.data, report.panels, report.contract.seed)
    )


def write_estimates(
    kind: ReportKind,
    as_of: str,
    data_dir: Path,
    config: Path,
    out: Path,
    contract: Contract | None = None,
) -> Path:
    """Store what the stage computes without the quarterly results (module docstring) in ``out``.

    ``contract``: the contract of ``config`` already read (read here when None).
    """
    if contract is None:
        contract = load_contract(str(config))
    extract = load_extract(str(data_dir), contract)
    effects = _effects(extract, as_of, contract, int(kind.extra["bootstrap_reps"]))
    extras = _extra(
        options(kind), cut(extract.tables, as_of, contract), effects.panels, contract.seed
    )
    # Everything the stage needs of the person-level panels is in the estimates and
    # the subgroups' counts: neither the panels nor any per-person array is stored.
    effects = dataclasses.replace(
        effects,
        panels=None,
        estimates=_published(effects.estimates),
        extras=_published_extra(extras),
        checksums=dict(extract.checksums),
        as_of=as_of,
    )
    with atomic.atomic_folder(out) as folder:
        codec.dump(effects, folder)
        provenance.record(folder, provenance.extract_kind(data_dir), extract.checksums, {})
    return Path(out)


def _published(estimates: dict[str, EffectEstimate]) -> dict[str, EffectEstimate]:
    return {outcome: without_unit_arrays(est) for outcome, est in estimates.items()}


def _published_extra(extra: StageExtras) -> StageExtras:
    """The stage extras without per-person arrays (the robustness estimates' influence functions)."""
    return dataclasses.replace(
        extra,
        subgroups={
            outcome: {
                by: {value: without_unit_arrays(r) for value, r in results.items()}
                for by, results in columns.items()
            }
            for outcome, columns in extra.subgroups.items()
        },
        not_yet={o: without_unit_arrays(r) for o, r in extra.not_yet.items()},
        doubly_robust=None
        if extra.doubly_robust is None
        else {o: without_unit_arrays(r) for o, r in extra.doubly_robust.items()},
    )


def load_estimates(folder: Path | str) -> Effects:
    """Read a complete folder of :func:`write_estimates` (refused when incomplete or altered)."""
    provenance.read(folder)
    effects = codec.load(folder)
    if not isinstance(effects, Effects):
        raise ValueError(
            f"{folder}: not a folder of estimates (python -m analysis evaluate --estimates-only)"
        )
    return effects


def write(
    kind: ReportKind,
    as_of: str,
    data_dir: Path,
    quarterly_dir: Path,
    config: Path,
    out: Path,
    estimates: Path | None = None,
    contract: Contract | None = None,
) -> Path:
    """Compute the stage and store it in ``out`` (replaced whole, provenance last).

    ``estimates``: a folder of :func:`write_estimates` to read instead of estimating;
    ``contract``: the contract of ``config`` already read (read here when None).
    """
    staged = compute(kind, as_of, data_dir, quarterly_dir, config, estimates, contract)
    report = staged.report
    stored = {f.name: getattr(report, f.name) for f in dataclasses.fields(report)}
    del stored["contract"]
    # The cut extract, the person-level panels and the unprotected payment tables stay
    # out of the results folder: the notebooks show the protected payments
    # (``payments``) and the estimates and counts computed here only.
    stored["context"] = dataclasses.replace(report.context, data=None, quarterly=None, extract=None)
    stored["panels"] = None
    stored["estimates"] = _published(report.estimates)
    # Estimates read from a folder bring that folder's kind (the strictest input decides).
    data_kind = provenance.combined(
        provenance.report_kind(quarterly_dir, as_of, data_dir),
        *([provenance.folder_kind(estimates)] if estimates is not None else []),
    )
    with atomic.atomic_folder(out) as folder:
        codec.dump(
            {"report": stored, EXTRA: _published_extra(staged.extra), "as_of": as_of}, folder
        )
        # What the report publishes, for an attacker test over every report of a build.
        disclosure.write_published(report.payments.cells, quarterly_dir, as_of, folder)
        provenance.record(folder, data_kind, report.context.checksums, {})
    return Path(out)


def load(folder: Path | str, config: str) -> StagedEvaluation:
    """Read a complete stage folder (refused when incomplete or altered) for a notebook."""
    provenance.read(folder)
    content = codec.load(folder)
    report = EvaluationReport(contract=load_contract(config), **content["report"])
    return StagedEvaluation(report, content[EXTRA])
