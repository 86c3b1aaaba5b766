"""Least-squares classification: regress ±1 targets, predict by sign or argmax."""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from .._dask import Spec, is_dask_collection
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
            Training data; float32 gives float32 coefficients. A SciPy sparse matrix is
            used as CSR and never made dense as a whole. ``LeastSquaresClassifier`` also
            takes a Dask array chunked along the samples; ``HuberClassifier`` refuses
            one.
        y : array-like of shape (n_samples,)
            Labels of any type (ints, ±1, strings), at least two distinct.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative weight of each sample in the loss; all 1 when None. With
            ``class_weight``, each sample's weight is multiplied by its class's.

        Returns
        -------
        self : object
            The fitted classifier.

        Raises
        ------
        ValueError
            If a parameter is invalid, naming it; if y has fewer than two classes, is
            continuous or mixes strings with numbers; if ``sample_weight`` has the wrong
            shape, NaN, infinite or negative values, or a zero sum; if ``class_weight``
            does not fit the classes of y; if ``warm_start`` (``HuberClassifier``) would
            start from coefficients of another shape; or if X is so small that the
            coefficients exceed its float range. A refused fit leaves the model as it
            was.

        Warns
        -----
        ConvergenceWarning
            ``HuberClassifier`` only, when it stops before its objective is certified
            within ``tol`` of the minimum.
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
            given = ", ".join(
                f"{arg} of type {type(value).__name__}"
                for arg, value in (("X", X), ("y", y), ("sample_weight", sample_weight))
                if is_dask_collection(value)
            )
            raise ValueError(
                f"{name} does not take Dask input (got {given}); Dask "
                "input is supported by LeastSquaresClassifier and SoftmaxRegression. Compute "
                "them into NumPy arrays first, or use one of those."
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
        """Predict ``classes_[1]`` where f(x) > 0 for two classes, else the largest output's.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples; or a Dask array, chunked along the samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The predicted labels; a lazy Dask array when X is one.
        """
        check_is_fitted(self)
        return self._answer(X, partial(_sign_predictions, classes=self.classes_),
                            Spec((), self.classes_.dtype))


class LeastSquaresClassifier(LinearSignClassifier):
    """Linear least-squares classifier on ±1 targets (a ridge classifier when alpha > 0).

    The labels are coded as targets t = ±1, one column for two classes and one per class
    otherwise, and f(x) = W x + b is fitted to them by minimising, with sample weights s_n
    (default 1) and the intercept not penalised::

        J(W, b) = Σ_n s_n ‖t_n − W x_n − b‖² + α ‖W‖²_F

    It predicts ``classes_[1]`` where f(x) > 0 for two classes, else the class of the
    largest output: the model of scikit-learn's ``RidgeClassifier``. The solution is exact
    (the minimum-norm one when X is rank-deficient), found without an explicit inverse,
    for dense or sparse X of any magnitude.

    Read more in the :doc:`user guide </least_squares>`.

    Parameters
    ----------
    alpha : float, default=0.0
        L2 penalty α >= 0 on the weights; 0 is plain least squares.
    fit_intercept : bool, default=True
        Whether to fit the unpenalised bias b; when False, b = 0.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``: a dict {label: weight}
        (classes it leaves out weigh 1), "balanced" for n_samples / (n_classes · n_samples
        of the class), or None for 1 each, as ``RidgeClassifier`` defines them.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels.
    coef_ : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
        Weights W, one row per target column; float32 when X was float32 (the fit itself
        runs in float64), else float64, as in scikit-learn.
    intercept_ : ndarray of shape (1,) for two classes, else (n_classes,)
        Biases b, of the dtype of ``coef_``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when X was a pandas or Dask DataFrame
        whose column names are all strings.

    See Also
    --------
    sklearn.linear_model.RidgeClassifier : The scikit-learn estimator with this objective.
    HuberClassifier : The same targets with Huber's loss, which caps an outlier's pull.
    SoftmaxRegression : A linear classifier with probabilities.

    Notes
    -----
    Where ``RidgeClassifier`` differs: the solve takes the Gram matrix when it is well
    conditioned and a QR factorisation otherwise, so sparse X with an intercept is solved
    exactly too (scikit-learn's iterative solvers are accurate to their tolerance), and X
    of any magnitude is solved at a power-of-two scale and the coefficients scaled back
    exactly. The normal equations, both routes and the effect of one outlier are in
    :doc:`/least_squares`. Dask arrays are fitted by reductions on the workers
    (:doc:`/dask`).

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
