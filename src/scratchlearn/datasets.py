"""The exercise sheet's data sets, seeded, split exactly as the sheet splits them.

Each function returns NumPy arrays, the same on every call with the same arguments; the
examples in the API reference and in the gallery use them.
"""

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
    """Load two moons split as the sheet does: the first ``train_fraction`` of the points train.

    ``make_moons`` already shuffles, so the sheet takes a plain prefix rather than a random
    split; with the defaults that is 900 training points (453 of class 0, 447 of class 1)
    and 100 test points (47 and 53).

    Parameters
    ----------
    n_samples : int, default=1000
        Number of points, at least 2.
    noise : float, default=0.2
        Standard deviation >= 0 of the Gaussian noise added to the moons.
    random_state : int, default=0
        Seed of ``sklearn.datasets.make_moons``.
    train_fraction : float, default=0.9
        Fraction in (0, 1) of the points that train: the first
        ``int(n_samples * train_fraction)``.

    Returns
    -------
    X_train : ndarray of shape (n_train, 2)
        Training points.
    X_test : ndarray of shape (n_samples - n_train, 2)
        Test points.
    y_train : ndarray of shape (n_train,)
        Training labels, 0 or 1.
    y_test : ndarray of shape (n_samples - n_train,)
        Test labels, 0 or 1.

    Raises
    ------
    ValueError
        If ``n_samples`` is below 2, ``noise`` negative, or ``train_fraction`` outside
        (0, 1).

    See Also
    --------
    sklearn.datasets.make_moons : The generator, shuffled.

    Examples
    --------
    >>> from scratchlearn.datasets import load_moons_split
    >>> X_train, X_test, y_train, y_test = load_moons_split()
    >>> X_train.shape, X_test.shape, int(y_train.sum())
    ((900, 2), (100, 2), 447)
    """
    n_samples = check_int_param(n_samples, "n_samples", min_value=2)
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction!r}.")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}.")
    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=random_state)
    n_train = int(n_samples * train_fraction)
    return X[:n_train], X[n_train:], y[:n_train], y[n_train:]


def load_digits_split(
    test_size: float = 0.25, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load the 8×8 digits as the sheet uses them: ``images / 16``, 64 features in [0, 1].

    Split with ``train_test_split(test_size=test_size, shuffle=True,
    random_state=random_state)``; with the defaults that is 1,347 training and 450 test
    images.

    Parameters
    ----------
    test_size : float, default=0.25
        Fraction in (0, 1) of the images that test.
    random_state : int, default=0
        Seed of the shuffled split.

    Returns
    -------
    X_train : ndarray of shape (n_train, 64)
        Training images, one row of pixels each.
    X_test : ndarray of shape (n_test, 64)
        Test images.
    y_train : ndarray of shape (n_train,)
        Training labels, the digits 0 to 9.
    y_test : ndarray of shape (n_test,)
        Test labels.

    Raises
    ------
    ValueError
        If ``test_size`` is outside (0, 1).

    See Also
    --------
    sklearn.datasets.load_digits : The images, with their targets.

    Examples
    --------
    >>> from scratchlearn.datasets import load_digits_split
    >>> X_train, X_test, y_train, y_test = load_digits_split()
    >>> X_train.shape, X_test.shape, float(X_train.max())
    ((1347, 64), (450, 64), 1.0)
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size!r}.")
    digits = load_digits()
    X = (digits.images / 16.0).reshape(-1, 8 * 8)
    return train_test_split(
        X, digits.target, test_size=test_size, shuffle=True, random_state=random_state
    )


def make_blobs_with_outlier(
    noise: float = 0.2,
    outlier: float = 1.0,
    n_per_class: int = 500,
    random_state: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Make two Gaussian blobs and one outlier, exactly as the sheet's Task 2 ``make_data``.

    - ``RandomState(random_state)`` draws ``n_per_class`` points ``noise·randn`` around (0, 0),
      labelled +1, then as many around (1, 1), labelled −1;
    - ``train_test_split(test_size=0.1, shuffle=True, random_state=random_state)``;
    - one training point at ``outlier·(1, 1.75)``, labelled −1, is appended last.

    The outlier lies on the −1 side of the boundary that the blobs alone give, so it is not
    misclassified: it is far out, with a large residual under the squared loss. With the
    defaults there are 900 + 1 training points and 100 test points; everything but the
    outlier is the same for every ``outlier`` value.

    Parameters
    ----------
    noise : float, default=0.2
        Standard deviation >= 0 of each blob.
    outlier : float, default=1.0
        The outlier's scale s, finite: it lies at s·(1, 1.75).
    n_per_class : int, default=500
        Points per blob, at least 5.
    random_state : int, default=0
        Seed of the draws and of the split.

    Returns
    -------
    X_train : ndarray of shape (n_train + 1, 2)
        The training points, the outlier last.
    X_test : ndarray of shape (n_test, 2)
        The test points.
    y_train : ndarray of shape (n_train + 1,)
        Training labels, +1 and −1 (int).
    y_test : ndarray of shape (n_test,)
        Test labels.
    X_plot : ndarray of shape (n_train, 2)
        The training points without the outlier (the sheet's ``xplot``).
    y_plot : ndarray of shape (n_train,)
        Their labels.

    Raises
    ------
    ValueError
        If ``noise`` is negative or NaN, ``outlier`` not finite, or ``n_per_class`` below
        5.

    Examples
    --------
    >>> from scratchlearn.datasets import make_blobs_with_outlier
    >>> X_train, X_test, y_train, y_test, X_plot, y_plot = make_blobs_with_outlier(outlier=8)
    >>> X_train.shape, X_test.shape, X_train[-1].tolist(), int(y_train[-1])
    ((901, 2), (100, 2), [8.0, 14.0], -1)
    """
    from sklearn.model_selection import train_test_split

    n = check_int_param(n_per_class, "n_per_class", min_value=5)
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}.")
    if not np.isfinite(outlier):
        raise ValueError(f"outlier must be a finite number, got {outlier!r}.")
    rng = np.random.RandomState(random_state)
    x_pos = np.array([0.0, 0.0]) + noise * rng.randn(n, 2)
    x_neg = np.array([1.0, 1.0]) + noise * rng.randn(n, 2)
    X = np.concatenate([x_pos, x_neg])
    y = np.concatenate([np.ones(n, dtype=int), -np.ones(n, dtype=int)])
    X_plot, X_test, y_plot, y_test = train_test_split(
        X, y, test_size=0.1, shuffle=True, random_state=random_state
    )
    X_train = np.concatenate([X_plot, outlier * np.array([[1.0, 1.75]])])
    y_train = np.concatenate([y_plot, [-1]])
    return X_train, X_test, y_train, y_test, X_plot, y_plot
