"""Least-squares classification: regress ±1 targets, predict by sign or argmax."""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from .._dask import Spec
from .._estimator import FittedState, check_dask_features
from .._math.least_squares import signed_targets, solve_least_squares
from .._math.scaling import max_abs
from .._validation import (
    Boolean,
    ClassWeight,
    Real,
    check_class_labels,
    check_sample_weight,
    weigh_classes,
)
from ._base import LinearClassifier


def _sign_predictions(F: np.ndarray, *, classes: np.ndarray) -> np.ndarray:
    """``classes[1]`` where f(x) > 0 else ``classes[0]`` (one output), else the argmax."""
    codes = (F > 0).astype(int) if F.ndim == 1 else np.argmax(F, axis=1)
    return classes[codes]


class LinearSignClassifier(LinearClassifier):
    """What the linear ±1-target classifiers share: target coding, decisions, predictions.

    Subclasses implement ``_fit_targets(X, Y, sample_weight, start)`` returning (W, b)
    (``start``: the previous (W, b) for ``warm_start``, else None), and
    ``_fit_dask_targets(rows)`` where they take Dask input.
    """

    _fitted = FittedState(("n_features_in_", "feature_names_in_", "classes_", "coef_",
                           "intercept_"))
    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "alpha": Real(0), "fit_intercept": Boolean(), "class_weight": ClassWeight(),
    }

    #: Whether ``fit`` takes Dask input (``_fit_dask_targets``).
    _takes_dask = False

    def fit(self, X, y, sample_weight=None):
        """Fit the linear model to the ±1 coding of y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A SciPy sparse matrix is used as CSR, never made dense as a whole (see
            ``solve_least_squares``). Or a Dask array chunked along the samples
            (``LeastSquaresClassifier`` only).
        y : array-like of shape (n_samples,)
            Labels of any type (ints, ±1, strings), at least two distinct.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative weight of each sample in the loss; all 1 when None. With
            ``class_weight``, each sample's weight is multiplied by its class's.

        Returns
        -------
        self
        """
        self._validate_params()
        with self._refit() as before:
            if self._dask_input(X, y, sample_weight):
                return self._fit_dask(X, y, sample_weight)
            # float32 stays float32 (the fit runs in float64; coef_ then takes X's dtype).
            X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], accept_sparse="csr")
            classes, codes = check_class_labels(y, estimator=type(self).__name__,
                                                min_classes=2)  # fmt: skip
            sample_weight = weigh_classes(
                self.class_weight, classes, codes, check_sample_weight(sample_weight, len(y)),
                by_sample_weight=False,  # RidgeClassifier's "balanced": counts of samples
            )
            n_rows = 1 if len(classes) == 2 else len(classes)
            start = self._warm_start(before, n_rows, X.shape[1])
            self.classes_ = classes
            W, b = self._fit_targets(X, signed_targets(codes, len(classes)), sample_weight, start)
            self._set_coefficients(W, b, X.dtype, max_abs(X))
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
        from .._dask.rows import LabelledRows

        rows = LabelledRows.persist(X, y, sample_weight, estimator=name,
                                    class_weight=self.class_weight)  # fmt: skip
        check_dask_features(self, X, reset=True)  # a Dask DataFrame's names, as pandas'
        self.classes_, self.n_features_in_ = rows.classes, rows.n_features
        W, b = self._fit_dask_targets(rows)
        self._set_coefficients(W, b, rows.dtype, rows.magnitude)
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
        check_is_fitted(self)
        return self._answer(X, partial(_sign_predictions, classes=self.classes_),
                            Spec((), self.classes_.dtype))


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
    (condition κ, not κ²). Sparse X (SciPy, used as CSR) is never made dense: the Gram
    route subtracts the means algebraically, XᵀSX − S x̄x̄ᵀ, and only where that cannot
    cancel more than the same ~6 digits; otherwise the QR route runs on one block of rows
    made dense at a time (see ``solve_least_squares``). The fit equals the dense one to
    rounding.

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
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``: a dict {label: weight}
        (classes it leaves out weigh 1), ``"balanced"`` for n_samples / (n_classes ·
        n_samples of the class), or None for 1 each, as scikit-learn's
        ``compute_sample_weight`` and ``RidgeClassifier(class_weight)`` (which also
        counts the samples, not their weights, for ``"balanced"``).

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

    def __init__(self, alpha: float = 0.0, *, fit_intercept: bool = True, class_weight=None):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight

    _takes_dask = True

    def _fit_dask_targets(self, rows):
        from .._dask.least_squares import solve_least_squares as solve_on_workers

        return solve_on_workers(
            rows, alpha=float(self.alpha), fit_intercept=bool(self.fit_intercept)
        )

    def _fit_targets(self, X, Y, sample_weight, start=None):
        return solve_least_squares(
            X,
            Y,
            alpha=float(self.alpha),
            sample_weight=sample_weight,
            fit_intercept=bool(self.fit_intercept),
        )
