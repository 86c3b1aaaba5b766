"""Softmax kernels and the softmax cross-entropy loss against slow, obvious versions."""

import math

import numpy as np
import pytest
from scipy import special

from scratchlearn._math.losses import one_hot, softmax_cross_entropy
from scratchlearn._math.softmax import log_softmax, logsumexp, softmax
from scratchlearn.gradcheck import check_gradient


def slow_softmax(row):
    """Textbook formula in Python floats (only for moderate logits)."""
    exps = [math.exp(g) for g in row]
    total = sum(exps)
    return [e / total for e in exps]


@pytest.mark.parametrize("shape", [(1, 2), (5, 3), (40, 10)])
def test_softmax_matches_textbook_formula_and_scipy(shape):
    G = np.random.default_rng(sum(shape)).normal(scale=3.0, size=shape)
    expected = np.array([slow_softmax(row) for row in G])
    np.testing.assert_allclose(softmax(G), expected, rtol=1e-12, atol=1e-15)
    close = {"rtol": 1e-12, "atol": 1e-13}
    np.testing.assert_allclose(log_softmax(G), special.log_softmax(G, axis=1), **close)
    np.testing.assert_allclose(logsumexp(G), special.logsumexp(G, axis=1), **close)
    np.testing.assert_allclose(logsumexp(G, keepdims=True), special.logsumexp(G, 1)[:, None])


def test_kernels_are_finite_at_plus_minus_1e4():
    G = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4], [1e4, 1e4, 1e4]])
    P, log_P, lse = softmax(G), log_softmax(G), logsumexp(G)
    assert np.all(np.isfinite(P)) and np.all(np.isfinite(log_P)) and np.all(np.isfinite(lse))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(P[0], [1.0, 0.0, 0.0])  # one class dominating
    np.testing.assert_allclose(P[1], [1 / 3] * 3)
    np.testing.assert_allclose(P[2], [0.5, 0.5, 0.0])
    assert log_P[0, 1] == pytest.approx(-2e4)  # log of an underflowed probability, exactly
    np.testing.assert_allclose(lse, [1e4, -1e4 + math.log(3), 1e4 + math.log(2), 1e4 + math.log(3)])


def test_one_hot_is_rows_of_the_identity():
    y = np.array([2, 0, 1, 2])
    np.testing.assert_array_equal(one_hot(y, 4), np.eye(4)[y])


def slow_cross_entropy(W, b, X, y, alpha):
    """Per-sample loops over the maths: L_n = −log p_{y_n} and ∂L_n/∂θ_c = (p_c − 1[c=y_n]) x_n."""
    N, C = len(X), len(b)
    loss, grad_W, grad_b = 0.0, np.zeros_like(W), np.zeros_like(b)
    for n in range(N):
        p = slow_softmax(W @ X[n] + b)
        loss -= math.log(p[y[n]]) / N
        for c in range(C):
            residual = p[c] - (1.0 if c == y[n] else 0.0)
            grad_W[c] += residual * X[n] / N
            grad_b[c] += residual / N
    return loss + alpha / 2 * np.sum(W**2), grad_W + alpha * W, grad_b


@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("shape", [(7, 3, 2), (30, 5, 4), (50, 64, 10)])
def test_cross_entropy_matches_per_sample_loops(shape, alpha):
    N, D, C = shape
    rng = np.random.default_rng(N + D + C)
    X, y = rng.normal(size=(N, D)), rng.integers(0, C, N)
    W, b = rng.normal(size=(C, D)), rng.normal(size=C)
    loss, grad_W, grad_b = softmax_cross_entropy(W, b, X, one_hot(y, C), alpha)
    expected = slow_cross_entropy(W, b, X, y, alpha)
    assert loss == pytest.approx(expected[0], rel=1e-12)
    np.testing.assert_allclose(grad_W, expected[1], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grad_b, expected[2], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("C", [2, 3, 10])
def test_zero_weights_give_loss_log_n_classes(C):
    X = np.random.default_rng(C).normal(size=(25, 4))
    y = np.arange(25) % C
    loss, _, _ = softmax_cross_entropy(np.zeros((C, 4)), np.zeros(C), X, one_hot(y, C))
    assert loss == pytest.approx(math.log(C), rel=1e-15)


def test_cross_entropy_is_finite_for_huge_logits():
    X = np.array([[1.0], [-1.0]])
    W, b = np.array([[1e4], [-1e4]]), np.zeros(2)
    loss, grad_W, _ = softmax_cross_entropy(W, b, X, one_hot(np.array([1, 0]), 2))
    assert loss == pytest.approx(2e4)  # both confidently wrong by a logit gap of 2e4
    assert np.all(np.isfinite(grad_W))


# --- the fast paths: class codes, blocks of rows, threads, float32 --------------------------


def dense_cross_entropy(W, b, X, Y, alpha):
    """The loss and gradient written directly from the formulas, on the whole (N, C) matrix."""
    log_P = special.log_softmax(X @ W.T + b, axis=1)
    dG = (np.exp(log_P) - Y) / len(X)
    loss = -np.sum(Y * log_P) / len(X) + alpha / 2 * np.sum(W**2)
    return loss, dG.T @ X + alpha * W, dG.sum(axis=0)


@pytest.mark.parametrize("shape", [(7, 3, 2), (300, 20, 10), (2600, 700, 4)])
def test_class_codes_equal_one_hot_and_the_dense_formula(shape):
    # (2600, 700, 4): blocks of 1,024 rows, so three blocks are summed.
    N, D, C = shape
    rng = np.random.default_rng(N * D)
    X, y = rng.normal(size=(N, D)), rng.integers(0, C, N)
    W, b = rng.normal(scale=0.1, size=(C, D)), rng.normal(size=C)
    expected = dense_cross_entropy(W, b, X, one_hot(y, C), 0.2)
    for Y in (y, one_hot(y, C)):
        loss, grad_W, grad_b = softmax_cross_entropy(W, b, X, Y, 0.2)
        assert loss == pytest.approx(expected[0], rel=1e-12)
        np.testing.assert_allclose(grad_W, expected[1], rtol=1e-9, atol=1e-13)
        np.testing.assert_allclose(grad_b, expected[2], rtol=1e-9, atol=1e-13)


def test_soft_labels_equal_the_dense_formula():
    rng = np.random.default_rng(20)
    X, W, b = rng.normal(size=(40, 5)), rng.normal(size=(3, 5)), rng.normal(size=3)
    Y = rng.dirichlet(np.ones(3), size=40)  # rows summing to 1
    got, expected = softmax_cross_entropy(W, b, X, Y, 0.1), dense_cross_entropy(W, b, X, Y, 0.1)
    assert got[0] == pytest.approx(expected[0], rel=1e-12)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(got[2], expected[2], rtol=1e-10, atol=1e-14)


def test_threads_give_bitwise_the_same_sums():
    rng = np.random.default_rng(21)
    X, y = rng.normal(size=(5000, 600)), rng.integers(0, 5, 5000)  # five blocks
    W, b = rng.normal(scale=0.1, size=(5, 600)), rng.normal(size=5)
    one = softmax_cross_entropy(W, b, X, y, 0.01)
    for n_threads in (2, 3, 8):
        many = softmax_cross_entropy(W, b, X, y, 0.01, n_threads=n_threads)
        assert many[0] == one[0]
        np.testing.assert_array_equal(many[1], one[1])
        np.testing.assert_array_equal(many[2], one[2])


def test_float32_X_gives_float64_results_close_to_float64():
    rng = np.random.default_rng(22)
    X, y = rng.normal(size=(500, 30)), rng.integers(0, 4, 500)
    W, b = rng.normal(scale=0.3, size=(4, 30)), rng.normal(size=4)
    exact = softmax_cross_entropy(W, b, X, y, 0.1)
    single = softmax_cross_entropy(W, b, X.astype(np.float32), y, 0.1)
    assert isinstance(single[0], float)
    assert single[1].dtype == np.float64 and single[2].dtype == np.float64
    assert single[0] == pytest.approx(exact[0], rel=1e-6)
    np.testing.assert_allclose(single[1], exact[1], atol=1e-5)
    np.testing.assert_allclose(single[2], exact[2], atol=1e-6)



def test_float32_X_takes_its_products_in_float32():
    # Documented: the products with X run in X's precision. With one power of two per row
    # and column of X, each entry of (P − Y)ᵀ X is one product, exact but for the float32
    # rounding of P − Y: the gradient is (P − Y) rounded to float32, times X.
    rng = np.random.default_rng(24)
    X = np.diag(2.0 ** rng.integers(-3, 4, size=6)).astype(np.float32)
    y, W, b = rng.integers(0, 3, 6), rng.normal(size=(3, 6)), rng.normal(size=3)
    P = special.softmax(X.astype(np.float64) @ W.astype(np.float32).T.astype(np.float64) + b,
                        axis=1)
    PY32 = (P - one_hot(y, 3)).astype(np.float32).astype(np.float64)
    _, grad_W, grad_b = softmax_cross_entropy(W, b, X, y)
    np.testing.assert_allclose(grad_W, PY32.T @ X.astype(np.float64) / 6, rtol=1e-12)
    np.testing.assert_allclose(grad_b, (P - one_hot(y, 3)).sum(axis=0) / 6, rtol=1e-12,
                               atol=1e-15)

@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_cross_entropy_gradient_check_with_class_codes(alpha):
    rng = np.random.default_rng(23)
    X, y = rng.normal(size=(30, 4)), rng.integers(0, 3, 30)

    def fun(theta):
        loss, grad_W, grad_b = softmax_cross_entropy(
            theta[:12].reshape(3, 4), theta[12:], X, y, alpha
        )
        return loss, np.concatenate([grad_W.ravel(), grad_b])

    assert check_gradient(fun, rng.normal(size=15)) < 1e-7
