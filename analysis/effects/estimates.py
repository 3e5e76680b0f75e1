"""TWFE beside Callaway–Sant'Anna with its four aggregations, per outcome."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from analysis.did import aggte, att_gt, twfe
from analysis.effects.context import EvaluationContext
from analysis.effects.panels import OUTCOMES, outcome_panel


def balanced_window(result) -> tuple[int, int]:
    """Event times every cohort contributes to: ``(min_e, max_e)`` of the event study.

    Before enrolment every cohort; after enrolment every cohort that has reached
    enrolment in the data. Outside this window an event-time effect would average
    over a different, smaller set of cohorts than its neighbours, so a bend in the
    curve could be a change of cohorts rather than of the effect.
    """
    table = result.table
    pre = table.loc[~table["post"]].groupby("group")["event_time"].min()
    post = table.loc[table["post"]].groupby("group")["event_time"].max()
    min_e = int(pre.max()) if len(pre) else -1
    max_e = int(post.min()) if len(post) else -1
    return min_e, max_e


def cohorts_per_event_time(result) -> pd.Series:
    """How many cohorts contribute to each event time (all of the attgt table)."""
    return result.table.groupby("event_time")["group"].nunique()


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
        # Leads: the balanced window (every cohort); lags: as far as any cohort
        # reaches, with the cohorts per event time printed in the figure.
        dynamic=aggte(result, "dynamic", min_e=balanced_window(result)[0]),
        calendar=aggte(result, "calendar"),
        n_persons=int(panel["person_id"].nunique()),
        n_treated_persons=int(panel.loc[panel["g"] > 0, "person_id"].nunique()),
    )


def estimate_all(
    context: EvaluationContext, outcomes=OUTCOMES, panels=None, **options
) -> tuple[dict[str, EffectEstimate], dict[str, pd.DataFrame]]:
    """Panels and estimates for each outcome (``panels``: already built, e.g. by the engine)."""
    if panels is None:
        panels = {outcome: outcome_panel(context.data, outcome) for outcome in outcomes}
    return {outcome: estimate(panels[outcome], outcome, **options) for outcome in outcomes}, panels


# What each result type keeps per unit: what aggregating again or a joint test needs,
# and what no report shows.
UNIT_ARRAYS = ("influence", "unit_groups", "unit_weights", "unit_clusters", "clusters")
AGGREGATIONS = ("simple", "group", "dynamic", "calendar")


def without_unit_arrays(result):
    """``result`` (an :class:`ATTgtResult`, :class:`AggteResult` or :class:`EffectEstimate`,
    or None) without its per-unit arrays: the influence functions and the units'
    cohorts, weights and clusters.

    A results folder stores estimates this way: the reports show the effects, their
    standard errors and intervals and the tidy tables, which stay as they are, and no
    array with a row per person is kept beside them.
    """
    if result is None:
        return None
    if isinstance(result, EffectEstimate):
        return dataclasses.replace(
            result,
            attgt=without_unit_arrays(result.attgt),
            **{name: without_unit_arrays(getattr(result, name)) for name in AGGREGATIONS},
        )
    names = {f.name for f in dataclasses.fields(result)}
    return dataclasses.replace(result, **{name: None for name in UNIT_ARRAYS if name in names})
