"""Executing a jupytext percent notebook with papermill.

papermill cannot run a percent ``.py`` file directly (papermill issue #365), so the
notebook is converted to ``.ipynb`` with a python3 kernel first. A failing cell
stops the build with the notebook, the cell and the traceback; the executed
notebook is kept for debugging.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import papermill


class NotebookFailed(RuntimeError):
    """A cell of a report notebook raised."""


def to_ipynb(source: Path) -> nbformat.NotebookNode:
    """Read a percent-format notebook and give it the python3 kernel."""
    notebook = jupytext.read(source, fmt="py:percent")
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata.setdefault("language_info", {"name": "python"})
    return notebook


def execute(source: Path, executed: Path, parameters: dict, cwd: Path) -> nbformat.NotebookNode:
    """Execute ``source`` with ``parameters``; the result is kept at ``executed``."""
    executed.parent.mkdir(parents=True, exist_ok=True)
    unexecuted = executed.with_suffix(".input.ipynb")
    nbformat.write(to_ipynb(source), unexecuted)
    try:
        papermill.execute_notebook(
            str(unexecuted),
            str(executed),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(cwd),
            progress_bar=False,
            log_output=False,
        )
    except papermill.PapermillExecutionError as error:
        raise NotebookFailed(
            f"{source.name}: cell {error.exec_count} raised {error.ename}: {error.evalue}\n"
            f"executed notebook kept at {executed}\n" + "".join(error.traceback)
        ) from None
    finally:
        unexecuted.unlink(missing_ok=True)
    return nbformat.read(executed, as_version=4)
