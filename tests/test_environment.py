"""The lock files, pyproject and environment.yml describe one environment.

What is tested here: every direct dependency (and every extra) is pinned exactly,
the runtime lock (``make report``) holds everything the package's dependencies
require and none of the test-only references, which the dev lock (``make test``)
adds on top; the lock files do not pin a package twice or differently, the supported Python
versions agree everywhere, and environment.yml asks conda for nothing but Python
and pip and lets pip install the lock and the project. What cannot be tested here
(no conda channel is reachable): that ``conda env create`` itself succeeds; its pip
step is the same ``pip install -r requirements.lock`` that ``make setup`` runs.
"""

import re
import sys
import tomllib

import yaml

from analysis.paths import ROOT

SUPPORTED = ("3.11", "3.12", "3.13")


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=\[ ;]", requirement.strip())[0]).lower()


def _pins(file: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / file).read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"{file}: not pinned exactly: {line}"
            assert _name(name) not in pins, f"{file}: {name} pinned twice"
            pins[_name(name)] = version
    return pins


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_every_direct_dependency_is_pinned():
    project = _project()
    pins = _pins("requirements.lock")
    for requirement in project["dependencies"]:
        assert _name(requirement) in pins, f"{_name(requirement)} is not in requirements.lock"
    dev = _pins("requirements-dev.lock")
    for requirement in project["optional-dependencies"]["dev"]:
        assert _name(requirement) in dev, f"{_name(requirement)} is not in requirements-dev.lock"


# The test-only references and tools; the reports import none of them.
TEST_ONLY = (
    "babel",
    "moderndid",
    "pyfixest",
    "cvxpy",
    "csdid",
    "wildboottest",
    "numba",
    "llvmlite",
    "polars",
    "pytest",
    "hypothesis",
    "ruff",
)


def test_the_runtime_lock_is_lean_and_the_dev_lock_adds_to_it():
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert set(runtime) & set(dev) == set(), "the dev lock repeats packages of the runtime lock"
    for name in TEST_ONLY:
        assert name not in runtime, f"{name} (test-only) is in the runtime lock"
        assert name in dev, f"{name} is not in requirements-dev.lock"


def _runtime_omits() -> set[str]:
    """The packages the Makefile leaves out of the runtime lock (``RUNTIME_OMITS``)."""
    line = re.search(r"^RUNTIME_OMITS := (.*)$", (ROOT / "Makefile").read_text(), re.M)
    return {_name(name) for name in line.group(1).split()}


def test_the_runtime_lock_leaves_out_only_what_the_kernel_imports_if_present():
    """jedi, parso and debugpy are named by IPython and ipykernel but imported only if
    installed; the dev lock pins them, and the runtime lock is installed with --no-deps."""
    omitted = _runtime_omits()
    assert omitted == {"jedi", "parso", "debugpy"}
    assert not omitted & set(_pins("requirements.lock"))
    assert omitted <= set(_pins("requirements-dev.lock"))
    makefile = (ROOT / "Makefile").read_text()
    assert "--no-deps -r requirements.lock" in makefile
    assert "$(foreach p,$(RUNTIME_OMITS),--exclude $(p))" in makefile


def test_the_runtime_lock_holds_what_the_dependencies_require():
    """The dependencies' own requirements (as installed here), followed through, are all in
    requirements.lock (`make report` installs it alone, without resolving), except what
    the Makefile's ``RUNTIME_OMITS`` leaves out on purpose."""
    from importlib import metadata

    from packaging.requirements import Requirement

    runtime = _pins("requirements.lock")
    omitted = _runtime_omits()
    todo = [Requirement(r) for r in _project()["dependencies"]]
    seen = set()
    while todo:
        requirement = todo.pop()
        key = (_name(requirement.name), tuple(sorted(requirement.extras)))
        if key in seen or key[0] in omitted:
            continue
        seen.add(key)
        assert key[0] in runtime, f"{key[0]} is required at run time but not in requirements.lock"
        for text in metadata.requires(requirement.name) or []:
            needed = Requirement(text)
            extras = [""] + sorted(requirement.extras)
            if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in extras):
                todo.append(needed)


def test_the_lab_extra_is_pinned_on_top_of_the_lock():
    lock, lab = _pins("requirements.lock"), _pins("requirements-lab.lock")
    for requirement in _project()["optional-dependencies"]["lab"]:
        assert _name(requirement) in lab, f"{_name(requirement)} is not in requirements-lab.lock"
    assert set(lock) & set(lab) == set(), "the lab lock repeats packages of the main lock"
    assert set(_pins("requirements-dev.lock")) & set(lab) == set(), "the lab lock repeats dev pins"


def test_supported_python_versions_agree():
    requires = _project()["requires-python"]
    assert requires == ">=3.11,<3.14"
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in SUPPORTED
    makefile = (ROOT / "Makefile").read_text()
    assert "3.11|3.12|3.13" in makefile
    for file in ("requirements.lock", "requirements-dev.lock"):
        assert "3.11, 3.12, 3.13" in " ".join((ROOT / file).read_text().splitlines()[:2])


def test_environment_yml_installs_the_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip_section == ["-r requirements.lock", "-e ."]
    conda_packages = [d for d in env["dependencies"] if isinstance(d, str)]
    # Conda supplies the interpreter and pip only, so no package has two sources.
    assert sorted(re.split(r"[=<>]", d)[0] for d in conda_packages) == ["pip", "python"]
    python = next(d for d in conda_packages if d.startswith("python"))
    assert python.removeprefix("python=") in SUPPORTED
    assert "conda-forge" in env["channels"]


# Imported inside a function, only by the benchmark and the alternative TWFE path, which
# `make report` never calls (the dev lock has them).
OPTIONAL_IMPORTS = {"csdid", "moderndid", "pyfixest", "linearmodels"}


def test_everything_the_reports_import_is_in_the_runtime_lock():
    """Every third-party module the package and the notebooks import is installed by
    requirements.lock alone: CI once failed when babel came only with the dev lock."""
    import ast
    from importlib.metadata import packages_distributions

    distributions = packages_distributions()
    runtime = set(_pins("requirements.lock"))
    files = [*(ROOT / "analysis").rglob("*.py"), *(ROOT / "notebooks").glob("*.py")]
    missing = set()
    for file in files:
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "analysis" or top in OPTIONAL_IMPORTS:
                    continue
                dists = distributions.get(top, [])
                if not any(_name(d) in runtime for d in dists):
                    missing.add(f"{top} ({file.relative_to(ROOT)})")
    assert not missing, f"imported but not in requirements.lock: {sorted(missing)}"


def test_running_make_leaves_the_environment_as_installed(tmp_path):
    """make's children keep their bytecode under build/, so `make report` adds nothing to
    .venv (README, "Computational requirements": the environment's size)."""
    import os
    import shutil
    import subprocess

    if shutil.which("make") is None:
        import pytest

        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPYCACHEPREFIX", "MAKEFLAGS")}
    shown = subprocess.run(
        ["make", "-s", "--eval", "show-pycache: ; @echo $$PYTHONPYCACHEPREFIX", "show-pycache"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert shown == str(ROOT / "build" / "pycache")
