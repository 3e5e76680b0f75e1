"""Outcome payments and effect evaluation of "Relationel velfærd" (Viborg).

The package holds all logic; notebooks only call into it. The estimators are
re-exported here under the names researchers know from R's ``did`` and ``fixest``.
"""

from analysis.did import (
    aggte,
    att_gt,
    mde,
    original_ci,
    randomization_inference,
    sensitivity_rm,
    sensitivity_sd,
    twfe,
    wild_bootstrap,
)

__all__ = [
    "aggte",
    "att_gt",
    "mde",
    "original_ci",
    "randomization_inference",
    "sensitivity_rm",
    "sensitivity_sd",
    "twfe",
    "wild_bootstrap",
]
