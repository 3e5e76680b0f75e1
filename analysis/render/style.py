"""One visual identity for every report and figure: palette, fonts and the matplotlib theme."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.ticker import ScalarFormatter

PRIMARY = "#1F4E79"
ACCENT = "#C0504D"
NEUTRAL = "#7F7F7F"
PALETTE = ["#1F4E79", "#C0504D", "#4F9D69", "#E0A526", "#7E5A9B", "#4BACC6", "#7F7F7F"]
GROUP_COLOURS = {"intervention": PRIMARY, "comparison": NEUTRAL}
FIGURE_SIZE = (7.0, 3.6)
DPI = 150


def apply_theme() -> None:
    """Set the seaborn/matplotlib theme used by every figure."""
    sns.set_theme(context="paper", style="whitegrid", palette=PALETTE, font_scale=1.1)
    plt.rcParams.update(
        {
            "figure.figsize": FIGURE_SIZE,
            "figure.dpi": DPI,
            "savefig.dpi": DPI,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titleweight": "bold",
            "legend.frameon": False,
            "svg.hashsalt": "relationel-velfaerd",
            "font.family": "DejaVu Sans",
        }
    )


class DecimalCommaFormatter(ScalarFormatter):
    """Matplotlib's default tick labels with a decimal comma (Danish), whatever the locale.

    ``axes.formatter.use_locale`` would follow the machine's locale, which a build
    server does not set to Danish; this keeps the default's choice of ticks, digits and
    offset and changes only the decimal point.
    """

    def __call__(self, x, pos=None):
        return super().__call__(x, pos).replace(".", ",")

    def get_offset(self):
        return super().get_offset().replace(".", ",")


def decimal_commas(fig, lang: str):
    """Give every numeric axis of ``fig`` decimal commas when ``lang`` is Danish; returns ``fig``."""
    if lang == "da":
        for ax in fig.axes:
            for axis in (ax.xaxis, ax.yaxis):
                if type(axis.get_major_formatter()) is ScalarFormatter:
                    axis.set_major_formatter(DecimalCommaFormatter())
    return fig
