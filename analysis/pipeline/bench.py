"""``make bench``: wall time and peak memory of each step at three sizes, against the peers.

Each measurement runs in a fresh Python process, limited to ``MEMORY_LIMIT_GIB`` of
address space, (``python -m analysis.pipeline.bench step …``)
so that its peak resident memory (``ru_maxrss``, imports included) belongs to that
step alone. The estimators (and their peers) read one prepared panel per size (the
``panel`` step: validated extract, cut as of 2027Q1, support level, balanced): only
their columns, the ids as int32 codes (:func:`analysis.data.engine.read_coded`);
the reading counts in their time and memory. Sizes are comparison pools of 10 thousand, 100 thousand and 1 million
persons by default (``--sizes``, ``make bench BENCH_SIZES=5000000``); every step reads the same synthetic extract of that size. Peers run in the
same way on the same data: linearmodels ``PanelOLS`` and pyfixest ``feols`` for
TWFE, and ``csdid`` (the Python port of R's ``did``) for ``att_gt``; a peer whose
previous size took longer than ``PEER_BUDGET`` seconds is skipped at larger sizes.
Per size, a "pipeline" row adds up synth, validate, quarterly, panel, twfe and
att_gt and gives the largest of their peaks. With the peers, the estimators also
race the fastest peers on a held-out-style panel (:func:`heldout_panel`:
100,000 units × 24 quarters, staggered cohorts, clustered by household):
``twfe`` against pyfixest ``feols``, ``att_gt`` + ``aggte`` against moderndid. The data layer works out of core
(:mod:`analysis.data.engine`). A step's process keeps Python's bytecode in
``build/bench/pycache`` (:func:`step_environment`), compiled once before the first step
(:func:`warm_up`), so no step is charged for compiling the libraries it imports.
Benchmarks measure; no test asserts a timing.
"""

# Imports inside functions: each measured step imports, in its own process, only what it
# needs, so that its peak memory (imports included) and time are that step's alone.

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from analysis.paths import BUILD_DIR, ROOT

SIZES = (10_000, 100_000, 1_000_000)
PEER_BUDGET = 300.0
AS_OF = "2027Q1"


MEMORY_LIMIT_GIB = 20


def _panel_path(data_dir: Path) -> Path:
    return data_dir.with_name(data_dir.name + "-panel.parquet")


def _build_panel(data_dir: Path) -> int:
    """The support-level panel, balanced (persons observed in every quarter), so that
    every implementation estimates on the same sample (csdid balances panels itself).

    Built by DuckDB out of core straight into Parquet (:mod:`analysis.data.engine`);
    tests/test_engine.py checks it equals the pandas ``outcome_panel``, balanced.
    """
    from analysis.config import load_contract
    from analysis.data import engine
    from analysis.data.validate import load_extract

    contract = load_contract()
    extract = load_extract(data_dir, contract, out_of_core=True)
    return engine.write_outcome_panel(
        extract, AS_OF, contract, "support_level", _panel_path(data_dir), balanced=True
    )


# What each estimator reads of the panel: only these columns are loaded.
PANEL_COLUMNS = {
    "twfe": ["person_id", "t", "y", "treated", "household_id"],
    "panelols": ["person_id", "t", "y", "treated", "household_id"],
    "pyfixest": ["person_id", "t", "y", "treated", "household_id"],
    "att_gt": ["person_id", "t", "y", "g", "household_id"],
    "csdid": ["person_id", "t", "y", "g"],
    "wild_bootstrap": ["person_id", "t", "y", "treated", "area"],
}


# Id columns read as int32 codes that keep the ids' order (the estimates are the same).
CODED = ("person_id", "household_id", "area")


def _panel(data_dir: Path, step: str):
    """The step's columns of the panel, ids as codes (:func:`analysis.data.engine.read_coded`)."""
    from analysis.data import engine

    columns = PANEL_COLUMNS[step]
    return engine.read_coded(_panel_path(data_dir), columns, [c for c in columns if c in CODED])


HELDOUT_UNITS = 100_000
HELDOUT_PERIODS = 24
HELDOUT_COLUMNS = {
    "heldout_twfe": ["person_id", "t", "y", "treated", "household_id"],
    "heldout_pyfixest": ["person_id", "t", "y", "treated", "household_id"],
    "heldout_att_gt": ["person_id", "t", "y", "g", "household_id"],
    "heldout_moderndid": ["person_id", "t", "y", "g", "household_id"],
}


def heldout_path() -> Path:
    return BUILD_DIR / "bench" / f"heldout-{HELDOUT_UNITS}x{HELDOUT_PERIODS}.parquet"


def heldout_panel(seed: int, units: int = HELDOUT_UNITS, periods: int = HELDOUT_PERIODS):
    """A balanced panel in the shape of the held-out checks: ``units`` persons in
    households of two or three (the clusters), ``periods`` quarters, 30 % of the
    households enrolled in one of twelve staggered cohorts (quarters 6 to 17), the
    rest never; ``y`` has person and quarter effects, an effect growing with time
    since enrolment, and noise. Integer ids and quarters, as the estimators get them.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    household = (np.arange(units) * 2) // 5
    n_households = int(household[-1]) + 1
    cohort = np.where(rng.random(n_households) < 0.3, rng.integers(6, 18, n_households), 0)
    g = np.repeat(cohort[household], periods)
    t = np.tile(np.arange(1, periods + 1, dtype=np.int32), units)
    since = t - g
    effect = np.where((g > 0) & (since >= 0), 0.5 + 0.05 * since, 0.0)
    y = (
        np.repeat(rng.normal(size=units), periods)
        + np.tile(np.cumsum(rng.normal(0.02, 0.1, periods)), units)
        + effect
        + rng.normal(size=units * periods)
    )
    return pd.DataFrame(
        {
            "person_id": np.repeat(np.arange(units, dtype=np.int32), periods),
            "t": t,
            "y": y,
            "g": g.astype(np.int32),
            "treated": ((g > 0) & (since >= 0)).astype(np.int32),
            "household_id": np.repeat(household.astype(np.int32), periods),
        }
    )


def _data_step(step: str, data_dir: Path, size: int, contract) -> None:
    """The data steps: generate, validate, compute the quarterly results, build the panel."""
    if step == "panel":
        _build_panel(data_dir)
    elif step == "synth":
        from analysis.config import load_synthetic
        from analysis.data.synth import generate

        generate(data_dir, contract, load_synthetic(), contract.seed, comparison_persons=size)
    elif step == "validate":
        from analysis.data.validate import load_extract

        # Always the full check (a receipt of an earlier run would make it free); it
        # leaves the receipt the quarterly and panel steps then find.
        load_extract(data_dir, contract, out_of_core=True, revalidate=True)
    elif step == "quarterly":
        from analysis.payments.quarterly import write_quarterly_results

        # A settlement record of its own, new every run: every result report due by
        # AS_OF is settled in the step, as on the first quarterly run on new data (the
        # record in data/settlement/ would make every later run skip that work).
        record = BUILD_DIR / "bench" / f"settlement-{size}.sqlite"
        record.unlink(missing_ok=True)
        write_quarterly_results(
            data_dir, AS_OF, BUILD_DIR / "bench" / f"quarterly-{size}", contract, record=record
        )


def _ours(step: str, panel, contract) -> float:
    """The project's estimators on a panel (the project's or the held-out one).

    Each step imports only its own estimator: the wild bootstrap's module imports
    ``scipy.stats`` (about a second), which the timed TWFE and ``att_gt`` steps do not use.
    """
    if step in ("twfe", "heldout_twfe", "panelols"):
        from analysis.did import twfe

        method = "panelols" if step == "panelols" else "demean"
        return twfe(
            panel, "y", "t", "person_id", "treated", cluster="household_id", method=method
        ).att
    if step == "heldout_att_gt":
        from analysis.did import aggte, att_gt

        result = att_gt(panel, "y", "t", "person_id", "g", cluster="household_id", pretest=False)
        return aggte(result, "simple").overall_att
    if step == "att_gt":
        from analysis.did import aggte, att_gt

        result = att_gt(panel, "y", "t", "person_id", "g", cluster="household_id")
        for kind in ("group", "dynamic", "calendar"):
            aggte(result, kind)
        return aggte(result, "simple").overall_att
    from analysis.did import wild_bootstrap

    return wild_bootstrap(
        panel, "y", "t", "person_id", "treated", cluster="area", reps=999, seed=contract.seed
    ).att


def _peer(step: str, panel) -> float:
    """The independent implementations the estimators are timed against."""
    if step in ("pyfixest", "heldout_pyfixest"):
        import pyfixest

        cluster = "household_id"
        if step == "pyfixest":
            panel["cl"] = panel["household_id"].factorize()[0]
            cluster = "cl"
        fit = pyfixest.feols("y ~ treated | person_id + t", data=panel, vcov={"CRV1": cluster})
        return float(fit.coef()["treated"])
    if step == "csdid":
        from csdid.att_gt import ATTgt

        panel["pid"] = panel["person_id"].factorize()[0]
        fit = ATTgt(
            yname="y", gname="g", idname="pid", tname="t", data=panel[["pid", "t", "g", "y"]]
        ).fit(est_method="dr", bstrap=False)
        return float(fit.aggte(typec="simple", bstrap=False).atte["overall_att"])
    import warnings

    import moderndid

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # aggte warns about the bootstrap (PITFALLS)
        fit = moderndid.att_gt(
            panel, yname="y", tname="t", idname="person_id", gname="g", boot=False
        )
        return float(moderndid.aggte(fit, type="simple").overall_att)


DATA_STEPS = ("panel", "synth", "validate", "quarterly")
OUR_STEPS = ("twfe", "panelols", "att_gt", "heldout_twfe", "heldout_att_gt", "wild_bootstrap")
PEER_STEPS = ("pyfixest", "csdid", "heldout_pyfixest", "heldout_moderndid")


def run_step(step: str, data_dir: Path, size: int) -> dict:
    """Run one step in this process; return its wall time, peak memory and estimate."""
    from analysis.config import load_contract

    if step not in (*DATA_STEPS, *OUR_STEPS, *PEER_STEPS):
        raise SystemExit(f"unknown step {step}")
    contract = load_contract()
    estimate = None
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    start = time.perf_counter()
    # Reading the panel is part of an estimator's step (time and memory).
    panel = None
    if step in PANEL_COLUMNS:
        panel = _panel(data_dir, step)
    if step in HELDOUT_COLUMNS:
        import pandas as pd

        panel = pd.read_parquet(heldout_path(), columns=HELDOUT_COLUMNS[step])
    if step in DATA_STEPS:
        _data_step(step, data_dir, size, contract)
    elif step in OUR_STEPS:
        estimate = _ours(step, panel, contract)
    else:
        estimate = _peer(step, panel)
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss / 1024**2  # KiB -> GiB
    return {
        "step": step,
        "size": size,
        "seconds": round(seconds, 3),
        # CPU time of the step (all threads): on a shared
        # machine wall time grows with the load, CPU time hardly does.
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime - cpu_before, 3),
        "peak_gib": round(peak, 3),
        "estimate": estimate,
    }


# Where the measured steps keep Python's bytecode (git-ignored, outside the sources).
PYCACHE = BUILD_DIR / "bench" / "pycache"
# What the steps import at module level, compiled once before any step is measured.
WARM_MODULES = (
    "analysis.data.synth",
    "analysis.data.validate",
    "analysis.data.engine",
    "analysis.payments.quarterly",
    "analysis.did",
    "analysis.did.inference",
)


def step_environment() -> dict[str, str]:
    """The environment of a measured step's process: one in which Python keeps bytecode.

    ``make setup`` installs without compiling (``--no-compile``): Python compiles what
    it imports on first use and keeps it. With ``PYTHONDONTWRITEBYTECODE`` set (some
    sandboxes and CI images set it) nothing is kept, and every step's fresh process
    compiled pandas, pyarrow, DuckDB's Python part and the project again: 3 to 8 CPU
    seconds a step, measured as the step's own work. The steps keep their bytecode in
    :data:`PYCACHE` instead (``PYTHONPYCACHEPREFIX``), so neither the sources nor the
    environment gain files.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def warm_up() -> None:
    """Compile what the steps import into :data:`PYCACHE`, in a process that is not measured."""
    PYCACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-c", "import " + ", ".join(WARM_MODULES)],
        check=True,
        cwd=ROOT,
        env=step_environment(),
    )


def _measure(step: str, data_dir: Path, size: int) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "analysis.pipeline.bench", "step", step, str(data_dir), str(size)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=step_environment(),
    )
    if completed.returncode != 0:
        return {
            "step": step,
            "size": size,
            "seconds": None,
            "peak_gib": None,
            "estimate": None,
            "error": completed.stderr.strip().splitlines()[-1:],
        }
    return json.loads(completed.stdout.strip().splitlines()[-1])


GROUPS = {
    "twfe": ["panelols", "pyfixest"],
    "att_gt": ["csdid"],
    "wild_bootstrap": [],
    "heldout_twfe": ["heldout_pyfixest"],
    "heldout_att_gt": ["heldout_moderndid"],
}
HELDOUT = ["heldout_twfe", "heldout_att_gt"]
OURS = ["synth", "validate", "quarterly", "panel", "twfe", "att_gt", "wild_bootstrap"]


# The whole pipeline of the target: data layer and the two estimators.
PIPELINE = ["synth", "validate", "quarterly", "panel", "twfe", "att_gt"]


def pipeline_row(rows: list[dict], size: int) -> dict:
    """Sum of the pipeline steps' seconds and the largest of their peaks at ``size``."""
    mine = [r for r in rows if r["size"] == size and r["step"] in PIPELINE]
    complete = len(mine) == len(PIPELINE) and all(r["seconds"] is not None for r in mine)
    return {
        "step": "pipeline (" + " + ".join(PIPELINE) + ")",
        "size": size,
        "seconds": round(sum(r["seconds"] for r in mine), 3) if complete else None,
        "cpu_seconds": round(sum(r.get("cpu_seconds") or 0 for r in mine), 3) if complete else None,
        "peak_gib": max(r["peak_gib"] for r in mine) if complete else None,
        "estimate": None,
        **({} if complete else {"error": "a step failed"}),
    }


def run_heldout(rows: list[dict]) -> None:
    """Ours against the fastest peers on the held-out-style panel (written once)."""
    from analysis.config import load_contract

    path = heldout_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        heldout_panel(load_contract().seed).to_parquet(path, index=False)
    for step in HELDOUT:
        for name in [step, *GROUPS[step]]:
            row = _measure(name, path.parent, HELDOUT_UNITS)
            rows.append(row)
            print(json.dumps(row), flush=True)


def run_suite(sizes, out: Path, with_report: bool, peers: bool = True) -> list[dict]:
    rows = []
    slow_peers: set[str] = set()
    warm_up()
    if peers:
        run_heldout(rows)
    for size in sizes:
        data_dir = BUILD_DIR / "bench" / f"extract-{size}"
        for step in OURS:
            row = _measure(step, data_dir, size)
            rows.append(row)
            print(json.dumps(row), flush=True)
            for peer in GROUPS.get(step, []) if peers else []:
                if peer in slow_peers:
                    rows.append(
                        {
                            "step": peer,
                            "size": size,
                            "seconds": None,
                            "peak_gib": None,
                            "estimate": None,
                            "error": f"skipped: over {PEER_BUDGET} s at a smaller size",
                        }
                    )
                    continue
                peer_row = _measure(peer, data_dir, size)
                rows.append(peer_row)
                print(json.dumps(peer_row), flush=True)
                if peer_row["seconds"] is None or peer_row["seconds"] > PEER_BUDGET:
                    slow_peers.add(peer)
        rows.append(pipeline_row(rows, size))
        print(json.dumps(rows[-1]), flush=True)
    if with_report:
        start = time.perf_counter()
        subprocess.run(
            ["make", "-j2", "report", "REPORTS=build/bench/reports", "RESULTS=build/bench/results"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        rows.append(
            {
                "step": "make report (default data)",
                "size": 0,
                "seconds": round(time.perf_counter() - start, 1),
                "peak_gib": None,
                "estimate": None,
            }
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return rows


def table(rows: list[dict]) -> str:
    """Markdown table with each row's ratio to the fastest peer of its group."""
    lines = [
        "| step | comparison persons | seconds | CPU seconds | peak GiB | estimate | ratio to fastest peer |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    peers_of = {peer: ours for ours, peers in GROUPS.items() for peer in peers}
    for row in rows:
        group = row["step"] if row["step"] in GROUPS else peers_of.get(row["step"])
        ratio = ""
        if group and row["seconds"]:
            peer_times = [
                r["seconds"]
                for r in rows
                if r["size"] == row["size"] and r["step"] in GROUPS.get(group, []) and r["seconds"]
            ]
            if peer_times:
                ratio = f"{row['seconds'] / min(peer_times):.2f}"
        estimate = "" if row.get("estimate") is None else f"{row['estimate']:.6f}"
        seconds = row["seconds"] if row["seconds"] is not None else (row.get("error") or "failed")
        lines.append(
            f"| {row['step']} | {row['size']:,} | {seconds} | {row.get('cpu_seconds') or ''} | {row['peak_gib'] if row['peak_gib'] is not None else ''} | {estimate} | {ratio} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.pipeline.bench", description="benchmark suite"
    )
    sub = parser.add_subparsers(dest="command")
    step = sub.add_parser("step", help="run one measured step (used by the suite)")
    step.add_argument("name")
    step.add_argument("data_dir")
    step.add_argument("size", type=int)
    parser.add_argument("--out", default=str(BUILD_DIR / "bench.json"))
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in SIZES),
        help="comma-separated comparison-pool sizes",
    )
    parser.add_argument("--no-report", action="store_true", help="skip timing `make report`")
    parser.add_argument("--no-peers", action="store_true", help="run only our steps, no peers")
    args = parser.parse_args(argv)
    if args.command == "step":
        # A peer that needs more than the limit fails with MemoryError instead of
        # bringing the machine into swap or the out-of-memory killer.
        limit = MEMORY_LIMIT_GIB << 30
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            print(json.dumps(run_step(args.name, Path(args.data_dir), args.size)))
        except MemoryError:
            print(f"out of memory (limit {MEMORY_LIMIT_GIB} GiB)", file=sys.stderr)
            return 1
        return 0
    sizes = [int(s) for s in args.sizes.replace(" ", ",").split(",") if s]
    rows = run_suite(sizes, Path(args.out), not args.no_report, not args.no_peers)
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
