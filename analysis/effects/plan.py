"""The registered analysis plan (``config/analysis_plan.yaml``): loaded, validated, checksummed.

The plan fixes, before the data are seen, what the evaluation reports estimate and
how they decide: the primary outcome, the estimand and its horizon, weights, the
inference and its multiplicity rule, the pre-trend test, the sensitivity analysis
(target, pre-periods, the M̄ grid, the event study's covariance) and the subgroups. The reports read their choices
from it, show it as an annex and print its SHA-256 in the colophon;
:func:`departures` lists where an analysis did not follow it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, ValidationError, model_validator

from analysis.config import ConfigError, _format_errors, _read_yaml, _Strict
from analysis.paths import ROOT

PLAN_FILE = ROOT / "config" / "analysis_plan.yaml"
Outcome = Literal["ladder_step", "self_supporting", "support_level", "absence_rate"]


class Estimand(_Strict):
    aggregation: Literal["simple"]
    horizon: Literal["all_post_quarters"]
    comparison: Literal["nevertreated", "notyettreated"]
    covariates: bool
    weights: Literal["persons"]
    anticipation_quarters: int = Field(ge=0, le=4)


class Inference(_Strict):
    alpha: float = Field(gt=0, lt=0.5)
    household_cluster: str
    area_test: Literal["placebo_areas"]
    area_match_bins: int | None = Field(default=5, ge=2, le=20)
    # Outcome -> the outcome whose baseline level its placebos are matched on (default:
    # its own): a rare binary outcome is matched on the index it is a threshold of.
    area_match_on: dict[Outcome, Outcome] = Field(default_factory=dict)
    multiplicity: Literal["holm", "none"]


class PreTrends(_Strict):
    test: Literal["area_placebo_leads", "wald_balanced_leads"]
    # Whether the placebos of the area-level pre-enrolment tests are matched on the
    # baseline like the area test's (docs/evaluation.md, "Inference").
    match_placebos: bool = True


class Grid(_Strict):
    start: float = Field(ge=0)
    stop: float = Field(gt=0)
    step: float = Field(gt=0)


class Sensitivity(_Strict):
    method: Literal["relative_magnitudes"]
    target: Literal["estimand"]
    pre_periods: int = Field(ge=2, le=12)
    m_bar_grid: Grid
    m_bar: float = Field(ge=0)
    # The event study's covariance the robust intervals rest on: the matched area
    # placebos' scaled to the area test's interval (area-robust; the breakdown M̄ then
    # refers to the interval the verdict states), or the household-clustered one (not
    # robust to area shocks; docs/evaluation.md, "Size and coverage").
    covariance: Literal["area_placebos", "household_cluster"] = "area_placebos"


class AnalysisPlan(_Strict):
    registered: str
    primary_outcome: Outcome
    outcomes: list[Outcome] = Field(min_length=1)
    estimand: Estimand
    inference: Inference
    pre_trends: PreTrends
    sensitivity: Sensitivity
    subgroups: dict[Outcome, list[Literal["area", "household_type"]]]

    @model_validator(mode="after")
    def _consistent(self):
        if self.primary_outcome not in self.outcomes:
            raise ValueError(f"primary_outcome {self.primary_outcome!r} is not among outcomes")
        if len(set(self.outcomes)) != len(self.outcomes):
            raise ValueError("outcomes lists an outcome twice")
        grid = self.sensitivity.m_bar_grid
        if grid.stop <= grid.start:
            raise ValueError("sensitivity.m_bar_grid: stop must exceed start")
        if not grid.start <= self.sensitivity.m_bar <= grid.stop:
            raise ValueError("sensitivity.m_bar lies outside sensitivity.m_bar_grid")
        return self

    @property
    def primary(self) -> str:
        return self.primary_outcome

    @property
    def alpha(self) -> float:
        return self.inference.alpha

    @property
    def m_bar(self) -> float:
        return self.sensitivity.m_bar

    def m_bar_grid(self) -> np.ndarray:
        grid = self.sensitivity.m_bar_grid
        values = np.arange(grid.start, grid.stop + grid.step / 2, grid.step)
        return np.round(np.union1d(values, [self.sensitivity.m_bar]), 4)


def load_plan(path: Path | str = PLAN_FILE) -> AnalysisPlan:
    """Load and validate the analysis plan (one clear error naming file and keys)."""
    path = Path(path)
    try:
        return AnalysisPlan.model_validate(_read_yaml(path))
    except ValidationError as error:
        raise ConfigError(_format_errors(path, error)) from None


def checksum(path: Path | str = PLAN_FILE) -> str:
    """SHA-256 of the plan file as it is on disk (the colophon prints it)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def holm(p_values: dict) -> dict:
    """Holm's step-down adjusted p-values (family-wise error rate), keys kept.

    Sorted ascending ``p_(1) ≤ … ≤ p_(m)``: ``p̃_(i) = max_{j≤i} min(1, (m-j+1) p_(j))``.
    ``None`` values are left out of the family and stay ``None``.
    """
    items = [(k, p) for k, p in p_values.items() if p is not None and np.isfinite(p)]
    items.sort(key=lambda kv: kv[1])
    m = len(items)
    adjusted, running = {}, 0.0
    for i, (key, p) in enumerate(items):
        running = max(running, min(1.0, (m - i) * p))
        adjusted[key] = running
    return {k: adjusted.get(k) for k in p_values}


def adjust(p_values: dict, plan: AnalysisPlan) -> dict:
    """The plan's multiplicity rule applied to one family of p-values."""
    if plan.inference.multiplicity == "holm":
        return holm(p_values)
    return dict(p_values)
