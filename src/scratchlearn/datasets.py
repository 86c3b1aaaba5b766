"""The sheet's data sets, seeded and exact."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_moons

from ._validation import check_int_param


def load_moons_split(
    n_samples: int = 1000,
    noise: float = 0.2,
    random_state: int = 0,
    train_fraction: float = 0.9,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two moons split as the sheet does: the first ``train_fraction`` of the points train.

    ``make_moons`` already shuffles, so the sheet takes a plain prefix rather than a random
    split; with the defaults that is 900 training points (453 of class 0, 447 of class 1)
    and 100 test points (47 and 53).

    Returns
    -------
    X_train : ndarray of shape (n_train, 2)
    X_test : ndarray of shape (n_samples - n_train, 2)
    y_train : ndarray of shape (n_train,)
    y_test : ndarray of shape (n_samples - n_train,)
    """
    n_samples = check_int_param(n_samples, "n_samples", min_value=2)
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction!r}.")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}.")
    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=random_state)
    n_train = int(n_samples * train_fraction)
    return X[:n_train], X[n_train:], y[:n_train], y[n_train:]
