"""LeastSquaresClassifier and its solver, against NumPy, scikit-learn and the sheet."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import RidgeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from scratchlearn._math.least_squares import (
    signed_targets,
    solve_least_squares,
    triangular_factor,
)
from scratchlearn._math.losses import least_squares_loss
from scratchlearn.datasets import make_blobs_with_outlier
from scratchlearn.gradcheck import check_gradient
from scratchlearn.linear_model import HuberClassifier, LeastSquaresClassifier


def random_problem(seed, n_samples=80, n_features=5, n_classes=2):
    """Overlapping Gaussian classes, every class present, features off-centre and unequally
    scaled (so that the intercept and the conditioning matter)."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n_samples) % n_classes)
    means = rng.normal(0, 1.5, size=(n_classes, n_features))
    X = (means[y] + rng.normal(size=(n_samples, n_features))) * rng.uniform(0.5, 3, n_features)
    return X + rng.normal(0, 2, n_features), y


def bias_trick_lstsq(X, Y):
    """The sheet's model solved by NumPy: w̃ = argmin ‖[1 X] w̃ − Y‖ (minimum norm)."""
    return np.linalg.lstsq(np.column_stack([np.ones(len(X)), X]), Y, rcond=None)[0]


# --- the sheet ---------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1, 2, 4, 8, 16, 32, 64])
def test_sheet_weights_equal_numpy_lstsq(scale):
    X_train, _, y_train, _, _, _ = make_blobs_with_outlier(outlier=scale)
    model = LeastSquaresClassifier().fit(X_train, y_train)
    # classes_ = [-1, 1]: the column is +1 for label +1, as the sheet codes its targets.
    assert model.classes_.tolist() == [-1, 1]
    ours = np.concatenate([model.intercept_, model.coef_[0]])
    np.testing.assert_allclose(ours, bias_trick_lstsq(X_train, y_train), rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    "scale, weights",
    [(1, [0.9119, -0.9397, -0.8992]), (8, [0.7205, -1.5308, 0.0873])],
)
def test_sheet_weights_match_the_reading_notes(scale, weights):
    X_train, _, y_train, _, _, _ = make_blobs_with_outlier(outlier=scale)
    model = LeastSquaresClassifier().fit(X_train, y_train)
    ours = np.concatenate([model.intercept_, model.coef_[0]])  # (w0, w1, w2)
    np.testing.assert_allclose(ours, weights, atol=5e-5)


@pytest.mark.parametrize(
    "scale, accuracy", [(1, 1.0), (2, 1.0), (4, 1.0), (8, 0.98), (16, 0.93), (32, 0.92)]
)
def test_sign_rule_accuracy_on_the_sheets_split(scale, accuracy):
    X_train, X_test, y_train, y_test, _, _ = make_blobs_with_outlier(outlier=scale)
    assert LeastSquaresClassifier().fit(X_train, y_train).score(X_test, y_test) == accuracy


# --- against references on random data ---------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3, 5])
@pytest.mark.parametrize("alpha", [1e-3, 0.5, 10.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_decision_function_equals_ridge_classifier(n_classes, alpha, fit_intercept, seed):
    X, y = random_problem(seed, n_classes=n_classes)
    ours = LeastSquaresClassifier(alpha=alpha, fit_intercept=fit_intercept).fit(X, y)
    ref = RidgeClassifier(alpha=alpha, fit_intercept=fit_intercept, solver="svd").fit(X, y)
    X_new = random_problem(seed + 100, n_samples=30, n_classes=n_classes)[0]
    np.testing.assert_allclose(
        ours.decision_function(X_new), ref.decision_function(X_new), rtol=1e-8, atol=1e-8
    )
    # Like LogisticRegression, coef_ keeps one row for two classes (RidgeClassifier ravels it).
    np.testing.assert_allclose(ours.coef_, np.atleast_2d(ref.coef_), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(
        ours.intercept_, np.broadcast_to(ref.intercept_, ours.intercept_.shape), atol=1e-8
    )
    np.testing.assert_array_equal(ours.predict(X_new), ref.predict(X_new))


@pytest.mark.parametrize("n_classes", [2, 4])
def test_sample_weight_equals_ridge_classifier(n_classes):
    X, y = random_problem(3, n_classes=n_classes)
    weights = np.random.default_rng(3).uniform(0, 3, len(y))
    ours = LeastSquaresClassifier(alpha=0.3).fit(X, y, sample_weight=weights)
    ref = RidgeClassifier(alpha=0.3, solver="svd").fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-8)


@pytest.mark.parametrize("n_classes", [2, 3, 6])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alpha_zero_equals_numpy_lstsq(n_classes, seed):
    X, y = random_problem(seed, n_classes=n_classes)
    model = LeastSquaresClassifier().fit(X, y)
    reference = bias_trick_lstsq(X, signed_targets(y, n_classes))  # rows: b, then w
    np.testing.assert_allclose(model.intercept_, reference[0], atol=1e-10)
    np.testing.assert_allclose(model.coef_, reference[1:].T, atol=1e-10)


def test_integer_sample_weights_equal_repeated_rows():
    X, y = random_problem(4, n_samples=40, n_classes=3)
    counts = np.random.default_rng(4).integers(0, 4, len(y))
    weighted = LeastSquaresClassifier(alpha=0.1).fit(X, y, sample_weight=counts)
    repeated = LeastSquaresClassifier(alpha=0.1).fit(np.repeat(X, counts, 0), np.repeat(y, counts))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-10)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, atol=1e-10)


def test_solution_has_zero_gradient_of_the_least_squares_loss():
    X, y = random_problem(5, n_classes=3)
    model = LeastSquaresClassifier(alpha=2.0).fit(X, y)
    _, grad_W, grad_b = least_squares_loss(
        model.coef_, model.intercept_, X, signed_targets(y, 3), alpha=2.0
    )
    assert np.abs(grad_W).max() < 1e-9
    assert np.abs(grad_b).max() < 1e-9


@pytest.mark.parametrize("alpha", [0.0, 0.7])
@pytest.mark.parametrize("weighted", [False, True])
def test_least_squares_loss_gradient_check(alpha, weighted):
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(20, 4)), rng.normal(size=(20, 3))
    s = rng.uniform(0.1, 2, 20) if weighted else None

    def fun(theta):
        W, b = theta[:12].reshape(3, 4), theta[12:]
        loss, grad_W, grad_b = least_squares_loss(W, b, X, Y, alpha, s)
        return loss, np.concatenate([grad_W.ravel(), grad_b])

    assert check_gradient(fun, rng.normal(size=15)) < 1e-8


def test_least_squares_loss_equals_a_slow_sum():
    rng = np.random.default_rng(7)
    X, Y, W, b, s = (
        rng.normal(size=(6, 2)), rng.normal(size=(6, 3)), rng.normal(size=(3, 2)),
        rng.normal(size=3), rng.uniform(size=6),
    )  # fmt: skip
    slow = sum(s[n] * (Y[n, k] - W[k] @ X[n] - b[k]) ** 2 for n in range(6) for k in range(3))
    slow += 0.4 * sum(w**2 for w in W.ravel())
    assert least_squares_loss(W, b, X, Y, 0.4, s)[0] == pytest.approx(slow, rel=1e-12)


# --- rank deficiency and conditioning ----------------------------------------------------


def test_rank_deficient_X_gives_the_minimum_norm_solution():
    rng = np.random.default_rng(8)
    base = rng.normal(size=(50, 2))
    # A duplicated column, a constant column, and a sum of two columns: rank 2 of 5.
    X = np.column_stack([base, base[:, 0], np.full(50, 3.0), base.sum(axis=1)])
    y = (base[:, 0] - base[:, 1] + rng.normal(0, 0.5, 50) > 0).astype(int)
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.inv(np.column_stack([np.ones(50), X]).T @ np.column_stack([np.ones(50), X]))
    model = LeastSquaresClassifier().fit(X, y)
    assert np.all(np.isfinite(model.coef_))
    # Minimum norm over w (the intercept is unpenalised): the pseudo-inverse of centred X.
    t = signed_targets(y, 2)[:, 0]
    Xc = X - X.mean(axis=0)
    np.testing.assert_allclose(model.coef_[0], np.linalg.pinv(Xc) @ (t - t.mean()), atol=1e-10)
    assert model.coef_[0, 0] == pytest.approx(model.coef_[0, 2], abs=1e-12)  # split evenly
    assert model.coef_[0, 3] == pytest.approx(0.0, abs=1e-12)  # a constant says nothing
    # Every least-squares solution gives the same fitted values: compare with NumPy's.
    reference = bias_trick_lstsq(X, t)
    np.testing.assert_allclose(
        model.decision_function(X), reference[0] + X @ reference[1:], atol=1e-10
    )


@pytest.mark.parametrize("gap", [1e-6, 1e-9])
def test_nearly_collinear_X_predicts_like_lstsq(gap):
    rng = np.random.default_rng(9)
    x = rng.normal(size=200)
    X = np.column_stack([x, x + gap * rng.normal(size=200), rng.normal(size=200)])
    y = np.where(x + X[:, 2] + rng.normal(0, 0.3, 200) > 0, "yes", "no")
    model = LeastSquaresClassifier().fit(X, y)
    assert np.all(np.isfinite(model.coef_))
    t = signed_targets((y == "yes").astype(int), 2)[:, 0]
    reference = bias_trick_lstsq(X, t)
    np.testing.assert_allclose(
        model.decision_function(X), reference[0] + X @ reference[1:], atol=1e-7
    )
    np.testing.assert_array_equal(
        model.predict(X), np.where(reference[0] + X @ reference[1:] > 0, "yes", "no")
    )


def test_solver_beats_the_normal_equations_when_ill_conditioned():
    # κ(X) ≈ 1e7, so the explicit inverse of XᵀX (κ² ≈ 1e14) loses about 14 digits.
    rng = np.random.default_rng(10)
    U, _ = np.linalg.qr(rng.normal(size=(100, 4)))
    V, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    X = U @ np.diag([1.0, 1e-2, 1e-4, 1e-7]) @ V.T
    w_true = rng.normal(size=4)
    Y = (X @ w_true)[:, None]  # exact fit: the error is the solver's alone
    W, _ = solve_least_squares(X, Y, fit_intercept=False)
    normal_equations = np.linalg.inv(X.T @ X) @ X.T @ Y[:, 0]
    assert np.abs(W[0] - w_true).max() < 1e-6
    assert np.abs(normal_equations - w_true).max() > 100 * np.abs(W[0] - w_true).max()


# --- labels ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels",
    [np.array([0, 1]), np.array([-1, 1]), np.array(["cat", "dog"]), np.array([2.0, 7.0])],
)
def test_any_label_type_gives_the_same_fit(labels):
    X, codes = random_problem(11)
    reference = LeastSquaresClassifier().fit(X, codes)
    model = LeastSquaresClassifier().fit(X, labels[codes])
    np.testing.assert_array_equal(model.classes_, labels)
    np.testing.assert_allclose(model.decision_function(X), reference.decision_function(X))
    np.testing.assert_array_equal(model.predict(X), labels[reference.predict(X)])


def test_two_classes_positive_output_means_the_second_class():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = LeastSquaresClassifier().fit(X, ["low", "low", "high", "high"])
    assert model.classes_.tolist() == ["high", "low"]
    # "low" is classes_[1], so f > 0 where x is small.
    assert model.coef_[0, 0] < 0
    assert model.predict([[-1.0], [4.0]]).tolist() == ["low", "high"]


def test_multiclass_predicts_the_largest_output():
    X, y = random_problem(12, n_classes=4)
    model = LeastSquaresClassifier().fit(X, y)
    F = model.decision_function(X)
    assert F.shape == (len(X), 4)
    np.testing.assert_array_equal(model.predict(X), np.argmax(F, axis=1))


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X_is_rejected_in_fit_and_predict(bad):
    X, y = random_problem(13)
    X_bad = X.copy()
    X_bad[3, 1] = bad
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        LeastSquaresClassifier().fit(X_bad, y)
    model = LeastSquaresClassifier().fit(X, y)
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        model.predict(X_bad)


def test_wrong_dimensions_are_rejected():
    X, y = random_problem(14)
    with pytest.raises(ValueError, match="2D array"):
        LeastSquaresClassifier().fit(X[:, 0], y)
    with pytest.raises(ValueError, match="dim"):
        LeastSquaresClassifier().fit(X[:, :, None], y)
    model = LeastSquaresClassifier().fit(X, y)
    with pytest.raises(ValueError, match="5 features"):
        model.predict(X[:, :3])


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        LeastSquaresClassifier().predict(np.zeros((2, 2)))
    with pytest.raises(NotFittedError):
        HuberClassifier().decision_function(np.zeros((2, 2)))


def test_bad_fit_intercept_and_single_class_are_rejected():
    X, y = random_problem(16)
    with pytest.raises(ValueError, match=r"fit_intercept.*'yes'"):
        LeastSquaresClassifier(fit_intercept="yes").fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        LeastSquaresClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="Unknown label type"):
        LeastSquaresClassifier().fit(X, np.linspace(0, 1, len(X)))


@pytest.mark.parametrize("weights", [-np.ones(80), np.zeros(80)])
def test_bad_sample_weight_is_rejected(weights):
    X, y = random_problem(17)
    with pytest.raises(ValueError, match=r"[Ss]ample.weight|Negative"):
        LeastSquaresClassifier().fit(X, y, sample_weight=weights)


# --- scikit-learn's checks ---------------------------------------------------------------


def no_intercept_failures(estimator):
    """Without an intercept, class weights of 1000 : 0.0001 cannot move the boundary to the
    heavy class on blobs far from the origin (``RidgeClassifier(fit_intercept=False)``
    fails this check too)."""
    if estimator.get_params().get("fit_intercept", True):
        return {}
    return {"check_class_weight_classifiers": "no intercept to shift (RidgeClassifier too)"}


@parametrize_with_checks(
    [
        LeastSquaresClassifier(),
        LeastSquaresClassifier(alpha=1.0, fit_intercept=False),
        HuberClassifier(),
        HuberClassifier(epsilon=2.0, alpha=0.1),
    ],
    expected_failed_checks=no_intercept_failures,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_estimators_are_exported_at_the_top_level():
    import scratchlearn

    assert scratchlearn.LeastSquaresClassifier is LeastSquaresClassifier
    assert scratchlearn.HuberClassifier is HuberClassifier
    assert {"LeastSquaresClassifier", "HuberClassifier"} <= set(scratchlearn.__all__)


# --- the two routes of solve_least_squares, float32 and sample_weight forms --------------


def lstsq_reference(X, Y, s=None, alpha=0.0):
    """Weighted ridge / minimum-norm least squares with the intercept, by NumPy's lstsq."""
    s = np.ones(len(X)) if s is None else s
    x_mean, y_mean = s @ X / s.sum(), s @ Y / s.sum()
    A, B = np.sqrt(s)[:, None] * (X - x_mean), np.sqrt(s)[:, None] * (Y - y_mean)
    if alpha > 0:  # ridge as least squares on [A; √α I]
        A = np.vstack([A, np.sqrt(alpha) * np.eye(X.shape[1])])
        B = np.vstack([B, np.zeros((X.shape[1], Y.shape[1]))])
    W = np.linalg.lstsq(A, B, rcond=None)[0]
    return W.T, y_mean - x_mean @ W


@pytest.mark.parametrize("route", ["gram", "qr"])
@pytest.mark.parametrize(
    "n_samples, n_features, alpha, weighted",
    [(80, 5, 0.0, False), (80, 5, 0.3, True), (5000, 12, 0.0, True), (3000, 40, 2.0, False),
     (20, 40, 0.0, False), (20, 40, 0.5, True)],
)  # fmt: skip
def test_both_routes_equal_numpy_lstsq(monkeypatch, route, n_samples, n_features, alpha, weighted):
    # 5000 and 3000 rows: the QR route's blocks of 2,048 rows are combined.
    module = "scratchlearn._math.least_squares"
    if route == "qr":  # no Gram matrix is conditioned well enough
        monkeypatch.setattr(f"{module}._GRAM_MAX_CONDITION", 1.0)
    elif n_samples >= n_features:  # these are: the QR route must not run

        def fail(*args):
            raise AssertionError("the QR route ran")

        monkeypatch.setattr(f"{module}.triangular_factor_of_blocks", fail)
    rng = np.random.default_rng(n_samples + n_features)
    X = rng.normal(size=(n_samples, n_features)) * rng.uniform(0.5, 3, n_features) + 4.0
    Y = rng.normal(size=(n_samples, 3))
    s = rng.uniform(0, 2, n_samples) if weighted else None
    W, b = solve_least_squares(X, Y, alpha=alpha, sample_weight=s)
    W_ref, b_ref = lstsq_reference(X, Y, s, alpha)
    np.testing.assert_allclose(W, W_ref, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(b, b_ref, rtol=1e-9, atol=1e-11)


def test_tall_rank_deficient_X_gives_the_minimum_norm_solution_in_blocks():
    # 6,000 rows: more than one block of the QR route; rank 3 of 6 after centring.
    rng = np.random.default_rng(30)
    base = rng.normal(size=(6000, 3))
    X = np.column_stack([base, base[:, 0], np.full(6000, -2.0), base[:, 1] - base[:, 2]])
    Y = signed_targets(rng.integers(0, 3, 6000), 3)
    W, b = solve_least_squares(X, Y)
    Xc = X - X.mean(axis=0)
    np.testing.assert_allclose(W.T, np.linalg.pinv(Xc) @ (Y - Y.mean(axis=0)), atol=1e-12)
    np.testing.assert_allclose(b, Y.mean(axis=0) - X.mean(axis=0) @ W.T, atol=1e-12)


def test_triangular_factor_is_an_R_of_M():
    M = np.random.default_rng(31).normal(size=(5000, 7))
    R = triangular_factor(M)
    assert R.shape == (7, 7)
    np.testing.assert_array_equal(R, np.triu(R))
    np.testing.assert_allclose(R.T @ R, M.T @ M, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(np.abs(np.diag(R)), np.abs(np.diag(np.linalg.qr(M)[1])), rtol=1e-12)


def test_large_data_equals_ridge_classifier():
    # 20,000 × 30, 4 classes: the Gram route, as scikit-learn's Cholesky solver.
    X, y = random_problem(32, n_samples=20_000, n_features=30, n_classes=4)
    ours = LeastSquaresClassifier(alpha=1e-3).fit(X, y)
    ref = RidgeClassifier(alpha=1e-3).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("Estimator", [LeastSquaresClassifier, HuberClassifier])
def test_float32_input_keeps_float32_weights(Estimator, n_classes):  # Huber: also test_huber
    # As scikit-learn's RidgeClassifier: float32 in, float32 coef_ and intercept_ out (the
    # fit runs in float64, so it equals the float64 fit on the same values, rounded).
    X, y = random_problem(33, n_classes=n_classes)
    X32 = X.astype(np.float32)
    single = Estimator(alpha=0.1).fit(X32, y)
    double = Estimator(alpha=0.1).fit(X32.astype(np.float64), y)
    assert single.coef_.dtype == single.intercept_.dtype == np.float32
    assert double.coef_.dtype == double.intercept_.dtype == np.float64
    np.testing.assert_array_equal(single.coef_, double.coef_.astype(np.float32))
    np.testing.assert_array_equal(single.intercept_, double.intercept_.astype(np.float32))
    assert single.decision_function(X32).dtype == np.float32
    np.testing.assert_allclose(single.decision_function(X32), double.decision_function(X32),
                               rtol=1e-5, atol=1e-5)  # fmt: skip
    if Estimator is LeastSquaresClassifier:
        ref = RidgeClassifier(alpha=0.1).fit(X32, y)
        assert ref.coef_.dtype == np.float32
        np.testing.assert_allclose(single.coef_, np.atleast_2d(ref.coef_), rtol=1e-4, atol=1e-5)


def test_integer_input_gives_float64_weights():
    X, y = random_problem(34)
    model = LeastSquaresClassifier().fit(np.round(X).astype(np.int32), y)
    assert model.coef_.dtype == model.intercept_.dtype == np.float64


def test_scalar_and_unit_sample_weight_equal_no_weight():
    X, y = random_problem(35, n_classes=3)
    plain = LeastSquaresClassifier(alpha=0.2).fit(X, y)
    # A constant weight s scales the loss by s, so α·s gives the same minimiser.
    for weights, alpha in [(2.5, 0.5), (np.ones(len(y)), 0.2), (list(np.ones(len(y))), 0.2)]:
        weighted = LeastSquaresClassifier(alpha=alpha).fit(X, y, sample_weight=weights)
        np.testing.assert_allclose(weighted.coef_, plain.coef_, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(weighted.intercept_, plain.intercept_, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "weights, match",
    [(np.ones(79), r"sample_weight must have shape \(80,\)"), (np.ones((80, 1)), "shape"),
     (np.full(80, np.nan), "finite")],
)  # fmt: skip
def test_sample_weight_of_the_wrong_shape_or_not_finite_is_rejected(weights, match):
    X, y = random_problem(36)
    with pytest.raises(ValueError, match=match):
        LeastSquaresClassifier().fit(X, y, sample_weight=weights)


# --- what the linear models share (linear_model/_base.py) ----------------------------------


def fitted_linear_models(seed=0, n_classes=3):
    from scratchlearn.linear_model import SoftmaxRegression

    X, y = random_problem(seed, n_classes=n_classes)
    models = [LeastSquaresClassifier(), HuberClassifier(), SoftmaxRegression(max_iter=200)]
    return X, y, [model.fit(X, y) for model in models]


def test_score_weighs_each_sample_as_accuracy_score_does():
    from sklearn.metrics import accuracy_score

    X, y, models = fitted_linear_models(1)
    weights = np.random.RandomState(2).exponential(size=len(y))
    for model in models:
        predicted = model.predict(X)
        assert 0 < np.mean(predicted != y)  # some mistakes, or the weights could not matter
        expected = accuracy_score(y, predicted, sample_weight=weights)
        assert model.score(X, y, sample_weight=weights) == pytest.approx(expected, rel=1e-12)
        unweighted = accuracy_score(y, predicted)
        assert model.score(X, y, sample_weight=weights) != pytest.approx(unweighted)


@pytest.mark.parametrize("dtype", [object, np.int64, bool, np.float16])
def test_decision_function_converts_any_numeric_X_to_float64(dtype):
    # Even for models fitted on float32 (float32 coef_): X is converted to float64 first,
    # as the docstring says; left as it is, bool or float16 X would give float32 outputs.
    X, y = random_problem(3)
    from scratchlearn.linear_model import SoftmaxRegression

    models = [model.fit(X.astype(np.float32), y) for model in
              (LeastSquaresClassifier(), HuberClassifier(), SoftmaxRegression(max_iter=200))]
    X_other = np.round(X * 3).astype(dtype)
    for model in models:
        assert model.coef_.dtype == np.float32
        F = model.decision_function(X_other)
        reference = X_other.astype(float) @ model.coef_.T.astype(float) + model.intercept_
        assert F.dtype == np.float64
        np.testing.assert_allclose(F, reference[:, 0], rtol=1e-12, atol=1e-12)
