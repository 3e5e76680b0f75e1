"""The payment targets as rules over unit-level data (docs/payments.md).

Each rule returns a :class:`TargetResult`: the eligible units, and for every
unit-step the quarter it was first achieved and, per quarter, whether it holds.
A "unit-step" is one step of improvement of one unit: a person two steps above
baseline on the self-sufficiency ladder, sustained, has achieved steps 1 and 2.

Baseline is the unit's status in the quarter before its household's enrolment
quarter ``g``; only quarters ``t >= g`` count for achievements. The school-absence
target rests on a difference-in-differences estimate and lives in
:mod:`analysis.payments.absence`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.config import Contract
from analysis.data.asof import AsOfData
from analysis.data.codes import RANK_OF_MEASURE, STEP_OF_CATEGORY
from analysis.data.validate import isin

EMPTY_ACHIEVEMENTS = pd.DataFrame(
    {"unit_id": pd.Series(dtype=str), "step": pd.Series(dtype=int), "t": pd.Series(dtype=int)}
)


@dataclass(frozen=True)
class TargetResult:
    """Eligible units, unit-step achievements and their status by quarter for one target.

    ``eligible``: unit_id, household_id, area, g (one row per eligible unit).
    ``achievements``: unit_id, step, t (first quarter the unit-step was achieved).
    ``status``: unit_id, step, t, holds (whether the unit-step holds in quarter t).
    """

    target: str
    eligible: pd.DataFrame
    achievements: pd.DataFrame
    status: pd.DataFrame
    extra: dict


def persons_in(persons: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    """``persons.merge(households, on="household_id")``: the same frame, made faster.

    The persons of ``households`` are picked first by Arrow's hash lookup
    (:func:`analysis.data.validate.isin`), then merged: an inner merge keeps the
    persons' order, so the result is the same, while pandas' merge of the whole
    table (a comparison pool of millions) turned every id into a Python object.
    """
    mine = persons.loc[isin(persons["household_id"], households["household_id"])]
    return mine.merge(households, on="household_id", how="inner")


def intervention_persons(data: AsOfData) -> pd.DataFrame:
    """Persons of enrolled households with their household's enrolment quarter and area."""
    households = data["households"]
    enrolled = households.loc[
        households["g"].notna(), ["household_id", "area", "household_type", "g", "exit_t"]
    ]
    return persons_in(data["persons"], enrolled)


def sustained_steps(
    panel: pd.DataFrame, unit: str, improvement: str, max_steps: str, sustain: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Achievement quarter and per-quarter status of each unit-step.

    ``panel`` holds one row per unit and post-enrolment quarter ``t`` with the
    unit's ``improvement`` over baseline (in steps; missing counts as none). Step
    ``k`` holds in quarter ``t`` when the improvement has been at least ``k`` in
    ``sustain`` consecutive quarters ending at ``t``; it is achieved in the first
    such quarter.
    """
    panel = panel.sort_values([unit, "t"]).reset_index(drop=True)
    steps = int(panel[max_steps].max()) if len(panel) else 0
    status_frames, achievement_frames = [], []
    gap = panel["t"].diff().ne(1) | panel[unit].ne(panel[unit].shift())
    for k in range(1, steps + 1):
        part = panel.loc[panel[max_steps] >= k, [unit, "t"]].copy()
        above = (panel.loc[part.index, improvement].fillna(-np.inf) >= k).to_numpy()
        block = (~above | gap.loc[part.index].to_numpy()).cumsum()
        run = (
            pd.Series(np.where(above, 1, 0), index=part.index)
            .groupby([part[unit].to_numpy(), block])
            .cumsum()
        )
        part["step"] = k
        part["holds"] = run.to_numpy() >= sustain
        status_frames.append(part)
        achieved = part.loc[part["holds"]].groupby(unit, as_index=False)["t"].min()
        achieved["step"] = k
        achievement_frames.append(achieved)
    status = (
        pd.concat(status_frames, ignore_index=True)
        if status_frames
        else pd.DataFrame(columns=[unit, "t", "step", "holds"])
    )
    achievements = (
        pd.concat(achievement_frames, ignore_index=True)
        if achievement_frames
        else pd.DataFrame(columns=[unit, "t", "step"])
    )
    status = status.rename(columns={unit: "unit_id"})[["unit_id", "step", "t", "holds"]]
    achievements = achievements.rename(columns={unit: "unit_id"})[["unit_id", "step", "t"]]
    return achievements.astype({"step": int, "t": int}), status.astype(
        {"step": int, "t": int, "holds": bool}
    )


def employment(data: AsOfData, contract: Contract) -> TargetResult:
    """Target 1: steps up the self-sufficiency ladder from baseline, sustained.

    Adults aged ``min_age``–``max_age`` on the ladder (not pensioners) in the
    quarter before enrolment are eligible; step ``k`` is achieved when the person
    is at least ``k`` steps above baseline for ``sustain_quarters`` consecutive
    quarters.
    """
    rule = contract.targets.employment
    people = intervention_persons(data)
    benefits = data["benefits"].merge(
        people[["person_id", "household_id", "area", "g", "birth_year"]], on="person_id"
    )
    benefits["ladder"] = benefits["benefit_category"].map(STEP_OF_CATEGORY)
    benefits["age"] = benefits["t"] // 4 - benefits["birth_year"]
    base = benefits.loc[benefits["t"] == benefits["g"] - 1]
    base = base.loc[base["ladder"].notna() & base["age"].between(rule.min_age, rule.max_age)]
    base = base[["person_id", "ladder"]].rename(columns={"ladder": "baseline"})
    panel = benefits.merge(base, on="person_id")
    panel = panel.loc[panel["t"] >= panel["g"]].copy()
    panel["improvement"] = panel["ladder"] - panel["baseline"]
    panel["room"] = 4 - panel["baseline"]
    achievements, status = sustained_steps(
        panel, "person_id", "improvement", "room", rule.sustain_quarters
    )
    eligible = people.merge(base, on="person_id")[
        ["person_id", "household_id", "area", "g", "baseline"]
    ].rename(columns={"person_id": "unit_id"})
    return TargetResult(
        "employment",
        eligible,
        achievements,
        status,
        {"baseline_at_top": int((base["baseline"] == 4).sum())},
    )


def social_measures(data: AsOfData, contract: Contract) -> TargetResult:
    """Target 2: support level below baseline, sustained.

    Persons with a measure in the quarter before enrolment are eligible; each
    step down the support levels (placement or residential 3, supporting measure
    or support in own home 2, none 0) sustained for ``sustain_quarters``
    consecutive quarters is an achievement.
    """
    rule = contract.targets.social_measures
    people = intervention_persons(data)
    measures = data["social_measures"].merge(
        people[["person_id", "household_id", "area", "g"]], on="person_id"
    )
    measures["rank"] = measures["measure"].map(RANK_OF_MEASURE)
    base = measures.loc[
        (measures["t"] == measures["g"] - 1) & (measures["rank"] > 0), ["person_id", "rank"]
    ]
    base = base.rename(columns={"rank": "baseline"})
    panel = measures.merge(base, on="person_id")
    panel = panel.loc[panel["t"] >= panel["g"]].copy()
    panel["improvement"] = panel["baseline"] - panel["rank"]
    achievements, status = sustained_steps(
        panel, "person_id", "improvement", "baseline", rule.sustain_quarters
    )
    eligible = people.merge(base, on="person_id")[
        ["person_id", "household_id", "area", "g", "baseline"]
    ].rename(columns={"person_id": "unit_id"})
    return TargetResult("social_measures", eligible, achievements, status, {})


def life_satisfaction(data: AsOfData, contract: Contract) -> TargetResult:
    """Target 4: a follow-up score at least ``min_increase`` above the baseline score.

    Adults who answered at enrolment (wave 0) are eligible. Non-response is
    neither success nor failure: it is counted and reported. The unit-step holds
    from an answered follow-up wave with the increase until an answered wave
    without it.
    """
    rule = contract.targets.life_satisfaction
    people = intervention_persons(data)
    survey = data["life_satisfaction"].merge(
        people[["person_id", "household_id", "area", "g"]], on="person_id"
    )
    base = survey.loc[
        (survey["wave"] == 0) & (survey["response"] == "answered"), ["person_id", "score"]
    ].rename(columns={"score": "baseline"})
    follow = survey.loc[survey["wave"] > 0].merge(base, on="person_id")
    answered = follow.loc[follow["response"] == "answered"].copy()
    answered["holds"] = answered["score"] >= answered["baseline"] + rule.min_increase
    answered["step"] = 1
    status = answered.rename(columns={"person_id": "unit_id"})[["unit_id", "step", "t", "holds"]]
    achievements = status.loc[status["holds"]].groupby("unit_id", as_index=False)["t"].min()
    achievements["step"] = 1
    nonresponse = survey.groupby("wave")["response"].apply(
        lambda s: int((s == "nonresponse").sum())
    )
    eligible = people.merge(base, on="person_id")[
        ["person_id", "household_id", "area", "g", "baseline"]
    ].rename(columns={"person_id": "unit_id"})
    extra = {
        "surveyed_waves": survey.groupby("wave").size().to_dict(),
        "nonresponse_by_wave": nonresponse.to_dict(),
        "nonresponse_total": int((survey["response"] == "nonresponse").sum()),
        "answers_total": int((survey["response"] == "answered").sum()),
    }
    return TargetResult(
        "life_satisfaction",
        eligible,
        achievements[["unit_id", "step", "t"]].astype({"t": int}),
        status.astype({"t": int}),
        extra,
    )


def action_plan_goals(data: AsOfData, contract: Contract) -> TargetResult:
    """Target 5: each action-plan goal marked achieved at a review.

    Every goal set for an enrolled household is eligible; a goal is achieved in
    the quarter of the first review that marks it ``achieved`` and holds from then on.
    """
    households = data["households"].loc[
        data["households"]["g"].notna(), ["household_id", "area", "g"]
    ]
    plans = data["action_plans"].merge(households, on="household_id")
    eligible = plans.drop_duplicates("goal_id")[["goal_id", "household_id", "area", "g"]].rename(
        columns={"goal_id": "unit_id"}
    )
    achieved = (
        plans.loc[plans["status"] == "achieved"].groupby("goal_id", as_index=False)["t"].min()
    )
    achievements = achieved.rename(columns={"goal_id": "unit_id"})
    achievements["step"] = 1
    status = (
        plans[["goal_id", "t"]]
        .rename(columns={"goal_id": "unit_id"})
        .merge(
            achievements[["unit_id", "t"]].rename(columns={"t": "t_achieved"}),
            on="unit_id",
            how="left",
        )
    )
    status["holds"] = status["t_achieved"].notna() & (status["t"] >= status["t_achieved"])
    status["step"] = 1
    return TargetResult(
        "action_plan_goals",
        eligible,
        achievements[["unit_id", "step", "t"]].astype({"t": int}),
        status[["unit_id", "step", "t", "holds"]].astype({"t": int}),
        {"dropped": int((plans["status"] == "dropped").sum())},
    )


UNIT_TARGETS = {
    "employment": employment,
    "social_measures": social_measures,
    "life_satisfaction": life_satisfaction,
    "action_plan_goals": action_plan_goals,
}
