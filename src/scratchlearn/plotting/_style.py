"""Shared style: fixed colours, colour maps, the figure settings and small axis helpers.

Colours are fixed (Okabe–Ito blue and vermillion, readable by colour-blind readers) and the
probability shading runs between the same two colours, so class 1 is vermillion everywhere.

Nothing here changes matplotlib's global state: importing the package selects no backend and
sets no ``rcParams``, so a notebook or another program keeps its own. :data:`STYLE` applies
while a figure is built (:func:`styled`), drawn and saved (:class:`StyledFigure`). Figures
are made without pyplot (:func:`subplots`), so pyplot does not keep them: nothing needs
closing, and a notebook shows only the figures it displays.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

CLASS_COLORS = ("#0072B2", "#D55E00")
# Pale ends, so that points drawn in the full class colours stand out on their own region.
PROBA_CMAP = LinearSegmentedColormap.from_list(
    "class0_white_class1", ["#8fc3e6", "#f7f7f7", "#f2b48c"]
)
DENSITY_CMAP = "viridis"

#: The figures' settings: applied only inside :func:`styled` builders and while a
#: :class:`StyledFigure` draws or saves itself.
STYLE: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.grid": False,
}

_P = ParamSpec("_P")
_R = TypeVar("_R")


def styled(builder: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a figure builder inside :data:`STYLE`; every global setting is restored after."""

    @functools.wraps(builder)
    def build(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with mpl.rc_context(STYLE):
            return builder(*args, **kwargs)

    return build


class StyledFigure(Figure):
    """A figure that draws and saves itself in :data:`STYLE`.

    matplotlib reads some settings only then, after the builder has returned: ``savefig.dpi``
    when saving, and the size of tick labels made while drawing.
    """

    def draw(self, renderer: Any) -> None:
        with mpl.rc_context(STYLE):
            super().draw(renderer)

    def savefig(self, *args: Any, **kwargs: Any) -> None:
        with mpl.rc_context(STYLE):
            super().savefig(*args, **kwargs)


def subplots(
    nrows: int = 1,
    ncols: int = 1,
    *,
    figsize: tuple[float, float],
    layout: str | None = None,
    **subplot_kw: Any,
) -> tuple[StyledFigure, Any]:
    """``plt.subplots`` without pyplot: a new :class:`StyledFigure` and its axes."""
    fig = StyledFigure(figsize=figsize, layout=layout)
    return fig, fig.subplots(nrows, ncols, **subplot_kw)


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
