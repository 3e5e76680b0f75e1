"""Validation of the data and column names given to the estimators, and estimates that data do not allow.

Two kinds of failure are kept apart. A wrong call (a column that does not exist, an
unknown option) raises :class:`EstimationError`: a programming error, to be fixed.
Valid data on which a particular estimate cannot be computed (no comparison units
for a cohort, perfect separation in the propensity score, collinear covariates, too
few areas for area-level inference) raise :class:`NotEstimable`, a subclass that
names the reason by a key of the report catalogue (``not_estimable.<reason>``).
:func:`or_not_estimable` turns such an estimate into a :class:`NotEstimated`
result, which the reports show in words ("not estimable: <reason>") while the rest
of the report goes on.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

# The reasons an estimate can be not estimable on valid data: each has a text per
# language in the catalogue (``not_estimable.<reason>``, analysis/catalogue.yaml).
REASONS = (
    "no_treated",
    "no_comparison",
    "no_pre_period",
    "no_post_period",
    "separation",
    "singular_design",
    "absorbed",
    "too_few_clusters",
)


class EstimationError(ValueError):
    """The data or the column names cannot be used by an estimator."""


class NotEstimable(EstimationError):
    """Valid data on which this estimate cannot be computed; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, detail: str):
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r} (one of {', '.join(REASONS)})")
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class NotEstimated:
    """The result of an estimate that the data do not allow: the reason (a key of
    :data:`REASONS`) and the estimator's own message (``detail``, for the log)."""

    reason: str
    detail: str


def or_not_estimable(estimator):
    """``estimator`` returning a :class:`NotEstimated` result where the data do not allow it.

    :class:`NotEstimable` and a singular matrix met inside the linear algebra
    (``numpy.linalg.LinAlgError``: a design whose columns are collinear) become the
    result; any other error (a wrong call, a bug) is raised as before.
    """

    @functools.wraps(estimator)
    def wrapper(*args, **kwargs):
        try:
            return estimator(*args, **kwargs)
        except NotEstimable as error:
            return NotEstimated(error.reason, error.detail)
        except np.linalg.LinAlgError as error:
            return NotEstimated("singular_design", f"{type(error).__name__}: {error}")

    return wrapper


def estimated(result) -> bool:
    """Whether ``result`` is an estimate (not None and not :class:`NotEstimated`)."""
    return result is not None and not isinstance(result, NotEstimated)


def require_columns(data: pd.DataFrame, **columns: str | None) -> None:
    """Every named column exists; numeric where it must be."""
    for role, name in columns.items():
        if name is None:
            continue
        if name not in data.columns:
            raise EstimationError(
                f"{role}={name!r}: no such column (columns: {', '.join(map(str, data.columns))})"
            )
        if role in ("yname", "tname", "gname", "weights") and not pd.api.types.is_numeric_dtype(
            data[name]
        ):
            raise EstimationError(f"{role}={name!r} must be numeric, got {data[name].dtype}")
        if data[name].isna().any():
            raise EstimationError(
                f"{role}={name!r} has {int(data[name].isna().sum())} missing value(s)"
            )
