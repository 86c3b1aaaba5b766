"""A certified lower bound on the minimum of Huber's objective, by Lagrange duality.

``HuberClassifier`` stops when its objective J is within a fraction ``tol`` of this bound
L ≤ min J (see its docstring, "When it stops"); the bound is a pure function of the data
and the current fit, so it is tested on its own against the true minimum.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from .least_squares import gram_upper, sum_over_blocks
from .losses import huber, huber_weights
from .scaling import ldexp, max_abs, unit_scale


def huber_dual_bound(
    W: np.ndarray,
    b: np.ndarray,
    X,
    Y: np.ndarray,
    epsilon: float,
    alpha: float = 0.0,
    sample_weight: np.ndarray | None = None,
    fit_intercept: bool = True,
    *,
    tol: float | None = None,
    floor: float = 0.0,
    known: float = -np.inf,
    n_threads: int | None = None,
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

    **Cost.** All columns take each round together: a round is two products with X (Cᵀ S U
    and C Λ for every column at once; one, Xᵀ S U, when α > 0), and Cᵀ S u after a clip is
    updated from the rows that the clip changed. Each column's Cᵀ S Ω C is formed once
    per call. With ``tol`` the rounds stop as soon as they have done their job for the
    caller: once max(L, ``known``) certifies J (J − max(L, known) ≤ tol·max(J, floor)), or
    once, at the pace of their last round, the rounds left could not reach that. L is then
    still a lower bound, only not always the best that all the rounds would give.

    X may be a dense array or a SciPy sparse matrix (CSR); the sparse one is used as it is,
    never made dense.

    Parameters
    ----------
    W : ndarray of shape (n_targets, n_features)
    b : ndarray of shape (n_targets,)
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_targets)
    epsilon : float
    alpha : float, default=0.0
    sample_weight : ndarray of shape (n_samples,), default=None
    fit_intercept : bool, default=True
        Whether b is free (then Σ s u = 0 is required); when False, b must be 0.
    tol : float or None, default=None
        The caller's stopping threshold, for stopping the rounds early (see Cost); None runs
        every round.
    floor : float, default=0.0
        The least J that ``tol`` is relative to (``HuberClassifier``'s u·J₀).
    known : float, default=-inf
        A lower bound already known (from an earlier fit); the one returned is at least it.
    n_threads : int or None, default=None
        Blocks of rows worked on at once for Cᵀ S Ω C (``_math.least_squares.map_blocks``).

    Returns
    -------
    objective : float
        J(W, b).
    lower : float
        A lower bound on min over (W, b) of J, at least ``known``.
    """
    X = X.astype(np.float64, copy=False) if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    # Squares of X enter the projections and ‖v‖²: computed on X·2^(−e), max |x| ∈ [1/2, 1),
    # which gives J and L exactly (see ``HuberClassifier._fit_targets``).
    exponent, alpha = unit_scale(max_abs(X), alpha)
    if exponent:
        X, W = ldexp(X, -exponent), np.ldexp(W, exponent)
    N, K = Y.shape
    s = np.ones(N) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    R = Y - np.asarray(X @ W.T) - b
    objective = float(np.sum(s[:, None] * huber(R, epsilon)) + alpha * np.sum(W * W))
    early = tol is not None  # stop the rounds once they have done the caller's job
    target = objective - tol * max(objective, floor) if early else np.inf
    if early and known >= target:  # certified already: no round needed
        return objective, known
    Omega = huber_weights(R, epsilon)
    counted = s > 0
    U = np.where(counted[:, None], 2.0 * Omega * R, 0.0)
    X_for_v = X if alpha > 0 else None  # ‖Σ s u x‖²/(4α) needs X; for α = 0, v = 0 is imposed
    equalities = _equalities(X, s, Omega, alpha == 0, fit_intercept, n_threads)
    if equalities.n == 0:  # α > 0 and no intercept: no equality to meet
        lower = float(np.sum(_scaled_duals(U, Y, X_for_v, s, epsilon, alpha, counted, 0.0)))
        return objective, max(lower, known)
    theta = _coefficients(equalities, W, b)  # θ_C, one row per column
    E = _transpose_times(equalities, s[:, None] * U)
    best, previous, gain = np.full(K, -np.inf), -np.inf, np.inf
    for round_ in range(_DUAL_ROUNDS + 1):
        if round_:
            clipped = np.clip(U, -2.0 * epsilon, 2.0 * epsilon)
            moved = np.flatnonzero(np.any(clipped != U, axis=1))
            if moved.size:  # Cᵀ S u changes by the rows that the clip moved
                change = s[moved, None] * (clipped[moved] - U[moved])
                E = E + _transpose_times(equalities, change, rows=moved)
            U = clipped
        U = U - Omega * _times(equalities, _solve(equalities, E))
        E = _transpose_times(equalities, s[:, None] * U)  # what rounding left of Cᵀ S u = 0
        charges = np.abs(np.sum(theta * E.T, axis=1))
        bounds = _scaled_duals(U, Y, X_for_v, s, epsilon, alpha, counted, charges)
        best = np.maximum(best, bounds)
        total = float(np.sum(best))
        if early and total >= target:
            break
        if early and round_ and target - total > _reach(total - previous, gain, round_):
            break  # at the pace of the last rounds, the rounds left fall short of certifying
        previous, gain = total, total - previous
    return objective, max(float(np.sum(best)), known)


#: Rounds of clip-and-project in ``huber_dual_bound`` after the first projection.
_DUAL_ROUNDS = 20


def _reach(gain: float, last_gain: float, round_: int) -> float:
    """What the rounds after ``round_`` may still add to the bound, extrapolated from its
    last two gains: geometrically when they shrink (alternating projections converge
    linearly), with a margin of 4 (a round costs far less than the IRLS iteration that
    stopping too soon would add), else at the last gain per round left."""
    left = _DUAL_ROUNDS - round_
    ratio = gain / last_gain if 0 < last_gain < np.inf else 1.0
    return gain * (min(left, 4.0 * ratio / (1.0 - ratio)) if ratio < 1.0 else left)


class _Equalities(NamedTuple):
    """The equality constraints Cᵀ S u = 0 of every column, C = [X 1] (α = 0) or [1], each
    column of C scaled (exactly) to max |c| ∈ [1/2, 1): the same projection, but the
    pseudo-inverse's relative cut-off then drops only directions that C lacks, never a
    column of small values (which left the equalities unmet). The scaled C is never
    formed: products with it are products with X, scaled by the powers of two."""

    X: Any  # dense or sparse; only its first D columns enter C
    D: int  # columns of X in C (0 when α > 0)
    intercept: bool  # whether C has the column of ones (scaled to 1/2)
    exponents: np.ndarray  # column j of C is scaled by 2^(−exponents_j)
    inverses: np.ndarray  # (K, n, n): (Cᵀ S Ω_k C)⁺ of the scaled C, one per column of Ω

    @property
    def n(self) -> int:
        return self.D + int(self.intercept)


def _equalities(X, s, Omega, with_X: bool, fit_intercept: bool,
                n_threads: int | None = None) -> _Equalities:
    """The constraints of :class:`_Equalities`, each column's (Cᵀ S Ω C)⁺ as
    ``numpy.linalg.pinv`` of the scaled C's."""
    D = X.shape[1] if with_X else 0
    n = D + int(fit_intercept)
    exponents = np.zeros(n, dtype=int)
    if with_X:
        exponents[:D] = np.frexp(_column_max_abs(X))[1]
    if fit_intercept:
        exponents[D] = 1  # the column of ones, as 1/2
    inverses = np.empty((Omega.shape[1], n, n))
    for k in range(Omega.shape[1]):
        gram = _weighted_gram(X, s * Omega[:, k], -exponents, D, fit_intercept, n_threads)
        inverses[k] = np.linalg.pinv(gram, hermitian=True)
    return _Equalities(X, D, fit_intercept, exponents, inverses)


def _coefficients(C: _Equalities, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """θ_C of each column in the scaled basis, so that θ_C · (Cᵀ S u) is unscaled."""
    parts = ([W] if C.D else []) + ([b[:, None]] if C.intercept else [])
    return np.ldexp(np.hstack(parts), C.exponents)


def _transpose_times(C: _Equalities, V: np.ndarray, rows: np.ndarray | None = None
                     ) -> np.ndarray:
    """Cᵀ V, shape (n, K), from the given rows of C only when ``rows`` is given."""
    parts = []
    if C.D:
        X = C.X if rows is None else C.X[rows]
        parts.append(np.ldexp(np.asarray(X.T @ V), -C.exponents[: C.D, None]))
    if C.intercept:
        parts.append(0.5 * np.sum(V, axis=0, keepdims=True))
    return np.vstack(parts)


def _solve(C: _Equalities, E: np.ndarray) -> np.ndarray:
    """Λ with columns λ_k = (Cᵀ S Ω_k C)⁺ e_k."""
    return np.einsum("kij,jk->ik", C.inverses, E)


def _times(C: _Equalities, L: np.ndarray) -> np.ndarray:
    """C Λ, shape (N, K)."""
    out = 0.0
    if C.D:
        out = np.asarray(C.X @ np.ldexp(L[: C.D], -C.exponents[: C.D, None]))
    return out + 0.5 * L[C.D] if C.intercept else out


def _weighted_gram(X, weights: np.ndarray, exponents: np.ndarray, D: int,
                   fit_intercept: bool, n_threads: int | None = None) -> np.ndarray:
    """Cᵀ diag(weights) C for C = [X·2^exponents 1/2] (the first D columns of X, then the
    column of 1/2 when ``fit_intercept``), symmetric; dense X by blocks of rows."""
    n = D + int(fit_intercept)
    if D and sp.issparse(X):
        scaled = _scale_columns(X, exponents[:D])
        gram = np.empty((n, n))
        gram[:D, :D] = (scaled.T @ sp.csr_matrix(sp.diags(weights) @ scaled)).toarray()
        if fit_intercept:
            gram[:D, D] = gram[D, :D] = np.asarray(scaled.T @ (0.5 * weights)).ravel()
            gram[D, D] = 0.25 * float(np.sum(weights))
        return gram
    if not D:
        return np.full((1, 1), 0.25 * float(np.sum(weights)))
    roots = np.sqrt(weights)
    # Scaling the Gram matrix after is exact, as scaling the columns before is, unless the
    # squares of a column far below the others would underflow: then the blocks are scaled.
    before = np.max(exponents[:D], initial=0) > 480

    def rows(start, stop):
        block = np.empty((stop - start, n))
        np.multiply(X[start:stop], roots[start:stop, None], out=block[:, :D])
        if before:
            block[:, :D] = np.ldexp(block[:, :D], exponents[:D])
        if fit_intercept:
            np.multiply(roots[start:stop], 0.5, out=block[:, D])
        return gram_upper(block)

    upper = sum_over_blocks(rows, X.shape[0], n, n_threads)
    if not before:
        scale = np.concatenate([exponents[:D], np.zeros(n - D, dtype=int)])
        upper = np.ldexp(upper, np.add.outer(scale, scale))
    return upper + np.triu(upper, 1).T


def _column_max_abs(X) -> np.ndarray:
    """max_n |x_nj| of each column (0 for an empty or all-zero one)."""
    if X.shape[0] == 0:
        return np.zeros(X.shape[1])
    if sp.issparse(X):
        return abs(X).max(axis=0).toarray().ravel()
    return np.maximum(X.max(axis=0), -X.min(axis=0))


def _scale_columns(X, exponents: np.ndarray):
    """CSR X with column j multiplied by 2^exponents_j, exactly."""
    X = sp.csr_matrix(X, copy=True)
    X.data = np.ldexp(X.data, exponents[X.indices])
    return X


def _scaled_duals(U, T, X, s, epsilon, alpha, counted, charges) -> np.ndarray:
    """For each column k, max over γ ∈ [0, 2ε/max|u_k|] of D(γu_k) = γ(a − e) − γ²c,
    a = Σ s u t, c = Σ s u²/4 + ‖Xᵀ(s u)‖²/(4α), e the charge for the equalities' rounding;
    0 where u_k = 0 on the counted samples or c = 0 (u = 0 gives the bound 0)."""
    sU = s[:, None] * U
    a = np.sum(sU * T, axis=0) - charges
    c = np.sum(sU * U, axis=0) / 4.0
    if alpha > 0:
        V = np.asarray(X.T @ sU)
        c = c + np.sum(V * V, axis=0) / (4.0 * alpha)
    u_max = np.max(np.abs(U[counted]), axis=0, initial=0.0)
    empty = (u_max == 0.0) | (c == 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = np.minimum(2.0 * epsilon / u_max, np.maximum(0.0, a / (2.0 * c)))
    return np.where(empty, 0.0, gamma * a - gamma * gamma * c)


def _scaled_dual(u, t, X, s, epsilon, alpha, counted, infeasible) -> float:
    """``_scaled_duals`` of one column u (targets t), with the charge ``infeasible``."""
    charge = np.array([float(infeasible)])
    return float(_scaled_duals(u[:, None], t[:, None], X, s, epsilon, alpha, counted, charge)[0])
