"""Least-squares classification: regress ±1 targets, predict by sign or argmax."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._dask import is_dask_collection
from .._math.least_squares import signed_targets, solve_least_squares
from .._math.scaling import max_abs
from .._validation import check_class_labels, check_float_param, check_sample_weight
from .._versioning import VersionedPickleMixin
from ._base import LinearDecisionMixin, dask_linear


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
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
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
