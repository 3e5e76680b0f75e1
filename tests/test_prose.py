"""Prose in Markdown cells: one language mechanism, inline values, the catalogue of short strings.

The notebooks hold the report's text in Markdown cells, each language in a Quarto
conditional div; the renderer keeps the report's language and fills in the
`` `{python} expr` `` values where the cell stands, in this process or in a kernel.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pandas as pd
import pytest

from analysis import catalogue
from analysis.paths import NOTEBOOKS_DIR
from analysis.render import execute, inline, notebook_md, numbers, show

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.py"))
# A choice between languages in code: `if lang == "da"`, `da = lang == "da"`, `... if da else ...`.
LANGUAGE_CONDITIONAL = re.compile(
    r"""lang\s*[!=]=|[!=]=\s*lang\b|\bif\s+(not\s+)?da\b|\bda\s*=\s*lang|lang\s+in\s*[\[(]"""
)

NOTEBOOK = """\
# %% tags=["parameters"]
lang = "da"

# %%
from analysis.render.numbers import Format

fmt = Format(lang)
amount = -1234.5
count = 3

# %% [markdown]
# ::: {.content-visible when-profile="da"}
# # Resultat
#
# ::: {.summary}
# Beløbet er `{python} fmt.dkk(amount)` for `{python} count` husstande.
# :::
# :::
#
# ::: {.content-visible when-profile="en"}
# # Result
#
# ::: {.summary}
# The amount is `{python} fmt.dkk(amount)` for `{python} count` households.
# :::
# :::
#
# {{< include _shared.md >}}

# %%
count = 4

# %% [markdown]
# `{python} count`
"""


def _write(folder: Path) -> Path:
    (folder / "_shared.md").write_text(
        '::: {.content-visible when-profile="en"}\nShared `{python} fmt.number(1e6)`.\n:::\n',
        encoding="utf-8",
    )
    path = folder / "report.py"
    path.write_text(NOTEBOOK, encoding="utf-8")
    return path


def _markdown(notebook) -> str:
    return "\n\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_notebook_chooses_a_language_in_code(path):
    notebook = jupytext.read(path, fmt="py:percent")
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    found = [line for line in code.splitlines() if LANGUAGE_CONDITIONAL.search(line)]
    assert not found, f"{path.name} chooses a language in code: {found}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_has_its_prose_in_markdown_cells_in_both_languages(path):
    notebook = jupytext.read(path, fmt="py:percent")
    markdown = _markdown(notebook)
    assert markdown, f"{path.name} has no Markdown cell"
    for lang in catalogue.LANGUAGES:
        assert f'when-profile="{lang}"' in markdown, f"{path.name} has no {lang} prose"
    # Markdown cells as `#` comment lines (Quarto does not read jupytext's r\"\"\" cells).
    assert 'r"""' not in path.read_text(encoding="utf-8")


def test_the_language_check_finds_conditionals():
    for line in ('x = "a" if lang == "da" else "b"', "da = lang == 'da'", "y if da else z"):
        assert LANGUAGE_CONDITIONAL.search(line), line
    assert not LANGUAGE_CONDITIONAL.search("show.table(frame, lang=lang)")


@pytest.mark.parametrize("lang", catalogue.LANGUAGES)
def test_both_languages_render_from_one_notebook_with_values_filled_in(tmp_path, lang):
    source = _write(tmp_path)
    notebook = execute.execute(source, tmp_path / f"{lang}.ipynb", {"lang": lang}, cwd=tmp_path)
    markdown = notebook_md.convert(notebook, lang).markdown
    assert "{python}" not in markdown and "content-visible" not in markdown
    assert "{{<" not in markdown
    if lang == "da":
        assert "# Resultat" in markdown and "# Result\n" not in markdown
        assert "Beløbet er \u22121.234 kr. for 3 husstande." in markdown
        assert "Shared" not in markdown
    else:
        assert "# Result\n" in markdown and "Resultat" not in markdown
        assert "The amount is DKK \u22121,234 for 3 households." in markdown
        assert "Shared 1,000,000." in markdown
    # Other divs stay; a cell's values are taken where the cell stands.
    assert "::: {.summary}" in markdown
    assert markdown.rstrip().endswith("4")
    # The executed notebook keeps no cell of values.
    assert not any(inline.VALUES_TAG in c.metadata.get("tags", []) for c in notebook.cells)


@pytest.mark.slow
def test_values_are_filled_in_by_a_kernel_too(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYSIS_NOTEBOOK_KERNEL", "1")
    source = _write(tmp_path)
    notebook = execute.execute(source, tmp_path / "en.ipynb", {"lang": "en"}, cwd=tmp_path)
    markdown = notebook_md.convert(notebook, "en").markdown
    assert "The amount is DKK \u22121,234 for 3 households." in markdown
    assert "{python}" not in markdown


def test_an_inline_value_that_raises_stops_the_build(tmp_path):
    source = tmp_path / "bad.py"
    source.write_text(
        '# %% tags=["parameters"]\nlang = "da"\n\n# %% [markdown]\n# `{python} missing`\n',
        encoding="utf-8",
    )
    with pytest.raises(execute.NotebookFailed, match="missing"):
        execute.execute(source, tmp_path / "bad.ipynb", {"lang": "da"}, cwd=tmp_path)


def test_select_language_keeps_other_divs_and_drops_the_other_language():
    text = (
        'A\n\n::: {.content-visible when-profile="en"}\nEnglish\n::: {.note}\nn\n:::\n:::\n\n'
        '::: {.content-hidden when-profile="en"}\nDansk\n:::\n\n::: {.box}\nB\n:::'
    )
    assert inline.select_language(text, "da") == "A\n\nDansk\n\n::: {.box}\nB\n:::"
    assert inline.select_language(text, "en") == (
        "A\n\nEnglish\n::: {.note}\nn\n:::\n\n::: {.box}\nB\n:::"
    )
    with pytest.raises(inline.MarkdownError):
        inline.select_language('::: {.content-visible when-profile="da"}\nx', "da")


def test_shared_prose_files_render_without_a_notebook():
    from analysis.config import load_contract
    from analysis.reports import quarterly_view

    contract = load_contract()
    texts = {
        lang: inline.render_file(
            NOTEBOOKS_DIR / "_methods.md",
            lang,
            {"m": quarterly_view.methods_values(contract, lang)},
        )
        for lang in catalogue.LANGUAGES
    }
    for lang, text in texts.items():
        assert "{python}" not in text and "content-visible" not in text
        assert numbers.dkk(contract.rate_card.employment, lang) in text
    assert "pr. trin" in texts["da"]
    assert "per step" in texts["en"]


def test_babel_formats_as_before():
    # Rounded half to even on the float's exact value, a true minus sign, no "-0".
    assert numbers.number(2.675, 2, "da") == "2,67"
    assert numbers.number(0.125, 2, "en") == "0.12"
    assert numbers.number(-1234567.5, 1, "da") == "\u22121.234.567,5"
    assert numbers.number(-0.004, 2, "en") == "0.00"
    fmt = numbers.Format("en")
    assert fmt.dkk(1234) == "DKK 1,234" and fmt.percent(0.5, 0) == "50%"
    assert fmt.quarter("2027Q1") == "Q1 2027"


def test_tables_keep_ids_and_are_translated_when_shown(monkeypatch):
    shown = []
    monkeypatch.setattr(show, "display", lambda obj, metadata=None: shown.append(obj.data))
    frame = pd.DataFrame({"quarter": ["2025Q1"], "estimate": [1.23456], "TWFE": [0.5]})
    show.table(frame, lang="en", decimals={"estimate": 2})
    header, _, row = shown[0].splitlines()[:3]
    assert header == "| Quarter | Estimate (percentage points) | TWFE |"
    assert "1.23" in row and "1.235" not in row
    show.table(frame, lang="da", decimals={"estimate": 2})
    assert shown[1].startswith("| Kvartal | Estimat (procentpoint) | TWFE |")


def test_captions_come_from_the_catalogue_by_label():
    cell = nbformat.v4.new_code_cell("#| label: tbl-enrolment\nshow.table(x)")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"text/markdown": "| a |\n|--:|\n| 1 |"},
            metadata={show.METADATA_KEY: {"kind": "table"}},
        )
    ]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    for lang in catalogue.LANGUAGES:
        markdown = notebook_md.convert(notebook, lang).markdown
        assert catalogue.t("caption.tbl-enrolment", lang) in markdown


def test_every_catalogue_entry_has_both_languages():
    for key, texts in catalogue.entries().items():
        assert set(texts) >= set(catalogue.LANGUAGES), key
        assert all(isinstance(texts[lang], str) and texts[lang] for lang in catalogue.LANGUAGES)


def test_rendered_reports_have_no_unresolved_markdown():
    from analysis.paths import REPORTS_DIR

    rendered = sorted(REPORTS_DIR.glob("*/*.html"))
    if not rendered:
        pytest.skip("no rendered reports (run `make report`)")
    for path in rendered:
        text = path.read_text(encoding="utf-8")
        for left in ("{python}", "content-visible", "{{&lt; include", "{{< include"):
            assert left not in text, f"{path.name} shows {left!r}"
    # Every evaluation report and both languages come from the same notebooks.
    names = {p.name for p in rendered}
    assert any(n.endswith(".da.html") for n in names) and any(n.endswith(".en.html") for n in names)
