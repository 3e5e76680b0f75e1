"""Executed notebook -> Pandoc Markdown with numbered figures, tables and references.

Code is never shown. Cells tagged ``parameters`` or ``injected-parameters`` are
dropped, as are cells with ``#| include: false``. Figures and tables get numbers
in order of appearance ("Figur 1", "Tabel 1"); ``@fig-x`` and ``@tbl-x`` in the
prose become links carrying those numbers, so HTML and PDF number alike (pandoc's
HTML writer numbers nothing by itself and pandoc-crossref is not on PyPI).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from analysis.render.show import METADATA_KEY

HIDDEN_TAGS = {"parameters", "injected-parameters", "remove-cell"}
REFERENCE = re.compile(r"@((?:fig|tbl)-[A-Za-z0-9_-]+)")
NAMES = {"da": {"fig": "Figur", "tbl": "Tabel"}, "en": {"fig": "Figure", "tbl": "Table"}}


class RenderError(RuntimeError):
    """A notebook cannot be turned into a report."""


def cell_options(source: str) -> dict:
    """Quarto-style ``#| key: value`` options at the top of a cell."""
    lines = []
    for line in source.splitlines():
        if line.startswith("#|"):
            lines.append(line[2:].strip())
        elif line.strip():
            break
    if not lines:
        return {}
    options = yaml.safe_load("\n".join(lines)) or {}
    if not isinstance(options, dict):
        raise RenderError(f"cell options are not key: value pairs: {lines}")
    return options


@dataclass
class Converted:
    """The Markdown of a report, its image files and the numbers given to labels."""

    markdown: str
    images: dict[str, bytes] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)


def _caption(kind: str, number: int, caption: str | None, lang: str) -> str:
    name = NAMES[lang][kind]
    return f"{name} {number}: {caption}" if caption else f"{name} {number}"


def convert(notebook: nbformat.NotebookNode, lang: str = "da") -> Converted:
    """Convert an executed notebook to Pandoc Markdown."""
    blocks: list[str] = []
    result = Converted("")
    counters = {"fig": 0, "tbl": 0}
    for cell in notebook.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & HIDDEN_TAGS:
            continue
        if cell.cell_type == "markdown":
            blocks.append(cell.source)
            continue
        if cell.cell_type != "code":
            continue
        options = cell_options(cell.source)
        if options.get("include") is False or options.get("output") is False:
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                raise RenderError(f"cell raised {output.ename}: {output.evalue}")
            if output.output_type not in ("display_data", "execute_result"):
                continue
            meta = output.get("metadata", {}).get(METADATA_KEY, {})
            data = output.get("data", {})
            label = meta.get("label") or options.get("label")
            if "image/png" in data:
                caption = meta.get("caption") or options.get("fig-cap")
                name = f"figure-{len(result.images) + 1}.png"
                result.images[name] = base64.b64decode(data["image/png"])
                attributes = ""
                if label and label.startswith("fig-"):
                    counters["fig"] += 1
                    result.numbers[label] = counters["fig"]
                    caption = _caption("fig", counters["fig"], caption, lang)
                    attributes = f"{{#{label}}}"
                blocks.append(f"![{caption or ''}]({name}){attributes}")
            elif "text/markdown" in data:
                markdown = data["text/markdown"]
                is_table = meta.get("kind") == "table" or markdown.lstrip().startswith("|")
                caption = meta.get("caption") or options.get("tbl-cap")
                if is_table and label and label.startswith("tbl-"):
                    counters["tbl"] += 1
                    result.numbers[label] = counters["tbl"]
                    table, _, note = markdown.partition("\n\n::: {.table-note}")
                    markdown = f"{table}\n\n: {_caption('tbl', counters['tbl'], caption, lang)} {{#{label}}}"
                    if note:
                        markdown += f"\n\n::: {{.table-note}}{note}"
                blocks.append(markdown)
    text = "\n\n".join(blocks)

    def link(match: re.Match) -> str:
        label = match.group(1)
        if label not in result.numbers:
            raise RenderError(f"reference to @{label}, but no figure or table has that label")
        kind = label.split("-", 1)[0]
        return f"[{NAMES[lang][kind]} {result.numbers[label]}](#{label})"

    result.markdown = REFERENCE.sub(link, text)
    return result


def read(path: Path) -> nbformat.NotebookNode:
    """Read an executed ``.ipynb`` notebook."""
    return nbformat.read(path, as_version=4)
