"""SoftmaxRegression: scikit-learn parity, every solver, two classes, bad input, API checks."""

import math
import os
import warnings

import numpy as np
import pytest
import scipy.special
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from scratchlearn import SoftmaxRegression, save
from scratchlearn._math.softmax_objective import softmax_objective
from scratchlearn.datasets import load_digits_split

SOLVERS = ["gd", "sgd", "momentum", "nesterov", "adam", "lbfgs"]


@pytest.fixture(scope="module")
def digits():
    return load_digits_split()


def test_load_digits_split_is_the_sheets():
    X_train, X_test, y_train, y_test = load_digits_split()
    assert X_train.shape == (1347, 64) and X_test.shape == (450, 64)
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    assert len(y_train) == 1347 and set(np.unique(y_test)) == set(range(10))


def fit_both(X, y, C):
    # 1e-8: a tighter tol is below the float64 floor of this objective's gradient (L-BFGS
    # then stops, no longer able to lower J, and warns).
    ours = SoftmaxRegression(alpha=1 / (C * len(X)), tol=1e-8, max_iter=10_000).fit(X, y)
    reference = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X, y)
    return ours, reference


@pytest.mark.parametrize("C", [1.0, 0.05])
def test_lbfgs_reproduces_sklearn_on_digits(digits, C):
    X_train, X_test, y_train, _ = digits
    ours, reference = fit_both(X_train, y_train, C)
    diff = np.abs(ours.predict_proba(X_test) - reference.predict_proba(X_test))
    assert diff.max() < 1e-4
    np.testing.assert_allclose(ours.coef_, reference.coef_, atol=1e-3)


@pytest.mark.parametrize("n_classes", [2, 3, 5])
@pytest.mark.parametrize("seed", [0, 1])
def test_lbfgs_reproduces_sklearn_on_random_data(n_classes, seed):
    # scikit-learn fits one logit for two classes (mean log-loss + ‖w‖²/(2CN)) and the
    # multinomial for more; ours does the same, so the same alpha matches both.
    X, y = make_classification(
        n_samples=150, n_features=6, n_informative=4, n_classes=n_classes, random_state=seed
    )
    X_new = np.random.default_rng(seed).normal(size=(40, 6)) * 2
    ours, reference = fit_both(X, y, C=0.5)
    assert np.abs(ours.predict_proba(X_new) - reference.predict_proba(X_new)).max() < 1e-4
    assert ours.coef_.shape == reference.coef_.shape
    np.testing.assert_allclose(ours.coef_, reference.coef_, atol=1e-3)
    np.testing.assert_array_equal(ours.predict(X_new), reference.predict(X_new))


def test_two_classes_with_string_labels_is_logistic_regression():
    X, y_int = make_classification(n_samples=80, n_features=3, n_redundant=0, random_state=0)
    y = np.where(y_int == 1, "spam", "ham")
    model = SoftmaxRegression(alpha=0.01).fit(X, y)
    assert list(model.classes_) == ["ham", "spam"]
    assert model.coef_.shape == (1, 3) and model.intercept_.shape == (1,)
    P = model.predict_proba(X)
    assert P.shape == (80, 2)
    g = model.decision_function(X)
    assert g.shape == (80,)
    np.testing.assert_allclose(P[:, 1], 1 / (1 + np.exp(-g)), rtol=1e-12)  # σ(w·x + b)
    np.testing.assert_array_equal(model.predict(X), np.where(g > 0, "spam", "ham"))
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), P, rtol=1e-12)


@pytest.mark.parametrize("labels", [[-1, 5, 7], ["a", "b", "c"], [2.0, 4.0, 8.0]])
def test_any_label_type(labels):
    X, y = make_classification(n_samples=90, n_features=4, n_informative=3, n_classes=3,
                               n_redundant=0, random_state=2)  # fmt: skip
    y_mapped = np.asarray(labels)[y]
    model = SoftmaxRegression(alpha=0.01).fit(X, y_mapped)
    np.testing.assert_array_equal(model.classes_, np.sort(np.asarray(labels)))
    reference = SoftmaxRegression(alpha=0.01).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), np.asarray(labels)[reference.predict(X)])


@pytest.mark.parametrize("n_classes", [2, 3, 10])
def test_zero_initial_weights_give_log_n_classes(digits, n_classes):
    X, _, y, _ = digits
    keep = y < n_classes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SoftmaxRegression("gd", max_iter=1).fit(X[keep], y[keep])
    assert model.loss_curve_[0] == pytest.approx(math.log(n_classes), rel=1e-12)


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_lowers_the_loss_on_digits(digits, solver):
    X_train, X_test, y_train, y_test = digits
    settings = {"learning_rate": 1.0, "max_iter": 30, "alpha": 1e-3, "random_state": 0}
    settings |= {"adam": {"learning_rate": 0.05}, "sgd": {"batch_size": 64}}.get(solver, {})
    model = SoftmaxRegression(solver, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    curve = model.loss_curve_
    assert curve[-1] < 0.5 * curve[0]
    assert len(curve) == model.n_iter_ + 1 and 1 <= model.n_iter_ <= 30
    assert model.coef_.shape == (10, 64) and model.intercept_.shape == (10,)
    assert model.score(X_test, y_test) > 0.85


def test_gd_fits_20_samples_exactly(digits):
    X, _, y, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SoftmaxRegression("gd", learning_rate=1.0, max_iter=500).fit(X[:20], y[:20])
    assert model.score(X[:20], y[:20]) == 1.0


def test_summed_gradient_is_mean_gradient_with_n_times_the_rate(digits):
    # The sheet's update, literally: W ← W − η Σ_n (p_n − onehot(y_n)) x_nᵀ.
    X, _, y, _ = digits
    X, y = X[:100], y[:100]
    W, b = np.random.default_rng(0).normal(size=(10, 64)), np.zeros(10)
    W0, Y = W.copy(), np.eye(10)[y]
    for _ in range(20):
        G = X @ W.T + b
        P = np.exp(G - G.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        W, b = W - 0.01 * (P - Y).T @ X, b - 0.01 * (P - Y).sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SoftmaxRegression("gd", learning_rate=0.01 * 100, max_iter=20, tol=0.0)
        model.fit(X, y, coef_init=W0)
    np.testing.assert_allclose(model.coef_, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-10, atol=1e-12)


def test_stops_at_tol_without_warning():
    X, y = make_classification(n_samples=60, n_features=3, n_redundant=0, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = SoftmaxRegression("gd", learning_rate=1.0, alpha=0.1, tol=1e-6).fit(X, y)
    assert model.n_iter_ < 1000
    tighter = SoftmaxRegression("gd", learning_rate=1.0, alpha=0.1, tol=1e-9).fit(X, y)
    assert tighter.n_iter_ > model.n_iter_


@pytest.mark.parametrize("solver", SOLVERS)
def test_warns_when_not_converged(digits, solver):
    X, _, y, _ = digits
    with pytest.warns(ConvergenceWarning, match=f"solver='{solver}'.*max_iter=2"):
        SoftmaxRegression(solver, max_iter=2, tol=1e-8).fit(X[:200], y[:200])


def test_divergence_is_a_warning_and_keeps_finite_weights(digits):
    X, _, y, _ = digits
    with pytest.warns(ConvergenceWarning, match="finite"):
        model = SoftmaxRegression("gd", learning_rate=1e7, alpha=1.0, max_iter=2000).fit(X, y)
    assert np.all(np.isfinite(model.coef_))


@pytest.mark.parametrize("solver", ["gd", "momentum", "sgd"])
def test_a_diverged_float32_fit_keeps_weights_finite_in_float32(digits, solver, tmp_path):
    # The iterates run in float64: one beyond float32's range (about 3.4e38) is finite there
    # but not in the model's dtype. It counts as the divergence, so the weights kept are the
    # last that fit in float32, as documented, not that iterate cast to ±inf.
    X, _, y, _ = digits
    model = SoftmaxRegression(solver, learning_rate=1e7, alpha=1.0, max_iter=50,
                              batch_size=200, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Lower learning_rate"):
        model.fit(X.astype(np.float32), y)
    assert model.coef_.dtype == model.intercept_.dtype == np.float32
    assert np.isfinite(model.coef_).all() and np.isfinite(model.intercept_).all()
    assert len(model.loss_curve_) == model.n_iter_ + 1
    save(model, tmp_path / "diverged.npz")  # finite weights: the model file takes them


def test_sgd_is_reproducible_with_random_state(digits):
    X, _, y, _ = digits
    kwargs = {"solver": "sgd", "batch_size": 50, "max_iter": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = SoftmaxRegression(random_state=0, **kwargs).fit(X, y)
        b = SoftmaxRegression(random_state=0, **kwargs).fit(X, y)
        c = SoftmaxRegression(random_state=1, **kwargs).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert not np.allclose(a.coef_, c.coef_)


def test_callback_sees_every_iteration():
    X, y = make_classification(n_samples=50, n_features=3, n_redundant=0, random_state=3)
    seen = []
    model = SoftmaxRegression(alpha=0.1, callback=lambda i, loss: seen.append((i, loss))).fit(X, y)
    assert [i for i, _ in seen] == list(range(1, model.n_iter_ + 1))
    np.testing.assert_allclose([loss for _, loss in seen], model.loss_curve_[1:])


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_rejects_nan_and_inf(bad):
    X, y = np.ones((5, 2)), np.array([0, 1, 0, 1, 0])
    X[2, 1] = bad
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        SoftmaxRegression().fit(X, y)


def test_rejects_wrong_ndim_and_feature_mismatch():
    X, y = np.arange(12.0).reshape(6, 2), np.array([0, 1] * 3)
    with pytest.raises(ValueError, match="2D array"):
        SoftmaxRegression().fit(X.ravel(), y)
    model = SoftmaxRegression(alpha=0.1).fit(X, y)
    with pytest.raises(ValueError, match="2 features"):
        model.predict(np.ones((3, 3)))
    with pytest.raises(ValueError, match="2D array"):
        model.predict_proba(np.ones(2))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function"])
def test_predict_before_fit(method):
    with pytest.raises(NotFittedError):
        getattr(SoftmaxRegression(), method)(np.ones((2, 2)))


def test_one_class_is_an_error():
    with pytest.raises(ValueError, match="at least 2 classes"):
        SoftmaxRegression().fit(np.ones((4, 2)), np.zeros(4))


def test_bad_initial_values():
    X, y = np.arange(12.0).reshape(6, 2), np.array([0, 1, 2] * 2)
    with pytest.raises(ValueError, match=r"coef_init must have shape \(3, 2\)"):
        SoftmaxRegression().fit(X, y, coef_init=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="intercept_init must be finite"):
        SoftmaxRegression().fit(X, y, intercept_init=[0.0, np.nan, 0.0])


# --- scikit-learn's estimator checks -----------------------------------------------------


@parametrize_with_checks(
    [
        SoftmaxRegression(),
        SoftmaxRegression("gd", learning_rate=0.5, alpha=0.01),
        SoftmaxRegression("adam", learning_rate=0.05, alpha=0.01, max_iter=300),
    ]
)
def test_sklearn_compatible(estimator, check):
    # The default (L-BFGS) must converge on every check's data. A fixed learning rate cannot
    # suit every check's data (some are unscaled, gradients near 50), so the first-order
    # instances may warn; the checks themselves must still pass.
    default = estimator.solver == "lbfgs"
    with warnings.catch_warnings():
        warnings.simplefilter("error" if default else "ignore", ConvergenceWarning)
        check(estimator)


def test_multiclass_solution_sums_to_zero_over_classes():
    # J is unchanged by adding one vector to every row of W, so at the penalised minimum
    # αΣ_c θ_c = −Σ_c (P − Y)_cᵀX/N = 0; the bias gradient sums to 0, so Σ_c b_c stays 0.
    X, y = make_classification(n_samples=120, n_features=5, n_informative=4, n_classes=4,
                               n_redundant=0, random_state=4)  # fmt: skip
    model = SoftmaxRegression(alpha=0.05, tol=1e-8).fit(X, y)
    np.testing.assert_allclose(model.coef_.sum(axis=0), 0.0, atol=1e-8)
    assert abs(model.intercept_.sum()) < 1e-8


# --- dtypes and large data -------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 4])
def test_float32_input_keeps_float32_weights(n_classes):
    # As scikit-learn's LogisticRegression: float32 in, float32 coef_ and intercept_ out.
    X, y = make_classification(n_samples=300, n_features=8, n_informative=5,
                               n_classes=n_classes, random_state=5)  # fmt: skip
    # float32 products leave J's gradient resolved to about 1e-5, so tol 1e-5 there.
    single = SoftmaxRegression(alpha=0.01, tol=1e-5).fit(X.astype(np.float32), y)
    double = SoftmaxRegression(alpha=0.01, tol=1e-6).fit(X, y)
    reference = LogisticRegression(C=1 / (0.01 * 300), tol=1e-6).fit(X.astype(np.float32), y)
    assert single.coef_.dtype == reference.coef_.dtype == np.float32
    assert single.intercept_.dtype == reference.intercept_.dtype == np.float32
    assert double.coef_.dtype == double.intercept_.dtype == np.float64
    np.testing.assert_allclose(single.coef_, double.coef_, atol=1e-4)
    np.testing.assert_allclose(single.coef_, reference.coef_, atol=1e-3)
    P = single.predict_proba(X.astype(np.float32))
    np.testing.assert_allclose(P, double.predict_proba(X), atol=1e-4)
    np.testing.assert_array_equal(single.predict(X), double.predict(X))


def test_integer_input_gives_float64_weights():
    X, y = make_classification(n_samples=60, n_features=3, n_redundant=0, random_state=6)
    model = SoftmaxRegression(alpha=0.1).fit(np.round(X * 10).astype(np.int64), y)
    assert model.coef_.dtype == model.intercept_.dtype == np.float64


@pytest.fixture(scope="module")
def large_problem():
    # N·D·C = 2,600 · 700 · 10 > 2**24: the loss runs by blocks of rows, on threads.
    return make_classification(n_samples=2600, n_features=700, n_informative=20,
                               n_classes=10, random_state=7)  # fmt: skip


def test_large_fit_reaches_the_minimum_and_does_not_depend_on_threads(large_problem):
    X, y = large_problem
    alpha = 1 / (0.1 * len(X))
    model = SoftmaxRegression(alpha=alpha, tol=1e-6).fit(X, y)
    with threadpool_limits(limits=1):
        one_thread = SoftmaxRegression(alpha=alpha, tol=1e-6).fit(X, y)
    np.testing.assert_array_equal(model.coef_, one_thread.coef_)
    np.testing.assert_array_equal(model.loss_curve_, one_thread.loss_curve_)
    # J is strictly convex: max |∇J| <= tol, by the gradient written from the formulas (not
    # by blocks), is its minimum; scikit-learn's agrees on the smaller problems above.
    theta = np.concatenate([model.coef_.ravel(), model.intercept_])
    gradient = reference_gradient(theta, X, y, 10, alpha, np.ones(len(X)), len(X))
    assert np.max(np.abs(gradient)) <= 1e-6 * (1 + 1e-9)


# --- converged means max |∇J| <= tol at the returned weights, for every solver -----------


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("max_iter", [3, 3000])
def test_warns_exactly_when_the_gradient_at_the_fit_is_above_tol(solver, max_iter):
    X, y = make_classification(n_samples=120, n_features=4, n_informative=3, n_redundant=0,
                               n_classes=3, random_state=11)  # fmt: skip
    tol, alpha = 1e-5, 0.05
    settings = {"learning_rate": 0.05 if solver == "adam" else 1.0, "random_state": 0}
    model = SoftmaxRegression(solver, alpha=alpha, tol=tol, max_iter=max_iter, **settings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, y)
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    # The gradient recomputed here, at the fitted weights, decides alone.
    theta = np.concatenate([model.coef_.ravel(), model.intercept_])
    grad_max = np.max(np.abs(softmax_objective(theta, X, y, 3, alpha)[1]))
    assert warned == (grad_max > tol)
    assert 1 <= model.n_iter_ <= max_iter
    if max_iter == 3:
        assert warned and "max_iter" in str(caught[0].message)
    elif solver != "sgd":  # full-batch solvers get there; sgd's noise need not
        assert not warned and model.n_iter_ < max_iter


# --- sample_weight ---------------------------------------------------------------------------


def weighted_problem(n_classes, seed=12, n_samples=90):
    X, y = make_classification(n_samples=n_samples, n_features=5, n_informative=4,
                               n_redundant=0, n_classes=n_classes, random_state=seed)  # fmt: skip
    s = np.random.default_rng(seed).integers(0, 4, n_samples).astype(float)
    return X, y, s


def fit_quietly(model, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **fit_params)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_integer_sample_weights_equal_repeating_rows(n_classes):
    X, y, s = weighted_problem(n_classes)
    X_rep, y_rep = np.repeat(X, s.astype(int), axis=0), np.repeat(y, s.astype(int))
    assert len(np.unique(y_rep)) == n_classes
    # Gradient descent follows the same iterates: the same J, summed in another order.
    gd = {"solver": "gd", "learning_rate": 0.5, "max_iter": 100, "tol": 0.0, "alpha": 0.01}
    weighted = fit_quietly(SoftmaxRegression(**gd), X, y, sample_weight=s)
    repeated = fit_quietly(SoftmaxRegression(**gd), X_rep, y_rep)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-12)
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-10, atol=1e-13)
    # L-BFGS reaches the same minimum.
    weighted = SoftmaxRegression(alpha=0.01, tol=1e-8).fit(X, y, sample_weight=s)
    repeated = SoftmaxRegression(alpha=0.01, tol=1e-8).fit(X_rep, y_rep)
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-6)
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-7)


@pytest.mark.parametrize("n_classes", [2, 3, 4])
def test_sample_weights_match_logistic_regression(n_classes):
    # scikit-learn's objective with weights: (1/S) Σ s_n l_n + ‖W‖²/(2 C S), S = Σ s_n.
    X, y = make_classification(n_samples=150, n_features=5, n_informative=4, n_redundant=0,
                               n_classes=n_classes, random_state=13)  # fmt: skip
    s = np.random.default_rng(13).uniform(0.1, 3.0, len(X))
    C = 0.5
    ours = SoftmaxRegression(alpha=1 / (C * s.sum()), tol=1e-8, max_iter=10_000)
    ours.fit(X, y, sample_weight=s)
    reference = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X, y, sample_weight=s)
    X_new = np.random.default_rng(14).normal(size=(50, 5)) * 2
    assert np.abs(ours.predict_proba(X_new) - reference.predict_proba(X_new)).max() < 1e-6
    np.testing.assert_allclose(ours.coef_, reference.coef_, atol=1e-5)
    np.testing.assert_allclose(ours.intercept_, reference.intercept_, atol=1e-5)


@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_zero_weight_is_dropping_the_row(solver):
    X, y, _ = weighted_problem(3, seed=15)
    s = np.ones(len(X))
    dropped = [3, 10, 50]
    s[dropped] = 0.0
    keep = np.setdiff1d(np.arange(len(X)), dropped)
    settings = {"alpha": 0.02, "tol": 1e-8}
    if solver == "gd":
        settings |= {"learning_rate": 0.5, "max_iter": 150, "tol": 0.0}
    weighted = fit_quietly(SoftmaxRegression(solver, **settings), X, y, sample_weight=s)
    without = fit_quietly(SoftmaxRegression(solver, **settings), X[keep], y[keep])
    atol = 1e-12 if solver == "gd" else 1e-6
    np.testing.assert_allclose(weighted.coef_, without.coef_, atol=atol)
    np.testing.assert_allclose(weighted.intercept_, without.intercept_, atol=atol)


def test_constant_weights_change_nothing_even_for_mini_batches():
    # Each batch's weighted sum is divided by |B|·S/N, so a constant weight cancels exactly
    # as in the full objective: the same shuffles give the same iterates.
    X, y, _ = weighted_problem(3, seed=16)
    kwargs = {"solver": "sgd", "batch_size": 16, "max_iter": 20, "alpha": 0.01,
              "random_state": 0}  # fmt: skip
    plain = fit_quietly(SoftmaxRegression(**kwargs), X, y)
    weighted = fit_quietly(SoftmaxRegression(**kwargs), X, y, sample_weight=np.full(len(X), 3.0))
    np.testing.assert_allclose(weighted.coef_, plain.coef_, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(weighted.loss_curve_, plain.loss_curve_, rtol=1e-12)


@pytest.mark.parametrize(
    "make_weights, message",
    [
        (lambda n: np.r_[-1.0, np.ones(n - 1)], "Negative values in sample_weight"),
        (lambda n: np.ones(n - 1), r"sample_weight must have shape \(60,\)"),
        (lambda n: np.ones((n, 2)), r"sample_weight must have shape \(60,\)"),
        (lambda n: np.r_[np.nan, np.ones(n - 1)], "sample_weight must be finite"),
        (lambda n: np.r_[np.inf, np.ones(n - 1)], "sample_weight must be finite"),
        (lambda n: np.zeros(n), "sample_weight must have a positive sum"),
    ],
)
def test_bad_sample_weight_is_a_value_error_naming_it(make_weights, message):
    X, y, _ = weighted_problem(2, seed=17, n_samples=60)
    with pytest.raises(ValueError, match=message):
        SoftmaxRegression().fit(X, y, sample_weight=make_weights(len(X)))


def test_dask_fit_takes_sample_weight_as_a_dask_or_numpy_array():
    da = pytest.importorskip("dask.array")
    import dask

    X, y, s = weighted_problem(3, seed=18, n_samples=120)
    local = SoftmaxRegression(alpha=0.02, tol=1e-8).fit(X, y, sample_weight=s)
    X_dask, y_dask = da.from_array(X, chunks=(50, -1)), da.from_array(y, chunks=50)
    with dask.config.set(scheduler="synchronous"):
        for weights in (da.from_array(s, chunks=50), s):
            spread = SoftmaxRegression(alpha=0.02, tol=1e-8)
            spread.fit(X_dask, y_dask, sample_weight=weights)
            np.testing.assert_allclose(spread.coef_, local.coef_, rtol=1e-7, atol=1e-9)
            np.testing.assert_allclose(spread.loss_curve_[0], local.loss_curve_[0], rtol=1e-12)
        # Mini-batches on the workers: a constant weight cancels, as in memory.
        sgd = {"solver": "sgd", "batch_size": 20, "max_iter": 4, "alpha": 0.02, "random_state": 0}
        plain = fit_quietly(SoftmaxRegression(**sgd), X_dask, y_dask)
        tripled = fit_quietly(SoftmaxRegression(**sgd), X_dask, y_dask,
                              sample_weight=da.full(120, 3.0, chunks=50))  # fmt: skip
        np.testing.assert_allclose(tripled.coef_, plain.coef_, rtol=1e-10, atol=1e-13)
        weighted = fit_quietly(SoftmaxRegression(**sgd), X_dask, y_dask, sample_weight=s)
        assert weighted.loss_curve_[-1] < weighted.loss_curve_[0]
        assert weighted.loss_curve_[0] == pytest.approx(local.loss_curve_[0], rel=1e-12)
        with pytest.raises(ValueError, match="Negative values in sample_weight"):
            SoftmaxRegression().fit(X_dask, y_dask, sample_weight=da.from_array(s - 1, 50))


# --- initial values, callbacks ---------------------------------------------------------------


def test_initial_values_with_none_are_rejected_as_non_finite():
    # None becomes NaN as a float array: the same ValueError as NaN, naming the argument.
    X, y = np.arange(12.0).reshape(6, 2), np.array([0, 1, 2] * 2)
    with pytest.raises(ValueError, match="intercept_init must be finite"):
        SoftmaxRegression().fit(X, y, intercept_init=[0.0, None, 0.0])
    with pytest.raises(ValueError, match="coef_init must be finite"):
        SoftmaxRegression().fit(X, y, coef_init=[[0.0, 1.0], [None, 0.0], [0.0, 0.0]])


@pytest.mark.parametrize("solver", ["gd", "sgd", "adam"])
def test_callback_sees_every_iteration_of_first_order_solvers(solver):
    X, y = make_classification(n_samples=50, n_features=3, n_redundant=0, random_state=3)
    seen = []
    model = SoftmaxRegression(solver, learning_rate=0.1, max_iter=7, tol=0.0, random_state=0,
                              callback=lambda i, loss: seen.append((i, loss)))  # fmt: skip
    fit_quietly(model, X, y)
    assert model.n_iter_ == 7
    assert [i for i, _ in seen] == list(range(1, 8))
    np.testing.assert_allclose([loss for _, loss in seen], model.loss_curve_[1:], rtol=0)


# --- the first-order solvers, step by step, against a reference written here ----------------


def reference_gradient(theta, X, y, n_classes, alpha, s, total):
    """(1/total) Σ_n s_n (softmax(g_n) − e_{y_n}) [x_n, 1] + α [W, 0], from the formulas."""
    D = X.shape[1]
    W, b = theta[: n_classes * D].reshape(n_classes, D), theta[n_classes * D :]
    R = scipy.special.softmax(X @ W.T + b, axis=1) - np.eye(n_classes)[y]
    R *= (s / total)[:, None]
    return np.concatenate([(R.T @ X + alpha * W).ravel(), R.sum(axis=0)])


def reference_fit(X, y, n_classes, *, solver, learning_rate, momentum, alpha, batch_size,
                  epochs, seed, s):  # fmt: skip
    """The update rules of scratchlearn.optim's docstring; each epoch a fresh permutation of
    RandomState(seed) cut into batches, each batch's weighted sum over |B|·S/N."""
    N, D = X.shape
    theta, rng = np.zeros(n_classes * (D + 1)), np.random.RandomState(seed)
    velocity, m, v, t = 0.0, 0.0, 0.0, 0
    for _ in range(epochs):
        if batch_size is None:
            batches = [np.arange(N)]
        else:
            order = rng.permutation(N)
            batches = [order[i : i + batch_size] for i in range(0, N, batch_size)]
        for rows in batches:
            total = len(rows) * s.sum() / N
            g = reference_gradient(theta, X[rows], y[rows], n_classes, alpha, s[rows], total)
            if solver in ("gd", "sgd"):
                theta = theta - learning_rate * g
            elif solver == "momentum":
                velocity = momentum * velocity - learning_rate * g
                theta = theta + velocity
            elif solver == "nesterov":
                velocity = momentum * velocity - learning_rate * g
                theta = theta + momentum * velocity - learning_rate * g
            else:  # adam
                t += 1
                m = 0.9 * m + 0.1 * g
                v = 0.999 * v + 0.001 * g * g
                m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
                theta = theta - learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)
    return theta[: n_classes * D].reshape(n_classes, D), theta[n_classes * D :]


@pytest.mark.parametrize(
    ("solver", "batch_size", "effective_batch", "weighted"),
    [
        ("gd", None, None, False),
        ("gd", 40, None, True),  # "gd" always takes the full batch
        ("sgd", None, 200, False),  # min(200, n_samples) batches by default
        ("sgd", 40, 40, True),
        ("sgd", 1, 1, False),
        ("momentum", None, None, True),
        ("momentum", 40, 40, False),
        ("nesterov", None, None, False),
        ("nesterov", 64, 64, True),
        ("adam", None, None, False),
        ("adam", 40, 40, True),
    ],
)
def test_first_order_solvers_follow_the_update_rules_exactly(
    solver, batch_size, effective_batch, weighted
):
    X, y = make_classification(n_samples=250, n_features=4, n_informative=3, n_redundant=0,
                               n_classes=3, random_state=19)  # fmt: skip
    rng = np.random.default_rng(19)
    s = rng.uniform(0.2, 3.0, len(X)) if weighted else np.ones(len(X))
    epochs = 2 if effective_batch == 1 else 4
    settings = {"learning_rate": 0.05 if solver == "adam" else 0.5, "momentum": 0.5,
                "alpha": 0.01}  # fmt: skip
    model = SoftmaxRegression(solver, batch_size=batch_size, max_iter=epochs, tol=0.0,
                              random_state=3, **settings)  # fmt: skip
    fit_quietly(model, X, y, sample_weight=s if weighted else None)
    W, b = reference_fit(X, y, 3, solver=solver, batch_size=effective_batch, epochs=epochs,
                         seed=3, s=s, **settings)  # fmt: skip
    assert model.n_iter_ == epochs
    np.testing.assert_allclose(model.coef_, W, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-9, atol=1e-12)


# --- the weighted objective against SciPy, including far-apart logits -------------------------


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("weight_total", [None, 1.0])
def test_weighted_objective_matches_scipy_even_for_huge_logits(n_classes, weight_total):
    rng = np.random.default_rng(20)
    N, D = 30, 4
    X = rng.normal(size=(N, D))
    X[:10] *= 400.0  # logits in the thousands on these rows, of order 1 on the others
    y = rng.integers(0, n_classes, N)
    y[:n_classes] = np.arange(n_classes)
    s = rng.uniform(0.0, 2.0, N)
    K = 1 if n_classes == 2 else n_classes
    theta = rng.normal(size=K * (D + 1))
    alpha = 0.3
    loss, grad = softmax_objective(theta, X, y, K, alpha, sample_weight=s,
                                   weight_total=weight_total)  # fmt: skip
    W, b = theta[: K * D].reshape(K, D), theta[K * D :]
    G = X @ W.T + b
    if K == 1:  # the first class's logit is 0
        G = np.column_stack([np.zeros(N), G])
    total = s.sum() if weight_total is None else weight_total
    log_p = scipy.special.log_softmax(G, axis=1)
    expected_loss = -(s @ log_p[np.arange(N), y]) / total + 0.5 * alpha * np.sum(W * W)
    R = (scipy.special.softmax(G, axis=1) - np.eye(n_classes)[y]) * (s / total)[:, None]
    if K == 1:
        R = R[:, 1:]
    expected_grad = np.concatenate([(R.T @ X + alpha * W).ravel(), R.sum(axis=0)])
    assert np.isfinite(loss) and loss > 10  # the far rows are badly misclassified
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-10)


def test_fit_does_not_depend_on_the_blas_thread_count():
    # Below the block-threading size the loss runs on one thread, BLAS included: a product
    # this large (2,000 × 64 × 10) would otherwise be split over BLAS threads, in another
    # order of summation, and the fit would change with the thread count in its last bits.
    X, y = make_classification(n_samples=2000, n_features=64, n_informative=10, n_classes=10,
                               random_state=21)  # fmt: skip
    fits = []
    for threads in (2, 1):
        with threadpool_limits(limits=threads, user_api="blas"):
            fits.append(fit_quietly(SoftmaxRegression(alpha=1e-3, max_iter=5), X, y))
    np.testing.assert_array_equal(fits[0].loss_curve_, fits[1].loss_curve_)
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    np.testing.assert_array_equal(fits[0].intercept_, fits[1].intercept_)
    # Two gd steps taken here with BLAS on one thread: fit must take the same steps, to the
    # bit, whatever BLAS would have used (it runs the products on one thread itself).
    alpha, theta = 1e-3, np.zeros(10 * 65)
    with threadpool_limits(limits=2, user_api="blas"):
        gd = fit_quietly(SoftmaxRegression("gd", learning_rate=0.5, alpha=alpha, max_iter=2,
                                           tol=0.0), X, y)  # fmt: skip
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(2):
            theta = theta - 0.5 * softmax_objective(theta, X, y, 10, alpha)[1]
    np.testing.assert_array_equal(gd.coef_, theta[:640].reshape(10, 64))
    np.testing.assert_array_equal(gd.intercept_, theta[640:])


def test_large_problem_runs_its_loss_on_threads_with_the_same_result():
    # N·D·C = 4,096 · 410 · 10 ≥ 2**24: the loss runs by blocks of rows on the BLAS thread
    # count; the blocks are added in order, so one thread gives the same bits. One gd step
    # from zeros is −η ∇J(0), checked against the formula.
    rng = np.random.default_rng(22)
    X, y = rng.normal(size=(4096, 410)), rng.integers(0, 10, 4096)
    fits = []
    for threads in (2, 1):
        with threadpool_limits(limits=threads, user_api="blas"):
            model = SoftmaxRegression("gd", learning_rate=0.5, max_iter=1, tol=0.0)
            fits.append(fit_quietly(model, X, y))
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    np.testing.assert_array_equal(fits[0].loss_curve_, fits[1].loss_curve_)
    step = -0.5 * reference_gradient(np.zeros(10 * 411), X, y, 10, 0.0, np.ones(4096), 4096)
    np.testing.assert_allclose(fits[0].coef_, step[:4100].reshape(10, 410), rtol=1e-10,
                               atol=1e-15)  # fmt: skip
    np.testing.assert_allclose(fits[0].intercept_, step[4100:], rtol=1e-10, atol=1e-15)


# --- the ConvergenceWarning says why, with the numbers, and what to change -----------------


def only_warning(caught):
    assert len(caught) == 1 and caught[0].category is ConvergenceWarning
    # It points at the line that called fit (mutmut's wrappers, under `make mutation`,
    # add frames of their own between that line and the warning).
    assert caught[0].filename == __file__ or "MUTANT_UNDER_TEST" in os.environ
    return str(caught[0].message)


@pytest.mark.parametrize("solver", ["gd", "lbfgs"])
def test_convergence_warning_when_max_iter_runs_out(solver):
    X, y = make_classification(n_samples=60, n_features=3, n_redundant=0, n_classes=3,
                               n_clusters_per_class=1, random_state=1)  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = SoftmaxRegression(solver, alpha=0.1, max_iter=3).fit(X, y)
    theta = np.concatenate([model.coef_.ravel(), model.intercept_])
    g = np.max(np.abs(reference_gradient(theta, X, y, 3, 0.1, np.ones(60), 60)))
    message = only_warning(caught)
    assert message.startswith(f"SoftmaxRegression(solver='{solver}') did not converge")
    assert "after 3 iterations (max_iter=3)" in message
    assert f"max |gradient| = {g:.3g} > tol = 0.0001" in message
    assert "Increase max_iter" in message
    assert model.n_iter_ == 3


def test_convergence_warning_when_the_iterates_overflow():
    X, y = make_classification(n_samples=60, n_features=3, n_redundant=0, random_state=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = SoftmaxRegression("gd", learning_rate=1e300, alpha=1.0, max_iter=50).fit(X, y)
    assert model.n_iter_ < 50
    message = only_warning(caught)
    assert message.startswith("SoftmaxRegression(solver='gd') did not converge")
    assert f"after {model.n_iter_} iterations (max_iter=50)" in message
    assert "stopped being finite" in message and "Lower learning_rate" in message


def test_convergence_warning_when_lbfgs_stalls_below_tol():
    # tol far below what float64 resolves: L-BFGS-B stops early, no longer lowering J.
    X, y = make_classification(n_samples=60, n_features=3, n_redundant=0, n_classes=3,
                               n_clusters_per_class=1, random_state=1)  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = SoftmaxRegression(alpha=0.1, tol=1e-15, max_iter=10_000).fit(X, y)
    assert model.n_iter_ < 10_000
    message = only_warning(caught)
    assert message.startswith("SoftmaxRegression(solver='lbfgs') did not converge")
    assert f"after {model.n_iter_} iterations (max_iter=10000)" in message
    assert "L-BFGS-B" in message and "Raise tol" in message


def test_label_errors_name_the_estimator():
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises(ValueError, match=r"^SoftmaxRegression") as error:
        SoftmaxRegression().fit(X, np.array(["a"] * 4, dtype=object))
    assert "at least 2 classes" in str(error.value) and "got 1 class ('a')" in str(error.value)
    with pytest.raises(ValueError, match=r"^SoftmaxRegression") as error:
        SoftmaxRegression().fit(X, np.array([1, "a", 1, "a"], dtype=object))
    assert "mixes strings with other label types (int, str)" in str(error.value)
    assert "astype(str)" in str(error.value)  # what to do
