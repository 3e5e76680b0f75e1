"""The catalogue of short repeated strings (column headers, names, statuses, captions).

Every entry has a stable id and a text per language (``catalogue.yaml`` beside this
module). Code that needs a string in a report's language looks it up here by id,
so no function chooses between languages with a conditional, and a table keeps
its ids as column names until :func:`analysis.render.show.table` shows it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

LANGUAGES = ("da", "en")
SOURCE = Path(__file__).with_name("catalogue.yaml")


@cache
def entries() -> dict[str, dict[str, str]]:
    """Every id with its text per language, as written in ``catalogue.yaml``."""
    data = yaml.safe_load(SOURCE.read_text(encoding="utf-8"))
    for key, texts in data.items():
        missing = [lang for lang in LANGUAGES if lang not in texts]
        if missing:
            raise ValueError(f"catalogue entry {key!r} has no text in {missing}")
    return data


def t(key: str, lang: str, **values) -> str:
    """The text of ``key`` in ``lang``, with ``{name}`` fields filled from ``values``."""
    text = entries()[key][lang]
    return text.format(**values) if values else text


def has(key: str) -> bool:
    """Whether the catalogue has ``key``."""
    return key in entries()


def column(name, lang: str):
    """A table column's header: the catalogue's ``col.<name>`` when there is one, else ``name``."""
    key = f"col.{name}"
    return t(key, lang) if isinstance(name, str) and has(key) else name


def language_table() -> dict[str, dict[str, str]]:
    """The catalogue per language (``{"da": {id: text}, "en": {...}}``)."""
    return {lang: {k: v[lang] for k, v in entries().items()} for lang in LANGUAGES}
