"""Least squares, the pieces: centred rows, their Gram matrix or R factor, and the solves.

Every function here is a pure function of arrays, so the same pieces serve the in-memory
solve (:func:`solve_least_squares`) and the Dask one, which sums the Gram matrix or stacks
the R factors over chunks of rows (``scratchlearn._dask.least_squares``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.linalg
from scipy.linalg import blas
from threadpoolctl import ThreadpoolController

from .scaling import max_abs, squares_scale

# The Gram-matrix route is taken when κ(AᵀA + αI) ≤ this: it then loses at most about
# log10(1e6) = 6 of float64's 16 digits, so the answer is good to about 1e-10 relative.
_GRAM_MAX_CONDITION = 1e6


def solve_least_squares(
    X: np.ndarray,
    Y: np.ndarray,
    *,
    alpha: float = 0.0,
    sample_weight: np.ndarray | None = None,
    fit_intercept: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise Σ_n s_n ‖Y_n − W x_n − b‖² + α ‖W‖²_F; b is not penalised.

    The intercept is removed by (weighted) centring: at the optimum b = ȳ − W x̄, with x̄ and
    ȳ the s-weighted means, so W solves the problem for X − x̄ and Y − ȳ without an
    intercept. Scaling the centred rows by √s_n then leaves a plain problem
    min ‖A W̃ − B‖² + α ‖W̃‖² (W̃ = Wᵀ) with the thin SVD A = U Σ Vᵀ, whose minimum-norm
    solution is

        W̃ = V diag(d) Uᵀ B,   d_i = σ_i / (σ_i² + α)   (α > 0),
                               d_i = 1 / σ_i if σ_i > rcond · σ_1, else 0   (α = 0).

    The cut-off rcond = machine ε · max(N, D) is ``numpy.linalg.lstsq``'s: directions that
    X does not determine (duplicated or constant columns) get weight 0, which is the
    minimum-norm solution instead of an error or a huge, noise-driven weight.

    Neither route below forms the N × D factor U: each reduces the problem to D × D (plus
    the targets) in one pass over [A B].

    **Gram route (tall, well-conditioned A).** With the eigendecomposition
    AᵀA = V Λ Vᵀ, Λ = Σ², and Uᵀ B = Σ⁻¹ Vᵀ AᵀB, the formula above becomes

        W̃ = V diag(1 / (λ_i + α)) Vᵀ AᵀB = (AᵀA + αI)⁻¹ AᵀB,

    the normal equations. [A B]ᵀ[A B] comes from one symmetric rank-N update (BLAS
    ``syrk``), holding AᵀA and AᵀB. Forming AᵀA squares the condition number, so this route
    is taken only when N ≥ D and κ(AᵀA + αI) = (λ_max + α)/(λ_min + α) ≤ 1e6 (at most ~6
    digits lost; no singular value is then near the cut-off, so nothing is dropped).

    **QR route (otherwise: rank-deficient, ill-conditioned or wide A).** The Householder
    QR [A B] = Q [R_A R_B] (R upper triangular, at most D + n_targets rows, computed by
    blocks of rows in ``triangular_factor``) gives
    ‖A W̃ − B‖ = ‖R_A W̃ − R_B‖ since Q has orthonormal columns spanning [A B]; R_A has
    the singular values and right singular vectors of A, so the SVD R_A = U_R Σ Vᵀ yields
    the formula above with Uᵀ B replaced by U_Rᵀ R_B: the same minimum-norm solution and
    the same cut-off, working on A itself (condition κ, not κ²).

    **Extreme magnitudes.** When max |x| lies outside [2^(e_min/4), 2^(e_max/4)] (about
    1e-77 … 1e77 for float64), the squares in AᵀA would overflow or underflow, so the
    problem is solved for X' = X·2^(−e) with max |x'| ∈ [1/2, 1) and α' = α·2^(−2e), and
    W = W'·2^(−e), b = b' (``_math.scaling``): exact, since 2^e is a power of two. (Unless
    α' would exceed the float range: α then outweighs the underflowing squares anyway.)

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_targets)
    alpha : float, default=0.0
        L2 penalty α ≥ 0 on W.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative weights s_n with a positive sum; all 1 when None.
    fit_intercept : bool, default=True
        When False, b = 0 and X, Y are used as they are.

    Returns
    -------
    W : ndarray of shape (n_targets, n_features)
        float64, whatever the dtype of X; ±inf where a weight exceeds the float64 range
        (X's values near the subnormal range, about 1e-308, call for weights beyond 1e308).
    b : ndarray of shape (n_targets,)
    """
    N, D = X.shape
    T = Y.shape[1]
    # Values whose squares would overflow or underflow are solved for at a power-of-two
    # scale: exact, and the same answer scaled back (``_math.scaling``).
    exponent, alpha = squares_scale(max_abs(X), alpha)
    if exponent:
        X = np.ldexp(X.astype(np.float64), -exponent)
    if fit_intercept and sample_weight is None:
        x_mean, y_mean = X.mean(axis=0, dtype=np.float64), Y.mean(axis=0, dtype=np.float64)
    elif fit_intercept:
        s = np.asarray(sample_weight, dtype=np.float64)
        x_mean, y_mean = s @ X / s.sum(), s @ Y / s.sum()
    else:
        x_mean, y_mean = np.zeros(D), np.zeros(T)
    M = centred_rows(X, Y, x_mean, y_mean, sample_weight)
    W = solve_from_gram(gram_upper(M), D, alpha) if N >= D else None
    if W is None:
        W = solve_from_triangular(triangular_factor(M), D, alpha, n_rows=N)
    with np.errstate(over="ignore"):  # ±inf: see Returns
        return np.ldexp(W.T, -exponent), y_mean - x_mean @ W


def centred_rows(
    X: np.ndarray,
    Y: np.ndarray,
    x_mean: np.ndarray,
    y_mean: np.ndarray,
    sample_weight: np.ndarray | None = None,
) -> np.ndarray:
    """M = [A B] = √s ∘ [X − x̄, Y − ȳ], float64 and C-ordered (so Mᵀ is Fortran-ordered).

    Returns
    -------
    ndarray of shape (n_samples, n_features + n_targets)
    """
    D = X.shape[1]
    M = np.empty((X.shape[0], D + Y.shape[1]))
    np.subtract(X, x_mean, out=M[:, :D])
    np.subtract(Y, y_mean, out=M[:, D:])
    if sample_weight is not None:
        M *= np.sqrt(sample_weight)[:, None]
    return M


def gram_upper(M: np.ndarray) -> np.ndarray:
    """MᵀM by one symmetric rank-N update (BLAS ``syrk``); only the upper triangle is set.

    A sum over blocks of rows of M is the Gram matrix of M: MᵀM = Σ_k M_kᵀ M_k.

    Returns
    -------
    ndarray of shape (n_columns, n_columns)
        AᵀA in the top left, AᵀB in the top right; zeros below the diagonal.
    """
    if M.shape[0] == 0:
        return np.zeros((M.shape[1], M.shape[1]))
    return blas.dsyrk(1.0, M.T)


def solve_from_gram(S: np.ndarray, D: int, alpha: float) -> np.ndarray | None:
    """W̃ = (AᵀA + αI)⁻¹ AᵀB from the upper triangle S of [A B]ᵀ[A B], if well conditioned.

    Returns
    -------
    ndarray of shape (n_features, n_targets), or None
        None when κ(AᵀA + αI) > 1e6 (or AᵀA + αI is singular), or when S is not finite
        (its sums of squares overflowed): take the QR route instead.
    """
    if not np.isfinite(S).all():  # overflowed sums of squares: the QR works on A itself
        return None
    lam, V = scipy.linalg.eigh(S[:D, :D], lower=False, check_finite=False)
    lam = np.maximum(lam, 0.0)  # AᵀA is positive semi-definite; rounding is not
    if lam[0] + alpha >= (lam[-1] + alpha) / _GRAM_MAX_CONDITION and lam[-1] + alpha > 0:
        return (V / (lam + alpha)) @ (V.T @ S[:D, D:])
    return None


def solve_from_triangular(R: np.ndarray, D: int, alpha: float, *, n_rows: int) -> np.ndarray:
    """W̃ = V diag(d) U_Rᵀ R_B from an R factor [R_A R_B] of [A B] and the SVD of R_A.

    ``n_rows`` is N, the rows of A, which sets the cut-off rcond = ε · max(N, D) for α = 0.

    Returns
    -------
    ndarray of shape (n_features, n_targets)
    """
    try:
        U, sigma, Vt = scipy.linalg.svd(R[:, :D], full_matrices=False, check_finite=False)
    except np.linalg.LinAlgError:  # divide and conquer rarely fails; QR iteration is sturdier
        U, sigma, Vt = scipy.linalg.svd(
            R[:, :D], full_matrices=False, check_finite=False, lapack_driver="gesvd"
        )
    if alpha > 0:
        with np.errstate(over="ignore"):
            squares = sigma**2
        d = sigma / (squares + alpha)
        huge = np.isinf(squares)  # σ beyond 1e154 (unscaled Dask chunks): σ/(σ² + α) = 1/σ
        d[huge] = 1.0 / (sigma[huge] + alpha / sigma[huge])
    else:
        keep = sigma > np.finfo(float).eps * max(n_rows, D) * (sigma[0] if sigma.size else 0.0)
        d = np.divide(1.0, sigma, out=np.zeros_like(sigma), where=keep)
    return (Vt.T * d) @ (U.T @ R[:, D:])


def triangular_factor(M: np.ndarray) -> np.ndarray:
    """R of a QR factorisation M = QR, computed by blocks of rows (TSQR), without Q.

    Stacking the blocks' factors, M = diag(Q_1, …, Q_k) [R_1; …; R_k], and one more QR of
    that small stack, [R_1; …; R_k] = Q' R, gives M = (diag(Q_i) Q') R with orthonormal
    columns in front: R is an R factor of M (unique up to the signs of its rows, which
    change neither its singular values nor the least-squares problem). Each block's
    Householder QR is as backward stable as one QR of M, and blocks that fit in cache, on one
    BLAS thread each and several blocks at once, are several times faster than LAPACK's QR
    of a very tall M.

    Parameters
    ----------
    M : ndarray of shape (n_samples, n_columns)

    Returns
    -------
    ndarray of shape (min(n_samples, n_columns), n_columns)
        Upper triangular (trapezoidal when n_samples < n_columns).
    """
    N, P = M.shape
    block = max(2048, 4 * P)
    starts = range(0, N, block)
    blas = ThreadpoolController().select(user_api="blas")
    # As many threads as BLAS would have used, each factoring whole blocks on its own.
    n_threads = min(len(starts), max([lib.num_threads for lib in blas.lib_controllers], default=1))

    def factor(start):
        return scipy.linalg.qr(M[start : start + block], mode="raw", check_finite=False)[1]

    with blas.limit(limits=1):
        if n_threads > 1:  # LAPACK releases the GIL
            with ThreadPoolExecutor(n_threads) as pool:
                factors = list(pool.map(factor, starts))
        else:
            factors = [factor(start) for start in starts]
        if len(factors) == 1:
            return factors[0]
        stacked = np.vstack(factors)
        return scipy.linalg.qr(stacked, mode="raw", overwrite_a=True, check_finite=False)[1]


def signed_targets(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """±1 target columns: one column, +1 for class code 1, for two classes; else one per class.

    Returns
    -------
    ndarray of shape (n_samples, 1) for two classes, else (n_samples, n_classes)
        Y_nc = +1 if y_n is class c, −1 otherwise (c = 1 for the single column).
    """
    if n_classes == 2:
        return np.where(codes == 1, 1.0, -1.0)[:, None]
    Y = -np.ones((codes.shape[0], n_classes))
    Y[np.arange(codes.shape[0]), codes] = 1.0
    return Y
