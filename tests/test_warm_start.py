"""warm_start: SoftmaxRegression starts from its previous coef_ and intercept_ (as
LogisticRegression's warm_start), HuberClassifier starts IRLS from its previous
coefficients instead of the least-squares fit; other classes or features are refused as
scikit-learn refuses them, and the model keeps its previous fit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from scratchlearn import HuberClassifier, SoftmaxRegression, load, save
from scratchlearn._math.least_squares import signed_targets
from scratchlearn._math.losses import huber_loss, softmax_cross_entropy


def problem(seed, n_samples=200, n_features=4, n_classes=3):
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n_samples) % n_classes)
    X = rng.normal(0, 1.5, size=(n_classes, n_features))[y] + rng.normal(size=(n_samples, 4))
    X[:5] += rng.normal(0, 10, size=(5, n_features))  # a few far points, for Huber's loss
    return X, y, rng


def softmax_objective(model, X, y, alpha):
    return softmax_cross_entropy(model.coef_, model.intercept_, X, y, alpha)[0]


# --- SoftmaxRegression -------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("sparse", [False, True])
def test_softmax_refit_from_its_fit_takes_no_iteration(n_classes, sparse):
    X, y, _ = problem(1, n_classes=n_classes)
    X_fit = sp.csr_matrix(X) if sparse else X
    model = SoftmaxRegression(alpha=0.01, tol=1e-6, warm_start=True).fit(X_fit, y)
    coef, intercept = model.coef_.copy(), model.intercept_.copy()
    assert model.n_iter_ > 5
    model.fit(X_fit, y)
    assert model.n_iter_ == 0  # already converged: the same answer, untouched
    np.testing.assert_array_equal(model.coef_, coef)
    np.testing.assert_array_equal(model.intercept_, intercept)
    # LogisticRegression's warm start does the same.
    logistic = LogisticRegression(warm_start=True, tol=1e-6, max_iter=1000).fit(X, y)
    assert logistic.fit(X, y).n_iter_.max() <= 1


def test_softmax_warm_start_starts_from_the_previous_fit_and_reaches_the_same_minimum():
    # A fit on part of the data, then on all of it: the second starts where the first
    # ended (its J at the start is J of those coefficients on all the data, far below J at
    # zero), and ends at the cold fit's minimum.
    X, y, _ = problem(2, n_samples=400)
    params = {"alpha": 0.05, "tol": 1e-8}
    cold = SoftmaxRegression(**params).fit(X, y)
    warm = SoftmaxRegression(warm_start=True, **params).fit(X[:300], y[:300])
    previous = softmax_cross_entropy(warm.coef_, warm.intercept_, X, y, 0.05)[0]
    warm.fit(X, y)
    assert warm.loss_curve_[0] == pytest.approx(previous, rel=1e-14)
    assert warm.loss_curve_[0] < 0.5 * cold.loss_curve_[0]
    # Both within tol of the same minimum (J is strongly convex, with modulus α).
    np.testing.assert_allclose(warm.predict_proba(X), cold.predict_proba(X), atol=1e-6)
    assert softmax_objective(warm, X, y, 0.05) == pytest.approx(
        softmax_objective(cold, X, y, 0.05), rel=1e-12)  # fmt: skip


def test_softmax_without_warm_start_ignores_the_previous_fit():
    X, y, _ = problem(3)
    fresh = SoftmaxRegression(alpha=0.01).fit(X, y)
    refit = SoftmaxRegression(alpha=0.01).fit(X[:50], y[:50]).fit(X, y)
    np.testing.assert_array_equal(refit.coef_, fresh.coef_)
    assert refit.n_iter_ == fresh.n_iter_


def test_coef_init_and_intercept_init_take_precedence_over_warm_start():
    X, y, rng = problem(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SoftmaxRegression(alpha=0.01, warm_start=True, max_iter=1).fit(X, y)
    previous_b = model.intercept_.copy()
    W0 = rng.normal(size=(3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y, coef_init=W0)  # the intercept still from the previous fit
    start = softmax_cross_entropy(W0, previous_b, X, y, 0.01)[0]
    assert model.loss_curve_[0] == pytest.approx(start, rel=1e-12)
    b0 = rng.normal(size=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y, coef_init=W0, intercept_init=b0)
    assert model.loss_curve_[0] == pytest.approx(softmax_cross_entropy(W0, b0, X, y, 0.01)[0],
                                                 rel=1e-12)  # fmt: skip


@pytest.mark.parametrize("make", [
    lambda: SoftmaxRegression(alpha=0.01, warm_start=True),
    lambda: HuberClassifier(warm_start=True),
])  # fmt: skip
def test_other_classes_or_features_are_refused_as_in_scikit_learn(make):
    X, y, _ = problem(5)
    model = make().fit(X, y)
    before = {name: value.copy() for name, value in vars(model).items()
              if isinstance(value, np.ndarray)}  # fmt: skip
    logistic = LogisticRegression(warm_start=True).fit(X, y)
    for X_new, y_new in [(X[:, :3], y), (X, y % 2), (X, np.arange(len(y)) % 4)]:
        with pytest.raises(ValueError):  # scikit-learn refuses these too
            logistic.fit(X_new, y_new)
        name = type(model).__name__  # the message names the model
        with pytest.raises(ValueError, match=rf"{name}\(warm_start=True\).*coef_ has shape"):
            model.fit(X_new, y_new)
        # The model keeps its previous fit, whole.
        assert model.n_features_in_ == 4
        for name, value in before.items():
            np.testing.assert_array_equal(getattr(model, name), value)
    model.set_params(warm_start=False).fit(X[:, :3], y % 2)  # as the message says
    assert model.coef_.shape == (1, 3)


def test_same_shape_with_other_labels_starts_from_the_previous_fit():
    # As scikit-learn: only the shape must match; a start is only a start.
    X, y, _ = problem(6)
    params = {"alpha": 0.01, "tol": 1e-7}
    model = SoftmaxRegression(warm_start=True, **params).fit(X, y)
    labels = np.array(["x", "y", "z"])[(y + 1) % 3]
    model.fit(X, labels)
    cold = SoftmaxRegression(**params).fit(X, labels)
    assert model.classes_.tolist() == ["x", "y", "z"]
    np.testing.assert_allclose(model.predict_proba(X), cold.predict_proba(X), atol=1e-6)


def test_softmax_warm_start_from_float32():
    X, y, _ = problem(7)
    X32 = X.astype(np.float32)
    model = SoftmaxRegression(alpha=0.01, warm_start=True).fit(X32, y)
    coef = model.coef_.copy()
    model.fit(X32, y)
    assert model.n_iter_ == 0 and model.coef_.dtype == np.float32
    np.testing.assert_array_equal(model.coef_, coef)


def test_softmax_warm_start_on_dask(dask_client):
    import dask.array as da

    X, y, _ = problem(8)
    model = SoftmaxRegression(alpha=0.05, tol=1e-5, warm_start=True).fit(X, y)
    coef = model.coef_.copy()
    model.fit(da.from_array(X, chunks=50), da.from_array(y, chunks=50))
    assert model.n_iter_ <= 1
    np.testing.assert_allclose(model.coef_, coef, atol=1e-5)


# --- HuberClassifier ---------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_huber_refit_from_its_fit_is_certified_at_once(n_classes, fit_intercept):
    X, y, _ = problem(10, n_classes=n_classes)
    model = HuberClassifier(epsilon=0.5, warm_start=True, fit_intercept=fit_intercept)
    model.fit(X, y)
    coef, intercept = model.coef_.copy(), model.intercept_.copy()
    assert model.n_iter_ > 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model.fit(sp.csr_matrix(X), y)  # sparse or dense: the same problem
    assert model.n_iter_ == 1  # the start alone: no weighted solve
    np.testing.assert_array_equal(model.coef_, coef)
    np.testing.assert_array_equal(model.intercept_, intercept)


def test_huber_warm_start_replaces_the_least_squares_start():
    # With max_iter=1 the fit is its start: the previous coefficients, not least squares.
    X, y, _ = problem(11)
    previous = HuberClassifier(epsilon=0.5).fit(X[:100], y[:100])
    model = HuberClassifier(epsilon=0.5, warm_start=True, max_iter=1)
    model.coef_, model.intercept_ = previous.coef_.copy(), previous.intercept_.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
        cold_start = HuberClassifier(epsilon=0.5, max_iter=1).fit(X, y)
    np.testing.assert_array_equal(model.coef_, previous.coef_)
    assert not np.allclose(cold_start.coef_, previous.coef_)


def test_huber_warm_start_reaches_the_cold_fit_sooner():
    X, y, _ = problem(12, n_samples=400)
    Y = signed_targets(y, 3)
    params = {"epsilon": 0.3, "tol": 1e-8, "max_iter": 500}
    cold = HuberClassifier(**params).fit(X, y)
    warm = HuberClassifier(warm_start=True, **params).fit(X[:350], y[:350]).fit(X, y)
    assert warm.n_iter_ < cold.n_iter_
    J_cold = huber_loss(cold.coef_, cold.intercept_, X, Y, 0.3)[0]
    J_warm = huber_loss(warm.coef_, warm.intercept_, X, Y, 0.3)[0]
    assert abs(J_warm - J_cold) <= 1e-8 * J_cold * 2  # both certified within tol
    np.testing.assert_array_equal(warm.predict(X), cold.predict(X))


# --- model files -------------------------------------------------------------------------


@pytest.mark.parametrize("make", [SoftmaxRegression, HuberClassifier])
def test_model_files_keep_warm_start_and_refit_from_the_loaded_fit(make, tmp_path):
    X, y, _ = problem(13)
    model = make(warm_start=True).fit(X, y)
    loaded = load(save(model, tmp_path / "model.npz"))
    assert loaded.get_params() == model.get_params()
    loaded.fit(X, y)
    assert loaded.n_iter_ == (0 if make is SoftmaxRegression else 1)
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
