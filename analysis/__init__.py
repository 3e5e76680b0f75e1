"""Outcome payments and effect evaluation of "Relationel velfærd" (Viborg).

The package holds all logic; notebooks only call into it. The estimators are
re-exported here under the names researchers know from R's ``did`` and ``fixest``.
"""

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


def __getattr__(name: str):
    if name in __all__:
        # Imported on first use (PEP 562): ``python -m analysis`` hands most commands to
        # the pre-imported worker (analysis.pipeline.worker) and should not import SciPy first.
        import analysis.did

        return getattr(analysis.did, name)
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
