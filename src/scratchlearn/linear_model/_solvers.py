"""Which optimiser of ``scratchlearn.optim`` trains a ``SoftmaxRegression``, and how."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import optim

SOLVERS = ("gd", "sgd", "momentum", "nesterov", "adam", "lbfgs")


def minimise(
    solver: str, objective: Callable, theta0: np.ndarray, *, n_samples: int,
    rng: np.random.RandomState, learning_rate: float, momentum: float,
    batch_size: int | None, max_iter: int, tol: float, callback: Callable | None = None,
    epoch: Callable | None = None, dtype=np.float64,
) -> optim.OptimizeResult:
    """Run ``solver`` on ``objective(θ[, rows]) -> (J, ∇J)`` from θ₀.

    "lbfgs" is SciPy's L-BFGS-B (``optim.lbfgs``); the others are ``optim.descend`` with
    their update rule, on the full batch ("gd") or on mini-batches of ``batch_size`` (200 by
    default for "sgd"; the full batch for the others when None).

    ``epoch(rule, batch_size, rng)``, given for Dask input, returns an update rule that
    takes a whole epoch of mini-batch steps at once (on the workers) and leaves J and ∇J at
    its end ready for the next ``objective`` call. ``dtype`` is the model's: an iterate
    that does not fit in it has diverged.
    """
    if solver == "lbfgs":
        return optim.lbfgs(objective, theta0, max_iter=max_iter, tol=tol, callback=callback)
    hyper = {"learning_rate": float(learning_rate)}
    if solver in ("momentum", "nesterov"):
        hyper["momentum"] = float(momentum)
    rule = optim.UPDATE_RULES[solver]
    if solver == "gd":
        batch_size = None
    elif solver == "sgd" and batch_size is None:
        batch_size = min(200, n_samples)
    if batch_size is not None:
        batch_size = min(batch_size, n_samples)
        if epoch is not None:  # one "step" of ``descend`` is then a whole epoch
            rule, batch_size = epoch(rule, batch_size, rng), None
    return optim.descend(
        objective, theta0, rule, max_iter=max_iter, tol=tol, batch_fun=objective,
        n_samples=n_samples, batch_size=batch_size, rng=rng, callback=callback, dtype=dtype,
        **hyper,
    )
