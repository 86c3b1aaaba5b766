"""Least-squares classification: regress ±1 targets, predict by sign or argmax."""

from __future__ import annotations

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import _check_sample_weight, validate_data

from .._validation import check_class_labels, check_float_param
from ._base import LinearDecisionMixin


def solve_least_squares(
    X: np.ndarray,
    Y: np.ndarray,
    *,
    alpha: float = 0.0,
    sample_weight: np.ndarray | None = None,
    fit_intercept: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise Σ_n s_n ‖Y_n − W x_n − b‖² + α ‖W‖²_F by one SVD; b is not penalised.

    The intercept is removed by (weighted) centring: at the optimum b = ȳ − W x̄, with x̄ and
    ȳ the s-weighted means, so W solves the problem for X − x̄ and Y − ȳ without an
    intercept. Scaling the centred rows by √s_n then leaves a plain problem
    min ‖A W̃ − B‖² + α ‖W̃‖² with the thin SVD A = U Σ Vᵀ, whose minimum-norm solution is

        W̃ = V diag(d) Uᵀ B,   d_i = σ_i / (σ_i² + α)   (α > 0),
                               d_i = 1 / σ_i if σ_i > rcond · σ_1, else 0   (α = 0).

    The cut-off rcond = machine ε · max(N, D) is ``numpy.linalg.lstsq``'s: directions that
    X does not determine (duplicated or constant columns) get weight 0, which is the
    minimum-norm solution instead of an error or a huge, noise-driven weight.

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
    b : ndarray of shape (n_targets,)
    """
    N, D = X.shape
    s = np.ones(N) if sample_weight is None else sample_weight
    if fit_intercept:
        x_mean = s @ X / s.sum()
        y_mean = s @ Y / s.sum()
    else:
        x_mean, y_mean = np.zeros(D), np.zeros(Y.shape[1])
    root = np.sqrt(s)[:, None]
    A, B = root * (X - x_mean), root * (Y - y_mean)
    try:
        U, sigma, Vt = scipy.linalg.svd(A, full_matrices=False, check_finite=False)
    except np.linalg.LinAlgError:  # divide and conquer rarely fails; QR iteration is sturdier
        U, sigma, Vt = scipy.linalg.svd(
            A, full_matrices=False, check_finite=False, lapack_driver="gesvd"
        )
    if alpha > 0:
        d = sigma / (sigma**2 + alpha)
    else:
        keep = sigma > np.finfo(float).eps * max(N, D) * (sigma[0] if sigma.size else 0.0)
        d = np.divide(1.0, sigma, out=np.zeros_like(sigma), where=keep)
    W = (Vt.T * d) @ (U.T @ B)
    return W.T, y_mean - x_mean @ W


class LinearSignClassifier(LinearDecisionMixin, ClassifierMixin, BaseEstimator):
    """What the linear ±1-target classifiers share: target coding, decisions, predictions.

    Subclasses implement ``_fit_targets(X, Y, sample_weight)`` returning (W, b).
    """

    def _check_params(self) -> None:
        check_float_param(self.alpha, "alpha", min_value=0)
        if not isinstance(self.fit_intercept, bool | np.bool_):
            raise ValueError(f"fit_intercept must be True or False, got {self.fit_intercept!r}.")

    def fit(self, X, y, sample_weight=None):
        """Fit the linear model to the ±1 coding of y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels of any type (ints, ±1, strings), at least two distinct.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in the loss; all 1 when None.

        Returns
        -------
        self
        """
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        self.classes_, codes = check_class_labels(y, estimator=type(self).__name__, min_classes=2)
        # Raises for negative weights and for weights that are all zero.
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        Y = signed_targets(codes, len(self.classes_))
        self.coef_, self.intercept_ = self._fit_targets(X, Y, sample_weight)
        return self

    def predict(self, X) -> np.ndarray:
        """``classes_[1]`` where f(x) > 0 else ``classes_[0]`` (two classes), else argmax.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        F = self.decision_function(X)
        codes = (F > 0).astype(int) if F.ndim == 1 else np.argmax(F, axis=1)
        return self.classes_[codes]


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
    (a duplicated or constant feature). Here the intercept is removed by centring and the
    centred X is factored once by the SVD, X = U Σ Vᵀ: the solution
    w = V diag(σ_i / (σ_i² + α)) Uᵀ t works on X itself (condition κ, not κ²), handles every
    α ≥ 0 and all target columns with one factorisation, and for α = 0 drops singular values
    below ``numpy.linalg.lstsq``'s cut-off, which yields the minimum-norm solution when X is
    rank-deficient. The cost, O(N D²), is that of QR; see ``solve_least_squares``.

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
        Weights w (the sheet's (w1, w2)), one row per target column.
    intercept_ : ndarray of shape (1,) for two classes, else (n_classes,)
        Biases b (the sheet's w0).
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

    def _fit_targets(self, X, Y, sample_weight):
        return solve_least_squares(
            X,
            Y,
            alpha=float(self.alpha),
            sample_weight=sample_weight,
            fit_intercept=bool(self.fit_intercept),
        )
