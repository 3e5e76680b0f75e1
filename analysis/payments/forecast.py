"""Forecast of total outcome payments to the end of the contract.

For each unit-based target, achievements arrive at the average rate of the last
four quarters with data (λ per quarter). Future achievements over the ``h``
remaining quarters of the last result period are Poisson(λ h); school absence is
projected at its latest period's amount per year. The forecast is the paid amount
so far plus the simulated future amounts: median and a ``band`` interval over
``draws`` simulations, with the seed from the contract. The enrolment-shortfall
scenario scales the future amounts by the share of planned households enrolled
and (for a scenario) a further ``shortfall_scenario``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import quarters
from analysis.config import Contract
from analysis.payments.periods import result_periods
from analysis.payments.targets import TargetResult


def forecast(
    unit_results: dict[str, TargetResult],
    latest_absence_amount_per_year: float,
    due_so_far: float,
    last_data_quarter: str,
    contract: Contract,
    enrolled_households: int,
) -> pd.DataFrame:
    """Projected total payments (median and band) for the base case and the shortfall scenario."""
    settings = contract.forecast
    end = result_periods(contract)[-1].last
    last = quarters.to_index(last_data_quarter)
    remaining = max(0, end - last)
    rng = np.random.default_rng(contract.seed)
    draws = np.full(settings.draws, due_so_far, dtype=float)
    for target, result in unit_results.items():
        recent = result.achievements.loc[result.achievements["t"].between(last - 3, last)]
        rate = len(recent) / 4
        price = getattr(contract.rate_card, target)
        draws += price * rng.poisson(rate * remaining, settings.draws)
    draws += latest_absence_amount_per_year * remaining / 4
    future = draws - due_so_far
    planned = contract.programme.enrolment_target_households
    scenario = due_so_far + future * (1 - settings.shortfall_scenario)
    low_q, high_q = (1 - settings.band) / 2, 1 - (1 - settings.band) / 2
    rows = []
    for name, values in (("base", draws), ("shortfall", scenario)):
        rows.append(
            {
                "scenario": name,
                "median": float(np.median(values)),
                "low": float(np.quantile(values, low_q)),
                "high": float(np.quantile(values, high_q)),
                "remaining_quarters": remaining,
                "enrolled_share": enrolled_households / planned,
            }
        )
    return pd.DataFrame(rows)
