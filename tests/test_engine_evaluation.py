"""The evaluation builds its estimation panels with DuckDB, equal to the pandas panels.

:func:`analysis.data.engine.evaluation_panels` is what
:func:`analysis.reports.evaluation.prepare` estimates on; on a Parquet extract it
must give exactly :func:`analysis.effects.panels.outcome_panel` of the cut tables,
and on an extract it cannot read as is (CSV) it must leave the panels to pandas.
"""

from __future__ import annotations

import pandas as pd

from analysis.data import engine
from analysis.data.asof import as_of
from analysis.data.validate import load_extract
from analysis.effects.context import load_context
from analysis.effects.panels import OUTCOMES, outcome_panel
from tests.test_data import _write


def test_engine_panels_equal_the_pandas_panels_at_each_report(extract, contract):
    for cutoff in ("2025Q2", "2027Q1", "2028Q3"):  # midterm, preliminary final, final
        panels = engine.evaluation_panels(extract, cutoff, contract, OUTCOMES)
        assert panels is not None and set(panels) == set(OUTCOMES)
        data = as_of(extract.tables, cutoff, contract)
        for outcome in OUTCOMES:
            pd.testing.assert_frame_equal(
                outcome_panel(data, outcome), panels[outcome], obj=f"{cutoff} {outcome}"
            )


def test_the_evaluation_context_carries_the_validated_extract(synthetic_dir, contract):
    context = load_context(str(synthetic_dir), "2025Q2", contract)
    assert context.extract.directory == synthetic_dir
    assert context.extract.checksums == context.checksums


def test_a_csv_extract_leaves_the_panels_to_pandas(tmp_path, small_tables, contract):
    extract = load_extract(_write(tmp_path / "csv", small_tables), contract)
    assert engine.evaluation_panels(extract, "2027Q1", contract, OUTCOMES) is None
