"""The machine-readable results file a report writes next to itself.

A notebook records every key number it shows (:meth:`ReportResults.add`); the
build adds the parameters, input checksums and environment. ``make verify``
compares these files between a published and a re-executed run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from analysis import atomic

# Numbers whose name contains one of these come from resampling; everything else
# (counts, DKK) must match exactly.
RESAMPLED_MARKERS = ("bootstrap", "_ri_", "permutation")


class ReportResults:
    """Key numbers of one report, by dotted name."""

    def __init__(self) -> None:
        self.numbers: dict[str, float | int | str | None] = {}
        self.inputs: dict[str, str] = {}

    def add(self, name: str, value) -> None:
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float):
            value = None if math.isnan(value) else round(value, 10)
        if name in self.numbers and self.numbers[name] != value:
            raise ValueError(f"key number {name!r} recorded twice with different values")
        self.numbers[name] = value

    def add_many(self, prefix: str, values: dict) -> None:
        for key, value in values.items():
            self.add(f"{prefix}.{key}", value)

    def set_inputs(self, checksums: dict[str, str]) -> None:
        self.inputs = dict(checksums)

    def write(self, path: Path | str) -> None:
        atomic.write_json(path, {"numbers": self.numbers, "inputs": self.inputs})


def read(path: Path | str) -> dict:
    """Read a results file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
