"""Robustness of the Callaway–Sant'Anna estimate: covariates, not-yet-treated comparison, subgroups,
synthetic DiD at area level.

Each check is an estimate the data may not allow (perfect separation in the
propensity score of a small cohort, collinear covariates, a subgroup without a
comparison): it then returns :class:`analysis.did.checks.NotEstimated` with the
reason (:func:`analysis.did.checks.or_not_estimable`), which the reports show in
words, and the rest of the report goes on.
"""

from __future__ import annotations

import pandas as pd

from analysis.did import aggte, att_gt
from analysis.did.checks import or_not_estimable
from analysis.did.sdid import synthetic_did
from analysis.effects.panels import COVARIATES

# Only the aggregated effect is kept: the cells' pre-trend test (att_gt's pretest)
# would be computed for nothing.


@or_not_estimable
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


@or_not_estimable
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

    A subgroup that cannot be estimated maps to :class:`analysis.did.checks.NotEstimated`.
    """
    comparison = panel.loc[panel["g"] == 0]
    return {
        value: _subgroup_estimate(pd.concat([part, comparison]))
        for value, part in panel.loc[panel["g"] > 0].groupby(by)
    }


@or_not_estimable
def _subgroup_estimate(panel: pd.DataFrame):
    return aggte(
        att_gt(panel, "y", "t", "person_id", "g", cluster="household_id", pretest=False),
        "simple",
    )


@or_not_estimable
def synthetic_did_estimate(panel: pd.DataFrame, seed: int = 0, alpha: float = 0.05):
    """Synthetic DiD at area level (:func:`analysis.did.sdid.synthetic_did`) of one outcome panel.

    The comparison units are the comparison areas (each the mean of its persons in a
    quarter), a cohort the persons enrolled in one quarter; placebo variance (the
    paper's Algorithm 4) with ``seed``'s permutations. A robustness row: it decides
    nothing (docs/evaluation.md, "Robustness and heterogeneity").
    """
    return synthetic_did(panel, "y", "t", "person_id", "g", unit="area", alpha=alpha, seed=seed)
