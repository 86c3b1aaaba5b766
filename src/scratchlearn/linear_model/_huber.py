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

    starting from the least-squares fit (ω = 1), or with ``warm_start`` from the previous
    fit's coefficients (a refit on the same or slightly changed data then needs few or no
    solves). Each weighted problem majorises J up to a
    constant, so J never increases, and J is convex, so the iterates approach its minimum.
    Convergence is linear: a few to a few tens of iterations when most residuals lie within
    ε (the usual case, and the sheet's data), but hundreds when only a few do (a small ε on
    noisy data), because the weighted problem then over-estimates the curvature of J; raise
    ``max_iter`` there.

    **When it stops: a certified objective.** Neither the weights nor the decrease of J
    tell how far J is above its minimum J* (with a tiny ε the weights barely move while J
    is still 30% too high, and IRLS can pause for tens of iterations before it moves on),
    and the gradient cannot be resolved below the rounding of the residuals relative to ε.
    So each iteration computes a lower bound L ≤ J* by duality (``huber_dual_bound``): for
    |u| ≤ 2ε, ρ_ε(r) = max_u (u r − u²/4), so for any such u_n (one per sample and column)
    and every (w, b),

        J(w, b) ≥ Σ_n s_n (u_n t_n − u_n²/4) − ‖Σ_n s_n u_n x_n‖² / (4α)   (α > 0),

    provided Σ_n s_n u_n = 0 (with an intercept) and, for α = 0, Σ_n s_n u_n x_n = 0. The u
    used is the optimal one's estimate from the fit, ρ'_ε(r_n) = 2 ω_n r_n, corrected by the
    smallest ω-weighted change that meets those equalities (alternating with clipping to
    |u| ≤ 2ε) and scaled by the best factor into |u| ≤ 2ε; at the minimum it is the exact
    dual solution, so the bound closes on J*.
    The fit has **converged** when

        J − L ≤ tol · max(J, u·J₀),

    L the largest bound found so far, u = 2⁻⁵² (float64's machine epsilon) and J₀ the
    objective of the zero model (w = 0, b = 0): J is then certified within a fraction ``tol``
    of its minimum, or J is so near zero (a perfect fit) that the rounding of the bound,
    which scales with the data rather than with J, is all that is left. IRLS also stops when
    an iteration leaves every weight unchanged (a fixed point: the next one would repeat it)
    or after ``max_iter`` weighted solves (``n_iter_`` counts them, the first, plain
    least-squares solve included); if the gap is above that threshold then, it warns with a
    ``ConvergenceWarning`` that gives the certified gap. The bound is exact up to rounding,
    so a ``tol`` below ~1e-14 cannot be certified. With a small ε (few residuals within it;
    ε = 1e-12 is least absolute deviations) IRLS may need thousands of iterations, and then
    stops at ``max_iter`` with the warning and the gap it certified.

    **Cost.** Each IRLS iteration is one weighted least-squares solve per target column
    whose weights changed (a column whose weights are those of its last solve keeps its
    answer), straight by the QR route once the plain problem needed it (a rank-deficient
    X), and one bound: its rounds of clip-and-project stop as soon as the gap is
    certified, or once, at their pace, they could not certify it, so the iterations that
    cannot stop yet cost little. The passes over X run by blocks of rows on as many threads
    as BLAS would use (``threadpoolctl`` limits and ``OPENBLAS_NUM_THREADS`` respected),
    each block's BLAS on one thread, and the small D × D factorisations on one thread:
    threads that wait on each other's cores (oversubscription) made small fits tens of
    times slower on a busy machine.

    **Any scale.** The fit runs on X' = X·2^(−e), the power of two that puts max |x'| in
    [1/2, 1), with α' = α·2^(−2e), and returns W = W'·2^(−e), b = b': the same problem
    (W x = W' x', α‖W‖² = α'‖W'‖²), and multiplying by a power of two is exact. So X·2^k
    gives, for every k, the same iterations, objective, bound, ``weights_`` and
    predictions as X, and ``coef_`` exactly scaled by 2^(−k), from subnormal values to
    1e308; only coefficients beyond the float range (X below about 1e-308, or 1e-38 in
    float32) are refused, with a ``ValueError``. (A penalty with α' beyond the float range
    outweighs every square of X; the fit then runs on X as it is.)

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
        Stop, converged, once the duality gap certifies J within a fraction ``tol`` of its
        minimum: J − L ≤ tol·J (see above). ``fit`` warns exactly when it stops without that.
    fit_intercept : bool, default=True
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``, as in
        ``LeastSquaresClassifier`` (scikit-learn's ``RidgeClassifier`` convention).
    warm_start : bool, default=False
        Start IRLS from the previous fit's ``coef_`` and ``intercept_`` instead of the
        least-squares fit. They must have the shape this data needs (the same number of
        classes and features), as in scikit-learn; otherwise ``fit`` raises a
        ``ValueError`` and the model keeps its previous fit.

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
        Weighted least-squares solves run, the first (every weight 1, plain least squares)
        included: 1 when that start is already certified. With ``warm_start`` the previous
        coefficients count as that first step: 1 when they are already certified.
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
        with blas_libraries().limit(limits=1):
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
