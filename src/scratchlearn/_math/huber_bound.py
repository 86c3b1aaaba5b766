"""A certified lower bound on the minimum of Huber's objective, by Lagrange duality.

``HuberClassifier`` stops when its objective J is within a fraction ``tol`` of this bound
L ≤ min J (see its docstring, "When it stops"); the bound is a pure function of the data
and the current fit, so it is tested on its own against the true minimum.
"""

from __future__ import annotations

import numpy as np

from .losses import huber, huber_weights
from .scaling import max_abs, unit_scale


def huber_dual_bound(
    W: np.ndarray,
    b: np.ndarray,
    X: np.ndarray,
    Y: np.ndarray,
    epsilon: float,
    alpha: float = 0.0,
    sample_weight: np.ndarray | None = None,
    fit_intercept: bool = True,
) -> tuple[float, float]:
    r"""The Huber objective J(W, b) and a lower bound L ≤ min J, by Lagrange duality.

    J(W, b) = Σ_n s_n Σ_k ρ_ε(R_nk) + α ‖W‖²_F with R = Y − X Wᵀ − b. The columns k are
    separate problems; for one column (t, w, b) and any u with |u_n| ≤ 2ε,
    ρ_ε(r_n) ≥ u_n r_n − u_n²/4 (with equality at u_n = ρ'_ε(r_n)), so

        J(w, b) ≥ Σ_n s_n (u_n t_n − u_n²/4) − (Σ_n s_n u_n x_n)·w + α‖w‖² − b Σ_n s_n u_n,

    whose minimum over (w, b) is D(u) = Σ_n s_n (u_n t_n − u_n²/4) − ‖v‖²/(4α), v =
    Σ_n s_n u_n x_n, if Σ_n s_n u_n = 0 (``fit_intercept``) and, for α = 0, v = 0 (the last
    term is then absent). D(u) ≤ min J for every such u (weak duality).

    u comes from the fit: u = ρ'_ε(r) = 2ωr, then the ω-weighted least change that
    restores the equalities, u ← u − ω ∘ (C λ) with (Cᵀ S Ω C) λ = Cᵀ S u, C the
    unpenalised columns ([X 1] for α = 0, [1] otherwise), which may leave the box
    |u| ≤ 2ε; ``_DUAL_ROUNDS`` more rounds of clipping to the box and projecting again
    (alternating projections) bring it closer to both sets. Each projected u, scaled by the
    γ ∈ [0, 2ε/max|u|] that maximises D(γu) = γa − γ²c (a closed form), gives a bound; the
    best is returned. What rounding leaves of the equalities, e = Cᵀ S u, is charged as
    γ |θ_C · e| at the current coefficients θ_C. At the minimum, ρ'_ε(r) already meets the
    equalities (they are the stationarity conditions in w and b), so the bound equals
    min J there up to rounding.

    Parameters
    ----------
    W : ndarray of shape (n_targets, n_features)
    b : ndarray of shape (n_targets,)
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_targets)
    epsilon : float
    alpha : float, default=0.0
    sample_weight : ndarray of shape (n_samples,), default=None
    fit_intercept : bool, default=True
        Whether b is free (then Σ s u = 0 is required); when False, b must be 0.

    Returns
    -------
    objective : float
        J(W, b).
    lower : float
        A lower bound on min over (W, b) of J.
    """
    X = np.asarray(X, dtype=np.float64)
    # Squares of X enter the projections and ‖v‖²: computed on X·2^(−e), max |x| ∈ [1/2, 1),
    # which gives J and L exactly (see ``HuberClassifier._fit_targets``).
    exponent, alpha = unit_scale(max_abs(X), alpha)
    if exponent:
        X, W = np.ldexp(X, -exponent), np.ldexp(W, exponent)
    N = X.shape[0]
    s = np.ones(N) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    R = Y - X @ W.T - b
    objective = float(np.sum(s[:, None] * huber(R, epsilon)) + alpha * np.sum(W * W))
    Omega = huber_weights(R, epsilon)
    columns = ([X] if alpha == 0 else []) + ([np.ones((N, 1))] if fit_intercept else [])
    C = np.hstack(columns) if columns else np.zeros((N, 0))
    # The projection onto C's column space, with each column scaled (exactly) to max |c| in
    # [1/2, 1): the same projection, but pinv's relative cut-off then drops only directions
    # that C lacks, never a column of small values (which left the equalities unmet).
    C_unit = np.ldexp(C, -np.array([unit_scale(max_abs(c))[0] for c in C.T], dtype=int))
    counted = s > 0
    lower = 0.0
    for k in range(Y.shape[1]):
        omega = Omega[:, k]
        u = np.where(counted, 2.0 * omega * R[:, k], 0.0)
        if C.shape[1] == 0:  # α > 0 and no intercept: no equality to meet
            lower += _scaled_dual(u, Y[:, k], X, s, epsilon, alpha, counted, 0.0)
            continue
        theta_C = np.concatenate(([W[k]] if alpha == 0 else []) + ([b[k : k + 1]] * fit_intercept))
        M_inv = np.linalg.pinv(C_unit.T @ ((s * omega)[:, None] * C_unit), hermitian=True)
        best = -np.inf
        for round_ in range(_DUAL_ROUNDS + 1):
            if round_:
                u = np.clip(u, -2.0 * epsilon, 2.0 * epsilon)
            u = u - omega * (C_unit @ (M_inv @ (C_unit.T @ (s * u))))
            infeasible = abs(float(theta_C @ (C.T @ (s * u))))
            best = max(best, _scaled_dual(u, Y[:, k], X, s, epsilon, alpha, counted, infeasible))
        lower += best
    return objective, lower


#: Rounds of clip-and-project in ``huber_dual_bound`` after the first projection.
_DUAL_ROUNDS = 20


def _scaled_dual(u, t, X, s, epsilon, alpha, counted, infeasible) -> float:
    """max over γ ∈ [0, 2ε/max|u|] of D(γu) = γ(a − e) − γ²c, a = Σ s u t,
    c = Σ s u²/4 + ‖Xᵀ(s u)‖²/(4α), e the charge for the equalities' rounding."""
    a = float(np.sum(s * u * t)) - infeasible
    c = float(np.sum(s * u * u)) / 4.0
    if alpha > 0:
        v = (s * u) @ X
        c += float(v @ v) / (4.0 * alpha)
    u_max = float(np.max(np.abs(u[counted]), initial=0.0))
    if u_max == 0.0 or c == 0.0:
        return 0.0  # u = 0 gives the bound 0
    gamma = min(2.0 * epsilon / u_max, max(0.0, a / (2.0 * c)))
    return gamma * a - gamma * gamma * c
