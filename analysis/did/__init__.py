"""Difference-in-differences estimators: TWFE, Callaway–Sant'Anna ATT(g,t), aggregations, inference and
Rambachan–Roth sensitivity.

Named as researchers know them from R's ``did`` and ``fixest``.
"""

import importlib

# Imported here: ``aggte`` and ``twfe`` are also their modules' names, and a later
# import of such a module must not turn the package's attribute into the module.
# They need only NumPy, pandas and scipy.special.
from analysis.did.aggte import aggte
from analysis.did.attgt import att_gt
from analysis.did.twfe import twfe

# The inference and sensitivity analyses are imported from their modules on first
# use (PEP 562): a step that runs the estimators does not pay for SciPy's
# optimisers and statistics.
_HOME = {
    "breakdown_value": "honestdid",
    "original_ci": "honestdid",
    "sensitivity_rm": "honestdid",
    "sensitivity_sd": "honestdid",
    "area_placebo_test": "inference",
    "mde": "inference",
    "randomization_inference": "inference",
    "wild_bootstrap": "inference",
}

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


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'analysis.did' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"analysis.did.{_HOME[name]}"), name)
    globals()[name] = value
    return value
