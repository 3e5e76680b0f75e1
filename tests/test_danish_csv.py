"""Every report from the synthetic extract written as Danish CSV, with the numbers of the Parquet extract.

The data contract promises to read Danish exports (``;`` separators, decimal comma,
Latin-1): anything ``validate`` accepts, every later step runs. The estimation
panels of a CSV extract are built by pandas, those of a Parquet one by DuckDB
(:func:`analysis.effects.panels.estimation_panels`); the estimates must be the same.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from analysis import paths, quarters
from analysis.config import load_contract
from analysis.data.validate import load_extract
from analysis.pipeline.build import environment_stamp
from analysis.pipeline.cli import main
from analysis.reports import stage
from analysis.reports.kinds import load_kind


def _programme(tmp_path, name: str, fmt: str, households: int = 60, ratio: float = 2.0):
    """A small synthetic programme in ``fmt`` (the default generator otherwise)."""
    config = yaml.safe_load(paths.SYNTHETIC_CONFIG_FILE.read_text(encoding="utf-8"))
    config.update(intervention_households=households, comparison_ratio=ratio)
    synthetic = tmp_path / f"{name}.yaml"
    synthetic.write_text(yaml.safe_dump(config), encoding="utf-8")
    out = tmp_path / name
    args = ["synth", "--out", str(out), "--synthetic-config", str(synthetic), "--format", fmt]
    assert main(args) == 0
    return out


def test_synth_writes_a_danish_csv_extract_that_validates(tmp_path, contract):
    folder = _programme(tmp_path, "dk", "danish-csv")
    assert not list(folder.glob("*.parquet"))
    raw = (folder / "school_absence.csv").read_bytes()
    header, first = raw.splitlines()[:2]
    assert header.count(b";") == 5 and b"," in raw
    raw.decode("latin-1")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "danish-csv"
    extract = load_extract(folder, contract)
    parquet = load_extract(_programme(tmp_path, "pq", "parquet"), contract)
    for name, frame in parquet.tables.items():
        pd.testing.assert_frame_equal(extract[name], frame, check_dtype=False, obj=name)


def test_the_estimates_of_a_danish_csv_extract_are_those_of_parquet(tmp_path, contract):
    """The step that stopped on a CSV extract ('NoneType' object has no attribute 'data')."""
    config = paths.CONTRACT_FILE
    kind = load_kind("midterm")
    kind.extra["bootstrap_reps"] = 0  # the analytic errors: the comparison needs no resampling
    as_of = kind.as_of(contract, None)
    stored = {}
    for fmt in ("danish-csv", "parquet"):
        data = _programme(tmp_path, fmt, fmt)
        out = stage.write_estimates(kind, as_of, data, config, tmp_path / f"{fmt}-estimates")
        stored[fmt] = stage.load_estimates(out)
    csv, parquet = stored["danish-csv"], stored["parquet"]
    assert set(csv.estimates) == set(parquet.estimates)
    for outcome, est in parquet.estimates.items():
        other = csv.estimates[outcome]
        pd.testing.assert_frame_equal(other.attgt.table, est.attgt.table, obj=outcome)
        assert other.twfe.att == est.twfe.att
        assert other.simple.overall_att == est.simple.overall_att
        assert other.n_persons == est.n_persons
    # The area-level test (where the small programme allows it) sees the same data.
    assert csv.areas.keys() == parquet.areas.keys()
    for outcome, area in parquet.areas.items():
        numbers = {k: v for k, v in area.items() if isinstance(v, int | float)}
        assert {k: csv.areas[outcome][k] for k in numbers} == numbers


@pytest.mark.slow
def test_every_report_from_danish_csv_has_the_numbers_of_parquet(tmp_path):
    """``make report`` end to end on both formats; every results file's numbers compared."""
    from analysis.pipeline.verify import compare

    contract = load_contract()
    builds = {}
    for fmt in ("parquet", "danish-csv"):
        data = _programme(tmp_path, fmt, fmt, households=120, ratio=2.5)
        load_extract(data, contract)
        builds[fmt] = tmp_path / f"{fmt}-reports"
        subprocess.run(
            ["make", "--no-print-directory", "report", f"DATA={data}",
             f"RESULTS={tmp_path / (fmt + '-results')}", f"REPORTS={builds[fmt]}",
             f"LEDGER={tmp_path / (fmt + '-settlement.sqlite')}",
             "LANGS=da en", f"PY={sys.executable}",
             *(f"ENV_STAMP={stamp}" for stamp in environment_stamp())],
            cwd=paths.ROOT, check=True, capture_output=True,
        )  # fmt: skip
    table = compare(builds["parquet"], builds["danish-csv"])
    assert len(table) > 1000
    assert table["ok"].all(), table.loc[~table["ok"]].to_string()
    pdfs = {
        fmt: sorted(p.relative_to(root) for p in root.rglob("*.pdf"))
        for fmt, root in builds.items()
    }
    # One quarterly report per quarter of the default chain, each evaluation in two languages.
    chain = quarters.span(
        contract.timeline.intervention.start, load_kind("quarterly").default_as_of(contract)
    )
    assert pdfs["parquet"] == pdfs["danish-csv"] and len(pdfs["parquet"]) == len(chain) + 3 * 2
