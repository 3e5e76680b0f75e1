"""How a broken data contract is reported: one :class:`Problem` per broken rule, and
:class:`DataContractError` listing them in one message.

Apart from :mod:`analysis.data.validate`, which finds the problems, so that the
modules below it (reading the generator's manifest in :mod:`analysis.data.io`,
:mod:`analysis.provenance`) can refuse a file the same way without importing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from analysis.data.cpr import mask_text

MAX_LISTED = 10


@dataclass(frozen=True)
class Problem:
    """One broken rule in one file."""

    file: str
    column: str | None
    rule: str
    rows: tuple[int, ...] = ()
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.file}" + (f", column {self.column}" if self.column else "")
        text = f"{where}: {self.rule}"
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:MAX_LISTED])
            more = f" and {len(self.rows) - MAX_LISTED} more" if len(self.rows) > MAX_LISTED else ""
            text += f" — data row(s) {shown}{more}"
        if self.values:
            shown = ", ".join(self.values[:MAX_LISTED])
            text += f" — value(s): {shown}"
        return text


class DataContractError(ValueError):
    """An extract breaks the data contract; ``problems`` lists every broken rule."""

    def __init__(self, directory: Path, problems: list[Problem]):
        self.directory = directory
        self.problems = problems
        distinct = list(dict.fromkeys(str(p) for p in problems))
        if len(distinct) == 1:
            # One problem, one line: the file, column and rows are all in it.
            lines = [f"{directory}: the extract breaks the data contract: {distinct[0]}"]
        else:
            lines = [
                f"{directory}: the extract breaks the data contract ({len(distinct)} problems)"
            ]
            lines += [f"  - {problem}" for problem in distinct]
        # Every part of the message was built without data values that could be CPR
        # numbers; masking the whole text once more also covers file and column names.
        super().__init__(mask_text("\n".join(lines)))
