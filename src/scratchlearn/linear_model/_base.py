"""What every linear model here shares: the affine outputs f(x) = W x + b, the fitted
coefficients, and their score."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._dask import Spec, is_dask_collection
from .._estimator import ScratchEstimator


def _outputs(F: np.ndarray) -> np.ndarray:
    """``decision_function``'s answer: the affine outputs themselves."""
    return F


class LinearClassifier(ClassifierMixin, ScratchEstimator):
    """``decision_function`` from the fitted ``coef_`` and ``intercept_``, and ``score``.

    Every query method answers from the affine outputs F = X Wᵀ + b (``_core``), in
    memory or, for a Dask array, chunk by chunk on the workers (a lazy Dask array): only
    ``coef_``, ``intercept_``, ``classes_`` and ``n_features_in_`` travel there.
    """

    #: What a prediction needs of a fitted linear model; only this travels to the workers.
    _PREDICTION_STATE = ("coef_", "intercept_", "classes_", "n_features_in_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # SciPy sparse X, used as CSR (never made dense)
        return tags

    def _core(self, X) -> np.ndarray:
        """F = X Wᵀ + b, one column per row of ``coef_`` (1-D for a single row)."""
        X = validate_data(self, X, dtype=[np.float64, np.float32], accept_sparse="csr",
                          reset=False)  # fmt: skip
        F = np.asarray(X @ self.coef_.T) + self.intercept_
        return F[:, 0] if F.shape[1] == 1 else F

    @contextmanager
    def _refit(self) -> Iterator[dict[str, Any]]:
        """The fitted state before this fit (what ``warm_start`` starts from), put back
        as it was if the fit fails: a refused fit leaves no half-written model."""
        before = {name: self.__dict__[name] for name in self._fitted.names if name in vars(self)}
        try:
            yield before
        except BaseException:
            for name in self._fitted.names:
                self.__dict__.pop(name, None)
            self.__dict__.update(before)
            raise

    def _warm_start(self, before: dict[str, Any], n_rows: int, n_features: int
                    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(W, b) of the previous fit in float64, to start from when ``warm_start`` is set
        and the model was fitted; None otherwise.

        As scikit-learn's ``warm_start``, the previous coefficients must have the shape
        this data needs (the same number of classes and features; the labels themselves
        may differ): otherwise a ``ValueError``, and the model keeps its previous fit.
        """
        # Only models with a warm_start parameter have it (set in __init__).
        if not vars(self).get("warm_start") or "coef_" not in before:
            return None
        coef, intercept = before["coef_"], before["intercept_"]
        if coef.shape != (n_rows, n_features):
            classes = len(before.get("classes_", ()))
            raise ValueError(
                f"{type(self).__name__}(warm_start=True) cannot start from its previous fit: "
                f"its coef_ has shape {coef.shape} ({classes} classes, {coef.shape[1]} "
                f"features), and this data needs {(n_rows, n_features)}. Set "
                "warm_start=False (set_params(warm_start=False)) to fit data with other "
                "classes or features from scratch."
            )
        return coef.astype(np.float64), intercept.astype(np.float64)

    def _blockwise_copy(self) -> LinearClassifier:
        """A bare instance with only the state predictions read (no callbacks, no
        per-sample attributes), shipped to the workers with each answer."""
        fitted = object.__new__(type(self))
        fitted.__dict__.update({name: getattr(self, name) for name in self._PREDICTION_STATE})
        return fitted

    def _set_coefficients(self, W: np.ndarray, b: np.ndarray, dtype, magnitude: float) -> None:
        """``coef_`` and ``intercept_`` from the float64 solution, in X's dtype; refused
        when they do not fit in it (``magnitude``: the largest |x|, for the message)."""
        with np.errstate(over="ignore"):  # refused just below
            coef, intercept = W.astype(dtype), b.astype(dtype)
        if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
            # Outputs W x of order 1 on values x near the bottom of the range need W beyond it.
            advice = ", or pass X as float64" if dtype == np.float32 else ""
            raise ValueError(
                f"{type(self).__name__} cannot store this fit: its coefficients coef_ exceed "
                f"the {np.dtype(dtype)} range, because the values of X are so small (largest "
                f"|x| = {magnitude:.3g}). Multiply X by a constant (the same at predict)"
                f"{advice}."
            )
        self.coef_, self.intercept_ = coef, intercept

    def _decision_spec(self, X: Any) -> Spec:
        """The shape and dtype of the affine outputs for the (Dask) queries X."""
        n_rows = self.coef_.shape[0]
        dtype = getattr(X, "dtype", np.float64)
        x_dtype = dtype if dtype in (np.float32, np.float64) else np.float64
        return Spec(() if n_rows == 1 else (n_rows,), np.result_type(x_dtype, self.coef_.dtype))

    def decision_function(self, X) -> np.ndarray:
        """Compute the affine outputs f(x) = W x + b, one per row of ``coef_``.

        These are the regression outputs of the ±1-target classifiers and the logits of
        ``SoftmaxRegression``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples; or a Dask array, chunked along the samples, for a lazy Dask
            array of outputs.

        Returns
        -------
        scores : ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
            For two classes there is one output, and positive values vote for
            ``classes_[1]``. float32 when both X and ``coef_`` are, else float64.
        """
        check_is_fitted(self)
        return self._answer(X, _outputs, self._decision_spec(X))

    def score(self, X, y, sample_weight=None) -> float:
        """Return the mean accuracy of ``predict(X)`` against y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples; or a Dask array, whose accuracy is summed chunk by chunk and
            computed.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in the mean; all 1 when None.

        Returns
        -------
        score : float
            The (weighted) fraction of samples predicted right.
        """
        if is_dask_collection(X):
            from .._dask.arrays import accuracy

            return accuracy(self.predict(X), y, sample_weight)
        return super().score(X, y, sample_weight=sample_weight)
