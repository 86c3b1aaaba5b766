"""Shared style: fixed colours, colour maps and small axis helpers.

Colours are fixed (Okabe–Ito blue and vermillion, readable by colour-blind readers) and the
probability shading runs between the same two colours, so class 1 is vermillion everywhere.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only: the CLI and the tests have no screen

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap

CLASS_COLORS = ("#0072B2", "#D55E00")
# Pale ends, so that points drawn in the full class colours stand out on their own region.
PROBA_CMAP = LinearSegmentedColormap.from_list(
    "class0_white_class1", ["#8fc3e6", "#f7f7f7", "#f2b48c"]
)
DENSITY_CMAP = "viridis"

plt.rcParams.update(
    {
        "figure.dpi": 100,
        "savefig.dpi": 120,
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.grid": False,
    }
)


def scatter_classes(
    ax: Axes,
    X: np.ndarray,
    y: np.ndarray,
    *,
    size: float = 20,
    edge: str | None = None,
    alpha: float = 0.9,
    label_prefix: str = "class",
) -> None:
    """Scatter 2-D points, one fixed colour per class in sorted label order."""
    for code, label in enumerate(np.unique(y)):
        mask = y == label
        ax.scatter(
            X[mask, 0],
            X[mask, 1],
            s=size,
            c=CLASS_COLORS[code % 2],
            edgecolors=edge,
            linewidths=0.5 if edge else 0,
            alpha=alpha,
            label=f"{label_prefix} {label}",
        )


def plane_axes(ax: Axes, title: str) -> None:
    """Title, x1/x2 labels and equal aspect for a plot of the plane."""
    ax.set_title(title)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal", adjustable="box")
