"""The text files beside each task's metrics, from its results: fixed-width tables to read in
a terminal, which the report also folds in.

- ``task1/classification_report.txt``: scikit-learn's classification report of our
  classifier beside scikit-learn's, at the chosen k;
- ``task2/outlier_sweep.txt``: the outlier sweep, every estimator at every scale;
- ``task3/optimizers.txt``: the solvers, scikit-learn's reference and the sheet's run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sklearn.metrics import classification_report


def task1_texts(results: Mapping[str, Any]) -> dict[str, str]:
    """Task 1's text files, by name."""
    k = results["metrics"]["chosen_k"]["k"]
    y_test = results["data"]["y_test"]
    return {
        "classification_report.txt": side_by_side(
            f"scratchlearn KNeighborsClassifier, k = {k}",
            classification_report(y_test, results["y_pred"], digits=3),
            f"scikit-learn KNeighborsClassifier, k = {k}",
            classification_report(y_test, results["y_pred_sklearn"], digits=3),
        )
    }


def task2_texts(results: Mapping[str, Any]) -> dict[str, str]:
    """Task 2's text files, by name."""
    return {"outlier_sweep.txt": sweep_table(results["metrics"])}


def task3_texts(results: Mapping[str, Any]) -> dict[str, str]:
    """Task 3's text files, by name."""
    return {"optimizers.txt": optimizer_table(results["metrics"])}


def side_by_side(left_title: str, left: str, right_title: str, right: str) -> str:
    """Two text blocks in columns, each under its title."""
    left_lines = [left_title, "", *left.splitlines()]
    right_lines = [right_title, "", *right.splitlines()]
    width = max(map(len, left_lines)) + 4
    rows = max(len(left_lines), len(right_lines))
    left_lines += [""] * (rows - len(left_lines))
    right_lines += [""] * (rows - len(right_lines))
    return (
        "\n".join(f"{a:<{width}}{b}".rstrip() for a, b in zip(left_lines, right_lines, strict=True))
        + "\n"
    )


def sweep_table(metrics: Mapping[str, Any]) -> str:
    """The sweep as a fixed-width text table: least squares, Huber, logistic regression."""
    epsilon = metrics["config"]["huber_epsilon"]
    logistic_c = metrics["config"]["logistic_C"]
    sheet = dict(zip(metrics["sheet"]["scales"], metrics["sheet"]["accuracy_rint"], strict=True))
    header = (
        f"{'scale':>5}  {'outlier':>14}  {'LS sign':>7}  {'LS rint':>7}  {'sheet':>5}  "
        f"{'LS angle':>8}  {'leverage':>8}  {'Huber sign':>10}  {'Huber rint':>10}  "
        f"{'Huber angle':>11}  {'Huber ω':>7}  {'LR sign':>7}  {'LR angle':>8}  {'LR margin':>9}"
    )
    lines = [
        "Least squares (LS), Huber's loss "
        f"(epsilon = {epsilon:g}) and logistic regression (LR, C = {logistic_c:g}) against the "
        "outlier's scale s.",
        "Accuracy on the 100 test points; 'sign' predicts by the sign of f(x), 'rint' is the",
        "sheet's rounding (0 for |f| < 0.5); angle of the boundary to the x1-axis in degrees;",
        "LR margin: y·f at the outlier, its logit on the correct side (no rint for logits).",
        "",
        header,
        "-" * len(header),
    ]
    base_ls = metrics["baseline_no_outlier"]["least_squares"]
    base_huber = metrics["baseline_no_outlier"]["huber"]
    base_lr = metrics["baseline_no_outlier"]["logistic"]
    lines.append(
        f"{'none':>5}  {'':>14}  {base_ls['accuracy']:>7.2f}  {base_ls['accuracy_rint']:>7.2f}  "
        f"{'':>5}  {base_ls['angle_degrees']:>8.1f}  {'':>8}  {base_huber['accuracy']:>10.2f}  "
        f"{base_huber['accuracy_rint']:>10.2f}  {base_huber['angle_degrees']:>11.1f}  {'':>7}  "
        f"{base_lr['accuracy']:>7.2f}  {base_lr['angle_degrees']:>8.1f}  {'':>9}"
    )
    rows = zip(
        metrics["outlier_sweep"],
        metrics["outlier_sweep_huber"],
        metrics["outlier_sweep_logistic"],
        strict=True,
    )
    for ls, hub, lr in rows:
        s = ls["scale"]
        where = f"({ls['outlier'][0]:g}, {ls['outlier'][1]:g})"
        sheet_value = f"{sheet[s]:.2f}" if s in sheet else ""
        lines.append(
            f"{s:>5g}  {where:>14}  {ls['accuracy']:>7.2f}  {ls['accuracy_rint']:>7.2f}  "
            f"{sheet_value:>5}  {ls['angle_degrees']:>8.1f}  {ls['outlier_leverage']:>8.3f}  "
            f"{hub['accuracy']:>10.2f}  {hub['accuracy_rint']:>10.2f}  "
            f"{hub['angle_degrees']:>11.1f}  {hub['outlier_weight']:>7.3f}  "
            f"{lr['accuracy']:>7.2f}  {lr['angle_degrees']:>8.1f}  {lr['outlier_margin']:>9.1f}"
        )
    return "\n".join(lines) + "\n"


def optimizer_table(metrics: Mapping[str, Any]) -> str:
    """The solvers, the sheet's run and scikit-learn's reference as a fixed-width table."""
    lines = [
        f"Objective: {metrics['objective']['formula']}, alpha = {metrics['objective']['alpha']:.3g}"
        f" ({metrics['objective']['equivalent']}); J* = {metrics['objective']['minimum']:.6f}",
        "",
        f"{'solver':<10} {'settings':<34} {'iters':>6} {'train J':>9} {'J - J*':>9} "
        f"{'test acc':>8} {'seconds':>8}",
    ]
    for row in metrics["optimizers"]:
        settings = ", ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in row["settings"].items()
            if k not in ("alpha", "max_iter", "tol", "random_state")
        )
        lines.append(
            f"{row['name']:<10} {settings or '-':<34} {row['iterations']:>6} "
            f"{row['train_loss']:>9.5f} {row['gap_to_minimum']:>9.2e} "
            f"{row['test_accuracy']:>8.4f} {row['seconds']:>8.3f}"
        )
    reference = metrics["sklearn_reference"]
    lines += [
        "",
        f"scikit-learn {reference['model']}: test accuracy {reference['test_accuracy']:.4f}; "
        f"max |p_ours - p_sklearn| = {reference['max_abs_proba_difference_test']:.1e}",
        "",
        "The sheet's run (GD, 1,000 iterations, N(0,1) start, no penalty):",
    ]
    for key in ("summed", "averaged"):
        row = metrics["sheet_run"][key]
        lines.append(
            f"  lr {row['learning_rate']:g} on the {key} gradient "
            f"(= {row['learning_rate_on_mean_gradient']:g} on the mean): "
            f"train loss {row['train_loss']:.4f}, test accuracy {row['test_accuracy']:.4f}"
        )
    return "\n".join(lines) + "\n"


#: Task name → the function from its results to its text files (name → text).
TEXTS: dict[str, Callable[[Mapping[str, Any]], dict[str, str]]] = {
    "task1": task1_texts,
    "task2": task2_texts,
    "task3": task3_texts,
}
