"""``make lab``: JupyterLab opens the report notebooks as notebooks.

The fast tests need only the project environment (jupytext is in it): the
notebooks are paired, their parameters cell is tagged, the command line serves
``notebooks/`` with kernels in the repository root. The slow test starts a real,
headless server and needs the ``lab`` extra (``make lab`` installs it); without it
the test is skipped with that message.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jupytext
import pytest
from jupytext.config import load_jupytext_configuration_file

from analysis.paths import NOTEBOOKS_DIR, ROOT
from analysis.pipeline import lab

NOTEBOOKS = sorted(p.name for p in NOTEBOOKS_DIR.glob("*.py"))


def test_there_are_report_notebooks():
    assert {"quarterly_report.py", "midterm.py", "final.py"} <= set(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_parameters_cell_is_tagged(name):
    notebook = jupytext.read(NOTEBOOKS_DIR / name, fmt="py:percent")
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    assert "data_dir" in code[0].source  # relative paths: kernels start in the repository root


def test_notebooks_are_paired_with_ipynb():
    config = load_jupytext_configuration_file(str(NOTEBOOKS_DIR / "jupytext.toml"))
    assert config.formats in ("ipynb,py:percent", ["ipynb,py:percent"])
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "notebooks/midterm.ipynb"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, "paired .ipynb files must be git-ignored"


def test_command_serves_the_notebooks_with_kernels_in_the_root(tmp_path):
    settings = lab.write_settings(tmp_path / "settings")
    args = lab.command(settings, port=1234, token="t", browser=False)
    assert args[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={NOTEBOOKS_DIR}" in args
    assert f"--MappingKernelManager.root_dir={ROOT}" in args
    assert "--no-browser" in args
    overrides = json.loads((settings / "overrides.json").read_text(encoding="utf-8"))
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers == {"python": "Jupytext Notebook"}


@pytest.mark.skipif(lab.lab_installed(), reason="the lab extra is installed")
def test_without_the_extra_the_command_says_how_to_install_it():
    completed = subprocess.run(
        [sys.executable, "-m", "analysis.pipeline.lab", "--skip-results", "--no-browser"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert completed.returncode == 1
    assert "requirements-lab.lock" in completed.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, data: bytes | None = None) -> dict:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _descendants(pid: int) -> list[int]:
    """Processes started by ``pid``, directly or not (Linux /proc)."""
    parent = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, up in parent.items() if up in frontier]
        found += children
        frontier = children
    return found


@pytest.mark.slow
def test_lab_starts_headless_and_opens_the_notebooks_as_notebooks():
    if not lab.lab_installed():
        pytest.skip("JupyterLab is not installed: `make lab` installs the lab extra")
    port, token = _free_port(), "test-token"
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "analysis.pipeline.lab", "--skip-results", "--no-browser"]
    command += ["--port", str(port), "--token", token]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers run tests as root
    server = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                listing = _get(f"{base}/api/contents/?token={token}")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start: {server.stderr.read()[-2000:]}")
                time.sleep(0.5)
        kinds = {item["name"]: item["type"] for item in listing["content"]}
        for name in NOTEBOOKS:
            assert kinds.get(name) == "notebook", name
        model = _get(f"{base}/api/contents/midterm.py?type=notebook&content=1&token={token}")
        first_code = next(c for c in model["content"]["cells"] if c["cell_type"] == "code")
        assert first_code["metadata"]["tags"] == ["parameters"]
        settings = _get(
            f"{base}/lab/api/settings/@jupyterlab/docmanager-extension:plugin?token={token}"
        )
        viewers = settings["schema"]["properties"]["defaultViewers"]["default"]
        assert viewers["python"] == "Jupytext Notebook"
        session = _get(
            f"{base}/api/sessions?token={token}",
            json.dumps(
                {
                    "path": "midterm.py",
                    "type": "notebook",
                    "name": "midterm.py",
                    "kernel": {"name": "python3"},
                }
            ).encode(),
        )
        assert session["kernel"]["name"] == "python3"
        if Path("/proc").exists():
            # The kernel runs in the repository root, where the parameters' paths resolve.
            deadline = time.monotonic() + 30
            kernels: list[Path] = []
            while not kernels and time.monotonic() < deadline:
                kernels = [
                    Path(os.readlink(f"/proc/{pid}/cwd"))
                    for pid in _descendants(server.pid)
                    if b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes()
                ]
                time.sleep(0.5)
            assert kernels and all(k == ROOT for k in kernels)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
