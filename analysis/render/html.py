"""Finishing touches on pandoc's HTML: contents after the summary, the title block's
facts, and tables that fit a phone.

Each table gets a caption outside its scroll region and a keyboard-focusable
scroll region (``div.table-scroll``) so a wide table scrolls inside the page and
never widens the document; :file:`templates/report.js` marks regions that overflow
so the stylesheet can show a scroll cue and keep the first column in view; a figure
wider than its frame gets a scroll cue too (:func:`hint_figures`).
"""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
TOC = re.compile(r'<nav id="TOC"[^>]*>.*?</nav>\s*', re.DOTALL)
TOC_MARKER = re.compile(r'<div id="toc-here">\s*</div>')
TABLE = re.compile(r"<table(?P<attrs>[^>]*)>\s*(?:<caption>(?P<caption>.*?)</caption>)?", re.DOTALL)
TAGS = re.compile(r"<[^>]+>")
SCROLL_HINT = {
    "da": "Stryg eller rul til siden for flere kolonner",
    "en": "Swipe or scroll sideways for more columns",
}
FIGURE_HINT = {
    "da": "Stryg eller rul til siden for hele figuren",
    "en": "Swipe or scroll sideways for the whole figure",
}
FIGURE = re.compile(r"<figure(?:\s[^>]*)?>")


def _plain(fragment: str) -> str:
    return html_lib.unescape(" ".join(TAGS.sub("", fragment).split()))


def move_toc(document: str) -> str:
    """Put pandoc's table of contents where the layout filter left its marker (after the summary)."""
    match = TOC.search(document)
    if not match or not TOC_MARKER.search(document):
        return TOC_MARKER.sub("", document)
    nav = match.group(0)
    document = document[: match.start()] + document[match.end() :]
    return TOC_MARKER.sub(lambda _: nav, document, count=1)


def wrap_tables(document: str, lang: str) -> str:
    """Caption above a focusable scroll region holding the table; the table's id on the wrapper."""
    hint = SCROLL_HINT.get(lang, SCROLL_HINT["en"])

    def opening(match: re.Match) -> str:
        attrs = match.group("attrs")
        caption = match.group("caption")
        ident = re.search(r'\sid="([^"]+)"', attrs)
        attrs = re.sub(r'\sid="[^"]+"', "", attrs)
        label = _plain(caption) if caption else hint
        ident_attr = f' id="{ident.group(1)}"' if ident else ""
        parts = [f'<div class="table-block"{ident_attr}>']
        if caption:
            parts.append(f'<p class="table-caption">{caption}</p>')
        parts.append(f'<p class="scroll-hint" aria-hidden="true">{html_lib.escape(hint)} →</p>')
        parts.append(
            f'<div class="table-scroll" tabindex="0" role="region" '
            f'aria-label="{html_lib.escape(label, quote=True)}">'
        )
        parts.append(f"<table{attrs}>")
        return "".join(parts)

    document = TABLE.sub(opening, document)
    return document.replace("</table>", "</table></div></div>")


def hint_figures(document: str, lang: str) -> str:
    """A scroll cue in every figure, shown (report.js, report.css) only while the figure is
    wider than its frame: on a phone a figure keeps legible text and scrolls sideways."""
    hint = html_lib.escape(FIGURE_HINT.get(lang, FIGURE_HINT["en"]))
    cue = f'<p class="scroll-hint figure-hint" aria-hidden="true">{hint} →</p>'
    return FIGURE.sub(lambda match: match.group(0) + cue, document)


def title_facts(document: str, facts: list[dict], disclaimer: str) -> str:
    """The facts of the title block (as of, rendered, version) and the disclaimer, under the title."""
    rows = "".join(
        f"<dt>{html_lib.escape(f['key'])}</dt><dd>{html_lib.escape(f['value'])}</dd>" for f in facts
    )
    block = f'<dl class="facts">{rows}</dl><p class="disclaimer">{html_lib.escape(disclaimer)}</p>'
    return document.replace("</header>", block + "\n</header>", 1)


def finish(document: str, metadata: dict) -> str:
    """All of the above, in order."""
    lang = metadata.get("lang", "da")
    document = move_toc(document)
    document = wrap_tables(document, lang)
    document = hint_figures(document, lang)
    return title_facts(document, metadata.get("facts", []), metadata.get("disclaimer", ""))
