"""The reports point a reader only to what the reader has: no path into the repository's docs.

A foundation reads the PDF, not the repository; a caption or annex that sends it to
``docs/evaluation.md`` points nowhere (issue #35's review of Table 3's caption).
"""

from __future__ import annotations

from analysis.paths import ROOT


def test_no_report_text_points_into_the_repositorys_docs():
    sources = [ROOT / "analysis" / "catalogue.yaml"]
    sources += sorted((ROOT / "notebooks").glob("*.md"))
    sources += sorted((ROOT / "notebooks").glob("*.py"))
    found = [
        f"{path.name}:{number}"
        for path in sources
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "docs/" in line
    ]
    assert not found, found
