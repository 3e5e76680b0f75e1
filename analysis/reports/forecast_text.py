"""The forecast's sentences on page 1: what will be paid, what the caps withhold, how good it is.

One projection of what will be paid: the simulated futures' total paid after the
caps (:mod:`analysis.payments.forecast`), the same numbers as the dashboard's fan
and the forecast table. Beside it, what the caps withhold in the median future
(against the uncapped "earned" amount), the investors' projected IRR, and the
backtest's coverage and typical error at the report's horizon, read from the
summary ``make backtest`` writes (:data:`analysis.paths.FORECAST_BACKTEST`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from analysis import quarters
from analysis.config import Contract
from analysis.paths import FORECAST_BACKTEST
from analysis.payments.periods import result_periods
from analysis.render import numbers
from analysis.reports.text import t
from analysis.sdc.quarterly import rounded_forecast


@lru_cache(maxsize=4)
def _summary(path: str) -> dict | None:
    file = Path(path)
    if not file.exists():
        return None
    return json.loads(file.read_text(encoding="utf-8"))


def horizon(contract: Contract, as_of: str) -> int:
    """Quarters from ``as_of`` to the last payment quarter of the contract."""
    last = result_periods(contract)[-1].payment_quarter
    return quarters.to_index(last) - quarters.to_index(as_of)


def backtest_at(contract: Contract, as_of: str, path: Path | None = None) -> dict | None:
    """The backtest's row for the horizon of a forecast made as of ``as_of`` (None: not run)."""
    summary = _summary(str(path or FORECAST_BACKTEST))
    if not summary:
        return None
    wanted = horizon(contract, as_of)
    for row in summary["by_horizon"]:
        if row["horizon"] == wanted:
            return {**row, "programmes": summary["programmes"], "band": summary["band"]}
    return None


def projection_text(
    key: dict, forecast_table, contract: Contract, lang: str, as_of: str, path: Path | None = None
) -> str:
    """The sentences after "projected to be paid …": certainty, caps, IRR, backtest.

    ``path``: the backtest summary (default :data:`analysis.paths.FORECAST_BACKTEST`).
    """
    text = ""
    base = forecast_table.set_index("scenario")
    level = numbers.percent(contract.forecast.band, 0, lang)
    if key.get("forecast_certain"):
        return t("forecast.certain", lang)
    low, high = (rounded_forecast(key[f"projected_paid_{n}"], contract) for n in ("low", "high"))
    if low == high:
        text += t("forecast.caps_bind_always", lang)
    withheld = rounded_forecast(key.get("projected_withheld_median", 0.0), contract)
    if withheld > 0 and "earned" in base.index:
        text += t(
            "forecast.caps",
            lang,
            earned=numbers.dkk(
                rounded_forecast(float(base.loc["base", "median"]) + withheld, contract), lang
            ),
            withheld=numbers.dkk(withheld, lang),
            cap=numbers.dkk(contract.caps.total_outcome_payments, lang),
            rate=numbers.percent(contract.caps.investor_annual_return, 1, lang),
        )
    text += _irr_text(key, contract, lang, level)
    row = backtest_at(contract, as_of, path)
    if row is not None:
        text += t(
            "forecast.backtest",
            lang,
            programmes=numbers.number(row["programmes"], 0, lang),
            level=numbers.percent(row["band"], 0, lang),
            horizon=row["horizon"],
            coverage=numbers.percent(row["coverage"], 0, lang),
            mae=numbers.dkk(rounded_forecast(row["mae"], contract), lang),
        )
    return text


def _irr_text(key: dict, contract: Contract, lang: str, level: str) -> str:
    """The investors' projected IRR with its band; a band of no width as shown is said in words.

    "4,6 % til 4,6 %" reads as a mistake: when both ends round to the same rate, at
    least the band's share of the futures pay that rate (the return cap, when it binds).
    """
    irr = key.get("projected_irr_median")
    if irr is None or key.get("projected_irr_low") is None:
        return ""
    low, high, shown = (
        numbers.percent(key[name], 1, lang)
        for name in ("projected_irr_low", "projected_irr_high", "projected_irr_median")
    )
    if low != high:
        return t("forecast.irr", lang, irr=shown, level=level, low=low, high=high)
    at_cap = shown == numbers.percent(contract.caps.investor_annual_return, 1, lang)
    return t(
        "forecast.irr_at_cap" if at_cap else "forecast.irr_fixed", lang, irr=shown, level=level
    )
