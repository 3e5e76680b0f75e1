"""Result-report periods: which quarters each result report pays for.

Each result report covers the quarters from the end of the previous report's
period (or the intervention start) to the last quarter of the previous calendar
year; the payment falls in the quarter after the report.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis import quarters
from analysis.config import Contract


@dataclass(frozen=True)
class Period:
    """One result report's period."""

    report: str
    first: int
    last: int
    payment_quarter: str

    @property
    def label(self) -> str:
        return f"{quarters.from_index(self.first)}–{quarters.from_index(self.last)}"

    @property
    def years(self) -> float:
        return (self.last - self.first + 1) / 4


def result_periods(contract: Contract) -> list[Period]:
    """The periods of every result report in the contract."""
    periods = []
    first = quarters.to_index(contract.timeline.intervention.start)
    for report in contract.timeline.result_reports:
        last = quarters.year_of(report) * 4 - 1  # Q4 of the previous calendar year
        if last < first:
            raise ValueError(f"result report {report} covers no quarters")
        periods.append(Period(report, first, last, quarters.shift(report, 1)))
        first = last + 1
    return periods


def reports_due(contract: Contract, as_of: str) -> list[Period]:
    """The result reports whose report quarter is at or before ``as_of``."""
    cut = quarters.to_index(as_of)
    return [p for p in result_periods(contract) if quarters.to_index(p.report) <= cut]
