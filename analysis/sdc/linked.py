"""Secondary suppression over every table and figure of one report: the model a report declares to.

:class:`LinkedCells` is what :mod:`analysis.sdc.disclosure` declares a report's
tables to (one :class:`analysis.sdc.registry.Table` per call: its cells and the
identities between them) and what the reports ask whether a cell is hidden. It
joins four parts, each a module with one job:

- :mod:`analysis.sdc.registry`: the cells, the identities between them, the
  bundles hidden together, and which cells are hidden;
- :mod:`analysis.sdc.audit` (with :mod:`analysis.sdc.programmes`, the HiGHS
  integer programmes): the feasible range of every small hidden or derived count;
- :mod:`analysis.sdc.policy`: which cells to hide (primary, secondary until the
  audit passes, then give back what is not needed);
- :mod:`analysis.sdc.persist`: the record of a protected report
  (``disclosure.json``) and a model rebuilt from one.

A report can start from what earlier reports published (:meth:`LinkedCells.load_earlier`):
their hidden cells stay hidden, their shown cells are known, and only the groups
of cells this report adds or links are audited again. :meth:`LinkedCells.to_dict`
gives the model with its decisions for the next report.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from analysis.sdc import persist
from analysis.sdc.audit import Audit, Auditor
from analysis.sdc.check import DisclosureError
from analysis.sdc.policy import Suppression
from analysis.sdc.registry import Cell, Registry, Relation, Table

__all__ = ["Audit", "Cell", "DisclosureError", "LinkedCells", "Relation", "Table"]


class LinkedCells:
    """The shown and derivable cells of one report, the identities between them, and what is hidden."""

    def __init__(self, min_persons: int, protection_width: int | None = None):
        self.min_persons = min_persons
        self.protection_width = min_persons if protection_width is None else protection_width
        self.model = Registry()
        self._attach()
        # The model's revision the hidden cells were chosen for (None: not chosen).
        self._protected_at: int | None = None

    def _attach(self, milps: int = 0, fallbacks: int = 0) -> None:
        self.auditor = Auditor(self.model, self.min_persons, self.protection_width)
        self.auditor.milps, self.auditor.fallbacks = milps, fallbacks
        self.policy = Suppression(self.model, self.auditor, self.min_persons)

    # The audit's answers are kept for speed while protecting: not part of the model.
    def __getstate__(self) -> dict:
        return {
            "min_persons": self.min_persons,
            "protection_width": self.protection_width,
            "model": self.model,
            "milps": self.milps,
            "fallbacks": self.fallbacks,
            "protected": self._protected,
        }

    def __setstate__(self, state: dict) -> None:
        self.min_persons = state["min_persons"]
        self.protection_width = state["protection_width"]
        self.model = state["model"]
        self._attach(state["milps"], state["fallbacks"])
        self._protected_at = self.model.revision if state["protected"] else None

    # -- the model ------------------------------------------------------------------------

    @property
    def cells(self) -> dict[Hashable, Cell]:
        return self.model.cells

    @property
    def relations(self) -> list[Relation]:
        return self.model.relations

    @property
    def current(self) -> set[Hashable]:
        """The cells this report declares (not only an earlier report's)."""
        return self.model.current

    @property
    def hidden(self) -> set[Hashable]:
        return self.model.hidden

    @hidden.setter
    def hidden(self, keys: set[Hashable]) -> None:
        self.model.hidden = keys

    @property
    def primary(self) -> set[Hashable]:
        return self.model.primary

    @property
    def milps(self) -> int:
        """Integer programmes solved while protecting."""
        return self.auditor.milps

    @property
    def fallbacks(self) -> int:
        """Integer programmes HiGHS did not solve (their ranges taken on the safe side)."""
        return self.auditor.fallbacks

    @property
    def _protected(self) -> bool:
        return self._protected_at is not None and self._protected_at == self.model.revision

    def add_table(self, table: Table) -> None:
        """Declare one table of the report in one call (:meth:`analysis.sdc.registry.Registry.add_table`)."""
        self.model.add_table(table)

    def rename(self, old: Hashable, new: Hashable) -> None:
        """Give a cell another key everywhere (an earlier report's version of a revised number)."""
        self.model.rename(old, new)

    # -- protecting -----------------------------------------------------------------------

    def protect(self) -> set[Hashable]:
        """Choose the hidden cells (:meth:`analysis.sdc.policy.Suppression.protect`)."""
        hidden = self.policy.protect()
        self._protected_at = self.model.revision
        return hidden

    def is_hidden(self, key: Hashable) -> bool:
        """Whether a shown cell must be replaced by the suppression symbol."""
        if not self._protected:
            self.protect()
        if key not in self.model.cells:
            raise DisclosureError(f"cell {key!r} was not declared to disclosure control")
        return key in self.model.hidden

    def audit(
        self,
        keys: Iterable[Hashable] | None = None,
        skip: set | None = None,
        first_only: bool = False,
    ) -> Audit:
        """Feasible range of each small hidden or derived count (:meth:`Auditor.audit`)."""
        self.auditor.sync()
        return self.auditor.audit(keys, skip, first_only)

    def _show_determined(self) -> None:
        self.auditor.sync()
        self.policy.show_determined()

    # -- earlier reports ------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Every cell, identity and decision, for the next report (JSON-ready)."""
        if not self._protected:
            self.protect()
        return persist.record(self.model, self.min_persons, self.milps, self.fallbacks)

    @classmethod
    def decided(cls, published: dict) -> LinkedCells:
        """The model a report was protected with (:meth:`to_dict`), its decisions as they were."""
        cells = cls(published["min_persons"])
        cells.model = persist.decided(published)
        cells._attach()
        cells._protected_at = cells.model.revision
        return cells

    def load_earlier(self, published: dict) -> None:
        """Start from what earlier reports published (:func:`analysis.sdc.persist.load_earlier`)."""
        persist.load_earlier(self.model, published)
