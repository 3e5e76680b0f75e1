"""The record of an evaluation step that failed, which the portal reads.

After a failed step, ``make report`` and ``python -m analysis build`` still write
the portal from the reports that exist (docs/running.md, "When a step fails"). An
evaluation without a report is then either not due yet (its data do not reach its
cut-off) or failed in this build; only the build knows which. So each command
that makes part of an evaluation report (its estimates, its results, its report
in one language) notes here whether it failed: one small JSON file per step in
``build/failed/``, written when the step fails and removed when it succeeds. The
portal (:func:`analysis.render.portal.build_portal`) lists an evaluation with such
a record as failed, naming the step, instead of as due.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from analysis import atomic
from analysis.paths import BUILD_DIR

FOLDER = BUILD_DIR / "failed"


def _path(folder: Path, kind: str, step: str) -> Path:
    return Path(folder) / f"{kind}.{re.sub(r'[^A-Za-z0-9_-]+', '-', step).strip('-')}.json"


def note(kind: str, step: str, as_of: str | None, failed: bool, folder: Path | None = None) -> None:
    """Record that ``step`` of the evaluation ``kind`` failed, or forget that it did."""
    path = _path(FOLDER if folder is None else folder, kind, step)
    if failed:
        atomic.write_json(path, {"kind": kind, "as_of": as_of, "step": step})
    else:
        path.unlink(missing_ok=True)


def failed(folder: Path | None = None) -> dict[str, list[dict]]:
    """Each evaluation kind with a failed step: the records of its failed steps, by step."""
    found: dict[str, list[dict]] = {}
    for path in sorted(Path(FOLDER if folder is None else folder).glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        found.setdefault(record["kind"], []).append(record)
    return found
