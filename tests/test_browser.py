"""The reports in a real browser (headless Debian Chromium), at phone and desktop width.

For every rendered report under ``reports/`` (after ``make report``), the portal
``reports/index.html`` and a report rendered here from Markdown with a deliberately
wide table: no horizontal overflow of the document at 390 and 1280 px, the key
(first) column of every table in view before and after scrolling the table, no
console error, alt text on every figure, readable contrast; every portal link
resolves. Screenshots go to ``build/screenshots/`` for a person to look at.

Needs Chromium (``make browsers`` installs Debian's ``chromium`` and
``chromium-driver``); without it the tests skip with that message.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cdp import Browser, find_chromium

from analysis.paths import BUILD_DIR, REPORTS_DIR
from analysis.render import pandoc

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="no Chromium here: run `make browsers` (apt-get install chromium chromium-driver) "
    "to run the browser tests",
)
WIDTHS = (390, 1280)
SCREENSHOTS = BUILD_DIR / "screenshots"

WIDE_REPORT = """# Sammenfatning

::: {.summary}
En sammenfatning med **fed** tekst og et tal: 1.234,5.
:::

# Tabeller

| Betalingsmål | Antal omfattede personer i alt | Antal nye i kvartalet | Antal opnåede (akk.) | Enhedspris (kr.) | Beløb opgjort (kr.) | Over samlet loft (kr.) | Over afkastloft (kr.) | Status for opgørelsen |
|:---|---:|---:|---:|---:|---:|---:|---:|:---|
| Beskæftigelse (selvforsørgelse) | 1.234 | 56 | 789 | 20.000 | 15.780.000 | 0 | 0 | endelig |
| Sociale foranstaltninger | 2.345 | 67 | 890 | 25.000 | 22.250.000 | 0 | 0 | foreløbig |

: Tabel 1: En bred tabel {#tbl-wide}

![Figur 1: En figur](figure.svg){#fig-demo}

![Figur 2: Et overblik tegnet to gange](board.svg){#fig-board narrow="board-narrow.svg" alt="Overblik i ord"}

Se [Tabel 1](#tbl-wide) og [Figur 1](#fig-demo).
"""

FIGURE = """<svg xmlns="http://www.w3.org/2000/svg" width="504pt" height="252pt" viewBox="0 0 504 252">
<rect width="504" height="252" fill="#ffffff"/><rect x="40" y="40" width="200" height="150" fill="#1F4E79"/>
<text x="260" y="120" font-size="14" font-family="DejaVu Sans">Forklaring</text></svg>"""

# A figure drawn twice (show.figure's narrow): side by side for a desktop, stacked for a phone.
BOARD = FIGURE.replace('width="504pt"', 'width="900pt"').replace("0 0 504 252", "0 0 900 252")
BOARD_NARROW = FIGURE.replace(
    'width="504pt" height="252pt"', 'width="320pt" height="500pt"'
).replace("0 0 504 252", "0 0 320 500")
FIGURE_SHOWN = """((selector) => [...document.querySelectorAll(selector)].map((figure) => {
  const shown = [...figure.querySelectorAll("img")].filter((img) => getComputedStyle(img).display !== "none");
  return {id: figure.id, shown: shown.map((img) => img.className), sideways: figure.scrollWidth - figure.clientWidth,
          width: shown.length ? Math.round(shown[0].getBoundingClientRect().width) : 0};
}))"""

CHECKS = """(() => {
  const vw = window.innerWidth;
  const result = {overflow: document.documentElement.scrollWidth - vw, hidden: [], alt: [], contrast: [], covered: [], cues: []};
  // At rest (scrolled to the left) no cell of a table's header row is covered by another
  // (a sticky column), and a table or figure wider than its frame shows its scroll cue.
  document.querySelectorAll(".table-scroll").forEach((region, i) => {
    region.scrollLeft = 0;
    const name = `table region ${i + 1} "${(region.getAttribute("aria-label") || "").slice(0, 40)}"`;
    const hint = region.parentElement.querySelector(".scroll-hint");
    if (region.scrollWidth > region.clientWidth + 1 && (!hint || getComputedStyle(hint).display === "none")) {
      result.cues.push(`${name}: ${region.scrollWidth} px in ${region.clientWidth} px without a scroll cue`);
    }
    const row = region.querySelector("tr");
    if (!row) return;
    window.scrollTo(0, Math.max(0, row.getBoundingClientRect().top + scrollY - 80));
    const frame = region.getBoundingClientRect();
    [...row.children].forEach((cell) => {
      const r = cell.getBoundingClientRect();
      const y = r.top + Math.min(r.height / 2, 8);
      if (y < 0 || y >= innerHeight || r.right <= frame.left + 6 || r.left >= frame.right - 6) return;
      for (const x of [Math.max(r.left, frame.left) + 3, Math.min(r.right, frame.right) - 3]) {
        const top = document.elementFromPoint(x, y);
        if (top && top !== cell && !cell.contains(top)) {
          result.covered.push(`${name}: column "${cell.textContent.trim().slice(0, 25)}" covered by "${top.textContent.trim().slice(0, 25)}"`);
          break;
        }
      }
    });
  });
  document.querySelectorAll("figure").forEach((figure, i) => {
    const hint = figure.querySelector(".figure-hint");
    if (figure.scrollWidth > figure.clientWidth + 1 && (!hint || getComputedStyle(hint).display === "none")) {
      result.cues.push(`figure ${figure.id || i + 1}: ${figure.scrollWidth} px in ${figure.clientWidth} px without a scroll cue`);
    }
  });
  document.querySelectorAll("table").forEach((table, i) => {
    const region = table.closest(".table-scroll");
    const first = table.querySelector("tr > :first-child");
    if (!first) return;
    const positions = region ? [0, region.scrollWidth] : [0];
    positions.forEach((x) => {
      if (region) region.scrollLeft = x;
      window.scrollTo(0, Math.max(0, first.getBoundingClientRect().top + scrollY - 80));
      const r = first.getBoundingClientRect();
      if (r.left < -1 || r.right > vw + 1 || r.width < 8) {
        result.hidden.push(`table ${i + 1} at scroll ${x}: key column ${Math.round(r.left)}..${Math.round(r.right)}`);
        return;
      }
      // In view and not covered by another (sticky) column: the cell is what is drawn there.
      const y = r.top + Math.min(r.height / 2, 8);
      if (y >= 0 && y < innerHeight) {
        const top = document.elementFromPoint(r.left + r.width / 2, y);
        if (top && top !== first && !first.contains(top)) {
          result.hidden.push(`table ${i + 1} at scroll ${x}: key column covered by ${top.tagName} "${top.textContent.trim().slice(0, 20)}"`);
        }
      }
    });
    if (region) region.scrollLeft = 0;
  });
  window.scrollTo(0, 0);
  document.querySelectorAll("img").forEach((img) => {
    if (!(img.getAttribute("alt") || "").trim()) result.alt.push(img.src.slice(0, 60));
  });
  document.querySelectorAll("svg[role=img]").forEach((svg) => {
    if (!(svg.getAttribute("aria-label") || "").trim()) result.alt.push("inline svg");
  });
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const selector = "p, li, td, th, figcaption, .table-caption, a, h1, h2, h3, dt, dd";
  document.querySelectorAll(selector).forEach((el) => {
    if (!el.textContent.trim()) return;
    const fg = lum(rgb(getComputedStyle(el).color)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) result.contrast.push(`${el.tagName} "${el.textContent.trim().slice(0, 30)}": ${ratio.toFixed(2)}`);
  });
  return result;
})()"""


@pytest.fixture(scope="module")
def browser():
    with Browser(find_chromium()) as instance:
        yield instance


@pytest.fixture(scope="module")
def wide_report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    (folder / "report.md").write_text(WIDE_REPORT, encoding="utf-8")
    (folder / "figure.svg").write_text(FIGURE, encoding="utf-8")
    (folder / "board.svg").write_text(BOARD, encoding="utf-8")
    (folder / "board-narrow.svg").write_text(BOARD_NARROW, encoding="utf-8")
    metadata = {
        "title": "Testrapport",
        "subtitle": "1. kvartal 2025",
        "lang": "da",
        "toc-title": "Indhold",
        "pagetitle": "Testrapport, 1. kvartal 2025",
        "facts": [{"key": "Opgjort pr.", "value": "1. kvartal 2025"}],
        "disclaimer": "Test",
    }
    pandoc.render_html(folder / "report.md", folder / "report.html", metadata)
    return folder / "report.html"


def pages(wide_report: Path) -> list[Path]:
    rendered = sorted(REPORTS_DIR.glob("*/*.html"))
    portal = REPORTS_DIR / "index.html"
    return [wide_report, *rendered, *([portal] if portal.exists() else [])]


def _name(page: Path) -> str:
    return "portal" if page.name == "index.html" else page.name.removesuffix(".html")


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_and_keeps_its_key_column(browser, wide_report, width):
    problems = []
    for page in pages(wide_report):
        browser.viewport(width)
        browser.open(page)
        checks = browser.evaluate(CHECKS)
        errors = browser.errors()
        browser.screenshot(SCREENSHOTS / f"{_name(page)}-{width}.png")
        if checks["overflow"] > 0:
            problems.append(
                f"{page.name} @{width}: document {checks['overflow']} px wider than the screen"
            )
        problems += [f"{page.name} @{width}: {h}" for h in checks["hidden"]]
        problems += [f"{page.name} @{width}: {c}" for c in checks["covered"]]
        problems += [f"{page.name} @{width}: {c}" for c in checks["cues"]]
        problems += [f"{page.name} @{width}: figure without alt text {a}" for a in checks["alt"]]
        problems += [f"{page.name} @{width}: low contrast {c}" for c in checks["contrast"]]
        problems += [f"{page.name} @{width}: console error {e}" for e in errors]
    assert not problems, "\n".join(problems)


def test_wide_table_scrolls_with_a_cue_on_a_phone_and_uses_the_desktop(browser, wide_report):
    browser.viewport(390)
    browser.open(wide_report)
    phone = browser.evaluate(
        "(() => { const r = document.querySelector('.table-scroll'); const hint = document.querySelector('.scroll-hint');"
        " return {over: r.scrollWidth > r.clientWidth, hint: getComputedStyle(hint).display,"
        " last: (() => { r.scrollLeft = r.scrollWidth; const c = r.querySelector('tr > :last-child').getBoundingClientRect(); return c.right <= innerWidth + 1 && c.left >= 0; })()}; })()"
    )
    assert phone == {"over": True, "hint": "block", "last": True}
    browser.viewport(1280)
    browser.open(wide_report)
    desktop = browser.evaluate(
        "(() => { const r = document.querySelector('.table-scroll'); return {width: r.clientWidth, over: r.scrollWidth > r.clientWidth,"
        " hint: getComputedStyle(document.querySelector('.scroll-hint')).display}; })()"
    )
    assert desktop["width"] > 1000 and not desktop["over"] and desktop["hint"] == "none"


def test_a_figure_drawn_twice_shows_its_narrow_drawing_on_a_phone(browser, wide_report):
    # The wide drawing on a desktop; the narrow one on a phone, whole, without scrolling sideways.
    browser.viewport(1280)
    browser.open(wide_report)
    desktop = browser.evaluate(f"{FIGURE_SHOWN}('figure#fig-board')")
    assert desktop[0]["shown"] == ["wide-variant"] and desktop[0]["width"] > 900
    browser.viewport(390)
    browser.open(wide_report)
    phone = browser.evaluate(f"{FIGURE_SHOWN}('figure#fig-board')")
    assert phone[0]["shown"] == ["narrow-variant"] and phone[0]["sideways"] <= 0
    assert 300 < phone[0]["width"] <= 390
    # Every rendered report's dashboard likewise (after `make report`).
    problems = []
    for page in sorted(REPORTS_DIR.glob("*/*.html")):
        browser.open(page)
        for figure in browser.evaluate(f"{FIGURE_SHOWN}('figure:has(img.narrow-variant)')"):
            if figure["shown"] != ["narrow-variant"] or figure["sideways"] > 0:
                problems.append(f"{page.name} #{figure['id']} @390: {figure}")
    assert not problems, "\n".join(problems)


def test_contents_come_after_the_summary(browser, wide_report):
    browser.viewport(1280)
    browser.open(wide_report)
    order = browser.evaluate(
        "(() => { const all = [...document.querySelectorAll('h1:not(.title), nav#TOC')];"
        " return all.map((e) => e.tagName); })()"
    )
    assert order[:3] == ["H1", "NAV", "H1"]


def _open_portal(browser, width: int) -> Path:
    """The rendered portal in the browser at ``width`` (skips when there is none)."""
    portal = REPORTS_DIR / "index.html"
    if not portal.exists():
        pytest.skip("no reports/index.html: run `make report` first")
    browser.viewport(width)
    browser.open(portal)
    return portal


def test_every_portal_link_resolves(browser):
    portal = _open_portal(browser, 1280)
    links = browser.evaluate(
        "[...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href'))"
    )
    assert links, "the portal links to no report"
    missing = []
    for href in links:
        if re.match(r"^[a-z]+:", href):
            missing.append(f"{href}: not a local file")
            continue
        target, _, anchor = href.partition("#")
        path = (portal.parent / target) if target else portal
        if not path.exists():
            missing.append(href)
    assert not missing, missing
    formats = {Path(h).suffix for h in links}
    assert {".html", ".pdf"} <= formats
    # A report opened from the portal loads without console errors.
    first_html = next(h for h in links if h.endswith(".html"))
    browser.open(portal.parent / first_html)
    assert browser.errors() == []


def test_screenshots_are_written(browser, wide_report):
    browser.viewport(390)
    browser.open(wide_report)
    target = SCREENSHOTS / "check-390.png"
    browser.screenshot(target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert datetime.fromtimestamp(target.stat().st_mtime, tz=UTC).year >= 2024


def test_the_portals_table_of_reports_fits_a_phone(browser):
    _open_portal(browser, 390)
    region = browser.evaluate(
        "(() => { const r = document.querySelector('.table-scroll[aria-label=\"Alle rapporter\"]');"
        " return {scroll: r.scrollWidth, client: r.clientWidth,"
        " links: [...r.querySelectorAll('a')].every((a) => { const b = a.getBoundingClientRect();"
        " return b.right <= innerWidth && b.left >= 0; })}; })()"
    )
    # Every report's links in view without scrolling sideways (each language on its own line).
    assert region["scroll"] <= region["client"] + 1 and region["links"], region


def test_the_portals_key_figures_fit_a_phone(browser):
    _open_portal(browser, 390)
    region = browser.evaluate(
        "(() => { const r = document.querySelector('.table-scroll[aria-label=\"Nøgletal\"]');"
        " return {scroll: r.scrollWidth, client: r.clientWidth,"
        " cut: [...r.querySelectorAll('td.num')].filter((c) => {"
        " const b = c.getBoundingClientRect(); return b.right > innerWidth || b.left < 0; })"
        ".map((c) => c.textContent)}; })()"
    )
    # The headline's two columns, every amount whole, without scrolling sideways: a
    # number hidden in words wraps instead of pushing "Udbetalt til dato" out of view.
    assert region["scroll"] <= region["client"] + 1 and not region["cut"], region
