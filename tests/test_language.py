"""Report language: English without Danish words, no template plurals, abbreviations explained.

Checks the text catalogue, the prose builders and the glossary always, and every
rendered report under ``reports/`` when ``make report`` has made them.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from analysis.config import contract as load_contract
from analysis.paths import NOTEBOOKS_DIR, REPORTS_DIR
from analysis.render import glossary, inline, numbers
from analysis.reports import quarterly_view
from analysis.reports.text import TEXT

# Names that stay Danish in an English report (programme, places, funds, people).
PROPER_NAMES = (
    "Relationel velfærd – sammen på tværs",
    "Relationel velfærd",
    "Den Sociale Investeringsfond",
    "Poul Due Jensens Fond",
    "Landsbyggefonden",
    "Viborg Kommune",
    "Houlkærvænget",
    "Ellekonebakken",
    "Karup Kølvrå",
    "Callaway–Sant'Anna",
    "SØM",
)
DANISH_LETTERS = re.compile(r"[æøåÆØÅ]")
DANISH_WORDS = re.compile(
    r"\b(og|ikke|af|til|med|eller|kvartal|husstande|betalingsmål|foreløbig|endelig|skjult|"
    r"personer|antal|beløb|udbetalt|opgjort|indskrevne|tabel|figur)\b",
    re.IGNORECASE,
)
DANISH_DEFECTS = (
    "gennembrud",
    "Præ-trend",
    "parallelle trends",
    "Event study",
    "så tabellen viser",
)


def english_problems(text: str) -> list[str]:
    """Danish letters or words in English text, once proper names are taken out."""
    for name in PROPER_NAMES:
        text = text.replace(name, " ")
    problems = [
        f"Danish letter in …{text[max(0, m.start() - 30) : m.end() + 30]}…"
        for m in DANISH_LETTERS.finditer(text)
    ]
    problems += [
        f"Danish word {m.group(0)!r} in …{text[max(0, m.start() - 30) : m.end() + 30]}…"
        for m in DANISH_WORDS.finditer(text)
    ]
    if "(s)" in text:
        problems.append("template plural '(s)'")
    return problems


def visible_text(document: str) -> str:
    """The text a reader sees, without scripts, styles, embedded images or parts marked Danish."""
    document = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", document, flags=re.DOTALL)
    document = re.sub(r'<span lang="da">.*?</span>', " ", document, flags=re.DOTALL)
    document = re.sub(r'<span class="lang" lang="da">.*?</span>', " ", document, flags=re.DOTALL)
    document = re.sub(r"<[^>]+>", " ", document)
    return html.unescape(" ".join(document.split()))


def test_english_catalogue_has_no_danish():
    problems = [f"{key}: {p}" for key, value in TEXT["en"].items() for p in english_problems(value)]
    assert not problems, problems


def test_english_methods_text_has_no_danish_and_no_template_plural():
    # notebooks/_methods.md as the quarterly report includes it.
    values = quarterly_view.methods_values(load_contract(), "en")
    text = inline.render_file(NOTEBOOKS_DIR / "_methods.md", "en", {"m": values})
    assert english_problems(text) == []


def test_the_language_checks_find_danish():
    assert english_problems("The households (husstande) and 1 point(s)") != []
    assert english_problems("Karup Kølvrå and Houlkærvænget are areas.") == []


def test_plural_percent_quarter_interval():
    assert numbers.plural(1, "point", "points") == "1 point"
    assert numbers.plural(2, "quarter", "quarters") == "2 quarters"
    assert numbers.percent(0.95, 0, "en") == "95%"
    assert numbers.percent(0.95, 0, "da") == "95\u00a0%"
    assert numbers.quarter("2027Q1", "da") == "1. kvartal 2027"
    assert numbers.quarter("2027Q1", "en") == "Q1 2027"
    assert numbers.interval(0.185, 0.308, 3, "da") == "[0,185;\u00a00,308]"
    assert numbers.interval(-1.38, -0.25, 2, "en") == "[\u22121.38,\u00a0\u22120.25]"


def test_abbreviations_written_out_at_first_use_only():
    markdown = (
        "# DSI\n\n| TWFE | x |\n|:--|--:|\n| LBF | 1 |\n\nDSI og PDJF investerer. Igen DSI og LBF."
        "\n\nFølsomhed, M̄ = 1,2.\n\nto-vejs faste effekter (TWFE) og TWFE."
    )
    out = glossary.expand_first_use(markdown, "da")
    # Headings and a table's header row keep the short form; a table's body does not.
    assert out.startswith("# DSI\n\n| TWFE | x |\n|:--|--:|\n| Landsbyggefonden (LBF) | 1 |")
    assert out.endswith("to-vejs faste effekter (TWFE) og TWFE.")
    assert (
        "Den Sociale Investeringsfond (DSI) og Poul Due Jensens Fond (PDJF) investerer. Igen DSI og LBF."
        in out
    )
    assert "M̄ (nedbrudspunktet) = 1,2" in out


def test_glossary_names_every_abbreviation_of_the_issue():
    for lang in ("da", "en"):
        section = glossary.glossary_markdown(lang)
        for abbreviation in ("DSI", "PDJF", "LBF", "SØM", "M̄", "TWFE"):
            assert f"| {abbreviation} |" in section
    english = glossary.glossary_markdown("en")
    assert "[betalingsmål]{lang=da}" in english


def _rendered(lang: str) -> list[Path]:
    return sorted(REPORTS_DIR.glob(f"*/*.{lang}.html"))


def test_rendered_english_reports_have_no_danish():
    reports = _rendered("en")
    if not reports:
        pytest.skip("no English report rendered: run `make report` first")
    problems = []
    for report in reports:
        text = visible_text(report.read_text(encoding="utf-8"))
        # The colophon lists file names and package versions, not prose.
        text = text.split(" Colophon ")[0]
        problems += [f"{report.name}: {p}" for p in english_problems(text)]
    assert not problems, "\n".join(problems[:30])


def test_rendered_reports_have_no_known_language_defects():
    reports = _rendered("da") + _rendered("en")
    if not reports:
        pytest.skip("no report rendered: run `make report` first")
    problems = []
    for report in reports:
        text = visible_text(report.read_text(encoding="utf-8"))
        # Before the glossary: the report proper, where an abbreviation must be written out.
        text = re.split(r" (?:Ordliste|Glossary) ", text)[0]
        problems += [f"{report.name}: {d!r}" for d in DANISH_DEFECTS if d in text]
        if "(s)" in text:
            problems.append(f"{report.name}: template plural '(s)'")
        for abbreviation in ("DSI", "PDJF", "LBF", "TWFE"):
            if abbreviation in text and f"({abbreviation})" not in text:
                problems.append(f"{report.name}: {abbreviation} never written out")
    assert not problems, "\n".join(problems[:30])
