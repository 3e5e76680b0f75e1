"""Abbreviations written out at first use, and the glossary section of every report.

:func:`expand_first_use` writes each abbreviation out where the report first uses it
("Den Sociale Investeringsfond (DSI)"), in prose or a table; headings keep the short form.
:func:`glossary_markdown` is the glossary section: the abbreviations and the Danish
terms of the programme with their English equivalents. In an English report the
Danish terms are marked ``lang="da"`` (screen readers pronounce them in Danish, and
the language test knows they are meant to be Danish).
"""

from __future__ import annotations

import re

# abbreviation -> (Danish expansion, English expansion); "{a}" the abbreviation, "{x}" the expansion
ABBREVIATIONS: dict[str, tuple[str, str]] = {
    "DSI": ("Den Sociale Investeringsfond", "Den Sociale Investeringsfond"),
    "PDJF": ("Poul Due Jensens Fond", "Poul Due Jensens Fond"),
    "LBF": ("Landsbyggefonden", "Landsbyggefonden"),
    "SØM": ("Den Socioøkonomiske Investeringsmodel", "the Danish socio-economic investment model"),
    "TWFE": ("to-vejs faste effekter", "two-way fixed effects"),
    "ATT": ("gennemsnitlig effekt for de behandlede", "average treatment effect on the treated"),
    "IRR": ("intern rente", "internal rate of return"),
}
# What the glossary adds to an expansion that is a name.
EXPLANATIONS: dict[str, tuple[str, str]] = {
    "DSI": ("statens fond for sociale investeringer", "the Danish state's social investment fund"),
    "PDJF": ("privat fond, medinvestor", "a private foundation, co-investor"),
    "LBF": (
        "de almene boligers fond, medinvestor og finansierer af evalueringen",
        "the national fund of non-profit housing, co-investor and funder of the evaluation",
    ),
}
# Symbols: a short reading at first use, the full meaning in the glossary.
SYMBOLS: dict[str, tuple[str, str, str, str]] = {
    "M̄": (
        "nedbrudspunktet",
        "the breakdown point",
        "nedbrudspunktet: den største afvigelse fra parallelle forløb, relativt til afvigelserne før indskrivning, hvor konklusionen stadig holder",
        "the breakdown point: the largest violation of parallel trends, relative to those before enrolment, at which the conclusion still holds",
    ),
}
# Danish term, English term, explanation in English (the Danish reports show the Danish term first).
TERMS: tuple[tuple[str, str, str, str], ...] = (
    (
        "betalingsmål",
        "payment target",
        "et resultat, der udløser betaling",
        "an outcome that releases a payment",
    ),
    (
        "resultatbetaling",
        "outcome payment",
        "betaling pr. opnået resultat",
        "a payment per outcome achieved",
    ),
    (
        "resultatrapport",
        "result report",
        "årlig opgørelse, der er grundlag for betaling",
        "the yearly statement on which payment is based",
    ),
    (
        "indsatsgruppe",
        "intervention group",
        "husstande i indsatsen",
        "households in the intervention",
    ),
    (
        "kontrolgruppe",
        "control (comparison) group",
        "sammenlignelige husstande uden indsatsen",
        "comparable households outside the intervention",
    ),
    ("husstand", "household", "", ""),
    ("boligområde", "housing area", "", ""),
    ("selvforsørgelse", "self-sufficiency", "", ""),
    ("sociale foranstaltninger", "social measures", "", ""),
    ("skolefravær", "school absence", "", ""),
    ("livstilfredshed", "life satisfaction", "", ""),
    ("handleplansmål", "action-plan goals", "", ""),
    ("midtvejsevaluering", "midterm evaluation", "", ""),
    ("foreløbig slutevaluering", "preliminary final evaluation", "", ""),
    ("slutevaluering", "final evaluation", "", ""),
    ("effektmåling", "effect measurement", "", ""),
    (
        "forskel-i-forskelle",
        "difference-in-differences",
        "ændringen i indsatsgruppen minus ændringen i kontrolgruppen",
        "the change in the intervention group minus the change in the comparison group",
    ),
    (
        "parallelle forløb",
        "parallel trends",
        "antagelsen, at grupperne ville have udviklet sig ens uden indsatsen",
        "the assumption that the groups would have developed alike without the intervention",
    ),
    (
        "hændelsesstudie",
        "event study",
        "effekten kvartal for kvartal før og efter indskrivning",
        "the effect quarter by quarter before and after enrolment",
    ),
)
# Headings (they feed the contents), figures, fences, divs and raw HTML keep the short form.
SKIP_LINE = re.compile(r"^\s*(#|!\[|```|:::|<)")
TABLE_RULE = re.compile(r"^\|[\s:|-]+\|\s*$")


def _pattern(abbreviation: str) -> re.Pattern:
    return re.compile(rf"(?<![\w(`]){re.escape(abbreviation)}(?![\w)`])")


def expand_first_use(markdown: str, lang: str) -> str:
    """Write out each abbreviation at its first use (in prose, a caption or a table; not a heading)."""
    index = 0 if lang == "da" else 1
    pending = {a: e[index] for a, e in ABBREVIATIONS.items()}
    symbols = {a: e[index] for a, e in SYMBOLS.items()}
    lines = markdown.split("\n")
    fenced = False
    for number, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        following = lines[number + 1] if number + 1 < len(lines) else ""
        if (
            fenced
            or SKIP_LINE.match(line)
            or TABLE_RULE.match(following)  # a table's header row stays short
            or not (pending or symbols)
        ):
            continue
        for abbreviation in list(pending):
            if not re.search(rf"(?<!\w){re.escape(abbreviation)}(?!\w)", line):
                continue
            expansion = pending.pop(abbreviation)
            pattern = _pattern(abbreviation)
            # Already written out here, or only in parentheses: leave the line as it is.
            if expansion.lower() not in line.lower() and pattern.search(line):
                line = pattern.sub(f"{expansion} ({abbreviation})", line, count=1)
        for symbol in list(symbols):
            if symbol in line:
                reading = symbols.pop(symbol)
                if reading.split()[-1] not in line:
                    line = line.replace(symbol, f"{symbol} ({reading})", 1)
        lines[number] = line
    return "\n".join(lines)


def glossary_markdown(lang: str) -> str:
    """The glossary section (unnumbered), abbreviations first, then the programme's terms."""
    da = lang == "da"
    index = 0 if da else 1
    rows_abbr = [
        f"| {a} | {e[index]}{', ' + EXPLANATIONS[a][index] if a in EXPLANATIONS else ''} |"
        for a, e in ABBREVIATIONS.items()
    ] + [f"| {a} | {e[2 + index]} |" for a, e in SYMBOLS.items()]
    if da:
        terms = [f"| {d} | {e} | {x} |" for d, e, x, _ in TERMS]
        header = ["| Dansk | Engelsk | Forklaring |", "|:---|:---|:---|"]
    else:
        terms = [f"| {e} | [{d}]{{lang=da}} | {x} |" for d, e, _, x in TERMS]
        header = ["| English | Danish | Explanation |", "|:---|:---|:---|"]
    return "\n".join(
        [
            f"# {'Ordliste' if da else 'Glossary'} {{.unnumbered}}",
            "",
            f"| {'Forkortelse' if da else 'Abbreviation'} | {'Betydning' if da else 'Meaning'} |",
            "|:---|:---|",
            *rows_abbr,
            "",
            *header,
            *terms,
        ]
    )
