"""Task 3: softmax regression on the digits, and a study of its optimisers.

Four parts:

1. **The sheet's run, as it meant it**: full-batch gradient descent from N(0, 1) weights
   (seeded), learning rate 0.01 on the gradient *summed* over samples, 1,000 iterations, with
   the one-hot fix and no penalty. A summed-gradient step with rate η is a mean-gradient
   step with rate N·η, so it is ``SoftmaxRegression("gd", learning_rate=N * 0.01)``. The
   same 0.01 on the averaged gradient is run beside it.
2. **Every solver** on the same objective, mean cross-entropy + α/2‖W‖² with α = 1/N
   (scikit-learn's ``LogisticRegression(C=1)``, which has a unique minimiser J*), from zero
   weights, each with settings picked from a small grid (``Config.solvers``).
3. **A learning-rate sweep** of gradient descent on that objective from the sheet's start,
   on the summed and on the averaged gradient.
4. **Checks**: the gradient against centred differences, and L-BFGS against scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from .._math.losses import one_hot, softmax_cross_entropy
from .._math.params import flat_objective
from ..datasets import load_digits_split
from ..gradcheck import check_gradient
from ..linear_model import SoftmaxRegression
from ._config import config_metrics
from ._rate_sweep import first_verdicts, learning_rate_sweep
from ._schema.task3 import (
    ExplorerRun,
    GradientCheck,
    OptimizerRow,
    SheetRun,
    SklearnReference,
    Task3ExplorerResults,
    Task3Metrics,
    Task3Results,
    Task3Summary,
    VerdictAt,
)
from ._timed_fit import timed_fit


def _default_solvers() -> dict[str, dict]:
    # Each learning rate is the best of a grid 2× apart, by J after 300 iterations, among the
    # rates whose J never rose above its start (a stable run, not a lucky bounce). Grids:
    # gd 1/2/4/8, sgd 0.25/0.5/1 (batch 32 beat 128), momentum 2/4/8/16, nesterov 1/2/4/8,
    # adam 0.05/0.1/0.2. The next rate up overshoots first: gd at 4 (J 2.3 → 2.75), momentum
    # at 8 (→ 9.9), nesterov at 4 (→ 8.0), even where it ends lower.
    return {
        "gd": {"learning_rate": 2.0},
        "sgd": {"learning_rate": 0.5, "batch_size": 32},
        "momentum": {"learning_rate": 4.0, "momentum": 0.9},
        "nesterov": {"learning_rate": 2.0, "momentum": 0.9},
        "adam": {"learning_rate": 0.1},
        "lbfgs": {},
    }


@dataclass(frozen=True)
class Config:
    """Task 3 settings; the sheet's where it has them."""

    test_size: float = 0.25
    split_random_state: int = 0
    # The sheet's run.
    sheet_learning_rate: float = 0.01  # on the summed gradient
    sheet_iterations: int = 1000
    init_seed: int = 0  # np.random.default_rng(init_seed).normal(0, 1, (10, 64))
    # The solver study.
    C: float = 1.0  # α = 1/(C·N), scikit-learn's LogisticRegression(C)
    max_iter: int = 300
    tol: float = 1e-6
    solvers: dict = field(default_factory=_default_solvers)
    random_state: int = 0  # mini-batch shuffles
    # The learning-rate sweep of gradient descent (α = 1/(C·N), the sheet's start).
    sweep_iterations: int = 1000
    sweep_summed: tuple[float, ...] = (1e-4, 1e-3, 3e-3, 1e-2, 1e-1)
    sweep_averaged: tuple[float, ...] = (0.01, 0.1, 1.0, 4.0, 100.0)
    #: A sweep run is "good" when J − J* ≤ this after sweep_iterations.
    good_gap: float = 1e-2
    gradcheck_samples: int = 200
    #: The explorer (explorer.html): each solver with a learning rate is also run at its rate
    #: times each of these factors (1 is the study's own run, reused).
    explorer_rate_factors: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0)
    show_progress: bool = True


def _gradient_check(X: np.ndarray, y: np.ndarray, alpha: float, seed: int) -> float:
    """Relative error of the softmax cross-entropy gradient at a random point."""
    C, D = 10, X.shape[1]
    Y = one_hot(y, C)
    theta = np.random.default_rng(seed).normal(0, 0.1, C * (D + 1))

    fun = flat_objective(lambda W, b: softmax_cross_entropy(W, b, X, Y, alpha), C)
    return check_gradient(fun, theta)


def sheet_runs(
    config: Config,
    W0: np.ndarray,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    tick: Callable[[], object] = lambda: None,
) -> dict[str, SheetRun]:
    """The sheet's run, and the same learning rate on the averaged gradient (by gradient)."""
    N = len(X_train)
    runs = {}
    for gradient, learning_rate in (
        ("summed", round(config.sheet_learning_rate * N, 12)),
        ("averaged", config.sheet_learning_rate),
    ):
        model = timed_fit(
            SoftmaxRegression(
                "gd", learning_rate=learning_rate, max_iter=config.sheet_iterations, tol=0.0
            ),
            X_train,
            y_train,
            coef_init=W0,
        ).model
        runs[gradient] = {
            "gradient": gradient,
            "learning_rate": config.sheet_learning_rate,
            "learning_rate_on_mean_gradient": learning_rate,
            "iterations": model.n_iter_,
            "initial_train_loss": float(model.loss_curve_[0]),
            "train_loss": float(model.loss_curve_[-1]),
            "train_accuracy": model.score(X_train, y_train),
            "test_accuracy": model.score(X_test, y_test),
            "max_abs_weight": float(np.max(np.abs(model.coef_))),
        }
        tick()
    return runs


def sklearn_reference(
    config: Config,
    alpha: float,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
) -> tuple[float, SklearnReference]:
    """J* (L-BFGS to a tight tolerance), and scikit-learn's LogisticRegression beside it."""
    reference = timed_fit(
        SoftmaxRegression("lbfgs", alpha=alpha, tol=1e-10, max_iter=10_000), X_train, y_train
    ).model
    f_star = float(reference.loss_curve_[-1])
    # One BLAS thread, as SoftmaxRegression uses on a problem this small (see its fit).
    with threadpool_limits(limits=1, user_api="blas"):
        sklearn_model = LogisticRegression(C=config.C, tol=1e-10, max_iter=10_000)
        sklearn_model.fit(X_train, y_train)
    row: SklearnReference = {
        "model": f"LogisticRegression(C={config.C:g}, tol=1e-10)",
        "test_accuracy": sklearn_model.score(X_test, y_test),
        "max_abs_proba_difference_test": float(
            np.max(np.abs(reference.predict_proba(X_test) - sklearn_model.predict_proba(X_test)))
        ),
        "max_abs_coef_difference": float(np.max(np.abs(reference.coef_ - sklearn_model.coef_))),
        "objective_minimum": f_star,
    }
    return f_star, row


def _study_model(name: str, settings: dict, alpha: float, config: Config) -> SoftmaxRegression:
    """The solver study's model: the study's objective and stopping rule, ``settings``' solver."""
    return SoftmaxRegression(
        name,
        alpha=alpha,
        max_iter=config.max_iter,
        tol=config.tol,
        random_state=config.random_state,
        **settings,
    )


def solver_study(
    config: Config,
    alpha: float,
    f_star: float,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    tick: Callable[[], object] = lambda: None,
) -> tuple[list[OptimizerRow], dict[str, dict[str, np.ndarray]], dict[str, SoftmaxRegression]]:
    """Every solver on the same objective: metrics rows, loss curves and fitted models."""
    optimizers: list[OptimizerRow] = []
    curves, models = {}, {}
    for name, settings in config.solvers.items():
        model = _study_model(name, settings, alpha, config)
        fitted = timed_fit(model, X_train, y_train)
        models[name] = model
        curves[name] = {"loss": model.loss_curve_, "seconds": fitted.seconds}
        optimizers.append(
            {
                "name": name,
                "settings": {
                    **settings,
                    "alpha": alpha,
                    "max_iter": config.max_iter,
                    "tol": config.tol,
                    **({"random_state": config.random_state} if name == "sgd" else {}),
                },
                "iteration_unit": {"sgd": "epoch", "lbfgs": "iteration"}.get(name, "step"),
                "test_accuracy": model.score(X_test, y_test),
                "train_accuracy": model.score(X_train, y_train),
                "train_loss": float(model.loss_curve_[-1]),
                "gap_to_minimum": float(model.loss_curve_[-1] - f_star),
                "iterations": model.n_iter_,
                "converged": fitted.converged,
                "seconds": fitted.total_seconds,
            }
        )
        tick()
    return optimizers, curves, models


def explorer_results(
    config: Config,
    alpha: float,
    curves: dict[str, dict[str, np.ndarray]],
    optimizers: list[OptimizerRow],
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
) -> Task3ExplorerResults:
    """What explorer.html shows for Task 3: per solver and learning rate (its study rate times
    each of ``Config.explorer_rate_factors``), J against iterations and against seconds, and
    the test accuracy. The study's own runs (factor 1) are reused; the others are fitted here
    with the study's settings and only the learning rate changed."""
    by_name = {row["name"]: row for row in optimizers}
    solvers: dict[str, list[ExplorerRun]] = {}
    for name, settings in config.solvers.items():
        rate = settings.get("learning_rate")
        factors = sorted({*config.explorer_rate_factors, 1.0}) if rate is not None else [1.0]
        solvers[name] = []
        for factor in factors:
            if factor == 1.0:
                loss, seconds = curves[name]["loss"], curves[name]["seconds"]
                accuracy: float | None = by_name[name]["test_accuracy"]
            else:
                scaled = {**settings, "learning_rate": rate * factor}
                model = _study_model(name, scaled, alpha, config)
                fitted = timed_fit(model, X_train, y_train)
                loss, seconds = model.loss_curve_, fitted.seconds
                finite = bool(np.all(np.isfinite(model.coef_)))
                accuracy = float(model.score(X_test, y_test)) if finite else None
            solvers[name].append(
                {
                    "learning_rate": None if rate is None else rate * factor,
                    "factor": factor,
                    "loss": loss,
                    "seconds": seconds,
                    "test_accuracy": None if accuracy is None else float(accuracy),
                }
            )
    return {"solvers": solvers}


def summarize(optimizers: list[OptimizerRow], verdicts: dict[str, list[VerdictAt]]) -> Task3Summary:
    """The derived facts the report states, computed once."""
    indices = range(len(optimizers))
    accuracy = [row["test_accuracy"] for row in optimizers]
    return {
        "optimizers_by_gap": sorted(indices, key=lambda i: optimizers[i]["gap_to_minimum"]),
        "lowest_test_accuracy": min(indices, key=lambda i: accuracy[i]),
        "highest_test_accuracy": max(indices, key=lambda i: accuracy[i]),
        "test_accuracy_spread": max(accuracy) - min(accuracy),
        "good_rate": {
            gradient: next(v["index"] for v in found if v["verdict"] == "good")
            for gradient, found in verdicts.items()
            if any(v["verdict"] == "good" for v in found)
        },
    }


def run(config: Config = Config()) -> Task3Results:
    """Run Task 3 and return its results (metrics, and arrays for the figures)."""
    X_train, X_test, y_train, y_test = load_digits_split(
        config.test_size, config.split_random_state
    )
    N, D = X_train.shape
    n_classes = len(np.unique(y_train))
    alpha = 1.0 / (config.C * N)
    W0 = np.random.default_rng(config.init_seed).normal(0, 1, size=(n_classes, D))
    progress = tqdm(
        total=5 + len(config.solvers) + len(config.sweep_summed) + len(config.sweep_averaged),
        desc="task3",
        disable=not config.show_progress,
    )
    split = (X_train, y_train, X_test, y_test)
    # 1. The sheet's run, and the same learning rate on the averaged gradient.
    sheet = sheet_runs(config, W0, *split, progress.update)
    # 2. J* and scikit-learn's reference on the study's objective.
    f_star, reference = sklearn_reference(config, alpha, *split)
    progress.update()
    # 3. Every solver on the same objective.
    optimizers, curves, models = solver_study(config, alpha, f_star, *split, progress.update)
    best = min(optimizers, key=lambda row: row["train_loss"])
    best_model = models[best["name"]]
    y_pred = best_model.predict(X_test)
    # 4. Learning-rate sweep of gradient descent from the sheet's start.
    rates = {"summed": config.sweep_summed, "averaged": config.sweep_averaged}
    sweep, sweep_curves = learning_rate_sweep(
        rates, config.sweep_iterations, config.good_gap, alpha, f_star, W0, *split, progress.update
    )
    verdicts = first_verdicts(sweep)
    explorer = explorer_results(config, alpha, curves, optimizers, *split)
    progress.update()
    # 5. Gradient check on part of the training set.
    rows = slice(0, config.gradcheck_samples)
    gradient_check: GradientCheck = {
        "samples": config.gradcheck_samples,
        "relative_error_cross_entropy": _gradient_check(X_train[rows], y_train[rows], 0.0, 1),
        "relative_error_cross_entropy_l2": _gradient_check(X_train[rows], y_train[rows], 0.1, 2),
    }
    progress.update()
    progress.close()

    metrics: Task3Metrics = {
        "config": config_metrics(config),
        "dataset": {"n_train": N, "n_test": len(X_test), "n_features": D, "n_classes": n_classes},
        "objective": {
            "formula": "mean cross-entropy + alpha/2 * ||W||^2 (bias not penalised)",
            "alpha": alpha,
            "equivalent": f"scikit-learn LogisticRegression(C={config.C:g})",
            "minimum": f_star,
        },
        "sheet_run": {
            "description": (
                "GD from N(0,1) weights (np.random.default_rng(init_seed)), no penalty, "
                "one-hot targets; a summed-gradient step with rate lr is a mean-gradient step "
                "with rate N*lr"
            ),
            **sheet,
        },
        "optimizers": optimizers,
        "best_optimizer": {
            "name": best["name"],
            "criterion": "lowest training objective",
            "test_accuracy": best["test_accuracy"],
        },
        "sklearn_reference": reference,
        "learning_rate_sweep": {
            "objective": "the optimizers' objective (alpha = 1/(C*N)), from the sheet's start",
            "iterations": config.sweep_iterations,
            "verdict_rule": (
                f"diverging: final J >= initial J or not finite; oscillating: J rises in the "
                f"last tenth; good: J - J* <= {config.good_gap:g}; too slow: otherwise"
            ),
            "runs": sweep,
            "first_verdicts": verdicts,
        },
        "gradient_check": gradient_check,
        "summary": summarize(optimizers, verdicts),
    }
    return {
        "metrics": metrics,
        "data": {"X_test": X_test, "y_test": y_test},
        "curves": curves,
        "f_star": f_star,
        "sweep": sweep_curves,
        "best": {
            "name": best["name"],
            "coef": best_model.coef_,
            "classes": best_model.classes_,
            "y_pred": y_pred,
            "confusion": confusion_matrix(y_test, y_pred, labels=best_model.classes_),
            "test_accuracy": accuracy_score(y_test, y_pred),
        },
        # One fitted model per solver (saved by ``scratchlearn run --save-models``).
        "models": {f"softmax_{name}": model for name, model in models.items()},
        "explorer": explorer,
    }

