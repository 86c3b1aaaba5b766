"""A linear classifier with Huber's loss, fitted by iteratively reweighted least squares."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._math.losses import huber_loss, huber_weights
from .._validation import check_float_param, check_int_param
from ._least_squares import LinearSignClassifier, solve_least_squares


class HuberClassifier(LinearSignClassifier):
    r"""Linear classifier on ±1 targets with Huber's loss: squares small residuals only.

    The targets and predictions are those of ``LeastSquaresClassifier`` (one ±1 column for two
    classes, predicted by sign; one column per class otherwise, predicted by argmax); only the
    loss differs. For each target column, with residuals r_n = t_n − w·x_n − b,

        J(w, b) = Σ_n s_n ρ_ε(r_n) + α ‖w‖²,
        ρ_ε(r) = r² for |r| ≤ ε,   2ε|r| − ε² for |r| > ε,

    so a residual beyond ε costs linearly instead of quadratically: its pull on the fit,
    ρ'_ε(r) = 2r · min(1, ε/|r|), is capped at 2ε instead of growing with r. ρ_ε has the
    least-squares scale inside ±ε, so as ε → ∞ this is ``LeastSquaresClassifier(alpha)``.
    The pull of a point on w is still ρ'_ε(r) x_n: Huber's loss bounds the residual's part of
    an outlier's influence, not its leverage ‖x_n‖.

    **Fitting by iteratively reweighted least squares (IRLS).** Setting ∂J/∂w = 0 gives
    Σ_n s_n ω_n r_n x_n = α w with ω_n = min(1, ε/|r_n|): the normal equations of a weighted
    least-squares problem, except that the weights depend on the residuals. IRLS alternates

        ω ← min(1, ε/|r|) at the current fit,
        (w, b) ← argmin Σ_n s_n ω_n (t_n − w·x_n − b)² + α ‖w‖²   (``solve_least_squares``),

    starting from the least-squares fit (ω = 1). Each weighted problem majorises J up to a
    constant, so J never increases, and J is convex, so the iterates approach its minimum.
    The iteration stops when no weight changes by more than ``tol``. Convergence is linear:
    a few to a few tens of iterations when most residuals lie within ε (the usual case, and
    the sheet's data), but hundreds when only a few do (a small ε on noisy data), because
    the weighted problem then over-estimates the curvature of J; raise ``max_iter`` there.

    The threshold ε is in the units of the ±1 targets: residuals are not rescaled by an
    estimated σ as in scikit-learn's ``HuberRegressor``. ``HuberRegressor(epsilon=e)`` with
    its fitted ``scale_`` = σ minimises the same objective as this estimator with
    ``epsilon = e·σ`` and ``alpha`` multiplied by σ.

    Parameters
    ----------
    epsilon : float, default=1.0
        Threshold ε > 0 where the loss turns from quadratic to linear, in units of the ±1
        targets. A residual of 1 is the distance from a target to the boundary f = 0, so
        ε = 1 treats a point as an outlier when its output is farther from its target than
        the boundary is: on the wrong side, or beyond 2t on the right side.
    alpha : float, default=0.0
        L2 penalty α ≥ 0 on the weights; the intercept is not penalised.
    max_iter : int, default=100
        Maximum number of IRLS iterations (weighted least-squares solves after the first).
    tol : float, default=1e-5
        Stop when max |Δω| ≤ ``tol`` between two iterations.
    fit_intercept : bool, default=True

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
        float32 when X was float32 (the fit itself runs in float64), else float64.
    intercept_ : ndarray of shape (1,) for two classes, else (n_classes,)
        Of the dtype of ``coef_``.
    weights_ : ndarray of shape (n_samples, n_targets)
        IRLS weights ω = min(1, ε/|r|) of the training samples at the fit: 1 for samples on
        the quadratic part, ε/|r| < 1 for those the loss treats as outliers.
    n_iter_ : int
        IRLS iterations run.
    n_features_in_ : int

    Examples
    --------
    >>> from scratchlearn import HuberClassifier
    >>> from scratchlearn.datasets import make_blobs_with_outlier
    >>> X_train, X_test, y_train, y_test, _, _ = make_blobs_with_outlier(outlier=8)
    >>> model = HuberClassifier().fit(X_train, y_train)
    >>> model.score(X_test, y_test)
    1.0
    """

    def __init__(
        self,
        epsilon: float = 1.0,
        *,
        alpha: float = 0.0,
        max_iter: int = 100,
        tol: float = 1e-5,
        fit_intercept: bool = True,
    ):
        self.epsilon = epsilon
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.fit_intercept = fit_intercept

    def _check_params(self) -> None:
        super()._check_params()
        check_float_param(self.epsilon, "epsilon", min_value=0, include_min=False)
        check_int_param(self.max_iter, "max_iter", min_value=1)
        check_float_param(self.tol, "tol", min_value=0)

    def _fit_targets(self, X, Y, sample_weight):
        epsilon, alpha = float(self.epsilon), float(self.alpha)
        fit_intercept = bool(self.fit_intercept)
        X = X.astype(np.float64, copy=False)  # residuals in float64 for float32 input too
        if sample_weight is None:
            sample_weight = np.ones(X.shape[0])
        W, b = solve_least_squares(
            X, Y, alpha=alpha, sample_weight=sample_weight, fit_intercept=fit_intercept
        )
        omega = huber_weights(Y - X @ W.T - b, epsilon)
        counted = sample_weight > 0  # samples of weight 0 must not delay the stop
        self.n_iter_, change = 0, np.inf
        while change > self.tol and self.n_iter_ < self.max_iter:
            # Each column has its own weights, so each is its own weighted problem.
            for k in range(Y.shape[1]):
                W_k, b_k = solve_least_squares(
                    X,
                    Y[:, k : k + 1],
                    alpha=alpha,
                    sample_weight=sample_weight * omega[:, k],
                    fit_intercept=fit_intercept,
                )
                W[k], b[k] = W_k[0], b_k[0]
            new_omega = huber_weights(Y - X @ W.T - b, epsilon)
            change = float(np.max(np.abs(new_omega - omega)[counted]))
            omega = new_omega
            self.n_iter_ += 1
        self.weights_ = omega
        if change > self.tol:
            loss, grad_W, grad_b = huber_loss(W, b, X, Y, epsilon, alpha, sample_weight)
            gradient = max(np.abs(grad_W).max(), np.abs(grad_b).max())
            warnings.warn(
                f"HuberClassifier did not converge after max_iter={self.max_iter} IRLS "
                f"iterations: the weights still changed by {change:.2g} > tol={self.tol} "
                f"(objective {loss:.6g}, largest gradient entry {gradient:.2g}). "
                "Increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return W, b
