"""The reports as a board member, a finance officer and a phone reader meet them (issue #33).

Numbers: every printed total is the sum of its printed rows; the table of settled
reports keeps paid to date apart from what is earned but not yet paid, and its total
is page 1's paid to date; the portal heads with the latest report's numbers. Text:
no developer text, no typed year, the simulated timeline said on page 1, one word
for the event study, effects on shares in percentage points in table and text
alike, budget economics on the municipality's outcome payments and the
foundations' investment.

The checks on rendered reports run on what ``make report`` left under ``reports/``
and skip when there is none.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from analysis import catalogue, quarters
from analysis.paths import REPORTS_DIR
from analysis.payments.periods import result_periods
from analysis.sdc.suppress import SUPPRESSED

SOFT_HYPHEN = "\u00ad"


class _Tables(HTMLParser):
    """Every table of an HTML report: its id (the wrapper's), header and rows as cell texts."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self._block_id = None
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and "table-block" in (attrs.get("class") or ""):
            self._block_id = attrs.get("id")
        elif tag == "table":
            self.tables.append({"id": self._block_id, "rows": []})
            self._block_id = None
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()).replace(SOFT_HYPHEN, ""))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1]["rows"].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables_of(page: Path) -> list[dict]:
    parser = _Tables()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.tables


def amount(cell: str, lang: str) -> float | None:
    """A printed number (``1.234.567 kr.``, ``−2.825``, ``DKK 1,234``), None if it is not one."""
    text = cell.replace("kr.", "").replace("DKK", "").replace("\u00a0", "").strip()
    text = text.replace("−", "-").replace(" ", "")
    thousands, decimal = (".", ",") if lang == "da" else (",", ".")
    if not re.fullmatch(rf"-?\d{{1,3}}(\{thousands}\d{{3}})*(\{decimal}\d+)?", text):
        return None
    return float(text.replace(thousands, "").replace(decimal, "."))


def _lang(path: Path) -> str:
    return "en" if ".en." in path.name else "da"


def _html_reports() -> list[Path]:
    reports = sorted(REPORTS_DIR.glob("*/*.html"))
    if not reports:
        pytest.skip("no report rendered: run `make report` first")
    return reports


def _results(page: Path) -> dict:
    return json.loads(
        page.with_name(page.name.removesuffix(".html") + ".results.json").read_text("utf-8")
    )


def _pdf_pages(pdf: Path) -> list[str]:
    if not shutil.which("pdftotext"):
        pytest.skip("no pdftotext: run `make browsers` (poppler-utils)")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return text.split("\f")


def _pdfs() -> list[Path]:
    pdfs = sorted(REPORTS_DIR.glob("*/*.pdf"))
    if not pdfs:
        pytest.skip("no report rendered: run `make report` first")
    return pdfs


# -- numbers -------------------------------------------------------------------------------


def test_every_printed_total_is_the_sum_of_its_printed_rows():
    problems, checked = [], 0
    for page in _html_reports():
        lang = _lang(page)
        total_word = catalogue.t("row.total", lang)
        for table in tables_of(page):
            rows = table["rows"]
            totals = [r for r in rows[1:] if r and r[0] == total_word]
            if not totals:
                continue
            body = [r for r in rows[1:] if r and r[0] != total_word]
            for index, header in enumerate(rows[0][1:], start=1):
                printed = amount(totals[0][index], lang)
                cells = [amount(r[index], lang) for r in body]
                if printed is None or any(c is None for c in cells):
                    continue
                checked += 1
                if abs(printed - sum(cells)) > 1e-9:
                    problems.append(
                        f"{page.name} {table['id']} '{header}': total {printed:,.0f}, "
                        f"rows sum to {sum(cells):,.0f}"
                    )
    assert checked, "no table with a total row"
    assert not problems, "\n".join(problems)


def test_paid_to_date_counts_only_what_is_paid_and_is_page_ones():
    problems, checked = [], 0
    for page in _html_reports():
        lang = _lang(page)
        numbers = _results(page)["numbers"]
        for table in tables_of(page):
            if table["id"] != "tbl-caps":
                continue
            header = [h.lower() for h in table["rows"][0]]
            assert not any(h.startswith(("udbetalt i alt", "paid in total")) for h in header)
            column = header.index(catalogue.t("col.paid_to_date", lang).lower())
            awaiting = header.index(catalogue.t("col.awaiting", lang).lower())
            total = table["rows"][-1]
            checked += 1
            if amount(total[column], lang) != round(numbers["payments_paid_total"]):
                problems.append(f"{page.name}: paid to date {total[column]} in the table")
            if amount(total[awaiting], lang) != round(numbers["payments_awaiting"]):
                problems.append(f"{page.name}: earned, not yet paid {total[awaiting]}")
    assert checked, "no table of settled reports"
    assert not problems, "\n".join(problems)


def test_the_portal_heads_with_the_latest_reports_paid_to_date():
    portal = REPORTS_DIR / "index.html"
    if not portal.exists():
        pytest.skip("no reports/index.html: run `make report` first")
    final = REPORTS_DIR / "final" / "slutevaluering.da.html"
    if not final.exists():
        pytest.skip("no final evaluation rendered")
    numbers = _results(final)["numbers"]
    text = portal.read_text(encoding="utf-8")
    headline = text[text.index("<h2>Nøgletal") :]
    headline = headline[: headline.index("</table>")]
    as_of = _results(final)["as_of"]
    assert f"Nøgletal, {as_of[-1]}. kvartal {as_of[:4]}" in headline
    paid = re.search(r"<td>Udbetalt til dato</td><td class='num'>([^<]+)</td>", headline)
    assert paid and amount(paid.group(1), "da") == round(numbers["payments_paid_total"])


def _visible_text(page: Path) -> str:
    """The text a reader sees on an HTML page: no style, script or markup."""
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"<(style|script)\b.*?</\1>", " ", text, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def test_no_suppression_symbol_on_page_one_or_in_the_portal():
    """A hidden headline number is said in words: page 1 and the portal show no ``*``.

    The symbol belongs to the tables further in, with their footnote; on page 1 and in
    the portal (headline and change log) a ``*`` reads as a number that is missing.
    """
    problems = []
    for pdf in _pdfs():
        page = _pdf_pages(pdf)[0]
        problems += [
            f"{pdf.name} page 1: {' '.join(line.split())!r}"
            for line in page.splitlines()
            if SUPPRESSED in line
        ]
    portal = REPORTS_DIR / "index.html"
    if portal.exists():
        text = _visible_text(portal)
        problems += [
            f"portal: ...{text[max(0, i - 60) : i + 20]}..."
            for i in (m.start() for m in re.finditer(re.escape(SUPPRESSED), text))
        ]
    assert not problems, "\n".join(problems)


PAGE_ONE_MONEY = {
    "da": {
        "paid": r"udbetalt til dato ([\d.]+) kr\.",
        "later": r"Afregnet og til udbetaling senere: ([\d.]+) kr\.",
        "projected": r"Forventet udbetalt ved kontraktens slutning: ([\d.]+) kr\.",
    },
    "en": {
        "paid": r"paid to date DKK ([\d,]+)",
        "later": r"Settled and to be paid later: DKK ([\d,]+)",
        "projected": r"Projected to be paid by the end of the contract: DKK ([\d,]+)",
    },
}


def test_a_certain_projection_is_paid_to_date_plus_settled_to_be_paid_later():
    """Once every result report is settled, page 1 gives one amount, not a rounded second.

    Quarterly 2028Q1 said "beløbet ligger fast" and projected 20.637.000 kr. beside
    16.637.470 kr. paid and 3.999.865 kr. settled to be paid later (20.637.335 kr.).
    """
    problems, checked = [], 0
    for pdf in _pdfs():
        lang = _lang(pdf)
        page = " ".join(_pdf_pages(pdf)[0].split())
        if catalogue.t("forecast.certain", lang).strip() not in page:
            continue
        found = {k: re.search(v, page) for k, v in PAGE_ONE_MONEY[lang].items()}
        values = {k: amount(m.group(1), lang) if m else 0.0 for k, m in found.items()}
        checked += 1
        if found["projected"] is None or values["projected"] != values["paid"] + values["later"]:
            problems.append(f"{pdf.name}: {values}")
    if not checked:
        pytest.skip("no report with every result report settled and not yet paid")
    assert not problems, "\n".join(problems)


# -- text ----------------------------------------------------------------------------------


def test_page_one_says_the_timeline_is_simulated():
    for pdf in _pdfs():
        page = " ".join(_pdf_pages(pdf)[0].split())
        data = _results(pdf.with_suffix(".html"))
        if data.get("data_kind") != "synthetic":
            continue
        word = "simulerede" if _lang(pdf) == "da" else "simulated"
        assert word in page, f"{pdf.name}: page 1 does not say the timeline is simulated"


@pytest.mark.parametrize("lang", ["da", "en"])
def test_page_ones_disclosure_note_explains_the_hidden_bars_and_the_asterisk(contract, lang):
    """The note under the title explains what page 1's chart and prose and the tables show.

    Page 1's chart says "skjult (diskretion)" for a target's bar, the prose "skjult, så
    ...", and tables further in show ``*``. The note said only that table cells of
    fewer than 5 persons are not shown: a board member could not tell why the chart
    hides school absence (many persons), hidden so that a small count cannot be worked
    out from it.
    """
    from datetime import datetime

    from analysis.render.build import _title_metadata
    from analysis.reports.kinds import load_kind

    meta = _title_metadata(
        load_kind("final"), contract, "2028Q3", lang, datetime(2026, 12, 7), True, "0" * 40
    )
    note = meta["disclaimer"]
    hidden = catalogue.t("dash.status.hidden", lang).split(" ")[0]
    words = (
        ("figurer", "stjerne", "regnes ud")
        if lang == "da"
        else ("figures", "asterisk", "worked out")
    )
    for word in (hidden, *words):
        assert word in note, f"{lang}: {word!r} not in the note {note!r}"
    assert SUPPRESSED not in note


def test_no_developer_text_typed_year_or_broken_compound_in_the_reports(contract):
    last = result_periods(contract)[-1]
    year_after = str(int(quarters.from_index(last.last)[:4]) + 1)
    problems = []
    for pdf in _pdfs():
        text = "\f".join(_pdf_pages(pdf))
        # The colophon lists files and packages; the report proper ends before it.
        text = re.split(r"\n(?:Kolofon|Colophon)\n", text)[0]
        for bad in ("python -m", "analysis.reports", "analysis.render", f"før {year_after}"):
            if bad in text:
                problems.append(f"{pdf.name}: {bad!r}")
        if f"before {year_after} every" in text:
            problems.append(f"{pdf.name}: typed year 'before {year_after}'")
        # typst's Danish patterns broke "Resultatrapport" as "Resulta-trapport".
        if re.search(r"(?<![\wæøå])trapport", text):
            problems.append(f"{pdf.name}: 'Resulta-trapport'")
        if re.search(r"\b\d{4}Q\d (?:er et|is a) result", text):
            problems.append(f"{pdf.name}: a quarter written YYYYQn in a sentence")
    assert not problems, "\n".join(problems)


def test_danish_reports_say_haendelsesstudie_and_english_writes_95_percent_one_way():
    problems = []
    for page in _html_reports():
        text = page.read_text(encoding="utf-8")
        if _lang(page) == "da" and "Event study" in text:
            problems.append(f"{page.name}: 'Event study' in a Danish report")
        if _lang(page) == "en" and re.search(r"95[\u00a0 ]%", text):
            problems.append(f"{page.name}: '95 %' in an English report")
    assert not problems, "\n".join(problems)
    for key, entry in catalogue.entries().items():
        assert not re.search(r"95[\u00a0 ]%", entry["en"]), key


def test_effects_on_shares_are_in_percentage_points_in_the_table_as_in_the_summary():
    reports = [p for p in _html_reports() if p.parent.name in ("final", "preliminary_final")]
    if not reports:
        pytest.skip("no final evaluation rendered")
    for page in reports:
        lang = _lang(page)
        effects = next(t for t in tables_of(page) if t["id"] == "tbl-effects")
        share = next(
            r for r in effects["rows"][1:] if r[0].startswith(("Selvforsørgende", "Self-supp"))
        )
        assert share[0].endswith(("procentpoint", "percentage points")), share
        value = amount(share[1], lang)
        # A share's effect in points is of the order of points, not of hundredths.
        assert value is not None and abs(value) > 0.5, share


def test_budget_economics_compares_with_the_outcome_payments_and_the_investment():
    page = REPORTS_DIR / "final" / "final-evaluation.en.html"
    if not page.exists():
        pytest.skip("no final evaluation rendered")
    numbers = _results(page)["numbers"]
    text = " ".join(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")).split())
    text = text.replace("\u2019", "'")
    sentence = text[text.index("The total public gain") :]
    sentence = sentence[: sentence.index(".", sentence.index("intervention"))]
    paid = f"DKK {round(numbers['payments_settled_total']):,}"
    assert "the programme's cost" not in sentence
    assert paid in sentence and "the outcome payments" in sentence, sentence
    assert "the foundations' investment" in sentence, sentence
