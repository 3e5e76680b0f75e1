"""Difference-in-differences estimators: TWFE, Callaway–Sant'Anna ATT(g,t), aggregations, inference and
Rambachan–Roth sensitivity.

Named as researchers know them from R's ``did`` and ``fixest``.
"""

from analysis.did.aggte import aggte
from analysis.did.attgt import att_gt
from analysis.did.honestdid import breakdown_value, original_ci, sensitivity_rm, sensitivity_sd
from analysis.did.inference import (
    area_placebo_test,
    mde,
    randomization_inference,
    wild_bootstrap,
)
from analysis.did.twfe import twfe

__all__ = [
    "aggte",
    "area_placebo_test",
    "att_gt",
    "breakdown_value",
    "mde",
    "original_ci",
    "randomization_inference",
    "sensitivity_rm",
    "sensitivity_sd",
    "twfe",
    "wild_bootstrap",
]
