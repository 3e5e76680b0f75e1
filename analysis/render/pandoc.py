"""Pandoc Markdown -> self-contained HTML (pandoc) and PDF (pandoc's typst writer + typst).

Quarto is used instead when ``RENDERER=quarto`` and a ``quarto`` binary is on PATH;
it reads the same Markdown.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import matplotlib
import pypandoc
import typst
import yaml

from analysis.render import html as html_finish

TEMPLATES = Path(__file__).parent / "templates"
LAYOUT_FILTER = TEMPLATES / "layout.lua"
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
MARKDOWN_FORMAT = "markdown+pipe_tables+table_captions+fenced_divs+implicit_figures-citations"


def _metadata_args(metadata: dict) -> list[str]:
    args = []
    for key, value in metadata.items():
        if isinstance(value, str):
            args += ["--metadata", f"{key}={value}"]
    return args


def _pandoc(markdown_file: Path, output: Path, writer: str, extra: list[str]) -> None:
    command = [
        pypandoc.get_pandoc_path(),
        str(markdown_file),
        "--from",
        MARKDOWN_FORMAT,
        "--to",
        writer,
        "--output",
        str(output),
        f"--lua-filter={LAYOUT_FILTER}",
        *extra,
    ]
    completed = subprocess.run(
        command, cwd=markdown_file.parent, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"pandoc failed ({writer}): {completed.stderr.strip()}")


def render_html(markdown_file: Path, output: Path, metadata: dict) -> None:
    """A single self-contained HTML file: images and styles embedded, no external requests."""
    _pandoc(
        markdown_file,
        output,
        "html5",
        [
            "--standalone",
            "--embed-resources",
            "--toc",
            "--toc-depth=2",
            "--number-sections",
            f"--css={TEMPLATES / 'report.css'}",
            f"--include-after-body={TEMPLATES / 'report.js'}",
            *_metadata_args(metadata),
        ],
    )
    output.write_text(
        html_finish.finish(output.read_text(encoding="utf-8"), metadata), encoding="utf-8"
    )


def render_pdf(markdown_file: Path, output: Path, metadata: dict, timestamp: datetime) -> None:
    """A4 PDF through pandoc's typst writer and the typst compiler."""
    typ = markdown_file.with_suffix(".typ")
    metadata_file = markdown_file.with_suffix(".meta.yaml")

    metadata_file.write_text(
        yaml.safe_dump(metadata, allow_unicode=True, sort_keys=True), encoding="utf-8"
    )
    _pandoc(
        markdown_file,
        typ,
        "typst",
        [
            "--standalone",
            f"--template={TEMPLATES / 'report.typ'}",
            f"--metadata-file={metadata_file}",
        ],
    )
    typst.compile(
        str(typ),
        output=str(output),
        root=str(markdown_file.parent),
        font_paths=[str(FONT_DIR)],
        ignore_system_fonts=True,
        timestamp=int(timestamp.timestamp()),
    )


def quarto_available() -> bool:
    """True when the user asked for Quarto and has it."""
    return os.environ.get("RENDERER") == "quarto" and shutil.which("quarto") is not None


def render_with_quarto(markdown_file: Path, output: Path, writer: str) -> None:
    """Render the same Markdown with Quarto (used only when a user has Quarto)."""
    subprocess.run(
        ["quarto", "render", str(markdown_file), "--to", writer, "--output", output.name],
        cwd=markdown_file.parent,
        check=True,
    )
    shutil.move(markdown_file.parent / output.name, output)
