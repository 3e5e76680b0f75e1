"""Build one report: execute its notebook, convert, render HTML and PDF, move into place.

Everything is produced in a scratch folder; the HTML, PDF and results file are
moved into ``reports/`` only when all three exist and the report passed the
disclosure check, so a failed or killed build leaves the previous report intact.
Just before moving them, the build writes ``place.json`` (what goes where) into
its scratch folder. Every report run starts by finishing what a killed run
(SIGKILL, power loss: its process is gone) had begun to place, and by removing the
killed runs' scratch folders, of any report: after the next run each report's
files are wholly those of one run.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from analysis import atomic, provenance
from analysis.catalogue import t
from analysis.config import Contract
from analysis.paths import BUILD_DIR, CONTRACT_FILE, REPORTS_DIR, ROOT
from analysis.payments import ledger, reconcile
from analysis.render import colophon, execute, glossary, notebook_md, pandoc
from analysis.render import numbers as numbers_format
from analysis.sdc.check import check_markdown

# Disclosure control hides a count of 1 to min - 1 persons and the numbers it could be
# worked out from (secondary suppression), in tables (the symbol), in figures and in prose
# (words): page 1's chart and sentences use the words, so the note names both.
DISCLAIMER = {
    "da": "Tallene i denne rapport er beregnet automatisk. Diskretionering: et antal under {min} personer vises ikke, og heller ikke de tal, det kunne regnes ud af; tabeller viser en stjerne, figurer og tekst ordet »skjult«.",
    "en": "The numbers in this report are computed automatically. Disclosure control: a count of fewer than {min} persons is not shown, nor are the numbers it could be worked out from; tables show an asterisk, figures and text the word “hidden”.",
}
SYNTHETIC_NOTE = {
    "da": "SYNTETISKE DATA – tallene beskriver ikke virkelige personer, og tidslinjens kvartaler "
    "(også »Opgjort pr.«) er simulerede; kun »Dannet« er en virkelig dato.",
    "en": "SYNTHETIC DATA – the numbers do not describe real persons, and the timeline's quarters "
    "(including “As of”) are simulated; only “Produced” is a real date.",
}


# A build's scratch folder: ``<kind>-<stem>.<pid>.<random>`` (atomic.scratch_folder).
SCRATCH = re.compile(r"^[a-z_]+-.+\.(?P<pid>[0-9]+)\.[A-Za-z0-9_]+$")
PLACE = "place.json"


def _place(scratch: Path, moves: list[list[str]]) -> None:
    """Copy each finished file of ``scratch`` onto its target (atomically, one by one)."""
    for name, target in moves:
        with atomic.atomic_path(Path(target)) as temporary:
            shutil.copyfile(scratch / name, temporary)


def finish_killed_builds(scratch_root: Path = BUILD_DIR) -> list[Path]:
    """Place what killed builds had begun to place, then remove their scratch folders."""
    removed = []
    if not Path(scratch_root).is_dir():
        return removed
    for folder in sorted(Path(scratch_root).iterdir()):
        match = SCRATCH.match(folder.name)
        if not match or not folder.is_dir() or atomic.alive(int(match["pid"])):
            continue
        if (folder / PLACE).is_file():
            moves = json.loads((folder / PLACE).read_text(encoding="utf-8"))
            for _, target in moves:  # the killed run's half-copied files (atomic.atomic_path)
                for temporary in Path(target).parent.glob(f".{Path(target).name}.*.tmp"):
                    temporary.unlink(missing_ok=True)
            _place(folder, moves)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


class ReportKind(Protocol):
    """The run metadata a report is built from (``analysis.reports.kinds.ReportKind`` has it).

    The renderer takes it as given rather than importing the report definitions,
    so ``analysis.render`` depends on no report code (no cycle between the packages).
    """

    name: str
    notebook: Path
    title: dict[str, str]
    extra: dict

    def paths(self, as_of: str, lang: str, root: Path) -> dict[str, Path]: ...


@dataclass(frozen=True)
class BuiltReport:
    html: Path
    pdf: Path
    results: Path


def _title_metadata(
    kind: ReportKind,
    contract: Contract,
    as_of: str,
    lang: str,
    rendered,
    synthetic: bool,
    commit: str,
) -> dict:
    period = numbers_format.quarter(as_of, lang)
    # Two dates with different meanings: what the numbers describe, and when the file was made.
    facts = {
        t("title.programme", lang): contract.programme.name,
        t("title.municipality", lang): contract.programme.municipality,
        t("title.as_of", lang): t("title.as_of_value", lang, period=period),
        t("title.produced", lang): t(
            "title.produced_value", lang, date=rendered.date().isoformat()
        ),
        t("title.version", lang): commit[:12],
    }
    disclaimer = DISCLAIMER[lang].format(min=contract.disclosure.min_persons)
    if synthetic:
        disclaimer = SYNTHETIC_NOTE[lang] + " " + disclaimer
    title = kind.title[lang]
    return {
        "title": title,
        "subtitle": period
        if kind.name == "quarterly"
        else t("title.subtitle_as_of", lang, period=period),
        "programme": contract.programme.name,
        "running-header": contract.programme.name,
        "lang": lang,
        "toc-title": t("title.contents", lang),
        "facts": [{"key": k, "value": v} for k, v in facts.items()],
        "disclaimer": disclaimer,
        "pagetitle": f"{title}, {period}",
    }


def build_report(
    kind: ReportKind,
    contract: Contract,
    as_of: str,
    lang: str,
    data_dir: Path,
    quarterly_dir: Path,
    reports_root: Path = REPORTS_DIR,
    scratch_root: Path = BUILD_DIR,
    config: Path = CONTRACT_FILE,
    extra_parameters: dict | None = None,
    results_read: tuple[Path, ...] | list[Path] = (),
) -> BuiltReport:
    """Execute and render one report; return where it was placed.

    ``config`` is the contract file ``contract`` was read from: the notebook reads
    it too, so the numbers and the title page come from the same contract.
    ``extra_parameters`` are passed to the notebook as they are (e.g. where its
    computed results are); they are not shown in the colophon. ``results_read``:
    the other results folders the notebook reads (an evaluation's); their recorded
    kind counts like the quarterly folders'.
    """
    targets = kind.paths(as_of, lang, reports_root)
    stem = targets["html"].name.removesuffix(".html")
    # A run killed outright (SIGKILL) leaves its scratch folder; this run finishes and removes it.
    finish_killed_builds(scratch_root)
    scratch = atomic.scratch_folder(scratch_root, f"{kind.name}-{stem}.")
    try:
        notebook_results = scratch / "numbers.json"
        parameters = notebook_parameters(
            kind, as_of, lang, data_dir, quarterly_dir, notebook_results, config, extra_parameters
        )
        executed_path = scratch_root / "executed" / kind.name / f"{stem}.ipynb"
        notebook = execute.execute(kind.notebook, executed_path, parameters, cwd=ROOT)
        converted = notebook_md.convert(notebook, lang)
        numbers = json.loads(notebook_results.read_text(encoding="utf-8"))
        commit = colophon.git_commit()
        versions = colophon.environment()
        rendered = colophon.render_time()
        shown_parameters = _shown_parameters(parameters, extra_parameters, data_dir, config)
        markdown = converted_markdown(
            converted,
            lang,
            colophon.markdown(
                lang, commit, shown_parameters, numbers["inputs"], versions, rendered
            ),
        )
        source = f"{kind.name} {stem}"
        check_rendered(markdown, numbers["numbers"], contract, quarterly_dir, as_of, lang, source)
        markdown_file = _write_markdown(scratch, markdown, converted.images)
        data_kind = _data_kind(kind, as_of, data_dir, quarterly_dir, results_read)
        synthetic = data_kind == provenance.SYNTHETIC
        metadata = _title_metadata(kind, contract, as_of, lang, rendered, synthetic, commit)
        html, pdf = scratch / "report.html", scratch / "report.pdf"
        render_files(markdown_file, html, pdf, metadata, rendered)
        results_doc = {
            "report": kind.name,
            "as_of": as_of,
            "lang": lang,
            "parameters": shown_parameters,
            "numbers": numbers["numbers"],
            "inputs": numbers["inputs"],
            "data_kind": data_kind,
            "items": notebook_md.items_record(converted.items, kind.notebook.name),
            "environment": versions,
            "commit": commit,
        }
        atomic.write_json(scratch / "results.json", results_doc)
        place_outputs(
            scratch, {"html": html, "pdf": pdf, "results": scratch / "results.json"}, targets
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return BuiltReport(targets["html"], targets["pdf"], targets["results"])


def _write_markdown(scratch: Path, markdown: str, images: dict[str, bytes]) -> Path:
    """Write the report's Markdown and its figures into ``scratch``; the Markdown file."""
    markdown_file = scratch / "report.md"
    markdown_file.write_text(markdown, encoding="utf-8")
    for name, content in images.items():
        (scratch / name).write_bytes(content)
    return markdown_file


def _data_kind(
    kind: ReportKind, as_of: str, data_dir: Path, quarterly_dir: Path, results_read
) -> str:
    """The report's data kind: its results folders' provenance decides (and the extract's, where read)."""
    return provenance.combined(
        provenance.report_kind(
            quarterly_dir, as_of, data_dir if kind.name != "quarterly" else None
        ),
        *(provenance.folder_kind(folder) for folder in results_read),
    )


def place_outputs(scratch: Path, made: dict[str, Path], targets: dict[str, Path]) -> None:
    """Move the report's files made in ``scratch`` to ``targets`` (by key), the list written first.

    From the list (``PLACE``) on, the report is complete: a killed run's next run
    finishes placing it (:func:`finish_killed_builds`).
    """
    moves = [[made[key].name, str(Path(targets[key]).resolve())] for key in made]
    atomic.write_json(scratch / PLACE, moves)
    _place(scratch, moves)


def notebook_parameters(
    kind: ReportKind,
    as_of: str,
    lang: str,
    data_dir: Path,
    quarterly_dir: Path,
    results_path: Path,
    config: Path,
    extra_parameters: dict | None,
) -> dict:
    """The parameters the report's notebook runs with: absolute paths, the kind's scalar settings."""
    return {
        "as_of": as_of,
        "lang": lang,
        "data_dir": str(Path(data_dir).resolve()),
        "quarterly_dir": str(Path(quarterly_dir).resolve()),
        "results_path": str(results_path),
        "config": str(Path(config).resolve()),
        **{
            k: v
            for k, v in kind.extra.items()
            if isinstance(v, int | float | str) and k != "default_as_of"
        },
        **(extra_parameters or {}),
    }


def render_files(markdown_file: Path, html: Path, pdf: Path, metadata: dict, rendered) -> None:
    """The report's HTML and PDF from its Markdown: by Quarto where installed, else pandoc and typst."""
    if pandoc.quarto_available():
        pandoc.render_with_quarto(markdown_file, html, "html")
        pandoc.render_with_quarto(markdown_file, pdf, "typst")
    else:
        pandoc.render_html(markdown_file, html, metadata)
        pandoc.render_pdf(markdown_file, pdf, metadata, rendered)


def _shown_parameters(
    parameters: dict, extra_parameters: dict | None, data_dir: Path, config: Path
) -> dict:
    """The notebook's parameters as the colophon shows them: no scratch or absolute paths."""
    hidden = ("results_path", "data_dir", "quarterly_dir", "config", *(extra_parameters or {}))
    shown = {k: v for k, v in parameters.items() if k not in hidden}
    shown["data_dir"] = _relative(Path(data_dir))
    shown["config"] = _relative(Path(config))
    return shown


def converted_markdown(converted, lang: str, colophon_markdown: str) -> str:
    """The report's whole Markdown: the notebook's, with the glossary, the list of items and the colophon."""
    return (
        glossary.expand_first_use(converted.markdown, lang)
        + "\n\n"
        + glossary.glossary_markdown(lang)
        + "\n\n"
        + notebook_md.items_markdown(converted.items, lang)
        + "\n\n"
        + colophon_markdown
    )


def check_rendered(
    markdown: str,
    numbers: dict,
    contract: Contract,
    quarterly_dir: Path,
    as_of: str,
    lang: str,
    source: str,
) -> None:
    """Refuse a report whose Markdown discloses a small count or whose amounts miss the ledger.

    ``numbers`` are the report's results file's numbers; ``source`` names the report
    in the error.
    """
    check_markdown(
        markdown, contract.disclosure.min_persons, source=source, lang=lang, numbers=numbers
    )
    reconcile.check_report(
        markdown,
        numbers,
        ledger.read(ledger.locate(quarterly_dir, as_of)),
        as_of,
        lang,
        source=source,
        dkk=numbers_format.dkk,
    )


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return path.name
