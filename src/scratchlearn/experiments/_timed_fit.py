"""Fitting a softmax model while timing each of its iterations (Task 3's runs)."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..linear_model import SoftmaxRegression


@dataclass
class TimedFit:
    """A fitted model, whether it converged, and when each of its iterations ended."""

    model: SoftmaxRegression
    converged: bool
    #: Wall-clock seconds since the start of fit at each point of ``model.loss_curve_``.
    seconds: np.ndarray
    total_seconds: float


def timed_fit(model: SoftmaxRegression, X, y, **fit_params) -> TimedFit:
    """Fit ``model`` (it takes a ``callback(iteration, loss)``), timing every iteration and
    catching the ConvergenceWarning as a flag; other warnings reach the caller as if not
    caught (its filters applied)."""
    stamps = []
    model.set_params(callback=lambda iteration, loss: stamps.append(time.perf_counter()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        started = time.perf_counter()
        model.fit(X, y, **fit_params)
        finished = time.perf_counter()
    model.set_params(callback=None)
    converged = True
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            converged = False
        else:  # already through the caller's filters: shown as they would have been
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    seconds = np.array([started, *stamps]) - started
    return TimedFit(model, converged, seconds, finished - started)
