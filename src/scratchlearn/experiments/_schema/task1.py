"""Task 1's results: k-nearest neighbours and kNN densities on two moons."""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np


class Task1Dataset(TypedDict):
    n_train: int  # training points (the sheet's first 90 %)
    n_test: int  # test points
    train_class_counts: dict[str, int]  # training points per class label
    test_class_counts: dict[str, int]  # test points per class label


class PredictProbaCheck(TypedDict):
    shape: list[int]  # shape of predict_proba(X_test): [n_test, n_classes]
    classes: list[int]  # its columns' class labels, classes_ order
    max_abs_diff_sklearn: float  # largest |p_ours − p_sklearn| over the test set
    max_row_sum_error: float  # largest |Σ_c p(c|x) − 1| over the test set


class ChosenK(TypedDict):
    k: int  # Config.n_neighbors, the k compared with scikit-learn
    accuracy: float  # test accuracy of scratchlearn's classifier
    accuracy_sklearn: float  # test accuracy of scikit-learn's KNeighborsClassifier
    predictions_equal_sklearn: bool  # the two predict the same label on every test point
    n_errors: int  # misclassified test points (ours)
    predict_proba: PredictProbaCheck  # predict_proba's shape and agreement with scikit-learn


class KSweepRow(TypedDict):
    k: int  # neighbours; the last row is k = N_train
    accuracy: float  # test accuracy
    rss: float  # test Σ (y − ŷ)², with 0/1 labels the number of errors
    train_accuracy: float  # training accuracy (each point is its own neighbour)


class CrossValidationRow(TypedDict):
    k: int  # neighbours
    mean_accuracy: float  # mean accuracy over the folds
    std_accuracy: float  # standard deviation of the fold accuracies


class CrossValidation(TypedDict):
    folds: int  # stratified, shuffled folds of the training set
    rows: list[CrossValidationRow]  # one per k of Config.k_values
    best_k: int  # k with the highest mean accuracy (ties: the smallest k)
    best_k_cv_accuracy: float  # its mean cross-validated accuracy
    best_k_test_accuracy: float  # its test accuracy, from k_sweep


class KEqualsNTrain(TypedDict):
    k: int  # N_train
    majority_class: int  # the most frequent training label
    predicts_only_majority_on_grid: bool  # the classifier predicts it on every grid point
    test_accuracy: float  # test accuracy at k = N_train
    train_accuracy: float  # training accuracy at k = N_train
    test_majority_fraction: float  # share of the majority class in the test set


class DensityRow(TypedDict):
    k: int  # neighbours of the density estimate
    mean_log_density_train_loo: float  # mean log p(x) at training points, leave-one-out (nats)
    mean_log_density_test: float  # mean log p(x) at test points (nats)
    bayes_accuracy_train_loo: float  # leave-one-out training accuracy of p(c|x) = K_c / K


class RegionStats(TypedDict):
    k: int  # neighbours (every k of k_sweep)
    class1_fraction: float  # share of the plotting grid where p(c=1|x) > 0.5
    n_regions: int  # connected pieces of the two class regions together, on the grid
    grid_points: int  # points of the plotting grid


class DensityCheck(TypedDict):
    k: int  # neighbours of the density estimate
    log_density_finite_grid: bool  # log p(x) is finite on the whole grid
    log_density_finite_train_loo: bool  # log p(x) is finite at every training point (LOO)
    mixture_identity_max_abs_log_error_grid: float  # max |log Σ_c p(x|c)p(c) − log p(x)|, grid


class KAndAccuracy(TypedDict):
    k: int  # neighbours
    accuracy: float  # test accuracy


class KAndRegions(TypedDict):
    k: int  # neighbours
    n_regions: int  # connected class regions on the grid (2: one per class)


class KAndDensity(TypedDict):
    k: int  # neighbours of the density estimate
    mean_log_density_test: float  # mean log p(x) at the test points (nats)


class KAndError(TypedDict):
    k: int  # neighbours of the density estimate
    max_abs_log_error: float  # its mixture-identity error on the grid (nats)


class Task1Summary(TypedDict):
    best_test: KAndAccuracy  # k below N_train with the best test accuracy (ties: smallest k)
    smooth_from: KAndRegions | None  # smallest k from which every larger k < N_train has ≤ 2
    # regions; None when no such k
    density_best_test: KAndDensity  # density k with the highest mean log p(x) on the test set
    density_loo_accuracy_rises: bool  # p(c|x)'s LOO accuracy is higher at the largest k than
    # at the smallest
    density_all_finite: bool  # every density check found log p(x) finite (grid and training)
    density_worst_check: KAndError  # density k with the largest mixture-identity error


class Task1Metrics(TypedDict):
    config: dict[str, Any]  # Config, less display-only settings
    dataset: Task1Dataset  # the split
    chosen_k: ChosenK  # k = Config.n_neighbors, ours beside scikit-learn
    classification_report: dict[str, Any]  # scikit-learn's report (output_dict) of ours
    classification_report_sklearn: dict[str, Any]  # the same for scikit-learn's classifier
    k_sweep: list[KSweepRow]  # Config.k_values, then k = N_train
    cross_validation: CrossValidation  # k chosen on the training set
    k_equals_n_train: KEqualsNTrain  # the sheet's question about k = N_train
    class_priors: dict[str, float]  # p(c) = N_c / N on the training set, by label
    density: list[DensityRow]  # one per Config.density_k_values
    decision_region_stats: list[RegionStats]  # one per k of k_sweep
    density_checks: list[DensityCheck]  # one per Config.density_k_values
    summary: Task1Summary  # derived facts


class ExplorerK(TypedDict):
    k: int  # neighbours
    test_accuracy: float  # test accuracy
    train_accuracy: float  # training accuracy
    cv_accuracy: float | None  # mean accuracy over the cross-validation folds; None when k is
    # larger than a fold's training set
    n_regions: int  # connected class regions on the explorer's grid
    proba: np.ndarray  # (n, n): p(c=1|x) on the explorer's grid, rows along x2


class ExplorerDensity(TypedDict):
    k: int  # neighbours of the density estimate
    log_density: np.ndarray  # (n, n): log p(x) on the explorer's grid (nats)
    class_log_density: np.ndarray  # (n, n, n_classes): log p(x|c) on the same grid, classes in
    # the order of Task1ExplorerResults.classes; −∞ where none of the k nearest is of class c
    mean_log_density_test: float  # mean log p(x) at the test points (nats)


class Task1ExplorerResults(TypedDict):
    cv_max_k: int  # the smallest training set of a fold: the largest k cross-validated
    grid: dict[str, np.ndarray]  # x: the grid's x1 values (left to right), y: its x2 values
    # (bottom to top); Config.explorer_resolution of each, over the experiment's plane
    classes: np.ndarray  # the class labels, sorted: the last axis of class_log_density
    by_k: list[ExplorerK]  # at least Config.explorer_min_ks ks, log-spaced, 1 to N_train
    density: list[ExplorerDensity]  # one per Config.density_k_values


class Task1Results(TypedDict):
    metrics: Task1Metrics  # the JSON part
    data: dict[str, np.ndarray]  # X_train, X_test, y_train, y_test
    y_pred: np.ndarray  # test predictions at the chosen k
    y_pred_sklearn: np.ndarray  # scikit-learn's test predictions at the chosen k
    grid: dict[str, np.ndarray]  # xx, yy: the plotting grid (meshgrid arrays)
    decision_regions: list[dict[str, Any]]  # per k of k_sweep: k, proba (p(c=1|x) on grid)
    densities: list[dict[str, Any]]  # per density k: k, log_density, class_log_density
    models: dict[str, Any]  # fitted models, by file stem
    explorer: Task1ExplorerResults  # what explorer.html shows, before the report shapes it


def prediction_figure_stem(k: int) -> str:
    """File stem of Task 1's figure of predicted test labels at the chosen k."""
    return f"predictions_k{k}"
