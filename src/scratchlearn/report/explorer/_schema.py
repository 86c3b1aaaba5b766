"""The shape of ``explorer.json``: what the page shows for each task, ready for JSON.

Numbers are rounded for the page (the decimals are given per key) and a value that is not
finite is None, as JSON has no infinity. The tests check that each task's ``explorer.json``
has exactly these keys (``tests/test_explorer.py``).
"""

from __future__ import annotations

from typing import TypedDict

# --- Task 1: k-nearest neighbours on two moons ------------------------------------------------


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


# --- Task 2: least squares and one outlier ---------------------------------------------------


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


# --- Task 3: softmax regression and its optimisers -------------------------------------------


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
