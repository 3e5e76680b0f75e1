"""The suppression policy: which cells a report hides, so that the audit passes.

Given the model of a report (:class:`analysis.sdc.registry.Registry`) and its
audit (:class:`analysis.sdc.audit.Auditor`), :meth:`Suppression.protect`

1. hides every shown count with ``0 < n < min_persons`` (primary suppression);
2. while the audit finds a small count exposed, hides the cheapest, then
   smallest, shown cell that shares an identity with it (or with the hidden
   cells linked to it) and widens its range, together with the cells bundled
   with that one (the amount and count of one payment row), and audits again;
3. shows again the secondary cells the audit does not need (where cheap to
   check), and gives back each headline number taken as a partner when cheaper
   cells can protect instead;
4. shows the secondary cells the shown ones give back anyway (a ``*`` a reader
   can work out protects nothing), and keeps every count an earlier report hid
   open (a range at least 1 wide) in this report.

Cells have costs (as tau-argus and sdcTable weigh them): detail cells 1, the
payment statement's rows more, the numbers of page 1 :data:`HEADLINE_COST`, taken
only when nothing cheaper protects. This is the audit-and-extend scheme of
tau-argus's hypercube and modular methods reduced to what a report of this size
needs; it guarantees the audit's criterion against every identity declared to it,
not minimal information loss.

A new rule of *what may be shown* goes here (or, for the primary rule, in
:func:`analysis.sdc.suppress.is_small`); a new fact a reader knows is an identity
declared in :mod:`analysis.sdc.disclosure`.
"""

from __future__ import annotations

from collections.abc import Hashable

from analysis.sdc.audit import Auditor
from analysis.sdc.check import DisclosureError
from analysis.sdc.registry import TOLERANCE, Registry
from analysis.sdc.suppress import is_small

PRUNE_GROUP_LIMIT = 40
# The cost of a headline number (page 1): secondary suppression takes it only when no
# cheaper cell linked to the exposed one protects it, and gives it back first.
HEADLINE_COST = 100
# Cheaper cells tried in place of one headline cell before it stays hidden.
RESCUE_LIMIT = 12
# Partners of one layer whose trial (does hiding it widen the exposed cell?) is run.
TRIAL_LIMIT = 12


class Suppression:
    """Chooses the hidden cells of one model (``model.hidden``, ``model.primary``)."""

    def __init__(self, model: Registry, auditor: Auditor, min_persons: int) -> None:
        self.model = model
        self.auditor = auditor
        self.min_persons = min_persons

    def protect(self) -> set[Hashable]:
        """Choose the hidden cells (primary, then secondary until the audit passes, then prune).

        Returns the hidden cells (``model.hidden``).
        """
        self.model.set_slacks()
        self.auditor.clear()
        self.model.hidden = set(self.model.forced)
        self.model.primary = {
            k
            for k, c in self.model.cells.items()
            if c.shown
            and c.count
            and not c.earlier
            and k not in self.model.forced
            and is_small(c.value, self.min_persons)
        }
        for key in sorted(self.model.primary, key=self.model.position.__getitem__):
            if not self.model.cells[key].hideable:
                raise DisclosureError(f"cell {key!r} is small but declared as always shown")
            self.model.hide(key)
        self._extend()
        self._prune()
        if self._rescue_headlines():
            self._prune()
        self.show_determined()
        return self.model.hidden

    def _extend(self, headline: bool = True, limit: int | None = None) -> None:
        """Hide linked cells until the audit passes (``headline=False``: no headline cell).

        Raises :class:`DisclosureError` when no cell is left to hide (or after
        ``limit`` cells).
        """
        # Hiding more never narrows a range, so a cell found safe stays safe.
        safe: set[Hashable] = set()
        steps = 0
        while True:
            # Only the first exposed cell is acted on: the later ones are audited next round.
            audit = self.auditor.audit(skip=safe, first_only=True)
            safe.update(k for k in audit.ranges if k not in audit.exposed)
            if not audit.exposed:
                break
            exposed = audit.exposed[0]
            candidate = self._secondary_candidate(exposed, audit.ranges[exposed], headline)
            steps += 1
            if candidate is None or (limit is not None and steps > limit):
                unsolved = any(k == exposed for k, _ in self.auditor.inexact)
                raise DisclosureError(
                    f"cell {exposed!r} cannot be protected: its range {audit.ranges[exposed]} "
                    + (
                        f"is what solutions found show ({self.auditor.fallbacks} integer programme(s) "
                        "not solved by HiGHS) and no shown cell is left to hide"
                        if unsolved
                        else "is too narrow and no shown cell is linked to it"
                    )
                )
            self.model.hide(candidate)

    def _secondary_candidate(
        self, exposed: Hashable, current: tuple, headline: bool = True
    ) -> Hashable | None:
        """The cheapest, then smallest, shown cell linked to ``exposed`` whose hiding widens its range.

        Searches outward from ``exposed`` through hidden cells; when no candidate
        of the nearest layer widens the range, the cheapest one is taken anyway
        (a later step may need it together with another). Headline cells
        (:data:`HEADLINE_COST`) are passed over while any cheaper cell is linked,
        in this layer or a farther one (never taken with ``headline=False``).
        """
        allow_headline = headline
        reached, frontier = {exposed}, [exposed]
        order = self.model.position
        width = current[1] - current[0]
        headline: list[Hashable] = []

        def rank(k):
            return (
                self.model.cells[k].cost,
                self.model.cells[k].value <= 0,
                abs(self.model.cells[k].value),
                order[k],
            )

        while frontier:
            linked = [
                self.model.relations[i]
                for i in sorted({i for k in frontier for i in self.model.relations_of.get(k, [])})
            ]
            visible = {
                k
                for r in linked
                for k in r.terms
                if self.model.cells[k].shown and self.model.cells[k].hideable
            } - self.model.hidden
            candidates = sorted(visible, key=rank)
            cheap = [k for k in candidates if self.model.cells[k].cost < HEADLINE_COST]
            headline += [k for k in candidates if k not in cheap and k not in headline]
            found = self._first_widening(cheap, exposed, width)
            if found is not None:
                return found
            if cheap:
                return cheap[0]
            frontier = [
                k for r in linked for k in r.terms if self.model.unknown(k) and k not in reached
            ]
            reached.update(frontier)
        if not allow_headline:
            return None
        headline.sort(key=rank)
        found = self._first_widening(headline, exposed, width)
        return found if found is not None else (headline[0] if headline else None)

    def _first_widening(
        self, candidates: list[Hashable], exposed: Hashable, width: float
    ) -> Hashable | None:
        """The first of (at most :data:`TRIAL_LIMIT`) candidates whose hiding widens ``exposed``."""
        for candidate in candidates[:TRIAL_LIMIT]:
            group = set(self.model.group(candidate)) - self.model.hidden
            self.model.hidden |= group
            widened = self.auditor.widens(exposed, width)
            self.model.hidden -= group
            if widened:
                return candidate
        return None

    def _rescue_headlines(self) -> bool:
        """Give back each headline cell hidden as a partner when cheaper cells can protect instead.

        The outward search can take a headline cell before the cheaper cells a
        range needs are hidden (it acts on one exposed cell at a time), and pruning
        only shows cells again. Here each such headline cell is shown and the
        audit extended with cheaper cells only; if that fails, nothing changes.
        """
        rescued = False
        order = self.model.position
        secondary = [
            k
            for k in self.model.hidden
            if k not in self.model.primary | self.model.forced
            and self.model.cells[k].cost >= HEADLINE_COST
        ]
        for key in sorted(secondary, key=order.__getitem__):
            if key not in self.model.hidden:
                continue
            before = set(self.model.hidden)
            self.model.hidden -= set(self.model.group(key))
            try:
                self._extend(headline=False, limit=RESCUE_LIMIT)
                rescued = True
            except DisclosureError:
                self.model.hidden = before
        return rescued

    def _prune(self) -> None:
        """Show again every secondary cell the audit does not need, largest first.

        Only cells whose group of linked unknowns is small are tried: trying one
        re-solves the range of every small count in its group, which is what makes
        a long chain of reports slow, and a cell kept hidden is never unsafe.
        """
        secondary = [
            k for k in self.model.hidden if k not in self.model.primary | self.model.forced
        ]
        order = self.model.position
        unknown = [k for k in self.model.cells if self.model.unknown(k)]
        groups = self.auditor.groups(unknown)
        # The costliest first (a headline number is given back before any detail).
        for key in sorted(
            secondary,
            key=lambda k: (-self.model.cells[k].cost, -abs(self.model.cells[k].value), order[k]),
        ):
            group = set(self.model.group(key))
            if key not in self.model.hidden or group & (self.model.primary | self.model.forced):
                continue
            headline = self.model.cells[key].cost >= HEADLINE_COST
            if len(groups.get(key, ())) > PRUNE_GROUP_LIMIT and not headline:
                continue
            self.model.hidden -= group
            if self.auditor.audit(first_only=True).exposed:
                self.model.hidden |= group

    def show_determined(self) -> None:
        """Show this report's secondary cells that the shown ones give back anyway.

        A ``*`` a reader can work out protects nothing and promises what it does not
        keep. Showing a count that every solution of the identities already has
        changes no other cell's range. An amount known only to within its
        rounding narrows what it is summed with as far: it is shown only when the
        audit still passes with it. The step repeats until nothing more is given back.
        """
        kept: set[Hashable] = set()
        while self._show_determined_once(kept):
            pass

    def _show_determined_once(self, kept: set[Hashable]) -> bool:
        """One pass of :meth:`show_determined`; whether it showed a cell (``kept``: stay hidden)."""
        secondary = [
            k for k in self.model.hidden if k not in self.model.primary | self.model.forced | kept
        ]
        pinned, groups = self.auditor.open_cells()
        shown = False
        for key in sorted(secondary, key=self.model.position.__getitem__):
            group = set(self.model.group(key))
            if key not in self.model.hidden or group & (self.model.primary | self.model.forced):
                continue
            widths = [self.auditor.determined(k, groups, pinned) for k in group]
            if any(w is None for w in widths):
                continue
            self.model.hidden -= group
            if max(widths) > 1.0 + TOLERANCE and self.auditor.audit(first_only=True).exposed:
                self.model.hidden |= group
                kept |= group
                continue
            shown = True
        return shown
