"""Executed notebook -> Pandoc Markdown with numbered figures, tables and references.

Code is never shown. Cells tagged ``parameters`` or ``injected-parameters`` are
dropped, as are cells with ``#| include: false``. Figures and tables get numbers
in order of appearance ("Figur 1", "Tabel 1"); ``@fig-x`` and ``@tbl-x`` in the
prose become links carrying those numbers, so HTML and PDF number alike (pandoc's
HTML writer numbers nothing by itself and pandoc-crossref is not on PyPI).
A table's or figure's caption comes with its output, or from the catalogue by its
label (``caption.<label>`` in ``analysis/catalogue.yaml``).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from analysis import catalogue
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
    # (label, caption with number, function that made it) for the list of tables and figures
    items: list[tuple[str, str, str]] = field(default_factory=list)


def caption_of(label: str | None, lang: str) -> str | None:
    """The catalogue's caption for the table or figure ``label`` (``caption.<label>``), if any."""
    key = f"caption.{label}"
    return catalogue.t(key, lang) if label and catalogue.has(key) else None


def _caption(kind: str, number: int, caption: str | None, lang: str) -> str:
    name = NAMES[lang][kind]
    return f"{name} {number}: {caption}" if caption else f"{name} {number}"


IMPORT_ALIAS = re.compile(r"^from (analysis[\w.]*) import (\w+) as (\w+)", re.MULTILINE)


def _maker(source: str, aliases: dict[str, str]) -> str:
    """The package function a cell calls to build its table or figure."""
    for alias, function in re.findall(r"\b(\w+)\.(\w+)\(", source):
        if alias in aliases:
            return f"{aliases[alias]}.{function}"
    return ""


def convert(notebook: nbformat.NotebookNode, lang: str = "da") -> Converted:
    """Convert an executed notebook to Pandoc Markdown.

    Kept whole: one pass over the notebook's cells that numbers figures and tables in
    the order they appear; the counters, the images and the items it fills are shared by
    every branch, and the numbering must happen in that single pass.
    """
    blocks: list[str] = []
    result = Converted("")
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    aliases = {
        alias: f"{package}.{module}"
        for package, module, alias in IMPORT_ALIAS.findall(code)
        if module != "show"
    }
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
            if "image/svg+xml" in data or "image/png" in data:
                caption = meta.get("caption") or options.get("fig-cap") or caption_of(label, lang)
                if "image/svg+xml" in data:
                    name = f"figure-{len(result.images) + 1}.svg"
                    svg = data["image/svg+xml"]
                    result.images[name] = ("".join(svg) if isinstance(svg, list) else svg).encode()
                else:
                    name = f"figure-{len(result.images) + 1}.png"
                    result.images[name] = base64.b64decode(data["image/png"])
                attributes = []
                if label and label.startswith("fig-"):
                    counters["fig"] += 1
                    result.numbers[label] = counters["fig"]
                    caption = _caption("fig", counters["fig"], caption, lang)
                    attributes.append(f"#{label}")
                    result.items.append(
                        (label, caption, meta.get("source") or _maker(cell.source, aliases))
                    )
                if meta.get("alt"):
                    alt = " ".join(str(meta["alt"]).split()).replace("\\", "").replace('"', "'")
                    attributes.append(f'alt="{alt}"')
                if meta.get("narrow"):
                    # The drawing for narrow screens (show.figure's ``narrow``): the
                    # layout filter puts it beside the wide one in the HTML only.
                    narrow = f"{name.rsplit('.', 1)[0]}-narrow.svg"
                    result.images[narrow] = str(meta["narrow"]).encode()
                    attributes.append(f'narrow="{narrow}"')
                braces = f"{{{' '.join(attributes)}}}" if attributes else ""
                blocks.append(f"![{caption or ''}]({name}){braces}")
            elif "text/markdown" in data:
                markdown = data["text/markdown"]
                is_table = meta.get("kind") == "table" or markdown.lstrip().startswith("|")
                caption = meta.get("caption") or options.get("tbl-cap") or caption_of(label, lang)
                if is_table and label and label.startswith("tbl-"):
                    counters["tbl"] += 1
                    result.numbers[label] = counters["tbl"]
                    table, _, note = markdown.partition("\n\n::: {.table-note}")
                    numbered = _caption("tbl", counters["tbl"], caption, lang)
                    markdown = f"{table}\n\n: {numbered} {{#{label}}}"
                    result.items.append(
                        (label, numbered, meta.get("source") or _maker(cell.source, aliases))
                    )
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


def short_caption(caption: str) -> str:
    """A caption's first sentence: what the appendix lists (the full text is at the item)."""
    first = re.split(r"(?<=[^\s.])\.\s", caption.strip(), maxsplit=1)[0]
    return first.removesuffix(".")


def items_markdown(items: list[tuple[str, str, str]], lang: str) -> str:
    """The list of every numbered table and figure, by its caption's first sentence.

    The code that makes each one is developer text: it goes to the results file
    published beside the report (:func:`items_record`), not into the report.
    """
    heading = catalogue.t("appendix.heading", lang)
    rows = [f"- {short_caption(caption)}" for _, caption, _ in items]
    return "\n".join([f"# {heading} {{.unnumbered}}", "", *rows])


def items_record(items: list[tuple[str, str, str]], notebook_name: str) -> list[dict]:
    """Each numbered table and figure with the code that makes it, for the results file."""
    return [
        {"label": label, "caption": caption, "code": maker or notebook_name}
        for label, caption, maker in items
    ]
