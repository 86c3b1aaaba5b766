"""Each task's results → its ``explorer.json`` (shaped as ``_schema`` documents it).

The experiments compute what the page shows (``results["explorer"]``, numbers and arrays);
here it is only shaped for the page: rounded, values that are not finite as None (JSON has
no infinity), arrays as nested lists, and Task 2's boundaries cut to the plot's box.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._schema import Task1Explorer, Task2Explorer, Task2ExplorerFit, Task3Explorer

#: Task 2's estimators, as the page names them → their rows in the results.
TASK2_SWEEPS = {
    "least_squares": "outlier_sweep",
    "huber": "outlier_sweep_huber",
    "logistic": "outlier_sweep_logistic",
}


def rounded(values: Any, decimals: int = 3) -> list:
    """A float array as (nested) lists rounded to ``decimals`` (``np.round``); values that are
    not finite as None."""
    values = np.asarray(values, dtype=float)
    out = np.round(values, decimals).astype(object)
    out[~np.isfinite(values)] = None
    return out.tolist()


def curve(values: Any, decimals: int) -> list[float | None]:
    """A curve as a list rounded to ``decimals``; values that are not finite as None."""
    return [float(round(v, decimals)) if np.isfinite(v) else None for v in np.asarray(values)]


def task1_explorer(results: Mapping[str, Any]) -> Task1Explorer:
    """Task 1's page: p(c=1|x) and the accuracies for each k, the densities, the points."""
    metrics, data, found = results["metrics"], results["data"], results["explorer"]
    points = {
        split: {
            "x1": rounded(data[f"X_{split}"][:, 0]),
            "x2": rounded(data[f"X_{split}"][:, 1]),
            "label": [int(v) for v in data[f"y_{split}"]],
        }
        for split in ("train", "test")
    }
    by_k = [
        {
            "k": int(row["k"]),
            "test_accuracy": float(row["test_accuracy"]),
            "train_accuracy": float(row["train_accuracy"]),
            "cv_accuracy": None if row["cv_accuracy"] is None else float(row["cv_accuracy"]),
            "n_regions": int(row["n_regions"]),
            "proba": rounded(row["proba"]),
        }
        for row in found["by_k"]
    ]
    density = [
        {
            "k": int(row["k"]),
            "log_density": rounded(row["log_density"]),
            "class_log_density": {
                str(c): rounded(row["class_log_density"][..., j])
                for j, c in enumerate(found["classes"])
            },
            "mean_log_density_test": float(row["mean_log_density_test"]),
        }
        for row in found["density"]
    ]
    return {
        "n_train": int(metrics["dataset"]["n_train"]),
        "sheet_k_values": [int(k) for k in metrics["config"]["k_values"]],
        "chosen_k": int(metrics["config"]["n_neighbors"]),
        "cv_folds": int(metrics["cross_validation"]["folds"]),
        "cv_max_k": int(found["cv_max_k"]),
        "grid": {"x": rounded(found["grid"]["x"]), "y": rounded(found["grid"]["y"])},
        "points": points,
        "by_k": by_k,
        "density": density,
    }


def boundary_segment(coef, intercept: float, box: list[list[float]]) -> list[list[float]] | None:
    """The part of the line w·x + b = 0 inside ``box`` ([[x1 low, x1 high], [x2 low, x2 high]])
    as [[x1 start, x1 end], [x2 start, x2 end]]; None when it misses the box."""
    w1, w2 = float(coef[0]), float(coef[1])
    (a, b), (c, d) = box
    points = []
    if abs(w2) > 1e-12:  # crossings of the left and right edges
        points += [(x1, -(intercept + w1 * x1) / w2) for x1 in (a, b)]
    if abs(w1) > 1e-12:  # crossings of the bottom and top edges
        points += [(-(intercept + w2 * x2) / w1, x2) for x2 in (c, d)]
    tol = 1e-9
    inside = sorted(
        {(round(x1, 9), round(x2, 9)) for x1, x2 in points
         if a - tol <= x1 <= b + tol and c - tol <= x2 <= d + tol}
    )
    if len(inside) < 2:
        return None
    (x1a, x2a), (x1b, x2b) = inside[0], inside[-1]
    return [[round(x1a, 4), round(x1b, 4)], [round(x2a, 4), round(x2b, 4)]]


def _boundary(row: Mapping[str, Any], box: list[list[float]]) -> Task2ExplorerFit:
    return {
        "accuracy": float(row["accuracy"]),
        "accuracy_rint": float(row["accuracy_rint"]) if "accuracy_rint" in row else None,
        "angle_degrees": float(row["angle_degrees"]),
        "coef": [float(v) for v in row["coef"]],
        "intercept": float(row["intercept"]),
        "segment": boundary_segment(row["coef"], row["intercept"], box),
    }


def task2_explorer(results: Mapping[str, Any]) -> Task2Explorer:
    """Task 2's page: at each outlier scale, the outlier and each estimator's boundary within
    the plot's box (the data with a margin of 0.5) and its test accuracies."""
    metrics, data, found = results["metrics"], results["data"], results["explorer"]
    X_all = np.vstack([data["X_train"], data["X_test"]])
    low, high = X_all.min(axis=0) - 0.5, X_all.max(axis=0) + 0.5
    box = [[round(float(low[0]), 3), round(float(high[0]), 3)],
           [round(float(low[1]), 3), round(float(high[1]), 3)]]
    by_scale = []
    for i, first in enumerate(found["outlier_sweep"]):
        outlier = [float(v) for v in first["outlier"]]
        by_scale.append(
            {
                "scale": float(first["scale"]),
                "outlier": outlier,
                "outlier_in_plot": bool(box[0][0] <= outlier[0] <= box[0][1]
                                        and box[1][0] <= outlier[1] <= box[1][1]),
                "estimators": {
                    name: _boundary(found[key][i], box) for name, key in TASK2_SWEEPS.items()
                },
            }
        )
    points = {
        split: {
            "x1": [round(float(v), 3) for v in data[f"X_{split}"][:, 0]],
            "x2": [round(float(v), 3) for v in data[f"X_{split}"][:, 1]],
            "label": [int(v) for v in data[f"y_{split}"]],
        }
        for split in ("train", "test")
    }
    return {
        "sheet_scales": [float(s) for s in metrics["sheet"]["scales"]],
        "sheet_accuracy_rint": [float(a) for a in metrics["sheet"]["accuracy_rint"]],
        "box": box,
        "points": points,
        "by_scale": by_scale,
    }


def task3_explorer(results: Mapping[str, Any]) -> Task3Explorer:
    """Task 3's page: per solver and learning rate, J against iterations and seconds."""
    units = {row["name"]: row["iteration_unit"] for row in results["metrics"]["optimizers"]}
    solvers = {}
    for name, runs in results["explorer"]["solvers"].items():
        shaped = []
        for run in runs:
            loss, rate, accuracy = run["loss"], run["learning_rate"], run["test_accuracy"]
            shaped.append(
                {
                    # Rounded as the sweep's rates: 0.1 × 3 reads 0.3, not 0.30000000000000004.
                    "learning_rate": None if rate is None else round(float(rate), 12),
                    "factor": float(run["factor"]),
                    "loss": curve(loss, 6),
                    "seconds": curve(run["seconds"], 5),
                    "test_accuracy": None if accuracy is None else float(accuracy),
                    "final_loss": float(loss[-1]) if np.isfinite(loss[-1]) else None,
                    "iterations": len(loss) - 1,
                }
            )
        solvers[name] = {
            "iteration_unit": units[name],
            "study_index": [run["factor"] for run in runs].index(1.0),
            "runs": shaped,
        }
    return {"objective_minimum": float(results["f_star"]), "solvers": solvers}


#: Task name → the function from its results to its ``explorer.json``.
EXPLORERS = {"task1": task1_explorer, "task2": task2_explorer, "task3": task3_explorer}
