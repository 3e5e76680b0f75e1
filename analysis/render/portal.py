"""The reports portal, ``reports/index.html``: every report on one self-contained page.

Built from the results files published beside the reports (``*.results.json``),
so it shows only numbers that passed disclosure control (a hidden number is
recorded there as ``*`` and said in words on the page). It lists every report by date and
kind with its language and format links under the key figures of the latest report
(the final evaluation once there is one: :func:`latest`), cumulative payments over
time (an inline SVG chart) and a change log: what changed in the key figures from
each quarterly report to the next.
"""

from __future__ import annotations

import html
import io
import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt

from analysis import atomic, quarters
from analysis.render import numbers
from analysis.render.pandoc import TEMPLATES
from analysis.render.style import NEUTRAL, PRIMARY, apply_theme
from analysis.sdc.suppress import hidden_words

KIND_ORDER = ("final", "preliminary_final", "midterm", "quarterly")
KIND_NAMES = {
    "quarterly": ("Kvartalsrapport", "Quarterly result report"),
    "midterm": ("Midtvejsevaluering", "Midterm evaluation"),
    "preliminary_final": ("Foreløbig slutevaluering", "Preliminary final evaluation"),
    "final": ("Slutevaluering og effektmåling", "Final evaluation and effect measurement"),
}
LANG_NAMES = {"da": "dansk", "en": "English"}
# The key figures of the portal, in the order shown: (results-file name, Danish label, kind of
# number). The money in the words of every report's page 1: paid to date, earned but not yet
# paid, withheld by the caps, projected.
KEY_FIGURES = (
    ("enrolled_households", "Indskrevne husstande", "count"),
    ("enrolled_persons", "Indskrevne personer", "count"),
    ("payments_due_total", "Opgjort i afregnede resultatrapporter (før lofter)", "money"),
    ("payments_paid_total", "Udbetalt til dato", "money"),
    ("payments_awaiting", "Optjent og afregnet, endnu ikke udbetalt", "money"),
    ("payments_withheld_total", "Tilbageholdt af lofterne (udbetales ikke)", "money"),
    ("adjustments_total", "Reguleringer af afregnede beløb i alt (senere data)", "money"),
    ("payments_provisional_total", "Optjent i løbende periode, endnu ikke afregnet", "money"),
    ("projected_paid_median", "Forventet udbetalt ved kontraktens slutning (median)", "money"),
)
# The adjustments' label where the contract does not pay them (none paid to date).
ADJUSTMENTS_NOT_PAID = "Reguleringer af afregnede beløb i alt (senere data; udbetales ikke)"
# The one-sentence rule of the caps, under the key figures.
CAP_RULE = (
    "Lofterne: resultatbetalingerne i alt udbetales højst op til det samlede loft, og "
    "investorernes afkast højst op til afkastloftet; beløb derover vises, men udbetales ikke."
)
TARGET_NAMES = {
    "employment": "Beskæftigelse (selvforsørgelse)",
    "social_measures": "Sociale foranstaltninger",
    "life_satisfaction": "Livstilfredshed",
    "action_plan_goals": "Handleplansmål",
}


@dataclass(frozen=True)
class Entry:
    """One report (a kind, a quarter and a language) and its files."""

    kind: str
    as_of: str
    lang: str
    html: Path
    pdf: Path
    numbers: dict


def collect(reports_root: Path) -> list[Entry]:
    """Every report under ``reports_root`` that has its results file, HTML and PDF."""
    entries = []
    for path in sorted(Path(reports_root).glob("*/*.results.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        stem = path.name.removesuffix(".results.json")
        html_file, pdf_file = path.with_name(f"{stem}.html"), path.with_name(f"{stem}.pdf")
        if html_file.exists() and pdf_file.exists():
            entries.append(
                Entry(doc["report"], doc["as_of"], doc["lang"], html_file, pdf_file, doc["numbers"])
            )
    return entries


def _value(value, kind: str, min_persons: int | None = None) -> str:
    if value == "*" or value is None:
        # The headline says in words why a number is hidden, in the reports' words.
        return hidden_words("da", min_persons) if value == "*" else "–"
    return numbers.dkk(value, "da") if kind == "money" else numbers.number(value, 0, "da")


def _shown(value, kind: str, min_persons: int | None = None) -> tuple[str, bool]:
    """A key figure as shown, and whether it is hidden by disclosure control."""
    return _value(value, kind, min_persons), value == "*"


def _return(entry: Entry) -> tuple[str, str] | None:
    """The investors' internal rate of return (realised, else projected), if the report gives one."""
    for kind, label in (
        ("realised", "Investorernes interne rente"),
        ("projected", "Investorernes forventede interne rente"),
    ):
        rates = [v for k, v in entry.numbers.items() if k.endswith(f".irr_{kind}")]
        rates = [v for v in rates if isinstance(v, int | float) and v == v]
        # Every investor gets the same rate (repayments are shared in proportion to the
        # investment); different rates would need a row each.
        if rates and max(rates) - min(rates) < 1e-9:
            return label, f"{numbers.percent(rates[0], 1, 'da')} om året"
    return None


def latest(entries: list[Entry]) -> Entry | None:
    """The report whose numbers the portal heads with: the newest by its as-of quarter.

    At one quarter an evaluation comes before the quarterly report (its numbers are
    the same ledger's, with the evaluation's settlement), the final evaluation first;
    the Danish report where there is one.
    """
    if not entries:
        return None
    return min(
        entries,
        key=lambda e: (-quarters.to_index(e.as_of), KIND_ORDER.index(e.kind), e.lang != "da"),
    )


def _label(entry: Entry, name: str, label: str) -> str:
    """A key figure's label; the adjustments say whether they are paid (the contract decides)."""
    if name == "adjustments_total" and entry.numbers.get("adjustments_paid_total") == 0:
        return ADJUSTMENTS_NOT_PAID
    return label


def _key_figures(entry: Entry, min_persons: int | None = None) -> str:
    irr = _return(entry)
    settled = irr is not None and irr[0] == "Investorernes interne rente"
    # Each row: label, the value as shown, and whether it is hidden (said in words).
    rows = [
        (_label(entry, name, label), *_shown(entry.numbers.get(name), kind, min_persons))
        for name, label, kind in KEY_FIGURES
        # After the final settlement nothing is projected (as in the report's key figures).
        if name in entry.numbers and not (settled and name == "projected_paid_median")
    ]
    if irr:
        rows.append((*irr, False))
    rows += [
        (
            f"Opnåede resultater: {label.lower()}",
            *_shown(entry.numbers.get(f"achievements_cumulative.{t}"), "count", min_persons),
        )
        for t, label in TARGET_NAMES.items()
        if f"achievements_cumulative.{t}" in entry.numbers
    ]
    # A number hidden in words may wrap: kept on one line it is wider than a phone and
    # pushes the amounts beside it out of view.
    body = "".join(
        f"<tr><td>{html.escape(k)}</td><td class='{'num words' if hidden else 'num'}'>"
        f"{html.escape(v)}</td></tr>"
        for k, v, hidden in rows
    )
    return (
        "<div class='table-block'><p class='scroll-hint' aria-hidden='true'>Stryg eller rul til "
        "siden for flere kolonner →</p><div class='table-scroll' tabindex='0' role='region' "
        "aria-label='Nøgletal'><table><thead><tr><th>Nøgletal</th><th>Værdi</th></tr></thead>"
        f"<tbody>{body}</tbody></table></div></div>"
    )


def changes(earlier: Entry, later: Entry, min_persons: int | None = None) -> list[str]:
    """What changed in the key figures from one quarterly report to the next, in words."""
    lines = []
    names = [(n, label, kind) for n, label, kind in KEY_FIGURES] + [
        (f"achievements_cumulative.{t}", f"Opnåede resultater: {label.lower()}", "count")
        for t, label in TARGET_NAMES.items()
    ]
    for name, label, kind in names:
        before, after = earlier.numbers.get(name), later.numbers.get(name)
        if before == after or after is None:
            continue
        lines.append(
            f"{label}: {_value(before, kind, min_persons)} → {_value(after, kind, min_persons)}"
        )
    return lines


def payments_chart(quarterly: list[Entry]) -> str:
    """Cumulative payments due and paid by quarter, as an inline SVG with a text alternative."""
    points = [
        (e.as_of, e.numbers.get("payments_due_total"), e.numbers.get("payments_paid_total"))
        for e in quarterly
    ]
    points = [p for p in points if all(isinstance(v, int | float) for v in p[1:])]
    if not points:
        return "<p>Endnu ingen opgjorte betalinger.</p>"
    apply_theme()
    fig, ax = plt.subplots(figsize=(5.0, 2.6))
    x = [quarters.to_index(q) for q, _, _ in points]
    ax.step(
        x,
        [d / 1e6 for _, d, _ in points],
        where="post",
        color=NEUTRAL,
        lw=2,
        label="Opgjort (akk.)",
    )
    ax.step(
        x,
        [p / 1e6 for _, _, p in points],
        where="post",
        color=PRIMARY,
        lw=2.4,
        label="Udbetalt (akk.)",
    )
    ticks = [i for i in x if i % 4 == 0] or x[:1]
    ax.set_xticks(ticks, [quarters.from_index(i)[:4] for i in ticks])
    ax.set_ylabel("Mio. kr.")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    last = points[-1]
    alt = (
        f"Kumulerede resultatbetalinger pr. kvartal fra {numbers.quarter(points[0][0])} til "
        f"{numbers.quarter(last[0])}: opgjort i alt {numbers.dkk(last[1])}, udbetalt {numbers.dkk(last[2])}"
    )
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(alt)}" ', 1)
    return f"<figure class='chart'>{svg}<figcaption>{html.escape(alt)}</figcaption></figure>"


def _due(as_of: str) -> str:
    return (
        f"<span class='due'>Forventes når data når {html.escape(numbers.quarter(as_of))}</span> "
        f"<span class='en' lang='en'>due when the data reach {html.escape(numbers.quarter(as_of, 'en'))}</span>"
    )


def _failed(records: list[dict]) -> str:
    steps = ", ".join(sorted(r["step"] for r in records))
    return (
        f"<span class='failed'>Fejlede i denne kørsel (trin: {html.escape(steps)}); "
        "se byggets uddata</span> "
        f"<span class='en' lang='en'>failed in this build (step: {html.escape(steps)}); "
        "see the build's output</span>"
    )


def _links(group: list[Entry], root: Path) -> str:
    parts = []
    for entry in sorted(group, key=lambda e: e.lang):
        name = LANG_NAMES.get(entry.lang, entry.lang)
        parts.append(
            f"<span class='lang' lang='{entry.lang}'>{html.escape(name)}: "
            f"<a href='{entry.html.relative_to(root).as_posix()}'>HTML</a> · "
            f"<a href='{entry.pdf.relative_to(root).as_posix()}'>PDF</a></span>"
        )
    return " ".join(parts)


def _status(group: list[Entry], root: Path, failures: list[dict] | None, as_of: str) -> str:
    """A report's links; for one not rendered, that it failed in this build or when it is due."""
    if group:
        return _links(group, root)
    return _failed(failures) if failures else _due(as_of)


def due_reports(entries: list[Entry], evaluations: dict[str, str]) -> list[tuple[str, str]]:
    """The evaluations (kind, cut-off) of the contract that are not rendered: due later."""
    rendered = {(e.kind, e.as_of) for e in entries}
    return [(kind, q) for kind, q in evaluations.items() if (kind, q) not in rendered]


def latest_section(newest: Entry | None, root: Path, min_persons: int | None = None) -> str:
    """The key figures of the newest report, with a link to it (or that there is none yet)."""
    if not newest:
        return "<p>Ingen rapporter endnu.</p>"
    return (
        f"<h2>Nøgletal, {html.escape(numbers.quarter(newest.as_of))}</h2>"
        f"<p>Fra den nyeste rapport: <a href='{newest.html.relative_to(root).as_posix()}'>"
        f"{html.escape(KIND_NAMES[newest.kind][0].lower())}, "
        f"{html.escape(numbers.quarter(newest.as_of))}</a>.</p>"
        f"{_key_figures(newest, min_persons)}<p class='table-note'>{html.escape(CAP_RULE)}</p>"
    )


def change_log(quarterly: list[Entry], min_persons: int | None = None) -> list[str]:
    """One HTML section per quarterly report after the first: what changed in the key figures."""
    log = []
    for earlier, later in zip(quarterly, quarterly[1:], strict=False):
        lines = changes(earlier, later, min_persons)
        items = (
            "".join(f"<li>{html.escape(line)}</li>" for line in lines)
            or "<li>Ingen ændringer i nøgletallene.</li>"
        )
        log.append(
            f"<h3>{html.escape(numbers.quarter(later.as_of))} "
            f"<span class='muted'>mod {html.escape(numbers.quarter(earlier.as_of))}</span></h3><ul>{items}</ul>"
        )
    return log


def _report_rows(
    entries: list[Entry],
    root: Path,
    evaluations: dict[str, str],
    failed: dict[str, list[dict]],
) -> str:
    """The rows of "Alle rapporter": every report, newest first, and the evaluations not rendered."""
    groups: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        groups.setdefault((entry.kind, entry.as_of), []).append(entry)
    for key in due_reports(entries, evaluations):
        groups[key] = []
    # A step that failed for this cut-off (a record of another cut-off is another contract's).
    failures = {
        kind: [r for r in records if r.get("as_of") in (None, evaluations.get(kind))]
        for kind, records in failed.items()
    }
    ordered = sorted(
        groups.items(),
        key=lambda item: (-quarters.to_index(item[0][1]), KIND_ORDER.index(item[0][0])),
    )
    return "".join(
        f"<tr><td>{html.escape(numbers.quarter(as_of))}</td>"
        f"<td>{html.escape(KIND_NAMES[kind][0])}<br><span class='en' lang='en'>{html.escape(KIND_NAMES[kind][1])}</span></td>"
        f"<td>{_status(group, root, failures.get(kind), as_of)}</td></tr>"
        for (kind, as_of), group in ordered
    )


def build_portal(
    reports_root: Path,
    programme: str = "Relationel velfærd – sammen på tværs",
    evaluations: dict[str, str] | None = None,
    min_persons: int | None = None,
    failed: dict[str, list[dict]] | None = None,
) -> str:
    """The portal page as one self-contained HTML document.

    ``evaluations``: each evaluation's cut-off (the contract's); one that is not
    rendered is listed as due (its data do not reach the cut-off yet), or as failed
    when ``failed`` (:func:`analysis.render.failures.failed`) has a record of a step
    of it for that cut-off.
    ``min_persons``: the contract's disclosure minimum, so that a hidden number
    is said in the reports' words ("no count of fewer than 5 persons").
    """
    root = Path(reports_root)
    entries = collect(root)
    rows = _report_rows(entries, root, evaluations or {}, failed or {})
    quarterly = sorted(
        [e for e in entries if e.kind == "quarterly" and e.lang == "da"]
        or [e for e in entries if e.kind == "quarterly"],
        key=lambda e: quarters.to_index(e.as_of),
    )
    newest = latest(entries)
    log = change_log(quarterly, min_persons)
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    script = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    latest_html = latest_section(newest, root, min_persons)
    return f"""<!DOCTYPE html>
<html lang="da">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rapporter – {html.escape(programme)}</title>
<style>{css}
td.num {{ text-align: right; }} td.words {{ white-space: normal; min-width: 8rem; }} .muted, .en {{ color: var(--muted); font-size: .85em; }}
.lang {{ display: inline-block; margin-right: 1rem; white-space: nowrap; }}
@media (max-width: 600px) {{ .lang {{ display: block; margin-right: 0; }}
  table.reports td {{ white-space: normal; }} table.reports td:first-child {{ min-width: 4.5rem; }} }}
figure.chart svg {{ width: 100%; height: auto; max-width: 48rem; }}
</style>
</head>
<body>
<header id="title-block-header">
<p class="subtitle">{html.escape(programme)}</p>
<h1 class="title">Rapporter</h1>
<p>Alle rapporter om programmet: kvartalsrapporter og evalueringer, på dansk og engelsk, som HTML (til skærm) og PDF (til print).
<span lang="en" class="en">All reports of the programme, by date and kind, in Danish and English, as HTML and PDF.</span></p>
</header>
{latest_html}
<h2>Alle rapporter</h2>
<div class="table-block"><p class="scroll-hint" aria-hidden="true">Stryg eller rul til siden for flere kolonner →</p>
<div class="table-scroll" tabindex="0" role="region" aria-label="Alle rapporter">
<table class="reports"><thead><tr><th>Opgjort pr.</th><th>Rapport</th><th>Sprog og format</th></tr></thead><tbody>{rows}</tbody></table>
</div></div>
<h2>Resultatbetalinger over tid</h2>
{payments_chart(quarterly)}
<h2>Hvad er ændret</h2>
<p>Ændringer i nøgletallene fra den ene kvartalsrapport til den næste (et tal, der er skjult af hensyn til diskretion, står som »skjult«).</p>
{"".join(reversed(log)) or "<p>Kun én kvartalsrapport indtil videre.</p>"}
{script}
</body>
</html>
"""


def write_portal(
    reports_root: Path,
    evaluations: dict[str, str] | None = None,
    min_persons: int | None = None,
    failed: dict[str, list[dict]] | None = None,
) -> Path:
    """Write ``index.html`` into ``reports_root`` (the arguments: see :func:`build_portal`)."""
    target = Path(reports_root) / "index.html"
    with atomic.atomic_path(target) as temporary:
        Path(temporary).write_text(
            build_portal(
                reports_root, evaluations=evaluations, min_persons=min_persons, failed=failed
            ),
            encoding="utf-8",
        )
    return target
