"""Task 1 figures: two moons, kNN decision regions, the k sweep and kNN densities."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from ..experiments._schema.task1 import prediction_figure_stem
from ._style import (
    CLASS_COLORS,
    DENSITY_CMAP,
    PROBA_CMAP,
    plane_axes,
    scatter_classes,
    styled,
    subplots,
)


@styled
def scatter_figure(X: np.ndarray, y: np.ndarray, title: str) -> Figure:
    """The data set, one colour per class."""
    fig, ax = subplots(figsize=(6, 4))
    scatter_classes(ax, X, y)
    plane_axes(ax, title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9)
    fig.tight_layout()
    return fig


@styled
def prediction_figure(X: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, title: str) -> Figure:
    """Predicted labels as colours; misclassified points ringed in black."""
    fig, ax = subplots(figsize=(6, 4))
    scatter_classes(ax, X, y_pred, label_prefix="predicted")
    wrong = y_pred != y_true
    ax.scatter(
        X[wrong, 0],
        X[wrong, 1],
        s=110,
        facecolors="none",
        edgecolors="black",
        linewidths=1.2,
        label=f"misclassified ({wrong.sum()})",
    )
    plane_axes(ax, title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9)
    fig.tight_layout()
    return fig


def _decision_panel(ax, grid, proba, X, y, title):
    mesh = ax.pcolormesh(
        grid["xx"],
        grid["yy"],
        proba,
        cmap=PROBA_CMAP,
        vmin=0,
        vmax=1,
        shading="auto",
        rasterized=True,
    )
    if proba.min() < 0.5 < proba.max():
        ax.contour(grid["xx"], grid["yy"], proba, levels=[0.5], colors="black", linewidths=1.2)
    else:  # no boundary: one class wins everywhere, which the shading alone hides
        winner = 1 if proba.min() > 0.5 else 0
        ax.text(
            0.5,
            0.04,
            f"class {winner} predicted everywhere",
            transform=ax.transAxes,
            ha="center",
            fontsize=9,
            bbox={"facecolor": "white", "alpha": 0.8, "lw": 0},
        )
    scatter_classes(ax, X, y, size=12, edge="black")
    ax.set_xlim(grid["xx"].min(), grid["xx"].max())
    ax.set_ylim(grid["yy"].min(), grid["yy"].max())
    plane_axes(ax, title)
    return mesh


@styled
def decision_region_figure(grid: dict, region: dict, X, y, accuracy: float) -> Figure:
    """One classifier's p(c=1|x) over the plane, its 0.5 contour and the test points."""
    fig, ax = subplots(figsize=(6.5, 4.5))
    mesh = _decision_panel(
        ax,
        grid,
        region["proba"],
        X,
        y,
        f"kNN decision regions, k = {region['k']} (test accuracy {accuracy:.2f})",
    )
    fig.colorbar(mesh, ax=ax, label="$p(c=1\\mid x)$")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


@styled
def decision_region_grid_figure(grid: dict, regions: list, X, y, accuracies: list) -> Figure:
    """All k side by side, small panels sharing one colour bar."""
    n = len(regions)
    n_cols = 4
    n_rows = int(np.ceil(n / n_cols))
    fig, axes = subplots(
        n_rows,
        n_cols,
        figsize=(3.4 * n_cols, 2.7 * n_rows),
        sharex=True,
        sharey=True,
        layout="constrained",
    )
    for ax, region, accuracy in zip(axes.flat, regions, accuracies, strict=False):
        mesh = _decision_panel(
            ax, grid, region["proba"], X, y, f"k = {region['k']}, acc {accuracy:.2f}"
        )
        ax.label_outer()
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    fig.colorbar(mesh, ax=axes, label="$p(c=1\\mid x)$", shrink=0.6)
    fig.suptitle("Decision regions by k: shading p(c=1|x), black line p = 0.5, dots test points")
    return fig


@styled
def k_sweep_figure(k_sweep: list, n_train: int, cross_validation: dict) -> Figure:
    """Test, training and cross-validated accuracy, and test RSS, against k (log scale)."""
    ks = np.array([row["k"] for row in k_sweep])
    fig, (ax_acc, ax_rss) = subplots(1, 2, figsize=(10, 3.8))
    ax_acc.plot(ks, [r["accuracy"] for r in k_sweep], "o-", color=CLASS_COLORS[0], label="test")
    ax_acc.plot(ks, [r["train_accuracy"] for r in k_sweep], "s--", color="0.4", label="train")
    cv_k = np.array([row["k"] for row in cross_validation["rows"]])
    cv_mean = np.array([row["mean_accuracy"] for row in cross_validation["rows"]])
    cv_std = np.array([row["std_accuracy"] for row in cross_validation["rows"]])
    folds, best_k = cross_validation["folds"], cross_validation["best_k"]
    ax_acc.plot(
        cv_k, cv_mean, "^-", color=CLASS_COLORS[1], ms=4, label=f"{folds}-fold CV on train (± 1 sd)"
    )
    ax_acc.fill_between(
        cv_k, cv_mean - cv_std, cv_mean + cv_std, color=CLASS_COLORS[1], alpha=0.15, lw=0
    )
    ax_acc.annotate(
        f"CV picks k = {best_k}",
        (best_k, cv_mean[cv_k == best_k][0]),
        xytext=(0, -28),
        textcoords="offset points",
        ha="center",
        fontsize=9,
        arrowprops={"arrowstyle": "->", "color": CLASS_COLORS[1]},
    )
    ax_rss.plot(ks, [r["rss"] for r in k_sweep], "o-", color=CLASS_COLORS[1])
    for ax, ylabel in ((ax_acc, "accuracy"), (ax_rss, "RSS on the test set (= errors)")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks, [str(k) for k in ks], rotation=45)
        ax.set_xlabel("k (log scale)")
        ax.set_ylabel(ylabel)
        ax.axvline(n_train, color="0.6", lw=0.8, ls=":")
        ax.grid(alpha=0.3)
    ax_acc.legend(loc="lower left")
    ax_acc.set_title(f"Accuracy against k (dotted: k = N_train = {n_train})")
    ax_rss.set_title("RSS against k")
    fig.tight_layout()
    return fig


@styled
def density_figure(grid: dict, densities: list, X, y, classes) -> Figure:
    """log p(x) and log p(x|c) per class over the plane, one row per k, one colour scale."""
    n_rows, n_cols = len(densities), 1 + len(classes)
    finite = np.concatenate(
        [
            np.concatenate([d["log_density"].ravel(), d["class_log_density"].ravel()])
            for d in densities
        ]
    )
    finite = finite[np.isfinite(finite)]
    vmin, vmax = np.percentile(finite, [1, 99.5])
    fig, axes = subplots(
        n_rows,
        n_cols,
        figsize=(3.6 * n_cols, 2.8 * n_rows),
        sharex=True,
        sharey=True,
        layout="constrained",
        squeeze=False,
    )
    cmap = mpl.colormaps[DENSITY_CMAP].with_extremes(bad="#d9d9d9")
    for row, density in zip(axes, densities, strict=True):
        panels = [("log p(x)", density["log_density"], None)] + [
            (f"log p(x | c={c})", density["class_log_density"][..., i], i)
            for i, c in enumerate(classes)
        ]
        for ax, (name, values, class_code) in zip(row, panels, strict=True):
            masked = np.ma.masked_invalid(values)
            mesh = ax.pcolormesh(
                grid["xx"],
                grid["yy"],
                masked,
                cmap=cmap,
                vmin=vmin,
                vmax=vmax,
                shading="auto",
                rasterized=True,
            )
            shown = slice(None) if class_code is None else (y == classes[class_code])
            ax.scatter(X[shown, 0], X[shown, 1], s=2, c="white", alpha=0.5, linewidths=0)
            ax.set_title(f"{name}, k = {density['k']}")
            ax.set_aspect("equal", adjustable="box")
            ax.label_outer()
    fig.colorbar(
        mesh, ax=axes, label="log density (grey: no neighbour of class c, p = 0)", shrink=0.5
    )
    fig.suptitle(
        "kNN density estimates p(x) = K/(N·V) and p(x|c) = K_c/(N_c·V), training points in white"
    )
    return fig


@styled
def task1_figures(results: dict) -> dict[str, Figure]:
    """Every Task 1 figure, by file stem."""
    data, grid, metrics = results["data"], results["grid"], results["metrics"]
    n_train = metrics["dataset"]["n_train"]
    accuracy_by_k = {row["k"]: row["accuracy"] for row in metrics["k_sweep"]}
    chosen = metrics["chosen_k"]
    figures = {
        "train_scatter": scatter_figure(
            data["X_train"], data["y_train"], f"Two moons: training set ({n_train} points)"
        ),
        "test_scatter": scatter_figure(
            data["X_test"],
            data["y_test"],
            f"Two moons: test set ({metrics['dataset']['n_test']} points)",
        ),
        prediction_figure_stem(chosen["k"]): prediction_figure(
            data["X_test"],
            data["y_test"],
            results["y_pred"],
            f"Predicted test labels, k = {chosen['k']} (accuracy {chosen['accuracy']:.2f})",
        ),
        "k_sweep": k_sweep_figure(metrics["k_sweep"], n_train, metrics["cross_validation"]),
        "decision_regions": decision_region_grid_figure(
            grid,
            results["decision_regions"],
            data["X_test"],
            data["y_test"],
            [accuracy_by_k[r["k"]] for r in results["decision_regions"]],
        ),
        "density": density_figure(
            grid, results["densities"], data["X_train"], data["y_train"], np.unique(data["y_train"])
        ),
    }
    for region in results["decision_regions"]:
        figures[f"decision_regions_k{region['k']:03d}"] = decision_region_figure(
            grid, region, data["X_test"], data["y_test"], accuracy_by_k[region["k"]]
        )
    return figures
