"""``make backtest``: how well the payment forecast does, over many synthetic programmes.

A benchmark, not a test. Each programme is a synthetic extract from the project's
generator (:func:`analysis.data.synth.generate`) with its own seed and parameters
drawn from the ranges in ``config/synthetic.yaml`` (``backtest``: effect size,
enrolment shortfall, attrition, survey non-response). For every quarter from the
start of enrolment to the last result report, the forecast is made from the data
as of that quarter, with the ledger as settled by then, as the quarterly results
make it (:func:`analysis.payments.forecast.forecast` with the same inputs as
:func:`analysis.payments.quarterly.compute`), and so is the forecast of the method
it replaced (:func:`analysis.payments.forecast.naive_forecast`, capped as the
reports capped it). The outcome is what the ledger finally pays, and the
investors' IRR over the whole contract.

Per horizon (quarters from the forecast to the last payment quarter): the share of
programmes whose outcome lies in the forecast's band (coverage of the 90 % band,
for the total paid and for the IRR) and the median absolute error of the median,
for both methods. Written to ``build/backtest.json`` (every forecast) and
``build/backtest.md`` (the table); the summary per horizon that the reports quote
goes to :data:`SUMMARY` (committed).

A screen (``--numbers FIRST-LAST``, ``--horizons FIRST-LAST``) runs a subset, such
as the development programmes (numbers 1000 on, never the 0 to 199 the benchmark
reports) at a few horizons, to try a change to the model before the full run; it
writes ``build/backtest-screen.json`` and ``.md`` only, never the docs or
:data:`SUMMARY`.

Programmes run in a pool of worker processes (``--jobs``, default 2; ``make
backtest`` runs it under ``nice``); each generates its extract in a temporary folder, reads it into memory
and removes it.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import quarters
from analysis.config import CONTRACT_FILE, SYNTHETIC_CONFIG_FILE, load_contract, load_synthetic
from analysis.data.asof import as_of
from analysis.data.synth import generate
from analysis.data.validate import load_extract
from analysis.paths import BUILD_DIR, FORECAST_BACKTEST, ROOT
from analysis.payments import absence, investors
from analysis.payments import ledger as ledger_module
from analysis.payments.absence import pupil_panel
from analysis.payments.forecast import REGISTER_TARGETS, forecast, naive_forecast
from analysis.payments.investors import disbursements, irrs
from analysis.payments.payments import statement
from analysis.payments.periods import reports_due, result_periods
from analysis.payments.quarterly import _absence_rate, open_period
from analysis.payments.targets import UNIT_TARGETS, TargetResult

SUMMARY = FORECAST_BACKTEST
# Outcomes within this many kroner of a band's edge are inside it (amounts are to the øre).
TOLERANCE = 0.5
IRR_TOLERANCE = 1e-6
# The goals of issue #31: coverage of the band from the first settlement on, and the
# error against the naive method's at horizons of at least ERROR_FROM quarters.
COVERAGE_GOAL = (0.85, 0.95)
ERROR_GOAL = -0.30
ERROR_FROM = 4
# Where the table goes (between the markers) with its sentence: --docs.
DOCS = (ROOT / "README.md", ROOT / "docs" / "payments.md")
BEGIN, END = (
    "<!-- backtest-table: build/backtest.md of `make backtest` -->",
    "<!-- /backtest-table -->",
)


def programme_parameters(synth, number: int):
    """The generator's parameters and seed of programme ``number`` (ranges in ``synth.backtest``)."""
    ranges = synth.backtest
    rng = np.random.default_rng([ranges.seed, number])

    def draw(r):
        return float(rng.uniform(r.low, r.high))

    scale = draw(ranges.effect_scale)
    effects = synth.true_effects.model_copy(
        update={
            name: getattr(synth.true_effects, name) * scale
            for name in ("ladder_step", "support_level", "absence_rate", "life_satisfaction")
        }
    )
    params = synth.model_copy(
        update={
            "true_effects": effects,
            "comparison_ratio": ranges.comparison_ratio,
            "enrolment_shortfall": draw(ranges.enrolment_shortfall),
            "attrition_per_quarter": draw(ranges.attrition_per_quarter),
            "survey_nonresponse": draw(ranges.survey_nonresponse),
        }
    )
    seed = int(rng.integers(0, 2**31 - 1))
    return params, seed, scale


def _naive(data, unit_results, estimates, settled, cutoff, contract):
    """The replaced method's projection (median, low, high) after the caps, as the reports had it."""
    due = reports_due(contract, cutoff)
    current = open_period(contract, cutoff)
    shown = due + ([current] if current else [])
    recomputed = statement(unit_results, estimates, shown, contract)
    entries = settled.loc[settled["kind"] == "settlement"].assign(status="final")
    provisional = recomputed.loc[
        recomputed["report"] == (current.report if current else "")
    ].assign(status="provisional")
    payment_statement = pd.concat(
        [entries[[*ledger_module.STATEMENT_COLUMNS, "status"]], provisional], ignore_index=True
    )
    enrolled = int(data["households"]["g"].notna().sum())
    table = naive_forecast(
        unit_results,
        _absence_rate(payment_statement, shown, cutoff),
        ledger_module.settled_total(settled) + float(provisional["amount"].sum()),
        data.register_until,
        contract,
        enrolled,
    )
    base = table.set_index("scenario").loc["base"]
    values, rates = [], []
    for name in ("median", "low", "high"):
        future = investors.projected_repayments(float(base[name]), contract, settled)
        values.append(round(ledger_module.settled_total(settled) + sum(future.values()), 2))
        rates.append(_irr_of(contract, settled, future))
    return values, rates


def _irr_of(contract, ledger: pd.DataFrame, future: dict | None = None) -> float:
    """The investors' IRR of the disbursements, the ledger's repayments and ``future`` ones."""
    flows: dict[int, float] = {}
    for t, amount in disbursements(contract).groupby("t")["amount"].sum().items():
        flows[int(t)] = flows.get(int(t), 0.0) - amount
    paid = ledger.groupby("payment_quarter")["paid"].sum()
    for quarter, amount in [*paid.items(), *(future or {}).items()]:
        t = quarters.to_index(quarter)
        flows[t] = flows.get(t, 0.0) + float(amount)
    times = np.array(sorted(flows))
    return float(irrs(times, np.array([[flows[t] for t in times]]))[0])


def compact_tables(tables: dict[str, pd.DataFrame], contract) -> dict[str, pd.DataFrame]:
    """The tables the payments read, as :func:`analysis.data.engine.quarterly_tables` cuts them.

    Register tables only of persons in intervention households, and the pupil
    panel of intervention and comparison pupils (key ``pupils``) built once, which
    :func:`analysis.data.asof.as_of` cuts at each quarter as it cuts the engine's.
    """
    households = tables["households"]
    intervention = households.loc[households["group"] == "intervention", "household_id"]
    wanted = tables["persons"].loc[
        tables["persons"]["household_id"].isin(intervention), "person_id"
    ]
    out = dict(tables)

    # Cut one register lag after the last quarter: every pupil-quarter is kept.
    last = max(tables["school_absence"]["quarter"])
    out["pupils"] = pupil_panel(
        as_of(tables, quarters.shift(last, contract.timeline.register_lag_quarters), contract)
    )
    for name in ("benefits", "social_measures", "school_absence"):
        out[name] = tables[name].loc[tables[name]["person_id"].isin(wanted)].reset_index(drop=True)
    return out


def truncated(results: dict, cut: int, register_until: int) -> dict:
    """The unit targets as of a quarter, from the targets computed on the whole extract.

    A target's achievements and status in quarter ``t`` use data up to ``t`` only,
    so on an extract without later revisions (synthetic data) they equal the
    targets computed from the data as of ``cut`` (tests/test_backtest.py checks it):
    units of households enrolled by ``cut``, quarters up to the target's last
    quarter with data (``register_until`` for register targets).
    """
    out = {}
    for name, result in results.items():
        until = register_until if name in REGISTER_TARGETS else cut
        eligible = result.eligible.loc[result.eligible["g"] <= cut]
        status = result.status.loc[result.status["t"] <= until]
        if name == "action_plan_goals":
            # A goal is known from its first review on.
            eligible = eligible.loc[eligible["unit_id"].isin(status["unit_id"])]
        units = set(eligible["unit_id"])
        achievements = result.achievements.loc[
            (result.achievements["t"] <= until) & result.achievements["unit_id"].isin(units)
        ]
        out[name] = TargetResult(
            name,
            eligible.reset_index(drop=True),
            achievements.reset_index(drop=True),
            status.loc[status["unit_id"].isin(units)].reset_index(drop=True),
            result.extra,
        )
    return out


@contextlib.contextmanager
def _settlements_without_pretest():
    """The ledger's absence estimates without the pre-trend test, which no amount uses.

    The settlement's statement takes the estimate, its standard error and interval
    (:func:`analysis.payments.absence.absence_estimates`), never the test of
    parallel pre-trends; leaving it out saves a fifth of a programme's time and
    changes no amount (tests/test_backtest.py checks the ledgers are equal).
    """
    fit = absence.fit
    absence.fit = functools.partial(fit, pretest=False)
    try:
        yield
    finally:
        absence.fit = fit


def programme_tables(contract, params, seed: int) -> dict:
    """One programme's extract, generated into a scratch folder, validated and kept compact in memory."""
    scratch = Path(tempfile.mkdtemp(prefix="backtest-"))
    try:
        generate(scratch / "extract", contract, params, seed)
        return compact_tables(load_extract(scratch / "extract", contract).tables, contract)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_programme(
    number: int, contract_path: str, synth_path: str, horizons: tuple[int, int] | None = None
) -> list[dict]:
    """Every forecast of one synthetic programme, with the outcome it forecast.

    ``horizons`` (first, last): only the forecasts at these horizons (a screen).
    """
    contract = load_contract(contract_path)
    synth = load_synthetic(synth_path)
    params, seed, scale = programme_parameters(synth, number)
    contract = contract.model_copy(
        update={"forecast": contract.forecast.model_copy(update={"draws": synth.backtest.draws})}
    )
    tables = programme_tables(contract, params, seed)
    periods = result_periods(contract)
    last_report = periods[-1].report
    final_payment = quarters.to_index(periods[-1].payment_quarter)
    ledgers, ledger = {}, None
    # From the last quarter before the first result report: earlier forecasts rest
    # on a few quarters after enrolment (and the time is better spent on programmes).
    first = quarters.to_index(periods[0].report) - 1
    cutoffs = [quarters.from_index(t) for t in range(first, quarters.to_index(last_report) + 1)]
    with _settlements_without_pretest():
        for cutoff in cutoffs:
            ledger = ledger_module.build(tables, cutoff, contract, ledger)
            ledgers[cutoff] = ledger
    final = ledgers[last_report]
    outcome = ledger_module.settled_total(final)
    outcome_irr = _irr_of(contract, final)
    whole = as_of(tables, params.data_end, contract)
    everything = {name: rule(whole, contract) for name, rule in UNIT_TARGETS.items()}
    rows = []
    for cutoff in cutoffs:
        horizon = final_payment - quarters.to_index(cutoff)
        if horizons is not None and not horizons[0] <= horizon <= horizons[1]:
            continue
        data = as_of(tables, cutoff, contract)
        unit_results = truncated(
            everything, quarters.to_index(cutoff), quarters.to_index(data.register_until)
        )
        # The forecast and the naive method use the ATT(g,t), not the pre-trend test.
        fit = absence.fit(data, pretest=False)
        settled = ledgers[cutoff]
        result = forecast(data, unit_results, fit, settled, contract, scenarios=False)
        base = result.table.set_index("scenario").loc["base"]
        estimates = absence.absence_estimates(
            data, [p for p in periods if p.first <= quarters.to_index(cutoff)], fit
        )
        naive, naive_irr = _naive(data, unit_results, estimates, settled, cutoff, contract)
        rows.append(
            {
                "programme": number,
                "seed": seed,
                "effect_scale": scale,
                "enrolment_shortfall": params.enrolment_shortfall,
                "attrition_per_quarter": params.attrition_per_quarter,
                "cutoff": cutoff,
                "horizon": horizon,
                "settled": bool((settled["kind"] == "settlement").any()),
                "outcome": outcome,
                "median": float(base["median"]),
                "low": float(base["low"]),
                "high": float(base["high"]),
                "naive_median": naive[0],
                "naive_low": min(naive),
                "naive_high": max(naive),
                "outcome_irr": outcome_irr,
                "irr_median": result.key["projected_irr_median"],
                "irr_low": result.key["projected_irr_low"],
                "irr_high": result.key["projected_irr_high"],
                "naive_irr_median": naive_irr[0],
                "naive_irr_low": np.nanmin(naive_irr) if np.isfinite(naive_irr).any() else None,
                "naive_irr_high": np.nanmax(naive_irr) if np.isfinite(naive_irr).any() else None,
            }
        )
    return rows


def covered(outcome, low, high, tolerance: float = TOLERANCE) -> np.ndarray:
    """Whether each outcome lies in its band (within ``tolerance``); missing bands are misses."""
    outcome, low, high = (
        pd.to_numeric(pd.Series(x), errors="coerce").to_numpy(float) for x in (outcome, low, high)
    )
    inside = (low - tolerance <= outcome) & (outcome <= high + tolerance)
    return np.where(np.isnan(low) | np.isnan(high) | np.isnan(outcome), False, inside)


def summarise(records: pd.DataFrame) -> pd.DataFrame:
    """Per horizon: coverage of the bands and median absolute error, new method and naive.

    Coverage is the share of programmes whose outcome lies in the band; the IRR's
    is over programmes whose realised IRR is defined. Errors are in kroner (total
    paid) and in percentage points (IRR).
    """
    rows = []
    for horizon, part in records.groupby("horizon", sort=True):
        # The IRR where both the realised rate and the forecast's band are defined
        # (no band before the first settlement, as the reports show none).
        irr_defined = part["outcome_irr"].notna() & part["irr_low"].notna()
        irr_part = part.loc[irr_defined]

        def err(median, outcome):
            values = pd.to_numeric(median, errors="coerce") - outcome
            return float(np.nanmedian(np.abs(values))) if len(values) else float("nan")

        rows.append(
            {
                "horizon": int(horizon),
                "cutoff": part["cutoff"].iloc[0],
                "settled": bool(part["settled"].all()),
                "programmes": int(len(part)),
                "coverage": float(covered(part["outcome"], part["low"], part["high"]).mean()),
                "mae": err(part["median"], part["outcome"]),
                "naive_coverage": float(
                    covered(part["outcome"], part["naive_low"], part["naive_high"]).mean()
                ),
                "naive_mae": err(part["naive_median"], part["outcome"]),
                "irr_programmes": int(irr_defined.sum()),
                "irr_coverage": float(
                    covered(
                        irr_part["outcome_irr"],
                        irr_part["irr_low"],
                        irr_part["irr_high"],
                        IRR_TOLERANCE,
                    ).mean()
                )
                if len(irr_part)
                else float("nan"),
                "irr_mae_pp": 100 * err(irr_part["irr_median"], irr_part["outcome_irr"]),
                "naive_irr_coverage": float(
                    covered(
                        irr_part["outcome_irr"],
                        irr_part["naive_irr_low"],
                        irr_part["naive_irr_high"],
                        IRR_TOLERANCE,
                    ).mean()
                )
                if len(irr_part)
                else float("nan"),
                "naive_irr_mae_pp": 100
                * err(irr_part["naive_irr_median"], irr_part["outcome_irr"]),
            }
        )
    out = pd.DataFrame(rows)
    out["mae_vs_naive"] = out["mae"] / out["naive_mae"] - 1
    return out.sort_values("horizon", ascending=False).reset_index(drop=True)


def _signed(share: float) -> str:
    return "–" if not np.isfinite(share) else f"{100 * share:+.0f} %"


def _share(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{100 * value:.1f} %"


def _pp(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{value:.2f}"


def markdown(summary: pd.DataFrame, band: float) -> str:
    """The benchmark's table (README and docs/payments.md)."""
    pct = int(round(100 * band))
    head = (
        f"| horizon (quarters) | as of | programmes | {pct} % band covers total paid | "
        f"naive | median abs. error, DKK | naive | error vs naive | {pct} % band covers IRR | naive | "
        "IRR median abs. error, pp | naive |\n"
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in summary.itertuples(index=False):
        mark = "" if r.settled else " ¹"
        lines.append(
            f"| {r.horizon}{mark} | {r.cutoff} | {r.programmes} | {_share(r.coverage)} | "
            f"{_share(r.naive_coverage)} | {r.mae:,.0f} | {r.naive_mae:,.0f} | "
            f"{_signed(r.mae_vs_naive)} | {_share(r.irr_coverage)} | "
            f"{_share(r.naive_irr_coverage)} | {_pp(r.irr_mae_pp)} | {_pp(r.naive_irr_mae_pp)} |"
        )
    unsettled = not summary["settled"].all()
    foot = "\n\n¹ before the first settlement (no target there)." if unsettled else ""
    return head + "\n".join(lines) + foot + "\n"


def verdict(summary: pd.DataFrame, programmes: list[int], configured: int, band: float) -> str:
    """The sentence above the table: how many programmes, and the goals met or not.

    From the first settlement on, leaving out the last horizon (everything is
    settled there: the band has no width and holds the outcome by construction).
    """
    part = summary.loc[summary["settled"] & (summary["horizon"] > summary["horizon"].min())]
    low_goal, high_goal = COVERAGE_GOAL
    inside = part["coverage"].between(low_goal - 1e-9, high_goal + 1e-9)
    outside = part.loc[~inside]
    far = part.loc[part["horizon"] >= ERROR_FROM]
    short = far.loc[far["mae_vs_naive"] > ERROR_GOAL]
    n = len(programmes)
    which = (
        f"numbers {min(programmes)} to {max(programmes)}"
        if max(programmes) - min(programmes) + 1 == n
        else f"{n} numbers from {min(programmes)} to {max(programmes)}"
    )
    text = (
        f"**{n} of the {configured} configured programmes** ({which}; a coverage over {n} programmes has a standard error of about "
        f"{100 * np.sqrt(0.9 * 0.1 / n):.0f} percentage points). From the first settlement on "
        f"(horizons {part['horizon'].max()} to {part['horizon'].min()}; at horizon "
        f"{summary['horizon'].min()} everything is settled): coverage of the "
        f"{100 * band:.0f} % band of the total paid {_share(part['coverage'].min())} to "
        f"{_share(part['coverage'].max())}, within {100 * low_goal:.0f}-{100 * high_goal:.0f} % "
        f"at {int(inside.sum())} of {len(part)} horizons"
    )
    if len(outside):
        misses = ", ".join(f"{_share(r.coverage)} at {r.horizon}" for r in outside.itertuples())
        text += f" ({misses})"
    text += (
        f"; the IRR band's coverage {_share(part['irr_coverage'].min())} to "
        f"{_share(part['irr_coverage'].max())}. The median absolute error is "
        f"{-100 * far['mae_vs_naive'].max():.0f} % to {-100 * far['mae_vs_naive'].min():.0f} % "
        f"below the naive method's at horizons of {ERROR_FROM} quarters or more"
    )
    if len(short):
        text += f", short of the {-100 * ERROR_GOAL:.0f} % goal at " + ", ".join(
            f"{r.horizon} ({_signed(r.mae_vs_naive)})" for r in short.itertuples()
        )
    return text + "."


def write_docs(block: str, files=DOCS) -> None:
    """Put ``block`` between the backtest-table markers of each file (README, docs)."""
    for file in files:
        text = Path(file).read_text(encoding="utf-8")
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        Path(file).write_text(f"{head}{BEGIN}\n{block}{END}{tail}", encoding="utf-8")


def _span(text: str) -> tuple[int, int]:
    """``FIRST-LAST`` (or one number) as an inclusive pair."""
    first, _, last = text.partition("-")
    pair = (int(first), int(last or first))
    if pair[0] > pair[1]:
        raise argparse.ArgumentTypeError(f"{text}: FIRST is after LAST")
    return pair


def _run(job: tuple) -> list[dict]:
    return run_programme(*job)


def _parser() -> argparse.ArgumentParser:
    """The command line of ``python -m analysis.backtest``."""
    parser = argparse.ArgumentParser(prog="python -m analysis.backtest", description=__doc__)
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="default build/backtest.json; a screen's build/backtest-screen.json",
    )
    parser.add_argument(
        "--programmes", type=int, default=None, help="override the configured count"
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--config", default=str(CONTRACT_FILE))
    parser.add_argument("--synthetic", default=str(SYNTHETIC_CONFIG_FILE))
    parser.add_argument(
        "--summary",
        type=Path,
        default=None,
        help=f"the summary the reports quote (default {SUMMARY.relative_to(ROOT)}; "
        "a screen writes none unless given)",
    )
    parser.add_argument(
        "--numbers",
        type=_span,
        default=None,
        help="a screen: programme numbers FIRST-LAST instead of 0 to the configured count "
        "(the development programmes are 1000 on; docs/payments.md, 'Forecast')",
    )
    parser.add_argument(
        "--horizons",
        type=_span,
        default=None,
        help="a screen: only the forecasts at horizons FIRST-LAST (quarters before the last payment)",
    )
    parser.add_argument(
        "--from-records",
        type=Path,
        default=None,
        help="summarise the forecasts of an earlier (or unfinished) run's .jsonl instead of running",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the programmes already in the .jsonl of --out and run only the others",
    )
    parser.add_argument(
        "--docs",
        action="store_true",
        help="also put the table and its verdict in README.md and docs/payments.md",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    screen = args.numbers is not None or args.horizons is not None
    if screen and args.docs:
        parser.error("--numbers/--horizons is a screen: its table does not go into the docs")
    if args.summary is None and not screen:
        args.summary = SUMMARY
    if args.out is None:
        args.out = BUILD_DIR / ("backtest-screen.json" if screen else "backtest.json")
    contract = load_contract(args.config)
    synth = load_synthetic(args.synthetic)
    if synth.backtest is None:
        parser.error(f"{args.synthetic}: no `backtest` ranges")
    count = args.programmes or synth.backtest.programmes
    started = time.time()
    if args.from_records is not None:
        records = [
            row
            for line in args.from_records.read_text(encoding="utf-8").splitlines()
            for row in json.loads(line)
        ]
        return _write(args, contract, records, time.time() - started)
    records = []
    # Every programme's forecasts as they come (one JSON line each), to follow a long
    # run; --resume keeps the programmes already there and runs the others.
    partial = args.out.with_suffix(".jsonl")
    partial.parent.mkdir(parents=True, exist_ok=True)
    if args.resume and partial.exists():
        for line in partial.read_text(encoding="utf-8").splitlines():
            records += json.loads(line)
    done_before = {row["programme"] for row in records}
    numbers = range(args.numbers[0], args.numbers[1] + 1) if args.numbers else range(count)
    count = len(numbers)
    jobs = [
        (n, args.config, args.synthetic, args.horizons) for n in numbers if n not in done_before
    ]
    with (
        multiprocessing.get_context("spawn").Pool(max(1, args.jobs)) as pool,
        open(partial, "a" if args.resume else "w", encoding="utf-8") as lines,
    ):
        for done, rows in enumerate(pool.imap_unordered(_run, jobs), start=1):
            records += rows
            lines.write(json.dumps(rows, default=float) + "\n")
            lines.flush()
            print(
                f"{done + len(done_before)}/{count} programmes, {time.time() - started:.0f} s",
                file=sys.stderr,
            )
    return _write(args, contract, records, time.time() - started)


def _write(args, contract, records: list[dict], elapsed: float) -> int:
    """The records, the table and the summary the reports quote."""
    frame = pd.DataFrame(records).sort_values(["programme", "horizon"], ascending=[True, False])
    frame = frame.reset_index(drop=True)
    count = int(frame["programme"].nunique())
    summary = summarise(frame)
    table = markdown(summary, contract.forecast.band)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "programmes": count,
                "seconds": round(elapsed, 1),
                "load_average": os.getloadavg()[0],
                "summary": summary.to_dict(orient="records"),
                "records": frame.to_dict(orient="records"),
            },
            indent=1,
            default=float,
        )
        + "\n",
        encoding="utf-8",
    )
    args.out.with_suffix(".md").write_text(table, encoding="utf-8")
    if args.docs:
        synth = load_synthetic(args.synthetic)
        numbers = sorted(int(n) for n in frame["programme"].unique())
        sentence = verdict(summary, numbers, synth.backtest.programmes, contract.forecast.band)
        write_docs(
            f"Run of `make backtest`: {sentence} The table is `build/backtest.md`; "
            f"`docs/forecast_backtest.json` is what the reports quote.\n\n{table}"
        )
    keep = [
        "horizon",
        "cutoff",
        "settled",
        "programmes",
        "coverage",
        "mae",
        "naive_mae",
        "irr_coverage",
        "irr_mae_pp",
    ]
    if args.summary is None:
        print(table)
        print(
            f"{count} programmes in {elapsed:.0f} s; wrote {args.out}, {args.out.with_suffix('.md')}"
        )
        return 0
    args.summary.write_text(
        json.dumps(
            {
                "band": contract.forecast.band,
                "programmes": count,
                "by_horizon": [
                    {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
                    for row in summary[keep].to_dict(orient="records")
                ],
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    print(table)
    print(
        f"{count} programmes in {elapsed:.0f} s; wrote {args.out}, {args.out.with_suffix('.md')}, {args.summary}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
