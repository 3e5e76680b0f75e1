"""Package layout: the renderer loads no report code, and no two subpackages import each other."""

from __future__ import annotations

import ast
import subprocess
import sys

from analysis.paths import ROOT

PACKAGE = ROOT / "analysis"


def test_render_does_not_import_reports():
    # Every renderer module, imported in a fresh interpreter (the check a user can run).
    code = (
        "import importlib, pkgutil, sys, analysis.render as r; "
        "[importlib.import_module('analysis.render.' + m.name) for m in pkgutil.iter_modules(r.__path__)]; "
        "print(sorted(m for m in sys.modules if m.startswith('analysis.reports')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]", out


def _subpackage_edges() -> set[tuple[str, str]]:
    """(importer, imported) subpackages of ``analysis``, including imports inside functions."""
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    edges = set()
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = (
                    [f"{node.module}.{a.name}" for a in node.names]
                    if node.module == "analysis"
                    else [node.module]
                )
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                words = name.split(".")
                if words[0] == "analysis" and len(words) > 1 and words[1] in subpackages:
                    if words[1] != parts[0]:
                        edges.add((parts[0], words[1]))
    return edges


def _cycle(edges: set[tuple[str, str]]) -> list[str] | None:
    graph: dict[str, list[str]] = {}
    for a, b in sorted(edges):
        graph.setdefault(a, []).append(b)
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*path, node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, node])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [])):
            return found
    return None


def test_no_import_cycle_between_subpackages():
    edges = _subpackage_edges()
    assert ("render", "reports") not in edges
    assert _cycle(edges) is None, " -> ".join(_cycle(edges))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({("a", "b"), ("b", "c"), ("c", "a")}) is not None
    assert _cycle({("a", "b"), ("b", "c")}) is None


def test_results_steps_import_no_presentation_code():
    # The Makefile's synthetic-extract, results, ledger and stage rules do not depend on the
    # presentation modules (analysis.build.PRESENTATION): what computes must not load them.
    import inspect

    from analysis.build import PRESENTATION
    from analysis.reports import stage
    from analysis.sdc import quarterly

    modules = [p.removesuffix(".py").replace("/", ".") for p in PRESENTATION]
    code = (
        "import sys, analysis.cli, analysis.data.synth, analysis.payments.quarterly, "
        "analysis.sdc.quarterly, analysis.reports.stage; "
        f"print(sorted(m for m in sys.modules if m in {modules!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]", out
    # Nor inside the computing functions (imports there run only when they are called).
    names = [m.rsplit(".", 1)[1] for m in modules]
    for function in (
        stage.prepare,
        stage.compute,
        stage.write,
        quarterly.publish,
        quarterly.protect,
    ):
        source = inspect.getsource(function)
        for module, name in zip(modules, names, strict=True):
            assert module not in source and f"import {name}" not in source, function.__name__
