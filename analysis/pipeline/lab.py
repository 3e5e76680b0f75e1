"""``python -m analysis.pipeline.lab`` (``make lab``): JupyterLab on the report notebooks.

The report notebooks are jupytext percent ``.py`` files. This command brings the
extract and the quarterly results up to date (the same rules as ``python -m
analysis build results``), then starts JupyterLab so that:

* the file browser shows ``notebooks/`` and a double click opens a ``.py``
  notebook *as a notebook* (the "Jupytext Notebook" viewer is made the default for
  Python files through an ``overrides.json`` in ``build/lab/settings``; nothing is
  written to the user's own Jupyter settings);
* saving pairs it with an ``.ipynb`` beside it holding the outputs
  (``notebooks/jupytext.toml``; ``*.ipynb`` is git-ignored), the ``.py`` file
  staying the source of truth;
* kernels start in the repository root, so the parameters cell's relative paths
  (``data/synthetic``, ``data/results/quarterly``) are the ones the reports use.

JupyterLab is an optional extra (``pip install -e .[lab]``, pinned in
``requirements-lab.lock``); without it the command says how to install it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import signal
import subprocess
import sys
from pathlib import Path

from analysis.paths import BUILD_DIR, NOTEBOOKS_DIR, ROOT, SYNTHETIC_DIR
from analysis.pipeline.build import BuildError, build

# Open Python files with jupytext's notebook viewer instead of the text editor.
OVERRIDES = {
    "@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}}
}
INSTALL_HINT = (
    "JupyterLab is an optional extra: `make lab` installs it, or "
    "`python -m pip install -r requirements.lock -r requirements-dev.lock -r requirements-lab.lock` "
    "(conda: `pip install -r requirements-lab.lock` in the environment)"
)


def lab_installed() -> bool:
    """Whether JupyterLab and jupytext's server extension can be imported."""
    return all(importlib.util.find_spec(m) for m in ("jupyterlab", "jupyterlab_jupytext"))


def write_settings(settings_dir: Path = BUILD_DIR / "lab" / "settings") -> Path:
    """Write the lab's ``overrides.json``; return the settings folder."""
    settings_dir.mkdir(parents=True, exist_ok=True)
    (settings_dir / "overrides.json").write_text(
        json.dumps(OVERRIDES, indent=2) + "\n", encoding="utf-8"
    )
    return settings_dir


def command(
    settings_dir: Path,
    port: int | None = None,
    token: str | None = None,
    browser: bool = True,
) -> list[str]:
    """The JupyterLab command line: notebooks/ as root, kernels in the repository root."""
    args = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={NOTEBOOKS_DIR}",
        # Kernels start in the notebook's folder relative to this root: the notebooks
        # sit at the top of the served folder, so their kernels start in ROOT.
        f"--MappingKernelManager.root_dir={ROOT}",
        f"--LabApp.app_settings_dir={settings_dir}",
    ]
    if port is not None:
        args.append(f"--ServerApp.port={port}")
    if token is not None:
        args.append(f"--IdentityProvider.token={token}")
    if not browser:
        args.append("--no-browser")
    return args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.pipeline.lab",
        description=__doc__.splitlines()[0],
        epilog="Any other option is passed on to JupyterLab.",
    )
    parser.add_argument(
        "--data", default=str(SYNTHETIC_DIR), help="extract the results are built from"
    )
    parser.add_argument("--as-of", default=None, help="last quarter with results (YYYYQn)")
    parser.add_argument("--port", type=int, default=None, help="server port")
    parser.add_argument("--token", default=None, help="access token (default: a random one)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument(
        "--skip-results", action="store_true", help="start at once, without updating the results"
    )
    # Other options go to JupyterLab as they are (e.g. --allow-root in a container).
    args, passed_on = parser.parse_known_args(argv)
    if not lab_installed():
        print(f"error: {INSTALL_HINT}", file=sys.stderr)
        return 1
    if not args.skip_results:
        try:
            build(data=args.data, as_of=args.as_of, goal="results")
        except BuildError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    if Path(args.data).resolve() != SYNTHETIC_DIR.resolve():
        print(
            f"note: the notebooks' parameters cells read data/synthetic; set data_dir = "
            f"{str(args.data)!r} there to work on this extract"
        )
    lab = command(write_settings(), args.port, args.token, browser=not args.no_browser)
    process = subprocess.Popen(lab + passed_on, cwd=ROOT)
    # Stopping this command stops the server (and so its kernels) too.
    signal.signal(signal.SIGTERM, lambda signum, frame: process.terminate())
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue  # JupyterLab got the same Ctrl-C and shuts down by itself


if __name__ == "__main__":
    raise SystemExit(main())
