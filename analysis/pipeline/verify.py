"""``make verify``: compare re-executed results files with the published ones.

Every number in every ``*.results.json`` under the published folder is compared
with the re-executed one: counts and DKK exactly; numbers marked as resampled
(bootstrap, permutation) within ``RESAMPLED_RTOL`` in case a seed cannot make them
exact. The table lists each number; the exit status is non-zero on any mismatch or
missing number.

A published report is also a record in the settlement record
(:mod:`analysis.payments.store`): with ``record``, every re-executed report is
compared too with the numbers kept there when it was first published, so a report
whose files were replaced since is still checked against what was published.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from analysis.payments.store import SettlementStore
from analysis.reports.results import RESAMPLED_MARKERS, read

EXACT_ABS = 1e-9
RESAMPLED_RTOL = 1e-6


def tolerance(name: str) -> float:
    """The relative tolerance for a number: zero unless it comes from resampling."""
    return RESAMPLED_RTOL if any(marker in name for marker in RESAMPLED_MARKERS) else 0.0


def compare(published: Path, reexecuted: Path) -> pd.DataFrame:
    """One row per number: report, name, published, re-executed, difference, ok."""
    pairs = []
    for path in sorted(published.rglob("*.results.json")):
        relative = path.relative_to(published)
        other = reexecuted / relative
        again = read(other)["numbers"] if other.exists() else {}
        pairs.append((str(relative), read(path)["numbers"], again))
    return _table(pairs)


def compare_with_record(record: Path, reexecuted: Path) -> pd.DataFrame:
    """Each re-executed report's numbers against the first publication kept in the record."""
    pairs = []
    with SettlementStore(record, create=False) as store:
        records = store.publications()
        for path in sorted(reexecuted.rglob("*.results.json")):
            doc = read(path)
            match = records.loc[
                (records["report_kind"] == doc.get("report"))
                & (records["quarter"] == doc.get("as_of"))
                & (records["lang"] == doc.get("lang"))
            ]
            if match.empty:
                continue

            first = json.loads(match.iloc[0]["numbers"])
            pairs.append((f"record:{path.relative_to(reexecuted)}", first, doc["numbers"]))
    return _table(pairs)


def _table(pairs) -> pd.DataFrame:
    rows = []
    for relative, numbers, again in pairs:
        for name, value in sorted(numbers.items()):
            new = again.get(name, "missing")
            if (
                isinstance(value, int | float)
                and isinstance(new, int | float)
                and not isinstance(value, bool)
            ):
                difference = float(new) - float(value)
                allowed = max(EXACT_ABS, tolerance(name) * abs(float(value)))
                ok = math.isclose(float(new), float(value), rel_tol=0, abs_tol=allowed)
            else:
                difference = float("nan")
                ok = new == value
            rows.append(
                {
                    "report": relative,
                    "number": name,
                    "published": value,
                    "reexecuted": new,
                    "difference": difference,
                    "ok": ok,
                }
            )
    return pd.DataFrame(
        rows, columns=["report", "number", "published", "reexecuted", "difference", "ok"]
    )


def verify(published: Path, reexecuted: Path, record: Path | None = None) -> int:
    """Print the comparison and return 0 when every number matches, 1 otherwise."""
    table = compare(published, reexecuted)
    if record is not None and Path(record).is_file():
        table = pd.concat([table, compare_with_record(Path(record), reexecuted)], ignore_index=True)
    if table.empty:
        print(f"no results files under {published}: nothing to verify")
        return 1
    with pd.option_context(
        "display.max_rows", None, "display.width", 200, "display.max_colwidth", 60
    ):
        print(table.to_string(index=False))
    bad = table.loc[~table["ok"]]
    print(f"\n{len(table)} numbers compared, {len(bad)} mismatch(es)")
    for row in bad.itertuples():
        print(
            f"MISMATCH {row.report}: {row.number}: published {row.published}, re-executed {row.reexecuted}"
        )
    return 0 if bad.empty else 1
