"""The documentation is self-contained, its links resolve and its numbers are the configuration's.

Links are checked in every Markdown file git tracks: a relative link must name an
existing file, and a ``#fragment`` must name a heading of the target (GitHub's
anchor rules). Web links are not fetched (the tests run offline). A number in
``docs/`` that comes from the contract is followed by ``<!-- cfg: EXPR -->``, where
EXPR is a key of ``config/contract.yaml`` or arithmetic on keys; the number as
written must equal its value.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from analysis.paths import ROOT

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
CFG = re.compile(r"(\S+)\s*<!--\s*cfg:\s*(.+?)\s*-->", re.DOTALL)


def _tracked(pattern: str) -> list[Path]:
    """Files git tracks or would track (new files not yet committed, not ignored ones)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", pattern],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    return [ROOT / name for name in listed.split("\0") if name and (ROOT / name).exists()]


def _markdown_files() -> list[Path]:
    return sorted(_tracked("*.md"))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings (repeats get -1, -2, … as on GitHub)."""
    seen: dict[str, int] = {}
    found = set()
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    for line in text.splitlines():
        match = re.match(r"#{1,6}\s+(.*)", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            found.add(base if count == 0 else f"{base}-{count}")
            seen[base] = count + 1
    return found


def dead_links(path: Path) -> list[str]:
    """Relative links of ``path`` whose file or heading does not exist."""
    dead = []
    text = CODE.sub("", path.read_text(encoding="utf-8"))
    for match in LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, fragment = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            dead.append(f"{target} (no such file)")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            dead.append(f"{target} (no heading #{fragment})")
    return dead


def test_markdown_files_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in _markdown_files()}
    assert {"README.md", "docs/README.md", "reports/README.md", "data/README.md"} <= names


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_dead_links(path):
    assert dead_links(path) == []


def test_dead_link_detection(tmp_path):
    (tmp_path / "other.md").write_text("# A heading\n\n## Same\n\n## Same\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md) [ok](other.md#a-heading) [ok](other.md#same-1) [web](https://x.invalid)\n"
        "[gone](missing.md) [bad](other.md#nowhere) `[in code](missing2.md)`\n",
        encoding="utf-8",
    )
    assert dead_links(page) == [
        "missing.md (no such file)",
        "other.md#nowhere (no heading #nowhere)",
    ]


def test_no_tracked_file_points_outside_the_repository():
    # Built from parts so this file does not match itself.
    needle = "../" + "shared"
    offenders = [
        p.relative_to(ROOT).as_posix()
        for p in _tracked("*")
        if p.is_file() and needle in p.read_text(encoding="utf-8", errors="ignore")
    ]
    assert offenders == []


def test_readme_links_the_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in ("docs/README.md", "reports/README.md"):
        assert f"({page})" in readme or f"({page}#" in readme, page


@pytest.mark.parametrize(
    "page",
    [
        "programme.md",
        "payments.md",
        "evaluation.md",
        "disclosure.md",
        "reports.md",
        "architecture.md",
    ],
)
def test_docs_cover_the_topics(page):
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    assert f"({page})" in index
    assert (ROOT / "docs" / page).stat().st_size > 1000


class _Node:
    """Attribute and item access over the parsed contract, for the expressions in the docs."""

    def __init__(self, value):
        self._value = value

    def __getattr__(self, name):
        return _wrap(self._value[name])

    def __getitem__(self, name):
        return _wrap(self._value[name])


def _wrap(value):
    return _Node(value) if isinstance(value, dict) else value


def _number(written: str, value) -> bool:
    """Whether the number as written in the text equals the configured value."""
    # An en dash before a number is a range ("18–64"), not a sign.
    text = written.strip("()*,.;:`–").removeprefix("DKK").strip()
    if isinstance(value, bool):
        return text == str(value).lower()
    if isinstance(value, str):
        return text == value
    percent = text.endswith("%")
    text = text.removesuffix("%").replace(",", "")
    try:
        shown = float(text)
    except ValueError:
        return False
    target = float(value) * (100 if percent else 1)
    return abs(shown - target) < 1e-9 * max(1.0, abs(target))


def config_numbers(text: str, contract: dict) -> list[tuple[str, str, object]]:
    """Every (number as written, expression, configured value) tagged in ``text``."""
    names = {key: _wrap(value) for key, value in contract.items()}
    found = []
    for match in CFG.finditer(text):
        written, expression = match.group(1), " ".join(match.group(2).split())
        value = eval(expression, {"__builtins__": {"round": round}}, names)
        found.append((written, expression, value))
    return found


def test_numbers_in_the_docs_are_the_configuration():
    contract = yaml.safe_load((ROOT / "config" / "contract.yaml").read_text(encoding="utf-8"))
    checked, wrong = 0, []
    for page in sorted((ROOT / "docs").glob("*.md")):
        for written, expression, value in config_numbers(
            page.read_text(encoding="utf-8"), contract
        ):
            checked += 1
            if not _number(written, value):
                wrong.append(f"{page.name}: {written!r} but {expression} = {value!r}")
    assert wrong == []
    assert checked >= 40


def test_a_changed_configuration_is_caught():
    text = "price 20,000 <!-- cfg: rate_card.employment --> and 4.6% <!-- cfg: caps.rate -->"
    ok = {"rate_card": {"employment": 20000}, "caps": {"rate": 0.046}}
    changed = {"rate_card": {"employment": 25000}, "caps": {"rate": 0.05}}
    assert all(_number(w, v) for w, _, v in config_numbers(text, ok))
    assert not any(_number(w, v) for w, _, v in config_numbers(text, changed))


def test_every_dotted_name_the_docs_give_exists():
    """``analysis.x.y`` in a doc page names a module or an attribute that exists."""
    import importlib
    import re

    missing = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        for name in sorted(set(re.findall(r"`(analysis(?:\.\w+)+)`", page.read_text("utf-8")))):
            parts = name.split(".")
            for cut in range(len(parts), 0, -1):
                try:
                    target = importlib.import_module(".".join(parts[:cut]))
                except ImportError:
                    continue
                try:
                    for attribute in parts[cut:]:
                        target = getattr(target, attribute)
                except AttributeError:
                    missing.append(f"{page.name}: {name}")
                break
            else:
                missing.append(f"{page.name}: {name}")
    assert missing == []
