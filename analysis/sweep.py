"""``make sweep``: every report built end to end for many valid programmes from the generator.

"Any valid extract must report" (docs/evaluation.md): a programme of another size,
a comparison pool of another ratio, an enrolment shortfall, a timeline declared a
few years later or earlier, or a housing area in which nobody enrols are all
valid, and ``make report`` must build every report for each of them. An estimate
such a programme does not allow (a cohort without comparison units, separation in
a small cohort's propensity score) is reported in words as not estimable
(:class:`analysis.did.checks.NotEstimated`), never a stopped build.

``python -m analysis.sweep`` draws ``--programmes`` programmes (default 30) from
its seed (the contract's, unless ``--seed``): 60 to 400 planned intervention
households, 1 to 20 comparison households per intervention household, an
enrolment shortfall of 0 to 50 %, a timeline shifted by -1 to +2 whole years (the
contract and the generator's last data quarter shifted together, written to
files of their own), and zero, one or two of the three housing areas empty. For
each it generates the extract with the shifted contract, and runs ``make report``
on it (``CONTRACT=`` the shifted contract, a settlement record of its own, one language; the quarterly report of the
intervention's first quarter, or with ``--all-quarters`` those up to the default
quarter shifted the same way, and all three evaluation reports) into
``build/sweep/<n>/``, and records
whether the build ended, its wall time and how many robustness checks were not
estimable. The table goes to ``build/sweep/sweep.md`` (docs/benchmarks.md shows a
run); the exit status is non-zero when any build failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from analysis import paths, quarters
from analysis.config import load_contract
from analysis.pipeline.build import environment_stamp
from analysis.reports.kinds import load_kind

SWEEP_DIR = paths.BUILD_DIR / "sweep"
QUARTER = re.compile(r"^\d{4}Q[1-4]$")
DATE = re.compile(r"^(\d{4})(-\d{2}-\d{2})$")
MAKE_VARIABLES = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")


def shift_years(value, years: int):
    """``value`` (a configuration tree) with every quarter and ISO date moved by ``years``."""
    if isinstance(value, dict):
        return {key: shift_years(item, years) for key, item in value.items()}
    if isinstance(value, list):
        return [shift_years(item, years) for item in value]
    if isinstance(value, str) and QUARTER.match(value):
        return quarters.shift(value, 4 * years)
    if isinstance(value, str) and DATE.match(value):
        year, rest = DATE.match(value).groups()
        return f"{int(year) + years}{rest}"
    return value


def programmes(count: int, seed: int) -> list[dict]:
    """``count`` programme designs drawn from ``seed`` (the same seed, the same designs)."""
    rng = np.random.default_rng([seed, 32])
    areas = ("HOU", "ELL", "KAR")
    designs = []
    for number in range(count):
        empty = int(rng.choice([0, 0, 1, 2]))
        designs.append(
            {
                "programme": number + 1,
                "households": int(rng.integers(60, 401)),
                # Log-uniform: as many small pools as large ones.
                "comparison_ratio": round(float(np.exp(rng.uniform(0, np.log(20)))), 1),
                "shortfall": round(float(rng.choice([0.0, 0.0, 0.1, 0.25, 0.5])), 2),
                "shift_years": int(rng.choice([-1, 0, 0, 1, 2])),
                "empty_areas": sorted(str(a) for a in rng.choice(areas, empty, replace=False)),
            }
        )
    return designs


def write_configuration(
    design: dict, folder: Path, all_quarters: bool = False
) -> tuple[Path, Path, str]:
    """The shifted contract and generator files of ``design`` in ``folder``, and the last report quarter.

    The last quarterly report is the intervention's first quarter, or with
    ``all_quarters`` the default quarter of ``params/quarterly.yaml`` (shifted).
    """
    years = design["shift_years"]
    contract = yaml.safe_load(paths.CONTRACT_FILE.read_text(encoding="utf-8"))
    contract["timeline"] = shift_years(contract["timeline"], years)
    contract["programme"] = shift_years(contract["programme"], years)
    synthetic = yaml.safe_load(paths.SYNTHETIC_CONFIG_FILE.read_text(encoding="utf-8"))
    synthetic["data_end"] = quarters.shift(synthetic["data_end"], 4 * years)
    synthetic["intervention_households"] = design["households"]
    synthetic["comparison_ratio"] = design["comparison_ratio"]
    synthetic["enrolment_shortfall"] = design["shortfall"]
    synthetic["area_shares"] = {
        area: (0.0 if area in design["empty_areas"] else share)
        for area, share in synthetic["area_shares"].items()
    }
    folder.mkdir(parents=True, exist_ok=True)
    contract_file, synthetic_file = folder / "contract.yaml", folder / "synthetic.yaml"
    contract_file.write_text(yaml.safe_dump(contract, allow_unicode=True), encoding="utf-8")
    synthetic_file.write_text(yaml.safe_dump(synthetic, allow_unicode=True), encoding="utf-8")
    if all_quarters:
        as_of = load_kind("quarterly").default_as_of(load_contract(contract_file))
    else:
        as_of = contract["timeline"]["intervention"]["start"]
    return contract_file, synthetic_file, as_of


def not_estimable_checks(results: Path) -> int:
    """How many robustness checks of the evaluation stages in ``results`` are not estimable."""
    # The stage folders (not the estimates folders, which hold the same checks).
    return sum(
        (folder / "objects.json").read_text(encoding="utf-8").count(':NotEstimated"')
        for folder in results.glob("*/*")
        if folder.parent.name != "estimates" and (folder / "objects.json").exists()
    )


def run(design: dict, folder: Path, langs: str, python: str, all_quarters: bool = False) -> dict:
    """Generate the programme's extract and build every report; the row of the table."""
    if folder.exists():
        shutil.rmtree(folder)
    contract_file, synthetic_file, as_of = write_configuration(design, folder, all_quarters)
    data = folder / "extract"
    started = time.perf_counter()
    log = folder / "build.log"
    with open(log, "w", encoding="utf-8") as out:
        generated = subprocess.run(
            [python, "-m", "analysis", "--config", str(contract_file), "synth",
             "--out", str(data), "--synthetic-config", str(synthetic_file)],
            cwd=paths.ROOT, stdout=out, stderr=subprocess.STDOUT, check=False,
        )  # fmt: skip
        built = generated
        if generated.returncode == 0:
            # The generated rules depend on the contract file: written anew for each design.
            (paths.BUILD_DIR / "targets.args").unlink(missing_ok=True)
            # A make of its own (all cores), also when the sweep runs under `make sweep`.
            env = {k: v for k, v in os.environ.items() if k not in MAKE_VARIABLES}
            built = subprocess.run(
                ["make", "--no-print-directory", "report", f"PY={python}",
                 *(f"ENV_STAMP={stamp}" for stamp in environment_stamp()), f"DATA={data}",
                 f"CONTRACT={contract_file}", f"RESULTS={folder / 'results'}",
                 f"REPORTS={folder / 'reports'}", f"LEDGER={folder / 'settlement.sqlite'}",
                 f"AS_OF={as_of}", f"LANGS={langs}",
                 f"QUARTERLY_LANGS={langs.split()[0]}"],
                cwd=paths.ROOT, stdout=out, stderr=subprocess.STDOUT, check=False, env=env,
            )  # fmt: skip
    seconds = time.perf_counter() - started
    manifest = data / "manifest.json"
    enrolled = (
        json.loads(manifest.read_text("utf-8"))["intervention_households"]
        if manifest.exists()
        else None
    )
    reports = sorted((folder / "reports").rglob("*.pdf")) if (folder / "reports").exists() else []
    lines = log.read_text(encoding="utf-8").splitlines()
    errors = [line for line in lines if "error" in line.lower()]
    return {
        **design,
        "empty_areas": ", ".join(design["empty_areas"]) or "-",
        "enrolled": enrolled,
        "as_of": as_of,
        "pdf_reports": len(reports),
        "not_estimable": not_estimable_checks(folder / "results"),
        "seconds": round(seconds),
        "ok": built.returncode == 0,
        "error": (errors[0] if errors else "")[:160] if built.returncode else "",
    }


def markdown(rows: list[dict]) -> str:
    """The table of a sweep as Markdown."""
    columns = list(rows[0])
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        out.append("| " + " | ".join(str(row[c]) for c in columns) + " |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.sweep", description=__doc__)
    parser.add_argument("--programmes", type=int, default=30, help="how many (default 30)")
    parser.add_argument("--seed", type=int, default=None, help="default: the contract's seed")
    parser.add_argument("--langs", default="da", help="languages of the evaluation reports")
    parser.add_argument("--only", type=int, nargs="*", help="run only these programme numbers")
    parser.add_argument("--keep", action="store_true", help="keep each programme's folder")
    parser.add_argument(
        "--all-quarters",
        action="store_true",
        help="quarterly reports up to the default quarter (default: the first quarter only)",
    )
    args = parser.parse_args(argv)

    seed = load_contract().seed if args.seed is None else args.seed
    rows = []
    for design in programmes(args.programmes, seed):
        if args.only and design["programme"] not in args.only:
            continue
        folder = SWEEP_DIR / str(design["programme"])
        row = run(design, folder, args.langs, sys.executable, args.all_quarters)
        rows.append(row)
        print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        if row["ok"] and not args.keep:
            shutil.rmtree(folder)
    table = markdown(rows)
    (SWEEP_DIR / "sweep.md").write_text(table, encoding="utf-8")
    print(table)
    failed = [row["programme"] for row in rows if not row["ok"]]
    print(
        f"{len(rows) - len(failed)} of {len(rows)} programmes built every report"
        + (f"; failed: {failed}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
