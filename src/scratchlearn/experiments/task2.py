"""Task 2: the least-squares classifier, and what one far-away point does to it.

For each outlier scale s, one training point at s·(1, 1.75) labelled −1 is added to two
Gaussian blobs (+1 around (0, 0), −1 around (1, 1)); least squares and Huber's loss are
fitted to the ±1 targets, logistic regression (Task 3's ``SoftmaxRegression`` with two
classes) to the labels, and all three are scored on the same 100 test points.

Logistic regression is fitted with L-BFGS and the L2 penalty α = 1/(C·N) on its mean loss,
N the size of the training set of that fit, which is scikit-learn's ``LogisticRegression(C)``
(C = 1 by default). The blobs are linearly separable, so without a penalty the loss has no
minimum (the weights grow without bound); with C fixed, rather than α, a training point whose
loss is 0 leaves the minimiser unchanged, so the rotation measures the outlier alone.

Metrics per scale (``outlier_sweep`` for least squares, ``outlier_sweep_huber`` for Huber,
``outlier_sweep_logistic`` for logistic regression):

- ``accuracy``, ``rss``: predictions by the sign of f(x) = w·x + b; ``rss`` is the sheet's
  Σ (y − ŷ)² on the test set, 4 per error with ±1 labels;
- ``accuracy_rint``, ``rss_rint``, ``n_rint_zero``: the sheet's rule ŷ = rint(f(x)), which
  turns every output in (−0.5, 0.5) into 0, a label of neither class (``n_rint_zero`` counts
  them); this is where the sheet's 0.95 / 0.85 come from;
- ``coef`` (w1, w2) and ``intercept`` (w0) with +1 (``classes_[1]``) as the positive class,
  as the sheet codes it;
- ``angle_degrees``: the angle of the boundary line w0 + w1·x1 + w2·x2 = 0 to the x1-axis, in
  [0, 180); ``rotation_degrees``: the signed angle from the no-outlier normal (w1, w2) to this
  one (counter-clockwise positive);
- ``outlier_residual``: t − f at the outlier; ``outlier_leverage`` (least squares): the
  diagonal entry of the hat matrix X̃(X̃ᵀX̃)⁻¹X̃ᵀ at the outlier, how much the fit at that point
  follows its own target; ``outlier_weight`` (Huber): its IRLS weight min(1, ε/|r|);
- logistic regression has no targets to round or to miss, so its rows have neither the rint
  fields nor ``outlier_residual``; instead ``outlier_margin`` m = y·f (y = ±1, f the logit of
  +1; m > 0 on the correct side), ``outlier_loss`` log(1 + e^−m), the outlier's term of the
  loss, and ``outlier_loss_gradient`` |∂loss/∂f| = σ(−m), how hard it pulls on the fit (the
  analogue of the residual); ``alpha`` is the penalty used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..datasets import make_blobs_with_outlier
from ..linear_model import HuberClassifier, LeastSquaresClassifier, SoftmaxRegression
from ._config import config_metrics
from ._schema.task2 import (
    Baselines,
    LeastSquaresRow,
    LogisticRow,
    Task2ExplorerResults,
    Task2Metrics,
    Task2Results,
    Task2Summary,
)

#: The sheet's printed results for s = 1, 2, 4, 8 (its rint rule).
SHEET_SCALES = (1, 2, 4, 8)
SHEET_ACCURACY = (0.95, 0.95, 0.95, 0.85)
SHEET_RSS = (5, 5, 5, 15)

ESTIMATORS = ("least_squares", "huber", "logistic")


@dataclass(frozen=True)
class Config:
    """Task 2 settings; the defaults are the sheet's, with the scales extended to 64."""

    noise: float = 0.2
    n_per_class: int = 500
    random_state: int = 0
    scales: tuple[float, ...] = (1, 2, 4, 8, 16, 32, 64)
    alpha: float = 0.0
    huber_epsilon: float = 1.0
    #: Logistic regression: alpha = 1/(logistic_C·N), scikit-learn's C; a tight L-BFGS
    #: tolerance, so that solver noise in the angle stays far below the outlier's effect.
    logistic_C: float = 1.0
    logistic_tol: float = 1e-10
    logistic_max_iter: int = 1000
    #: The explorer (explorer.html): at least this many log-spaced scales from 1 to 64 (every
    #: scale of ``scales`` and of the sheet too).
    explorer_min_scales: int = 32
    show_progress: bool = True


def boundary_angle(coef: np.ndarray) -> float:
    """Angle in [0, 180) degrees of the line w·x + b = 0 to the x1-axis; (w2, −w1) runs along it."""
    w1, w2 = coef
    return float(np.degrees(np.arctan2(-w1, w2)) % 180.0)


def rotation(coef: np.ndarray, reference: np.ndarray) -> float:
    """Signed angle in degrees from the normal ``reference`` to the normal ``coef``."""
    cross = reference[0] * coef[1] - reference[1] * coef[0]
    return float(np.degrees(np.arctan2(cross, np.dot(reference, coef))))


def rint_predictions(decision: np.ndarray) -> np.ndarray:
    """The sheet's rule: round f(x) to the nearest integer; |f| < 0.5 gives 0, no class at all."""
    return np.rint(decision).astype(int)


def leverage(X: np.ndarray) -> np.ndarray:
    """Hat-matrix diagonal h_n = ‖Q_n‖² of the design [1 X], from its thin QR."""
    Q, _ = np.linalg.qr(np.column_stack([np.ones(len(X)), X]))
    return np.sum(Q * Q, axis=1)


def outlier_logistic_terms(model, x: np.ndarray, label) -> dict:
    """The outlier's margin y·f(x), loss and loss gradient under a fitted logistic model of
    the ±1 labels (``label``: the outlier's, -1 or 1)."""
    f = float(model.decision_function(x[None, :])[0])  # the logit of classes_[1] = 1
    margin = float(label) * f
    return {
        "outlier_margin": margin,
        "outlier_loss": float(np.logaddexp(0.0, -margin)),
        "outlier_loss_gradient": float(np.exp(-np.logaddexp(0.0, margin))),  # σ(−m)
    }


def _evaluate(
    model, X_test: np.ndarray, y_test: np.ndarray, reference: np.ndarray | None, rint: bool = True
):
    """Scores and fitted line of one model on the test set: (metrics row, test outputs)."""
    decision = model.decision_function(X_test)
    sign = model.predict(X_test)
    coef = model.coef_[0]
    row = {
        "accuracy": float(np.mean(sign == y_test)),
        "rss": float(np.sum((y_test - sign) ** 2)),
    }
    if rint:  # the sheet's rule rounds a ±1 target's estimate; a logit is no such thing
        rounded = rint_predictions(decision)
        row |= {
            "accuracy_rint": float(np.mean(rounded == y_test)),
            "rss_rint": float(np.sum((y_test - rounded) ** 2)),
            "n_rint_zero": int(np.sum(rounded == 0)),
        }
    row |= {
        "coef": coef.tolist(),
        "intercept": float(model.intercept_[0]),
        "angle_degrees": boundary_angle(coef),
    }
    if reference is not None:
        row["rotation_degrees"] = rotation(coef, reference)
    return row, decision


def make_models(config: Config, n_samples: int) -> dict[str, Any]:
    """The three estimators, unfitted; logistic regression's penalty depends on N."""
    return {
        "least_squares": LeastSquaresClassifier(alpha=config.alpha),
        "huber": HuberClassifier(epsilon=config.huber_epsilon, alpha=config.alpha),
        "logistic": SoftmaxRegression(
            solver="lbfgs",
            alpha=1.0 / (config.logistic_C * n_samples),
            tol=config.logistic_tol,
            max_iter=config.logistic_max_iter,
        ),
    }


def _logistic_extra(model) -> dict:
    return {"alpha": float(model.alpha), "n_iter": int(model.n_iter_)}


def baseline(
    config: Config, X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray
) -> tuple[Baselines, dict[str, np.ndarray]]:
    """Every estimator without the outlier: its metrics, and its normal (w1, w2), which every
    scale's rotation is measured from."""
    rows, references = {}, {}
    for name, model in make_models(config, len(X)).items():
        model.fit(X, y)
        rows[name], _ = _evaluate(model, X_test, y_test, None, rint=name != "logistic")
        if name == "logistic":
            rows[name] |= _logistic_extra(model)
        references[name] = model.coef_[0]
    return rows, references  # type: ignore[return-value]


def at_scale(
    config: Config,
    scale: float,
    references: dict[str, np.ndarray],
    X_test: np.ndarray,
    y_test: np.ndarray,
) -> tuple[dict[str, dict], dict[str, np.ndarray], dict[str, Any], np.ndarray]:
    """Every estimator with the outlier at ``scale``: its metrics row, its f(x) on the test
    set and the fitted model (each by estimator), and the outlier."""
    X_train, _, y_train, _, _, _ = make_blobs_with_outlier(
        config.noise, scale, config.n_per_class, config.random_state
    )
    outlier = X_train[-1]
    rows, decisions, models = {}, {}, {}
    for name, model in make_models(config, len(X_train)).items():
        model.fit(X_train, y_train)
        row, decisions[name] = _evaluate(
            model, X_test, y_test, references[name], rint=name != "logistic"
        )
        if name == "logistic":
            extra = outlier_logistic_terms(model, outlier, y_train[-1]) | _logistic_extra(model)
        else:
            residual = float(y_train[-1] - model.decision_function(outlier[None, :])[0])
            extra = {"outlier_residual": residual}
            if name == "least_squares":
                extra["outlier_leverage"] = float(leverage(X_train)[-1])
            else:
                extra["outlier_weight"] = float(model.weights_[-1, 0])
                extra["n_iter"] = int(model.n_iter_)
        rows[name] = {"scale": scale, "outlier": outlier.tolist(), **row, **extra}
        models[name] = model
    return rows, decisions, models, outlier


def explorer_scales(at_least: int, include: tuple[float, ...] = ()) -> list[float]:
    """At least ``at_least`` scales from 1 to 64, log-spaced (2 decimals), with ``include``."""
    at_least = min(at_least, 1000)  # 2 decimals leave 6,301 scales from 1 to 64
    count = at_least
    while True:
        scales = {float(s) for s in np.round(np.geomspace(1, 64, count), 2)}
        scales |= {float(s) for s in include}
        if len(scales) >= at_least:
            return sorted(scales)
        count += 1


def explorer_results(
    config: Config,
    sweeps: dict[str, list],
    references: dict[str, np.ndarray],
    X_test: np.ndarray,
    y_test: np.ndarray,
) -> Task2ExplorerResults:
    """What explorer.html shows for Task 2: the outlier sweep at many scales (rows as the
    sweep's), each estimator's fit and test accuracy. Rows of the sweep (at ``config.scales``)
    are reused; the other scales are fitted here as the sweep fits them. The report's explorer
    draws each boundary within the plot and rounds for the page."""
    done = {float(row["scale"]): i for i, row in enumerate(sweeps["least_squares"])}
    rows: dict[str, list] = {name: [] for name in ESTIMATORS}
    for scale in explorer_scales(config.explorer_min_scales, (*config.scales, *SHEET_SCALES)):
        if scale in done:
            found = {name: sweeps[name][done[scale]] for name in ESTIMATORS}
        else:
            found, _, _, _ = at_scale(config, scale, references, X_test, y_test)
        for name in ESTIMATORS:
            rows[name].append(found[name])
    return {
        "outlier_sweep": rows["least_squares"],
        "outlier_sweep_huber": rows["huber"],
        "outlier_sweep_logistic": rows["logistic"],
    }


def summarize(
    least_squares: list[LeastSquaresRow], logistic: list[LogisticRow], sheet_scales: tuple[int, ...]
) -> Task2Summary:
    """The derived facts the report states, computed once."""
    worst = min(
        range(len(least_squares)),
        key=lambda i: (least_squares[i]["accuracy"], -least_squares[i]["scale"]),
    )
    lowest = min(range(len(logistic)), key=lambda i: logistic[i]["accuracy"])
    printed = [i for i, row in enumerate(least_squares) if row["scale"] in sheet_scales]
    accuracies = {row["accuracy"] for row in logistic}
    return {
        "least_squares_worst": {
            "index": worst,
            "scale": least_squares[worst]["scale"],
            "accuracy": least_squares[worst]["accuracy"],
        },
        "last_sheet_scale": printed[-1] if printed else None,
        "logistic_lowest": {
            "index": lowest,
            "scale": logistic[lowest]["scale"],
            "accuracy": logistic[lowest]["accuracy"],
        },
        "logistic_accuracy_constant": len(accuracies) == 1,
    }


def run(config: Config = Config()) -> Task2Results:
    """Run Task 2 and return its results (metrics, and arrays for the figures)."""
    # Everything but the outlier is the same at every scale.
    _, X_test, _, y_test, X_plot, y_plot = make_blobs_with_outlier(
        config.noise, 0.0, config.n_per_class, config.random_state
    )
    # Without the outlier: the fit that every scale is compared with.
    baselines, references = baseline(config, X_plot, y_plot, X_test, y_test)

    # The models kept for ``run --save-models``: those at the sheet's largest outlier scale.
    keep_scale = max(SHEET_SCALES) if max(SHEET_SCALES) in config.scales else config.scales[-1]
    kept_models = {}
    sweeps: dict[str, list] = {name: [] for name in ESTIMATORS}
    decisions: dict[str, list] = {name: [] for name in ESTIMATORS}
    outliers = []
    for scale in tqdm(config.scales, desc="task2", disable=not config.show_progress):
        rows, scale_decisions, models, outlier = at_scale(config, scale, references, X_test, y_test)
        outliers.append(outlier)
        for name in ESTIMATORS:
            sweeps[name].append(rows[name])
            decisions[name].append(scale_decisions[name])
        if scale == keep_scale:
            kept_models = models

    labels, counts = np.unique(y_plot, return_counts=True)
    metrics: Task2Metrics = {
        "config": config_metrics(config),
        "dataset": {
            "n_train_without_outlier": len(X_plot),
            "n_test": len(X_test),
            "train_class_counts": {str(c): int(n) for c, n in zip(labels, counts, strict=True)},
            "test_class_counts": {str(c): int(np.sum(y_test == c)) for c in np.unique(y_test)},
            "positive_class": 1,
            "outlier_direction": [1.0, 1.75],
            "outlier_label": -1,
        },
        "sheet": {
            "scales": list(SHEET_SCALES),
            "accuracy_rint": list(SHEET_ACCURACY),
            "rss_rint": list(SHEET_RSS),
        },
        "baseline_no_outlier": baselines,
        "outlier_sweep": sweeps["least_squares"],
        "outlier_sweep_huber": sweeps["huber"],
        "outlier_sweep_logistic": sweeps["logistic"],
        "summary": summarize(sweeps["least_squares"], sweeps["logistic"], SHEET_SCALES),
    }
    data = {"X_train": X_plot, "y_train": y_plot, "X_test": X_test, "y_test": y_test}
    return {
        "metrics": metrics,
        "data": data,
        "outliers": np.array(outliers),
        "decisions": {name: np.array(values) for name, values in decisions.items()},
        "models": kept_models,
        "explorer": explorer_results(config, sweeps, references, X_test, y_test),
    }

