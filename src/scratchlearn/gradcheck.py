"""Numerical gradient checks: compare an analytic gradient with centred differences.

:func:`check_gradient` tells whether code computes the gradient its derivation promises:
with the default step h = 1e-5, a right gradient agrees with the centred differences
(f(x + h e_i) − f(x − h e_i)) / 2h to a relative error of about 1e-8 or better in float64,
and a wrong one (a missing factor, a transposed term) is off by order 1. The error
analysis, and the softmax gradient it checks, are in :doc:`/softmax`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-5
) -> np.ndarray:
    """Compute the centred-difference gradient of a scalar function.

    Each coordinate is (f(x + h e_i) − f(x − h e_i)) / 2h, with error O(h²) plus the
    rounding of f divided by h; 2 evaluations of f per coordinate.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``; ``x`` is passed with its own shape.
    x : array-like of any shape
        The point; it is not modified.
    eps : float, default=1e-5
        The step h.

    Returns
    -------
    grad : ndarray of the shape of ``x``
        The estimated gradient, in float64.

    See Also
    --------
    check_gradient : Compare it with an analytic gradient.

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn.gradcheck import numerical_gradient
    >>> numerical_gradient(lambda x: float(np.sum(x**2)), np.array([1.0, -2.0])).round(6)
    array([ 2., -4.])
    """
    x = np.array(x, dtype=float)  # a copy: we perturb it in place
    grad = np.empty_like(x)
    flat, grad_flat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        f_plus = f(x)
        flat[i] = saved - eps
        f_minus = f(x)
        flat[i] = saved
        grad_flat[i] = (f_plus - f_minus) / (2.0 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Compute the norm-wise relative error ‖a − b‖₂ / (‖a‖₂ + ‖b‖₂).

    Norm-wise rather than element-wise, so that coordinates whose gradient is nearly 0 do
    not turn rounding noise into a large ratio.

    Parameters
    ----------
    a, b : array-like
        Two arrays of the same size (they are flattened).

    Returns
    -------
    error : float
        Between 0 and 1; 0 when both are 0.

    Examples
    --------
    >>> from scratchlearn.gradcheck import relative_error
    >>> relative_error([3.0, 4.0], [3.0, 4.0]), relative_error([1.0, 0.0], [-1.0, 0.0])
    (0.0, 1.0)
    """
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0.0 else float(np.linalg.norm(a - b) / scale)


def check_gradient(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]], x: np.ndarray, eps: float = 1e-5
) -> float:
    """Compute the relative error between ``fun``'s gradient and centred differences.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (loss, grad)`` with ``grad`` of the shape of ``x``: the form the
        optimisers of :mod:`scratchlearn.optim` take.
    x : array-like
        The point at which to compare.
    eps : float, default=1e-5
        The step h of the centred differences.

    Returns
    -------
    error : float
        ``relative_error(analytic, numerical)``: below about 1e-7 in float64 when the
        gradient is right, of order 1 when it is wrong.

    See Also
    --------
    numerical_gradient : The centred differences.
    relative_error : The error measure.

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn.gradcheck import check_gradient
    >>> check_gradient(lambda x: (float(np.sum(x**3)), 3 * x**2), np.arange(3.0)) < 1e-8
    True
    >>> round(check_gradient(lambda x: (float(np.sum(x**3)), 2 * x**2), np.arange(3.0)), 3)
    0.2
    """
    _, analytic = fun(np.array(x, dtype=float))
    numeric = numerical_gradient(lambda z: fun(z)[0], x, eps)
    return relative_error(analytic, numeric)
