"""Where a build's time goes: the step timings the worker records, summed and laid out.

``ANALYSIS_WORKER_TIMES=<file> make report`` makes every step run in the worker
(:mod:`analysis.pipeline.worker`) append one line to ``<file>``: its user and system CPU
seconds (its own children, pandoc and typst, included), its start and end (Unix
time) and its command. The steps are the worker's children, so a timer around
make sees neither their CPU time nor when each ran. ``python -m analysis timings
<file>`` reads those lines (of one build: the file is appended to, so remove it
before the next) and prints the CPU seconds per kind of step, when the steps ran,
the CPU seconds over ``cores`` (this machine's, as ``make`` uses them) (the wall time the build could reach
if no core ever waited) and the core-seconds between the first start and the
last end that no step spent computing (waiting for a step, for the disk, for a
slot).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Step:
    """One step of a build as the worker recorded it."""

    cpu: float
    start: float
    end: float
    command: str

    @property
    def kind(self) -> str:
        """The kind of step (the README's benchmark table adds up the four smallest)."""
        words = self.command.split()
        while words and words[0].startswith("--"):
            words = words[2:] if words[0] == "--config" else words[1:]
        if not words:
            return "other"
        name = words[0]
        if name == "evaluate":
            return "evaluation estimates" if "--estimates-only" in words else "evaluation stages"
        if name == "report":
            return "quarterly reports" if words[1:2] == ["quarterly"] else "evaluation reports"
        if name == "quarterly":
            return "quarterly results (the chain)"
        return name


class TimingsError(ValueError):
    """A timings file that cannot be read."""


def read(path: Path) -> list[Step]:
    """The steps of a timings file, in the order they started."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise TimingsError(f"{path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise TimingsError(f"{path}: not a timings file (not UTF-8 text)") from None
    steps = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.split(None, 4)
        try:
            user, system, start, end = (float(f) for f in fields[:4])
            command = fields[4] if len(fields) > 4 else ""
        except ValueError:
            raise TimingsError(
                f"{path}, line {number}: expected 'user system start end command', got {line[:80]!r}"
            ) from None
        steps.append(Step(user + system, start, end, command))
    if not steps:
        raise TimingsError(f"{path}: no step recorded (run with ANALYSIS_WORKER_TIMES={path})")
    return sorted(steps, key=lambda s: s.start)


def summary(steps: list[Step], cores: int) -> str:
    """CPU seconds per kind of step, the timeline and the bounds, as text."""
    first, last = min(s.start for s in steps), max(s.end for s in steps)
    kinds: dict[str, list[Step]] = {}
    for step in steps:
        kinds.setdefault(step.kind, []).append(step)
    total = sum(s.cpu for s in steps)
    span = last - first
    lines = ["| steps | count | CPU s |", "|---|---:|---:|"]
    for kind, members in sorted(kinds.items(), key=lambda kv: -sum(s.cpu for s in kv[1])):
        lines.append(f"| {kind} | {len(members)} | {sum(s.cpu for s in members):.1f} |")
    lines.append(f"| all steps | {len(steps)} | {total:.1f} |")
    lines += [
        "",
        f"first start to last end: {span:.1f} s; CPU / {cores} cores: {total / cores:.1f} s; "
        f"core-seconds in between not spent in a step's CPU: {cores * span - total:.1f}",
        "",
        "start    end    CPU  step",
    ]
    for step in steps:
        lines.append(
            f"{step.start - first:5.1f} {step.end - first:6.1f} {step.cpu:6.1f}  {step.command}"
        )
    return "\n".join(lines)
