"""Optimisers: small update rules, one training loop for them all, and L-BFGS via SciPy.

Every rule maps (θ, g, state) to (θ', state') for a flat parameter vector θ and a gradient
g evaluated at θ; ``state`` is a dict of arrays, empty at the first step. With learning rate
η:

- ``gd_step``:       θ' = θ − η g
- ``momentum_step``: v' = μ v − η g;             θ' = θ + v'           (Polyak's heavy ball)
- ``nesterov_step``: v' = μ v − η g;             θ' = θ + μ v' − η g   (Nesterov, written as
  in Sutskever et al. 2013 so that g is taken at the current θ, which is the look-ahead point)
- ``adam_step``:     m' = β₁ m + (1 − β₁) g;     s' = β₂ s + (1 − β₂) g²;
  θ' = θ − η m̂ / (√ŝ + ε) with m̂ = m'/(1 − β₁ᵗ), ŝ = s'/(1 − β₂ᵗ)   (Kingma & Ba 2015)

"sgd" is ``gd_step`` on mini-batch gradients (``minibatches``). ``descend`` runs any rule with
full or mini-batches; ``lbfgs`` hands the same objective to ``scipy.optimize.minimize``.

**What "converged" means, for every solver here.** A run has converged when it returns a
finite θ at which the full objective's gradient is small in every coordinate,

    converged  ⇔  θ and J(θ) are finite  and  max_i |∂J/∂θ_i(θ)| ≤ tol,

with the gradient evaluated at the θ returned (``OptimizeResult.grad_max``). This is the
criterion of SciPy's L-BFGS-B (``gtol``) and of scikit-learn's ``LogisticRegression``; a
solver that stops for any other reason (``max_iter`` ran out, the iterates overflowed, or
L-BFGS-B could no longer lower J in float64 while the gradient was still above ``tol``)
returns ``converged=False`` and says why in ``message``, and the estimators turn that into a
``ConvergenceWarning``. ``diverged`` is set when J or any coordinate of θ stopped being
finite; the last finite θ is returned then.
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
    """Gradient descent: θ' = θ − η g."""
    return theta - learning_rate * grad, state


def momentum_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: dict,
    *,
    learning_rate: float,
    momentum: float = 0.9,
) -> tuple[np.ndarray, dict]:
    """Heavy-ball momentum: v' = μ v − η g, θ' = θ + v' (v = 0 at the first step)."""
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
    """Nesterov momentum: v' = μ v − η g, θ' = θ + μ v' − η g.

    The classical form evaluates g at θ + μ v; tracking the look-ahead point instead makes
    the gradient the one at the current parameters, so every rule has the same signature.
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
    """Adam: bias-corrected running means of g and g², step η m̂ / (√ŝ + ε) per coordinate."""
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
    """One epoch: a fresh random permutation of ``0..n_samples-1`` cut into batches.

    The last batch is smaller when ``batch_size`` does not divide ``n_samples``.
    """
    order = rng.permutation(n_samples)
    return [order[start : start + batch_size] for start in range(0, n_samples, batch_size)]


@dataclass
class OptimizeResult:
    """What a solver returns: the final θ and how it got there.

    ``converged`` is ``not diverged and grad_max <= tol`` for every solver (see the module
    docstring), so it can be recomputed from ``theta``: it is True exactly when the
    gradient at the returned θ is within ``tol``.
    """

    theta: np.ndarray
    #: J at the initial θ and after each iteration (epoch for mini-batches).
    loss_curve: list[float] = field(default_factory=list)
    n_iter: int = 0
    #: θ and J are finite and max_i |∂J/∂θ_i(θ)| ≤ tol at the returned θ.
    converged: bool = False
    #: max_i |∂J/∂θ_i| at the returned θ (NaN or inf if the gradient there is not finite).
    grad_max: float = np.inf
    #: Set when J or any coordinate of θ stopped being finite.
    diverged: bool = False
    #: Why the solver stopped, with max |gradient| and ``tol``.
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
    """Minimise ``fun`` with a first-order update rule.

    Full batch (``batch_size=None``): each iteration is one step with the full gradient,
    which is also the one that decides convergence, so one evaluation per iteration.
    Mini-batches: each iteration is an epoch of steps with ``batch_fun(θ, indices)``, the
    objective on those samples (penalty included), over a fresh permutation drawn from
    ``rng``; the full objective is evaluated once at the end of the epoch.

    Parameters
    ----------
    fun : callable
        ``fun(θ) -> (J, ∇J)`` on the whole training set.
    theta0 : ndarray of shape (n_params,)
    rule : callable
        One of the ``*_step`` functions; ``hyper`` (learning_rate, momentum, ...) is passed
        to it.
    max_iter : int
    tol : float
        Stop once max_i |∂J/∂θ_i| ≤ tol on the full objective; ``converged`` is then True.
    batch_fun, n_samples, batch_size, rng
        Needed together for mini-batches.
    callback : callable, optional
        ``callback(iteration, J)`` after each iteration.
    dtype : dtype, default=np.float64
        The precision the model keeps θ in (float32 for float32 data): the iterates are
        computed in float64, and one that overflows ``dtype`` counts as not finite.

    Returns
    -------
    OptimizeResult
        ``diverged`` when an update made any coordinate of θ non-finite in ``dtype`` (θ is
        then the last finite iterate, and ``grad_max`` the gradient there) or J non-finite;
        ``converged`` when neither happened and max |∇J(θ)| ≤ ``tol``.
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
    """The one convergence rule: not diverged, and max_i |∂J/∂θ_i| ≤ tol (NaN fails)."""
    return bool(not diverged and grad_max <= tol)


def lbfgs(
    fun: Objective,
    theta0: np.ndarray,
    *,
    max_iter: int,
    tol: float,
    callback: Callable[[int, float], None] | None = None,
) -> OptimizeResult:
    """Minimise ``fun`` with SciPy's L-BFGS-B (no bounds).

    ``tol`` is SciPy's ``gtol`` (max_i |∂J/∂θ_i|), the one stopping test: ``ftol`` is 0,
    so SciPy's relative-decrease test fires only when a step no longer lowers J at all
    (J has reached its float64 floor), and the line search may take 50 steps, as
    scikit-learn's. ``converged`` is then decided as for every solver here, from the
    gradient at the returned θ: max |∇J(θ)| ≤ ``tol``. SciPy's ``success`` is not used,
    since it also reports success when J merely stopped decreasing while the gradient was
    still above ``tol``; that case is returned with ``converged=False`` and a message
    saying that ``tol`` is below what the arithmetic resolves for this objective.

    A one-entry cache keyed on θ keeps ``fun`` from running twice at one point: the value at
    θ₀ recorded in ``loss_curve`` is the one SciPy starts from, and the final gradient is
    SciPy's last evaluation unless that was at another point (a failed line search).

    Returns
    -------
    OptimizeResult
        ``grad_max`` is max |∇J| evaluated at the returned θ; ``diverged`` is set when J or
        θ there is not finite.
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
