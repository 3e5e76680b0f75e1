"""Area-level inference: exact randomization inference over area assignments and the wild cluster bootstrap."""

from __future__ import annotations

import pandas as pd

from analysis.did import wild_bootstrap
from analysis.did.inference import exact_randomization_inference
from analysis.effects.estimates import EffectEstimate


def area_inference(panel: pd.DataFrame, reps: int, seed: int) -> dict:
    """Area-level inference for one outcome: exact randomization inference and the wild cluster bootstrap."""
    ri = exact_randomization_inference(
        panel, "y", "t", "person_id", "g", area="area", hhname="household_id"
    )
    wild = wild_bootstrap(
        panel, "y", "t", "person_id", "treated", cluster="area", reps=reps, seed=seed
    )
    return {
        "ri_att": ri.att,
        "ri_p_exact": ri.p_value,
        "ri_assignments": ri.assignments,
        "areas_total": ri.n_areas,
        "areas_intervention": ri.n_treated_areas,
        "wild_att": wild.att,
        "wild_p_bootstrap": wild.p_value,
        "ri_distribution": ri.distribution,
    }


def reliable(est: EffectEstimate, area: dict | None, alpha: float = 0.05) -> bool:
    """Statistically reliable by the most conservative valid inference.

    The household-clustered interval must exclude zero and, where area-level
    randomization inference is available, its exact p-value must be below ``alpha``:
    with three intervention areas, shocks shared within an area are not covered by
    household clustering. The wild cluster bootstrap is not used to decide, because
    with three treated clusters it is known to be unreliable.
    """
    low, high = est.simple.overall_ci
    significant = low > 0 or high < 0
    if area is not None:
        significant = significant and area["ri_p_exact"] < alpha
    return bool(significant)
