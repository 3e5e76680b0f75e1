"""The reconciliation identity: paid to date = Σ ledger entries paid = what every report prints.

:func:`check_tables` runs when the quarterly results are computed: the statement's
settled rows, the per-report payments, the investors' repayments and the key
numbers must all agree with the ledger. :func:`check_report` runs on every
rendered report before it is published: the totals in its results file must be
the ledger's, and the paid-to-date amount must be printed as the ledger gives it.
Either fails the build with a message naming the number that disagrees.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from analysis.payments import ledger as ledger_module

# Investors' shares of each repayment are rounded to the øre: their sum may differ
# from the total by rounding, never by more than this (DKK).
ROUNDING = 1.0


class ReconciliationError(RuntimeError):
    """A total disagrees with the settlement ledger."""


def _same(a: float, b: float, tolerance: float = 0.005) -> bool:
    return abs(float(a) - float(b)) <= tolerance


def check_tables(tables: dict[str, pd.DataFrame], key: dict, contract) -> None:
    """Every payment table and key number of one quarter's results agrees with its ledger."""
    ledger, as_of = tables["ledger"], key["as_of"]
    problems = []
    paid = ledger_module.paid_to_date(ledger, as_of)
    settled = ledger_module.settled_total(ledger)
    if not _same(key["payments_paid_total"], paid):
        problems.append(f"paid to date {key['payments_paid_total']} ≠ ledger {paid}")
    if not _same(key["payments_settled_total"], settled):
        problems.append(f"settled total {key['payments_settled_total']} ≠ ledger {settled}")
    capped = tables["payments_capped"]
    shown_paid = float(capped.loc[capped["status"] == "paid", "paid"].sum())
    if not _same(shown_paid, paid):
        problems.append(f"payments per result report sum to {shown_paid:.2f}, ledger {paid}")
    repaid = float(tables["investors"]["repaid"].sum())
    if not _same(repaid, paid, ROUNDING):
        problems.append(f"investors' repayments sum to {repaid:.2f}, ledger {paid}")
    statement = tables["payment_statement"]
    final = statement.loc[statement["status"] == "final"].set_index(["report", "target"])
    entries = ledger.loc[ledger["kind"] == "settlement"].set_index(["report", "target"])
    if not final["amount"].sort_index().equals(entries["amount"].sort_index()):
        problems.append("the statement's settled rows differ from the ledger's settlement entries")
    if problems:
        raise ReconciliationError(
            f"payments as of {as_of} do not reconcile with the settlement ledger: "
            + "; ".join(problems)
        )


def check_report(
    markdown: str,
    numbers: dict,
    ledger: pd.DataFrame,
    as_of: str,
    lang: str,
    source: str,
    *,
    dkk: Callable[[float, str], str],
) -> None:
    """A rendered report's payment totals agree with the ledger as of its quarter.

    The results file must record paid to date, the settled total and each
    investor's repayments as the ledger gives them, and the report must print
    paid to date formatted by ``dkk`` (amount, language), the renderer's formatter
    (passed in, so the payments package does not depend on the renderer).
    """
    paid = ledger_module.paid_to_date(ledger, as_of)
    settled = ledger_module.settled_total(ledger)
    problems = []
    for name, expected in (("payments_paid_total", paid), ("payments_settled_total", settled)):
        value = numbers.get(name)
        if not isinstance(value, int | float) or not _same(value, expected):
            problems.append(f"{name} is {value!r} in the results file, {expected} in the ledger")
    repaid = [v for k, v in numbers.items() if k.startswith("investors.") and k.endswith(".repaid")]
    if not repaid:
        problems.append("the results file records no investor's repayments")
    elif not _same(sum(repaid), paid, ROUNDING):
        problems.append(f"the investors' repayments sum to {sum(repaid):.2f}, the ledger to {paid}")
    printed = dkk(paid, lang)
    if printed.replace("\u00a0", " ") not in markdown.replace("\u00a0", " "):
        problems.append(f"paid to date ({printed}) is not printed in the report")
    if problems:
        raise ReconciliationError(
            f"{source}: the report's payments do not reconcile with the settlement ledger as of "
            f"{as_of}: " + "; ".join(problems)
        )
