"""Validation of the data and column names given to the estimators."""

from __future__ import annotations

import pandas as pd


class EstimationError(ValueError):
    """The data or the column names cannot be used by an estimator."""


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
