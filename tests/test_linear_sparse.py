"""Sparse X for the linear models: the same fit as dense X, without making X dense.

Each estimator is fitted on seeded random data with nonzero column means (so the centring
matters) as a dense array and as SciPy sparse matrices, float64 and float32, with and
without an intercept and sample weights; coefficients and answers must agree to 1e-8.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression, RidgeClassifier

from scratchlearn import HuberClassifier, LeastSquaresClassifier, SoftmaxRegression
from scratchlearn._math import least_squares as ls
from scratchlearn._math.huber_bound import huber_dual_bound
from scratchlearn._math.least_squares import signed_targets, solve_least_squares


def sparse_problem(seed, n_samples=240, n_features=7, n_classes=3, density=0.4):
    """Rows of class-dependent means plus noise, most entries then set to 0 (stored or
    not): column means far from 0, as in counts or one-hot data."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n_samples) % n_classes)
    centres = rng.normal(2.0, 1.5, size=(n_classes, n_features))
    X = centres[y] + rng.normal(size=(n_samples, n_features))
    X[rng.random(X.shape) > density] = 0.0
    return X, y, rng


ESTIMATORS = {
    "least-squares": lambda **kw: LeastSquaresClassifier(**kw),
    "ridge": lambda **kw: LeastSquaresClassifier(**{"alpha": 0.7, **kw}),
    "huber": lambda **kw: HuberClassifier(**{"epsilon": 0.6, "tol": 1e-6, **kw}),
    "huber-ridge": lambda **kw: HuberClassifier(**{"alpha": 0.3, "tol": 1e-6, **kw}),
    "softmax": lambda **kw: SoftmaxRegression(**{"alpha": 0.02, "tol": 1e-8, **kw}),
}


def answers(model, X):
    return model.decision_function(X), model.predict(X)


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_csr_fits_as_dense_in_float64(name, fit_intercept, weighted, n_classes):
    if name == "softmax" and not fit_intercept:
        pytest.skip("SoftmaxRegression always fits its biases")
    X, y, rng = sparse_problem(1 + n_classes, n_classes=n_classes)
    s = rng.uniform(0, 2, len(X)) if weighted else None
    params = {} if name == "softmax" else {"fit_intercept": fit_intercept}
    dense = ESTIMATORS[name](**params).fit(X, y, sample_weight=s)
    csr = ESTIMATORS[name](**params).fit(sp.csr_matrix(X), y, sample_weight=s)
    np.testing.assert_allclose(csr.coef_, dense.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(csr.intercept_, dense.intercept_, rtol=1e-8, atol=1e-10)
    for Q in (X, sp.csr_matrix(X)):  # dense or sparse queries to either model
        F, labels = answers(csr, Q)
        F_dense, labels_dense = answers(dense, X)
        np.testing.assert_allclose(F, F_dense, rtol=1e-8, atol=1e-10)
        np.testing.assert_array_equal(labels, labels_dense)
    if name.startswith("huber"):
        assert csr.n_iter_ == dense.n_iter_
        np.testing.assert_allclose(csr.weights_, dense.weights_, rtol=1e-8)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_csr_fits_as_dense_in_float32(name):
    # Least squares and Huber fit in float64 whatever X's dtype: the float32 coefficients are
    # the same float64 fit rounded, bit for bit. Softmax regression runs its products in
    # float32 for float32 X, dense or sparse, so the two agree to float32's precision.
    X, y, rng = sparse_problem(11)
    X32 = X.astype(np.float32)
    s = rng.uniform(0.5, 2, len(X))
    params = {"tol": 1e-4} if name == "softmax" else {}
    dense = ESTIMATORS[name](**params).fit(X32, y, sample_weight=s)
    csr = ESTIMATORS[name](**params).fit(sp.csr_matrix(X32), y, sample_weight=s)
    assert csr.coef_.dtype == dense.coef_.dtype == np.float32
    assert csr.decision_function(sp.csr_matrix(X32)).dtype == np.float32
    if name == "softmax":
        np.testing.assert_allclose(csr.predict_proba(X32), dense.predict_proba(X32), atol=1e-5)
    else:
        np.testing.assert_array_equal(csr.coef_, dense.coef_)
        np.testing.assert_array_equal(csr.intercept_, dense.intercept_)
    np.testing.assert_array_equal(csr.predict(sp.csr_matrix(X32)), dense.predict(X32))


@pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")
@pytest.mark.parametrize("fmt", ["csc", "coo", "lil", "dok", "bsr", "dia"])
@pytest.mark.parametrize("kind", [sp.csr_matrix, sp.csr_array])
def test_every_sparse_format_is_taken_as_csr(fmt, kind):
    X, y, _ = sparse_problem(3)
    matrix = kind(X).asformat(fmt)
    for make in (LeastSquaresClassifier, HuberClassifier, SoftmaxRegression):
        reference = make().fit(X, y)
        model = make().fit(matrix, y)
        np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-8, atol=1e-10)
        np.testing.assert_array_equal(model.predict(matrix), reference.predict(X))


def test_a_large_sparse_x_is_never_made_dense():
    # 200,000 × 60 at 1% density: 96 MB dense, about 2.4 MB stored. The fit (Gram route:
    # sparse products, the means subtracted algebraically) allocates a few times the
    # stored size, never the dense matrix or its centred copy.
    rng = np.random.default_rng(4)
    X = sp.random(200_000, 60, density=0.01, format="csr", random_state=rng) * 3.0
    X.data += 1.0  # nonzero column means
    y = rng.integers(0, 3, X.shape[0])
    tracemalloc.start()
    try:
        model = LeastSquaresClassifier().fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    dense_bytes = X.shape[0] * X.shape[1] * 8
    assert peak < dense_bytes / 8
    reference = LeastSquaresClassifier().fit(X[:20_000].toarray(), y[:20_000])
    subset = LeastSquaresClassifier().fit(X[:20_000], y[:20_000])
    np.testing.assert_allclose(subset.coef_, reference.coef_, rtol=1e-8, atol=1e-12)
    assert model.coef_.shape == (3, 60)


def test_a_column_far_from_zero_takes_the_qr_route_and_keeps_its_digits():
    # Column 0 is 1e5 plus unit noise, stored sparse: XᵀX − N x̄x̄ᵀ would lose about 10 of
    # its 16 digits to cancellation, so the Gram route is refused (κ(AᵀA) alone is small)
    # and the blockwise QR route gives the dense fit to rounding.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(500, 4))
    X[:, 0] += 1e5
    X[:, 1:][rng.random((500, 3)) < 0.5] = 0.0  # zeros in the other columns only
    Y = rng.normal(size=(500, 2))
    _, _, route = ls.least_squares_with_route(sp.csr_matrix(X), Y)
    assert route == "qr"
    W, b = solve_least_squares(sp.csr_matrix(X), Y)
    W_dense, b_dense = solve_least_squares(X, Y)
    np.testing.assert_allclose(W, W_dense, rtol=1e-8)
    np.testing.assert_allclose(b, b_dense, rtol=1e-8)
    # Taking the Gram route anyway shows what was at stake: digits lost to cancellation.
    S, _ = ls.centred_gram(sp.csr_matrix(X), Y, X.mean(axis=0), Y.mean(axis=0))
    W_gram = ls.solve_from_gram(S, 4, 0.0)
    assert np.max(np.abs(W_gram - W_dense.T)) > 1e-7 * np.max(np.abs(W_dense))


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_rank_deficient_sparse_x_gives_the_dense_minimum_norm_solution(alpha):
    # A duplicated column and an all-zero one: κ = ∞ (for α = 0), so the QR route runs,
    # on blocks of rows made dense one at a time (5000 rows: several blocks).
    X, y, _ = sparse_problem(6, n_samples=5000, n_features=5, density=0.3)
    X = np.column_stack([X, X[:, 1], np.zeros(len(X))])
    for make in (LeastSquaresClassifier, HuberClassifier):
        dense = make(alpha=alpha).fit(X, y)
        csr = make(alpha=alpha).fit(sp.csr_matrix(X), y)
        np.testing.assert_allclose(csr.coef_, dense.coef_, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(csr.intercept_, dense.intercept_, rtol=1e-8, atol=1e-12)
    if alpha == 0:  # the minimum-norm solution splits the duplicated weight evenly
        np.testing.assert_allclose(csr.coef_[:, 1], csr.coef_[:, 5], rtol=1e-8)
        assert np.all(csr.coef_[:, 6] == 0.0)


def test_huber_dual_bound_is_the_same_for_sparse_x():
    X, y, rng = sparse_problem(7)
    Y = signed_targets(y, 3)
    W, b, s = rng.normal(size=(3, X.shape[1])), rng.normal(size=3), rng.uniform(0, 2, len(X))
    for alpha in (0.0, 0.4):
        dense = huber_dual_bound(W, b, X, Y, 0.7, alpha, s)
        csr = huber_dual_bound(W, b, sp.csr_matrix(X), Y, 0.7, alpha, s)
        assert csr[0] == pytest.approx(dense[0], rel=1e-13)
        assert csr[1] == pytest.approx(dense[1], rel=1e-9)


def test_empty_and_all_zero_sparse_rows():
    # Rows without a stored value are rows of zeros: as dense.
    X, y, _ = sparse_problem(8)
    X[:40] = 0.0
    for make in (LeastSquaresClassifier, HuberClassifier, SoftmaxRegression):
        dense = make().fit(X, y)
        csr = make().fit(sp.csr_matrix(X), y)
        np.testing.assert_allclose(csr.coef_, dense.coef_, rtol=1e-6, atol=1e-8)


def test_scikit_learn_fits_the_same_sparse_data_alike():
    # Independent references on the same CSR matrix: RidgeClassifier (its sparse solver to a
    # tight tolerance) and LogisticRegression at the same objective (α = 1/(C·N)).
    X, y, _ = sparse_problem(9)
    X_csr = sp.csr_matrix(X)
    ours = LeastSquaresClassifier(alpha=1.0).fit(X_csr, y)
    ridge = RidgeClassifier(alpha=1.0, solver="sparse_cg", tol=1e-12).fit(X_csr, y)
    np.testing.assert_allclose(ours.coef_, ridge.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.intercept_, ridge.intercept_, rtol=1e-6, atol=1e-8)
    softmax = SoftmaxRegression(alpha=1 / len(X), tol=1e-9).fit(X_csr, y)
    logistic = LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(X_csr, y)
    np.testing.assert_allclose(softmax.predict_proba(X_csr), logistic.predict_proba(X_csr),
                               atol=1e-6)  # fmt: skip


def test_estimators_say_they_take_sparse_input():
    for make in (LeastSquaresClassifier, HuberClassifier, SoftmaxRegression):
        assert make().__sklearn_tags__().input_tags.sparse
