"""Every code name the documentation gives in backticks exists in the code.

docs/evaluation.md once named functions that did not exist (issue #35). A name
``analysis.x.y`` must import and resolve; any other backticked identifier that looks
like code (snake_case with an underscore, or CamelCase) must occur in the package,
the notebooks, the configuration or the Makefile.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_.]*)(?:\(\))?`")


def _known_words() -> set[str]:
    sources = [
        *ROOT.glob("analysis/**/*.py"),
        *ROOT.glob("analysis/**/*.yaml"),
        *ROOT.glob("notebooks/*.py"),
        *ROOT.glob("config/*.yaml"),
        *ROOT.glob("params/*.yaml"),
        ROOT / "Makefile",
    ]
    text = " ".join(path.read_text(encoding="utf-8") for path in sources)
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return False
        return True
    return False


def _looks_like_code(word: str) -> bool:
    return "_" in word.strip("_") or re.match(r"[A-Z][a-z0-9]+[A-Z]", word) is not None


def dangling_names(paths=DOCS) -> list[str]:
    """``file: name`` for every backticked code name that the code does not have."""
    words = _known_words()
    missing = []
    for path in paths:
        for name in sorted(set(NAME.findall(path.read_text(encoding="utf-8")))):
            if name.startswith("analysis."):
                ok = _resolves(name)
            else:
                ok = all(w in words for w in name.split(".") if w and _looks_like_code(w))
            if not ok:
                missing.append(f"{path.name}: {name}")
    return missing


def test_every_code_name_in_the_docs_exists():
    assert dangling_names() == []


@pytest.mark.parametrize(
    "text, dangling",
    [
        ("`analysis.did.inference.area_placebo_test`", False),
        ("`analysis.did.inference.exact_randomization_inference`", True),
        ("`analysis.did.no_such_module.f`", True),
        ("`AreaTestResult.mde`", False),
        ("`exact_randomization_inference`", True),
        ("`yname`", False),
    ],
)
def test_the_check_finds_a_name_that_is_not_there(tmp_path, text, dangling):
    doc = tmp_path / "doc.md"
    doc.write_text(f"The function {text} does it.\n", encoding="utf-8")
    found = dangling_names([doc])
    assert bool(found) == dangling
