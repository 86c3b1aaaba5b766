"""A linear classifier with Huber's loss, fitted by iteratively reweighted least squares."""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any, ClassVar

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._math.huber_bound import huber_dual_bound
from .._math.least_squares import (
    as_float64,
    blas_libraries,
    blas_threads,
    least_squares_with_route,
)
from .._math.losses import huber, huber_weights
from .._math.scaling import ldexp, max_abs, unit_scale
from .._validation import Boolean, Integer, Real
from ._least_squares import LinearSignClassifier


class HuberClassifier(LinearSignClassifier):
    """Linear classifier on ±1 targets with Huber's loss, which squares small residuals only.

    The targets and predictions are those of :class:`LeastSquaresClassifier`; only the loss
    differs. For each target column, with residuals r_n = t_n − w·x_n − b::

        J(w, b) = Σ_n s_n ρ_ε(r_n) + α ‖w‖²,
        ρ_ε(r) = r² if |r| ≤ ε, else 2ε|r| − ε²,

    so a residual beyond ε costs linearly, and its pull on the fit is capped at 2ε. The fit
    is iteratively reweighted least squares (IRLS), started from the least-squares fit,
    and it stops once a lower bound from duality certifies J within a fraction ``tol`` of
    its minimum.

    Read more in the :doc:`user guide </least_squares>`.

    Parameters
    ----------
    epsilon : float, default=1.0
        Threshold ε > 0 where the loss turns from quadratic to linear, in units of the ±1
        targets: ε = 1 treats a point as an outlier when its output is farther from its
        target than the boundary f = 0 is.
    alpha : float, default=0.0
        L2 penalty α >= 0 on the weights; the intercept is not penalised.
    max_iter : int, default=100
        Maximum number of weighted least-squares solves, the first (plain least squares)
        included.
    tol : float, default=1e-5
        Stop, converged, once the duality gap certifies J within a fraction ``tol`` of its
        minimum. Below about 1e-14 nothing can be certified in float64.
    fit_intercept : bool, default=True
        Whether to fit the unpenalised bias b; when False, b = 0.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``, as in
        :class:`LeastSquaresClassifier` (``RidgeClassifier``'s convention).
    warm_start : bool, default=False
        Whether to start IRLS from the previous fit's ``coef_`` and ``intercept_`` instead
        of the least-squares fit. They must have the shape this data needs (the same
        numbers of classes and features), as in scikit-learn.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels.
    coef_ : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
        Weights w, one row per target column; float32 when X was float32 (the fit itself
        runs in float64), else float64.
    intercept_ : ndarray of shape (1,) for two classes, else (n_classes,)
        Biases b, of the dtype of ``coef_``.
    weights_ : ndarray of shape (n_samples, n_targets)
        IRLS weights ``ω = min(1, ε / |r|)`` of the training samples at the fit: 1 on the
        quadratic part of the loss, below 1 for the points it treats as outliers.
    n_iter_ : int
        Weighted least-squares solves run, the first included (with ``warm_start``, the
        previous coefficients count as that first step): 1 when the start is already
        certified.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when X was a pandas DataFrame whose column
        names are all strings.

    See Also
    --------
    sklearn.linear_model.HuberRegressor : Huber's loss for regression, on a fitted scale.
    sklearn.linear_model.SGDClassifier : With ``loss="modified_huber"``, a related loss.
    LeastSquaresClassifier : The limit ε → ∞.

    Notes
    -----
    Where ``HuberRegressor`` differs: ε is in the units of the ±1 targets, not of an
    estimated scale σ, and the fit is IRLS with a certified stop rather than L-BFGS.
    ``fit`` warns with a ``ConvergenceWarning``, giving the gap it certified, whenever it
    stops without meeting ``tol`` (``max_iter`` reached, or an IRLS fixed point); a small
    ε on noisy data may need hundreds or thousands of iterations. Dask input is refused.
    IRLS, the duality bound, the stopping rule and its cost are in :doc:`/least_squares`.

    Examples
    --------
    >>> from scratchlearn import HuberClassifier
    >>> from scratchlearn.datasets import make_blobs_with_outlier
    >>> X_train, X_test, y_train, y_test, _, _ = make_blobs_with_outlier(outlier=8)
    >>> model = HuberClassifier().fit(X_train, y_train)
    >>> model.score(X_test, y_test)
    1.0
    >>> model.weights_[-1].round(2)  # the outlier, last, is down-weighted
    array([0.06])
    """

    _fitted = LinearSignClassifier._fitted._replace(
        stored=(*LinearSignClassifier._fitted.stored, "weights_", "n_iter_")
    )
    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **LinearSignClassifier._parameter_constraints,
        "epsilon": Real(0, include_low=False),
        "max_iter": Integer(1),
        "tol": Real(0),
        "warm_start": Boolean(),
    }

    def __init__(
        self,
        epsilon: float = 1.0,
        *,
        alpha: float = 0.0,
        max_iter: int = 100,
        tol: float = 1e-5,
        fit_intercept: bool = True,
        class_weight=None,
        warm_start: bool = False,
    ):
        self.epsilon = epsilon
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.warm_start = warm_start

    def _fit_targets(self, X, Y, sample_weight, start=None):
        # BLAS on one thread: the passes over X run by blocks of rows on as many threads
        # as BLAS would have used, and the small D × D factorisations gain nothing from
        # threads (and lose much when the cores are busy).
        n_threads = blas_threads()
        with blas_libraries().limit(limits=1):  # pragma: no mutate (threads: speed only)
            return self._irls(X, Y, sample_weight, start, n_threads)

    def _irls(self, X, Y, sample_weight, start, n_threads):
        epsilon, alpha, tol = float(self.epsilon), float(self.alpha), float(self.tol)
        fit_intercept = bool(self.fit_intercept)
        X = as_float64(X)  # residuals in float64 for float32 input too
        # The fit runs on X' = X·2^(−e) with max |x'| ∈ [1/2, 1), α' = α·2^(−2e): exact, and
        # the same problem (W = W'·2^(−e), b = b'), so every scale takes the same iterations.
        exponent, alpha = unit_scale(max_abs(X), alpha)
        if exponent:
            X = ldexp(X, -exponent)
        if sample_weight is None:
            sample_weight = np.ones(X.shape[0])
        solve = partial(least_squares_with_route, X, alpha=alpha, fit_intercept=fit_intercept,
                        n_threads=n_threads)  # fmt: skip
        counted = sample_weight > 0  # samples of weight 0 do not change the fit
        if start is None:  # the least-squares fit: the first IRLS solve (every weight 1)
            W, b, route = solve(Y, sample_weight=sample_weight)
            self.n_iter_, solved = 1, np.ones_like(Y)
            # A Gram matrix too ill-conditioned for the plain problem is rarely fine for the
            # weighted ones: they go straight to the (as accurate) QR route.
            try_gram = [route == "gram"] * Y.shape[1]
        else:  # warm start: the previous coefficients, at this scale
            W, b = np.ldexp(start[0], exponent), start[1] * fit_intercept
            self.n_iter_, solved, try_gram = 1, None, [True] * Y.shape[1]  # the start counts
        # J₀ = J(0, 0) sets the floor of the stopping rule (see "When it stops").
        floor = np.finfo(np.float64).eps * float(np.sum(sample_weight[:, None] * huber(Y, epsilon)))
        bound = partial(
            huber_dual_bound, X=X, Y=Y, epsilon=epsilon, alpha=alpha,
            sample_weight=sample_weight, fit_intercept=fit_intercept, tol=tol, floor=floor,
            n_threads=n_threads,
        )  # fmt: skip
        objective, lower = bound(W, b)
        omega = huber_weights(Y - np.asarray(X @ W.T) - b, epsilon)
        stalled = False
        while objective - lower > tol * max(objective, floor) and self.n_iter_ < self.max_iter:
            # Each column has its own weights, so each is its own weighted problem; a column
            # whose weights are those of its last solve keeps that solve's answer.
            for k in range(Y.shape[1]):
                if solved is not None and np.array_equal(omega[counted, k], solved[counted, k]):
                    continue
                W_k, b_k, route = solve(Y[:, k : k + 1], sample_weight=sample_weight * omega[:, k],
                                        try_gram=try_gram[k])  # fmt: skip
                W[k], b[k], try_gram[k] = W_k[0], b_k[0], route == "gram"
            solved = omega
            # Every bound holds for J*, whatever its iteration: the best so far is kept.
            objective, lower = bound(W, b, known=lower)
            omega = huber_weights(Y - np.asarray(X @ W.T) - b, epsilon)
            stalled = np.array_equal(omega[counted], solved[counted])
            self.n_iter_ += 1
            if stalled:  # the next iteration would solve the same problem again
                break
        self.weights_ = omega
        gap = objective - lower
        if gap > tol * max(objective, floor):
            why = (
                "stalled: an iteration left every IRLS weight unchanged"
                if stalled
                else f"max_iter={self.max_iter} reached"
            )
            warnings.warn(
                f"HuberClassifier did not converge ({why}) after {self.n_iter_} IRLS "
                f"iterations: the objective J = {objective:.6g} is certified only within "
                f"{gap / objective:.2g} of its minimum (J minus the duality lower bound), "
                f"above tol={self.tol}. Increase max_iter or tol"
                + ("; an epsilon this small is at the limit of float64." if stalled else "."),
                ConvergenceWarning,
                stacklevel=4,  # fit, _fit_targets, _irls
            )
        with np.errstate(over="ignore"):  # ±inf beyond float64's range: refused by ``fit``
            return np.ldexp(W, -exponent), b
