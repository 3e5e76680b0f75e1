"""Target 3, school absence: the intervention pupils' absence against the comparison pupils'.

The estimate is the Callaway–Sant'Anna ATT(g,t) of the absence rate (days absent /
school days) with never-enrolled comparison pupils, clustered by household and
aggregated over the calendar quarters of the period (``aggte(type="calendar")``
restricted to those quarters). It is released when the estimate is a reduction;
the payment is priced per pupil per percentage point per school year, where a
pupil's years are its exposure within the period (:func:`exposure_years`).
"""

from __future__ import annotations

import pandas as pd

from analysis.data.asof import AsOfData
from analysis.did.aggte import aggte
from analysis.did.attgt import att_gt
from analysis.did.checks import EstimationError
from analysis.payments.periods import Period


def pupil_panel(data: AsOfData) -> pd.DataFrame:
    """Pupil × quarter absence rates with cohort (0 for comparison pupils), household and area."""
    households = data["households"]
    usable = households.loc[
        households["group"].isin(["intervention", "comparison"]),
        ["household_id", "area", "g", "household_type"],
    ]
    pupils = (
        data["school_absence"]
        .merge(data["persons"][["person_id", "household_id"]], on="person_id")
        .merge(usable, on="household_id")
    )
    pupils["absence_rate"] = pupils["days_absent"] / pupils["school_days"]
    pupils["g"] = pupils["g"].fillna(0).astype(int)
    pupils["t"] = pupils["t"].astype(int)
    return pupils[["person_id", "household_id", "area", "household_type", "t", "g", "absence_rate"]]


def exposure_years(panel: pd.DataFrame, period: Period) -> tuple[int, float]:
    """Pupils in the intervention during ``period`` and their years of exposure within it.

    A pupil counts when it has an absence record in the period from its
    household's enrolment quarter ``g`` on; its exposure runs from the later of
    ``g`` and the period's first quarter to the period's last quarter (a quarter
    is a quarter of a year). A pupil enrolled in the period's last quarter has
    0.25 years, not the period's full length.
    """
    treated = panel.loc[
        (panel["g"] > 0)
        & (panel["t"] >= panel["g"])
        & panel["t"].between(period.first, period.last)
    ]
    first_quarter = treated.groupby("person_id")["g"].first().clip(lower=period.first)
    years = (period.last - first_quarter + 1) / 4
    return int(len(first_quarter)), float(years.sum())


def fit(data: AsOfData, pretest: bool = False):
    """The Callaway–Sant'Anna ATT(g,t) of the absence rate (None when it cannot be estimated).

    ``pretest``: also the test of parallel pre-trends (:func:`analysis.did.attgt.
    pretrend_test`). No payment, settlement or forecast uses it (the statement takes
    the estimate, its standard error and interval), so it is left out by default: a
    third of the fit's time, paid once for every settled report and once more for
    the quarter's results.

    On an extract read out of core the pupil-quarters come as integer codes
    (``data["pupils"]``, :func:`analysis.data.engine.pupil_rows`), which give the
    same estimate as :func:`pupil_panel`'s string ids in a fraction of the memory.
    """
    panel = data.tables["pupils"] if "pupils" in data.tables else pupil_panel(data)
    if panel.empty or not (panel["g"] > 0).any():
        return None
    try:
        return att_gt(
            panel,
            "absence_rate",
            "t",
            "person_id",
            "g",
            control_group="nevertreated",
            cluster="household_id",
            pretest=pretest,
        )
    except EstimationError:
        return None


_UNSET = object()


def absence_estimates(data: AsOfData, periods: list[Period], result=_UNSET) -> dict[str, dict]:
    """The absence estimate for each period: att (share of days), se, ci and pupils.

    ``result``: the estimate of :func:`fit` when already computed.
    """
    if result is _UNSET:
        result = fit(data)
    out: dict[str, dict] = {}
    if result is None:
        return out
    panel = data.tables["pupils"] if "pupils" in data.tables else pupil_panel(data)
    for period in periods:
        try:
            calendar = aggte(result, "calendar", window=(period.first, period.last))
        except EstimationError:
            continue
        pupils, pupil_years = exposure_years(panel, period)
        out[period.report] = {
            "att": calendar.overall_att,
            "se": calendar.overall_se,
            "ci_low": calendar.overall_ci[0],
            "ci_high": calendar.overall_ci[1],
            "pupils": pupils,
            "pupil_years": pupil_years,
            "quarters": int(len(calendar.table)),
        }
    return out
