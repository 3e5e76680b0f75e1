"""Markdown cells of a report notebook: the report's language and its inline values.

A notebook's prose lives in Markdown cells, in both languages, each language in a
Quarto conditional content div::

    ::: {.content-visible when-profile="da"}
    Pr. `{python} fmt.quarter(as_of)` er ...
    :::

:func:`select_language` keeps the divs of the report's language (the profile) and
drops the others, as ``quarto render notebook.py --profile da`` does. Inline values
are written in Quarto's syntax, `` `{python} expr` ``: :func:`prepare` puts a hidden
code cell after every Markdown cell that has any, which evaluates them in the
notebook's namespace at that point of the notebook (in this process or in a kernel
alike), and :func:`resolve` writes the values into the Markdown and removes the
hidden cells. So the executed notebook holds the report's text as a reader sees it.

Prose that several notebooks share is in a Markdown file beside them, pulled in
with Quarto's include shortcode, ``{{< include _methods.md >}}``; package code that
needs the same text renders that file with :func:`render_file`.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

INLINE = re.compile(r"`\{python\}\s+([^`]+?)\s*`")
INCLUDE = re.compile(r"^\{\{<\s*include\s+(\S+)\s*>\}\}[ \t]*$", re.MULTILINE)
INLINE_MIME = "application/vnd.relationel.inline+json"
VALUES_TAG = "inline-values"
FENCE = re.compile(r"^(:{3,})\s*(.*?)\s*:*\s*$")
PROFILE = re.compile(r"\.content-(visible|hidden)\b")
CONDITION = re.compile(r'\b(when|unless)-profile\s*=\s*"([^"]*)"')


class MarkdownError(ValueError):
    """A Markdown cell the renderer cannot resolve (an unclosed div, a bad condition)."""


def _active(profile) -> set[str]:
    """The active profiles: one name, or several (the language and the report's variant)."""
    return {profile} if isinstance(profile, str) else {p for p in profile if p}


def _shown(attributes: str, active: set[str]) -> bool | None:
    """Whether a div with ``attributes`` is shown for the ``active`` profiles; None if it is no profile div."""
    kind = PROFILE.search(attributes)
    conditions = CONDITION.findall(attributes)
    if kind is None or not conditions:
        return None
    shown = True
    for when, profiles in conditions:
        listed = bool(active & {p.strip() for p in profiles.split(",")})
        shown = shown and (listed if when == "when" else not listed)
    return shown if kind.group(1) == "visible" else not shown


def select_language(markdown: str, profile) -> str:
    """``markdown`` with the divs of the active profile(s) opened up and the others dropped.

    Other fenced divs (``::: {.summary}``) are kept as they are, also inside a
    profile div.
    """
    active = _active(profile)
    out: list[str] = []
    # One entry per open div: None for an ordinary div, else whether it is shown.
    stack: list[bool | None] = []
    for line in markdown.split("\n"):
        fence = FENCE.match(line)
        visible = all(s is not False for s in stack)
        if fence and fence.group(2):
            shown = _shown(fence.group(2), active)
            stack.append(shown)
            if shown is None and visible:
                out.append(line)
            continue
        if fence and stack:
            if stack.pop() is None and visible:
                out.append(line)
            continue
        if visible:
            out.append(line)
    if stack:
        raise MarkdownError(f"a fenced div is not closed in:\n{markdown}")
    text = "\n".join(out)
    # A dropped div leaves blank lines behind; two in a row are enough for Markdown.
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def include(markdown: str, base: Path | None) -> str:
    """``markdown`` with each ``{{< include file >}}`` line replaced by the file (from ``base``)."""

    def read(match: re.Match) -> str:
        if base is None:
            raise MarkdownError(f"{match.group(0)} in a notebook without a folder")
        path = Path(base) / match.group(1)
        return include(path.read_text(encoding="utf-8").strip("\n"), path.parent)

    return INCLUDE.sub(read, markdown)


def tidy(markdown: str) -> str:
    """No spaces at line ends (an empty inline value at a sentence's end leaves one)."""
    return "\n".join(line.rstrip() for line in markdown.split("\n"))


def render_text(markdown: str, profile: str, namespace: dict, base: Path | None = None) -> str:
    """``markdown`` in ``profile``'s language with its inline values evaluated in ``namespace``."""
    text = select_language(include(markdown, base), profile)
    return tidy(INLINE.sub(lambda m: str(eval(m.group(1), dict(namespace))), text))


def render_file(path: Path, profile: str, namespace: dict) -> str:
    """A shared Markdown file (an include of the notebooks) rendered as :func:`render_text`."""
    return render_text(
        Path(path).read_text(encoding="utf-8"), profile, namespace, Path(path).parent
    )


def expressions(markdown: str) -> list[str]:
    """The inline expressions of ``markdown`` in order."""
    return INLINE.findall(markdown)


def values_source(found: list[str]) -> str:
    """Code that shows the value of each expression as text, keyed by its position."""
    items = ",\n".join(f"    {str(i)!r}: str({expression})" for i, expression in enumerate(found))
    return (
        "from IPython.display import display as _inline_display\n"
        f"_inline_display({{{INLINE_MIME!r}: {{\n{items}\n}}}}, raw=True)\n"
        "del _inline_display"
    )


def prepare(
    notebook: nbformat.NotebookNode, profile: str, base: Path | None = None
) -> nbformat.NotebookNode:
    """Resolve includes (from ``base``) and the language divs of ``profile``, and add a
    value cell after each Markdown cell with inline expressions."""
    cells = []
    for cell in notebook.cells:
        cells.append(cell)
        if cell.cell_type != "markdown":
            continue
        cell.source = select_language(include(cell.source, base), profile)
        found = expressions(cell.source)
        if found:
            cells.append(
                nbformat.v4.new_code_cell(
                    values_source(found), metadata={"tags": [VALUES_TAG, "remove-cell"]}
                )
            )
    notebook.cells = [c for c in cells if c.cell_type != "markdown" or c.source.strip()]
    return notebook


def _fill(markdown: str, values: dict[str, str]) -> str:
    """``markdown`` with its n-th inline expression replaced by ``values[str(n)]``."""
    position = iter(range(len(values)))
    return tidy(INLINE.sub(lambda _: values[str(next(position))], markdown))


def resolve(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Write the values of an executed notebook's value cells into its Markdown cells."""
    cells = []
    for cell in notebook.cells:
        if VALUES_TAG not in cell.get("metadata", {}).get("tags", []):
            cells.append(cell)
            continue
        values = next(
            (
                o["data"][INLINE_MIME]
                for o in cell.get("outputs", [])
                if INLINE_MIME in o.get("data", {})
            ),
            None,
        )
        if values is None or not cells or cells[-1].cell_type != "markdown":
            raise MarkdownError("a value cell of inline expressions has no values or no Markdown")
        cells[-1].source = _fill(cells[-1].source, values)
    notebook.cells = cells
    return notebook
