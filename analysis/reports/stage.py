"""The results stage of an evaluation report: everything it shows, computed once for all languages.

``python -m analysis evaluate <kind>`` runs :func:`write`: it cuts the extract at
the report's quarter, reads the payments to date from the quarterly results and
the settlement ledger, estimates every outcome (TWFE, Callaway–Sant'Anna with its
aggregations and bootstrap), the area-level randomization inference, the
pre-trend sensitivity, the baseline balance, and what the report kind's parameter file asks for under
``stage`` (doubly robust estimates with covariates, the not-yet-treated
comparison, subgroup effects), applies disclosure control, and stores it all in
``data/results/<kind>/<as_of>/`` (JSON and Parquet, :mod:`analysis.codec`) with
its ``provenance.json``, whole or nothing. The notebook of each language reads
it back with :func:`load` and only presents it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from analysis import atomic, codec, provenance
from analysis.config import load_contract
from analysis.effects.robustness import covariate_estimate, not_yet_estimate, subgroup_estimates
from analysis.reports import evaluation as ev
from analysis.reports.kinds import LANGS, ReportKind

# What the stage stores beside the evaluation report (names of EvaluationReport fields
# are stored as they are; the contract is read again from the configuration).
EXTRA = "extra"


@dataclasses.dataclass
class StagedEvaluation:
    """What an evaluation notebook reads: the report and the extra estimates."""

    report: ev.EvaluationReport
    extra: dict


def options(kind: ReportKind) -> dict:
    """The kind's ``stage`` settings: subgroups, covariates, robustness outcomes."""
    stage = kind.extra.get("stage") or {}
    return {
        "subgroups": {k: tuple(v) for k, v in (stage.get("subgroups") or {}).items()},
        "covariates": bool(stage.get("covariates", False)),
        "robustness": list(stage.get("robustness") or []),
    }


def compute(
    kind: ReportKind, as_of: str, data_dir: Path, quarterly_dir: Path, config: Path
) -> StagedEvaluation:
    """Every number, table input and estimate the report of ``kind`` shows."""
    settings = options(kind)
    report = ev.prepare(
        str(data_dir),
        as_of,
        int(kind.extra["bootstrap_reps"]),
        str(quarterly_dir),
        subgroups=settings["subgroups"] or None,
        config=str(config),
    )
    # The balance table is all the reports use of the cut extract: kept as a table
    # per language, so the stage does not store the extract itself.
    extra: dict = {
        "balance": {lang: ev.balance_table(report.context.data, lang) for lang in LANGS},
        "subgroups": {},
        "not_yet": {},
        "doubly_robust": None,
    }
    for outcome, columns in settings["subgroups"].items():
        extra["subgroups"][outcome] = {
            by: subgroup_estimates(report.panels[outcome], by) for by in columns
        }
    for outcome in settings["robustness"]:
        extra["not_yet"][outcome] = not_yet_estimate(report.panels[outcome])
    if settings["covariates"]:
        extra["doubly_robust"] = {
            outcome: covariate_estimate(panel) for outcome, panel in report.panels.items()
        }
    return StagedEvaluation(report, extra)


def write(
    kind: ReportKind, as_of: str, data_dir: Path, quarterly_dir: Path, config: Path, out: Path
) -> Path:
    """Compute the stage and store it in ``out`` (replaced whole, provenance last)."""
    staged = compute(kind, as_of, data_dir, quarterly_dir, config)
    report = staged.report
    stored = {f.name: getattr(report, f.name) for f in dataclasses.fields(report)}
    del stored["contract"]
    # The cut extract and the unprotected payment tables stay out of the results folder:
    # the notebooks show the protected payments (``payments``) only.
    stored["context"] = dataclasses.replace(report.context, data=None, quarterly=None, extract=None)
    data_kind = provenance.report_kind(quarterly_dir, as_of, data_dir)
    with atomic.atomic_folder(out) as folder:
        codec.dump({"report": stored, EXTRA: staged.extra, "as_of": as_of}, folder)
        provenance.record(folder, data_kind, report.context.checksums, {})
    return Path(out)


def load(folder: Path | str, config: str) -> StagedEvaluation:
    """Read a complete stage folder (refused when incomplete or altered) for a notebook."""
    provenance.read(folder)
    content = codec.load(folder)
    report = ev.EvaluationReport(contract=load_contract(config), **content["report"])
    return StagedEvaluation(report, content[EXTRA])
