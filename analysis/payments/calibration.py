"""Calibration of the illustrative rate card from a stated business case.

The business case (``calibration`` in the contract): with the synthetic
generator's designed effects (``config/synthetic.yaml``) and full enrolment, the
investors get their principal back with ``target_annual_return`` a year, below
the return cap. The relative prices of the targets stay as the programme's draft rate card states them
(``relative_prices``); one factor scales them all.

:func:`calibrate` generates the synthetic extract with full enrolment, settles
every result report with a price of 1 DKK per achievement (the ledger without
caps), so each report's payment is Σ price × achievements, and solves for the
factor at which the investors' internal rate of return is the target. The
prices are then rounded, and the investors' return is recomputed with the
rounded prices, and with the same prices in the enrolment-shortfall scenario
(``forecast.shortfall_scenario`` of the planned households never enrol), where
the investors lose. ``python -m analysis calibrate`` prints the result.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from scipy.optimize import brentq

from analysis import quarters
from analysis.config import TARGETS, Contract, SyntheticConfig
from analysis.data.synth import generate
from analysis.data.validate import load_extract
from analysis.payments import ledger as ledger_module
from analysis.payments.investors import disbursements, irr
from analysis.payments.periods import result_periods


@dataclass(frozen=True)
class Calibration:
    """The calibrated rate card and what it gives the investors."""

    factor: float
    prices: dict[str, float]
    achievements: pd.DataFrame
    repaid: float
    irr: float
    repaid_shortfall: float
    irr_shortfall: float


def _uncapped_unit_prices(contract: Contract) -> Contract:
    data = contract.model_dump()
    data["rate_card"] = dict.fromkeys(TARGETS, 1.0)
    data["caps"] = {"total_outcome_payments": 1e15, "investor_annual_return": 1.0}
    return type(contract).model_validate(data)


def settled_achievements(tables: dict[str, pd.DataFrame], contract: Contract) -> pd.DataFrame:
    """Achievements per result report and target as settled, with their payment quarter."""
    unit = _uncapped_unit_prices(contract)
    last = result_periods(contract)[-1].report
    ledger = ledger_module.build(tables, last, unit)
    settled = ledger.loc[ledger["kind"] == "settlement"]
    return settled.pivot_table(
        index="payment_quarter", columns="target", values="achievements", aggfunc="sum"
    ).reindex(columns=list(TARGETS), fill_value=0.0)


def investor_irr(contract: Contract, repayments: pd.Series) -> float:
    """Annual IRR of all investors together: disbursements against repayments by payment quarter."""
    flows = -disbursements(contract).groupby("t")["amount"].sum()
    paid = pd.Series(
        repayments.to_numpy(), index=[quarters.to_index(q) for q in repayments.index], dtype=float
    )
    return irr(flows.add(paid, fill_value=0.0).groupby(level=0).sum())


def _extract(contract: Contract, synth: SyntheticConfig, shortfall: float, folder: Path):
    config = synth.model_copy(update={"enrolment_shortfall": shortfall})
    generate(folder, contract, config, contract.seed)
    return load_extract(folder, contract).tables


def calibrate(contract: Contract, synth: SyntheticConfig) -> Calibration:
    """The rate card of the business case, computed on the synthetic extract (see the module)."""
    case = contract.calibration
    weights = pd.Series(case.relative_prices.model_dump())[list(TARGETS)]
    with tempfile.TemporaryDirectory(prefix="calibration.") as scratch:
        full = settled_achievements(
            _extract(contract, synth, 0.0, Path(scratch) / "full"), contract
        )
        short = settled_achievements(
            _extract(
                contract, synth, contract.forecast.shortfall_scenario, Path(scratch) / "short"
            ),
            contract,
        )
    base = full @ weights

    def gap(factor: float) -> float:
        return investor_irr(contract, factor * base) - case.target_annual_return

    # The IRR solver covers up to 100 % a quarter: a factor of 20 is far beyond any case.
    factor = brentq(gap, 1e-2, 20.0, xtol=1e-12)
    prices = (weights * factor / case.rounding).round() * case.rounding
    repaid, repaid_short = full @ prices, short @ prices
    return Calibration(
        factor=float(factor),
        prices={k: float(v) for k, v in prices.items()},
        achievements=full,
        repaid=float(repaid.sum()),
        irr=investor_irr(contract, repaid),
        repaid_shortfall=float(repaid_short.sum()),
        irr_shortfall=investor_irr(contract, repaid_short),
    )


def report(result: Calibration, contract: Contract) -> str:
    """The calibration as text: the business case, the prices and the investors' result."""
    lines = [
        f"business case: {100 * contract.calibration.target_annual_return:.1f} % a year to the "
        f"investors with the designed effects and full enrolment "
        f"(return cap {100 * contract.caps.investor_annual_return:.1f} %)",
        f"factor on the relative prices: {result.factor:.4f}",
        "rate_card:",
        *(f"  {target}: {price:.0f}" for target, price in result.prices.items()),
        f"full enrolment: repaid {result.repaid:,.0f} DKK on {contract.investment.total:,.0f} "
        f"invested, IRR {100 * result.irr:.2f} %",
        f"{100 * contract.forecast.shortfall_scenario:.0f} % enrolment shortfall: repaid "
        f"{result.repaid_shortfall:,.0f} DKK, IRR {100 * result.irr_shortfall:.2f} %",
    ]
    return "\n".join(lines)
