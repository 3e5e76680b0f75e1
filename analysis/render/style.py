"""One visual identity for every report and figure: palette, fonts and the matplotlib theme."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import seaborn as sns

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
