"""solve_least_squares off the happy path: the QR/SVD route on ill-conditioned and wide
input, LAPACK's fallback SVD driver, and X with nothing to fit (all-constant columns).

Every answer is compared with numpy.linalg.lstsq or scikit-learn.
"""

import warnings

import numpy as np
import pytest
import scipy.linalg
from sklearn.linear_model import LinearRegression, Ridge, RidgeClassifier

from scratchlearn._math import least_squares as ls
from scratchlearn._math.least_squares import solve_least_squares
from scratchlearn.linear_model import HuberClassifier, LeastSquaresClassifier


def lstsq_with_intercept(X, Y, s=None):
    """min Σ s_n ‖Y_n − W x_n − b‖², minimum-norm W, by NumPy on the centred problem."""
    s = np.ones(len(X)) if s is None else s
    x_mean, y_mean = s @ X / s.sum(), s @ Y / s.sum()
    A, B = np.sqrt(s)[:, None] * (X - x_mean), np.sqrt(s)[:, None] * (Y - y_mean)
    W = np.linalg.lstsq(A, B, rcond=None)[0]
    return W.T, y_mean - x_mean @ W


@pytest.fixture
def route(monkeypatch):
    """Records which route each solve took: "gram" or "qr"."""
    taken = []
    gram, triangular = ls.solve_from_gram, ls.solve_from_triangular

    def spy_gram(*args, **kwargs):
        W = gram(*args, **kwargs)
        if W is not None:
            taken.append("gram")
        return W

    def spy_triangular(*args, **kwargs):
        taken.append("qr")
        return triangular(*args, **kwargs)

    monkeypatch.setattr(ls, "solve_from_gram", spy_gram)
    monkeypatch.setattr(ls, "solve_from_triangular", spy_triangular)
    return taken


def ill_conditioned(seed, n=300, singular_values=(1.0, 1e-3, 1e-6, 1e-8)):
    """X = U diag(σ) Vᵀ with κ(X) = σ₁/σ_D, plus an offset (removed by the centring)."""
    rng = np.random.default_rng(seed)
    D = len(singular_values)
    U, _ = np.linalg.qr(rng.normal(size=(n, D)))
    U -= U.mean(axis=0)  # centred columns, so κ of the centred X is the one chosen
    V, _ = np.linalg.qr(rng.normal(size=(D, D)))
    return U @ np.diag(singular_values) @ V.T + 5.0, rng


def objective(X, Y, W, b):
    return float(np.sum((Y - X @ W.T - b) ** 2))


def test_ill_conditioned_X_takes_the_svd_route_and_equals_lstsq(route):
    # κ(X) = 1e5, so κ(XᵀX) = 1e10: far beyond the Gram route's 1e6.
    X, rng = ill_conditioned(0, singular_values=(1.0, 1e-2, 1e-3, 1e-5))
    Y = rng.normal(size=(len(X), 2))
    W, b = solve_least_squares(X, Y)
    assert route == ["qr"]
    W_ref, b_ref = lstsq_with_intercept(X, Y)
    np.testing.assert_allclose(W, W_ref, rtol=1e-7)
    np.testing.assert_allclose(b, b_ref, rtol=1e-7)
    assert objective(X, Y, W, b) == pytest.approx(objective(X, Y, W_ref, b_ref), rel=1e-9)


def test_exact_fit_of_a_nearly_singular_X_recovers_the_weights(route):
    # κ(X) = 1e7: the normal equations (κ² = 1e14) would keep about 2 digits, the SVD of
    # X itself about 9.
    X, rng = ill_conditioned(7, singular_values=(1.0, 1e-3, 1e-5, 1e-7))
    w_true = rng.normal(size=(2, X.shape[1]))
    Y = X @ w_true.T + np.array([0.5, -1.0])
    W, b = solve_least_squares(X, Y)
    assert route == ["qr"]
    np.testing.assert_allclose(W, w_true, atol=1e-6)
    np.testing.assert_allclose(b, [0.5, -1.0], atol=1e-5)


def test_well_conditioned_tall_X_takes_the_gram_route(route):
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(200, 4)), rng.normal(size=(200, 3))
    W, b = solve_least_squares(X, Y)
    assert route == ["gram"]
    W_ref, b_ref = lstsq_with_intercept(X, Y)
    np.testing.assert_allclose(W, W_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b, b_ref, rtol=1e-10, atol=1e-12)


def test_condition_just_above_the_gram_limit_takes_the_svd_route(route):
    # κ(X) = 1e4 gives κ(XᵀX) = 1e8 > 1e6, though every direction is still determined.
    X, rng = ill_conditioned(2, singular_values=(1.0, 0.3, 1e-4))
    Y = rng.normal(size=(len(X), 1))
    W, b = solve_least_squares(X, Y)
    assert route == ["qr"]
    W_ref, b_ref = lstsq_with_intercept(X, Y)
    np.testing.assert_allclose(W, W_ref, rtol=1e-9)
    np.testing.assert_allclose(b, b_ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_wide_X_takes_the_svd_route_and_equals_the_reference(route, alpha):
    # Fewer samples than features: the minimum-norm (α = 0) or ridge (α > 0) solution.
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(6, 15)), rng.normal(size=(6, 2))
    W, b = solve_least_squares(X, Y, alpha=alpha)
    assert route == ["qr"]
    if alpha == 0:
        W_ref, b_ref = lstsq_with_intercept(X, Y)
    else:
        ridge = Ridge(alpha=alpha, solver="svd").fit(X, Y)
        W_ref, b_ref = ridge.coef_, ridge.intercept_
    np.testing.assert_allclose(W, W_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b, b_ref, rtol=1e-9, atol=1e-12)


def test_the_fallback_svd_driver_gives_the_same_answer(monkeypatch):
    # LAPACK's divide-and-conquer SVD (gesdd) can fail to converge; the solver then retries
    # with QR iteration (gesvd). Make the first driver fail and check the retry's answer.
    calls = []
    svd = scipy.linalg.svd

    def failing_gesdd(a, *args, lapack_driver="gesdd", **kwargs):
        calls.append(lapack_driver)
        if lapack_driver == "gesdd":
            raise np.linalg.LinAlgError("SVD did not converge")
        return svd(a, *args, lapack_driver=lapack_driver, **kwargs)

    monkeypatch.setattr(scipy.linalg, "svd", failing_gesdd)
    X, rng = ill_conditioned(4, singular_values=(1.0, 1e-2, 1e-5))
    Y = rng.normal(size=(len(X), 1))
    W, b = solve_least_squares(X, Y)
    assert calls == ["gesdd", "gesvd"]
    W_ref, b_ref = lstsq_with_intercept(X, Y)
    np.testing.assert_allclose(W, W_ref, rtol=1e-7)
    np.testing.assert_allclose(b, b_ref, rtol=1e-7)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
@pytest.mark.parametrize("n_samples, n_features", [(40, 3), (4, 9), (1000, 5)])
def test_all_constant_X_gives_finite_weights_and_predicts_the_mean(alpha, n_samples, n_features):
    rng = np.random.default_rng(n_samples)
    X = np.tile(rng.normal(size=n_features), (n_samples, 1))  # every row the same
    Y = rng.normal(size=(n_samples, 2))
    W, b = solve_least_squares(X, Y, alpha=alpha)
    assert np.all(np.isfinite(W)) and np.all(np.isfinite(b))
    # Whatever the weights, the fit on the training rows is the mean of Y, as for
    # scikit-learn's estimator.
    reference = (LinearRegression() if alpha == 0 else Ridge(alpha=alpha)).fit(X, Y)
    np.testing.assert_allclose(X @ W.T + b, np.broadcast_to(Y.mean(axis=0), Y.shape),
                               atol=1e-12)
    np.testing.assert_allclose(X @ W.T + b, reference.predict(X), atol=1e-12)
    if alpha > 0:  # the penalty removes any direction without signal
        np.testing.assert_allclose(W, 0.0, atol=1e-12)
        np.testing.assert_allclose(b, Y.mean(axis=0), rtol=1e-12)


@pytest.mark.parametrize("value", [3.0, -0.5, 1024.0])
def test_constant_columns_whose_mean_is_exact_get_zero_weight(value):
    X = np.full((30, 3), value)
    Y = np.random.default_rng(8).normal(size=(30, 2))
    W, b = solve_least_squares(X, Y)
    np.testing.assert_array_equal(W, 0.0)
    np.testing.assert_allclose(b, Y.mean(axis=0), rtol=1e-14)


@pytest.mark.xfail(
    strict=True,
    reason="known bug: when every column is constant and its mean is not exact in float64, "
    "the centred X is a rank-1 matrix of rounding noise (~1e-16) and the relative cut-off "
    "rcond·σ₁ keeps it, so W is noise of order 0.05 (as in numpy.linalg.lstsq and "
    "LinearRegression) instead of 0, and the intercept moves away from the mean of Y",
)
def test_all_constant_X_gives_zero_weights_whatever_its_value():
    rng = np.random.default_rng(40)
    X = np.tile(rng.normal(size=3), (40, 1))
    Y = rng.normal(size=(40, 2))
    W, b = solve_least_squares(X, Y)
    np.testing.assert_allclose(W, 0.0, atol=1e-12)
    np.testing.assert_allclose(b, Y.mean(axis=0), rtol=1e-12)


def test_all_constant_X_with_sample_weight_gives_the_weighted_mean():
    X = np.full((5, 2), 3.0)
    Y = np.array([[1.0], [2.0], [3.0], [4.0], [10.0]])
    s = np.array([1.0, 0.0, 2.0, 1.0, 0.5])
    W, b = solve_least_squares(X, Y, sample_weight=s)
    np.testing.assert_allclose(W, 0.0, atol=1e-12)
    np.testing.assert_allclose(b, [s @ Y[:, 0] / s.sum()], rtol=1e-14)


def test_classifier_on_all_constant_X_is_finite_and_matches_ridge_classifier():
    X = np.ones((30, 4))
    y = np.array([0] * 12 + [1] * 18)
    ours = LeastSquaresClassifier().fit(X, y)
    ref = RidgeClassifier(alpha=1e-12).fit(X, y)
    assert np.all(np.isfinite(ours.coef_)) and np.all(np.isfinite(ours.intercept_))
    np.testing.assert_allclose(ours.coef_.ravel(), ref.coef_.ravel(), atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-10)
    assert ours.intercept_[0] == pytest.approx((18 - 12) / 30)  # mean of the ±1 targets
    np.testing.assert_array_equal(ours.predict(X), 1)  # the majority class everywhere


def test_no_intercept_fits_the_raw_problem():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(50, 3)) + 2.0
    Y = rng.normal(size=(50, 2)) + 1.0
    W, b = solve_least_squares(X, Y, fit_intercept=False)
    np.testing.assert_array_equal(b, 0.0)
    np.testing.assert_allclose(W.T, np.linalg.lstsq(X, Y, rcond=None)[0], rtol=1e-10)


# --- the fit's inputs: dtypes, weights, messages -------------------------------------------


def test_float32_inputs_are_solved_in_float64():
    # "float64, whatever the dtype of X": means and products of float32 data in float64.
    rng = np.random.default_rng(9)
    X = (rng.normal(size=(300, 4)) * 3 + 100).astype(np.float32)
    Y = (rng.normal(size=(300, 2)) + 1e3).astype(np.float32)
    W, b = solve_least_squares(X, Y)
    W64, b64 = solve_least_squares(X.astype(np.float64), Y.astype(np.float64))
    assert W.dtype == b.dtype == np.float64
    np.testing.assert_allclose(W, W64, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b, b64, rtol=1e-12)


def test_float32_sample_weights_fit_like_float64_ones():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(200, 3)) + 5
    y = rng.integers(0, 3, 200)
    s = rng.uniform(0.1, 3, size=200).astype(np.float32)
    single = LeastSquaresClassifier().fit(X, y, sample_weight=s)
    double = LeastSquaresClassifier().fit(X, y, sample_weight=s.astype(np.float64))
    np.testing.assert_allclose(single.coef_, double.coef_, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(single.intercept_, double.intercept_, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("scale", [1e-3, 0.5, 40.0])
def test_scaling_every_sample_weight_changes_nothing(scale):
    # Weights summing to less than one are as valid as any others.
    rng = np.random.default_rng(11)
    X = rng.normal(size=(60, 3))
    y = rng.integers(0, 2, 60)
    s = rng.uniform(0.1, 1, size=60)
    ref = LeastSquaresClassifier().fit(X, y, sample_weight=s)
    scaled = LeastSquaresClassifier().fit(X, y, sample_weight=scale * s / s.sum())
    np.testing.assert_allclose(scaled.coef_, ref.coef_, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(scaled.intercept_, ref.intercept_, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize(
    "weights, message",
    [
        ([1.0, -0.5, 2.0, 1.0], r"^Negative values in sample_weight are not allowed: min -0\.5\.$"),
        ([1.0, np.nan, 2.0, 1.0], r"^sample_weight must be finite, got NaN or infinity\.$"),
        ([0.0, 0.0, 0.0, 0.0], r"^sample_weight must have a positive sum, got all zeros\.$"),
        ([1.0, 2.0], r"^sample_weight must have shape \(4,\), like y, got shape \(2,\)\.$"),
    ],
)
def test_bad_sample_weight_gets_its_own_message(weights, message):
    X, y = np.arange(8.0).reshape(4, 2), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=message):
        LeastSquaresClassifier().fit(X, y, sample_weight=weights)


def test_bad_alpha_and_a_single_class_messages_name_the_parameter_and_estimator():
    X, y = np.arange(8.0).reshape(4, 2), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"^alpha must be a finite number in \[0, inf\), got -1"):
        LeastSquaresClassifier(alpha=-1).fit(X, y)
    with pytest.raises(ValueError, match=r"^LeastSquaresClassifier needs samples of at least 2"):
        LeastSquaresClassifier().fit(X, np.zeros(4))


def test_a_point_on_the_boundary_gets_the_first_class():
    # f(x) = x exactly for targets −1, +1 at x = −1, +1; at x = 0, f = 0 is not > 0.
    model = LeastSquaresClassifier().fit([[-1.0], [1.0]], ["left", "right"])
    assert model.coef_[0, 0] == 1.0 and model.intercept_[0] == 0.0
    assert model.decision_function([[0.0]])[0] == 0.0
    np.testing.assert_array_equal(model.predict([[0.0], [1e-9], [-1e-9]]),
                                  ["left", "right", "left"])


def test_rank_one_X_gives_the_minimum_norm_solution():
    # Two proportional columns: X has one non-zero singular value and one of rounding noise,
    # which the cut-off (relative to the largest) must drop.
    rng = np.random.default_rng(12)
    x = rng.normal(size=50)
    X = np.column_stack([x, 3 * x])
    Y = rng.normal(size=(50, 2))
    W, b = solve_least_squares(X, Y)
    Xc = X - X.mean(axis=0)
    np.testing.assert_allclose(W.T, np.linalg.pinv(Xc) @ (Y - Y.mean(axis=0)), rtol=1e-10)
    np.testing.assert_allclose(W[:, 1], 3 * W[:, 0], rtol=1e-10)  # split as 1 : 3
    np.testing.assert_allclose(b, Y.mean(axis=0) - X.mean(axis=0) @ W.T, rtol=1e-10)


def test_one_sample_without_intercept_is_ridge_on_that_point():
    x, y, alpha = 2.0, 3.0, 0.5
    W, b = solve_least_squares(np.array([[x]]), np.array([[y]]), alpha=alpha,
                               fit_intercept=False)
    assert W[0, 0] == pytest.approx(x * y / (x * x + alpha), rel=1e-14)
    assert b[0] == 0.0


# --- extreme magnitudes: one power-of-two scale, exact ------------------------------------


def scaled_problem(seed=0, n=80, d=3, t=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + 2.0
    Y = rng.choice([-1.0, 1.0], size=(n, t))
    return X, Y, rng.uniform(0.2, 2.0, n)


@pytest.mark.parametrize(
    "k, alpha",
    [(531, 0.0), (-531, 0.0), (1000, 0.0), (-1000, 0.0), (400, 0.3), (-400, 0.3), (-1025, 0.0)],
)  # 2^531 ≈ 1e160 (the Gram overflowed), 2^1000 ≈ 1e301, 2^-1025: subnormal values
def test_gram_route_at_extreme_magnitudes_is_the_unit_answer_scaled(route, k, alpha):
    """Solving for X·2^k (and the equivalent penalty α·2^(2k)) gives W·2^(−k) and the same
    b to the last bit, by the well-conditioned Gram route itself (no fallback to QR), with
    no overflow, underflow or invalid value on the way."""
    X, Y, s = scaled_problem()
    X = np.round(X * 2.0**10) / 2.0**10  # 14 significant bits: exact even as subnormals
    W, b = solve_least_squares(X, Y, alpha=alpha, sample_weight=s)
    assert route == ["gram"] and np.abs(W).max() < 0.5  # W·2^1025 is then a float
    route.clear()
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        W_k, b_k = solve_least_squares(
            np.ldexp(X, k), Y, alpha=np.ldexp(alpha, 2 * k), sample_weight=s
        )
    assert route == ["gram"]
    np.testing.assert_array_equal(W_k, np.ldexp(W, -k))
    np.testing.assert_array_equal(b_k, b)


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_gram_of_overflowing_values_is_not_used(alpha):
    """A Gram matrix whose sums of squares overflowed to inf is refused (None: take the QR
    route), not decomposed: SciPy's eigh of inf returns zero eigenvalues without complaint,
    which with α > 0 made W = 0."""
    X, Y, _ = scaled_problem(t=1)
    M = ls.centred_rows(np.ldexp(X, 531), Y, np.ldexp(X.mean(axis=0), 531), Y.mean(axis=0))
    S = ls.gram_upper(M)
    assert np.isinf(S).any()
    assert ls.solve_from_gram(S, X.shape[1], alpha) is None


@pytest.mark.parametrize("k", [-1000, -531, 531, 1000])
def test_classifier_at_extreme_magnitudes_predicts_as_at_unit_scale(k):
    X, Y, _ = scaled_problem(seed=1, t=1)
    y = Y[:, 0] > 0
    unit = LeastSquaresClassifier().fit(X, y)
    model = LeastSquaresClassifier().fit(np.ldexp(X, k), y)
    np.testing.assert_array_equal(model.coef_, np.ldexp(unit.coef_, -k))
    np.testing.assert_array_equal(model.intercept_, unit.intercept_)
    np.testing.assert_array_equal(model.predict(np.ldexp(X, k)), unit.predict(X))


@pytest.mark.parametrize("dtype, k", [(np.float64, -1062), (np.float32, -135)])
def test_coefficients_beyond_the_float_range_are_refused(dtype, k):
    """Values so small that W x of order 1 needs W beyond the float range: a ValueError that
    names coef_ and X, not inf or NaN coefficients."""
    X, Y, _ = scaled_problem(seed=2, t=1)
    with pytest.raises(ValueError, match=r"coef_.*X") as info:
        LeastSquaresClassifier().fit(np.ldexp(X.astype(dtype), k), Y[:, 0] > 0)
    assert ("as float64" in str(info.value)) == (dtype == np.float32)


@pytest.mark.parametrize("estimator", [LeastSquaresClassifier, HuberClassifier])
def test_a_penalty_far_above_or_below_the_datas_scale(estimator):
    """α = 1 on values near 2^-1000 outweighs their squares by about 2^2000, beyond any
    float: W = Xcᵀ t / α to float precision for least squares (its first-order form), tiny
    and finite for Huber, and W x + b rounds to b. On values near 2^1000 the same α is
    negligible: the unpenalised fit, exactly."""
    X, Y, _ = scaled_problem(seed=3, t=1)
    y = Y[:, 0] > 0
    X_tiny = np.ldexp(X, -1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny = estimator(alpha=1.0).fit(X_tiny, y)
        huge = estimator(alpha=1.0).fit(np.ldexp(X, 1000), y)
    if estimator is LeastSquaresClassifier:
        Xc, Yc = X_tiny - X_tiny.mean(axis=0), Y - Y.mean(axis=0)
        np.testing.assert_allclose(tiny.coef_, (Xc.T @ Yc).T, rtol=1e-12)
    assert np.all(np.isfinite(tiny.coef_)) and np.abs(tiny.coef_).max() < 2.0**-990
    np.testing.assert_array_equal(tiny.decision_function(X_tiny), np.full(len(X), tiny.intercept_))
    unpenalised = estimator().fit(np.ldexp(X, 1000), y)
    np.testing.assert_array_equal(huge.coef_, unpenalised.coef_)
    np.testing.assert_array_equal(huge.intercept_, unpenalised.intercept_)


def test_svd_route_with_a_penalty_on_singular_values_whose_squares_overflow():
    """σ beyond 1e154 (an R factor of unscaled rows near 1e160, as Dask chunks give): with
    α > 0, σ/(σ² + α) is 1/σ to float precision, not 0 from an overflowed σ²."""
    X, Y, _ = scaled_problem(t=2)
    M = ls.centred_rows(X, Y, X.mean(axis=0), Y.mean(axis=0))
    R = ls.triangular_factor(M)
    W = ls.solve_from_triangular(R, X.shape[1], 0.0, n_rows=len(X))
    R_big = R.copy()
    R_big[:, : X.shape[1]] = np.ldexp(R[:, : X.shape[1]], 531)  # A·2^531, B as it was
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        W_big = ls.solve_from_triangular(R_big, X.shape[1], 0.5, n_rows=len(X))
    np.testing.assert_allclose(np.ldexp(W_big, 531), W, rtol=1e-12)
