"""L-BFGS: SciPy's L-BFGS-B on the same objective, judged by the same rule."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize

from ._result import Objective, OptimizeResult, converged


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
