"""Huber's loss and HuberClassifier, against slow versions, least squares and HuberRegressor."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import HuberRegressor

from scratchlearn._math.losses import huber, huber_loss, huber_weights, least_squares_loss
from scratchlearn.datasets import make_blobs_with_outlier
from scratchlearn.gradcheck import check_gradient
from scratchlearn.linear_model import HuberClassifier, LeastSquaresClassifier
from scratchlearn.linear_model._least_squares import signed_targets


def random_problem(seed, n_samples=120, n_features=4, n_classes=2, n_outliers=6):
    """Gaussian classes, every class present, plus a few far-away points of random labels."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n_samples) % n_classes)
    X = rng.normal(0, 1.5, size=(n_classes, n_features))[y] + rng.normal(
        size=(n_samples, n_features)
    )
    X[:n_outliers] += rng.normal(0, 15, size=(n_outliers, n_features))
    return X, y


def slow_huber(r, epsilon):
    return np.array([x * x if abs(x) <= epsilon else 2 * epsilon * abs(x) - epsilon**2 for x in r])


def fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


# --- the loss ----------------------------------------------------------------------------


@pytest.mark.parametrize("epsilon", [0.3, 1.0, 2.5])
def test_huber_equals_the_piecewise_definition(epsilon):
    r = np.random.default_rng(0).normal(0, 2, 200)
    r[:3] = [0.0, epsilon, -epsilon]
    np.testing.assert_allclose(huber(r, epsilon), slow_huber(r, epsilon), rtol=1e-14)
    np.testing.assert_allclose(
        huber_weights(r, epsilon), [min(1.0, epsilon / abs(x)) if x else 1.0 for x in r]
    )


def test_huber_is_smooth_at_the_threshold():
    epsilon, h = 0.7, 1e-7
    for side in (epsilon, -epsilon):
        left, right = huber(np.array([side - h, side + h]), epsilon)
        assert left == pytest.approx(right, abs=3 * h)
        slope_in = (huber(np.array([side]), epsilon) - huber(np.array([side - h]), epsilon)) / h
        slope_out = (huber(np.array([side + h]), epsilon) - huber(np.array([side]), epsilon)) / h
        assert slope_in[0] == pytest.approx(slope_out[0], abs=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 0.5])
@pytest.mark.parametrize("weighted", [False, True])
def test_huber_loss_gradient_check(alpha, weighted):
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(30, 3)), rng.normal(0, 2, size=(30, 2))
    s = rng.uniform(0.1, 2, 30) if weighted else None

    def fun(theta):
        W, b = theta[:6].reshape(2, 3), theta[6:]
        loss, grad_W, grad_b = huber_loss(W, b, X, Y, 0.8, alpha, s)
        return loss, np.concatenate([grad_W.ravel(), grad_b])

    assert check_gradient(fun, rng.normal(size=8)) < 1e-7


def test_huber_loss_is_least_squares_for_small_residuals():
    rng = np.random.default_rng(2)
    X, Y, W, b = rng.normal(size=(10, 3)), rng.normal(size=(10, 2)), np.zeros((2, 3)), np.zeros(2)
    ls = least_squares_loss(W, b, X, Y, 0.3)
    hu = huber_loss(W, b, X, Y, 1e3, 0.3)
    for a, c in zip(ls, hu, strict=True):
        np.testing.assert_allclose(a, c)


# --- the estimator -----------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_huge_epsilon_is_least_squares(n_classes, alpha):
    X, y = random_problem(3, n_classes=n_classes)
    huber_model = HuberClassifier(epsilon=1e6, alpha=alpha).fit(X, y)
    ls = LeastSquaresClassifier(alpha=alpha).fit(X, y)
    np.testing.assert_allclose(huber_model.coef_, ls.coef_, atol=1e-10)
    np.testing.assert_allclose(huber_model.intercept_, ls.intercept_, atol=1e-10)
    assert np.all(huber_model.weights_ == 1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("epsilon, alpha", [(1.35, 1e-4), (1.35, 1.0), (2.0, 0.1)])
def test_matches_huber_regressor_at_its_scale(seed, epsilon, alpha):
    # HuberRegressor minimises Σ σ + σ·H(r/σ) + α‖w‖² over w and σ. At its σ, that is our
    # objective with threshold ε·σ and penalty α·σ (σ·H(r/σ) = ρ_{εσ}(r)/σ).
    X, y = random_problem(seed)
    t = np.where(y == 1, 1.0, -1.0)
    ref = HuberRegressor(epsilon=epsilon, alpha=alpha, max_iter=2000, tol=1e-12).fit(X, t)
    ours = HuberClassifier(
        epsilon=epsilon * ref.scale_, alpha=alpha * ref.scale_, tol=1e-12, max_iter=2000
    ).fit(X, y)
    # HuberRegressor's L-BFGS stops with gradients near 1e-3 in our objective, ours below
    # 1e-9: the fits agree to its accuracy, and ours is never the worse minimiser.
    np.testing.assert_allclose(ours.coef_[0], ref.coef_, atol=5e-5)
    np.testing.assert_allclose(ours.intercept_[0], ref.intercept_, atol=5e-5)
    T = t[:, None]
    threshold, penalty = epsilon * ref.scale_, alpha * ref.scale_
    ours_loss = huber_loss(ours.coef_, ours.intercept_, X, T, threshold, penalty)[0]
    ref_loss = huber_loss(ref.coef_[None], np.atleast_1d(ref.intercept_), X, T, threshold, penalty)
    assert ours_loss <= ref_loss[0]


@pytest.mark.parametrize("n_classes", [2, 4])
def test_fit_is_a_minimum_of_the_huber_objective(n_classes):
    X, y = random_problem(4, n_classes=n_classes)
    model = HuberClassifier(epsilon=0.8, alpha=0.2, tol=1e-12, max_iter=1000).fit(X, y)
    Y = signed_targets(y, n_classes)
    loss, grad_W, grad_b = huber_loss(model.coef_, model.intercept_, X, Y, 0.8, 0.2)
    assert max(np.abs(grad_W).max(), np.abs(grad_b).max()) < 1e-7
    rng = np.random.default_rng(4)
    for _ in range(20):  # convex, so every nearby point is at least as high
        W = model.coef_ + 1e-3 * rng.normal(size=model.coef_.shape)
        b = model.intercept_ + 1e-3 * rng.normal(size=model.intercept_.shape)
        assert huber_loss(W, b, X, Y, 0.8, 0.2)[0] >= loss
    ls = LeastSquaresClassifier(alpha=0.2).fit(X, y)
    assert loss < huber_loss(ls.coef_, ls.intercept_, X, Y, 0.8, 0.2)[0]


def test_irls_never_increases_the_objective():
    X, y = random_problem(5)
    Y = signed_targets(y, 2)
    losses = [
        huber_loss(m.coef_, m.intercept_, X, Y, 0.5)[0]
        for m in (
            fit_quietly(HuberClassifier(epsilon=0.5, max_iter=k, tol=0), X, y) for k in range(1, 12)
        )
    ]
    assert np.all(np.diff(losses) <= 1e-12 * losses[0])
    assert losses[-1] < losses[0]


def test_multiclass_columns_are_separate_one_vs_rest_fits():
    X, y = random_problem(6, n_classes=3)
    model = HuberClassifier(epsilon=0.7, tol=1e-12, max_iter=500).fit(X, y)
    for c in range(3):
        binary = HuberClassifier(epsilon=0.7, tol=1e-12, max_iter=500).fit(X, y == c)
        np.testing.assert_allclose(model.coef_[c], binary.coef_[0], atol=1e-9)
        np.testing.assert_allclose(model.intercept_[c], binary.intercept_[0], atol=1e-9)
    np.testing.assert_array_equal(model.predict(X), np.argmax(model.decision_function(X), 1))


def test_weights_mark_the_far_outlier():
    X_train, _, y_train, _, _, _ = make_blobs_with_outlier(outlier=16)
    model = HuberClassifier(epsilon=1.0).fit(X_train, y_train)
    residual = -1 - model.decision_function(X_train[-1:])[0]
    assert model.weights_[-1, 0] == pytest.approx(1.0 / abs(residual))
    assert model.weights_[-1, 0] < 0.05
    assert np.mean(model.weights_[:-1, 0] == 1.0) > 0.99


@pytest.mark.parametrize("scale", [8, 16, 32])
def test_rotates_less_than_least_squares_on_the_sheets_data(scale):
    X_train, X_test, y_train, y_test, X_plot, y_plot = make_blobs_with_outlier(outlier=scale)

    def normal(model):
        w = model.fit(X_train, y_train).coef_[0]
        return w / np.linalg.norm(w)

    clean = LeastSquaresClassifier().fit(X_plot, y_plot).coef_[0]
    clean /= np.linalg.norm(clean)
    assert normal(HuberClassifier()) @ clean > normal(LeastSquaresClassifier()) @ clean
    assert HuberClassifier().fit(X_train, y_train).score(X_test, y_test) == 1.0


def test_warns_when_not_converged():
    X, y = random_problem(7)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        model = HuberClassifier(epsilon=0.3, max_iter=1).fit(X, y)
    assert model.n_iter_ == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert HuberClassifier(epsilon=1.0).fit(X, y).n_iter_ > 1


@pytest.mark.parametrize(
    "params, name",
    [
        ({"epsilon": 0.0}, "epsilon"),
        ({"epsilon": -1.0}, "epsilon"),
        ({"epsilon": np.nan}, "epsilon"),
        ({"epsilon": "wide"}, "epsilon"),
        ({"alpha": -0.5}, "alpha"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_iter": 2.5}, "max_iter"),
        ({"tol": -1e-3}, "tol"),
        ({"fit_intercept": 1}, "fit_intercept"),
    ],
)
def test_bad_parameters_name_the_parameter_and_value(params, name):
    X, y = random_problem(8)
    value = next(iter(params.values()))
    with pytest.raises(ValueError, match=rf"{name}.*{value!r}"):
        HuberClassifier(**params).fit(X, y)


def test_bad_input_is_rejected():
    X, y = random_problem(9)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        HuberClassifier().fit(X_nan, y)
    model = HuberClassifier().fit(X, y)
    with pytest.raises(ValueError, match="4 features"):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="2D array"):
        model.predict(X[0])


@pytest.mark.parametrize("n_classes", [2, 3])
def test_float32_input_keeps_float32_weights(n_classes):
    # IRLS runs in float64 whatever the input; the fitted weights take X's dtype, as in
    # scikit-learn, and are the float64 fit rounded.
    X, y = random_problem(40, n_classes=n_classes)
    X32 = X.astype(np.float32)
    single = HuberClassifier(epsilon=0.5, alpha=0.1).fit(X32, y)
    double = HuberClassifier(epsilon=0.5, alpha=0.1).fit(X32.astype(np.float64), y)
    assert single.coef_.dtype == single.intercept_.dtype == np.float32
    assert double.coef_.dtype == np.float64
    np.testing.assert_array_equal(single.coef_, double.coef_.astype(np.float32))
    np.testing.assert_array_equal(single.intercept_, double.intercept_.astype(np.float32))
    np.testing.assert_array_equal(single.weights_, double.weights_)
    assert single.decision_function(X32).dtype == np.float32
