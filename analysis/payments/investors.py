"""Investors' cash flows: investment disbursed against repayments, net position and IRR.

Repayments are the ledger's paid amounts (:mod:`analysis.payments.ledger`), each
investor's share of them. An IRR is meaningful only over the whole contract:
after the final settlement it is realised; before, it is projected from the
forecast and labelled so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from analysis import quarters
from analysis.config import Contract
from analysis.payments.periods import result_periods


def disbursements(contract: Contract) -> pd.DataFrame:
    """The investment paid out in equal parts over the intervention quarters, per investor."""
    span = contract.timeline.intervention.quarters()
    per_quarter = contract.investment.total / len(span)
    rows = [
        {
            "investor": investor,
            "t": quarters.to_index(q),
            "quarter": q,
            "amount": per_quarter * share,
        }
        for q in span
        for investor, share in contract.investment.shares.items()
    ]
    return pd.DataFrame(rows)


def irr(flows_by_quarter: pd.Series) -> float:
    """Annual internal rate of return of quarterly cash flows (negative = invested).

    Solves Σ_q c_q / (1 + r_q)^q = 0 for the quarterly rate r_q on (-99 %, 100 %)
    and returns (1 + r_q)^4 - 1; NaN when no sign change exists.
    """
    flows = flows_by_quarter.sort_index()
    times = (flows.index - flows.index.min()).to_numpy(dtype=float)
    values = flows.to_numpy(dtype=float)

    def npv(rate: float) -> float:
        return float(np.sum(values / (1 + rate) ** times))

    # Bracket the root on a grid: with heavy losses the quarterly rate is far below zero.
    grid = np.concatenate(
        [-1 + np.logspace(-6, 0, 200, endpoint=False), np.linspace(0, 1, 101)[1:]]
    )
    values_on_grid = np.array([npv(r) for r in grid])
    changes = np.flatnonzero(np.sign(values_on_grid[:-1]) * np.sign(values_on_grid[1:]) < 0)
    if len(changes) == 0:
        return float("nan")
    quarterly = brentq(npv, grid[changes[0]], grid[changes[0] + 1], xtol=1e-14)
    return (1 + quarterly) ** 4 - 1


def irrs(times: np.ndarray, flows: np.ndarray) -> np.ndarray:
    """:func:`irr` of many cash-flow schedules at once (one row of ``flows`` each).

    The same equation and root as :func:`irr`: the first sign change of the net
    present value on the same grid of quarterly rates, then bisection to it; NaN
    where there is none.
    """
    flows = np.atleast_2d(np.asarray(flows, dtype=float))
    times = np.asarray(times, dtype=float)
    times = times - times.min()
    grid = np.concatenate(
        [-1 + np.logspace(-6, 0, 200, endpoint=False), np.linspace(0, 1, 101)[1:]]
    )
    npv = flows @ (1 + grid[None, :]) ** -times[:, None]  # schedules × grid
    sign = np.sign(npv)
    change = (sign[:, :-1] * sign[:, 1:]) < 0
    found = change.any(axis=1)
    first = np.argmax(change, axis=1)
    low, high = grid[first], grid[first + 1]
    f_low = np.einsum("ij,ij->i", flows, (1 + low[:, None]) ** -times[None, :])
    for _ in range(60):
        mid = (low + high) / 2
        f_mid = np.einsum("ij,ij->i", flows, (1 + mid[:, None]) ** -times[None, :])
        same = np.sign(f_mid) == np.sign(f_low)
        low, f_low = np.where(same, mid, low), np.where(same, f_mid, f_low)
        high = np.where(same, high, mid)
    return np.where(found, (1 + (low + high) / 2) ** 4 - 1, np.nan)


def projected_total(value: float, contract: Contract, ledger: pd.DataFrame) -> float:
    """A projected total of payments at the end, after the caps as the ledger applies them.

    What is not yet settled (``value`` minus the ledger's total) is spread over the
    remaining result reports' payment quarters in proportion to their periods'
    lengths (:func:`projected_repayments`).
    """
    settled = float(ledger["paid"].sum())
    return round(settled + sum(projected_repayments(value, contract, ledger).values()), 2)


def projected_repayments(value: float, contract: Contract, ledger: pd.DataFrame) -> dict:
    """Payment quarter -> projected repayment of the result reports not yet settled, capped."""
    remaining = [p for p in result_periods(contract) if p.report not in set(ledger["report"])]
    if not remaining:
        return {}
    paid = ledger.groupby("payment_quarter", sort=True)["paid"].sum()
    rest = max(0.0, value - float(ledger["paid"].sum()))
    length = sum(p.years for p in remaining)
    return _capped(
        {p.payment_quarter: rest * p.years / length for p in remaining},
        {quarters.label_index(q): float(a) for q, a in paid.items()},
        contract,
    )


def return_cap_room(contract: Contract, paid: dict[int, float], pay_t: int) -> float:
    """What may still be repaid at quarter index ``pay_t`` under the return cap.

    The investors' return may not exceed ``investor_annual_return``: valued at
    ``pay_t`` with that rate, the repayments so far (``paid``: quarter index ->
    amount) and this one may not exceed the disbursements to date. Valuing both
    sides at the capped rate keeps the IRR at or below the cap, however the
    repayments are timed.
    """
    times = np.array(list(paid), dtype=float)
    amounts = np.array(list(paid.values()), dtype=float)
    return float(return_cap_rooms(contract, times, amounts, pay_t))


def return_cap_rooms(
    contract: Contract, times: np.ndarray, amounts: np.ndarray, pay_t: int
) -> np.ndarray | float:
    """:func:`return_cap_room` for many repayment schedules at once.

    ``times`` are quarter indices; ``amounts`` has one row per schedule (one per
    simulated future) and one column per entry of ``times``, or is one schedule.
    With :math:`r` the capped annual rate and :math:`d_s` the disbursements,

    .. math:: \\text{room} = \\sum_{s \\le t} d_s (1 + r)^{(t - s)/4}
              - \\sum_{q \\le t} a_q (1 + r)^{(t - q)/4}.
    """
    rate = contract.caps.investor_annual_return
    # The disbursement plan of :func:`disbursements`, without building its table.
    span = np.array([quarters.to_index(q) for q in contract.timeline.intervention.quarters()])
    per_quarter = contract.investment.total / len(span)
    past = span[span <= pay_t]
    allowed = float(
        per_quarter
        * sum(contract.investment.shares.values())
        * ((1 + rate) ** ((pay_t - past) / 4)).sum()
    )
    times = np.asarray(times, dtype=float)
    factor = np.where(times <= pay_t, (1 + rate) ** ((pay_t - times) / 4), 0.0)
    return allowed - np.asarray(amounts, dtype=float) @ factor


def _capped(
    future: dict[str, float], paid_before: dict[int, float], contract: Contract
) -> dict[str, float]:
    """Projected repayments under the caps as the ledger applies them at each payment quarter."""
    out, total = {}, sum(paid_before.values())
    paid = dict(paid_before)
    for quarter, amount in future.items():
        pay_t = quarters.to_index(quarter)
        room = min(
            contract.caps.total_outcome_payments - total, return_cap_room(contract, paid, pay_t)
        )
        out[quarter] = max(0.0, min(amount, room))
        paid[pay_t] = paid.get(pay_t, 0.0) + out[quarter]
        total += out[quarter]
    return out


def cash_flows(
    contract: Contract,
    ledger: pd.DataFrame,
    until: str,
    projected_median: float | None = None,
    schedule: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Per investor and quarter: disbursements (negative) and repayments, the schedule behind every IRR.

    ``kind`` is ``disbursement`` or ``repayment`` up to ``until``; after it,
    ``disbursement_planned``, ``repayment_settled`` (settled, paid in a later
    quarter) and, given ``projected_median`` (the projected total paid at the end),
    ``repayment_projected`` (:func:`projected_repayments`); ``schedule`` (payment
    quarter -> amount, e.g. a simulated future of :mod:`analysis.payments.forecast`)
    gives the projected repayments instead.
    """
    cut = quarters.to_index(until)
    rows = []
    for record in disbursements(contract).itertuples(index=False):
        rows.append(
            {
                "investor": record.investor,
                "quarter": record.quarter,
                "kind": "disbursement" if record.t <= cut else "disbursement_planned",
                "amount": -record.amount,
            }
        )
    paid = ledger.groupby("payment_quarter", sort=True)["paid"].sum()
    if schedule is not None:
        future = dict(schedule)
    elif projected_median is not None:
        future = projected_repayments(projected_median, contract, ledger)
    else:
        future = {}
    for investor, share in contract.investment.shares.items():
        for quarter, amount in paid.items():
            settled = quarters.label_index(quarter) <= cut
            rows.append(
                {
                    "investor": investor,
                    "quarter": quarter,
                    "kind": "repayment" if settled else "repayment_settled",
                    "amount": amount * share,
                }
            )
        for quarter, amount in future.items():
            rows.append(
                {
                    "investor": investor,
                    "quarter": quarter,
                    "kind": "repayment_projected",
                    "amount": amount * share,
                }
            )
    out = pd.DataFrame(rows, columns=["investor", "quarter", "kind", "amount"])
    order = {name: i for i, name in enumerate(contract.investment.shares)}
    out["t"] = out["quarter"].map(quarters.label_index)
    out = out.sort_values(
        ["investor", "t", "kind"], key=lambda c: c.map(order) if c.name == "investor" else c
    )
    return out.drop(columns="t").reset_index(drop=True)


def positions(
    contract: Contract,
    ledger: pd.DataFrame,
    until: str,
    projection: dict | None = None,
    final: bool = False,
    schedule: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per investor: invested and repaid to date, net, projected repayment and IRR; and the cash flows.

    ``projection`` holds the projected total paid at the end (``median``, ``low``,
    ``high``, after the caps). The IRR is defined once the final settlement is
    paid (``final``): ``irr_kind`` is then ``realised``. Before, once a result
    report is settled, it is a ``projected`` IRR over the disbursement plan, the
    repayments settled so far and the projected median; before any settlement, or
    below -99 %, it is not meaningful and left out (NaN). ``schedule``: the
    projected repayments per payment quarter (:func:`cash_flows`).
    """
    projection = projection or {}
    flows = cash_flows(
        contract,
        ledger,
        until,
        None if final else projection.get("median"),
        None if final else schedule,
    )
    rows = []
    settled = float(ledger["paid"].sum())
    for investor, share in contract.investment.shares.items():
        mine = flows.loc[flows["investor"] == investor]
        invested = -mine.loc[mine["kind"] == "disbursement", "amount"].sum()
        repaid = mine.loc[mine["kind"] == "repayment", "amount"].sum()
        by_quarter = mine.groupby(mine["quarter"].map(quarters.label_index))["amount"].sum()
        # Before the first settlement the projection rests on too little to give a rate.
        defined = final or (ledger["kind"] == "settlement").any()
        rate = irr(by_quarter) if defined and (mine["amount"] > 0).any() else float("nan")
        if rate < -0.99:
            rate = float("nan")
        rows.append(
            {
                "investor": investor,
                "share": share,
                "invested": round(float(invested), 2),
                "invested_total": round(contract.investment.total * share, 2),
                "repaid": round(float(repaid), 2),
                "net_position": round(float(repaid - invested), 2),
                "settled_awaiting": round(settled * share - float(repaid), 2),
                "projected_repaid": round(settled * share, 2)
                if final
                else round(projection.get("median", float("nan")) * share, 2),
                "projected_low": round(settled * share, 2)
                if final
                else round(projection.get("low", float("nan")) * share, 2),
                "projected_high": round(settled * share, 2)
                if final
                else round(projection.get("high", float("nan")) * share, 2),
                "irr": rate,
                "irr_kind": "realised" if final else "projected",
            }
        )
    # The schedule is published to the øre; the positions above use the exact flows.
    return pd.DataFrame(rows), flows.assign(amount=flows["amount"].round(2))
