"""Outcome payments: rate card × achievements per result-report period, with caps.

Payment modes (per target, from the contract):

* ``once``: a unit-step is paid at the first result report whose period holds the
  quarter it was achieved in;
* ``per_followup``: a unit-step is paid at every result report at whose period
  end it still holds.

A unit-step is never paid twice in the same period. The caps apply when a
result report is settled (:mod:`analysis.payments.ledger`).
"""

from __future__ import annotations

import pandas as pd

from analysis.config import TARGETS, Contract
from analysis.payments.periods import Period
from analysis.payments.targets import TargetResult


def achievements_in_period(result: TargetResult, period: Period, mode: str) -> pd.DataFrame:
    """Unit-steps payable for one target in one period under ``mode``."""
    if mode == "once":
        paid = result.achievements.loc[result.achievements["t"].between(period.first, period.last)]
    else:
        status = result.status.loc[result.status["t"] <= period.last]
        latest = status.sort_values("t").groupby(["unit_id", "step"], as_index=False).tail(1)
        paid = latest.loc[latest["holds"] & (latest["t"] >= period.first)]
    return paid.drop_duplicates(["unit_id", "step"])[["unit_id", "step"]]


def statement(
    unit_results: dict[str, TargetResult],
    absence_by_period: dict[str, dict],
    periods: list[Period],
    contract: Contract,
) -> pd.DataFrame:
    """The payment statement: one row per result report and target.

    Columns: report, period, payment_quarter, target, achievements, unit_price,
    amount (= achievements × unit_price before caps, in whole kroner). School absence is priced per
    pupil per percentage point of estimated reduction per school year, so its
    ``achievements`` are pupil-percentage-point-years; a pupil's years are its
    exposure within the period (``pupil_years``) unless the contract's
    ``school_absence.exposure`` is ``period`` (every pupil the period's length).
    """
    rows = []
    for period in periods:
        for target in TARGETS:
            price = getattr(contract.rate_card, target)
            if target == "school_absence":
                estimate = absence_by_period.get(period.report, {})
                # Released when the estimate is a reduction; priced per percentage point.
                reduction_pp = max(0.0, -100 * estimate.get("att", 0.0))
                if contract.targets.school_absence.exposure == "enrolment":
                    years = estimate.get("pupil_years", 0.0)
                else:
                    years = estimate.get("pupils", 0) * period.years
                units = reduction_pp * years
                count = estimate.get("pupils", 0)
            else:
                mode = getattr(contract.targets, target).payment_mode
                paid = achievements_in_period(unit_results[target], period, mode)
                units = float(len(paid))
                count = len(paid)
            # Whole kroner: every entry of the ledger is then a whole amount, so every
            # printed total is the sum of its printed rows (no rounding drift). School
            # absence's pupil-point-years are the amount over the price, so that
            # amount = achievements × price still holds.
            amount = float(round(units * price))
            rows.append(
                {
                    "report": period.report,
                    "period": period.label,
                    "payment_quarter": period.payment_quarter,
                    "target": target,
                    "units": count,
                    "achievements": round(amount / price, 6) if price else round(units, 6),
                    "unit_price": price,
                    "amount": amount,
                }
            )
    return pd.DataFrame(rows)
