"""Report texts in Danish and English: the catalogue of :mod:`analysis.catalogue`."""

from __future__ import annotations

from analysis.catalogue import language_table, t

TEXT = language_table()

__all__ = ["TEXT", "t"]
