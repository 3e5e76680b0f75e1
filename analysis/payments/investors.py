"""Investors' cash flows: investment disbursed against repayments, net position and IRR."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from analysis import quarters
from analysis.config import Contract


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


def positions(contract: Contract, capped: pd.DataFrame, until: str | None = None) -> pd.DataFrame:
    """Per investor: invested, repaid, net position and IRR, from disbursements and paid amounts up to ``until``."""
    out = disbursements(contract)
    if until is not None:
        out = out.loc[out["t"] <= quarters.to_index(until)]
    rows = []
    for investor, share in contract.investment.shares.items():
        invested = out.loc[out["investor"] == investor].set_index("t")["amount"]
        repaid = pd.Series(
            [row.paid * share for row in capped.itertuples()],
            index=[quarters.to_index(q) for q in capped["payment_quarter"]],
            dtype=float,
        )
        flows = (-invested).add(repaid, fill_value=0.0).groupby(level=0).sum()
        rows.append(
            {
                "investor": investor,
                "share": share,
                "invested": round(float(invested.sum()), 2),
                "repaid": round(float(repaid.sum()), 2),
                "net_position": round(float(repaid.sum() - invested.sum()), 2),
                "irr": irr(flows) if repaid.sum() > 0 else float("nan"),
            }
        )
    return pd.DataFrame(rows)
