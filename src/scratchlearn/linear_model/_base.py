"""What every linear model here shares: the affine outputs f(x) = W x + b."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data


class LinearDecisionMixin:
    """``decision_function`` from the fitted ``coef_`` and ``intercept_``."""

    def decision_function(self, X) -> np.ndarray:
        """The affine outputs f(x) = W x + b, one per row of ``coef_``.

        These are the regression outputs of the ±1-target classifiers and the logits of
        ``SoftmaxRegression``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
            For two classes there is one output, and positive values vote for
            ``classes_[1]``. float32 when both X and ``coef_`` are, else float64.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        F = X @ self.coef_.T + self.intercept_
        return F[:, 0] if F.shape[1] == 1 else F
