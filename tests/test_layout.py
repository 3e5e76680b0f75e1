"""PDF layout on the text layer: page 1 is the answer, page labels, no collisions, whole intervals.

Runs on a report rendered here from Markdown (always) and on every PDF under
``reports/`` (after ``make report``). Word boxes come from ``pdftotext -bbox``
(poppler-utils; ``make browsers`` installs it); pypdf reads the text per page.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from analysis.paths import REPORTS_DIR
from analysis.render import pandoc

SUMMARY = {"da": "Sammenfatning", "en": "Summary"}
CONTENTS = {"da": "Indhold", "en": "Contents"}

LONG_ROWS = "\n".join(f"| Række {i} | {i}.000 | [0,{i:03d}; 0,{i + 1:03d}] |" for i in range(60))
SHORT = (
    """# Sammenfatning

::: {.summary}
Tallene i korte træk.
:::

| Nøgletal | Værdi |
|:---|---:|
| Indskrevne husstande | 173 / 180 |
| Udbetalt til dato | 1.739.128 kr. |

: Tabel 1: Nøgletal {#tbl-key}

# Betalinger

Tekst. TWFE og DSI.

| Betalingsmål | Antal omfattede personer i alt | Antal nye i kvartalet | Antal opnåede (akk.) | Enhedspris (kr.) | Beløb opgjort (kr.) | Over samlet loft (kr.) | Over afkastloft (kr.) | Status |
|:---|---:|---:|---:|---:|---:|---:|---:|:---|
| Beskæftigelse (selvforsørgelse) | 1.234 | 56 | 789 | 20.000 | 15.780.000 | 0 | 0 | endelig |
| Sociale foranstaltninger | 2.345 | 67 | 890 | 25.000 | 22.250.000 | 0 | 0 | foreløbig |

: Tabel 2: En bred tabel {#tbl-wide}

| Udfald | Estimat | 95 %-konfidensinterval |
|:---|---:|:---|
"""
    + LONG_ROWS
    + """

: Tabel 3: En lang tabel {#tbl-long}
"""
)


@pytest.fixture(scope="module")
def fixture_pdf(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("layout")
    (folder / "report.md").write_text(SHORT, encoding="utf-8")
    metadata = {
        "title": "Testrapport",
        "subtitle": "1. kvartal 2025",
        "programme": "Program",
        "running-header": "Program",
        "lang": "da",
        "toc-title": "Indhold",
        "facts": [{"key": "Opgjort pr.", "value": "1. kvartal 2025"}],
        "disclaimer": "Test",
        "pagetitle": "Testrapport, 1. kvartal 2025",
    }
    pandoc.render_pdf(
        folder / "report.md", folder / "report.pdf", metadata, datetime(2026, 1, 1, tzinfo=UTC)
    )
    return folder / "report.pdf"


def pdfs(fixture_pdf: Path) -> list[Path]:
    return [fixture_pdf, *sorted(REPORTS_DIR.glob("*/*.pdf"))]


@pytest.fixture(scope="module")
def texts(fixture_pdf) -> dict[Path, list[str]]:
    """The text of every page of every PDF (pdftotext when present: much faster than pypdf)."""
    out = {}
    for pdf in pdfs(fixture_pdf):
        if shutil.which("pdftotext"):
            text = subprocess.run(
                ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
            ).stdout
            out[pdf] = text.split("\f")[: len(PdfReader(pdf).pages)]
        else:
            out[pdf] = [page.extract_text() for page in PdfReader(pdf).pages]
    return out


def _lang(pdf: Path) -> str:
    return "en" if pdf.name.endswith(".en.pdf") else "da"


def test_page_one_holds_title_and_summary_and_contents_follow(texts):
    for pdf, pages in texts.items():
        lang = _lang(pdf)
        assert SUMMARY[lang] in pages[0], f"{pdf.name}: no summary on page 1"
        text = "\f".join(pages)
        # The first "Summary" is the heading (the contents list it again, later).
        assert CONTENTS[lang] in text, f"{pdf.name}: no contents"
        assert text.index(SUMMARY[lang]) < text.index(CONTENTS[lang]), (
            f"{pdf.name}: contents before the summary"
        )


def test_page_labels_count_every_page(texts):
    for pdf, pages in texts.items():
        total = len(pages)
        for number, text in enumerate(pages, start=1):
            assert re.search(rf"\b{number}\s*/\s*{total}\b", text), (
                f"{pdf.name}: page {number} lacks '{number} / {total}'"
            )


def test_intervals_stay_on_one_line(texts):
    broken = re.compile(r"\[[−\-]?\d[\d.,]*[;,]\s*$")
    for pdf, pages in texts.items():
        for number, page in enumerate(pages, start=1):
            for line in page.splitlines():
                assert not broken.search(line), f"{pdf.name} p. {number}: interval broken: {line!r}"


def _words(pdf: Path) -> dict[int, list[tuple[float, float, float, float, str]]]:
    xml = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages: dict[int, list] = {}
    for number, page in enumerate(xml.split("<page ")[1:], start=1):
        pages[number] = [
            (float(a), float(b), float(c), float(d), w)
            for a, b, c, d, w in re.findall(
                r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
                page,
            )
        ]
    return pages


@pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="no pdftotext: run `make browsers` (poppler-utils)"
)
def test_no_words_collide(fixture_pdf):
    """No two words overlap on a page: table headers never run into their neighbours."""
    problems = []
    for pdf in pdfs(fixture_pdf):
        for number, words in _words(pdf).items():
            words.sort(key=lambda w: w[1])
            for i, (x0, y0, x1, y1, text) in enumerate(words):
                for a0, b0, a1, b1, other in words[i + 1 :]:
                    if b0 >= y1:
                        break
                    height = min(y1 - y0, b1 - b0)
                    overlap_y = min(y1, b1) - max(y0, b0)
                    overlap_x = min(x1, a1) - max(x0, a0)
                    if overlap_y > 0.5 * height and overlap_x > 1.0:
                        problems.append(f"{pdf.name} p. {number}: {text!r} collides with {other!r}")
    assert not problems, "\n".join(problems[:20])


def test_short_tables_are_kept_together_and_long_ones_break(fixture_pdf):
    typ = fixture_pdf.with_suffix(".typ").read_text(encoding="utf-8")
    kept = typ.split("#block(breakable: false, width: 100%)[")
    assert len(kept) == 3, "the two short tables are kept on one page"
    assert "Tabel 3: En lang tabel" not in "".join(part.split("\n]\n")[0] for part in kept[1:])
    pages = [p.extract_text() for p in PdfReader(fixture_pdf).pages]
    with_long = [p for p in pages if "Række 1" in p or "Række 59" in p]
    assert len(with_long) == 2 and all("Estimat" in p for p in with_long), "header repeated"


def test_no_column_widths_fixed_by_dashes(fixture_pdf):
    """Column widths come from the content: pandoc's relative widths are dropped."""
    typ = fixture_pdf.with_suffix(".typ").read_text(encoding="utf-8")
    assert not re.search(r"#table\(\s*columns: \(", typ) and "columns: 9" in typ
