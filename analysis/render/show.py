"""What a notebook calls to put prose, tables and figures into a report.

Each helper emits a display output that the renderer understands: Markdown for
prose and tables (pipe tables with aligned, formatted numbers), SVG for figures
(text stays sharp and legible at any screen width, and typst draws it as vectors).
A caption and a label can travel with the output (in its metadata) so that they
can be computed and translated; Quarto-style ``#| label:`` / ``#| fig-cap:`` cell
options work as well.
"""

from __future__ import annotations

import io
import re

import pandas as pd
from IPython.display import SVG, Markdown, display

from analysis import catalogue
from analysis.render import numbers

METADATA_KEY = "relationel"
SYMBOLS = {"*", "–"}
# An interval as the table builders write it: "[0,185; 0,308]" or "−1,38 ; −0,25".
INTERVAL = re.compile(r"^\[?\s*([−\-]?[\d.,]+)\s*[;]\s*([−\-]?[\d.,]+)\s*\]?$")


def _markdown_cell(value, lang: str, decimals: int | None) -> str:
    if isinstance(value, str):
        if value == "*":
            return "\\*"
        interval = INTERVAL.match(value)
        if interval:
            # One notation for every interval, on one line (a no-break space after the separator).
            separator = numbers.INTERVAL_SEPARATOR[lang]
            return f"[{interval.group(1)}{separator}{numbers.NBSP}{interval.group(2)}]"
        return value.replace("|", "\\|")
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (
        hasattr(value, "is_integer") and float(value).is_integer() and decimals is None
    ):
        return numbers.number(value, 0, lang)
    return numbers.number(value, 1 if decimals is None else decimals, lang)


def table_markdown(
    frame: pd.DataFrame, lang: str = "da", decimals: dict[str, int] | None = None
) -> str:
    """A pipe table with formatted cells; numeric columns right-aligned."""
    decimals = decimals or {}
    frame = frame.reset_index(drop=True)
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    cells = [
        [_markdown_cell(v, lang, decimals.get(c)) for c, v in zip(frame.columns, row, strict=True)]
        for row in frame.itertuples(index=False)
    ]
    aligns = []
    for index, column in enumerate(frame.columns):
        values = frame[column]
        is_number = values.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
        is_symbol = values.map(lambda v: v in SYMBOLS)
        numeric = bool(is_number.any() and (is_number | is_symbol | values.isna()).all())
        # Pandoc sizes the columns of a wide pipe table by the length of these dashes:
        # as wide as the longest cell or the longest word of the header.
        # (+2: bold headers and the cell inset need a little more than the characters.)
        width = 2 + max(
            [len(word) for word in str(column).split()] + [len(row[index]) for row in cells] + [3]
        )
        aligns.append("-" * width + ":" if numeric else ":" + "-" * width)
    rule = "|" + "|".join(aligns) + "|"
    body = ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join([header, rule, *body])


def text(markdown: str) -> None:
    """Show a paragraph (Markdown) in the report."""
    display(Markdown(markdown))


def table(
    frame: pd.DataFrame,
    caption: str | None = None,
    label: str | None = None,
    lang: str = "da",
    decimals: dict[str, int] | None = None,
    note: str | None = None,
    source: str | None = None,
) -> None:
    """Show a table; ``label`` must start with ``tbl-`` to be numbered and referenced.

    Columns named by a catalogue id (``quarter`` for ``col.quarter``) get their
    header in ``lang`` here, and ``decimals`` is keyed by the same ids: the table
    builders, the tests and the disclosure model never see a display string.
    """
    frame = frame.rename(columns=lambda c: catalogue.column(c, lang))
    decimals = {catalogue.column(c, lang): n for c, n in (decimals or {}).items()}
    markdown = table_markdown(frame, lang, decimals)
    if note:
        markdown += f"\n\n::: {{.table-note}}\n{note}\n:::"
    display(
        Markdown(markdown),
        metadata={
            METADATA_KEY: {"kind": "table", "caption": caption, "label": label, "source": source}
        },
    )


def figure(
    fig,
    caption: str | None = None,
    label: str | None = None,
    source: str | None = None,
    alt: str | None = None,
    narrow=None,
) -> None:
    """Show a matplotlib figure; ``label`` must start with ``fig-`` to be numbered.

    ``alt`` is the text alternative for readers who cannot see the figure (what it
    shows, in words and numbers); without it the caption serves. ``narrow``: the
    same content drawn for a phone's width (e.g. panels one above the other), which
    the HTML report shows on narrow screens instead of ``fig``; the PDF and
    Quarto show ``fig``.
    """
    metadata = {"kind": "figure", "caption": caption, "label": label, "source": source, "alt": alt}
    if narrow is not None:
        metadata["narrow"] = _svg(narrow).decode("utf-8")
    display(SVG(_svg(fig)), metadata={METADATA_KEY: metadata})


def _svg(fig) -> bytes:
    """The figure as SVG, closed afterwards."""
    # matplotlib is slow to import; the renderer imports this module (METADATA_KEY)
    # without drawing a figure.
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    # No date in the file, and ids from the fixed svg.hashsalt (style.py): byte-identical output.
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()
