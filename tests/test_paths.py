"""A report notebook finds its files wherever Jupyter starts its kernel.

Plain ``jupyter lab``, ``jupyter nbconvert --execute`` and papermill start the
kernel in the notebook's folder (``notebooks/``); the reports and ``make lab`` start
it in the repository root. The parameters' relative paths are the root's in both
(:func:`analysis.paths.from_root`).
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import jupytext
import nbformat
import papermill
import pytest

from analysis.paths import CONTRACT_FILE, NOTEBOOKS_DIR, PARAMS_DIR, ROOT, from_root
from analysis.render import execute

NOTEBOOKS = sorted(p for p in NOTEBOOKS_DIR.glob("*.py") if not p.name.startswith("_"))


def test_relative_paths_are_the_roots_wherever_the_process_runs(monkeypatch, tmp_path):
    monkeypatch.chdir(NOTEBOOKS_DIR)
    contract, absolute, params = from_root("config/contract.yaml", tmp_path, Path("params"))
    assert contract == CONTRACT_FILE and contract.is_file()
    assert absolute == tmp_path
    assert params == PARAMS_DIR
    assert from_root() == ()


def _path_parameters(cells) -> tuple[int, set[str]]:
    """The parameters cell's index and its parameters that hold a path (a string with ``/``)."""
    index = next(i for i, cell in enumerate(cells) if "parameters" in cell.metadata.get("tags", []))
    names = set()
    for node in ast.parse(cells[index].source).body:
        value = getattr(node, "value", None)
        if isinstance(value, ast.Constant) and isinstance(value.value, str) and "/" in value.value:
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return index, names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_every_path_parameter_is_resolved_from_the_root_before_it_is_used(notebook):
    cells = jupytext.read(notebook).cells
    index, paths = _path_parameters(cells)
    assert {"config", "results_path"} <= paths
    resolved: set[str] = set()
    for cell in cells[index + 1 :]:
        if cell.cell_type != "code":
            continue
        for statement in ast.parse(cell.source).body:
            call = getattr(statement, "value", None)
            if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "from_root":
                given = [a.id for a in call.args if isinstance(a, ast.Name)]
                (target,) = statement.targets
                assigned = [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
                assert given == assigned, f"{notebook.name}: from_root assigns {assigned}"
                resolved |= set(given)
                continue
            used = {n.id for n in ast.walk(statement) if isinstance(n, ast.Name)}
            early = used & (paths - resolved)
            assert not early, f"{notebook.name}: {sorted(early)} used before from_root"


@pytest.mark.slow
def test_the_quarterly_report_runs_where_jupyter_starts_its_kernel(tmp_path, synthetic_dir):
    """papermill in ``notebooks/``, as Jupyter runs it, with paths relative to the root."""
    from analysis.config import load_contract
    from analysis.payments.quarterly import write_quarterly_results
    from analysis.sdc import quarterly as published_cells

    contract = load_contract()
    first = contract.timeline.intervention.start
    quarterly = tmp_path / "quarterly"
    write_quarterly_results(
        synthetic_dir,
        first,
        quarterly / first,
        contract,
        lambda folder: published_cells.publish(quarterly, first, contract, folder),
    )
    numbers = tmp_path / "numbers.json"
    source = tmp_path / "quarterly_report.ipynb"
    nbformat.write(execute.to_ipynb(NOTEBOOKS_DIR / "quarterly_report.py"), source)
    # Relative to the root, so from notebooks/ they name other (missing) files; the
    # contract stays the parameters cell's own "config/contract.yaml".
    parameters = {
        "as_of": first,
        "quarterly_dir": os.path.relpath(quarterly, ROOT),
        "results_path": os.path.relpath(numbers, ROOT),
    }
    assert not (NOTEBOOKS_DIR / parameters["quarterly_dir"]).exists()
    papermill.execute_notebook(
        str(source),
        str(tmp_path / "executed.ipynb"),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(NOTEBOOKS_DIR),
        progress_bar=False,
    )
    assert numbers.is_file()
    assert '"numbers"' in numbers.read_text(encoding="utf-8")
