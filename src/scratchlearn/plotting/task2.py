"""Task 2 figures: the data with its outlier, the boundaries it rotates, and the sweep.

The outlier sits at s·(1, 1.75), up to (64, 112), while the blobs span about 3 units; a
view wide enough to hold both would show the blobs as a dot. So every plane panel keeps the
blobs' view and, when the outlier is outside it, an arrow on the panel's edge points to it.
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ._style import CLASS_COLORS, plane_axes, scatter_classes, styled, subplots

# Markers of falling size, so that lines on top of each other (accuracy 1.00) all show.
ESTIMATOR_STYLE = {
    "least_squares": {"color": "#000000", "label": "least squares", "marker": "o", "ms": 9},
    "huber": {"color": "#009E73", "label": "Huber", "marker": "s", "ms": 6.5},
    "logistic": {"color": "#7B3294", "label": "logistic regression", "marker": "^", "ms": 5},
}
SWEEP_KEYS = {
    "least_squares": "outlier_sweep",
    "huber": "outlier_sweep_huber",
    "logistic": "outlier_sweep_logistic",
}
WEIGHT_COLORS = ("#E69F00", "#56B4E9", "#CC79A7")  # Okabe–Ito, distinct from the classes
BASELINE_STYLE = {"color": "0.45", "ls": "--", "lw": 1.2}
OUTLIER_MARKER = {"marker": "*", "s": 260, "c": "#F0E442", "edgecolors": "black", "zorder": 5}


def _view(data: dict, margin: float = 0.3) -> tuple[tuple[float, float], tuple[float, float]]:
    """Limits around the blobs (training and test points), ignoring the outlier, with room
    at the top for the outlier's arrow (the outliers all lie up and to the right)."""
    X = np.vstack([data["X_train"], data["X_test"]])
    low, high = X.min(axis=0) - margin, X.max(axis=0) + margin
    high[1] += 0.25 * (high[1] - low[1])
    return (low[0], high[0]), (low[1], high[1])


def _draw_line(ax: Axes, coef, intercept: float, **style) -> Line2D:
    """The line w0 + w·x = 0, drawn across whatever the axes show (vertical lines included)."""
    w = np.asarray(coef, dtype=float)
    point = -intercept * w / np.dot(w, w)  # the line's point nearest the origin
    return ax.axline(point, point + np.array([w[1], -w[0]]), **style)


def _mark_outlier(ax: Axes, outlier, xlim, ylim) -> None:
    """A star at the outlier if it is in view, else an arrow to it at the panel's edge."""
    x, y = outlier
    if xlim[0] <= x <= xlim[1] and ylim[0] <= y <= ylim[1]:
        ax.scatter([x], [y], label="outlier (label -1)", **OUTLIER_MARKER)
        return
    # The arrow ends where the ray from the view's centre to the outlier leaves the view,
    # and is short, so that it stays in the empty margin above the blobs.
    centre = np.array([np.mean(xlim), np.mean(ylim)])
    direction = np.array([x, y]) - centre
    half = np.array([xlim[1] - xlim[0], ylim[1] - ylim[0]]) / 2
    tip = centre + direction * 0.97 * np.min(half / np.maximum(np.abs(direction), 1e-12))
    tail = tip - 0.3 * half.min() * direction / np.linalg.norm(direction)
    ax.annotate(
        "",
        xy=tip,
        xytext=tail,
        arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.6, "mutation_scale": 14},
        zorder=6,
    )
    ax.text(
        *tail,
        f"outlier at ({x:g}, {y:g}) ",
        ha="right",
        va="center",
        fontsize=8.5,
        bbox={
            "facecolor": "white",  # pragma: no mutate (colour names are case-insensitive)
            "alpha": 0.85,
            "lw": 0,
            "pad": 1.0,
        },
        zorder=6,
    )


def _setup_plane(ax: Axes, xlim, ylim, title: str) -> None:
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    plane_axes(ax, title)


@styled
def data_figure(data: dict, outliers: np.ndarray, scales: list) -> Figure:
    """The training set with its outlier, one panel per scale, and the full extent last."""
    xlim, ylim = _view(data)
    fig, axes = subplots(2, 4, figsize=(12, 7.0), layout="constrained")
    for ax, outlier, scale in zip(axes.flat, outliers, scales, strict=False):
        scatter_classes(ax, data["X_train"], data["y_train"], size=5, alpha=0.6)
        _mark_outlier(ax, outlier, xlim, ylim)
        _setup_plane(ax, xlim, ylim, f"s = {scale:g}: outlier at ({outlier[0]:g}, {outlier[1]:g})")
        ax.label_outer()
    overview = axes.flat[-1]
    scatter_classes(overview, data["X_train"], data["y_train"], size=3, alpha=0.6)
    overview.scatter(outliers[:, 0], outliers[:, 1], **(OUTLIER_MARKER | {"s": 110}))
    for outlier, scale in zip(outliers, scales, strict=True):
        if scale >= 8:  # the smaller ones overlap the blobs at this zoom
            overview.annotate(
                f"s = {scale:g}", outlier, xytext=(-8, 2), textcoords="offset points", ha="right"
            )
    overview.set_title("Full extent: blobs and every outlier")
    overview.set_xlabel("$x_1$")
    overview.set_ylabel("$x_2$")
    overview.margins(0.08)
    handles = [
        Line2D([], [], ls="", marker="o", color=CLASS_COLORS[code], label=f"class {label}")
        for code, label in enumerate(np.unique(data["y_train"]))
    ] + [Line2D([], [], ls="", marker="*", ms=13, mfc="#F0E442", mec="black", label="outlier")]
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    fig.suptitle(
        "Training set (900 points) with one outlier at s·(1, 1.75), labelled -1; "
        "arrows point to outliers outside the view"
    )
    return fig


@styled
def boundaries_figure(results: dict, estimator: str) -> Figure:
    """One estimator's boundary per scale over the test set, beside its no-outlier boundary."""
    data, metrics = results["data"], results["metrics"]
    sweep = metrics[SWEEP_KEYS[estimator]]
    baseline = metrics["baseline_no_outlier"][estimator]
    style = ESTIMATOR_STYLE[estimator]
    xlim, ylim = _view(data)
    fig, axes = subplots(2, 4, figsize=(12, 7.4), layout="constrained")
    panels = [(row, outlier) for row, outlier in zip(sweep, results["outliers"], strict=True)]
    panels.append((baseline | {"scale": None}, None))
    for ax, (row, outlier) in zip(axes.flat, panels, strict=False):
        X, y = data["X_test"], data["y_test"]
        scatter_classes(ax, X, y, size=12, alpha=0.8)
        predicted = np.where(X @ np.asarray(row["coef"]) + row["intercept"] > 0, 1, -1)
        wrong = predicted != y
        ax.scatter(X[wrong, 0], X[wrong, 1], s=70, facecolors="none", edgecolors="black", lw=1.1)
        _draw_line(ax, baseline["coef"], baseline["intercept"], **BASELINE_STYLE)
        _draw_line(ax, row["coef"], row["intercept"], color=style["color"], lw=2)
        if outlier is not None:
            _mark_outlier(ax, outlier, xlim, ylim)
            title = f"s = {row['scale']:g}: accuracy {row['accuracy']:.2f}"
        else:
            title = f"no outlier: accuracy {row['accuracy']:.2f}"
        _setup_plane(ax, xlim, ylim, f"{title}, {row['angle_degrees']:.0f}°")
        ax.label_outer()
    handles = [
        Line2D([], [], ls="", marker="o", color=CLASS_COLORS[code], label=f"test, class {label}")
        for code, label in enumerate(np.unique(data["y_test"]))
    ] + [
        Line2D([], [], ls="", marker="o", mfc="none", mec="black", ms=9, label="misclassified"),
        Line2D([], [], color=style["color"], lw=2, label=f"{style['label']} boundary"),
        Line2D([], [], **BASELINE_STYLE, label="boundary without the outlier"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=5)
    fig.suptitle(
        f"{style['label'].capitalize()}: decision boundary w0 + w1·x1 + w2·x2 = 0 per outlier "
        "scale s over the 100 test points\n(titles: test accuracy by sign, angle of the "
        "boundary to the x1-axis)"
    )
    return fig


@styled
def overlay_figure(results: dict) -> Figure:
    """All scales' boundaries in one panel per estimator, coloured by scale."""
    data, metrics = results["data"], results["metrics"]
    xlim, ylim = _view(data)
    scales = [row["scale"] for row in metrics["outlier_sweep"]]
    colors = mpl.colormaps["viridis"](np.linspace(0.0, 0.9, len(scales)))
    estimators = [name for name in ESTIMATOR_STYLE if SWEEP_KEYS[name] in metrics]
    fig, axes = subplots(
        1, len(estimators), figsize=(6.2 * len(estimators), 5.6), layout="constrained"
    )
    for ax, estimator in zip(axes, estimators, strict=True):
        scatter_classes(ax, data["X_test"], data["y_test"], size=12, alpha=0.35)
        baseline = metrics["baseline_no_outlier"][estimator]
        # On top: a boundary that does not move shows as dashes over the scales' lines.
        _draw_line(
            ax, baseline["coef"], baseline["intercept"], color="black", ls="--", lw=1.5,
            label="no outlier", zorder=3,
        )  # fmt: skip
        for row, color in zip(metrics[SWEEP_KEYS[estimator]], colors, strict=True):
            _draw_line(
                ax, row["coef"], row["intercept"], color=color, lw=2,
                label=f"s = {row['scale']:g} ({row['angle_degrees']:.0f}°)",
            )  # fmt: skip
        _setup_plane(
            ax, xlim, ylim, f"{ESTIMATOR_STYLE[estimator]['label'].capitalize()}: all scales"
        )
        ax.legend(
            handles=ax.get_lines(), loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9,
            title="outlier scale",
        )  # fmt: skip
    fig.suptitle(
        "Least squares' and Huber's boundaries turn about the blobs' centre towards the outlier "
        "as s grows; logistic regression's stay put (test points pale; angles to the x1-axis)"
    )
    return fig


@styled
def accuracy_figure(metrics: dict) -> Figure:
    """Test accuracy against scale: predicting by sign (left) and by the sheet's rint (right)."""
    sheet = metrics["sheet"]
    fig, (ax_sign, ax_rint) = subplots(1, 2, figsize=(12, 4.4), sharey=True, layout="constrained")
    for estimator, style in ESTIMATOR_STYLE.items():
        if SWEEP_KEYS[estimator] not in metrics:
            continue
        sweep = metrics[SWEEP_KEYS[estimator]]
        scales = [row["scale"] for row in sweep]
        for ax, key in ((ax_sign, "accuracy"), (ax_rint, "accuracy_rint")):
            if key not in sweep[0]:  # logistic regression: a logit is not rounded to a label
                continue
            ax.plot(
                scales,
                [row[key] for row in sweep],
                "-",
                marker=style["marker"],
                ms=style["ms"],
                color=style["color"],
                label=style["label"],
            )
    ax_rint.plot(
        sheet["scales"],
        sheet["accuracy_rint"],
        "x",
        color="#D55E00",
        ms=11,
        mew=2.2,
        label="the sheet's printed values",
    )
    for ax, title in (
        (ax_sign, "Predict by the sign of f(x): the sheet's model, read correctly"),
        (ax_rint, "Predict by rint(f(x)), as the sheet does: |f| < 0.5 gives 0"),
    ):
        ax.set_xscale("log", base=2)
        scales = [row["scale"] for row in metrics["outlier_sweep"]]
        ax.set_xticks(scales, [f"{s:g}" for s in scales])
        ax.set_xlabel("outlier scale s (log scale)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left")
    ax_sign.set_ylabel("test accuracy")
    ax_sign.set_ylim(0.45, 1.02)
    fig.suptitle("Test accuracy against the outlier's scale")
    return fig


@styled
def rint_figure(results: dict, scales: tuple = (1, 8)) -> Figure:
    """Why rint loses points: the least-squares outputs f(x) on the test set, by class."""
    metrics = results["metrics"]
    sweep = metrics["outlier_sweep"]
    index = {row["scale"]: i for i, row in enumerate(sweep)}
    shown = [s for s in scales if s in index]
    y = results["data"]["y_test"]
    fig, axes = subplots(
        1, len(shown), figsize=(6 * len(shown), 4), sharey=True, layout="constrained", squeeze=False
    )
    bins = np.linspace(-2.5, 2.5, 41)
    for ax, scale in zip(axes[0], shown, strict=True):
        row = sweep[index[scale]]
        f = np.clip(results["decisions"]["least_squares"][index[scale]], bins[0], bins[-1])
        ax.axvspan(-0.5, 0.5, color="0.85", label="rint gives 0: neither class")
        for code, label in enumerate(np.unique(y)):
            ax.hist(f[y == label], bins=bins, color=CLASS_COLORS[code], alpha=0.75,
                    label=f"true class {label}")  # fmt: skip
        ax.axvline(0, color="black", lw=1)
        ax.set_title(
            f"s = {scale:g}: {row['n_rint_zero']} outputs in (-0.5, 0.5); accuracy "
            f"{row['accuracy']:.2f} by sign, {row['accuracy_rint']:.2f} by rint"
        )
        ax.set_xlabel("least-squares output f(x) on the test points")
        ax.legend(loc="upper left", fontsize=9)
    axes[0, 0].set_ylabel("test points")
    fig.suptitle("The sheet's rounding: an output near the boundary becomes label 0, an error")
    return fig


@styled
def fit_figure(metrics: dict) -> Figure:
    """How far the outlier moves the fit: boundary angle, weights, leverage, Huber's weight and
    the outlier's logistic loss gradient. Logistic regression's weights, about five times the
    others, are left out of the weights panel (its angle says that they do not move)."""
    fig, (ax_angle, ax_weights, ax_pull) = subplots(1, 3, figsize=(15, 4.4), layout="constrained")
    ls_sweep = metrics["outlier_sweep"]
    scales = [row["scale"] for row in ls_sweep]
    for estimator, style in ESTIMATOR_STYLE.items():
        if SWEEP_KEYS[estimator] not in metrics:
            continue
        sweep = metrics[SWEEP_KEYS[estimator]]
        ax_angle.plot(
            scales, [row["angle_degrees"] for row in sweep], "-", marker=style["marker"],
            ms=style["ms"], color=style["color"], label=style["label"],
        )  # fmt: skip
        if estimator == "logistic":
            continue
        ls = "-" if estimator == "least_squares" else "--"
        weights = np.array([[row["intercept"], *row["coef"]] for row in sweep])
        for i, color in enumerate(WEIGHT_COLORS):
            ax_weights.plot(scales, weights[:, i], ls, marker="o", ms=4, color=color)
    baseline = metrics["baseline_no_outlier"]["least_squares"]["angle_degrees"]
    ax_angle.axhline(
        baseline, **BASELINE_STYLE, label=f"no outlier, least squares ({baseline:.0f}°)"
    )
    ax_angle.set_ylabel("boundary angle to the x1-axis (degrees)")
    ax_angle.set_title("Boundary angle")
    ax_angle.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=9)
    ax_weights.axhline(0, color="0.6", lw=0.8)
    ax_weights.set_ylabel("weight")
    ax_weights.set_title("Weights (w0 = bias), least squares and Huber")
    weight_handles = [
        Line2D([], [], color=color, lw=2, label=name)
        for name, color in zip(("w0", "w1", "w2"), WEIGHT_COLORS, strict=True)
    ] + [
        Line2D([], [], color="0.3", ls="-", label="least squares"),
        Line2D([], [], color="0.3", ls="--", label="Huber"),
    ]
    ax_weights.legend(handles=weight_handles, loc="best", ncols=2, fontsize=9)
    ax_pull.plot(
        scales, [row["outlier_leverage"] for row in ls_sweep], "o-", color="black",
        label="leverage of the outlier (hat-matrix diagonal)",
    )  # fmt: skip
    ax_pull.plot(
        scales, [row["outlier_weight"] for row in metrics["outlier_sweep_huber"]], "o--",
        color=ESTIMATOR_STYLE["huber"]["color"], label="Huber's IRLS weight min(1, ε/|r|)",
    )  # fmt: skip
    if "outlier_sweep_logistic" in metrics:
        ax_pull.plot(
            scales, [row["outlier_loss_gradient"] for row in metrics["outlier_sweep_logistic"]],
            ":", marker="^", color=ESTIMATOR_STYLE["logistic"]["color"],
            label="logistic: the outlier's loss gradient $\\sigma(-yf)$, ~0 on the correct side",
        )  # fmt: skip
    ax_pull.set_ylim(-0.03, 1.05)
    ax_pull.set_title("Why: the outlier's leverage, and how each loss discounts it")
    ax_pull.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=9)
    for ax in (ax_angle, ax_weights, ax_pull):
        ax.set_xscale("log", base=2)
        ax.set_xticks(scales, [f"{s:g}" for s in scales])
        ax.set_xlabel("outlier scale s (log scale)")
        ax.grid(alpha=0.3)
    fig.suptitle("How far one outlier moves the fit")
    return fig


@styled
def task2_figures(results: dict) -> dict[str, Figure]:
    """Every Task 2 figure, by file stem."""
    metrics = results["metrics"]
    scales = [row["scale"] for row in metrics["outlier_sweep"]]
    return {
        "data_by_scale": data_figure(results["data"], results["outliers"], scales),
        "boundaries_least_squares": boundaries_figure(results, "least_squares"),
        "boundaries_huber": boundaries_figure(results, "huber"),
        "boundaries_overlay": overlay_figure(results),
        "accuracy_vs_scale": accuracy_figure(metrics),
        "rint_explained": rint_figure(results),
        "fit_vs_scale": fit_figure(metrics),
    }
