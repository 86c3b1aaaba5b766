"""Task 1: k-nearest neighbours and kNN density estimation on two moons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.special import logsumexp
from sklearn.metrics import accuracy_score, classification_report
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier as SklearnKNeighborsClassifier
from tqdm.auto import tqdm

from ..datasets import load_moons_split
from ..neighbors import KNeighborsClassifier, KNeighborsDensity
from ._config import config_metrics
from ._schema.task1 import (
    ChosenK,
    CrossValidation,
    CrossValidationRow,
    DensityCheck,
    DensityRow,
    ExplorerDensity,
    ExplorerK,
    KEqualsNTrain,
    KSweepRow,
    RegionStats,
    Task1ExplorerResults,
    Task1Metrics,
    Task1Results,
    Task1Summary,
)


@dataclass(frozen=True)
class Config:
    """Task 1 settings; the defaults are the sheet's."""

    n_samples: int = 1000
    noise: float = 0.2
    random_state: int = 0
    train_fraction: float = 0.9
    n_neighbors: int = 5
    k_values: tuple[int, ...] = tuple(2**i for i in range(10))
    density_k_values: tuple[int, ...] = (2, 4, 8, 16, 32)
    grid_resolution: int = 150
    cv_folds: int = 5  # beyond the sheet: choose k on the training set, not the test set
    #: The explorer (explorer.html): at least this many log-spaced ks from 1 to N_train (every
    #: k of k_values too), drawn on a grid of this resolution over the same plane.
    explorer_min_ks: int = 48
    explorer_resolution: int = 60
    show_progress: bool = True


def plane_grid(X: np.ndarray, resolution: int, margin: float = 0.5):
    """A ``resolution × resolution`` grid covering X with a margin: (xx, yy, points)."""
    low, high = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(
        np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    )
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def rss(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Residual sum of squares Σ (y − ŷ)²; with 0/1 labels it is the number of errors."""
    return float(np.sum((np.asarray(y_true, float) - np.asarray(y_pred, float)) ** 2))


def run(config: Config = Config()) -> Task1Results:
    """Run Task 1 and return its results (metrics, and arrays for the figures)."""
    X_train, X_test, y_train, y_test = load_moons_split(
        config.n_samples, config.noise, config.random_state, config.train_fraction
    )
    n_train = len(X_train)
    xx, yy, grid = plane_grid(np.vstack([X_train, X_test]), config.grid_resolution)
    sweep_k = [*config.k_values, n_train]
    progress = tqdm(
        total=2 + len(sweep_k) + len(config.density_k_values),
        desc="task1",
        disable=not config.show_progress,
    )
    chosen = chosen_k(config.n_neighbors, X_train, y_train, X_test, y_test)
    progress.update()
    k_sweep_rows, regions = sweep(
        sweep_k, X_train, y_train, X_test, y_test, grid, xx.shape, progress.update
    )
    cv = cross_validate(config, X_train, y_train, k_sweep_rows)
    progress.update()
    density_rows, density_checks, densities, density_models = density_estimates(
        config.density_k_values, X_train, y_train, X_test, grid, xx.shape, progress.update
    )
    progress.close()
    region_stats = [_region_stats(region["k"], region["proba"]) for region in regions]
    explorer = explorer_results(
        config, X_train, y_train, X_test, y_test, k_sweep_rows, cv, density_models
    )

    labels, counts = np.unique(y_train, return_counts=True)
    y_pred, y_pred_sklearn = chosen.pop("y_pred"), chosen.pop("y_pred_sklearn")
    model = chosen.pop("model")
    metrics: Task1Metrics = {
        "config": config_metrics(config),
        "dataset": {
            "n_train": n_train,
            "n_test": len(X_test),
            "train_class_counts": {str(c): int(n) for c, n in zip(labels, counts, strict=True)},
            "test_class_counts": {str(c): int(np.sum(y_test == c)) for c in np.unique(y_test)},
        },
        "chosen_k": chosen["metrics"],
        "classification_report": classification_report(y_test, y_pred, output_dict=True),
        "classification_report_sklearn": classification_report(
            y_test, y_pred_sklearn, output_dict=True
        ),
        "k_sweep": k_sweep_rows,
        "cross_validation": cv,
        "k_equals_n_train": k_equals_n_train(y_train, y_test, k_sweep_rows[-1], regions[-1]),
        "class_priors": {str(c): float(n / n_train) for c, n in zip(labels, counts, strict=True)},
        "density": density_rows,
        # Evidence for the report: how the regions change with k, and the sheet's bugs fixed.
        "decision_region_stats": region_stats,
        "density_checks": density_checks,
        "summary": summarize(n_train, k_sweep_rows, region_stats, density_rows, density_checks),
    }
    return {
        "metrics": metrics,
        "data": {"X_train": X_train, "X_test": X_test, "y_train": y_train, "y_test": y_test},
        "y_pred": y_pred,
        "y_pred_sklearn": y_pred_sklearn,
        "grid": {"xx": xx, "yy": yy},
        "decision_regions": regions,
        "densities": densities,
        # The fitted models the metrics describe (saved by ``scratchlearn run --save-models``).
        "models": {"knn_classifier": model, **density_models},
        "explorer": explorer,
    }


def chosen_k(
    k: int, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray
) -> dict[str, Any]:
    """Ours beside scikit-learn's at ``k``: ``metrics`` (:class:`ChosenK`), both predictions
    (``y_pred``, ``y_pred_sklearn``) and our fitted ``model``."""
    ours = KNeighborsClassifier(n_neighbors=k).fit(X_train, y_train)
    reference = SklearnKNeighborsClassifier(n_neighbors=k).fit(X_train, y_train)
    y_pred, y_pred_sklearn = ours.predict(X_test), reference.predict(X_test)
    proba, proba_sklearn = ours.predict_proba(X_test), reference.predict_proba(X_test)
    metrics: ChosenK = {
        "k": k,
        "accuracy": accuracy_score(y_test, y_pred),
        "accuracy_sklearn": accuracy_score(y_test, y_pred_sklearn),
        "predictions_equal_sklearn": bool(np.array_equal(y_pred, y_pred_sklearn)),
        "n_errors": int(np.sum(y_pred != y_test)),
        "predict_proba": {
            "shape": list(proba.shape),
            "classes": [int(c) for c in ours.classes_],
            "max_abs_diff_sklearn": float(np.max(np.abs(proba - proba_sklearn))),
            "max_row_sum_error": float(np.max(np.abs(proba.sum(axis=1) - 1))),
        },
    }
    return {"metrics": metrics, "y_pred": y_pred, "y_pred_sklearn": y_pred_sklearn, "model": ours}


def sweep(
    k_values: list[int],
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    grid: np.ndarray,
    shape: tuple[int, ...],
    tick: Callable[[], object] = lambda: None,
) -> tuple[list[KSweepRow], list[dict[str, Any]]]:
    """The k sweep: a metrics row per k, and each classifier's p(c=1|x) over the plane."""
    rows: list[KSweepRow] = []
    regions = []
    for k in k_values:
        model = KNeighborsClassifier(n_neighbors=k).fit(X_train, y_train)
        y_hat = model.predict(X_test)
        rows.append(
            {
                "k": k,
                "accuracy": accuracy_score(y_test, y_hat),
                "rss": rss(y_test, y_hat),
                "train_accuracy": model.score(X_train, y_train),
            }
        )
        regions.append({"k": k, "proba": model.predict_proba(grid)[:, 1].reshape(shape)})
        tick()
    return rows, regions


def cross_validate(
    config: Config, X_train: np.ndarray, y_train: np.ndarray, k_sweep: list[KSweepRow]
) -> CrossValidation:
    """Choose k by cross-validation on the training set (picking k by test accuracy tunes on
    the test set); also shows that the estimator works inside GridSearchCV."""
    search = GridSearchCV(
        KNeighborsClassifier(),
        {"n_neighbors": list(config.k_values)},
        cv=StratifiedKFold(config.cv_folds, shuffle=True, random_state=config.random_state),
    ).fit(X_train, y_train)
    rows: list[CrossValidationRow] = [
        {"k": k, "mean_accuracy": float(mean), "std_accuracy": float(std)}
        for k, mean, std in zip(
            config.k_values,
            search.cv_results_["mean_test_score"],
            search.cv_results_["std_test_score"],
            strict=True,
        )
    ]
    best_k = int(search.best_params_["n_neighbors"])
    return {
        "folds": config.cv_folds,
        "rows": rows,
        "best_k": best_k,
        "best_k_cv_accuracy": float(search.best_score_),
        "best_k_test_accuracy": next(row["accuracy"] for row in k_sweep if row["k"] == best_k),
    }


def density_estimates(
    k_values: tuple[int, ...],
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    grid: np.ndarray,
    shape: tuple[int, ...],
    tick: Callable[[], object] = lambda: None,
) -> tuple[list[DensityRow], list[DensityCheck], list[dict[str, Any]], dict[str, Any]]:
    """Densities for each k: metrics rows, checks, the grids for the figures, the models."""
    rows: list[DensityRow] = []
    checks: list[DensityCheck] = []
    densities: list[dict[str, Any]] = []
    models: dict[str, Any] = {}
    for k in k_values:
        estimator = KNeighborsDensity(n_neighbors=k).fit(X_train, y_train)
        models[f"density_k{k}"] = estimator
        densities.append(
            {
                "k": k,
                "log_density": estimator.score_samples(grid).reshape(shape),
                "class_log_density": estimator.class_log_density(grid).reshape(*shape, -1),
            }
        )
        loo_labels = estimator.classes_[np.argmax(estimator.predict_proba(), axis=1)]
        rows.append(
            {
                "k": k,
                "mean_log_density_train_loo": float(np.mean(estimator.score_samples())),
                "mean_log_density_test": float(np.mean(estimator.score_samples(X_test))),
                "bayes_accuracy_train_loo": accuracy_score(y_train, loo_labels),
            }
        )
        checks.append(_density_check(estimator, densities[-1]))
        tick()
    return rows, checks, densities, models


def explorer_ks(n_train: int, at_least: int, include: tuple[int, ...] = ()) -> list[int]:
    """At least ``at_least`` integers from 1 to ``n_train`` (all of them when there are fewer),
    log-spaced, with those of ``include`` in that range."""
    at_least = min(at_least, n_train)
    count = at_least
    while True:
        ks = {int(k) for k in np.rint(np.geomspace(1, n_train, count))}
        ks |= {k for k in include if 1 <= k <= n_train} | {1, n_train}
        if len(ks) >= at_least:
            return sorted(ks)
        count += 1


def explorer_results(
    config: Config,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    k_sweep: list[KSweepRow],
    cv: CrossValidation,
    density_models: dict[str, KNeighborsDensity],
) -> Task1ExplorerResults:
    """What explorer.html shows for Task 1: for each of many ks, p(c=1|x) on a coarse grid of
    the experiment's plane, the accuracies (test, training, cross-validated) and the number of
    regions on that grid; and each density k's log p(x) and log p(x|c) on the same grid.

    The sweep's test and training accuracies and the cross-validation's means are reused for
    the ks they cover; the other ks are fitted here, cross-validated on the same folds. The
    report's explorer rounds and shapes these arrays for the page."""
    n_train = len(X_train)
    xx, yy, grid = plane_grid(np.vstack([X_train, X_test]), config.explorer_resolution)
    shape = xx.shape
    ks = explorer_ks(n_train, config.explorer_min_ks, (*config.k_values, config.n_neighbors))
    swept = {row["k"]: row for row in k_sweep}
    cv_means = {row["k"]: row["mean_accuracy"] for row in cv["rows"]}
    folds = StratifiedKFold(config.cv_folds, shuffle=True, random_state=config.random_state)
    smallest_fold = min(len(train) for train, _ in folds.split(X_train, y_train))
    rows: list[ExplorerK] = []
    for k in ks:
        model = KNeighborsClassifier(n_neighbors=k).fit(X_train, y_train)
        proba = model.predict_proba(grid)[:, 1].reshape(shape)
        if k in swept:
            test_accuracy, train_accuracy = swept[k]["accuracy"], swept[k]["train_accuracy"]
        else:
            test_accuracy = float(accuracy_score(y_test, model.predict(X_test)))
            train_accuracy = float(model.score(X_train, y_train))
        if k in cv_means:
            cv_accuracy: float | None = cv_means[k]
        elif k <= smallest_fold:
            model_k = KNeighborsClassifier(n_neighbors=k)
            cv_accuracy = float(np.mean(cross_val_score(model_k, X_train, y_train, cv=folds)))
        else:  # more neighbours than a fold's training set holds
            cv_accuracy = None
        rows.append(
            {
                "k": k,
                "test_accuracy": float(test_accuracy),
                "train_accuracy": float(train_accuracy),
                "cv_accuracy": cv_accuracy,
                "n_regions": _region_stats(k, proba)["n_regions"],
                "proba": proba,
            }
        )
    densities: list[ExplorerDensity] = []
    for k in config.density_k_values:
        estimator = density_models[f"density_k{k}"]
        densities.append(
            {
                "k": k,
                "log_density": estimator.score_samples(grid).reshape(shape),
                "class_log_density": estimator.class_log_density(grid).reshape(*shape, -1),
                "mean_log_density_test": float(np.mean(estimator.score_samples(X_test))),
            }
        )
    return {
        "cv_max_k": smallest_fold,
        "grid": {"x": xx[0], "y": yy[:, 0]},
        "classes": np.unique(y_train),
        "by_k": rows,
        "density": densities,
    }


def k_equals_n_train(
    y_train: np.ndarray, y_test: np.ndarray, last_row: KSweepRow, last_region: dict[str, Any]
) -> KEqualsNTrain:
    """The sheet's question: what the classifier does with k = N_train."""
    labels, counts = np.unique(y_train, return_counts=True)
    majority = labels[np.argmax(counts)]
    # k = N_train: the vote is the same everywhere, so is the predicted class.
    grid_prediction = np.where(last_region["proba"] > 0.5, labels[1], labels[0])
    return {
        "k": last_row["k"],
        "majority_class": int(majority),
        "predicts_only_majority_on_grid": bool(np.all(grid_prediction == majority)),
        "test_accuracy": last_row["accuracy"],
        "train_accuracy": last_row["train_accuracy"],
        "test_majority_fraction": float(np.mean(y_test == majority)),
    }


def summarize(
    n_train: int,
    k_sweep: list[KSweepRow],
    region_stats: list[RegionStats],
    density: list[DensityRow],
    density_checks: list[DensityCheck],
) -> Task1Summary:
    """The derived facts the report states, computed once."""
    inner = [row for row in k_sweep if row["k"] < n_train]
    best = max(inner, key=lambda row: (row["accuracy"], -row["k"]))
    inner_stats = [row for row in region_stats if row["k"] < n_train]
    # The smallest k from which every larger k (below N_train) has one region per class.
    smooth = next(
        (
            row
            for j, row in enumerate(inner_stats)
            if all(later["n_regions"] <= 2 for later in inner_stats[j:])
        ),
        None,
    )
    best_density = max(density, key=lambda row: row["mean_log_density_test"])
    worst = max(density_checks, key=lambda c: c["mixture_identity_max_abs_log_error_grid"])
    return {
        "best_test": {"k": best["k"], "accuracy": best["accuracy"]},
        "smooth_from": (
            None if smooth is None else {"k": smooth["k"], "n_regions": smooth["n_regions"]}
        ),
        "density_best_test": {
            "k": best_density["k"],
            "mean_log_density_test": best_density["mean_log_density_test"],
        },
        "density_loo_accuracy_rises": bool(
            density[-1]["bayes_accuracy_train_loo"] > density[0]["bayes_accuracy_train_loo"]
        ),
        "density_all_finite": all(
            c["log_density_finite_grid"] and c["log_density_finite_train_loo"]
            for c in density_checks
        ),
        "density_worst_check": {
            "k": worst["k"],
            "max_abs_log_error": worst["mixture_identity_max_abs_log_error_grid"],
        },
    }


def _region_stats(k: int, proba: np.ndarray) -> RegionStats:
    """How much of the plane each k gives to class 1, and in how many separate pieces."""
    class1 = proba > 0.5
    pieces = sum(ndimage.label(mask)[1] for mask in (class1, ~class1))
    return {
        "k": k,
        "class1_fraction": float(np.mean(class1)),
        "n_regions": int(pieces),
        "grid_points": int(proba.size),
    }


def _density_check(estimator: KNeighborsDensity, density: dict) -> DensityCheck:
    """Finiteness of log p(x), and Σ_c p(x|c)p(c) = p(x) over the grid (leave-one-out training
    points use N − 1 and N_c − 1, so the identity is exact off the training set only)."""
    grid_mixture = logsumexp(density["class_log_density"] + np.log(estimator.class_prior_), axis=-1)
    return {
        "k": density["k"],
        "log_density_finite_grid": bool(np.all(np.isfinite(density["log_density"]))),
        "log_density_finite_train_loo": bool(np.all(np.isfinite(estimator.score_samples()))),
        "mixture_identity_max_abs_log_error_grid": float(
            np.max(np.abs(grid_mixture - density["log_density"]))
        ),
    }

