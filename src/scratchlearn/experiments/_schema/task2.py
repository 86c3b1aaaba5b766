"""Task 2's results: least squares and one outlier."""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np


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


class Task2ExplorerResults(TypedDict):
    outlier_sweep: list[LeastSquaresRow]  # least squares at each of at least
    # Config.explorer_min_scales scales, log-spaced from 1 to 64, the sweep's and the sheet's
    # among them (their rows are the sweep's)
    outlier_sweep_huber: list[HuberRow]  # Huber at the same scales
    outlier_sweep_logistic: list[LogisticRow]  # logistic regression at the same scales


class Task2Results(TypedDict):
    metrics: Task2Metrics  # the JSON part
    data: dict[str, np.ndarray]  # X_train, y_train (no outlier), X_test, y_test
    outliers: np.ndarray  # (n_scales, 2): the outlier at each scale
    decisions: dict[str, np.ndarray]  # per estimator, (n_scales, n_test): f(x) on the test set
    models: dict[str, Any]  # fitted models at the kept scale, by estimator
    explorer: Task2ExplorerResults  # what explorer.html shows, before the report shapes it
