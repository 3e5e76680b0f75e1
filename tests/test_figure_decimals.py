"""Danish figures print decimal commas on their axes, whatever the machine's locale."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from analysis.render.style import decimal_commas


def _labels(lang: str) -> tuple[list[str], list[str]]:
    fig, ax = plt.subplots()
    ax.plot([-0.25, 1.5], [0.0, 0.35])
    decimal_commas(fig, lang)
    fig.canvas.draw()
    labels = (
        [t.get_text() for t in ax.get_xticklabels()],
        [t.get_text() for t in ax.get_yticklabels()],
    )
    plt.close(fig)
    return labels


@pytest.mark.parametrize("lang", ["da", "en"])
def test_tick_labels_use_the_languages_decimal_mark(lang):
    x, y = _labels(lang)
    decimal, other = (",", ".") if lang == "da" else (".", ",")
    for labels in (x, y):
        assert any(decimal in label for label in labels), labels
        assert not any(other in label for label in labels), labels
