"""Forecast of outcome payments, simulated through the contract's settlement, caps and timing.

The model (docs/payments.md, "Forecast"):

* **Unit targets** (employment, social measures, life satisfaction, action-plan
  goals). Each eligible unit has a number of unit-steps it can still achieve
  (employment: steps up the ladder to the top; social measures: steps down to no
  measure; the others: one). The hazard :math:`h_k(e)` that a unit-step still
  open achieves in a quarter depends on the time since the household's enrolment
  :math:`e` (quarters); it is estimated per target as

  .. math:: \\hat h_k(e) = \\frac{\\sum_i w_i C_{ik}(e) + \\alpha \\bar h_k(e)}
                                 {\\sum_i w_i R_{ik}(e) + \\alpha},

  with :math:`C_{ik}(e)` the unit-steps household :math:`i` achieved at
  :math:`e`, :math:`R_{ik}(e)` those open at :math:`e` (for the survey and the
  action plans only while the household is still enrolled: their data stop when
  it leaves), :math:`\\bar h_k(e)` the hazard pooled over :math:`e` and the
  neighbouring times since enrolment of the same phase (:func:`_phase`: the
  survey is yearly, reviews half-yearly, registers quarterly), the first year
  apart, and :math:`\\alpha` a prior of ``PRIOR_STEPS`` unit-steps. Parameter
  uncertainty is a Bayesian bootstrap over households: each simulated future
  draws its own weights :math:`w \\sim \\text{Dirichlet}(1, \\ldots, 1) \\cdot H`.
  Hazards fall with :math:`e` (early achievements include mean reversion from
  the baseline quarter; the unit-steps still open are more and more those of
  households less likely to achieve them). Beyond the longest time since
  enrolment observed, the hazard is the one pooled over the latest times seen
  at the same phase that hold ``EXTRAPOLATION_STEPS`` unit-steps at risk,
  falling on at the yearly rate :func:`_decline` estimates from the times seen
  from ``DECLINE_FROM`` quarters since enrolment on (a log-linear hazard by
  maximum likelihood, combined with a normal prior ``DECLINE_PRIOR`` ±
  ``DECLINE_PRIOR_SD`` by their precisions; the prior alone where fewer than
  three are seen). Future achievements are binomial draws from the
  open unit-steps of each enrolment cohort; households leave at the observed
  exit rate (its own Beta posterior); households still to be enrolled arrive at
  the recent pace (Gamma posterior) with the unit-steps of an average household.
* **Drift**: beyond the data the hazards may move away from what has been seen
  (the pool of open unit-steps changes, so does the programme): each simulated
  future multiplies a target's hazards by a mean-one log-normal factor,
  :math:`\\exp(\\tau \\sqrt{y} Z - \\tau^2 y / 2)` after :math:`y` years
  (one :math:`Z \\sim N(0, 1)` per future and target),
  :math:`\\tau` = ``forecast.hazard_drift``.
* **Quarter shocks**: shocks shared by an area and a calendar quarter move every
  cohort's achievements in that quarter together (extra-binomial variation): each
  simulated future multiplies a target's hazards in each future quarter by a
  mean-one log-normal factor whose logarithm has standard deviation
  ``forecast.quarter_shock``.
* **School absence**: the payment is the estimated reduction (percentage points)
  × pupil-years × price, and a period's reduction is the mean of its quarters'
  calendar estimates :math:`\\theta(t)` of the Callaway–Sant'Anna estimate, as
  the settlement takes it. Quarters with data keep their estimate. A future
  quarter's is anchored on the latest ``ANCHOR_QUARTERS`` quarters' estimates
  (each cohort keeps its own baseline) and moved by the change the effects by
  time since enrolment imply (:func:`_calendar_path`: the ramp of the effect,
  cohorts reaching later times, new cohorts), those drawn jointly from their
  cluster-robust covariance and held beyond the times estimated at their mean
  weighted by their pupils over the latest times that rest on
  ``forecast.absence_plateau_pupils`` of the pupils (:func:`_plateau`). Each
  simulated future adds to the anchor, and to each future period, an error of
  one quarter's estimate: the anchor quarters' standard error, times the
  quarters' scatter about the estimated path in standard errors where that is
  more than one (shocks shared by an area and quarter, the pupils changing with
  the school year: errors that averaging quarters does not shrink); while the
  effect is estimated only on its ramp, the scatter itself. Both errors are
  multiplied by ``forecast.absence_error_scale``: the calendar estimates of the
  quarters with data move as later data arrive, and the area shocks are more
  than a few quarters' scatter shows.
* **Enrolment shortfall**: the same simulation with enrolment stopping at
  ``1 - forecast.shortfall_scenario`` of the planned households.

Each simulated future is a statement per result report not yet settled; it goes
through the caps exactly as the ledger applies them (:func:`analysis.payments.
ledger.cap_withheld` with :func:`analysis.payments.investors.return_cap_rooms`),
in the order of the payment quarters, after what the ledger has settled. The
investors' IRR of each future is :func:`analysis.payments.investors.irrs` of the
disbursements and the repayments. The median is a simulated future (the
middle one by total paid), so its schedule, total and IRR agree.

:func:`naive_forecast` is the method this replaced (Poisson at the last four
quarters' rate, caps outside the simulation); the backtest (``make backtest``)
keeps it as the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import quarters
from analysis.config import Contract
from analysis.data.asof import AsOfData
from analysis.did.aggte import aggte
from analysis.did.attgt import cluster_sums
from analysis.did.checks import EstimationError
from analysis.payments import investors
from analysis.payments import ledger as ledger_module
from analysis.payments.absence import pupil_panel
from analysis.payments.periods import Period, result_periods
from analysis.payments.targets import TargetResult

# Prior of the hazard per time since enrolment: its strength in unit-steps at risk.
PRIOR_STEPS = 50.0
# Unit-steps at risk behind the hazard beyond the times since enrolment seen.
EXTRAPOLATION_STEPS = 600.0
# Targets whose data stop when the household leaves the intervention.
STOP_AT_EXIT = ("life_satisfaction", "action_plan_goals")
# Register targets: their data arrive with the register lag.
REGISTER_TARGETS = ("employment", "social_measures")
# The fewest event times averaged for the plateau of the absence effect beyond the
# observed ones (the latest: the effect may still be growing where the data end);
# more while they rest on less than ``forecast.absence_plateau_pupils`` of the pupils.
PLATEAU_LEVELS = 2
# The steepest yearly fall of the log hazard extrapolated beyond the data (a halving).
MAX_DECLINE = float(np.log(0.5))
# The decline is fitted from this time since enrolment on (earlier: mean reversion
# from the baseline quarter, and the effect still ramping up).
DECLINE_FROM = 4
# Normal prior of the yearly change of the log hazard (mean, standard deviation):
# the typical fall over whole development programmes (docs/payments.md).
DECLINE_PRIOR = -0.25
DECLINE_PRIOR_SD = 0.3
# Latest calendar quarters whose estimates anchor the future ones (absence).
ANCHOR_QUARTERS = 4


@dataclass
class Simulation:
    """Simulated futures: per draw, what each remaining result report earns and pays.

    ``earned``/``paid``: draws × remaining periods (DKK, before and after the
    caps); ``periods`` the remaining result reports; ``paid_before`` the ledger's
    paid amounts by payment quarter index; ``irr`` the investors' IRR per draw.
    """

    periods: list[Period]
    earned: np.ndarray
    paid: np.ndarray
    settled_total: float
    paid_before: dict[int, float]
    irr: np.ndarray
    by_target: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def total_paid(self) -> np.ndarray:
        return self.settled_total + self.paid.sum(axis=1)

    @property
    def total_earned(self) -> np.ndarray:
        return self.settled_total + self.earned.sum(axis=1)

    @property
    def median_draw(self) -> int:
        """The simulated future in the middle by total paid (lower middle for an even count)."""
        order = np.argsort(self.total_paid, kind="stable")
        return int(order[(len(order) - 1) // 2])


@dataclass
class Forecast:
    """The forecast tables and numbers of one quarter's results."""

    table: pd.DataFrame
    quarters: pd.DataFrame
    key: dict
    schedule: dict[str, float] = field(default_factory=dict)
    base: Simulation | None = None


def _max_steps(result: TargetResult) -> pd.Series:
    eligible = result.eligible
    if result.target == "employment":
        return 4 - eligible["baseline"].astype(int)
    if result.target == "social_measures":
        return eligible["baseline"].astype(int)
    return pd.Series(1, index=eligible.index)


@dataclass
class _TargetModel:
    target: str
    counts: np.ndarray  # households × event time: unit-steps achieved
    at_risk: np.ndarray  # households × event time: unit-steps open
    observed_until: int  # last quarter index with data for this target
    cohorts: np.ndarray  # enrolment quarters of the cohorts still at risk
    open_steps: np.ndarray  # per cohort: unit-steps open after the last data quarter
    steps_per_household: np.ndarray  # per household (bootstrap): unit-steps when enrolled
    observed: dict[str, float]  # per remaining report: unit-steps achieved in its period so far
    cumulative: float  # unit-steps achieved so far (per_followup)


def _target_model(
    result: TargetResult,
    households: pd.DataFrame,
    observed_until: int,
    remaining: list[Period],
) -> _TargetModel:
    """Counts and open unit-steps per household and time since enrolment (module docstring)."""
    index = pd.Index(households["household_id"])
    n_households = len(households)
    eligible = result.eligible.assign(steps=_max_steps(result).to_numpy())
    eligible = eligible.loc[(eligible["steps"] > 0) & eligible["household_id"].isin(index)]
    eligible = eligible.drop_duplicates("unit_id").reset_index(drop=True)
    width = max(1, observed_until - int(households["g"].min()) + 1) if n_households else 1
    home = index.get_indexer(eligible["household_id"])
    g = eligible["g"].astype(int).to_numpy()
    steps = eligible["steps"].to_numpy(dtype=float)
    leave = households["exit_t"].to_numpy(dtype=float, na_value=np.nan)[home]
    stop = result.target in STOP_AT_EXIT
    end = np.full(len(eligible), float(observed_until))
    if stop:
        end = np.where(np.isnan(leave), end, np.minimum(end, leave))
    achieved = result.achievements.loc[result.achievements["t"] <= observed_until]
    row = pd.Index(eligible["unit_id"]).get_indexer(achieved["unit_id"])
    found = row >= 0
    row, times = row[found], achieved["t"].to_numpy(dtype=int)[found]
    done = np.zeros((len(eligible), width))
    np.add.at(done, (row, np.clip(times - g[row], 0, width - 1)), 1.0)
    e = np.arange(width)
    inside = e[None, :] <= (end - g)[:, None]
    open_steps = steps[:, None] - (np.cumsum(done, axis=1) - done)
    counts = np.zeros((n_households, width))
    at_risk = np.zeros((n_households, width))
    np.add.at(counts, home, np.where(inside, done, 0.0))
    np.add.at(at_risk, home, np.where(inside, open_steps, 0.0))
    steps_of_household = np.bincount(home, weights=steps, minlength=n_households)
    still = steps - done.sum(axis=1)
    going = (still > 0) & ((not stop) | np.isnan(leave))
    after = pd.Series(still[going]).groupby(g[going]).sum()
    observed = {p.report: float(achieved["t"].between(p.first, p.last).sum()) for p in remaining}
    return _TargetModel(
        result.target,
        counts,
        at_risk,
        observed_until,
        after.index.to_numpy(dtype=int),
        after.to_numpy(dtype=float),
        steps_of_household,
        observed,
        float(len(achieved)),
    )


def _hazards(model: _TargetModel, weights: np.ndarray, horizon: int) -> np.ndarray:
    """Draws × event time 0..horizon-1: the hazard per open unit-step (module docstring)."""
    counts = weights @ model.counts
    at_risk = weights @ model.at_risk
    pooled = model.counts.sum() / max(model.at_risk.sum(), 1.0)
    # The prior mean at e is the hazard pooled over e and the neighbouring quarters
    # since enrolment of the same phase (the survey is yearly, reviews half-yearly:
    # :func:`_phase`), the first year apart from the later ones: hazards fall with e
    # (early achievements include mean reversion from the baseline quarter, and the
    # unit-steps still open are more and more those of households less likely to
    # achieve them), so a wider pool would bias late ones upwards.
    width = counts.shape[1]
    phase = _phase(model.counts)
    achieved = model.counts.sum(axis=0) > 0
    local = np.empty_like(counts)
    for e in range(width):
        near = [
            s
            for s in (e - phase, e, e + phase)
            if 0 <= s < width and (s < 4) == (e < 4) and (s == e or achieved[s])
        ]
        c, r = counts[:, near].sum(axis=1), at_risk[:, near].sum(axis=1)
        local[:, e] = np.where(r > 0, c / np.maximum(r, 1e-12), pooled)
    rate = (counts + PRIOR_STEPS * local) / (at_risk + PRIOR_STEPS)
    seen = [e for e in range(model.counts.shape[1]) if model.at_risk[:, e].sum() > 0]
    decline = _decline(counts, at_risk, seen, phase)
    out = np.empty((weights.shape[0], horizon))
    for e in range(horizon):
        if e in seen:
            out[:, e] = rate[:, e]
            continue
        # Beyond what was seen: the hazard pooled over the latest quarters since
        # enrolment seen at the same phase (the survey is yearly, reviews
        # half-yearly) that hold ``EXTRAPOLATION_STEPS`` unit-steps at risk between
        # them (the latest ones rest on the first, small cohorts alone), falling on
        # from their mean time since enrolment at the rate per year seen.
        same = [s for s in seen if s % phase == e % phase and achieved[s]]
        if not same:
            # No unit-step was ever achieved at this phase (between survey waves).
            out[:, e] = 0.0 if achieved.any() else pooled
            continue
        pool, held = [], 0.0
        for s in sorted(same, reverse=True):
            pool.append(s)
            held += model.at_risk[:, s].sum()
            if held >= EXTRAPOLATION_STEPS:
                break
        c, r = counts[:, pool].sum(axis=1), at_risk[:, pool].sum(axis=1)
        level = np.where(r > 0, c / np.maximum(r, 1e-12), pooled)
        steps = model.at_risk[:, pool].sum(axis=0)
        centre = float(np.average(pool, weights=steps)) if steps.sum() > 0 else float(max(pool))
        out[:, e] = level * np.exp(decline * max(0.0, e - centre) / 4)
    return np.clip(out, 0.0, 1.0)


def _phase(counts: np.ndarray) -> int:
    """Quarters between the times since enrolment at which unit-steps can be achieved.

    1, 2 or 4: the smallest for which every achievement seen falls at the same
    remainder (yearly survey waves: 4; half-yearly reviews: 2; registers: 1).
    """
    times = np.flatnonzero(counts.sum(axis=0) > 0)
    for phase in (4, 2):
        if len(times) and len(set(times % phase)) == 1:
            return phase
    return 1


def _decline(counts: np.ndarray, at_risk: np.ndarray, seen: list[int], phase: int) -> np.ndarray:
    r"""Per draw: the yearly change of the log hazard with the time since enrolment.

    Hazards fall with the time since enrolment: the unit-steps still open are more
    and more those of households less likely to achieve them. Over the times since
    enrolment :math:`e \ge` ``DECLINE_FROM`` seen at the phase of the achievements, the hazard
    :math:`h(e) = \exp(a + b e)` by maximum likelihood (Poisson counts
    :math:`C(e)` on the unit-steps at risk :math:`R(e)`, bootstrap-weighted): with
    :math:`a` profiled out, :math:`b` solves

    .. math:: \frac{\sum_e e\, C(e)}{\sum_e C(e)}
              = \frac{\sum_e e\, R(e) e^{b e}}{\sum_e R(e) e^{b e}}

    (bisection; the right side rises with :math:`b`), then combined with the
    normal prior :math:`b_0` = ``DECLINE_PRIOR``/4, standard deviation
    ``DECLINE_PRIOR_SD``/4, by their precisions:
    :math:`(I \hat b + b_0 / s_0^2) / (I + 1 / s_0^2)` with :math:`I = \sum_e
    \hat\mu(e) (e - \bar e_{\hat\mu})^2` the information of the fitted counts.
    Returned per year, :math:`4b`, held between :data:`MAX_DECLINE` and 0; the
    prior with fewer than three such times (no information).
    """
    # From the second year on: the first quarter's achievements are mostly mean
    # reversion from the baseline quarter, and the effect still ramps up in the
    # first year (a rising hazard there is no guide to later ones).
    times = [e for e in seen if e >= DECLINE_FROM and counts[:, e].sum() > 0]
    if phase > 1 and times:
        residue = {e % phase for e in times}
        times = [e for e in seen if e >= DECLINE_FROM and e % phase in residue]
    prior_mean, prior_precision = DECLINE_PRIOR / 4, (4 / DECLINE_PRIOR_SD) ** 2
    if len(times) < 3:
        return np.full(counts.shape[0], np.clip(DECLINE_PRIOR, MAX_DECLINE, 0.0))
    c, r = counts[:, times], at_risk[:, times]
    x = np.array(times, dtype=float)
    target = (c * x).sum(axis=1) / np.maximum(c.sum(axis=1), 1e-12)
    low = np.full(counts.shape[0], MAX_DECLINE / 4 - 0.05)
    high = np.full(counts.shape[0], 0.05)
    for _ in range(40):
        mid = (low + high) / 2
        weight = r * np.exp(np.outer(mid, x - x.mean()))
        mean_x = (weight * x).sum(axis=1) / np.maximum(weight.sum(axis=1), 1e-12)
        above = mean_x > target
        high = np.where(above, mid, high)
        low = np.where(above, low, mid)
    b = (low + high) / 2
    # The slope's information: the fitted counts' spread over the times seen.
    weight = r * np.exp(np.outer(b, x - x.mean()))
    fitted = (
        c.sum(axis=1, keepdims=True) * weight / np.maximum(weight.sum(axis=1, keepdims=True), 1e-12)
    )
    centre = (fitted * x).sum(axis=1, keepdims=True) / np.maximum(
        fitted.sum(axis=1, keepdims=True), 1e-12
    )
    information = (fitted * (x - centre) ** 2).sum(axis=1)
    b = (information * b + prior_precision * prior_mean) / (information + prior_precision)
    slope = np.where(c.sum(axis=1) > 0, 4 * b, 4 * prior_mean)
    return np.clip(slope, MAX_DECLINE, 0.0)


@dataclass
class _AbsenceModel:
    levels: np.ndarray  # event times estimated
    att: np.ndarray
    cov: np.ndarray
    cohorts: np.ndarray  # enrolment quarters with pupils in the estimate
    weights: np.ndarray  # per cohort: pupils in the estimate (the calendar weights p_g)
    pupils: np.ndarray  # per cohort: pupils in the latest four quarters (exposure)
    pupils_per_household: float  # recent pupils per enrolled household (exposure)
    weight_per_household: float  # pupils in the estimate per enrolled household
    calendar: dict[int, float]  # quarter -> its calendar estimate theta(t), as settled
    anchor: list[int]  # the latest quarters the future is anchored on
    anchor_se: float  # standard error of their mean
    quarter_sd: float  # a future quarter's estimate about its expectation
    plateau_pupils: float = 0.0  # share of the pupils the plateau's event times rest on


def absence_model(data: AsOfData, result, plateau_pupils: float = 0.0) -> _AbsenceModel | None:
    """The absence effect by quarter since enrolment and by calendar quarter, with their errors.

    ``result`` is the Callaway–Sant'Anna estimate of :func:`analysis.payments.
    absence.fit` (None: no estimate, and absence is projected at zero).
    """
    if result is None:
        return None
    try:
        dynamic = aggte(result, "dynamic", min_e=0)
        calendar = aggte(result, "calendar")
    except EstimationError:
        return None
    table = dynamic.table
    if table.empty or dynamic.influence is None or calendar.table.empty:
        return None
    keep = table["event_time"].to_numpy() >= 0
    influence = dynamic.influence[:, keep]
    sums = cluster_sums(influence, dynamic.clusters)
    cov = sums.T @ sums / dynamic.n_units**2
    panel = data.tables["pupils"] if "pupils" in data.tables else pupil_panel(data)
    last = int(panel["t"].max())
    treated = panel.loc[(panel["g"] > 0) & (panel["t"] > last - 4) & (panel["t"] >= panel["g"])]
    per_cohort = treated.groupby("g")["person_id"].nunique()
    groups = pd.Series(result.unit_groups)
    weights = groups.loc[groups > 0].value_counts().sort_index()
    levels = table.loc[keep, "event_time"].to_numpy(dtype=int)
    att = table.loc[keep, "att"].to_numpy(dtype=float)
    by_quarter = calendar.table.set_index("time")
    theta = {int(t): float(v) for t, v in by_quarter["att"].items()}
    anchor = sorted(theta)[-ANCHOR_QUARTERS:]
    try:
        anchor_se = float(aggte(result, "calendar", window=(anchor[0], anchor[-1])).overall_se)
    except EstimationError:
        anchor_se = float(np.sqrt(np.mean(by_quarter["se"].to_numpy() ** 2)))
    # A future quarter's estimate moves about its expectation by the sampling error
    # of one quarter's estimate resting on every cohort (the anchor quarters'), times
    # the quarters' own scatter about the estimated path in units of their standard
    # errors where that is more than one (shocks shared by an area and quarter are
    # not in the household-clustered errors). In standard errors: the earliest
    # quarters rest on the first, small cohorts, and their raw scatter would make
    # every later quarter as uncertain as they were.
    recent = sorted(theta)[-2 * ANCHOR_QUARTERS :]
    expected = _calendar_path(
        np.array(recent),
        att[None, :],
        levels,
        _plateau(att[None, :], levels, weights, max(theta), plateau_pupils),
        weights,
    )[0]
    scatter = np.array([theta[t] for t in recent]) - expected
    quarter_var = _quarter_variance(
        scatter,
        by_quarter.loc[recent, "se"].to_numpy(dtype=float),
        by_quarter.loc[anchor, "se"].to_numpy(dtype=float),
        ramping=int((levels >= DECLINE_FROM).sum()) < PLATEAU_LEVELS,
    )
    households = data["households"]
    enrolled = int(households["g"].notna().sum())
    return _AbsenceModel(
        levels,
        att,
        cov,
        weights.index.to_numpy(dtype=int),
        weights.to_numpy(dtype=float),
        per_cohort.reindex(weights.index, fill_value=0).to_numpy(dtype=float),
        float(treated["person_id"].nunique()) / enrolled if enrolled else 0.0,
        float(weights.sum()) / enrolled if enrolled else 0.0,
        theta,
        anchor,
        anchor_se,
        float(np.sqrt(quarter_var)),
        plateau_pupils,
    )


def _quarter_variance(
    scatter: np.ndarray, se: np.ndarray, anchor_se: np.ndarray, ramping: bool
) -> float:
    """The variance of a future quarter's calendar estimate about its expectation.

    ``scatter``: the recent quarters' estimates minus the path the event-time
    effects imply, ``se`` their standard errors, ``anchor_se`` those of the anchor
    quarters. The anchor quarters' mean squared standard error (they rest on every
    cohort enrolled, as the future quarters do), times the recent quarters'
    variance about the path in units of their standard errors where that is more
    than one: the earliest quarters rest on the first, small cohorts, and their
    scatter in percentage points would make every future quarter as uncertain as
    they were. ``ramping`` (fewer than ``PLATEAU_LEVELS`` event times beyond the
    first year estimated: the plateau is taken on the ramp and the effect may grow
    on unseen): the scatter in percentage points, its misfit to the path included,
    where that is more than the mean squared standard error. With fewer than three
    quarters, the squared standard error alone.
    """
    if len(scatter) < 3:
        return float(np.mean(anchor_se**2))
    if ramping:
        return max(float(np.mean(se**2)), float(np.var(scatter - scatter.mean(), ddof=1)))
    reference = float(np.mean(anchor_se**2))
    if not (se > 0).all():
        return reference
    standardised = scatter / se
    return reference * max(1.0, float(np.var(standardised - standardised.mean(), ddof=1)))


def _plateau(
    effect: np.ndarray, levels: np.ndarray, weights, last_seen: int, pupils_share: float = 0.0
) -> np.ndarray:
    """Per draw: the effect beyond the event times estimated.

    The mean of the latest event times, each weighted by the pupils behind it (the
    cohorts seen that long after enrolment), taken back from the latest until the
    earliest of them rests on ``pupils_share`` of the pupils in the estimate
    (``forecast.absence_plateau_pupils``), at least the latest ``PLATEAU_LEVELS``,
    and from the second year since enrolment on (``DECLINE_FROM``: in the first
    year the effect is still ramping up) unless that leaves fewer. The latest
    event times rest on the earliest, small cohorts only (enrolment ramps up: the
    latest two hold about a sixth of the pupils), and a few pupils' standard errors
    understate their error, so weighting by precision would let one small cohort
    decide, and so does a plateau on the latest two alone.
    """
    weights = dict(weights)
    pupils = np.array(
        [sum(n for g, n in weights.items() if g + int(e) <= last_seen) for e in levels],
        dtype=float,
    )
    total = float(sum(weights.values()))
    pool = []
    for j in range(len(levels) - 1, -1, -1):
        if len(pool) >= PLATEAU_LEVELS and (
            int(levels[j]) < DECLINE_FROM or pupils[pool[-1]] >= pupils_share * total
        ):
            break
        pool.append(j)
    share = pupils[pool]
    if share.sum() <= 0:
        share = np.ones_like(share)
    return effect[:, pool] @ (share / share.sum())


def _calendar_path(
    times: np.ndarray,
    effect: np.ndarray,
    levels: np.ndarray,
    plateau: np.ndarray,
    weights: pd.Series | dict,
    extra: dict | None = None,
) -> np.ndarray:
    """Draws × ``times``: the calendar effect theta(t) the event-time effects imply.

    .. math:: \theta(t) = \\sum_{g \\le t} p_g \\delta(t - g) / \\sum_{g \\le t} p_g,

    with :math:`p_g` the cohort's pupils (``weights``; ``extra``: cohorts still to
    enrol, per draw) and :math:`\\delta` the effect by event time (``plateau``
    beyond the estimated ones), as :func:`analysis.did.aggte.aggte` aggregates.
    """
    position = {int(e): j for j, e in enumerate(levels)}
    cohorts = [(int(g), np.full(effect.shape[0], float(n))) for g, n in dict(weights).items()]
    cohorts += [(int(g), np.asarray(n, dtype=float)) for g, n in (extra or {}).items()]
    out = np.zeros((effect.shape[0], len(times)))
    for k, t in enumerate(times):
        total = np.zeros(effect.shape[0])
        for g, n in cohorts:
            if g > t:
                continue
            e = int(t) - g
            out[:, k] += n * (effect[:, position[e]] if e in position else plateau)
            total += n
        out[:, k] = np.where(total > 0, out[:, k] / np.maximum(total, 1e-12), 0.0)
    return out


def _absence_amounts(
    model: _AbsenceModel | None,
    remaining: list[Period],
    new_households: dict[int, np.ndarray],
    contract: Contract,
    rng: np.random.Generator,
    draws: int,
) -> np.ndarray:
    """Draws × remaining periods: the absence payment (reduction × pupil-years × price).

    A period's reduction is the mean of its quarters' calendar estimates, as the
    settlement takes it (:func:`analysis.payments.absence.absence_estimates`): the
    quarters with data keep their estimate; a future quarter's is the latest
    quarters' estimate (``anchor``; each cohort keeps its own baseline) moved by
    the change the event-time effects imply (the ramp of the effect, new cohorts),
    plus its own sampling error.
    """
    out = np.zeros((draws, len(remaining)))
    if model is None or not len(model.levels):
        return out
    jitter = 1e-12 * np.eye(len(model.att))
    effect = rng.multivariate_normal(model.att, model.cov + jitter, size=draws, method="eigh")
    weights = dict(zip(model.cohorts, model.weights, strict=True))
    plateau = _plateau(effect, model.levels, weights, max(model.calendar), model.plateau_pupils)
    extra = {g: n * model.weight_per_household for g, n in new_households.items()}
    anchor_path = _calendar_path(np.array(model.anchor), effect, model.levels, plateau, weights)
    # The anchor's error is at least one quarter's: the latest quarters' estimates
    # share their pupils and baselines (and an area's shocks), so averaging them
    # does not shrink it as independent errors would.
    scale = contract.forecast.absence_error_scale
    anchor_level = np.mean([model.calendar[t] for t in model.anchor]) + rng.normal(
        0.0, scale * max(model.anchor_se, model.quarter_sd), draws
    )
    offset = anchor_level - anchor_path.mean(axis=1)
    last_seen = max(model.calendar)
    first_g = int(min(model.cohorts))
    price = contract.rate_card.school_absence
    by_period = contract.targets.school_absence.exposure == "enrolment"
    exposure = dict(zip(model.cohorts, model.pupils, strict=True))
    for j, period in enumerate(remaining):
        times = [t for t in range(period.first, period.last + 1) if t >= first_g]
        future = np.array([t for t in times if t > last_seen])
        values = [np.full(draws, model.calendar[t]) for t in times if t in model.calendar]
        if len(future):
            path = _calendar_path(future, effect, model.levels, plateau, weights, extra)
            path += offset[:, None] + rng.normal(0.0, scale * model.quarter_sd, (draws, 1))
            values += list(path.T)
        att = np.mean(values, axis=0) if values else np.zeros(draws)
        years = np.zeros(draws)
        cohorts = [(int(g), np.full(draws, n)) for g, n in exposure.items()]
        cohorts += [(g, n * model.pupils_per_household) for g, n in new_households.items()]
        for g, pupils in cohorts:
            if g > period.last:
                continue
            start = max(g, period.first) if by_period else period.first
            years += pupils * (period.last - start + 1) / 4
        out[:, j] = np.maximum(0.0, -100 * att) * years * price
    return out


def _enrolment(
    households: pd.DataFrame,
    cutoff: int,
    contract: Contract,
    rng: np.random.Generator,
    draws: int,
    limit: float | None,
) -> dict[int, np.ndarray]:
    """Future enrolment quarter -> households enrolled in it, per draw (recent pace, Gamma posterior)."""
    enrolment = contract.timeline.enrolment
    end = quarters.to_index(enrolment.end)
    start = quarters.to_index(enrolment.start)
    future = list(range(max(cutoff + 1, start), end + 1))
    if not future:
        return {}
    g = households["g"].dropna().astype(int)
    recent = [t for t in range(max(start, cutoff - 1), cutoff + 1) if t >= start]
    count = float(g.isin(recent).sum())
    # Gamma(count + 1/2, quarters) posterior of the pace (Jeffreys prior).
    pace = rng.gamma(count + 0.5, 1.0 / max(len(recent), 1), draws) if recent else np.zeros(draws)
    total = np.full(draws, float(len(g)))
    out = {}
    for t in future:
        new = rng.poisson(pace).astype(float)
        if limit is not None:
            new = np.minimum(new, np.maximum(0.0, limit - total))
        total += new
        out[t] = new
    return out


def _enrolled(data: AsOfData) -> pd.DataFrame:
    households = data["households"].loc[data["households"]["g"].notna()].copy()
    households["g"] = households["g"].astype(int)
    return households


def target_models(
    data: AsOfData, unit_results: dict[str, TargetResult], ledger: pd.DataFrame, contract: Contract
) -> dict[str, _TargetModel]:
    """Per unit target: achievements and open unit-steps by household and time since enrolment."""
    cut = quarters.to_index(data.as_of)
    register_until = quarters.to_index(data.register_until)
    settled_reports = set(ledger["report"])
    remaining = [p for p in result_periods(contract) if p.report not in settled_reports]
    households = _enrolled(data)
    return {
        target: _target_model(
            result,
            households,
            register_until if target in REGISTER_TARGETS else cut,
            remaining,
        )
        for target, result in unit_results.items()
    }


def simulate(
    data: AsOfData,
    unit_results: dict[str, TargetResult],
    absence: _AbsenceModel | None,
    ledger: pd.DataFrame,
    contract: Contract,
    draws: int | None = None,
    shortfall: float | None = None,
    seed: int | None = None,
    models: dict[str, _TargetModel] | None = None,
) -> Simulation:
    """Simulated futures of every result report not yet settled, through the caps.

    ``shortfall``: the share of the planned households that never enrol (the
    enrolment-shortfall scenario); None: enrolment goes on at its pace.
    ``models``: the targets' counts (:func:`target_models`), when already made.

    Kept whole: one simulation loop over the remaining result reports that draws every
    future from one random generator in a fixed order; keeping the draws in one body
    keeps the forecast reproducible (the backtest and the reports depend on the same
    draws).
    """
    draws = draws or contract.forecast.draws
    rng = np.random.default_rng(contract.seed if seed is None else seed)
    cut = quarters.to_index(data.as_of)
    settled_reports = set(ledger["report"])
    remaining = [p for p in result_periods(contract) if p.report not in settled_reports]
    households = _enrolled(data)
    n_households = len(households)
    end = remaining[-1].last if remaining else cut
    limit = (
        None
        if shortfall is None
        else contract.programme.enrolment_target_households * (1 - shortfall)
    )
    new_households = _enrolment(households, cut, contract, rng, draws, limit)
    weights = (
        rng.dirichlet(np.ones(n_households), draws) * n_households
        if n_households
        else np.zeros((draws, 0))
    )
    # Households that leave: Beta posterior of the exit rate per household-quarter.
    exits = int(households["exit_t"].notna().sum())
    exposure = float(
        (households["exit_t"].fillna(cut).astype(int) - households["g"] + 1).clip(lower=0).sum()
    )
    exit_rate = rng.beta(exits + 0.5, max(exposure - exits, 0.0) + 0.5, draws)
    first_g = int(households["g"].min()) if n_households else cut
    earned = np.zeros((draws, len(remaining)))
    period_of = {}
    for j, period in enumerate(remaining):
        for t in range(period.first, period.last + 1):
            period_of[t] = j
    if models is None:
        models = target_models(data, unit_results, ledger, contract)
    by_target = {}
    for target, model in models.items():
        mode = getattr(contract.targets, target).payment_mode
        price = getattr(contract.rate_card, target)
        observed_until = model.observed_until
        horizon = max(end, observed_until) - min(first_g, cut) + 2
        hazard = _hazards(model, weights, horizon)
        # The hazards drift beyond the data: their logarithm moves by
        # ``forecast.hazard_drift`` × sqrt(years), one draw per simulated future.
        drift = contract.forecast.hazard_drift
        shock = rng.normal(0.0, 1.0, draws)
        # Shocks shared by an area and quarter move every cohort's achievements in a
        # calendar quarter together: one mean-one log-normal factor per future and
        # quarter, ``forecast.quarter_shock`` the standard deviation of its logarithm.
        sigma = contract.forecast.quarter_shock
        quarter_scale = {
            t: np.exp(sigma * rng.normal(0.0, 1.0, draws) - sigma**2 / 2)
            for t in range(observed_until + 1, end + 1)
        }
        steps_mean = (
            weights @ model.steps_per_household / n_households if n_households else np.zeros(draws)
        )
        cohorts = [
            (int(g), np.full(draws, n))
            for g, n in zip(model.cohorts, model.open_steps, strict=True)
        ]
        state = {g: n.copy() for g, n in cohorts}
        count = np.zeros((draws, len(remaining)))
        for j, period in enumerate(remaining):
            count[:, j] = model.observed[period.report]
        for t in range(observed_until + 1, end + 1):
            if t in new_households:
                state[t] = rng.poisson(new_households[t] * steps_mean).astype(float)
            j = period_of.get(t)
            for g, open_steps in state.items():
                if g > t:
                    continue
                years = (t - observed_until) / 4
                scale = np.exp(drift * np.sqrt(years) * shock - drift**2 * years / 2)
                scale = scale * quarter_scale[t]
                done = rng.binomial(
                    open_steps.astype(np.int64), np.clip(hazard[:, t - g] * scale, 0.0, 1.0)
                )
                open_steps -= done
                if j is not None:
                    count[:, j] += done
                if target in STOP_AT_EXIT:
                    open_steps -= rng.binomial(open_steps.astype(np.int64), exit_rate)
        if mode == "per_followup":
            # Approximation: every unit-step achieved so far still holds at each period end.
            before = model.cumulative - sum(model.observed.values())
            count = before + np.cumsum(count, axis=1)
        earned += count * price
        by_target[target] = count * price
    by_target["school_absence"] = _absence_amounts(
        absence, remaining, new_households, contract, rng, draws
    )
    earned += by_target["school_absence"]
    out = _through_caps(remaining, earned, ledger, contract)
    out.by_target = by_target
    return out


def _through_caps(
    remaining: list[Period], earned: np.ndarray, ledger: pd.DataFrame, contract: Contract
) -> Simulation:
    """Each simulated statement paid in payment order under the caps, as the ledger pays it."""
    draws = earned.shape[0]
    paid_by_quarter = ledger.groupby("payment_quarter")["paid"].sum()
    paid_before = {quarters.label_index(q): float(a) for q, a in paid_by_quarter.items()}
    settled = float(ledger["paid"].sum())
    times = sorted(set(paid_before) | {quarters.to_index(p.payment_quarter) for p in remaining})
    column = {t: i for i, t in enumerate(times)}
    schedule = np.zeros((draws, len(times)))
    for t, amount in paid_before.items():
        schedule[:, column[t]] = amount
    paid = np.zeros_like(earned)
    for j, period in enumerate(remaining):
        pay_t = quarters.to_index(period.payment_quarter)
        room = investors.return_cap_rooms(contract, np.array(times), schedule, pay_t)
        by_total, by_return = ledger_module.cap_withheld(
            earned[:, j], schedule.sum(axis=1), room, contract
        )
        # Whole kroner, rounded up, as the ledger's cap entries (ledger._caps).
        by_total, by_return = np.ceil(np.round(by_total, 2)), np.ceil(np.round(by_return, 2))
        # Rounded up, the caps could withhold a few øre more than a simulated amount
        # (not whole kroner, unlike the ledger's statements) when they withhold all of
        # it: a payment of minus a few øre as the investors' last cash flow gives their
        # IRR a second root near -100 % a year. The caps withhold at most what is earned.
        paid[:, j] = np.maximum(0.0, earned[:, j] - by_total - by_return)
        schedule[:, column[pay_t]] += paid[:, j]
    disbursed = investors.disbursements(contract).groupby("t")["amount"].sum()
    all_times = np.array(sorted(set(times) | set(disbursed.index)))
    flows = np.zeros((draws, len(all_times)))
    position = {t: i for i, t in enumerate(all_times)}
    for t, amount in disbursed.items():
        flows[:, position[t]] -= amount
    for t in times:
        flows[:, position[t]] += schedule[:, column[t]]
    rate = investors.irrs(all_times, flows)
    return Simulation(remaining, earned, paid, settled, paid_before, rate)


def _number(value: float) -> float | None:
    """A rate for the key numbers (JSON): None where it is not defined."""
    return float(value) if np.isfinite(value) else None


def _band(values: np.ndarray, band: float) -> tuple[float, float]:
    low, high = np.quantile(values, [(1 - band) / 2, 1 - (1 - band) / 2])
    return float(low), float(high)


def _scenario_table(
    data: AsOfData, contract: Contract, base: Simulation, short: Simulation
) -> pd.DataFrame:
    """One row per scenario (base, shortfall: paid after the caps; earned: base before them)."""
    settings = contract.forecast
    enrolled = int(data["households"]["g"].notna().sum())
    planned = contract.programme.enrolment_target_households
    end = result_periods(contract)[-1].last
    remaining_quarters = max(0, end - quarters.to_index(data.register_until))
    rows = []
    for name, sim, values in (
        ("base", base, base.total_paid),
        ("shortfall", short, short.total_paid),
        ("earned", base, base.total_earned),
    ):
        low, high = _band(values, settings.band)
        m = sim.median_draw
        rows.append(
            {
                "scenario": name,
                "median": round(float(values[m]), 2),
                "low": round(low, 2),
                "high": round(high, 2),
                "certain": bool(not sim.periods),
                "withheld_median": round(float(sim.total_earned[m] - sim.total_paid[m]), 2),
                "remaining_quarters": remaining_quarters,
                "enrolled_share": enrolled / planned,
            }
        )
    return pd.DataFrame(rows)


def _quarter_table(base: Simulation, band: float) -> tuple[pd.DataFrame, dict]:
    """Per payment quarter, settled or projected (median future, band), and the median schedule."""
    middle = base.median_draw
    quarter_rows, running = [], 0.0
    for t, amount in sorted(base.paid_before.items()):
        running += amount
        quarter_rows.append(
            {
                "payment_quarter": quarters.from_index(t),
                "status": "settled",
                "median": round(amount, 2),
                "low": round(amount, 2),
                "high": round(amount, 2),
                "cumulative_median": round(running, 2),
                "cumulative_low": round(running, 2),
                "cumulative_high": round(running, 2),
            }
        )
    schedule = {}
    cumulative = base.settled_total + np.cumsum(base.paid, axis=1)
    for j, period in enumerate(base.periods):
        low, high = _band(base.paid[:, j], band)
        c_low, c_high = _band(cumulative[:, j], band)
        value = float(base.paid[middle, j])
        schedule[period.payment_quarter] = value
        quarter_rows.append(
            {
                "payment_quarter": period.payment_quarter,
                "status": "projected",
                "median": round(value, 2),
                "low": round(low, 2),
                "high": round(high, 2),
                "cumulative_median": round(float(cumulative[middle, j]), 2),
                "cumulative_low": round(c_low, 2),
                "cumulative_high": round(c_high, 2),
            }
        )
    return pd.DataFrame(quarter_rows), schedule


def _irr_key(base: Simulation, ledger: pd.DataFrame, band: float) -> dict:
    """The projected IRR (median future, band) and whether the forecast is certain."""
    middle = base.median_draw
    # As the investors' table: before the first settlement a rate says nothing.
    irr_ok = np.isfinite(base.irr) & bool((ledger["kind"] == "settlement").any())
    irr_low, irr_high = _band(base.irr[irr_ok], band) if irr_ok.any() else (np.nan, np.nan)
    return {
        "projected_irr_median": _number(base.irr[middle]) if irr_ok.any() else None,
        "projected_irr_low": _number(irr_low),
        "projected_irr_high": _number(irr_high),
        "forecast_certain": bool(not base.periods),
    }


def forecast(
    data: AsOfData,
    unit_results: dict[str, TargetResult],
    absence_result,
    ledger: pd.DataFrame,
    contract: Contract,
    draws: int | None = None,
    scenarios: bool = True,
) -> Forecast:
    """The forecast of one quarter's results: what will be paid (base and shortfall), earned.

    ``table``: one row per ``scenario`` — ``base`` and ``shortfall`` (paid, after
    the caps) and ``earned`` (base, before the caps) — with the median, the band
    (``forecast.band``), ``certain`` (no uncertainty left: every result report is
    settled) and ``withheld_median`` (what the caps withhold in the median future).
    ``quarters``: per payment quarter of the contract, the amount settled or
    projected (median future, band). ``key``: the numbers the reports quote.
    """
    settings = contract.forecast
    absence = absence_model(data, absence_result, settings.absence_plateau_pupils)
    models = target_models(data, unit_results, ledger, contract)
    base = simulate(data, unit_results, absence, ledger, contract, draws, models=models)
    # The enrolment-shortfall scenario (``scenarios=False``: the base case only, as
    # the backtest needs).
    short = (
        simulate(
            data,
            unit_results,
            absence,
            ledger,
            contract,
            draws,
            settings.shortfall_scenario,
            models=models,
        )
        if scenarios
        else base
    )
    table = _scenario_table(data, contract, base, short)
    quarter_table, schedule = _quarter_table(base, settings.band)
    return Forecast(table, quarter_table, _irr_key(base, ledger, settings.band), schedule, base)


def naive_forecast(
    unit_results: dict[str, TargetResult],
    latest_absence_amount_per_year: float,
    due_so_far: float,
    last_data_quarter: str,
    contract: Contract,
    enrolled_households: int,
) -> pd.DataFrame:
    """The method this module replaced, kept as the backtest's baseline.

    Each unit target's achievements over the ``h`` remaining quarters are
    Poisson(λ h) with λ the mean of the last four quarters with data; school
    absence at the latest period's amount per year; caps not applied.
    """
    settings = contract.forecast
    end = result_periods(contract)[-1].last
    last = quarters.to_index(last_data_quarter)
    remaining = max(0, end - last)
    rng = np.random.default_rng(contract.seed)
    values = np.full(settings.draws, due_so_far, dtype=float)
    for target, result in unit_results.items():
        recent = result.achievements.loc[result.achievements["t"].between(last - 3, last)]
        rate = len(recent) / 4
        price = getattr(contract.rate_card, target)
        values += price * rng.poisson(rate * remaining, settings.draws)
    values += latest_absence_amount_per_year * remaining / 4
    future = values - due_so_far
    scenario = due_so_far + future * (1 - settings.shortfall_scenario)
    low_q, high_q = (1 - settings.band) / 2, 1 - (1 - settings.band) / 2
    rows = []
    for name, sample in (("base", values), ("shortfall", scenario)):
        rows.append(
            {
                "scenario": name,
                "median": float(np.median(sample)),
                "low": float(np.quantile(sample, low_q)),
                "high": float(np.quantile(sample, high_q)),
                "remaining_quarters": remaining,
                "enrolled_share": enrolled_households
                / contract.programme.enrolment_target_households,
            }
        )
    return pd.DataFrame(rows)
