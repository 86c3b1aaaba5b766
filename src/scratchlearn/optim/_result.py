"""What every solver returns, and the one rule by which it has converged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

#: fun(θ) -> (J(θ), ∇J(θ))
Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass
class OptimizeResult:
    """What a solver returns: the final θ and how it got there.

    :func:`descend` and :func:`lbfgs` build it; each parameter is an attribute of the same
    name.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        The parameters returned: the last iterate, or the last finite one when the run
        diverged.
    loss_curve : list of float, default=[]
        J at the initial θ and after each iteration (epoch for mini-batches).
    n_iter : int, default=0
        Iterations run (epochs for mini-batches).
    converged : bool, default=False
        Whether θ and J are finite and ``max(abs(∇J(θ))) <= tol`` at the returned θ: the
        one rule of every solver here (:func:`converged`).
    grad_max : float, default=inf
        ``max(abs(∇J(θ)))`` at the returned θ; NaN or inf when that gradient is not
        finite.
    diverged : bool, default=False
        Whether J or any coordinate of θ stopped being finite.
    message : str, default=""
        Why the solver stopped, with ``max(abs(∇J))`` and ``tol``.

    See Also
    --------
    scipy.optimize.OptimizeResult : SciPy's result of ``minimize``.

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn.optim import lbfgs
    >>> result = lbfgs(lambda t: (float(t @ t), 2 * t), np.ones(3), max_iter=50, tol=1e-8)
    >>> result.converged, result.diverged, result.grad_max <= 1e-8
    (True, False, True)
    >>> result.theta.round(6)
    array([0., 0., 0.])
    """

    theta: np.ndarray
    loss_curve: list[float] = field(default_factory=list)
    n_iter: int = 0
    converged: bool = False
    grad_max: float = np.inf
    diverged: bool = False
    message: str = ""


def converged(diverged: bool, grad_max: float, tol: float) -> bool:
    """Apply the one convergence rule of every solver here: finite, and a small gradient.

    Parameters
    ----------
    diverged : bool
        Whether J or any coordinate of θ stopped being finite.
    grad_max : float
        ``max(abs(∇J(θ)))`` at the returned θ.
    tol : float
        The tolerance on it.

    Returns
    -------
    converged : bool
        ``not diverged and grad_max <= tol``; a NaN ``grad_max`` fails.

    Examples
    --------
    >>> from scratchlearn.optim import converged
    >>> converged(False, 1e-9, tol=1e-8), converged(False, float("nan"), tol=1.0)
    (True, False)
    """
    return bool(not diverged and grad_max <= tol)


def finite_in(theta: np.ndarray, dtype) -> bool:
    """Whether every coordinate of θ is finite once cast to ``dtype``."""
    with np.errstate(over="ignore"):
        return bool(np.all(np.isfinite(np.asarray(theta, dtype=dtype))))
