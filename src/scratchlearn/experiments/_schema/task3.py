"""Task 3's results: softmax regression and its optimisers."""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np


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


class ExplorerRun(TypedDict):
    learning_rate: float | None  # the rate (on the mean gradient); None for L-BFGS
    factor: float  # the rate over the study's rate for this solver
    loss: np.ndarray  # J after each iteration, the start first (nats)
    seconds: np.ndarray  # wall-clock seconds since the start of fit at each point of loss
    test_accuracy: float | None  # test accuracy; None when the weights are not finite


class Task3ExplorerResults(TypedDict):
    solvers: dict[str, list[ExplorerRun]]  # by solver (Config.solvers' order), its runs by
    # learning rate, smallest first; the study's own run is the one with factor 1


class Task3Results(TypedDict):
    metrics: Task3Metrics  # the JSON part
    data: dict[str, np.ndarray]  # X_test, y_test
    curves: dict[str, dict[str, np.ndarray]]  # per solver: loss (J per iteration), seconds
    f_star: float  # J* (nats)
    sweep: list[dict[str, Any]]  # the sweep's runs, each with its loss curve
    best: dict[str, Any]  # the best solver: name, coef, classes, y_pred, confusion,
    # test_accuracy
    models: dict[str, Any]  # fitted models, by file stem
    explorer: Task3ExplorerResults  # what explorer.html shows, before the report shapes it
