"""Robustness of the Callaway–Sant'Anna estimate: covariates, not-yet-treated comparison, subgroups."""

from __future__ import annotations

import pandas as pd

from analysis.did import aggte, att_gt
from analysis.did.checks import EstimationError
from analysis.effects.panels import COVARIATES

# Only the aggregated effect is kept: the cells' pre-trend test (att_gt's pretest)
# would be computed for nothing.


def covariate_estimate(panel: pd.DataFrame):
    """The doubly robust CS simple ATT of one outcome with the baseline covariates."""
    # Covariates constant within a person in the base period only: drop those
    # that do not vary at all (e.g. single parents among pupils' households).
    usable = [c for c in COVARIATES if panel[c].nunique() > 1]
    return aggte(
        att_gt(
            panel,
            "y",
            "t",
            "person_id",
            "g",
            xformla="~ " + " + ".join(usable) if usable else None,
            est_method="dr",
            cluster="household_id",
            pretest=False,
        ),
        "simple",
    )


def not_yet_estimate(panel: pd.DataFrame):
    """CS simple ATT with the not-yet-treated as comparison."""
    return aggte(
        att_gt(
            panel,
            "y",
            "t",
            "person_id",
            "g",
            control_group="notyettreated",
            cluster="household_id",
            pretest=False,
        ),
        "simple",
    )


def subgroup_estimates(panel: pd.DataFrame, by: str) -> dict:
    """CS simple ATT of each subgroup's intervention units against all comparison units.

    A subgroup that cannot be estimated (:class:`EstimationError`) maps to ``None``.
    """
    comparison = panel.loc[panel["g"] == 0]
    estimates = {}
    for value, part in panel.loc[panel["g"] > 0].groupby(by):
        try:
            estimates[value] = aggte(
                att_gt(
                    pd.concat([part, comparison]),
                    "y",
                    "t",
                    "person_id",
                    "g",
                    cluster="household_id",
                    pretest=False,
                ),
                "simple",
            )
        except EstimationError:
            estimates[value] = None
    return estimates
