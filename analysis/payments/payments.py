"""Outcome payments: rate card × achievements per result-report period, with caps.

Payment modes (per target, from the contract):

* ``once``: a unit-step is paid at the first result report whose period holds the
  quarter it was achieved in;
* ``per_followup``: a unit-step is paid at every result report at whose period
  end it still holds.

A unit-step is never paid twice in the same period. Two caps apply, in order: the
total cap on outcome payments, and the cap on the investors' return (repayments
may not exceed the disbursed investment compounded at ``investor_annual_return``
to the payment quarter). What a cap withholds is shown, not paid.
"""

from __future__ import annotations

import pandas as pd

from analysis import quarters
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
    amount (= achievements × unit_price before caps). School absence is priced per
    pupil per percentage point of estimated reduction per school year, so its
    ``achievements`` are pupil-percentage-point-years.
    """
    rows = []
    for period in periods:
        for target in TARGETS:
            price = getattr(contract.rate_card, target)
            if target == "school_absence":
                estimate = absence_by_period.get(period.report, {})
                # Released when the estimate is a reduction; priced per percentage point.
                reduction_pp = max(0.0, -100 * estimate.get("att", 0.0))
                units = reduction_pp * estimate.get("pupils", 0) * period.years
                count = estimate.get("pupils", 0)
            else:
                mode = getattr(contract.targets, target).payment_mode
                paid = achievements_in_period(unit_results[target], period, mode)
                units = float(len(paid))
                count = len(paid)
            rows.append(
                {
                    "report": period.report,
                    "period": period.label,
                    "payment_quarter": period.payment_quarter,
                    "target": target,
                    "units": count,
                    "achievements": round(units, 6),
                    "unit_price": price,
                    "amount": round(units * price, 2),
                }
            )
    return pd.DataFrame(rows)


def apply_caps(
    statement_table: pd.DataFrame, contract: Contract, disbursements: pd.DataFrame
) -> pd.DataFrame:
    """Per report: amount due, what each cap withholds, and the amount paid.

    ``disbursements`` has columns ``t`` and ``amount`` (all investors together).
    The return cap at payment quarter P allows cumulative repayments up to
    Σ disbursement × (1 + r)^((P - t) / 4).
    """
    due = statement_table.groupby(["report", "payment_quarter"], as_index=False, sort=False)[
        "amount"
    ].sum()
    rate = contract.caps.investor_annual_return
    paid_so_far = 0.0
    rows = []
    for record in due.itertuples(index=False):
        pay_t = quarters.to_index(record.payment_quarter)
        room_total = max(0.0, contract.caps.total_outcome_payments - paid_so_far)
        after_total = min(record.amount, room_total)
        past = disbursements.loc[disbursements["t"] <= pay_t]
        allowed = float((past["amount"] * (1 + rate) ** ((pay_t - past["t"]) / 4)).sum())
        room_return = max(0.0, allowed - paid_so_far)
        paid = min(after_total, room_return)
        rows.append(
            {
                "report": record.report,
                "payment_quarter": record.payment_quarter,
                "due": round(record.amount, 2),
                "withheld_total_cap": round(record.amount - after_total, 2),
                "withheld_return_cap": round(after_total - paid, 2),
                "paid": round(paid, 2),
                "cumulative_paid": round(paid_so_far + paid, 2),
                "total_cap": contract.caps.total_outcome_payments,
                "return_cap_allowed": round(allowed, 2),
            }
        )
        paid_so_far += paid
    return pd.DataFrame(rows)
