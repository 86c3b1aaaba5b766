"""Task 3's learning-rate sweep: gradient descent from the sheet's start at many rates, each
run classified by its objective curve."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..linear_model import SoftmaxRegression
from ._schema.task3 import SweepRun, VerdictAt
from ._timed_fit import timed_fit


def sweep_verdict(curve: np.ndarray, f_star: float, good_gap: float) -> str:
    """Classify a gradient-descent run by its objective curve.

    - "diverging": J ends above where it started, or stops being finite;
    - "oscillating": J rises somewhere in the last tenth (a step below 2/L never does);
    - "good": J − J* ≤ ``good_gap`` at the end;
    - "too slow": otherwise, a steady descent still far from J*.
    """
    if not np.all(np.isfinite(curve)) or curve[-1] >= curve[0]:
        return "diverging"
    tail = curve[-max(2, len(curve) // 10) :]
    if np.any(np.diff(tail) > 0):
        return "oscillating"
    return "good" if curve[-1] - f_star <= good_gap else "too slow"


def learning_rate_sweep(
    rates: dict[str, tuple[float, ...]],
    iterations: int,
    good_gap: float,
    alpha: float,
    f_star: float,
    W0: np.ndarray,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    tick: Callable[[], object] = lambda: None,
) -> tuple[list[SweepRun], list[dict]]:
    """Gradient descent from the sheet's start (``W0``) for each learning rate, ``iterations``
    steps each: rows and curves. ``rates`` has the rates on the summed gradient (``"summed"``)
    and on the averaged gradient (``"averaged"``); a run is "good" within ``good_gap`` of J*."""
    N = len(X_train)
    sweep: list[SweepRun] = []
    sweep_curves = []
    for gradient, scale in (("summed", N), ("averaged", 1)):
        for learning_rate in rates[gradient]:
            # Rounded so that 0.1 × 1347 reads 134.7 in the metrics, not 134.70000000000002.
            mean_rate = round(learning_rate * scale, 12)
            model = timed_fit(
                SoftmaxRegression(
                    "gd",
                    learning_rate=mean_rate,
                    alpha=alpha,
                    max_iter=iterations,
                    tol=0.0,
                ),
                X_train,
                y_train,
                coef_init=W0,
            ).model
            curve = model.loss_curve_
            finite = bool(np.all(np.isfinite(model.coef_)))
            sweep.append(
                {
                    "gradient": gradient,
                    "learning_rate": learning_rate,
                    "learning_rate_on_mean_gradient": mean_rate,
                    "iterations": model.n_iter_,
                    "final_train_loss": float(curve[-1]) if np.isfinite(curve[-1]) else None,
                    "gap_to_minimum": float(curve[-1] - f_star) if np.isfinite(curve[-1]) else None,
                    "test_accuracy": model.score(X_test, y_test) if finite else None,
                    "verdict": sweep_verdict(curve, f_star, good_gap),
                }
            )
            sweep_curves.append({**sweep[-1], "loss": curve})
            tick()
    return sweep, sweep_curves


def first_verdicts(runs: list[SweepRun]) -> dict[str, list[VerdictAt]]:
    """Per gradient, each verdict at the smallest learning rate that got it, by rate."""
    found: dict[str, list[VerdictAt]] = {}
    for gradient in ("summed", "averaged"):
        first_of: dict[str, int] = {}
        for i, run in sorted(enumerate(runs), key=lambda pair: pair[1]["learning_rate"]):
            if run["gradient"] == gradient:
                first_of.setdefault(run["verdict"], i)
        found[gradient] = [{"verdict": v, "index": i} for v, i in first_of.items()]
    return found
