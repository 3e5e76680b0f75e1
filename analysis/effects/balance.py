"""Baseline balance: standardised mean differences between intervention and comparison units."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.data.asof import AsOfData
from analysis.effects.panels import outcome_panel, units


def balance(data: AsOfData) -> pd.DataFrame:
    """Means and standardised difference per characteristic at baseline.

    Baseline is the quarter before enrolment (for comparison units, the quarter
    before the first enrolment). One row per ``characteristic`` (the outcome ids
    ``ladder_step``, ``support_level``, ``absence_rate`` and ``open_cases``) with
    ``intervention_mean``, ``comparison_mean`` and ``std_difference`` (the
    difference over the pooled standard deviation; NaN when that is zero).
    """
    persons = units(data)
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
    for name, frame in measures.items():
        a = frame.loc[frame["group"] == "intervention", "y"].astype(float)
        b = frame.loc[frame["group"] == "comparison", "y"].astype(float)
        pooled = np.sqrt((a.var() + b.var()) / 2)
        rows.append(
            {
                "characteristic": name,
                "intervention_mean": a.mean(),
                "comparison_mean": b.mean(),
                "std_difference": (a.mean() - b.mean()) / pooled if pooled > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)
