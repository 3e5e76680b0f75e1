"""Monte Carlo benchmark of size and coverage (``make size``): not a test, a table for docs.

Every test and interval the evaluation reports use is run on many synthetic
extracts from the generator (``config/synthetic.yaml``, its area × quarter shocks
on): extracts with every true effect zero (the null) and extracts with the default
effects. Per extract and outcome it records

* household level: the Callaway–Sant'Anna simple ATT's household-clustered 95 %
  interval (rejects 0; covers the realised ATT);
* area level: :func:`analysis.did.inference.area_placebo_test` (p-value; its
  area-robust interval covers the realised ATT);
* the restricted wild cluster bootstrap by area of the TWFE coefficient (p-value;
  the TWFE coefficient has no true value under heterogeneous effects, so only its
  size is measured);
* the pre-trend Wald test of ``att_gt`` (parallel trends hold in every extract);
* for the primary outcome of the analysis plan: the Rambachan–Roth robust interval
  of the headline estimand at ``M̄ = 0`` and at the plan's ``M̄`` (rejects 0; covers
  the truth).

One JSON line per extract is appended to ``--out`` as soon as it is done, so a long
run can be stopped and resumed (extracts already in the file are skipped) and read
while it runs; ``--summary`` turns the file into the table of docs/evaluation.md.
Run it niced: ``make size`` (``SIZE_ARGS`` for more options).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SCENARIOS = ("null", "effects")
_CONFIG: dict = {}
OUTCOMES = ("ladder_step", "self_supporting", "support_level", "absence_rate")


def _tables(seed: int, scenario: str, contract, synth) -> dict:
    """One synthetic extract's tables (written to a scratch folder in memory, read back)."""
    from analysis.data.synth import generate
    from analysis.data.validate import load_extract

    if scenario == "null":
        zero = {
            k: 0.0 for k in ("ladder_step", "support_level", "absence_rate", "life_satisfaction")
        }
        synth = synth.model_copy(
            update={"true_effects": synth.true_effects.model_copy(update=zero)}
        )
    scratch = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    folder = Path(tempfile.mkdtemp(prefix="size-", dir=scratch))
    try:
        generate(folder / "x", contract, synth, seed)
        extract = load_extract(folder / "x", contract)
        truth = json.loads((folder / "x" / "truth.json").read_text())["realised_att"]
        tables = {name: extract[name] for name in extract.tables}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return tables, truth


def one_extract(
    seed: int, scenario: str, as_of: str, wild_reps: int, honest: bool, verdict_only: bool = False
) -> dict:
    """Every test and interval on one extract (a JSON-able record).

    ``verdict_only``: only what a verdict rests on (the area placebo test and its
    interval, as the plan specifies it) and the household-clustered interval beside it,
    about half the cost of an extract: the other procedures' rates are settled (or
    they decide nothing) and a run of a few hundred extracts must fit a shared machine.
    """
    from analysis.config import load_contract, load_synthetic
    from analysis.data.asof import as_of as cut
    from analysis.did import aggte, att_gt, twfe, wild_bootstrap
    from analysis.did.inference import area_placebo_test
    from analysis.effects.panels import outcome_panel
    from analysis.effects.plan import load_plan

    # Read once, before the workers fork: a configuration edited during a long run
    # does not reach it half-way.
    if not _CONFIG:
        _CONFIG.update(contract=load_contract(), synth=load_synthetic(), plan=load_plan())
    contract, synth, plan = _CONFIG["contract"], _CONFIG["synth"], _CONFIG["plan"]
    start = time.perf_counter()
    tables, truth = _tables(seed, scenario, contract, synth)
    data = cut(tables, as_of, contract)
    record = {"seed": seed, "scenario": scenario, "as_of": as_of, "outcomes": {}}
    plan_bins = plan.inference.area_match_bins
    for outcome in OUTCOMES:
        panel = outcome_panel(data, outcome)
        true = (truth.get(outcome) or {}).get("att")
        true = 0.0 if scenario == "null" or true is None else float(true)
        result = att_gt(panel, "y", "t", "person_id", "g", cluster="household_id")
        simple = aggte(result, "simple")
        low, high = simple.overall_ci
        row = {
            "truth": true,
            "att": simple.overall_att,
            "household_reject": bool(low > 0 or high < 0),
            "household_cover": bool(low <= true <= high),
            "household_se": simple.overall_se,
        }
        variants = [("area", plan_bins, "baseline")]
        if not verdict_only:
            # The test as it was before its placebos were matched and studentized by the
            # baseline scale (docs/evaluation.md says why it over-rejected).
            variants.append(("area_unmatched", None, "household"))
        for key, bins, studentize in variants:
            area = area_placebo_test(
                panel,
                "y",
                "t",
                "person_id",
                "g",
                area="area",
                hhname="household_id",
                seed=seed,
                match_bins=bins,
                studentize=studentize,
            )
            row[f"{key}_p"] = area.p_value
            row[f"{key}_cover"] = bool(area.ci[0] <= true <= area.ci[1])
            row[f"{key}_ci"] = list(area.ci)
            row[f"{key}_se"] = area.se
            row[f"{key}_mde"] = area.mde()
        if verdict_only:
            record["outcomes"][outcome] = row
            continue
        wild = wild_bootstrap(
            panel, "y", "t", "person_id", "treated", cluster="area", reps=wild_reps, seed=seed
        )
        tw = twfe(panel, "y", "t", "person_id", "treated", cluster="household_id")
        row["wild_p"] = wild.p_value
        row["twfe_household_reject"] = bool(tw.ci_low > 0 or tw.ci_high < 0)
        row["pretrend_p"] = result.pretest.get("p_value")
        pre = area_placebo_test(
            panel,
            "y",
            "t",
            "person_id",
            "g",
            area="area",
            hhname="household_id",
            seed=seed,
            pre_periods=plan.sensitivity.pre_periods,
            match_bins=plan_bins,
        )
        row["pretrend_area_p"] = pre.p_value
        if honest and outcome == plan.primary_outcome:
            from analysis.effects.sensitivity import sensitivity_analysis

            sens = sensitivity_analysis(
                panel, outcome, seed=seed, m_bars=[0.0, plan.m_bar], refine=False
            )
            if sens is not None:
                for m_bar in (0.0, plan.m_bar):
                    at = sens.table.loc[np.isclose(sens.table["m_bar"], m_bar)].iloc[0]
                    key = f"honest_{m_bar:g}"
                    row[key + "_reject"] = bool(at["lb"] > 0 or at["ub"] < 0)
                    row[key + "_cover"] = bool(at["lb"] <= true <= at["ub"])
        record["outcomes"][outcome] = row
    record["seconds"] = round(time.perf_counter() - start, 1)
    return record


def _done(path: Path) -> set:
    if not path.exists():
        return set()
    done = set()
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            done.add((rec["scenario"], rec["seed"]))
    return done


def _work(args: tuple) -> dict:
    return one_extract(*args)


def run(
    out: Path,
    n: int,
    first_seed: int,
    as_of: str,
    wild_reps: int,
    honest: bool,
    jobs: int,
    verdict_only: bool = False,
):
    """Append one record per extract to ``out`` (skipping those already there)."""
    import multiprocessing

    import analysis.did.honestdid
    import analysis.effects.sensitivity  # noqa: F401
    from analysis.config import load_contract, load_synthetic
    from analysis.effects.plan import load_plan

    _CONFIG.update(contract=load_contract(), synth=load_synthetic(), plan=load_plan())
    done = _done(out)
    work = [
        (first_seed + i, scenario, as_of, wild_reps, honest, verdict_only)
        for i in range(n)
        for scenario in SCENARIOS
        if (scenario, first_seed + i) not in done
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs) as pool, open(out, "a", encoding="utf-8") as handle:
        for record in pool.imap_unordered(_work, work, chunksize=1):
            handle.write(json.dumps(record, sort_keys=True) + "\n")
            handle.flush()
        pool.close()
        pool.join()


def _binomial_interval(k: int, n: int) -> tuple[float, float]:
    """Clopper–Pearson 95 % interval of a rate (how far from 5 % a rate may be by chance)."""
    from scipy import stats

    low = stats.beta.ppf(0.025, k, n - k + 1) if k > 0 else 0.0
    high = stats.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return float(low), float(high)


def summary(path: Path, alpha: float = 0.05) -> pd.DataFrame:
    """Rejection rates under the null and coverage rates, per procedure and outcome."""
    records = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    rows = []
    # The extracts with effects share their seeds with the null ones, so their
    # pre-enrolment data are the same: pre-trend tests are counted once.
    checks = [
        ("household CI (CS, household clusters)", "null", "household_reject", "rejects"),
        ("household CI (CS, household clusters)", "effects", "household_cover", "covers"),
        ("area placebo test (matched placebos, baseline-studentized)", "null", "area_p", "p"),
        ("area-robust CI (test inversion)", "null", "area_cover", "covers"),
        ("area-robust CI (test inversion)", "effects", "area_cover", "covers"),
        ("area placebo test, unmatched, household-studentized", "null", "area_unmatched_p", "p"),
        (
            "area-robust CI, unmatched, household-studentized",
            "effects",
            "area_unmatched_cover",
            "covers",
        ),
        ("wild cluster bootstrap, areas (TWFE)", "null", "wild_p", "p"),
        ("TWFE, household clusters", "null", "twfe_household_reject", "rejects"),
        ("pre-trend Wald test", "null", "pretrend_p", "p"),
        ("area pre-trend placebo test", "null", "pretrend_area_p", "p"),
        ("HonestDiD interval, M̄ = 0", "null", "honest_0_reject", "rejects"),
        ("HonestDiD interval, M̄ = 0", "effects", "honest_0_cover", "covers"),
    ]
    m_bars = {
        k.split("_")[1]
        for r in records
        for o in r["outcomes"].values()
        for k in o
        if k.startswith("honest_") and not k.startswith("honest_0_")
    }
    for m in sorted(m_bars):
        checks += [
            (f"HonestDiD interval, M̄ = {m}", "null", f"honest_{m}_reject", "rejects"),
            (f"HonestDiD interval, M̄ = {m}", "effects", f"honest_{m}_cover", "covers"),
        ]
    for label, scenario, key, kind in checks:
        for outcome in OUTCOMES:
            values = [
                r["outcomes"][outcome][key]
                for r in records
                if r["scenario"] == scenario
                and outcome in r["outcomes"]
                and r["outcomes"][outcome].get(key) is not None
            ]
            if not values:
                continue
            hits = [v < alpha for v in values] if kind == "p" else [bool(v) for v in values]
            k, n = int(sum(hits)), len(hits)
            low, high = _binomial_interval(k, n)
            rows.append(
                {
                    "procedure": label,
                    "extracts": "no effect" if scenario == "null" else "default effects",
                    "measures": "coverage" if kind == "covers" else "rejection at 5 %",
                    "outcome": outcome,
                    "n": n,
                    "rate": k / n,
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    return pd.DataFrame(rows)


def power(path: Path, alpha: float = 0.05, power_level: float = 0.8) -> pd.DataFrame:
    """MDE and power at the benchmark's cut-off (the end of follow-up), per outcome.

    ``effect``: the mean realised simple ATT of the extracts with the default
    effects, the effect the business case assumes (the rate card is calibrated on
    the generator's designed effects); household MDE: ``(z₁₋α/₂ + z_power)`` times
    the median household-clustered standard error under no effect; area MDE: the
    median of :meth:`analysis.did.inference.AreaTestResult.mde` under no effect;
    power: the share of extracts with the default effects in which the test
    rejects at ``alpha`` (household: the interval excludes zero).
    """
    from scipy import stats

    records = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power_level)
    rows = []
    for outcome in OUTCOMES:

        def values(scenario, key, outcome=outcome):
            return np.array(
                [
                    r["outcomes"][outcome][key]
                    for r in records
                    if r["scenario"] == scenario
                    and r["outcomes"].get(outcome, {}).get(key) is not None
                ],
                dtype=float,
            )

        truth, se = values("effects", "truth"), values("null", "household_se")
        area_mde = values("null", "area_mde")
        if not len(truth) or not len(se):
            continue
        rows.append(
            {
                "outcome": outcome,
                "n": min(len(truth), len(se)),
                "business_case_effect": float(np.mean(truth)),
                "mde_household": float(z * np.median(se)),
                "mde_area": float(np.median(area_mde)) if len(area_mde) else None,
                "power_household": float(np.mean(values("effects", "household_reject"))),
                "power_area": float(np.mean(values("effects", "area_p") < alpha)),
            }
        )
    return pd.DataFrame(rows)


def power_markdown(table: pd.DataFrame) -> str:
    """The power table as Markdown (effects and MDEs in the outcome's units)."""
    lines = [
        "| outcome | n | business-case effect (ATT) | MDE, household clusters | MDE, area test "
        "| power, household CI | power, area test |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples(index=False):
        area = "" if row.mde_area is None else f"{abs(row.mde_area):.3f}"
        lines.append(
            f"| {row.outcome} | {row.n} | {row.business_case_effect:.3f} | "
            f"{row.mde_household:.3f} | {area} | {100 * row.power_household:.0f} % | "
            f"{100 * row.power_area:.0f} % |"
        )
    return "\n".join(lines)


def markdown(table: pd.DataFrame) -> str:
    """The summary as a Markdown table: one row per procedure, the outcomes as columns.

    Each cell: the rate and its Clopper–Pearson 95 % interval (how far from the
    target a rate may be by chance at this number of extracts).
    """
    lines = []
    head = "| procedure | extracts | measures | n | " + " | ".join(OUTCOMES) + " |"
    lines += [head, "|" + "---|" * (4 + len(OUTCOMES))]
    for (label, extracts, measures), part in table.groupby(
        ["procedure", "extracts", "measures"], sort=False
    ):
        cells = []
        for outcome in OUTCOMES:
            row = part.loc[part["outcome"] == outcome]
            cells.append(
                ""
                if row.empty
                else f"{100 * row['rate'].iloc[0]:.1f} % "
                f"({100 * row['ci_low'].iloc[0]:.1f}–{100 * row['ci_high'].iloc[0]:.1f})"
            )
        n = int(part["n"].max())
        lines.append(f"| {label} | {extracts} | {measures} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.size", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", default="build/size.jsonl")
    parser.add_argument("--extracts", type=int, default=200, help="extracts per scenario")
    parser.add_argument("--first-seed", type=int, default=10_000)
    parser.add_argument("--as-of", default=None, help="cut-off (default: the final evaluation's)")
    parser.add_argument("--wild-reps", type=int, default=399)
    parser.add_argument(
        "--no-honest", action="store_true", help="leave out the HonestDiD intervals"
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--verdict-only",
        action="store_true",
        help="only the area test and interval the verdicts rest on (and the household CI)",
    )
    parser.add_argument("--summary", action="store_true", help="only print the table of --out")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if not args.summary:
        from analysis.config import load_contract

        as_of = args.as_of or load_contract().timeline.evaluations.final
        run(
            out,
            args.extracts,
            args.first_seed,
            as_of,
            args.wild_reps,
            not args.no_honest,
            args.jobs,
            args.verdict_only,
        )
    print(markdown(summary(out)))
    print()
    print(power_markdown(power(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
