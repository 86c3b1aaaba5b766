"""The shape of every task's results: what ``run`` returns and what ``metrics.json`` holds.

The metrics stay plain JSON dicts (so ``metrics.json`` keeps its shape); these TypedDicts
document them, one comment per key with its meaning and units, and the tests check that a
real run writes exactly these keys (``tests/test_task*.py``). Keys typed ``dict[str, ...]``
are open mappings (class labels, settings) and are not checked key by key.

Derived facts (best k, where the boundary becomes smooth, the worst check, ...) are computed
by the experiments, once, under each task's ``summary``; the report and the figures read them.
Accuracies are fractions in [0, 1]; "index" keys point into the list named beside them.
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np

# --- Task 1: k-nearest neighbours on two moons ------------------------------------------------


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


class ExplorerGrid(TypedDict):
    x: list[float]  # the grid's x1 values, left to right
    y: list[float]  # its x2 values, bottom to top


class ExplorerPoints(TypedDict):
    x1: list[float]  # first coordinate, rounded to 3 decimals
    x2: list[float]  # second coordinate, rounded to 3 decimals
    label: list[int]  # class label


class ExplorerSplit(TypedDict):
    train: ExplorerPoints  # the training points
    test: ExplorerPoints  # the test points


class Task1ExplorerK(TypedDict):
    k: int  # neighbours
    test_accuracy: float  # test accuracy
    train_accuracy: float  # training accuracy
    cv_accuracy: float | None  # mean accuracy over the cross-validation folds; None when k is
    # larger than a fold's training set
    n_regions: int  # connected class regions on the explorer's grid
    proba: list[list[float]]  # p(c=1|x) on the explorer's grid, rows along x2, 3 decimals


class Task1ExplorerDensity(TypedDict):
    k: int  # neighbours of the density estimate
    log_density: list[list[float | None]]  # log p(x) on the explorer's grid (nats, 3 decimals;
    # None where not finite)
    class_log_density: dict[str, list[list[float | None]]]  # log p(x|c) by class label, same
    # grid; None for −∞ (none of the k nearest points is of class c)
    mean_log_density_test: float  # mean log p(x) at the test points (nats)


class Task1Explorer(TypedDict):
    n_train: int  # N_train, the largest k
    sheet_k_values: list[int]  # Config.k_values, the sheet's ks (all in by_k)
    chosen_k: int  # Config.n_neighbors
    cv_folds: int  # folds of the cross-validation
    cv_max_k: int  # the smallest training set of a fold: the largest k cross-validated
    grid: ExplorerGrid  # Config.explorer_resolution² points over the experiment's plane
    points: ExplorerSplit  # the data
    by_k: list[Task1ExplorerK]  # at least Config.explorer_min_ks ks, log-spaced, 1 to N_train
    density: list[Task1ExplorerDensity]  # one per Config.density_k_values


class Task1Results(TypedDict):
    metrics: Task1Metrics  # the JSON part
    data: dict[str, np.ndarray]  # X_train, X_test, y_train, y_test
    y_pred: np.ndarray  # test predictions at the chosen k
    grid: dict[str, np.ndarray]  # xx, yy: the plotting grid (meshgrid arrays)
    decision_regions: list[dict[str, Any]]  # per k of k_sweep: k, proba (p(c=1|x) on grid)
    densities: list[dict[str, Any]]  # per density k: k, log_density, class_log_density
    models: dict[str, Any]  # fitted models, by file stem
    texts: dict[str, str]  # text files, by name
    explorer: Task1Explorer  # explorer.json: what explorer.html shows for Task 1


# --- Task 2: least squares and one outlier ---------------------------------------------------


class Task2Dataset(TypedDict):
    n_train_without_outlier: int  # training points before the outlier is added
    n_test: int  # test points
    train_class_counts: dict[str, int]  # training points per label (no outlier)
    test_class_counts: dict[str, int]  # test points per label
    positive_class: int  # the label coded +1 (classes_[1])
    outlier_direction: list[float]  # the outlier sits at scale × this point
    outlier_label: int  # the outlier's label


class SheetNumbers(TypedDict):
    scales: list[int]  # the scales the sheet printed
    accuracy_rint: list[float]  # its accuracies (rint rule), one per scale
    rss_rint: list[float]  # its RSS (rint rule), one per scale


class RintFit(TypedDict):
    accuracy: float  # test accuracy, sign of f(x)
    rss: float  # test Σ (y − sign f)², 4 per error
    accuracy_rint: float  # test accuracy, the sheet's rint(f(x))
    rss_rint: float  # test Σ (y − rint f)²
    n_rint_zero: int  # test points that rint sends to 0, neither class
    coef: list[float]  # (w1, w2)
    intercept: float  # w0
    angle_degrees: float  # angle of the boundary to the x1-axis, degrees in [0, 180)


class LogisticBaseline(TypedDict):
    accuracy: float  # test accuracy, sign of the logit
    rss: float  # test Σ (y − sign f)²
    coef: list[float]  # (w1, w2)
    intercept: float  # w0
    angle_degrees: float  # angle of the boundary to the x1-axis, degrees in [0, 180)
    alpha: float  # L2 penalty 1/(C·N)
    n_iter: int  # L-BFGS iterations


class Baselines(TypedDict):
    least_squares: RintFit  # least squares without the outlier
    huber: RintFit  # Huber without the outlier
    logistic: LogisticBaseline  # logistic regression without the outlier


class LeastSquaresRow(RintFit):
    scale: float  # outlier scale s
    outlier: list[float]  # the outlier's position
    rotation_degrees: float  # signed angle from the no-outlier normal, degrees (ccw > 0)
    outlier_residual: float  # t − f at the outlier
    outlier_leverage: float  # hat-matrix diagonal at the outlier


class HuberRow(RintFit):
    scale: float  # outlier scale s
    outlier: list[float]  # the outlier's position
    rotation_degrees: float  # signed angle from the no-outlier normal, degrees (ccw > 0)
    outlier_residual: float  # t − f at the outlier
    outlier_weight: float  # its IRLS weight min(1, ε/|r|)
    n_iter: int  # IRLS iterations


class LogisticRow(LogisticBaseline):
    scale: float  # outlier scale s
    outlier: list[float]  # the outlier's position
    rotation_degrees: float  # signed angle from the no-outlier normal, degrees (ccw > 0)
    outlier_margin: float  # y·f at the outlier (> 0: correct side)
    outlier_loss: float  # log(1 + e^−m), its term of the loss (nats)
    outlier_loss_gradient: float  # |∂loss/∂f| = σ(−m) at the outlier


class ScaleAndAccuracy(TypedDict):
    index: int  # index into the sweep it describes
    scale: float  # outlier scale s
    accuracy: float  # test accuracy by sign


class Task2Summary(TypedDict):
    least_squares_worst: ScaleAndAccuracy  # lowest least-squares accuracy (ties: largest s)
    last_sheet_scale: int | None  # index into the sweeps of the largest scale the sheet
    # printed; None when the run has none of them
    logistic_lowest: ScaleAndAccuracy  # lowest logistic accuracy (ties: smallest s)
    logistic_accuracy_constant: bool  # logistic accuracy is the same at every scale


class Task2Metrics(TypedDict):
    config: dict[str, Any]  # Config, less display-only settings
    dataset: Task2Dataset  # the blobs and the outlier
    sheet: SheetNumbers  # the sheet's printed results
    baseline_no_outlier: Baselines  # every estimator without the outlier
    outlier_sweep: list[LeastSquaresRow]  # least squares, one row per scale
    outlier_sweep_huber: list[HuberRow]  # Huber, one row per scale
    outlier_sweep_logistic: list[LogisticRow]  # logistic regression, one row per scale
    summary: Task2Summary  # derived facts


class Task2ExplorerFit(TypedDict):
    accuracy: float  # test accuracy, sign of f(x)
    accuracy_rint: float | None  # test accuracy, the sheet's rint(f(x)); None for logistic
    angle_degrees: float  # angle of the boundary to the x1-axis, degrees in [0, 180)
    coef: list[float]  # (w1, w2)
    intercept: float  # w0
    segment: list[list[float]] | None  # the boundary inside the plot box: [[x1 start, x1 end],
    # [x2 start, x2 end]]; None when it misses the box


class Task2ExplorerScale(TypedDict):
    scale: float  # outlier scale s
    outlier: list[float]  # the outlier's position
    outlier_in_plot: bool  # it lies inside the plot box
    estimators: dict[str, Task2ExplorerFit]  # least_squares, huber, logistic


class Task2Explorer(TypedDict):
    sheet_scales: list[float]  # the scales the sheet printed (all in by_scale)
    sheet_accuracy_rint: list[float]  # its accuracies (rint rule), one per scale
    box: list[list[float]]  # the plot box: [[x1 low, x1 high], [x2 low, x2 high]]
    points: ExplorerSplit  # the data without the outlier
    by_scale: list[Task2ExplorerScale]  # at least Config.explorer_min_scales scales, 1 to 64


class Task2Results(TypedDict):
    metrics: Task2Metrics  # the JSON part
    data: dict[str, np.ndarray]  # X_train, y_train (no outlier), X_test, y_test
    outliers: np.ndarray  # (n_scales, 2): the outlier at each scale
    decisions: dict[str, np.ndarray]  # per estimator, (n_scales, n_test): f(x) on the test set
    models: dict[str, Any]  # fitted models at the kept scale, by estimator
    texts: dict[str, str]  # text files, by name
    explorer: Task2Explorer  # explorer.json: what explorer.html shows for Task 2


# --- Task 3: softmax regression and its optimisers -------------------------------------------


class Task3Dataset(TypedDict):
    n_train: int  # training images
    n_test: int  # test images
    n_features: int  # pixels per image
    n_classes: int  # digits


class Objective(TypedDict):
    formula: str  # the objective J, in words
    alpha: float  # L2 penalty 1/(C·N)
    equivalent: str  # the scikit-learn estimator with the same objective
    minimum: float  # J*, found by L-BFGS to a tight tolerance (nats)


class SheetRun(TypedDict):
    gradient: str  # "summed" or "averaged"
    learning_rate: float  # the rate on that gradient
    learning_rate_on_mean_gradient: float  # the same step on the mean gradient
    iterations: int  # gradient-descent steps
    initial_train_loss: float  # mean cross-entropy at the start (nats)
    train_loss: float  # mean cross-entropy at the end (nats)
    train_accuracy: float  # training accuracy
    test_accuracy: float  # test accuracy
    max_abs_weight: float  # largest |W| at the end


class SheetRuns(TypedDict):
    description: str  # the run, in words
    summed: SheetRun  # the sheet's rate on the summed gradient
    averaged: SheetRun  # the same rate on the averaged gradient


class OptimizerRow(TypedDict):
    name: str  # solver
    settings: dict[str, Any]  # its settings
    iteration_unit: str  # "step", "epoch" or "iteration"
    test_accuracy: float  # test accuracy
    train_accuracy: float  # training accuracy
    train_loss: float  # final objective J (nats)
    gap_to_minimum: float  # J − J* (nats)
    iterations: int  # iterations run, in iteration_unit
    converged: bool  # stopped by tol before max_iter
    seconds: float  # wall-clock seconds of fit


class BestOptimizer(TypedDict):
    name: str  # the solver with the lowest training objective
    criterion: str  # that criterion, in words
    test_accuracy: float  # its test accuracy


class SklearnReference(TypedDict):
    model: str  # the scikit-learn estimator
    test_accuracy: float  # its test accuracy
    max_abs_proba_difference_test: float  # max |p_ours − p_sklearn| on the test set (L-BFGS)
    max_abs_coef_difference: float  # max |W_ours − W_sklearn|
    objective_minimum: float  # J* (nats)


class SweepRun(TypedDict):
    gradient: str  # "summed" or "averaged"
    learning_rate: float  # the rate on that gradient
    learning_rate_on_mean_gradient: float  # the same step on the mean gradient
    iterations: int  # steps run
    final_train_loss: float | None  # final J (nats); None when not finite
    gap_to_minimum: float | None  # J − J* (nats); None when not finite
    test_accuracy: float | None  # test accuracy; None when the weights are not finite
    verdict: str  # "diverging", "oscillating", "good" or "too slow" (verdict_rule)


class VerdictAt(TypedDict):
    verdict: str  # a verdict of the sweep
    index: int  # index into runs of the smallest learning rate that got it


class LearningRateSweep(TypedDict):
    objective: str  # the objective, in words
    iterations: int  # steps per run
    verdict_rule: str  # how runs are classified, in words
    runs: list[SweepRun]  # summed rates, then averaged rates
    first_verdicts: dict[str, list[VerdictAt]]  # per gradient, each verdict at its smallest
    # rate, in order of rate


class GradientCheck(TypedDict):
    samples: int  # training samples used
    relative_error_cross_entropy: float  # relative error of the gradient, no penalty
    relative_error_cross_entropy_l2: float  # the same with an L2 penalty


class Task3Summary(TypedDict):
    optimizers_by_gap: list[int]  # indices into optimizers, smallest J − J* first
    lowest_test_accuracy: int  # index into optimizers of the lowest test accuracy
    highest_test_accuracy: int  # index into optimizers of the highest test accuracy
    test_accuracy_spread: float  # highest minus lowest optimizer test accuracy
    good_rate: dict[str, int]  # per gradient with a "good" run: index into runs of the
    # smallest good learning rate


class Task3Metrics(TypedDict):
    config: dict[str, Any]  # Config, less display-only settings
    dataset: Task3Dataset  # the digits split
    objective: Objective  # the solvers' objective
    sheet_run: SheetRuns  # the sheet's routine, finished
    optimizers: list[OptimizerRow]  # one per solver of Config.solvers
    best_optimizer: BestOptimizer  # the solver with the lowest objective
    sklearn_reference: SklearnReference  # scikit-learn on the same objective
    learning_rate_sweep: LearningRateSweep  # gradient descent over learning rates
    gradient_check: GradientCheck  # the gradient against centred differences
    summary: Task3Summary  # derived facts


class Task3ExplorerRun(TypedDict):
    learning_rate: float | None  # the rate (on the mean gradient); None for L-BFGS
    factor: float  # the rate over the study's rate for this solver
    loss: list[float | None]  # J after each iteration, the start first (nats, 6 decimals);
    # None where not finite
    seconds: list[float | None]  # wall-clock seconds since the start of fit at each point
    test_accuracy: float | None  # test accuracy; None when the weights are not finite
    final_loss: float | None  # the last J (nats); None when not finite
    iterations: int  # iterations run


class Task3ExplorerSolver(TypedDict):
    iteration_unit: str  # "step", "epoch" or "iteration"
    study_index: int  # index into runs of the study's own run (factor 1)
    runs: list[Task3ExplorerRun]  # by learning rate, smallest first


class Task3Explorer(TypedDict):
    objective_minimum: float  # J* (nats)
    solvers: dict[str, Task3ExplorerSolver]  # by solver, Config.solvers' order


class Task3Results(TypedDict):
    metrics: Task3Metrics  # the JSON part
    data: dict[str, np.ndarray]  # X_test, y_test
    curves: dict[str, dict[str, np.ndarray]]  # per solver: loss (J per iteration), seconds
    f_star: float  # J* (nats)
    sweep: list[dict[str, Any]]  # the sweep's runs, each with its loss curve
    best: dict[str, Any]  # the best solver: name, coef, classes, y_pred, confusion,
    # test_accuracy
    texts: dict[str, str]  # text files, by name
    models: dict[str, Any]  # fitted models, by file stem
    explorer: Task3Explorer  # explorer.json: what explorer.html shows for Task 3


def prediction_figure_stem(k: int) -> str:
    """File stem of Task 1's figure of predicted test labels at the chosen k."""
    return f"predictions_k{k}"
