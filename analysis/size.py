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
* the Rambachan–Roth robust interval of the headline estimand at ``M̄ = 0`` (it
  excludes 0 exactly when the breakdown ``M̄`` the reports state is positive) and at
  the plan's ``M̄`` (rejects 0; covers the truth), for every outcome, as the reports
  show it for every outcome.

One JSON line per extract is appended to ``--out`` as soon as it is done, so a long
run can be stopped and resumed (extracts already in the file are skipped) and read
while it runs; ``--summary`` turns the file into the table of docs/evaluation.md.
Run it niced: ``make size`` (``SIZE_ARGS`` for more options).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis.config import load_contract, load_synthetic
from analysis.data.asof import as_of as cut
from analysis.data.synth import comparison_design, generate
from analysis.data.validate import load_extract
from analysis.did import aggte, att_gt, twfe, wild_bootstrap
from analysis.did.checks import estimated
from analysis.effects.areas import match_level, outcome_placebo_test
from analysis.effects.panels import outcome_panel
from analysis.effects.plan import load_plan
from analysis.effects.robustness import synthetic_did_estimate
from analysis.effects.sensitivity import sensitivity_analysis

SCENARIOS = ("null", "effects")
_CONFIG: dict = {}
OUTCOMES = ("ladder_step", "self_supporting", "support_level", "absence_rate")


def _tables(seed: int, scenario: str, contract, synth) -> dict:
    """One synthetic extract's tables (written to a scratch folder in memory, read back)."""
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


PARTS = (
    "household",
    "area",
    "pre",
    "anticipation",
    "twfe",
    "wild",
    "honest",
    "area_unmatched",
    "sdid",
    "honest_area",
)
# What an extract with the default effects adds: coverage (the pre-enrolment data, and
# so the pre-trend tests, are the null extract's; TWFE and the wild bootstrap are
# measured by their size only).
EFFECTS_PARTS = ("household", "area", "honest", "area_unmatched", "sdid", "honest_area")


def one_extract(
    seed: int,
    scenario: str,
    as_of: str,
    wild_reps: int,
    parts: tuple = PARTS,
    area_outcomes: tuple = OUTCOMES,
    effects_parts: tuple = EFFECTS_PARTS,
) -> dict:
    """The chosen procedures (``parts``, of :data:`PARTS`) on one extract (a JSON-able record).

    ``household``: the household-clustered interval of the simple ATT and the Wald
    test of the leads; ``area``: the area placebo test and its interval as the plan
    specifies them (on ``area_outcomes``); ``pre``: the area pre-trend test over the
    plan's pre-periods and the anticipation test (one quarter); ``anticipation``: the
    anticipation test alone; ``twfe``, ``wild``,
    ``honest``: TWFE with household clusters, the wild cluster bootstrap by area, the
    HonestDiD intervals; ``area_unmatched``: the area test as it
    was before its placebos were matched (docs/evaluation.md says why it over-rejected);
    ``sdid``: the area-level synthetic DiD of the robustness row with its placebo
    interval (:func:`analysis.effects.robustness.synthetic_did_estimate`, on
    ``area_outcomes``; its standard error and the degrees of freedom of its t
    reference are recorded, ``sdid_se`` and ``sdid_df``).

    Kept whole: one benchmark record: each of the optional procedures (``parts``) is a
    short block run on the same generated extract and its panels, which would otherwise
    be regenerated or passed to each helper.
    """
    # Read once, before the workers fork: a configuration edited during a long run
    # does not reach it half-way.
    if not _CONFIG:
        _CONFIG.update(contract=load_contract(), synth=load_synthetic(), plan=load_plan())
    contract, synth, plan = _CONFIG["contract"], _CONFIG["synth"], _CONFIG["plan"]
    if scenario != "null":
        parts = tuple(p for p in parts if p in EFFECTS_PARTS and p in effects_parts)
    start = time.perf_counter()
    tables, truth = _tables(seed, scenario, contract, synth)
    data = cut(tables, as_of, contract)
    record = {"seed": seed, "scenario": scenario, "as_of": as_of, "outcomes": {}}
    plan_bins = plan.inference.area_match_bins
    wanted = [
        o
        for o in OUTCOMES
        if set(parts)
        & {"household", "pre", "anticipation", "twfe", "wild", "honest", "honest_area"}
        or o in area_outcomes
    ]
    needs = set(wanted) | {plan.inference.area_match_on.get(o) for o in wanted} - {None}
    panels = {o: outcome_panel(data, o) for o in OUTCOMES if o in needs}
    for outcome in wanted:
        panel = panels[outcome]
        true = (truth.get(outcome) or {}).get("att")
        true = 0.0 if scenario == "null" or true is None else float(true)
        row = {"truth": true}
        placebo_test = outcome_placebo_test(
            panel, seed=seed, match_bins=plan_bins, match_level=match_level(plan, panels, outcome)
        )
        if "household" in parts:
            result = att_gt(panel, "y", "t", "person_id", "g", cluster="household_id")
            simple = aggte(result, "simple")
            low, high = simple.overall_ci
            row.update(
                att=simple.overall_att,
                household_reject=bool(low > 0 or high < 0),
                household_cover=bool(low <= true <= high),
                household_se=simple.overall_se,
                pretrend_p=result.pretest.get("p_value"),
            )
        variants = []
        if "area" in parts and outcome in area_outcomes:
            variants.append(("area", {}))
        if "area_unmatched" in parts and outcome in area_outcomes:
            variants.append(
                (
                    "area_unmatched",
                    {"match_bins": None, "match_level": None, "studentize": "household"},
                )
            )
        for key, options in variants:
            area = placebo_test(**options)
            row[f"{key}_p"] = area.p_value
            row[f"{key}_cover"] = bool(area.ci[0] <= true <= area.ci[1])
            row[f"{key}_ci"] = list(area.ci)
            row[f"{key}_se"] = area.se
            row[f"{key}_mde"] = area.mde()
        # The plan says whether the pre-enrolment tests' placebos are matched.
        plan_pre = {} if plan.pre_trends.match_placebos else {"match_bins": None}
        pre_tests = [("pretrend_area_p", plan.sensitivity.pre_periods)] if "pre" in parts else []
        if {"pre", "anticipation"} & set(parts):
            pre_tests.append(("anticipation_area_p", 1))
        for key, quarters in pre_tests:
            row[key] = placebo_test(pre_periods=quarters, **plan_pre).p_value
        if "sdid" in parts and outcome in area_outcomes:
            synthetic = synthetic_did_estimate(panel, seed=seed)
            if estimated(synthetic):
                row["sdid_p"] = synthetic.p_value
                row["sdid_cover"] = bool(synthetic.ci_low <= true <= synthetic.ci_high)
                row["sdid_ci"] = [synthetic.ci_low, synthetic.ci_high]
                row["sdid_att"] = synthetic.att
                row["sdid_se"] = synthetic.se
                row["sdid_df"] = synthetic.df
        if "wild" in parts:
            row["wild_p"] = wild_bootstrap(
                panel,
                "y",
                "t",
                "person_id",
                "treated",
                cluster="area",
                reps=wild_reps,
                seed=seed,
            ).p_value
        if "twfe" in parts:
            tw = twfe(panel, "y", "t", "person_id", "treated", cluster="household_id")
            row["twfe_household_reject"] = bool(tw.ci_low > 0 or tw.ci_high < 0)
        honest = [("honest", None)] if "honest" in parts else []
        if "honest_area" in parts:
            # The event study's covariance from the matched area placebos (the area test's).
            honest.append(
                (
                    "honest_area",
                    lambda e, target, test=placebo_test: test(event_times=e).event_covariance(
                        target
                    ),
                )
            )
        for prefix, area_covariance in honest:
            sens = sensitivity_analysis(
                panel,
                outcome,
                seed=seed,
                m_bars=[0.0, plan.m_bar],
                refine=False,
                area_covariance=area_covariance,
            )
            if sens is not None:
                for m_bar in (0.0, plan.m_bar):
                    at = sens.table.loc[np.isclose(sens.table["m_bar"], m_bar)].iloc[0]
                    key = f"{prefix}_{m_bar:g}"
                    row[key + "_reject"] = bool(at["lb"] > 0 or at["ub"] < 0)
                    row[key + "_cover"] = bool(at["lb"] <= true <= at["ub"])
        record["outcomes"][outcome] = row
    record["parts"] = list(parts)
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
    jobs: int,
    parts: tuple = PARTS,
    area_outcomes: tuple = OUTCOMES,
    effects_parts: tuple = EFFECTS_PARTS,
):
    """Append one record per extract to ``out`` (skipping those already there)."""
    _CONFIG.update(contract=load_contract(), synth=load_synthetic(), plan=load_plan())
    done = _done(out)
    # Extracts with effects only when a chosen procedure runs on them.
    scenarios = SCENARIOS if set(parts) & set(effects_parts) & set(EFFECTS_PARTS) else ("null",)
    work = [
        (first_seed + i, scenario, as_of, wild_reps, parts, area_outcomes, effects_parts)
        for i in range(n)
        for scenario in scenarios
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


def load_records(paths: list[Path]) -> list[dict]:
    """The records of one or more runs, merged per extract (scenario, seed).

    A later file's values replace an earlier one's key by key within each outcome: a
    run that adds procedures (or re-runs one with a changed plan) to the extracts of
    an earlier run overlays it, and every value keeps the procedure that made it.
    """
    merged: dict = {}
    for path in paths:
        for line in Path(path).read_text().splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            key = (rec["scenario"], rec["seed"])
            base = merged.setdefault(key, {**rec, "outcomes": {}})
            if base.get("as_of") != rec.get("as_of"):
                raise ValueError(
                    f"{path}: extract {key} cut at {rec.get('as_of')}, not "
                    f"{base.get('as_of')} as in an earlier file"
                )
            for outcome, values in rec["outcomes"].items():
                base["outcomes"].setdefault(outcome, {}).update(values)
    return [merged[k] for k in sorted(merged)]


def _binomial_interval(k: int, n: int) -> tuple[float, float]:
    """Clopper–Pearson 95 % interval of a rate (how far from 5 % a rate may be by chance)."""
    low = stats.beta.ppf(0.025, k, n - k + 1) if k > 0 else 0.0
    high = stats.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return float(low), float(high)


_VERDICT = "decides the verdict"
_CAVEAT = "caveat beside the verdict"
_SHOWN = "results file only, decides nothing"
_APPENDIX = "annex: ignores area shocks"
_ROBUSTNESS = "robustness row (final), decides nothing"
# (procedure, its role in the reports, [(scenario, record key, kind)]); kind "p": a
# p-value (rejects at alpha), "rejects"/"covers": a boolean.
CHECKS = [
    (
        "area placebo test (matched placebos, baseline-studentized)",
        _VERDICT,
        [("null", "area_p", "p")],
    ),
    (
        "area-robust CI (test inversion)",
        _VERDICT,
        [("null", "area_cover", "covers"), ("effects", "area_cover", "covers")],
    ),
    ("area pre-trend placebo test", _CAVEAT, [("null", "pretrend_area_p", "p")]),
    ("area anticipation placebo test (1 quarter)", _CAVEAT, [("null", "anticipation_area_p", "p")]),
    ("wild cluster bootstrap, areas (TWFE)", _SHOWN, [("null", "wild_p", "p")]),
    (
        "synthetic DiD, areas (placebo variance, t(N_co − 1))",
        _ROBUSTNESS,
        [("null", "sdid_p", "p"), ("effects", "sdid_cover", "covers")],
    ),
    (
        "household CI (CS, household clusters)",
        _APPENDIX,
        [("null", "household_reject", "rejects"), ("effects", "household_cover", "covers")],
    ),
    ("TWFE, household clusters", _APPENDIX, [("null", "twfe_household_reject", "rejects")]),
    ("pre-trend Wald test (household clusters)", _APPENDIX, [("null", "pretrend_p", "p")]),
    (
        "HonestDiD interval, M̄ = 0 (breakdown M̄ > 0)",
        _APPENDIX,
        [("null", "honest_0_reject", "rejects"), ("effects", "honest_0_cover", "covers")],
    ),
    (
        "HonestDiD interval, area placebo covariance, M̄ = 0 (breakdown M̄ > 0)",
        _CAVEAT,
        [
            ("null", "honest_area_0_reject", "rejects"),
            ("effects", "honest_area_0_cover", "covers"),
        ],
    ),
    (
        "area placebo test, unmatched, household-studentized",
        "replaced",
        [("null", "area_unmatched_p", "p"), ("effects", "area_unmatched_cover", "covers")],
    ),
]


# The level of the synthetic DiD's interval in records written before its t reference.
_NORMAL_LEVEL = 0.95


def sdid_t_reference(records: list[dict], alpha: float = 0.05) -> int:
    """Give the synthetic DiD values of records written with the normal reference the
    t reference of :mod:`analysis.did.sdid` (in place); the number of values changed.

    The synthetic DiD's interval was ``att ± z σ̂`` (95 %) until it became
    ``att ± t_{N₀−1} σ̂``. Its point estimate and standard error are unchanged, so a
    record without ``sdid_df`` gets them from its stored interval, exactly:
    ``σ̂ = (hi − lo) / (2 z₀.₉₇₅)``, with ``N₀`` the comparison areas of the
    generator's configuration (:func:`analysis.data.synth.comparison_design`; every
    area is seen in every quarter), and the t interval, p-value and coverage follow
    from ``att``, ``σ̂`` and ``N₀ − 1``. A record written by the current code states
    ``sdid_se`` and ``sdid_df`` and is left as it is.
    """
    df = comparison_design(load_synthetic())[1] - 1
    z = stats.norm.ppf(1 - (1 - _NORMAL_LEVEL) / 2)
    critical = stats.t.ppf(1 - alpha / 2, df)
    changed = 0
    for record in records:
        for row in record["outcomes"].values():
            if "sdid_ci" not in row or "sdid_df" in row:
                continue
            low, high = row["sdid_ci"]
            att, se = row["sdid_att"], (high - low) / (2 * z)
            ci = [att - critical * se, att + critical * se]
            row.update(
                sdid_se=se,
                sdid_df=df,
                sdid_ci=ci,
                sdid_p=float(2 * stats.t.sf(abs(att) / se, df)),
                sdid_cover=bool(ci[0] <= row["truth"] <= ci[1]),
            )
            changed += 1
    return changed


def summary(paths: list[Path], alpha: float = 0.05) -> pd.DataFrame:
    """Rejection rates under the null and coverage rates, per procedure and outcome
    (synthetic DiD values of older records re-derived by :func:`sdid_t_reference`)."""
    records = load_records(paths)
    sdid_t_reference(records, alpha)
    rows = []
    # The extracts with effects share their seeds with the null ones, so their
    # pre-enrolment data are the same: pre-trend tests are counted once.
    checks = [
        (label, role, scenario, key, kind)
        for label, role, cases in CHECKS
        for scenario, key, kind in cases
    ]
    # The plan's M̄ (besides 0) as the records name it: honest_<M̄>_… and honest_area_<M̄>_….
    for prefix, label, role in (
        ("honest", "HonestDiD interval", _APPENDIX),
        ("honest_area", "HonestDiD interval, area placebo covariance", _CAVEAT),
    ):
        m_bars = {
            k[len(prefix) + 1 :].split("_")[0]
            for r in records
            for o in r["outcomes"].values()
            for k in o
            if k.startswith(prefix + "_") and k[len(prefix) + 1 :][:1].isdigit()
        } - {"0"}
        for m in sorted(m_bars):
            checks += [
                (f"{label}, M̄ = {m}", role, "null", f"{prefix}_{m}_reject", "rejects"),
                (f"{label}, M̄ = {m}", role, "effects", f"{prefix}_{m}_cover", "covers"),
            ]
    for label, role, scenario, key, kind in checks:
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
                    "role": role,
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


def power(paths: list[Path], alpha: float = 0.05, power_level: float = 0.8) -> pd.DataFrame:
    """MDE and power at the benchmark's cut-off (the end of follow-up), per outcome.

    ``effect``: the mean realised simple ATT of the extracts with the default
    effects, the effect the business case assumes (the rate card is calibrated on
    the generator's designed effects); household MDE: ``(z₁₋α/₂ + z_power)`` times
    the median household-clustered standard error under no effect; area MDE: the
    median of :meth:`analysis.did.inference.AreaTestResult.mde` under no effect;
    power: the share of extracts with the default effects in which the test
    rejects at ``alpha`` (household: the interval excludes zero).
    """
    records = load_records(paths)
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


BAND = {"coverage": (0.92, 0.98), "rejection at 5 %": (0.03, 0.07)}


def markdown(table: pd.DataFrame) -> str:
    """The summary as a Markdown table: one row per procedure, the outcomes as columns.

    Each cell: the rate and its Clopper–Pearson 95 % interval (how far from the
    target a rate may be by chance at this number of extracts); in bold when the
    rate is outside the target band (:data:`BAND`: rejection 3–7 %, coverage 92–98 %).
    """
    lines = []
    head = "| procedure | role in the reports | extracts | measures | n | " + " | ".join(OUTCOMES)
    lines += [head + " |", "|" + "---|" * (5 + len(OUTCOMES))]
    for (label, role, extracts, measures), part in table.groupby(
        ["procedure", "role", "extracts", "measures"], sort=False
    ):
        cells = []
        low, high = BAND[measures]
        for outcome in OUTCOMES:
            row = part.loc[part["outcome"] == outcome]
            if row.empty:
                cells.append("")
                continue
            rate = row["rate"].iloc[0]
            # An outcome measured on fewer extracts than the row's n says its own.
            own = int(row["n"].iloc[0])
            tail = "" if own == int(part["n"].max()) else f"; n = {own}"
            cell = (
                f"{100 * rate:.1f} % "
                f"({100 * row['ci_low'].iloc[0]:.1f}–{100 * row['ci_high'].iloc[0]:.1f}{tail})"
            )
            cells.append(cell if low <= rate <= high else f"**{cell}**")
        n = int(part["n"].max())
        lines.append(
            f"| {label} | {role} | {extracts} | {measures} | {n} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


MARK_START, MARK_END = "<!-- size-table -->", "<!-- /size-table -->"


def write_docs(doc: Path, paths: list[Path], text: str) -> None:
    """Replace the generated block of ``doc`` (between the size-table markers) with ``text``."""
    content = doc.read_text(encoding="utf-8")
    if MARK_START not in content or MARK_END not in content:
        raise SystemExit(f"{doc}: no {MARK_START} … {MARK_END} block to replace")
    head, rest = content.split(MARK_START, 1)
    _, tail = rest.split(MARK_END, 1)
    records = load_records(paths)
    seeds = sorted({r["seed"] for r in records})
    counts = {s: sum(r["scenario"] == s for r in records) for s in SCENARIOS}
    derived = sdid_t_reference(records)
    areas = comparison_design(load_synthetic())[1]
    note = (
        f" The synthetic DiD values of {derived} extracts were written with the normal "
        f"interval: their t interval (N_co − 1 = {areas - 1} degrees of freedom, N_co the "
        "generator's comparison areas) is derived from the stored estimate and interval "
        "(SE = (hi − lo)/(2 z₀.₉₇₅), exact)."
        if derived
        else ""
    )
    source = (
        "Generated by `python -m analysis.size --summary "
        + "".join(f"--merge {p.as_posix()} " for p in paths[:-1])
        + f"--out {paths[-1].as_posix()} --docs {doc.as_posix()}`"
        + f" ({counts['null']} extracts without and {counts['effects']} with effects, seeds "
        f"{seeds[0]}–{seeds[-1]}, cut at {records[0]['as_of']}; a later file's values replace "
        "an earlier one's, so each value is the latest run of its procedure)."
        + note
        + " Do not edit."
    )
    doc.write_text(
        head + MARK_START + "\n" + source + "\n\n" + text + "\n" + MARK_END + tail,
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.size", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", default="build/size.jsonl")
    parser.add_argument(
        "--merge",
        action="append",
        default=[],
        help="an earlier run's file, overlaid by --out in the tables (repeatable)",
    )
    parser.add_argument("--extracts", type=int, default=200, help="extracts per scenario")
    parser.add_argument("--first-seed", type=int, default=10_000)
    parser.add_argument("--as-of", default=None, help="cut-off (default: the final evaluation's)")
    parser.add_argument("--wild-reps", type=int, default=399)
    parser.add_argument(
        "--parts",
        # The synthetic DiD's solver makes it the slowest part: asked for by name.
        default=",".join(p for p in PARTS if p not in ("area_unmatched", "anticipation", "sdid")),
        help=f"procedures, comma-separated, of {', '.join(PARTS)}",
    )
    parser.add_argument(
        "--area-outcomes",
        default=",".join(OUTCOMES),
        help="outcomes of the area test (the other parts run on every outcome)",
    )
    parser.add_argument(
        "--effects-parts",
        default=",".join(EFFECTS_PARTS),
        help="of --parts, those run on the extracts with effects (coverage)",
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--verdict-only",
        action="store_true",
        help="only the area test the verdicts rest on and the household CI (--parts household,area)",
    )
    parser.add_argument("--summary", action="store_true", help="only print the table of --out")
    parser.add_argument("--docs", default=None, help="also write the table into this file's block")
    args = parser.parse_args(argv)
    out = Path(args.out)
    parts = ("household", "area") if args.verdict_only else tuple(args.parts.split(","))
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if not args.summary:
        as_of = args.as_of or load_contract().timeline.evaluations.final
        run(
            out,
            args.extracts,
            args.first_seed,
            as_of,
            args.wild_reps,
            args.jobs,
            parts,
            tuple(args.area_outcomes.split(",")),
            tuple(args.effects_parts.split(",")),
        )
    paths = [Path(p) for p in args.merge] + [out]
    text = markdown(summary(paths)) + "\n\n" + power_markdown(power(paths))
    print(text)
    if args.docs:
        write_docs(Path(args.docs), paths, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
