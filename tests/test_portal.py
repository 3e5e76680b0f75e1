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
    assert "Nøgletal, 1. kvartal 2025" in page
    assert "Indskrevne husstande: 150 → 173" in page
    assert "Udbetalt til dato: 0 kr. → 1.739.128 kr." in page
    # A hidden number is said in words in the headline, not as the symbol.
    assert "beskæftigelse (selvforsørgelse): skjult, så intet lille antal" in page
    assert ": * →" not in page and "→ *" not in page
    assert not re.search(r"(src|href)=['\"]https?:", page)
    assert page.count("<svg") == 1 and 'role="img" aria-label="Kumulerede' in page
