"""Softmax kernels and the softmax cross-entropy loss against slow, obvious versions."""

import math

import numpy as np
import pytest
from scipy import special

from scratchlearn._math.losses import one_hot, softmax_cross_entropy
from scratchlearn._math.softmax import log_softmax, logsumexp, softmax


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
