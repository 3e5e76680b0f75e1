"""Restricting an extract to what existed "as of" a quarter.

Results for quarter Q use only data for quarters up to Q; register tables
(benefits, social measures, school absence) arrive ``register_lag_quarters`` late,
so as of Q they reach Q minus the lag. Adding later data never changes an
earlier quarter's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis import quarters
from analysis.config import Contract

REGISTER_TABLES = ("benefits", "social_measures", "school_absence")
# Registers with a row per person and quarter (school absence has none in holidays).
PERSON_QUARTER_TABLES = ("benefits", "social_measures")


@dataclass(frozen=True)
class AsOfData:
    """An extract's tables as they stood at a cut-off quarter, with quarter indices added."""

    as_of: str
    register_until: str
    tables: dict[str, pd.DataFrame]

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.tables[table]


def _index(frame: pd.DataFrame, column: str, target: str) -> pd.DataFrame:
    frame = frame.copy()
    frame[target] = quarters.series_to_index(frame[column]).astype("Int64")
    return frame


def as_of(tables: dict[str, pd.DataFrame], cutoff: str, contract: Contract) -> AsOfData:
    """Cut every table at ``cutoff`` (register tables at ``cutoff`` minus the lag)."""
    cut = quarters.to_index(cutoff)
    register_cut = cut - contract.timeline.register_lag_quarters
    out: dict[str, pd.DataFrame] = {}
    households = _index(tables["households"], "enrolment_quarter", "g")
    households = _index(households, "exit_quarter", "exit_t")
    # A household enrolled after the cut-off is not yet part of the intervention.
    late = households["g"].notna() & (households["g"] > cut)
    households.loc[late, ["g"]] = pd.NA
    households.loc[late, "group"] = "not_yet_enrolled"
    households.loc[households["exit_t"] > cut, "exit_t"] = pd.NA
    out["households"] = households
    out["persons"] = tables["persons"].copy()
    reached = []
    for name in REGISTER_TABLES:
        frame = _index(tables[name], "quarter", "t")
        out[name] = frame.loc[frame["t"] <= register_cut].reset_index(drop=True)
        if name in PERSON_QUARTER_TABLES and len(out[name]):
            reached.append(int(out[name]["t"].max()))
    # "Register data cover the period up to …" is what the data reach, not the cut-off's
    # arithmetic: a delivery that ends earlier says so.
    if reached:
        register_cut = min(register_cut, min(reached))
    survey = _index(tables["life_satisfaction"], "quarter", "t")
    out["life_satisfaction"] = survey.loc[survey["t"] <= cut].reset_index(drop=True)
    plans = _index(tables["action_plans"], "review_quarter", "t")
    plans = _index(plans, "set_quarter", "set_t")
    out["action_plans"] = plans.loc[plans["t"] <= cut].reset_index(drop=True)
    if "pupils" in tables:
        # The pupil-quarters as codes (analysis.data.engine.pupil_rows): the register
        # cut, and the pupils of households enrolled after the cut-off left out, as
        # pupil_panel leaves out the "not_yet_enrolled" (comparison pupils have g = 0).
        pupils = tables["pupils"]
        keep = (pupils["t"].to_numpy() <= register_cut) & (pupils["g"].to_numpy() <= cut)
        out["pupils"] = pupils.loc[keep].reset_index(drop=True)
    return AsOfData(cutoff, quarters.from_index(register_cut), out)
