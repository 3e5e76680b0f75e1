"""Person × quarter panels of the evaluation outcomes.

Outcomes (docs/evaluation.md): the self-sufficiency step and being
self-supporting (adults 18–64), the support level (all persons) and school absence
(pupils), each a person × quarter panel with the household's enrolment quarter as
cohort ``g`` (0 for comparison households) and clustered by household.
"""

from __future__ import annotations

import pandas as pd

from analysis.data.asof import AsOfData, as_of
from analysis.data.codes import RANK_OF_MEASURE, STEP_OF_CATEGORY
from analysis.data.engine import evaluation_panels
from analysis.did.checks import EstimationError
from analysis.payments.absence import pupil_panel

COVARIATES = ("age", "female", "open_cases", "single_parent")
OUTCOMES = ("ladder_step", "self_supporting", "support_level", "absence_rate")


def units(data: AsOfData) -> pd.DataFrame:
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
    persons = units(data)
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
    frame = frame.merge(
        persons[["person_id", "birth_year", "sex", "open_cases"]].rename(
            columns={"open_cases": "open_cases_hh"}
        ),
        on="person_id",
        suffixes=("_drop", ""),
    )
    # Baseline covariates for the doubly robust estimate (values at the base period).
    frame["age"] = (frame["t"] // 4 - frame["birth_year"]).astype(float)
    frame["female"] = (frame["sex"] == "K").astype(float)
    frame["open_cases"] = frame["open_cases_hh"].astype(float)
    frame["single_parent"] = (frame["household_type"] == "single_parent").astype(float)
    frame = frame[columns + list(COVARIATES)].copy()
    frame["t"] = frame["t"].astype(int)
    frame["treated"] = ((frame["g"] > 0) & (frame["t"] >= frame["g"])).astype(int)
    return frame.reset_index(drop=True)


def estimation_panels(extract, cutoff: str, contract, outcomes=OUTCOMES) -> dict[str, pd.DataFrame]:
    """The estimation panel of each of ``outcomes`` as of ``cutoff``, from any valid extract.

    ``extract`` is a validated extract (:func:`analysis.data.validate.load_extract`).
    When its register tables are Parquet files DuckDB reads as they are, the panels
    are built out of core (:func:`analysis.data.engine.evaluation_panels`); otherwise
    (a CSV extract, Danish or not) by :func:`outcome_panel` on the tables cut at
    ``cutoff``. Both give the same panels (tests/test_engine_evaluation.py).
    """
    panels = evaluation_panels(extract, cutoff, contract, outcomes)
    if panels is None:
        data = as_of(extract.tables, cutoff, contract)
        panels = {outcome: outcome_panel(data, outcome) for outcome in outcomes}
    return panels
