"""Package layout: the renderer loads no report code, no two subpackages or modules import
each other (imports inside functions and by ``importlib.import_module`` counted), and no module imports a higher layer
than its own (the layer table of docs/architecture.md)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

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
    # presentation modules (analysis.pipeline.build.PRESENTATION): what computes must not load them.
    import inspect

    from analysis.pipeline.build import PRESENTATION
    from analysis.reports import stage
    from analysis.sdc import quarterly

    modules = [p.removesuffix(".py").replace("/", ".") for p in PRESENTATION]
    code = (
        "import sys, analysis.pipeline.cli, analysis.data.synth, analysis.payments.quarterly, "
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


# The layers of docs/architecture.md ("Layers"): one table, read here, so that the
# documentation and this check cannot drift apart.
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def layers(text: str | None = None) -> dict[str, int]:
    """Each path of the layer table (a file or a folder of ``analysis/``) with its layer number.

    The table's rows are ``| <number> <name> | `path`, `path`, … | job |``; a higher
    number is a higher layer.
    """
    text = ARCHITECTURE.read_text(encoding="utf-8") if text is None else text
    section = text.split("<!-- layers -->")[1].split("<!-- /layers -->")[0]
    found = {}
    for row in section.splitlines():
        match = re.match(r"\|\s*(\d+)\b[^|]*\|([^|]*)\|", row)
        if match:
            for path in re.findall(r"`([^`]+)`", match.group(2)):
                assert path not in found, f"{path} is in two layers"
                found[path] = int(match.group(1))
    return found


def module_name(path: Path, root: Path) -> str:
    """``analysis/did/attgt.py`` -> ``analysis.did.attgt``; a package is its ``__init__``."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(path: Path, table: dict[str, int], root: Path = ROOT) -> int | None:
    """The layer of a module's file: its own row, else that of the nearest folder listed."""
    relative = path.relative_to(root).as_posix()
    candidates = [p for p in table if relative == p or relative.startswith(p.rstrip("/") + "/")]
    return table[max(candidates, key=len)] if candidates else None


def _dynamic_import(node: ast.AST) -> str | None:
    """The module ``importlib.import_module("a.b")`` (or ``import_module``, ``__import__``) names."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    first = node.args[0]
    if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
        return first.value if isinstance(first.value, str) else None
    return None


def module_imports(root: Path = PACKAGE) -> dict[Path, dict[Path, int]]:
    """Every module of ``root`` -> the modules of ``root`` it imports, with the line.

    Imports inside functions (run when the function is called) and under
    ``if TYPE_CHECKING`` count as much as those at the top: a cycle hidden behind a
    function-level import is still a cycle, and so is one hidden behind
    ``importlib.import_module`` with the module's name written out.
    ``from package import name`` imports the submodule ``name`` when there is one,
    else the package.
    """
    files = {module_name(p, root.parent): p for p in root.rglob("*.py")}
    graph: dict[Path, dict[Path, int]] = {}
    for name, path in files.items():
        edges = graph.setdefault(path, {})
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base
                    for alias in node.names
                ]
            elif (literal := _dynamic_import(node)) is not None:
                targets = [literal]
            else:
                continue
            for target in targets:
                # The longest module the dotted name starts with (``a.b.c`` of ``a.b.c.f``).
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and files[target] != path:
                    edges.setdefault(files[target], node.lineno)
    return graph


def module_cycle(graph: dict[Path, dict[Path, int]]) -> list[Path] | None:
    """One cycle of the graph (its modules in order, the first repeated at the end), or None."""
    state: dict[Path, int] = {}
    for start in sorted(graph):
        if start in state:
            continue
        # Depth-first, iteratively (the graph is deep): a stack of (module, its next imports).
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            following = next(stack[-1], None)
            if following is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(following) == 1:
                return [*path[path.index(following) :], following]
            elif following not in state:
                state[following] = 1
                path.append(following)
                stack.append(iter(sorted(graph.get(following, {}))))
    return None


def test_every_module_has_a_layer():
    table = layers()
    missing = [
        str(p.relative_to(ROOT))
        for p in sorted(PACKAGE.rglob("*.py"))
        if layer_of(p, table) is None
    ]
    assert not missing, f"add these to the layer table of docs/architecture.md: {missing}"
    listed = [p for p in table if not (ROOT / p).exists()]
    assert not listed, f"docs/architecture.md lists layers of files that do not exist: {listed}"


def test_no_module_imports_a_higher_layer():
    table = layers()
    upward = []
    for module, imported in module_imports().items():
        for target, line in imported.items():
            if layer_of(target, table) > layer_of(module, table):
                upward.append(
                    f"{module.relative_to(ROOT)}:{line} imports {target.relative_to(ROOT)} "
                    f"(layer {layer_of(module, table)} -> {layer_of(target, table)})"
                )
    assert not upward, "\n".join(upward)


def test_no_import_cycle_between_modules_even_inside_functions():
    cycle = module_cycle(module_imports())
    assert cycle is None, " -> ".join(str(p.relative_to(ROOT)) for p in cycle)


def test_the_import_graph_sees_imports_inside_functions_and_the_layers_are_read(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    from pkg import a\n    return a\n")
    (package / "c.py").write_text("from . import a\nimport pkg.sub.b as bee\n")
    (package / "d.py").write_text(
        "import importlib\n\ndef f():\n    return importlib.import_module('pkg.c')\n"
    )
    graph = module_imports(package)
    a, b, c = package / "a.py", package / "sub" / "b.py", package / "c.py"
    assert graph[a] == {b: 1} and graph[b] == {a: 2}
    assert graph[c] == {a: 1, b: 2}
    assert graph[package / "d.py"] == {c: 4}
    assert module_cycle(graph) in ([a, b, a], [b, a, b])
    assert module_cycle({a: {b: 1}, b: {}, c: {a: 1, b: 2}}) is None
    table = layers(
        "<!-- layers -->\n| 2 top | `pkg/c.py` | x |\n| 1 base | `pkg/` | y |\n<!-- /layers -->"
    )
    assert table == {"pkg/c.py": 2, "pkg/": 1}
    assert [layer_of(p, table, tmp_path) for p in (a, b, c)] == [1, 1, 2]


# A command-line module imports what each command needs inside the command, so that a
# command (``make-targets``, which every clean build waits for) does not pay for the
# others' imports: it says so once, in a module-level comment starting with this.
DEFERRED = "# Imports inside functions:"


def unexplained_imports(path: Path) -> list[int]:
    """The lines of imports inside functions of ``path`` that do not say why.

    An import inside a function must be deliberate (a heavy or optional package,
    imported only when the function runs): a comment on its line, or on the line above
    the run of imports it belongs to, says why; a module whose comment starts with
    :data:`DEFERRED` has said it for all of its functions.
    """
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    if any(line.startswith(DEFERRED) for line in lines):
        return []
    missing = []

    def bodies(node: ast.AST):
        for name in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.AST):
                yield block

    def visit(node: ast.AST, inside: bool) -> None:
        inside = inside or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for block in bodies(node):
            first = None
            for statement in block:
                if isinstance(statement, ast.Import | ast.ImportFrom):
                    # A comment above an import speaks for it and the imports after it.
                    if first is None or lines[statement.lineno - 2].strip().startswith("#"):
                        first = statement
                    said = lines[first.lineno - 2].strip().startswith("#") or "#" in "".join(
                        lines[statement.lineno - 1 : statement.end_lineno]
                    )
                    if inside and not said:
                        missing.append(statement.lineno)
                else:
                    first = None
                    visit(statement, inside)

    visit(ast.parse(text), False)
    return missing


def test_an_import_inside_a_function_says_why():
    """Imports inside functions only where deliberate, each saying why (issue 34: about
    128 of them hid two cycles)."""
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line in unexplained_imports(path)
    ]
    assert not found, "import at module level, or say why here:\n" + "\n".join(found)


def test_the_unexplained_import_finder(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import os\n\n\ndef f():\n    import json\n    # pyarrow is slow to import\n"
        "    import pyarrow\n    import pyarrow.parquet\n    if os:\n        import re\n"
        "    return json, pyarrow, re\n"
    )
    assert unexplained_imports(module) == [5, 10]
    module.write_text(f"{DEFERRED} each command its own.\n" + module.read_text())
    assert unexplained_imports(module) == []
