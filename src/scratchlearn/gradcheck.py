"""Numerical gradient checks: the honest way to show that code matches its derivation.

The centred difference

    ∂f/∂x_i ≈ (f(x + h e_i) − f(x − h e_i)) / (2h)

has truncation error O(h²) (the even terms of the Taylor series cancel) and rounding error
about ε_mach·|f| / h, so h ≈ 1e-5 balances both in float64 and an analytic gradient that is
right agrees with it to a relative error of 1e-8 or better, while a wrong one (a missing
factor, a transposed term) is off by order 1.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-5
) -> np.ndarray:
    """Centred-difference gradient of a scalar function, one coordinate at a time.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``; ``x`` is passed with its own shape.
    x : ndarray of any shape
        The point; it is not modified.
    eps : float, default=1e-5
        Step h.

    Returns
    -------
    ndarray of the shape of ``x``
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
    """‖a − b‖₂ / (‖a‖₂ + ‖b‖₂), and 0 when both are 0.

    Norm-wise rather than element-wise, so that coordinates whose gradient is nearly 0 do
    not turn rounding noise into a large ratio.
    """
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0.0 else float(np.linalg.norm(a - b) / scale)


def check_gradient(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]], x: np.ndarray, eps: float = 1e-5
) -> float:
    """Relative error between ``fun``'s analytic gradient and the centred difference.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (loss, grad)`` with ``grad`` of the shape of ``x``, the form every loss
        in ``scratchlearn._math.losses`` takes once its parameters are packed into one array.
    x : ndarray
        Point at which to compare.
    eps : float, default=1e-5

    Returns
    -------
    float
        ``relative_error(analytic, numerical)``; below about 1e-7 in float64 when the
        gradient is right.

    Examples
    --------
    >>> import numpy as np
    >>> error = check_gradient(lambda x: (float(np.sum(x**3)), 3 * x**2), np.arange(3.0))
    >>> error < 1e-8
    True
    """
    _, analytic = fun(np.array(x, dtype=float))
    numeric = numerical_gradient(lambda z: fun(z)[0], x, eps)
    return relative_error(analytic, numeric)
