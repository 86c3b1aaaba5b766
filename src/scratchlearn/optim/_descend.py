"""First-order descent: any update rule on the full batch or on mini-batches."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._result import Objective, OptimizeResult, converged, finite_in
from ._rules import minibatches


def descend(
    fun: Objective,
    theta0: np.ndarray,
    rule: Callable[..., tuple[np.ndarray, dict]],
    *,
    max_iter: int,
    tol: float,
    batch_fun: Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]] | None = None,
    n_samples: int | None = None,
    batch_size: int | None = None,
    rng: np.random.RandomState | None = None,
    callback: Callable[[int, float], None] | None = None,
    dtype: np.dtype | type = np.float64,
    **hyper,
) -> OptimizeResult:
    """Minimise ``fun`` with a first-order update rule, on the full batch or mini-batches.

    On the full batch (``batch_size=None``) each iteration is one step with the full
    gradient. On mini-batches each iteration is an epoch of steps with
    ``batch_fun(θ, indices)`` over a fresh permutation drawn from ``rng``, and the full
    objective is evaluated once at the end of the epoch. Either way the run stops, converged,
    once ``max(abs(∇J(θ))) <= tol`` on the full objective.

    Parameters
    ----------
    fun : callable
        ``fun(θ) -> (J, ∇J)``, the objective and its gradient on the whole training set.
    theta0 : ndarray of shape (n_params,)
        The starting point; it is not modified.
    rule : callable
        The update rule: :func:`gd_step`, :func:`momentum_step`, :func:`nesterov_step`,
        :func:`adam_step`, or one of your own with their signature.
    max_iter : int
        Maximum number of iterations: steps on the full batch, epochs on mini-batches.
    tol : float
        Stop once ``max(abs(∇J(θ))) <= tol``; ``converged`` is then True.
    batch_fun : callable, default=None
        ``batch_fun(θ, indices) -> (J, ∇J)``, the objective on those samples (penalty
        included); needed, with ``n_samples`` and ``rng``, for mini-batches.
    n_samples : int, default=None
        Number of samples N that the mini-batches cut up.
    batch_size : int, default=None
        Samples per mini-batch; None for the full batch.
    rng : numpy.random.RandomState, default=None
        Draws each epoch's permutation.
    callback : callable, default=None
        Called as ``callback(iteration, J)`` after each iteration.
    dtype : dtype, default=np.float64
        The precision the model keeps θ in (float32 for float32 data): the iterates are
        computed in float64, and one that overflows ``dtype`` counts as not finite.
    **hyper : dict
        The rule's keyword arguments: ``learning_rate``, and ``momentum`` or Adam's
        ``beta_1``, ``beta_2``, ``epsilon``.

    Returns
    -------
    result : OptimizeResult
        ``diverged`` when an update made any coordinate of θ non-finite in ``dtype`` (θ is
        then the last finite iterate, and ``grad_max`` the gradient there) or J
        non-finite; ``converged`` when neither happened and ``max(abs(∇J(θ))) <= tol``.

    See Also
    --------
    lbfgs : The same objective, minimised by SciPy's L-BFGS-B.

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn import optim
    >>> A = np.array([[3.0, 1.0], [1.0, 2.0]])
    >>> def fun(theta):  # J(θ) = ½ θᵀAθ − θ₁ and its gradient; the minimum is A⁻¹ (1, 0)
    ...     return 0.5 * theta @ A @ theta - theta[0], A @ theta - np.array([1.0, 0.0])
    >>> result = optim.descend(fun, np.zeros(2), optim.momentum_step, max_iter=500,
    ...                        tol=1e-8, learning_rate=0.2, momentum=0.5)
    >>> result.converged, result.n_iter, result.theta.round(6)
    (True, 52, array([ 0.4, -0.2]))
    """
    theta, state = np.array(theta0, dtype=float), {}
    # A too-large step makes θ or J overflow; that is detected and reported as divergence
    # below, so NumPy's overflow warnings would only repeat it.
    with np.errstate(over="ignore", invalid="ignore"):
        loss, grad = fun(theta)
        result = OptimizeResult(theta, [loss])
        for iteration in range(1, max_iter + 1):
            if np.max(np.abs(grad)) <= tol:
                break
            if batch_size is None:
                theta, state = rule(theta, grad, state, **hyper)
            else:
                for batch in minibatches(n_samples, batch_size, rng):
                    theta, state = rule(theta, batch_fun(theta, batch)[1], state, **hyper)
            if not finite_in(theta, dtype):
                result.diverged = True
                break
            loss, grad = fun(theta)
            result.theta, result.n_iter = theta, iteration
            result.loss_curve.append(loss)
            if callback is not None:
                callback(iteration, loss)
            if not np.isfinite(loss):
                result.diverged = True
                break
    result.grad_max = float(np.max(np.abs(grad)))
    result.converged = converged(result.diverged, result.grad_max, tol)
    result.message = (
        "the loss or the parameters stopped being finite (the learning rate is too large)"
        if result.diverged
        else f"max |gradient| = {result.grad_max:.3g} {'<=' if result.converged else '>'} "
        f"tol = {tol:g}"
    )
    return result
