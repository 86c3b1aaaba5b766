"""Task 3 figures: optimiser curves, the learning-rate sweep, and the best model's digits."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay

from ._style import CLASS_COLORS, styled, subplots

# One fixed colour and line style per solver (Okabe–Ito palette).
SOLVER_STYLES = {
    "gd": {"color": CLASS_COLORS[0], "ls": "-"},
    "sgd": {"color": "#999999", "ls": "-"},
    "momentum": {"color": "#009E73", "ls": "-"},
    "nesterov": {"color": "#CC79A7", "ls": "--"},
    "adam": {"color": "#E69F00", "ls": "-"},
    "lbfgs": {"color": CLASS_COLORS[1], "ls": "-"},
}
VERDICT_COLORS = {
    "diverging": "#D55E00",
    "oscillating": "#E69F00",
    "too slow": "#56B4E9",
    "good": "#009E73",
}
# Sweep lines take their verdict's colour; runs sharing a verdict differ in line style.
SWEEP_LINESTYLES = ("-", "--", ":", "-.")
# Suboptimalities below this are rounding noise in J (about 1e-16 · J); clip for the log axis.
_GAP_FLOOR = 1e-12


def _solver_label(row: dict) -> str:
    settings = ", ".join(
        f"{k.replace('learning_rate', 'lr').replace('batch_size', 'batch')}={v:g}"
        for k, v in row["settings"].items()
        if k in ("learning_rate", "batch_size", "momentum")
    )
    return f"{row['name']} ({settings})" if settings else row["name"]


@styled
def optimizer_curves_figure(results: dict, x: str) -> Figure:
    """J and J − J* for every solver against iterations (``x="iteration"``) or seconds."""
    curves, f_star = results["curves"], results["f_star"]
    rows = {row["name"]: row for row in results["metrics"]["optimizers"]}
    n_train = results["metrics"]["dataset"]["n_train"]
    batch = rows.get("sgd", {}).get("settings", {}).get("batch_size")
    sgd_steps = f"{-(-n_train // batch)} steps of {batch}" if batch else "of mini-batches"
    fig, (ax_loss, ax_gap) = subplots(1, 2, figsize=(12, 4.6))
    for name, curve in curves.items():
        loss = np.asarray(curve["loss"])
        xs = np.arange(len(loss)) if x == "iteration" else np.asarray(curve["seconds"])
        style = SOLVER_STYLES.get(name, {"color": "black", "ls": ":"})
        label = f"{_solver_label(rows[name])}: test acc {rows[name]['test_accuracy']:.3f}"
        ax_loss.plot(xs, loss, lw=1.6, label=label, **style)
        ax_gap.plot(xs, np.maximum(loss - f_star, _GAP_FLOOR), lw=1.6, **style)
    ax_loss.axhline(f_star, color="black", lw=0.8, ls=":", label=f"minimum J* = {f_star:.4f}")
    xlabel = (
        f"iteration (sgd: one epoch, {sgd_steps})"
        if x == "iteration"
        else "wall-clock seconds since the start of fit"
    )
    for ax in (ax_loss, ax_gap):
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3, which="both")
    ax_loss.set_ylabel("training objective J (log scale)")
    ax_gap.set_ylabel("$J - J^*$ (log scale)")
    ax_loss.set_title(r"Training objective $J$: mean cross-entropy + $\frac{\alpha}{2}\|W\|^2$")
    ax_gap.set_title(f"Distance to the minimum (clipped at {_GAP_FLOOR:g})")
    ax_loss.legend(fontsize=8, loc="upper right")
    alpha = results["metrics"]["objective"]["alpha"]
    fig.suptitle(
        "Softmax regression on the digits, every solver from zero weights, "
        f"$\\alpha = 1/N$ = {alpha:.2e}"
        + (" (one run's timings; they vary from run to run)" if x == "seconds" else "")
    )
    fig.tight_layout()
    return fig


@styled
def learning_rate_sweep_figure(results: dict) -> Figure:
    """GD loss curves for each learning rate, summed and averaged gradient, and a summary."""
    sweep, f_star = results["sweep"], results["f_star"]
    sheet_rate = results["metrics"]["sheet_run"]["summed"]["learning_rate"]
    fig, axes = subplots(1, 3, figsize=(16, 6))
    for ax, gradient in zip(axes[:2], ("summed", "averaged"), strict=True):
        runs = sorted(
            (run for run in sweep if run["gradient"] == gradient),
            key=lambda run: run["learning_rate"],
        )
        seen: dict[str, int] = {}
        for run in runs:
            repeat = seen[run["verdict"]] = seen.get(run["verdict"], -1) + 1
            sheet = (
                " (the sheet's)"
                if gradient == "summed" and run["learning_rate"] == sheet_rate
                else ""
            )
            loss = np.asarray(run["loss"], dtype=float)
            ax.plot(
                np.arange(len(loss)),
                loss,
                color=VERDICT_COLORS[run["verdict"]],
                ls=SWEEP_LINESTYLES[repeat % len(SWEEP_LINESTYLES)],
                lw=1.4,
                label=f"lr {run['learning_rate']:g}{sheet} "
                f"(mean: {run['learning_rate_on_mean_gradient']:.3g}): {run['verdict']}",
            )
        ax.axhline(f_star, color="black", lw=0.8, ls=":", label="minimum J*")
        ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_ylabel("training objective J (log scale)")
        ax.set_title(f"GD on the {gradient} gradient")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    ax = axes[2]
    for gradient, marker in (("summed", "o"), ("averaged", "s")):
        runs = [run for run in sweep if run["gradient"] == gradient]
        for run in runs:
            final = run["loss"][-1]
            gap = final - f_star if np.isfinite(final) else np.nan
            ax.scatter(
                run["learning_rate_on_mean_gradient"],
                max(gap, _GAP_FLOOR),
                marker=marker,
                s=60,
                color=VERDICT_COLORS[run["verdict"]],
                edgecolors="black",
                linewidths=0.6,
                zorder=3,
            )
    for verdict, colour in VERDICT_COLORS.items():
        ax.scatter([], [], color=colour, edgecolors="black", linewidths=0.6, label=verdict)
    ax.scatter([], [], marker="o", color="white", edgecolors="black", label="summed gradient")
    ax.scatter([], [], marker="s", color="white", edgecolors="black", label="averaged gradient")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"learning rate on the mean gradient (summed: lr $\times$ N)")
    ax.set_ylabel("final $J - J^*$ (log scale)")
    ax.set_title("Both sweeps are one curve in the mean-gradient rate")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    metrics = results["metrics"]["learning_rate_sweep"]
    fig.suptitle(
        f"Learning-rate sweep of gradient descent, {metrics['iterations']} iterations from the "
        "sheet's N(0,1) start, objective with $\\alpha = 1/N$"
    )
    fig.tight_layout()
    return fig


@styled
def confusion_figure(results: dict) -> Figure:
    """Confusion matrix of the best solver on the test set."""
    best = results["best"]
    fig, ax = subplots(figsize=(6.2, 5.4))
    ConfusionMatrixDisplay(best["confusion"], display_labels=best["classes"]).plot(
        ax=ax, cmap="Blues", colorbar=False, values_format="d"
    )
    ax.set_title(
        f"Confusion matrix, {best['name']} (test accuracy {best['test_accuracy']:.3f}, "
        f"{int(np.trace(best['confusion']))}/{int(best['confusion'].sum())})"
    )
    fig.tight_layout()
    return fig


@styled
def weight_templates_figure(results: dict) -> Figure:
    """Each class's weights θ_c as an 8×8 image, one colour scale centred at 0."""
    best = results["best"]
    coef, classes = best["coef"], best["classes"]
    limit = float(np.max(np.abs(coef)))
    fig, axes = subplots(2, 5, figsize=(11, 5), layout="constrained")
    for ax, row, label in zip(axes.flat, coef, classes, strict=True):
        image = ax.imshow(row.reshape(8, 8), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(f"class {label}")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(
        image,
        ax=axes,
        shrink=0.8,
        label=r"weight $\theta_{c,j}$ of pixel $j$ (red: ink there favours class $c$)",
    )
    fig.suptitle(
        f"Weight templates of {best['name']}: ink $x_j$ adds "
        r"$\theta_{c,j}\,x_j$ to the logit $g_c$ of class $c$"
    )
    return fig


@styled
def misclassified_figure(results: dict, max_images: int = 24) -> Figure:
    """Misclassified test digits, with their true and predicted labels."""
    best, data = results["best"], results["data"]
    wrong = np.flatnonzero(best["y_pred"] != data["y_test"])
    shown = wrong[:max_images]
    n_cols = 8
    n_rows = max(1, int(np.ceil(len(shown) / n_cols)))
    fig, axes = subplots(n_rows, n_cols, figsize=(1.5 * n_cols, 1.8 * n_rows + 0.6), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, index in zip(axes.flat, shown, strict=False):
        ax.imshow(data["X_test"][index].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"true {data['y_test'][index]}, pred {best['y_pred'][index]}", fontsize=8.5)
    more = f" (first {len(shown)} shown)" if len(wrong) > len(shown) else ""
    fig.suptitle(
        f"Misclassified test digits, {best['name']}: {len(wrong)} of {len(data['y_test'])}{more}"
    )
    fig.tight_layout()
    return fig


@styled
def task3_figures(results: dict) -> dict[str, Figure]:
    """Every Task 3 figure, by file stem."""
    return {
        "loss_vs_iteration": optimizer_curves_figure(results, "iteration"),
        "loss_vs_seconds": optimizer_curves_figure(results, "seconds"),
        "learning_rate_sweep": learning_rate_sweep_figure(results),
        "confusion_matrix": confusion_figure(results),
        "weight_templates": weight_templates_figure(results),
        "misclassified": misclassified_figure(results),
    }
