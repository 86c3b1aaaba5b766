"""Linear models' parameters as one flat vector θ = [vec(W), b], the optimisers' view.

W has one row per output (class or target column) and b one entry per row, so a model with
K rows and D features has K·(D + 1) parameters: the K·D entries of W row by row, then b.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def unpack(theta: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) of shapes (n_rows, D) and (n_rows,) from θ of size n_rows·(D + 1); views."""
    n_features, rest = divmod(theta.size, n_rows)
    if rest or n_features < 1:
        raise ValueError(
            f"theta has {theta.size} entries, which is not n_rows·(D + 1) for n_rows={n_rows}"
        )
    D = n_features - 1
    return theta[: n_rows * D].reshape(n_rows, D), theta[n_rows * D :]


def pack(W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """θ = [vec(W), b], the inverse of :func:`unpack`."""
    return np.concatenate([np.ravel(W), np.ravel(b)])


def flat_objective(
    objective: Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray, np.ndarray]],
    n_rows: int,
) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """``fun(θ) -> (J, ∇J)`` for the optimisers from ``objective(W, b) -> (J, ∇_W J, ∇_b J)``."""

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        loss, grad_W, grad_b = objective(*unpack(theta, n_rows))
        return loss, pack(grad_W, grad_b)

    return fun
