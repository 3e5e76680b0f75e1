"""Report kinds: one parameter file each under ``params/``, and where their outputs go."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from analysis import quarters
from analysis.config import ConfigError, Contract
from analysis.paths import PARAMS_DIR, REPORTS_DIR, ROOT

KINDS = ("quarterly", "midterm", "preliminary_final", "final")
LANGS = ("da", "en")


@dataclass(frozen=True)
class ReportKind:
    """A report kind as configured in its parameter file."""

    name: str
    notebook: Path
    title: dict[str, str]
    output: dict[str, str]
    as_of_from: str
    extra: dict

    def as_of(self, contract: Contract, given: str | None) -> quarters.Quarter:
        """The report's cut-off quarter: the contract's milestone, or the given quarter."""
        if self.as_of_from == "parameter":
            if not given:
                raise ConfigError(f"the {self.name} report needs an as-of quarter (AS_OF=YYYYQn)")
            try:
                return quarters.parse(given)
            except ValueError as error:
                raise ConfigError(str(error)) from None
        value = contract
        for part in self.as_of_from.split("."):
            value = getattr(value, part)
        return quarters.parse(value)

    def default_as_of(self, contract: Contract) -> str:
        """The last quarter ``make report`` renders of this kind when no ``AS_OF`` is given.

        ``default_as_of`` in the parameter file is a quarter, or the name of a report
        kind whose cut-off it takes (``final``: every quarter up to the final
        evaluation's, so every settlement has its quarterly report), read from the
        contract so that another timeline needs no edit here.
        """
        value = str(self.extra.get("default_as_of", ""))
        if value in KINDS:
            return load_kind(value).as_of(contract, None)
        try:
            quarters.to_index(value)
        except ValueError as error:
            raise ConfigError(f"params/{self.name}.yaml default_as_of: {error}") from None
        return value

    def paths(self, as_of: str, lang: str, root: Path = REPORTS_DIR) -> dict[str, Path]:
        stem = self.output[lang].format(as_of=as_of)
        folder = root / self.name
        return {
            "html": folder / f"{stem}.{lang}.html",
            "pdf": folder / f"{stem}.{lang}.pdf",
            "results": folder / f"{stem}.{lang}.results.json",
        }


def load_kind(name: str) -> ReportKind:
    """Read ``params/<name>.yaml``."""
    if name not in KINDS:
        raise ConfigError(f"unknown report kind {name!r}; choose one of {', '.join(KINDS)}")
    content = yaml.safe_load((PARAMS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    known = {"notebook", "title", "output", "as_of_from"}
    return ReportKind(
        name=name,
        notebook=ROOT / content["notebook"],
        title=content["title"],
        output=content["output"],
        as_of_from=content["as_of_from"],
        extra={k: v for k, v in content.items() if k not in known},
    )
