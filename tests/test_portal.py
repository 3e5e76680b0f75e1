"""The reports portal: every report listed with its links, latest key figures, change log."""

from __future__ import annotations

import json
import re
from pathlib import Path

from analysis.render import portal


def _report(root: Path, kind: str, stem: str, as_of: str, lang: str, numbers: dict) -> None:
    folder = root / kind
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"report": kind, "as_of": as_of, "lang": lang, "numbers": numbers}
    (folder / f"{stem}.{lang}.results.json").write_text(json.dumps(doc), encoding="utf-8")
    (folder / f"{stem}.{lang}.html").write_text("<html></html>", encoding="utf-8")
    (folder / f"{stem}.{lang}.pdf").write_bytes(b"%PDF-1.7")


def test_portal_lists_reports_key_figures_and_changes(tmp_path):
    first = {
        "enrolled_households": 150,
        "payments_due_total": 0.0,
        "payments_paid_total": 0.0,
        "achievements_cumulative.employment": "*",
    }
    second = {
        "enrolled_households": 173,
        "payments_due_total": 1739128.0,
        "payments_paid_total": 1739128.0,
        "achievements_cumulative.employment": 19,
    }
    _report(tmp_path, "quarterly", "kvartalsrapport-2024Q4", "2024Q4", "da", first)
    _report(tmp_path, "quarterly", "kvartalsrapport-2025Q1", "2025Q1", "da", second)
    for lang, stem in (("da", "midtvejsevaluering"), ("en", "midterm-evaluation")):
        _report(tmp_path, "midterm", stem, "2025Q2", lang, second)
    # A report whose PDF is missing is not listed (it is not complete).
    _report(tmp_path, "quarterly", "kvartalsrapport-2025Q2", "2025Q2", "da", second)
    (tmp_path / "quarterly" / "kvartalsrapport-2025Q2.da.pdf").unlink()

    page = portal.build_portal(tmp_path)
    links = re.findall(r"href='([^']+)'", page)
    assert (
        "midterm/midterm-evaluation.en.html" in links
        and "midterm/midtvejsevaluering.da.pdf" in links
    )
    assert not any("2025Q2.da" in link for link in links)
    assert all((tmp_path / link).exists() for link in links)
    # Newest first: the midterm (2. kvartal 2025) before the quarterly of 1. kvartal 2025.
    assert page.index("Midtvejsevaluering") < page.index("kvartalsrapport-2025Q1")
    # The headline is the newest report's: the midterm evaluation as of 2. kvartal 2025.
    assert "Nøgletal, 2. kvartal 2025" in page and "midtvejsevaluering, 2. kvartal 2025" in page
    assert "Indskrevne husstande: 150 → 173" in page
    assert "Udbetalt til dato: 0 kr. → 1.739.128 kr." in page
    # A hidden number is said in words in the headline, not as the symbol.
    assert "beskæftigelse (selvforsørgelse): skjult, så intet lille antal" in page
    assert ": * →" not in page and "→ *" not in page
    assert not re.search(r"(src|href)=['\"]https?:", page)
    assert page.count("<svg") == 1 and 'role="img" aria-label="Kumulerede' in page


def test_portal_headline_is_the_latest_report_the_final_evaluation_once_there_is_one(tmp_path):
    quarterly = {"payments_paid_total": 10822470.0, "payments_awaiting": 5928522.0}
    final = {
        "payments_paid_total": 21090419.0,
        "payments_awaiting": 0.0,
        "payments_withheld_total": 0.0,
        "projected_paid_median": 21090000.0,
        "investors.DSI.irr_realised": 0.035,
        "investors.PDJF.irr_realised": 0.035,
    }
    _report(tmp_path, "quarterly", "kvartalsrapport-2027Q1", "2027Q1", "da", quarterly)
    for lang, stem in (("da", "slutevaluering"), ("en", "final-evaluation")):
        _report(tmp_path, "final", stem, "2028Q3", lang, final)
    page = portal.build_portal(tmp_path)
    # The headline comes first, above the list of every report.
    headline = page[page.index("<h2>Nøgletal") : page.index("<h2>Alle rapporter")]
    assert "Nøgletal, 3. kvartal 2028" in headline
    assert "slutevaluering og effektmåling, 3. kvartal 2028" in headline
    assert "<td>Udbetalt til dato</td><td class='num'>21.090.419 kr.</td>" in headline
    assert "10.822.470" not in headline
    # One story of the money: paid, earned but not yet paid, withheld by the caps (with the
    # rule), and the investors' return.
    assert "Optjent og afregnet, endnu ikke udbetalt</td><td class='num'>0 kr.</td>" in headline
    assert "Tilbageholdt af lofterne" in headline and "Lofterne:" in headline
    # After the final settlement nothing is projected: no projection beside paid to date.
    assert "Forventet udbetalt" not in headline
    assert "Investorernes interne rente</td><td class='num'>3,5\u00a0% om året" in headline


def test_portal_tables_carry_a_scroll_cue_and_stack_the_languages_on_a_phone(tmp_path):
    _report(tmp_path, "quarterly", "kvartalsrapport-2025Q1", "2025Q1", "da", {})
    page = portal.build_portal(tmp_path)
    # Each table region has its cue (shown by report.js and the stylesheet when it overflows).
    regions = page.count("class='table-scroll'") + page.count('class="table-scroll"')
    assert regions == 2
    assert page.count("class='scroll-hint'") + page.count('class="scroll-hint"') == regions
    assert "@media (max-width: 600px) { .lang { display: block;" in page


def test_portal_heads_with_the_key_figures_in_the_reports_words(tmp_path):
    """Key figures first (above the list of reports), hidden numbers in the reports' words,
    and the adjustments of settled amounts beside paid to date."""
    final = {
        "payments_paid_total": 20637335.0,
        "adjustments_total": -31213.0,
        "adjustments_paid_total": 0.0,
        "achievements_cumulative.employment": "*",
    }
    for lang, stem in (("da", "slutevaluering"), ("en", "final-evaluation")):
        _report(tmp_path, "final", stem, "2028Q3", lang, final)
    page = portal.build_portal(tmp_path, min_persons=5)
    assert page.index("<h2>Nøgletal") < page.index("<h2>Alle rapporter")
    headline = page[page.index("<h2>Nøgletal") : page.index("<h2>Alle rapporter")]
    assert "skjult, så intet antal under 5 personer kan regnes ud" in headline
    # Only the hidden number may wrap (the words are wider than a phone); amounts do not.
    assert headline.count("class='num words'") == 1
    assert "<td class='num words'>skjult" in headline
    assert "intet lille antal" not in page
    assert (
        "<td>Reguleringer af afregnede beløb i alt (senere data; udbetales ikke)</td>"
        "<td class='num'>−31.213 kr.</td>" in headline
    )


def test_a_failed_evaluation_is_listed_as_failed_not_as_due(tmp_path):
    """After a failed step the portal names the evaluation that failed, from the build's record."""
    from analysis.pipeline.cli import main
    from analysis.render import failures

    reports, records = tmp_path / "reports", tmp_path / "failed"
    _report(reports, "quarterly", "kvartalsrapport-2025Q2", "2025Q2", "da", {})
    evaluations = {"midterm": "2025Q2", "preliminary_final": "2027Q1", "final": "2028Q3"}
    # The final's estimation failed in this build; a record of another cut-off (another
    # contract's) says nothing of this one's midterm.
    failures.note("final", "estimates", "2028Q3", True, records)
    failures.note("midterm", "results", "2024Q4", True, records)
    page = portal.build_portal(reports, evaluations=evaluations, failed=failures.failed(records))
    final_row = next(r for r in page.split("<tr>") if "Slutevaluering og" in r)
    assert "failed in this build (step: estimates)" in final_row
    assert "due when" not in final_row
    midterm_row = next(r for r in page.split("<tr>") if "Midtvejsevaluering<br>" in r)
    assert "due when the data reach" in midterm_row and "failed" not in midterm_row
    # The step succeeds next time: its record is gone, and the evaluation is due again.
    failures.note("final", "estimates", "2028Q3", False, records)
    assert "final" not in failures.failed(records)

    # The command line notes a failed evaluation step (in the folder the tests' conftest
    # gives it), with the contract's cut-off.
    assert main(["evaluate", "final", "--data", str(tmp_path / "no-extract")]) == 1
    assert failures.failed()["final"] == [
        {"kind": "final", "as_of": evaluations["final"], "step": "results"}
    ]
    failures.note("final", "results", None, False)
