"""Optimisers for any objective ``fun(θ) -> (J, ∇J)`` of a flat parameter vector θ.

The update rules :func:`gd_step`, :func:`momentum_step`, :func:`nesterov_step` and
:func:`adam_step` map (θ, g, state) to (θ′, state′); :func:`descend` runs any of them on
the full batch or on mini-batches (:func:`minibatches`), and :func:`lbfgs` hands the same
objective to SciPy's L-BFGS-B. Every solver returns an :class:`OptimizeResult` and keeps
one stopping rule, :func:`converged`: θ and J(θ) are finite and
``max(abs(∇J(θ))) <= tol`` at the θ returned. :class:`~scratchlearn.SoftmaxRegression`
trains with them.

The update rules as formulas, and what "converged" means, are in :doc:`/optimizers`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

#: fun(θ) -> (J(θ), ∇J(θ))
Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


def gd_step(
    theta: np.ndarray, grad: np.ndarray, state: dict, *, learning_rate: float
) -> tuple[np.ndarray, dict]:
    """Take a gradient-descent step, θ′ = θ − η g.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        The current parameters θ.
    grad : ndarray of shape (n_params,)
        The gradient g at θ.
    state : dict
        The rule's state from the previous step; empty at the first step.
    learning_rate : float
        The step size η > 0.

    Returns
    -------
    theta : ndarray of shape (n_params,)
        The parameters after the step.
    state : dict
        ``state``, unchanged (the rule keeps none).

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn.optim import gd_step
    >>> gd_step(np.array([1.0, 2.0]), np.array([0.5, -1.0]), {}, learning_rate=0.1)
    (array([0.95, 2.1 ]), {})
    """
    return theta - learning_rate * grad, state


def momentum_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: dict,
    *,
    learning_rate: float,
    momentum: float = 0.9,
) -> tuple[np.ndarray, dict]:
    """Take a heavy-ball momentum step, v′ = μ v − η g and θ′ = θ + v′.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        The current parameters θ.
    grad : ndarray of shape (n_params,)
        The gradient g at θ.
    state : dict
        The rule's state from the previous step; empty at the first step.
    learning_rate : float
        The step size η > 0.
    momentum : float, default=0.9
        The momentum μ in [0, 1).

    Returns
    -------
    theta : ndarray of shape (n_params,)
        The parameters after the step.
    state : dict
        ``{"velocity": v′}``; v = 0 at the first step.

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn.optim import momentum_step
    >>> momentum_step(np.array([1.0]), np.array([2.0]), {}, learning_rate=0.1)
    (array([0.8]), {'velocity': array([-0.2])})
    """
    velocity = momentum * state.get("velocity", 0.0) - learning_rate * grad
    return theta + velocity, {"velocity": velocity}


def nesterov_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: dict,
    *,
    learning_rate: float,
    momentum: float = 0.9,
) -> tuple[np.ndarray, dict]:
    """Take a Nesterov momentum step, v′ = μ v − η g and θ′ = θ + μ v′ − η g.

    The classical form evaluates g at θ + μ v; this one tracks the look-ahead point
    instead (Sutskever et al., 2013), so g is the gradient at the current θ, as for every
    other rule.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        The current parameters θ.
    grad : ndarray of shape (n_params,)
        The gradient g at θ.
    state : dict
        The rule's state from the previous step; empty at the first step.
    learning_rate : float
        The step size η > 0.
    momentum : float, default=0.9
        The momentum μ in [0, 1).

    Returns
    -------
    theta : ndarray of shape (n_params,)
        The parameters after the step.
    state : dict
        ``{"velocity": v′}``; v = 0 at the first step.

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn.optim import nesterov_step
    >>> nesterov_step(np.array([1.0]), np.array([2.0]), {}, learning_rate=0.1)
    (array([0.62]), {'velocity': array([-0.2])})
    """
    velocity = momentum * state.get("velocity", 0.0) - learning_rate * grad
    return theta + momentum * velocity - learning_rate * grad, {"velocity": velocity}


def adam_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: dict,
    *,
    learning_rate: float,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-8,
) -> tuple[np.ndarray, dict]:
    """Take an Adam step, η m̂ / (√ŝ + ε) per coordinate (Kingma & Ba, 2015).

    m̂ and ŝ are the bias-corrected running means of g and g², so the first steps are
    about η in every coordinate whatever the scale of g.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        The current parameters θ.
    grad : ndarray of shape (n_params,)
        The gradient g at θ.
    state : dict
        The rule's state from the previous step; empty at the first step.
    learning_rate : float
        The step size η > 0.
    beta_1 : float, default=0.9
        Decay β₁ of the running mean of g.
    beta_2 : float, default=0.999
        Decay β₂ of the running mean of g².
    epsilon : float, default=1e-8
        The ε added to √ŝ against division by zero.

    Returns
    -------
    theta : ndarray of shape (n_params,)
        The parameters after the step.
    state : dict
        ``{"t": t, "m": m′, "s": s′}``: the step count, from 1, and the running means.

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn.optim import adam_step
    >>> theta, state = adam_step(np.array([1.0, 1.0]), np.array([2.0, -0.01]), {},
    ...                          learning_rate=0.1)
    >>> theta.round(6), state["t"]
    (array([0.9, 1.1]), 1)
    """
    t = state.get("t", 0) + 1
    m = beta_1 * state.get("m", 0.0) + (1.0 - beta_1) * grad
    s = beta_2 * state.get("s", 0.0) + (1.0 - beta_2) * grad * grad
    m_hat, s_hat = m / (1.0 - beta_1**t), s / (1.0 - beta_2**t)
    return theta - learning_rate * m_hat / (np.sqrt(s_hat) + epsilon), {"t": t, "m": m, "s": s}


#: Solver name → update rule.
UPDATE_RULES = {
    "gd": gd_step,
    "sgd": gd_step,
    "momentum": momentum_step,
    "nesterov": nesterov_step,
    "adam": adam_step,
}


def minibatches(n_samples: int, batch_size: int, rng: np.random.RandomState) -> list[np.ndarray]:
    """Cut a fresh random permutation of ``range(n_samples)`` into batches: one epoch.

    Parameters
    ----------
    n_samples : int
        Number of samples N.
    batch_size : int
        Samples per batch; the last batch is smaller when it does not divide N.
    rng : numpy.random.RandomState
        Draws the permutation.

    Returns
    -------
    batches : list of ndarray
        The sample indices of each batch, every index once.

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn.optim import minibatches
    >>> [batch.tolist() for batch in minibatches(5, 2, np.random.RandomState(0))]
    [[2, 0], [1, 3], [4]]
    """
    order = rng.permutation(n_samples)
    return [order[start : start + batch_size] for start in range(0, n_samples, batch_size)]


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
            if not _finite_in(theta, dtype):
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


def _finite_in(theta: np.ndarray, dtype) -> bool:
    """Whether every coordinate of θ is finite once cast to ``dtype``."""
    with np.errstate(over="ignore"):
        return bool(np.all(np.isfinite(theta.astype(dtype, copy=False))))


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


def lbfgs(
    fun: Objective,
    theta0: np.ndarray,
    *,
    max_iter: int,
    tol: float,
    callback: Callable[[int, float], None] | None = None,
) -> OptimizeResult:
    """Minimise ``fun`` with SciPy's L-BFGS-B, without bounds.

    ``tol`` is SciPy's ``gtol`` and the one stopping test; ``converged`` is decided as for
    every solver here, from the gradient at the returned θ, not from SciPy's ``success``
    (which also reports success when J merely stopped decreasing with the gradient still
    above ``tol``: that case returns ``converged=False`` and says why in ``message``).

    Parameters
    ----------
    fun : callable
        ``fun(θ) -> (J, ∇J)``, the objective and its gradient.
    theta0 : ndarray of shape (n_params,)
        The starting point; it is not modified.
    max_iter : int
        Maximum number of L-BFGS iterations.
    tol : float
        Stop once ``max(abs(∇J(θ))) <= tol``; ``converged`` is then True.
    callback : callable, default=None
        Called as ``callback(iteration, J)`` after each iteration.

    Returns
    -------
    result : OptimizeResult
        ``grad_max`` is ``max(abs(∇J))`` at the returned θ; ``diverged`` is set when J or
        θ there is not finite.

    See Also
    --------
    descend : The first-order update rules, on the same objective.
    scipy.optimize.minimize : SciPy's minimiser, with ``method="L-BFGS-B"``.

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn import optim
    >>> A = np.array([[3.0, 1.0], [1.0, 2.0]])
    >>> def fun(theta):  # J(θ) = ½ θᵀAθ − θ₁ and its gradient; the minimum is A⁻¹ (1, 0)
    ...     return 0.5 * theta @ A @ theta - theta[0], A @ theta - np.array([1.0, 0.0])
    >>> result = optim.lbfgs(fun, np.zeros(2), max_iter=100, tol=1e-8)
    >>> result.converged, result.theta.round(6)
    (True, array([ 0.4, -0.2]))
    """
    curve = []
    cache: dict = {}

    def evaluate(theta):
        if "theta" in cache and np.array_equal(theta, cache["theta"]):
            return cache["loss"], cache["grad"].copy()
        loss, grad = fun(theta)
        grad = np.asarray(grad, dtype=float)
        cache.update(theta=np.array(theta, copy=True), loss=loss, grad=grad)
        if not (np.isfinite(loss) and np.all(np.isfinite(grad))):
            cache["met_non_finite"] = True  # a trial point outside J's domain, or overflow
        return loss, grad.copy()

    theta0 = np.array(theta0, dtype=float)
    curve.append(evaluate(theta0)[0])

    def record(intermediate_result):
        curve.append(float(intermediate_result.fun))
        if callback is not None:
            callback(len(curve) - 1, curve[-1])

    with np.errstate(over="ignore", invalid="ignore"):  # reported below as divergence
        solution = minimize(
            evaluate,
            theta0,
            jac=True,
            method="L-BFGS-B",
            callback=record,
            options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0, "maxls": 50},
        )
        loss, grad = evaluate(solution.x)
    grad_max = float(np.max(np.abs(grad)))
    diverged = not (np.isfinite(loss) and np.all(np.isfinite(solution.x)))
    done = converged(diverged, grad_max, tol)
    if diverged:
        why = "the loss or the parameters stopped being finite"
    elif done:
        why = f"max |gradient| = {grad_max:.3g} <= tol = {tol:g}"
    elif solution.nit >= max_iter:
        why = f"max_iter ran out with max |gradient| = {grad_max:.3g} > tol = {tol:g}"
    else:
        why = f"SciPy stopped ({solution.message!s}) with max |gradient| = {grad_max:.3g} > "
        why += f"tol = {tol:g}"
        if cache.get("met_non_finite"):
            why += (
                ": the line search met points where J or its gradient is not finite (outside "
                "J's domain, or overflowing); start nearer the minimum or rescale the problem"
            )
        elif any(word in str(solution.message).upper() for word in ("REDUCTION", "ABNORMAL")):
            why += (
                ": J no longer decreases at this precision (float64, or float32 for float32 "
                "input), so tol is below what the arithmetic resolves for this objective"
            )
    return OptimizeResult(
        theta=solution.x,
        loss_curve=curve,
        n_iter=int(solution.nit),
        converged=done,
        grad_max=grad_max,
        diverged=diverged,
        message=f"L-BFGS-B: {why}",
    )
