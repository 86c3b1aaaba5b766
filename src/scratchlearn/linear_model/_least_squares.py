"""Least-squares classification: regress ±1 targets, predict by sign or argmax."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.linalg
from scipy.linalg import blas
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import ThreadpoolController

from .._dask import is_dask_collection
from .._math.scaling import SQUARES_SAFE, max_abs, unit_scale
from .._validation import check_class_labels, check_float_param
from .._versioning import VersionedPickleMixin
from ._base import LinearDecisionMixin, dask_linear

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
    blocks of rows in ``_triangular_factor``) gives
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
    magnitude, exponent = max_abs(X), 0
    if magnitude and not SQUARES_SAFE[0] <= magnitude <= SQUARES_SAFE[1]:
        exponent, alpha = unit_scale(magnitude, alpha)
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
        W = solve_from_triangular(_triangular_factor(M), D, alpha, n_rows=N)
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


def _triangular_factor(M: np.ndarray) -> np.ndarray:
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


class LinearSignClassifier(
    LinearDecisionMixin, ClassifierMixin, VersionedPickleMixin, BaseEstimator
):
    """What the linear ±1-target classifiers share: target coding, decisions, predictions.

    Subclasses implement ``_fit_targets(X, Y, sample_weight)`` returning (W, b), and
    ``_fit_dask_targets(rows)`` where they take Dask input.
    """

    #: Whether ``fit`` takes Dask input (``_fit_dask_targets``).
    _takes_dask = False

    def _check_params(self) -> None:
        check_float_param(self.alpha, "alpha", min_value=0)
        if not isinstance(self.fit_intercept, bool | np.bool_):
            raise ValueError(f"fit_intercept must be True or False, got {self.fit_intercept!r}.")

    def fit(self, X, y, sample_weight=None):
        """Fit the linear model to the ±1 coding of y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Or a Dask array chunked along the samples (``LeastSquaresClassifier`` only).
        y : array-like of shape (n_samples,)
            Labels of any type (ints, ±1, strings), at least two distinct.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative weight of each sample in the loss; all 1 when None.

        Returns
        -------
        self
        """
        self._check_params()
        if is_dask_collection(X) or is_dask_collection(y):
            return self._fit_dask(X, y, sample_weight)
        # float32 stays float32 (the fit itself runs in float64; coef_ then takes X's dtype).
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        self.classes_, codes = check_class_labels(y, estimator=type(self).__name__, min_classes=2)
        sample_weight = _check_weights(sample_weight, X.shape[0])
        Y = signed_targets(codes, len(self.classes_))
        W, b = self._fit_targets(X, Y, sample_weight)
        with np.errstate(over="ignore"):  # refused just below
            coef, intercept = W.astype(X.dtype), b.astype(X.dtype)
        if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
            # Outputs W x of order 1 on values x near the bottom of the range need W beyond it.
            advice = ", or pass X as float64" if X.dtype == np.float32 else ""
            raise ValueError(
                f"{type(self).__name__} cannot store this fit: its coefficients coef_ exceed "
                f"the {X.dtype} range, because the values of X are so small (largest |x| = "
                f"{max_abs(X):.3g}). Multiply X by a constant (the same at predict){advice}."
            )
        self.coef_, self.intercept_ = coef, intercept
        return self

    def _fit_dask(self, X, y, sample_weight):
        """``fit`` on Dask input: the data persisted on the workers, the solve reduced."""
        name = type(self).__name__
        if not self._takes_dask:
            raise ValueError(
                f"{name} does not take Dask input (got X of type {type(X).__name__}); Dask "
                "input is supported by LeastSquaresClassifier and SoftmaxRegression. Compute "
                "X and y into NumPy arrays first, or use one of those."
            )
        rows = dask_linear().LabelledRows.persist(X, y, sample_weight, estimator=name)
        dask_linear().check_feature_names(self, X, reset=True)  # a Dask DataFrame's names
        self.classes_, self.n_features_in_ = rows.classes, rows.n_features
        W, b = self._fit_dask_targets(rows)
        self.coef_, self.intercept_ = W.astype(rows.dtype), b.astype(rows.dtype)
        return self

    def predict(self, X) -> np.ndarray:
        """``classes_[1]`` where f(x) > 0 else ``classes_[0]`` (two classes), else argmax.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            A lazy Dask array when X is one.
        """
        if is_dask_collection(X):
            check_is_fitted(self)
            return dask_linear().predict_blocks(self, "predict", X)
        F = self.decision_function(X)
        codes = (F > 0).astype(int) if F.ndim == 1 else np.argmax(F, axis=1)
        return self.classes_[codes]


def _check_weights(sample_weight, n_samples: int) -> np.ndarray | None:
    """``sample_weight`` as a float64 array of shape (n_samples,), or None when None.

    A scalar is the same weight for every sample. Raises ``ValueError`` for the wrong
    shape, non-finite or negative weights, or weights that are all zero.
    """
    if sample_weight is None:
        return None
    s = np.asarray(sample_weight, dtype=np.float64)
    if s.ndim == 0:
        s = np.full(n_samples, float(s))
    if s.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), like y, got shape {s.shape}."
        )
    if not np.all(np.isfinite(s)):
        raise ValueError("sample_weight must be finite, got NaN or infinity.")
    if np.any(s < 0):
        raise ValueError(f"Negative values in sample_weight are not allowed: min {s.min():g}.")
    if not s.sum() > 0:
        raise ValueError("sample_weight must have a positive sum, got all zeros.")
    return s


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


class LeastSquaresClassifier(LinearSignClassifier):
    r"""Linear least-squares classifier (ridge classifier when α > 0).

    The labels are coded as targets t ∈ {−1, +1} and a linear function f(x) = w·x + b is fitted
    to them by least squares. With two classes there is one column, t = +1 for ``classes_[1]``
    and −1 for ``classes_[0]``, and the prediction is ``classes_[1]`` where f(x) > 0; with C > 2
    classes there is one column per class (+1 for that class, −1 for the others) and the
    prediction is the argmax of the C outputs. This is scikit-learn's ``RidgeClassifier``.

    **Objective.** Over the N training samples, with sample weights s_n (default 1),

        J(W, b) = Σ_n s_n ‖t_n − W x_n − b‖² + α ‖W‖²_F,

    where the intercept b is not penalised. With the bias trick X̃ = [1 X] and α = 0 this is the
    sheet's ‖X̃ w̃ − t‖², whose minimisers satisfy the **normal equations**

        X̃ᵀ X̃ w̃ = X̃ᵀ t        (and (Xcᵀ Xc + α I) w = Xcᵀ tc for centred data with α > 0).

    **Solver.** The sheet solves them with the explicit inverse (X̃ᵀX̃)⁻¹ X̃ᵀ t. Forming X̃ᵀX̃
    squares the condition number, κ(X̃ᵀX̃) = κ(X̃)², so about twice as many digits are lost as
    the problem itself warrants, and the inverse does not exist when X̃ is rank-deficient
    (a duplicated or constant feature). Here the intercept is removed by centring, and the
    solution is the one the SVD of the centred X = U Σ Vᵀ gives,
    w = V diag(σ_i / (σ_i² + α)) Uᵀ t, for every α ≥ 0 and all target columns at once; for
    α = 0 singular values below ``numpy.linalg.lstsq``'s cut-off are dropped, which yields
    the minimum-norm solution when X is rank-deficient. ``solve_least_squares`` reaches it
    in O(N D²) by one of two routes: the D × D Gram matrix XᵀX (one BLAS pass over X) when
    it is well conditioned, κ(XᵀX + αI) ≤ 1e6, so that squaring κ costs at most ~6 digits;
    otherwise a QR of X and the SVD of its small R factor, which works on X itself
    (condition κ, not κ²).

    **Why an outlier hurts.** The squared loss charges a residual r with r², so a far-away
    point with a large residual pulls on the fit with a force proportional to r times its
    distance (its leverage); ``HuberClassifier`` caps the first factor. The residual counts
    on both sides: the sheet's outlier lies on its own class's side of the boundary, yet
    f(x) there is far below its target −1, and the fit turns to raise it.

    Parameters
    ----------
    alpha : float, default=0.0
        L2 penalty α ≥ 0 on the weights; 0 is plain least squares.
    fit_intercept : bool, default=True
        Fit the unpenalised bias b; when False, b = 0.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels.
    coef_ : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
        Weights w (the sheet's (w1, w2)), one row per target column; float32 when X was
        float32 (the fit itself runs in float64), else float64, as in scikit-learn.
    intercept_ : ndarray of shape (1,) for two classes, else (n_classes,)
        Biases b (the sheet's w0), of the dtype of ``coef_``.
    n_features_in_ : int

    Examples
    --------
    >>> from scratchlearn import LeastSquaresClassifier
    >>> from scratchlearn.datasets import make_blobs_with_outlier
    >>> X_train, X_test, y_train, y_test, _, _ = make_blobs_with_outlier(outlier=8)
    >>> model = LeastSquaresClassifier().fit(X_train, y_train)
    >>> model.classes_.tolist(), model.score(X_test, y_test)
    ([-1, 1], 0.98)
    """

    def __init__(self, alpha: float = 0.0, *, fit_intercept: bool = True):
        self.alpha = alpha
        self.fit_intercept = fit_intercept

    _takes_dask = True

    def _fit_dask_targets(self, rows):
        return rows.solve_least_squares(
            alpha=float(self.alpha), fit_intercept=bool(self.fit_intercept)
        )

    def _fit_targets(self, X, Y, sample_weight):
        return solve_least_squares(
            X,
            Y,
            alpha=float(self.alpha),
            sample_weight=sample_weight,
            fit_intercept=bool(self.fit_intercept),
        )
