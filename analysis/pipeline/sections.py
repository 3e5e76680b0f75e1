"""The contract's sections as files, so that each step depends on the sections it reads.

``python -m analysis contract-sections`` writes each top-level section of the
validated contract (``timeline``, ``rate_card``, ``seed`` …) as canonical JSON to
``build/contract/<section>.json``, rewriting a file only when its section changed,
and touches ``build/contract/.stamp``. A rule that reads only some sections lists
their files as inputs instead of the whole contract; make and the build without
make look at a file's time again after the step that may have made it, so a
changed price (``rate_card``) re-runs the payment steps but not the synthetic
extract or the evaluations' estimates, which read only ``programme``, ``seed`` and
``timeline`` (``tests/test_build.py`` records what each of them reads).
"""

from __future__ import annotations

import json
from pathlib import Path

from analysis import atomic
from analysis.config import Contract

STAMP = ".stamp"


def write_sections(contract: Contract, folder: Path) -> list[str]:
    """Write the sections that differ from the files in ``folder``; return their names."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, value in contract.model_dump(mode="json").items():
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, indent=1) + "\n"
        path = folder / f"{name}.json"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            atomic.write_text(path, text)
            written.append(name)
    (folder / STAMP).touch()
    return written
