"""The losses' values (not only their gradients) against slow sums over samples and targets.

A gradient check cannot see a loss that is consistently wrong in value and gradient (for
example one that ignores the sample weights), so these compare the values themselves.
"""

import numpy as np
import pytest

from scratchlearn._math.losses import (
    huber_loss,
    least_squares_loss,
    softmax_cross_entropy,
)


def problem(seed, n=7, d=3, t=2):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(t, d)), rng.normal(size=t), rng.normal(size=(n, d)),
            2 * rng.normal(size=(n, t)), rng.uniform(0.1, 3, size=n))


def slow_weighted_sum(rho, W, b, X, Y, s):
    return sum(
        s[n] * rho(Y[n, k] - W[k] @ X[n] - b[k])
        for n in range(len(X))
        for k in range(len(b))
    )


def slow_huber(r, epsilon):
    return r * r if abs(r) <= epsilon else 2 * epsilon * abs(r) - epsilon**2


@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_huber_loss_with_sample_weights_equals_a_slow_sum(alpha):
    W, b, X, Y, s = problem(0)
    epsilon = 0.9
    loss, grad_W, grad_b = huber_loss(W, b, X, Y, epsilon, alpha, s)
    expected = slow_weighted_sum(lambda r: slow_huber(r, epsilon), W, b, X, Y, s)
    expected += alpha * np.sum(W**2)
    assert loss == pytest.approx(expected, rel=1e-12)
    # Weights are per sample: weight 2 equals the sample twice.
    twice = huber_loss(W, b, np.vstack([X, X[:1]]), np.vstack([Y, Y[:1]]), epsilon, alpha,
                       np.append(s, s[0]))
    s2 = s.copy()
    s2[0] *= 2
    doubled = huber_loss(W, b, X, Y, epsilon, alpha, s2)
    assert doubled[0] == pytest.approx(twice[0], rel=1e-12)
    np.testing.assert_allclose(doubled[1], twice[1], rtol=1e-12)
    np.testing.assert_allclose(doubled[2], twice[2], rtol=1e-12)
    assert grad_W.shape == W.shape and grad_b.shape == b.shape


def test_integer_sample_weights_equal_float_ones():
    W, b, X, Y, _ = problem(1)
    s = np.array([1, 0, 2, 3, 1, 1, 2])
    for loss in (lambda s: least_squares_loss(W, b, X, Y, 0.2, s),
                 lambda s: huber_loss(W, b, X, Y, 0.5, 0.2, s)):
        as_int, as_float = loss(s), loss(s.astype(float))
        assert as_int[0] == as_float[0]
        np.testing.assert_array_equal(as_int[1], as_float[1])


def test_defaults_are_no_penalty_and_unit_weights():
    W, b, X, Y, _ = problem(2)
    plain_ls = slow_weighted_sum(lambda r: r * r, W, b, X, Y, np.ones(len(X)))
    assert least_squares_loss(W, b, X, Y)[0] == pytest.approx(plain_ls, rel=1e-12)
    plain_huber = slow_weighted_sum(lambda r: slow_huber(r, 0.5), W, b, X, Y, np.ones(len(X)))
    assert huber_loss(W, b, X, Y, 0.5)[0] == pytest.approx(plain_huber, rel=1e-12)
    logits = X @ W.T + b
    codes = np.arange(len(X)) % len(b)
    expected = np.mean(np.log(np.exp(logits).sum(axis=1)) - logits[np.arange(len(X)), codes])
    assert softmax_cross_entropy(W, b, X, codes)[0] == pytest.approx(expected, rel=1e-12)


def test_float32_weights_give_the_float64_loss():
    # The loss, its penalty and its sums run in float64 whatever the parameters' dtype.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 4))
    W = rng.normal(size=(3, 4)).astype(np.float32)
    b = rng.normal(size=3).astype(np.float32)
    codes = rng.integers(0, 3, 50)
    ours = softmax_cross_entropy(W, b, X, codes, alpha=0.37)
    reference = softmax_cross_entropy(W.astype(np.float64), b.astype(np.float64), X, codes,
                                      alpha=0.37)
    assert ours[0] == reference[0]
    np.testing.assert_array_equal(ours[1], reference[1])
    np.testing.assert_array_equal(ours[2], reference[2])
    assert ours[1].dtype == ours[2].dtype == np.float64
