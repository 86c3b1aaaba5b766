"""Least squares, the pieces: centred rows, their Gram matrix or R factor, and the solves.

Every function here is a pure function of arrays, so the same pieces serve the in-memory
solve (:func:`solve_least_squares`) and the Dask one, which sums the Gram matrix or stacks
the R factors over chunks of rows (``scratchlearn._dask.least_squares``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from functools import cache

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.linalg import blas
from threadpoolctl import ThreadpoolController

from .scaling import ldexp, max_abs, squares_scale

# The Gram-matrix route is taken when κ(AᵀA + αI) ≤ this: it then loses at most about
# log10(1e6) = 6 of float64's 16 digits, so the answer is good to about 1e-10 relative.
_GRAM_MAX_CONDITION = 1e6


@cache
def blas_libraries() -> ThreadpoolController:
    """The BLAS libraries loaded in this process, to read or limit their threads; found once
    (``ThreadpoolController`` reads the process's loaded libraries, about a millisecond)."""
    return ThreadpoolController().select(user_api="blas")


#: D × D factorisations below this size run on one thread: threads gain nothing there,
#: and lose much (tens of times) when they wait on each other's busy cores.
_ONE_THREAD_BELOW = 512


def _small_on_one_thread(D: int):
    """BLAS limited to one thread for a D × D factorisation with D < 512, else unchanged."""
    return blas_libraries().limit(limits=1) if D < _ONE_THREAD_BELOW else nullcontext()


def as_float64(X):
    """X in float64: a dense array, or a SciPy sparse matrix kept sparse (no copy when it
    already is float64)."""
    if sp.issparse(X):
        return X.astype(np.float64, copy=False)
    return np.asarray(X, dtype=np.float64)


def solve_least_squares(
    X,
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

    the normal equations. [A B]ᵀ[A B] comes from symmetric rank-k updates (BLAS ``syrk``)
    of blocks of centred rows, holding AᵀA and AᵀB. Forming AᵀA squares the condition
    number, so this route is taken only when N ≥ D and κ(AᵀA + αI) = (λ_max + α)/(λ_min + α)
    ≤ 1e6 (at most ~6 digits lost; no singular value is then near the cut-off, so nothing
    is dropped).

    **QR route (otherwise: rank-deficient, ill-conditioned or wide A).** The Householder
    QR [A B] = Q [R_A R_B] (R upper triangular, at most D + n_targets rows, computed by
    blocks of rows in ``triangular_factor``) gives
    ‖A W̃ − B‖ = ‖R_A W̃ − R_B‖ since Q has orthonormal columns spanning [A B]; R_A has
    the singular values and right singular vectors of A, so the SVD R_A = U_R Σ Vᵀ yields
    the formula above with Uᵀ B replaced by U_Rᵀ R_B: the same minimum-norm solution and
    the same cut-off, working on A itself (condition κ, not κ²).

    **Sparse X** (a SciPy sparse matrix, CSR) is never made dense as a whole: centring
    would fill it in, so the means enter algebraically. The Gram route forms the sparse
    products XᵀSX and XᵀSY and subtracts the means' part, AᵀA = XᵀSX − S x̄x̄ᵀ and
    AᵀB = XᵀSY − S x̄ȳᵀ (S = Σ s_n), in O(Σ_n nnz_n²) operations. That subtraction
    cancels when |x̄_j| is large against the spread of column j: its rounding is ε·(XᵀSX)_jj
    against (AᵀA)_jj + α, so the route is taken only when κ(AᵀA + αI) times the largest
    ratio (XᵀSX)_jj / ((AᵀA)_jj + α) is ≤ 1e6, the same ~6 digits at most (for a column of
    density p with mean near its nonzero values, the ratio is about 1/(1 − p)). Otherwise
    the QR route runs as for dense X, on one block of rows at a time made dense and centred
    (O(N D²) operations and O(block·D) memory beyond the R factor): the same backward-stable
    factorisation, so the answer equals the dense fit's to rounding for every κ. (Scikit-
    learn's ``Ridge`` takes iterative solvers here, ``sparse_cg`` or ``lsqr`` on an
    implicitly centred operator, whose accuracy is that of their stopping tolerance.)

    **Extreme magnitudes.** When max |x| lies outside [2^(e_min/4), 2^(e_max/4)] (about
    1e-77 … 1e77 for float64), the squares in AᵀA would overflow or underflow, so the
    problem is solved for X' = X·2^(−e) with max |x'| ∈ [1/2, 1) and α' = α·2^(−2e), and
    W = W'·2^(−e), b = b' (``_math.scaling``): exact, since 2^e is a power of two. (Unless
    α' would exceed the float range: α then outweighs the underflowing squares anyway.)

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
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
    W, b, _ = least_squares_with_route(
        X, Y, alpha=alpha, sample_weight=sample_weight, fit_intercept=fit_intercept
    )
    return W, b


def least_squares_with_route(
    X,
    Y: np.ndarray,
    *,
    alpha: float = 0.0,
    sample_weight: np.ndarray | None = None,
    fit_intercept: bool = True,
    try_gram: bool = True,
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """:func:`solve_least_squares`, and the route it took: ``"gram"`` or ``"qr"``.

    ``try_gram=False`` goes straight to the QR route (as accurate; a caller that solves a
    series of similar problems, such as IRLS, skips a Gram matrix bound to be refused).
    ``n_threads``: blocks of rows worked on at once (see :func:`map_blocks`).
    """
    N, D = X.shape
    T = Y.shape[1]
    if sp.issparse(X):  # kept sparse, in float64 (a copy of the nonzeros at most)
        X = sp.csr_matrix(X, dtype=np.float64)
    # Values whose squares would overflow or underflow are solved for at a power-of-two
    # scale: exact, and the same answer scaled back (``_math.scaling``).
    exponent, alpha = squares_scale(max_abs(X), alpha)
    if exponent:
        X = ldexp(as_float64(X), -exponent)
    s = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if fit_intercept and s is None:
        x_mean, y_mean = _column_sums(X) / N, Y.mean(axis=0, dtype=np.float64)
    elif fit_intercept:
        x_mean, y_mean = np.asarray(s @ X).ravel() / s.sum(), s @ Y / s.sum()
    else:
        x_mean, y_mean = np.zeros(D), np.zeros(T)
    rows = _centred_blocks(X, Y, x_mean, y_mean, s)
    W, route = None, "qr"
    if try_gram and N >= D:
        S, uncentred = centred_gram(X, Y, x_mean, y_mean, s, rows=rows, n_threads=n_threads)
        W, route = solve_from_gram(S, D, alpha, uncentred=uncentred), "gram"
    if W is None:
        R = triangular_factor_of_blocks(rows, N, D + T, n_threads=n_threads)
        W, route = solve_from_triangular(R, D, alpha, n_rows=N), "qr"
    with np.errstate(over="ignore"):  # ±inf: see Returns
        return np.ldexp(W.T, -exponent), y_mean - x_mean @ W, route


def _column_sums(X) -> np.ndarray:
    """Σ_n x_n in float64, for dense or sparse X."""
    if sp.issparse(X):
        return np.asarray(X.sum(axis=0, dtype=np.float64)).ravel()
    return X.sum(axis=0, dtype=np.float64)


def _centred_blocks(X, Y, x_mean, y_mean, s):
    """rows(start, stop) -> rows start:stop of M = √s ∘ [X − x̄, Y − ȳ], dense: of M
    formed once for dense X (the Gram and QR routes share it), of one block of rows made
    dense at a time for sparse X."""
    if not sp.issparse(X):
        M = centred_rows(X, Y, x_mean, y_mean, s)
        return lambda start, stop: M[start:stop]

    def rows(start: int, stop: int) -> np.ndarray:
        weights = None if s is None else s[start:stop]
        return centred_rows(X[start:stop].toarray(), Y[start:stop], x_mean, y_mean, weights)

    return rows


def centred_gram(
    X, Y, x_mean, y_mean, s=None, *, rows=None, n_threads: int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """[A B]ᵀ[A B] (upper triangle) of M = √s ∘ [X − x̄, Y − ȳ]; for sparse X also the
    diagonal of XᵀSX, from which its AᵀA was found by subtraction (see
    :func:`solve_least_squares`, "Sparse X").

    Dense X: the ``gram_upper`` of blocks of M summed, ``n_threads`` blocks at once (each
    one's BLAS on one thread); ``rows`` gives M's blocks when M is already formed. Sparse
    X: the sparse products, minus the means' part.

    Returns
    -------
    S : ndarray of shape (n_features + n_targets, n_features + n_targets)
    uncentred : ndarray of shape (n_features,), or None for dense X
    """
    N, D = X.shape
    P = D + Y.shape[1]
    if not sp.issparse(X):
        rows = rows or _centred_blocks(X, Y, x_mean, y_mean, s)
        return sum_over_blocks(lambda a, b: gram_upper(rows(a, b)), N, P, n_threads), None
    sX = X if s is None else sp.csr_matrix(sp.diags(s) @ X)
    sY = Y if s is None else s[:, None] * Y
    total = float(N if s is None else s.sum())
    uncentred = np.asarray((X.T @ sX).todense())
    S = np.zeros((P, P))
    S[:D, :D] = uncentred - total * np.outer(x_mean, x_mean)
    S[:D, D:] = np.asarray(X.T @ sY) - total * np.outer(x_mean, y_mean)
    S[D:, D:] = Y.T @ sY - total * np.outer(y_mean, y_mean)
    return np.triu(S), np.diag(uncentred).copy()


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


def solve_from_gram(
    S: np.ndarray, D: int, alpha: float, *, uncentred: np.ndarray | None = None
) -> np.ndarray | None:
    """W̃ = (AᵀA + αI)⁻¹ AᵀB from the upper triangle S of [A B]ᵀ[A B], if well conditioned.

    ``uncentred``: for an AᵀA found as XᵀSX − S x̄x̄ᵀ (sparse X), the diagonal of XᵀSX;
    the condition number is then multiplied by max_j (XᵀSX)_jj / ((AᵀA)_jj + α), the
    relative rounding that the subtraction may have left on the diagonal.

    Returns
    -------
    ndarray of shape (n_features, n_targets), or None
        None when κ(AᵀA + αI) (times that factor) > 1e6 (or AᵀA + αI is singular), or
        when S is not finite (its sums of squares overflowed): take the QR route instead.
    """
    if not np.isfinite(S).all():  # overflowed sums of squares: the QR works on A itself
        return None
    amplification = 1.0
    if uncentred is not None and D:
        centred = np.diag(S)[:D] + alpha
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where(uncentred > 0, uncentred / np.maximum(centred, 0.0), 0.0)
        amplification = max(1.0, float(np.max(ratios)))
        if not np.isfinite(amplification):  # a column whose spread cancelled away entirely
            return None
    with _small_on_one_thread(D):
        lam, V = scipy.linalg.eigh(S[:D, :D], lower=False, check_finite=False)
    lam = np.maximum(lam, 0.0)  # AᵀA is positive semi-definite; rounding is not
    limit = (lam[-1] + alpha) * amplification / _GRAM_MAX_CONDITION
    if lam[0] + alpha >= limit and lam[-1] + alpha > 0:
        return (V / (lam + alpha)) @ (V.T @ S[:D, D:])
    return None


def solve_from_triangular(R: np.ndarray, D: int, alpha: float, *, n_rows: int) -> np.ndarray:
    """W̃ = V diag(d) U_Rᵀ R_B from an R factor [R_A R_B] of [A B] and the SVD of R_A.

    ``n_rows`` is N, the rows of A, which sets the cut-off rcond = ε · max(N, D) for α = 0.

    Returns
    -------
    ndarray of shape (n_features, n_targets)
    """
    with _small_on_one_thread(D):
        try:
            U, sigma, Vt = scipy.linalg.svd(R[:, :D], full_matrices=False, check_finite=False)
        except np.linalg.LinAlgError:  # divide and conquer rarely fails; QR iteration is
            U, sigma, Vt = scipy.linalg.svd(  # sturdier
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
    return triangular_factor_of_blocks(lambda start, stop: M[start:stop], *M.shape)


def triangular_factor_of_blocks(
    rows, n_rows: int, n_columns: int, *, n_threads: int | None = None
) -> np.ndarray:
    """:func:`triangular_factor` of the matrix whose rows start:stop are ``rows(start,
    stop)``, a dense array made only when its block is factored."""
    block = max(2048, 4 * n_columns)

    def factor(start, stop):
        return scipy.linalg.qr(rows(start, stop), mode="raw", check_finite=False)[1]

    factors = map_blocks(factor, n_rows, block, n_threads)
    if len(factors) == 1:
        return factors[0]
    with blas_libraries().limit(limits=1):
        stacked = np.vstack(factors)
        return scipy.linalg.qr(stacked, mode="raw", overwrite_a=True, check_finite=False)[1]


def blas_threads() -> int:
    """The threads BLAS would use now: its limits (OPENBLAS_NUM_THREADS and the like, an
    enclosing ``threadpoolctl`` limit, a joblib worker's) respected."""
    return max([lib.num_threads for lib in blas_libraries().lib_controllers], default=1)


def _threads(n_blocks: int, n_threads: int | None) -> int:
    """``n_threads`` (BLAS's when None), at most one per block."""
    return max(1, min(n_blocks, blas_threads() if n_threads is None else n_threads))


def map_blocks(fun, n_rows: int, block: int, n_threads: int | None = None) -> list:
    """[fun(start, stop) for each block of rows], ``n_threads`` blocks at once (None: as
    many as BLAS's threads), each block's BLAS and LAPACK calls on one thread (no
    oversubscription; NumPy, BLAS and LAPACK release the GIL)."""
    bounds = [(start, min(start + block, n_rows)) for start in range(0, n_rows, block)]
    n_threads = _threads(len(bounds), n_threads)
    with blas_libraries().limit(limits=1):
        if n_threads == 1:
            return [fun(*pair) for pair in bounds]
        with ThreadPoolExecutor(n_threads) as pool:
            return list(pool.map(lambda pair: fun(*pair), bounds))


def sum_over_blocks(fun, n_rows: int, n_columns: int, n_threads: int | None = None) -> np.ndarray:
    """Σ over blocks of rows of fun(start, stop), each thread adding its own contiguous
    share of the blocks (so at most one partial sum per thread is held), as
    :func:`map_blocks` runs them. The blocks hold about 2 MiB of float64 rows."""
    block = max(256, 2**18 // max(n_columns, 1))
    starts = list(range(0, n_rows, block))
    if not starts:
        return fun(0, 0)
    n_threads = _threads(len(starts), n_threads)
    shares = [starts[i::n_threads] for i in range(n_threads)]  # interleaved: balanced

    def add(share):
        total = None
        for start in share:
            part = fun(start, min(start + block, n_rows))
            total = part if total is None else np.add(total, part, out=total)
        return total

    with blas_libraries().limit(limits=1):
        if n_threads == 1:
            partial_sums = [add(starts)]
        else:
            with ThreadPoolExecutor(n_threads) as pool:
                partial_sums = list(pool.map(add, shares))
    partial_sums = [part for part in partial_sums if part is not None]
    return sum(partial_sums[1:], partial_sums[0])


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
