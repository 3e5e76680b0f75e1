"""The contract configuration: ``config/contract.yaml`` loaded into typed objects.

Every date, price, threshold and cap the code uses comes from here. A bad key or
value is refused with an error that names it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from analysis import quarters
from analysis.paths import CONTRACT_FILE, SYNTHETIC_CONFIG_FILE

TARGETS = (
    "employment",
    "social_measures",
    "school_absence",
    "life_satisfaction",
    "action_plan_goals",
)


class ConfigError(ValueError):
    """A configuration file is missing, malformed, or has a bad key or value."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# A quarter in a configuration file: its YYYYQn label, parsed once here into a
# quarters.Quarter (which is its label too, so the fields read as strings).
Quarter = str


def _check_quarter(value: str) -> quarters.Quarter:
    return quarters.Quarter(value)


class Area(_Strict):
    code: str = Field(pattern=r"^[A-Z]{3}$")
    name: str
    town: str


class Programme(_Strict):
    name: str
    municipality: str
    grant_date: str
    enrolment_target_households: int = Field(gt=0)
    expected_persons: int = Field(gt=0)
    areas: list[Area] = Field(min_length=1)


class Period(_Strict):
    start: Quarter
    end: Quarter

    _q = field_validator("start", "end")(_check_quarter)

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if quarters.to_index(self.end) < quarters.to_index(self.start):
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")
        return self

    def quarters(self) -> list[str]:
        return quarters.span(self.start, self.end)


class Evaluations(_Strict):
    midterm: Quarter
    preliminary_final: Quarter
    final: Quarter

    _q = field_validator("midterm", "preliminary_final", "final")(_check_quarter)


class Timeline(_Strict):
    baseline_start: Quarter
    commitment: Period
    intervention: Period
    enrolment: Period
    data_collection: Period
    register_lag_quarters: int = Field(ge=0, le=4)
    result_reports: list[Quarter] = Field(min_length=1)
    evaluations: Evaluations

    _q = field_validator("baseline_start")(_check_quarter)

    @field_validator("result_reports")
    @classmethod
    def _reports(cls, values: list[str]) -> list[str]:
        values = [_check_quarter(value) for value in values]
        if [quarters.to_index(v) for v in values] != sorted(quarters.to_index(v) for v in values):
            raise ValueError("result_reports must be in chronological order")
        return values


PaymentMode = Literal["once", "per_followup"]


class EmploymentTarget(_Strict):
    sustain_quarters: int = Field(ge=1, le=8)
    min_age: int = Field(ge=15, le=30)
    max_age: int = Field(ge=50, le=70)
    payment_mode: PaymentMode


class SocialTarget(_Strict):
    sustain_quarters: int = Field(ge=1, le=8)
    payment_mode: PaymentMode


AbsenceExposure = Literal["enrolment", "period"]


class AbsenceTarget(_Strict):
    min_grade: int = Field(ge=0, le=10)
    max_grade: int = Field(ge=0, le=10)
    payment_mode: PaymentMode
    # "enrolment": each pupil's years from the household's enrolment to the period's
    # end; "period": the period's full length for every pupil.
    exposure: AbsenceExposure = "enrolment"


class SatisfactionTarget(_Strict):
    min_increase: float = Field(gt=0, le=10)
    payment_mode: PaymentMode


class GoalsTarget(_Strict):
    payment_mode: PaymentMode


class Targets(_Strict):
    employment: EmploymentTarget
    social_measures: SocialTarget
    school_absence: AbsenceTarget
    life_satisfaction: SatisfactionTarget
    action_plan_goals: GoalsTarget


class RateCard(_Strict):
    employment: float = Field(ge=0)
    social_measures: float = Field(ge=0)
    school_absence: float = Field(ge=0)
    life_satisfaction: float = Field(ge=0)
    action_plan_goals: float = Field(ge=0)


class Caps(_Strict):
    total_outcome_payments: float = Field(gt=0)
    investor_annual_return: float = Field(ge=0, le=1)


class Investment(_Strict):
    total: float = Field(gt=0)
    shares: dict[str, float]

    @field_validator("shares")
    @classmethod
    def _sum_to_one(cls, shares: dict[str, float]) -> dict[str, float]:
        if abs(sum(shares.values()) - 1) > 1e-9:
            raise ValueError(f"investor shares must sum to 1, got {sum(shares.values())}")
        return shares


class Settlement(_Strict):
    """How settled result reports are corrected when later data change them."""

    # false: an adjustment entry is shown in the next result report but not paid.
    pay_adjustments: bool = False
    # Changes smaller than this (DKK) are rounding, not adjustments.
    adjustment_threshold: float = Field(default=1.0, ge=0)


class Calibration(_Strict):
    """The business case behind the illustrative rate card (``python -m analysis calibrate``)."""

    # Annual return to the investors with the designed effects and full enrolment.
    target_annual_return: float = Field(ge=0, lt=1)
    # Relative prices of the targets (the programme's draft rate card); one factor scales them all.
    relative_prices: RateCard
    # Calibrated prices are rounded to this many DKK.
    rounding: int = Field(ge=1)


class Disclosure(_Strict):
    min_persons: int = Field(ge=3)
    money_rounding: int = Field(ge=1)
    percent_decimals: int = Field(ge=0, le=3)
    # Protect against differences with what earlier quarterly reports published.
    across_reports: bool = True


class Forecast(_Strict):
    draws: int = Field(ge=100, le=100_000)
    band: float = Field(gt=0, lt=1)
    shortfall_scenario: float = Field(ge=0, lt=1)
    hazard_drift: float = Field(default=0.0, ge=0, le=2)
    quarter_shock: float = Field(default=0.0, ge=0, le=2)
    absence_error_scale: float = Field(default=1.0, ge=0, le=10)
    # The share of the pupils the absence effect's plateau rests on at least (0: the
    # latest two event times alone; analysis/payments/forecast.py, _plateau).
    absence_plateau_pupils: float = Field(default=0.0, ge=0, le=1)


class BudgetEconomics(_Strict):
    saving_per_ladder_step_year: float = Field(ge=0)
    saving_per_support_level_year: float = Field(ge=0)
    horizon_years: int = Field(ge=1, le=30)
    discount_rate: float = Field(ge=0, lt=1)


class Contract(_Strict):
    programme: Programme
    timeline: Timeline
    targets: Targets
    rate_card: RateCard
    caps: Caps
    investment: Investment
    settlement: Settlement = Settlement()
    calibration: Calibration
    disclosure: Disclosure
    forecast: Forecast
    budget_economics: BudgetEconomics
    seed: int

    @property
    def area_codes(self) -> list[str]:
        return [area.code for area in self.programme.areas]

    @property
    def area_names(self) -> dict[str, str]:
        return {area.code: area.name for area in self.programme.areas}


class TrueEffects(_Strict):
    full_after: int = Field(ge=1)
    ladder_step: float
    support_level: float
    absence_rate: float
    life_satisfaction: float
    area_multiplier: dict[str, float]


class _Range(_Strict):
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) is below low ({self.low})")
        return self


class Backtest(_Strict):
    """Ranges the forecast backtest draws its synthetic programmes from (``make backtest``)."""

    programmes: int = Field(ge=1)
    seed: int
    draws: int = Field(ge=100, le=100_000)
    comparison_ratio: float = Field(gt=0)
    effect_scale: _Range
    enrolment_shortfall: _Range
    attrition_per_quarter: _Range
    survey_nonresponse: _Range


class AreaQuarterShocks(_Strict):
    """Shocks shared by every household of an area in a quarter, on each outcome's latent scale.

    Each area draws a stationary AR(1) path over the quarters (autocorrelation
    ``rho``, standard deviation per outcome), the same for Y(0) and Y(1): the threat
    that household-clustered inference ignores and area-level inference exists for.
    Zero standard deviations switch them off.
    """

    rho: float = Field(default=0.0, ge=0, lt=1)
    ladder_step: float = Field(default=0.0, ge=0)  # on the self-sufficiency index
    support_level: float = Field(default=0.0, ge=0)  # on the support-need index
    absence_rate: float = Field(default=0.0, ge=0)  # share of school days


class DeliveryRevisions(_Strict):
    """How synthetic deliveries differ from the final registers (analysis.data.deliveries)."""

    late_registration: float = Field(default=0.01, ge=0, lt=1)
    benefit_correction: float = Field(default=0.01, ge=0, lt=1)
    absence_correction: float = Field(default=0.02, ge=0, lt=1)
    late_exit: float = Field(default=0.0, ge=0, le=1)
    correction_quarters: int = Field(default=2, ge=1, le=8)


class SyntheticConfig(_Strict):
    data_end: Quarter
    intervention_households: int = Field(gt=0)
    comparison_ratio: float = Field(gt=0)
    enrolment_shortfall: float = Field(ge=0, lt=1)
    attrition_per_quarter: float = Field(ge=0, lt=1)
    survey_nonresponse: float = Field(ge=0, lt=1)
    area_shares: dict[str, float]
    true_effects: TrueEffects
    backtest: Backtest | None = None
    area_quarter_shocks: AreaQuarterShocks = AreaQuarterShocks()

    deliveries: DeliveryRevisions = DeliveryRevisions()

    _q = field_validator("data_end")(_check_quarter)


def _read_yaml(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            content = yaml.safe_load(handle)
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: configuration file not found") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return content


def _format_errors(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: {error.error_count()} problem(s) in the configuration"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        lines.append(f"  {key}: {item['msg']} (got {item.get('input')!r})")
    return "\n".join(lines)


def load_contract(path: Path | str = CONTRACT_FILE) -> Contract:
    """Load and validate the contract configuration."""
    path = Path(path)
    try:
        return Contract.model_validate(_read_yaml(path))
    except ValidationError as error:
        raise ConfigError(_format_errors(path, error)) from None


def load_synthetic(path: Path | str = SYNTHETIC_CONFIG_FILE) -> SyntheticConfig:
    """Load and validate the synthetic generator's parameters."""
    path = Path(path)
    try:
        return SyntheticConfig.model_validate(_read_yaml(path))
    except ValidationError as error:
        raise ConfigError(_format_errors(path, error)) from None


@lru_cache(maxsize=4)
def contract(path: str = str(CONTRACT_FILE)) -> Contract:
    """The contract configuration, read once per process."""
    return load_contract(path)
