"""A protected model as a record for the next report, and a model rebuilt from one.

What a report published is kept as a JSON record (``disclosure.json`` in the
results folder, :func:`analysis.sdc.disclosure.write_published`): the disclosure
minimum, every cell as ``[key, value, shown, count, hidden]`` with its key as the
JSON list of the key's items (:func:`analysis.sdc.keys.encode`), every identity as
its ``[key, coefficient]`` terms, and the number of integer programmes the
protection solved (and those HiGHS did not). :func:`record` writes it;
:func:`decided` rebuilds the decisions as they were (to show the report again);
:func:`load_earlier` starts the next report's model from it. Keys are read back
as their kinds (:func:`analysis.sdc.keys.decode`).
"""

from __future__ import annotations

from analysis.sdc.check import DisclosureError
from analysis.sdc.keys import decode, encode
from analysis.sdc.registry import Cell, Registry, Relation


def record(model: Registry, min_persons: int, milps: int, fallbacks: int) -> dict:
    """Every cell, identity and decision of a protected model (JSON-ready)."""
    return {
        "min_persons": min_persons,
        "cells": [
            [encode(c.key), c.value, c.shown, c.count, c.key in model.hidden]
            for c in model.cells.values()
        ],
        "relations": [[[encode(k), w] for k, w in r.terms.items()] for r in model.relations],
        # Integer programmes solved while protecting, and those HiGHS did not solve.
        "milps": milps,
        "milp_fallbacks": fallbacks,
    }


def decided(published: dict) -> Registry:
    """The cells of a record with its decisions (no identities: nothing is decided again)."""
    model = Registry()
    for key, value, shown, count, hidden in published["cells"]:
        key = decode(key)
        model.cells[key] = Cell(key, value, shown, count, hideable=False)
        if hidden:
            model.hidden.add(key)
    return model


def load_earlier(model: Registry, published: dict) -> None:
    """Start an empty model from what earlier reports published (:func:`record`).

    Their hidden cells stay hidden, their shown cells cannot be taken back
    (they are never chosen for suppression), and their identities still hold.
    A cell declared again with another value (a revision) becomes a cell of
    its own. Identities among shown cells alone are dropped: they tell nothing.
    """
    if model.cells:
        raise DisclosureError("load earlier reports before declaring this report's cells")
    for key, value, shown, count, hidden in published["cells"]:
        key = decode(key)
        model.cells[key] = Cell(key, value, shown, count, hideable=False, earlier=True)
        if hidden:
            model.forced.add(key)
    for terms in published["relations"]:
        relation = Relation({decode(k): w for k, w in terms}, "earlier report")
        residual = sum(w * model.cells[k].value for k, w in relation.terms.items())
        scale = max(1.0, *(abs(w * model.cells[k].value) for k, w in relation.terms.items()))
        relation.slack = abs(residual) + 1e-9 * scale
        if any(k in model.forced or not model.cells[k].shown for k in relation.terms):
            model.append(relation, frozenset(relation.terms.items()))
    model.first_new_relation = len(model.relations)
    model.changed()
