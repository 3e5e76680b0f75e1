"""The renderer: numbered captions, cross-references, Danish numbers, hidden code, colophon."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader

from analysis.render import colophon, execute, notebook_md, pandoc
from analysis.render.execute import NotebookFailed

FIXTURE = Path(__file__).parent / "fixtures" / "render_fixture.py"


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.external = []
        self.captions = []
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            if value.startswith(("http:", "https:", "//")):
                self.external.append(value)
        if tag in ("caption", "figcaption") or attrs.get("class") == "table-caption":
            self._in_caption = True
            self.captions.append("")

    def handle_endtag(self, tag):
        if self._in_caption and tag in ("caption", "figcaption", "p"):
            self._in_caption = False
            self.captions[-1] = " ".join(self.captions[-1].split())

    def handle_data(self, data):
        if self._in_caption:
            self.captions[-1] += data


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("render")
    notebook = execute.execute(FIXTURE, folder / "executed.ipynb", {"lang": "da"}, cwd=folder)
    converted = notebook_md.convert(notebook, "da")
    markdown = (
        converted.markdown
        + "\n\n"
        + colophon.markdown(
            "da",
            "abc123",
            {"lang": "da"},
            {"x.parquet": "f" * 64},
            {"python": "3.11"},
            datetime(2026, 1, 1, tzinfo=UTC),
        )
    )
    (folder / "report.md").write_text(markdown, encoding="utf-8")
    for name, content in converted.images.items():
        (folder / name).write_bytes(content)
    metadata = {
        "title": "Testrapport",
        "subtitle": "Fixture",
        "programme": "Program",
        "running-header": "Program",
        "lang": "da",
        "toc-title": "Indhold",
        "facts": [{"key": "Opgjort pr.", "value": "2025Q1"}],
        "disclaimer": "Test",
        "pagetitle": "Test",
    }
    pandoc.render_html(folder / "report.md", folder / "report.html", metadata)
    pandoc.render_pdf(
        folder / "report.md", folder / "report.pdf", metadata, datetime(2026, 1, 1, tzinfo=UTC)
    )
    return folder


def test_html_has_numbered_captions_and_references(rendered):
    html = (rendered / "report.html").read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(html)
    assert "Figur 1: En demonstrationsfigur" in parser.captions
    assert "Tabel 1: En lang tabel" in parser.captions
    assert re.search(r'<a href="#fig-demo">Figur 1</a>', html)
    assert re.search(r'<a href="#tbl-long">Tabel 1</a>', html)
    assert 'id="tbl-long"' in html and 'id="fig-demo"' in html


def test_html_is_self_contained_with_hidden_code(rendered):
    html = (rendered / "report.html").read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(html)
    assert parser.external == []
    assert "<svg" in html or "data:image/svg+xml" in html
    assert "SECRET-DEBUG-OUTPUT" not in html
    assert "import matplotlib" not in html and "show.table" not in html
    assert 'name="viewport"' in html


def test_a_figure_drawn_twice_has_both_drawings_in_the_html_and_the_wide_one_in_the_pdf(rendered):
    html = (rendered / "report.html").read_text(encoding="utf-8")
    figure = html[html.index('<figure id="fig-twice">') :]
    figure = figure[: figure.index("</figure>")]
    classes = re.findall(
        r'<img [^>]*src="data:image/svg\+xml;base64,[^"]+"[^>]*class="([^"]+)"', figure
    )
    assert classes == ["wide-variant", "narrow-variant"]
    assert "Figur 2: En figur tegnet to gange" in figure
    # The PDF's typst source draws the wide figure only.
    typ = (rendered / "report.typ").read_text(encoding="utf-8")
    assert 'image("figure-2.svg")' in typ and "narrow" not in typ
    assert (rendered / "figure-2-narrow.svg").read_bytes() != (
        rendered / "figure-2.svg"
    ).read_bytes()


def test_danish_numbers_right_aligned(rendered):
    html = (rendered / "report.html").read_text(encoding="utf-8")
    assert "1.234,5" in html and "1.313,5" in html
    assert re.search(r'<td style="text-align: right;">1\.234,5</td>', html)


def test_pdf_text(rendered):
    reader = PdfReader(rendered / "report.pdf")
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Figur 1: En demonstrationsfigur" in text
    assert "Tabel 1: En lang tabel" in text
    assert "1.234,5" in text
    assert "Kolofon" in text and "abc123" in text
    assert "SECRET-DEBUG-OUTPUT" not in text
    # The 80-row table breaks across pages with its header repeated.
    pages_with_header = [p for p in reader.pages if "Beløb" in p.extract_text()]
    assert len(pages_with_header) >= 2
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=1)  # A4


def test_failing_cell_stops_with_notebook_and_cell(tmp_path):
    with pytest.raises(NotebookFailed) as error:
        execute.execute(FIXTURE, tmp_path / "failed.ipynb", {"fail": True}, cwd=tmp_path)
    message = str(error.value)
    assert "render_fixture.py" in message and "deliberate failure" in message and "cell" in message
    assert (tmp_path / "failed.ipynb").exists()


def test_reference_to_unknown_label_fails(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("See @fig-missing.")])
    with pytest.raises(notebook_md.RenderError, match="fig-missing"):
        notebook_md.convert(notebook)


def test_tables_and_figures_are_listed_and_their_code_goes_to_the_results_file():
    import nbformat

    source = "from analysis.reports import quarterly_view as view\nfrom analysis.render import show"
    cell = nbformat.v4.new_code_cell("#| label: tbl-x\nshow.table(view.enrolment_table(inputs))")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"text/markdown": "| a |\n|---:|\n| 1 |"},
            metadata={"relationel": {"kind": "table", "caption": "Indskrivning"}},
        )
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source), cell])
    converted = notebook_md.convert(notebook, "da")
    assert converted.items == [
        ("tbl-x", "Tabel 1: Indskrivning", "analysis.reports.quarterly_view.enrolment_table")
    ]
    # The report lists its tables and figures; the code that makes them is developer text
    # and goes to the results file beside the report, not into the report.
    listing = notebook_md.items_markdown(converted.items, "da")
    assert "- Tabel 1: Indskrivning" in listing and "analysis." not in listing
    assert notebook_md.items_record(converted.items, "quarterly_report.py") == [
        {
            "label": "tbl-x",
            "caption": "Tabel 1: Indskrivning",
            "code": "analysis.reports.quarterly_view.enrolment_table",
        }
    ]


def test_appendix_lists_a_caption_by_its_first_sentence():
    items = [
        (
            "fig-a",
            "Figure 2: Event study: step on the ladder. Quarters −10 to 18; 95% intervals.",
            "analysis.reports.evaluation.event_study_figure",
        ),
        ("fig-b", "Figure 3: Sensitivity, breakdown M̄ = 0.54", "m"),
    ]
    listing = notebook_md.items_markdown(items, "en")
    assert "- Figure 2: Event study: step on the ladder\n" in listing
    assert "Quarters" not in listing and "`" not in listing
    assert "- Figure 3: Sensitivity, breakdown M̄ = 0.54" in listing


def test_figure_alt_text_reaches_the_markdown():
    import nbformat

    output = nbformat.v4.new_output(
        "display_data",
        data={"image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg'/>"},
        metadata={
            "relationel": {
                "kind": "figure",
                "caption": "Kort",
                "label": "fig-a",
                "alt": 'Betalt "1" kr.',
            }
        },
    )
    cell = nbformat.v4.new_code_cell("show.figure(fig)", outputs=[output])
    converted = notebook_md.convert(nbformat.v4.new_notebook(cells=[cell]), "da")
    assert converted.markdown == "![Figur 1: Kort](figure-1.svg){#fig-a alt=\"Betalt '1' kr.\"}"
    assert converted.images["figure-1.svg"].startswith(b"<svg")
    # A narrow drawing (show.figure's narrow) is a second image the layout filter uses.
    output.metadata["relationel"]["narrow"] = "<svg xmlns='http://www.w3.org/2000/svg' id='n'/>"
    converted = notebook_md.convert(nbformat.v4.new_notebook(cells=[cell]), "da")
    assert converted.markdown == (
        '![Figur 1: Kort](figure-1.svg){#fig-a alt="Betalt \'1\' kr." narrow="figure-1-narrow.svg"}'
    )
    assert (
        converted.images["figure-1-narrow.svg"]
        == b"<svg xmlns='http://www.w3.org/2000/svg' id='n'/>"
    )


def test_in_process_run_is_the_kernels(tmp_path, monkeypatch):
    """The in-process run gives the kernel's outputs, a fresh namespace and the old cwd back."""
    before = Path.cwd()
    first = execute.execute(FIXTURE, tmp_path / "a.ipynb", {"lang": "en"}, cwd=tmp_path)
    assert Path.cwd() == before
    injected = [c for c in first.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert [c.source for c in injected] == ["lang = 'en'"]
    monkeypatch.setenv("ANALYSIS_NOTEBOOK_KERNEL", "1")
    kernel = execute.execute(FIXTURE, tmp_path / "b.ipynb", {"lang": "en"}, cwd=tmp_path)
    assert notebook_md.convert(first, "en").markdown == notebook_md.convert(kernel, "en").markdown
    # Nothing of one notebook's variables is left for the next (the shell is reset
    # when the next notebook starts, not after each).
    from IPython.core.interactiveshell import InteractiveShell

    assert "fig" in InteractiveShell.instance().user_ns
    assert "fig" not in execute._shell().user_ns
