"""Executing a jupytext percent notebook: in this process, or with papermill in a kernel.

A report used to start a Jupyter kernel (a second Python process) that imported the
scientific stack again: about 4 seconds per report before its first cell ran.
:func:`execute` runs the cells in an IPython shell inside the running process
instead (the packages the renderer imported are already there) and records the
outputs as a kernel would: display data with their metadata, streams, and the
parameters in a cell tagged ``injected-parameters`` after the ``parameters`` cell,
as papermill does. Set ``ANALYSIS_NOTEBOOK_KERNEL=1`` to run papermill with a
kernel instead (the way JupyterLab runs the notebooks).

Before either runs, the Markdown cells are put in the report's language (the
``lang`` parameter is a Quarto profile, and so is ``profile`` where a notebook
serves several reports) and their inline values are evaluated
where the cells stand (:mod:`analysis.render.inline`).

papermill cannot run a percent ``.py`` file directly (papermill issue #365), so the
notebook is converted to ``.ipynb`` with a python3 kernel first. A failing cell
stops the build with the notebook, the cell and the traceback; the executed
notebook is kept for debugging.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import jupytext
import nbformat
import papermill

from analysis.render import inline


class NotebookFailed(RuntimeError):
    """A cell of a report notebook raised."""


def profiles(parameters: dict) -> list[str]:
    """The Quarto profiles a notebook runs with: its language, and its ``profile`` if given."""
    return [p for p in (parameters.get("lang", "da"), parameters.get("profile")) if p]


def to_ipynb(source: Path, profile=None) -> nbformat.NotebookNode:
    """Read a percent-format notebook and give it the python3 kernel.

    With ``profile`` (a report language), the Markdown cells are resolved to it and
    get their cells of inline values (:func:`analysis.render.inline.prepare`).
    """
    notebook = jupytext.read(source, fmt="py:percent")
    if profile is not None:
        inline.prepare(notebook, profile, Path(source).parent)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata.setdefault("language_info", {"name": "python"})
    return notebook


def execute(source: Path, executed: Path, parameters: dict, cwd: Path) -> nbformat.NotebookNode:
    """Execute ``source`` with ``parameters``; the result is kept at ``executed``."""
    if os.environ.get("ANALYSIS_NOTEBOOK_KERNEL"):
        return execute_in_kernel(source, executed, parameters, cwd)
    return execute_in_process(source, executed, parameters, cwd)


def _shell():
    """The process's IPython shell, with an empty namespace for the next notebook.

    A shell that ran a notebook before is reset here, before the next one, not after
    each: a process that renders one report (a step of ``make report``) then
    never pays a reset (two full garbage collections).
    """
    # IPython is slow to import; only running a notebook needs it.
    from IPython.core.interactiveshell import InteractiveShell

    fresh = not InteractiveShell.initialized()
    shell = InteractiveShell.instance()
    if not fresh:
        shell.reset(new_session=False)
    return shell


def _outputs(captured, result) -> list:
    outputs = []
    for name, text in (("stdout", captured.stdout), ("stderr", captured.stderr)):
        if text:
            outputs.append(nbformat.v4.new_output("stream", name=name, text=text))
    for output in captured.outputs:
        outputs.append(
            nbformat.v4.new_output(
                "display_data", data=dict(output.data), metadata=dict(output.metadata or {})
            )
        )
    return outputs


def execute_in_process(
    source: Path, executed: Path, parameters: dict, cwd: Path
) -> nbformat.NotebookNode:
    """Run the cells in this process's IPython shell (no kernel); see the module docstring."""
    # IPython is slow to import; only running a notebook needs it.
    from IPython.utils.capture import capture_output

    executed.parent.mkdir(parents=True, exist_ok=True)
    notebook = to_ipynb(source, profiles(parameters))
    injected = nbformat.v4.new_code_cell(
        "\n".join(f"{name} = {value!r}" for name, value in parameters.items()),
        metadata={"tags": ["injected-parameters"]},
    )
    at = next(
        (
            i + 1
            for i, cell in enumerate(notebook.cells)
            if "parameters" in cell.get("metadata", {}).get("tags", [])
        ),
        0,
    )
    notebook.cells.insert(at, injected)
    shell = _shell()
    before = Path.cwd()
    os.chdir(cwd)
    try:
        count = 0
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            count += 1
            with capture_output() as captured:
                result = shell.run_cell(cell.source, store_history=False)
            cell.execution_count = count
            cell.outputs = _outputs(captured, result)
            error = result.error_before_exec or result.error_in_exec
            if isinstance(error, SystemExit | KeyboardInterrupt):
                # A signal (SIGTERM raises SystemExit, analysis.pipeline.cli) stops the build, as
                # it would stop a kernel: no report is placed.
                raise error
            if error is not None:
                cell.outputs.append(
                    nbformat.v4.new_output(
                        "error",
                        ename=type(error).__name__,
                        evalue=str(error),
                        traceback=traceback.format_exception(error),
                    )
                )
                nbformat.write(notebook, executed)
                raise NotebookFailed(
                    f"{source.name}: cell {count} raised {type(error).__name__}: {error}\n"
                    f"executed notebook kept at {executed}\n"
                    + "".join(traceback.format_exception(error))
                )
    finally:
        os.chdir(before)
    nbformat.write(inline.resolve(notebook), executed)
    return nbformat.read(executed, as_version=4)


def execute_in_kernel(
    source: Path, executed: Path, parameters: dict, cwd: Path
) -> nbformat.NotebookNode:
    """Execute ``source`` with papermill in a new python3 kernel."""
    executed.parent.mkdir(parents=True, exist_ok=True)
    unexecuted = executed.with_suffix(".input.ipynb")
    nbformat.write(to_ipynb(source, profiles(parameters)), unexecuted)
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
    notebook = inline.resolve(nbformat.read(executed, as_version=4))
    nbformat.write(notebook, executed)
    return notebook
