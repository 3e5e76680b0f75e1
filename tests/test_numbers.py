"""The reports' number formats agree with babel's CLDR formats, the reference.

:mod:`analysis.render.numbers` writes the separators of the two report languages
itself, so that the runtime environment needs no locale library (babel is in the
dev lock only). Here every format it writes is compared with what babel's
``format_decimal`` gives for the same exact value and pattern, the implementation
the reports used before.
"""

import decimal

import pytest
from babel.numbers import format_decimal
from hypothesis import given
from hypothesis import strategies as st

from analysis.render import numbers

LANGS = ("da", "en")


def _babel(value: float, decimals: int, lang: str) -> str:
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    text = format_decimal(decimal.Decimal(float(value)), format=pattern, locale=lang)
    if text.startswith("-"):
        zero = not any(c in "123456789" for c in text)
        text = text[1:] if zero else numbers.MINUS + text[1:]
    return text


@given(
    value=st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
    decimals=st.integers(min_value=0, max_value=4),
    lang=st.sampled_from(LANGS),
)
def test_every_number_is_formatted_as_babel_formats_it(value, decimals, lang):
    assert numbers.number(value, decimals, lang) == _babel(value, decimals, lang)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    "value", [0.0, -0.0, -0.004, 0.005, 2.675, 0.125, 999.5, 1234.5, -1234567.891, 21090419, 1e9]
)
@pytest.mark.parametrize("decimals", [0, 1, 2, 3])
def test_halves_signs_and_groups_as_babel(value, decimals, lang):
    assert numbers.number(value, decimals, lang) == _babel(value, decimals, lang)


def test_the_separators_are_cldrs():
    from babel import Locale

    for lang, (group, mark) in numbers.SEPARATORS.items():
        symbols = Locale.parse(lang).number_symbols["latn"]
        assert (symbols["group"], symbols["decimal"]) == (group, mark)


def test_the_danish_and_english_forms_of_a_payment():
    assert numbers.dkk(21090419, "da") == "21.090.419 kr."
    assert numbers.dkk(21090419, "en") == "DKK 21,090,419"
    assert numbers.number(-1234.5, 1, "da") == "\u22121.234,5"
    assert numbers.number(-0.004, 2, "en") == "0.00"
