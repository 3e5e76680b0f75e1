"""Difference-in-differences estimators: TWFE, Callaway–Sant'Anna ATT(g,t), aggregations and inference.

Named as researchers know them from R's ``did`` and ``fixest``.
"""

from analysis.did.aggte import aggte
from analysis.did.attgt import att_gt
from analysis.did.inference import honest_did, mde, randomization_inference, wild_bootstrap
from analysis.did.twfe import twfe

__all__ = [
    "aggte",
    "att_gt",
    "honest_did",
    "mde",
    "randomization_inference",
    "twfe",
    "wild_bootstrap",
]
