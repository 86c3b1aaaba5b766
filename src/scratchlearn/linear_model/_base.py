"""What every linear model here shares: the affine outputs f(x) = W x + b."""

from __future__ import annotations

from types import ModuleType

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from .._dask import is_dask_collection, require_dask


def dask_linear() -> ModuleType:
    """``scratchlearn._dask.linear``, imported only when a Dask collection arrives."""
    require_dask()
    from .._dask import linear

    return linear


class LinearDecisionMixin:
    """``decision_function`` from the fitted ``coef_`` and ``intercept_``, and ``score``.

    Every prediction method of the linear models takes a Dask array as well: it is then
    applied to each chunk of rows (``map_blocks``) and returns a lazy Dask array.
    """

    def decision_function(self, X) -> np.ndarray:
        """The affine outputs f(x) = W x + b, one per row of ``coef_``.

        These are the regression outputs of the ±1-target classifiers and the logits of
        ``SoftmaxRegression``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Or a Dask array, chunked along the samples; the result is then a lazy Dask array.

        Returns
        -------
        ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
            For two classes there is one output, and positive values vote for
            ``classes_[1]``. float32 when both X and ``coef_`` are, else float64.
        """
        check_is_fitted(self)
        if is_dask_collection(X):
            return dask_linear().predict_blocks(self, "decision_function", X)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        F = X @ self.coef_.T + self.intercept_
        return F[:, 0] if F.shape[1] == 1 else F

    def score(self, X, y, sample_weight=None) -> float:
        """Mean accuracy of ``predict(X)`` against y, weighted by ``sample_weight``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Or a Dask array; the accuracy is then summed chunk by chunk and computed.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        if is_dask_collection(X):
            return dask_linear().score(self, X, y, sample_weight)
        return super().score(X, y, sample_weight=sample_weight)
