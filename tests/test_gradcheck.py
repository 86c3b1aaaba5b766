"""Centred-difference gradient checks: they pass on right gradients and catch wrong ones."""

import numpy as np
import pytest

from scratchlearn._math.losses import one_hot, softmax_cross_entropy
from scratchlearn._math.params import flat_objective, pack, unpack
from scratchlearn._math.softmax import softmax
from scratchlearn.datasets import load_digits_split
from scratchlearn.gradcheck import check_gradient, numerical_gradient, relative_error


def test_numerical_gradient_of_a_quadratic_form():
    rng = np.random.default_rng(0)
    A, x = rng.normal(size=(4, 4)), rng.normal(size=(2, 2))  # any shape of x
    g = numerical_gradient(lambda z: float(z.ravel() @ A @ z.ravel()), x)
    np.testing.assert_allclose(g.ravel(), (A + A.T) @ x.ravel(), rtol=1e-8)
    assert g.shape == x.shape


def test_relative_error():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([1.0, 0.0], [1.0, 0.0]) == 0.0
    assert relative_error([1.0], [-1.0]) == 1.0
    assert relative_error([3.0, 4.0], [3.0, 4.0 + 1e-6]) == pytest.approx(1e-6 / 10)


def packed(X, Y, alpha):
    """The loss as fun(θ) -> (J, ∇J) over θ = [vec(W), b]."""
    return flat_objective(lambda W, b: softmax_cross_entropy(W, b, X, Y, alpha), Y.shape[1])


@pytest.mark.parametrize("alpha", [0.0, 0.5])
@pytest.mark.parametrize("seed", range(3))
def test_softmax_cross_entropy_gradient_on_random_data(alpha, seed):
    rng = np.random.default_rng(seed)
    N, D, C = 40, 6, 4
    X, Y = rng.normal(size=(N, D)), one_hot(rng.integers(0, C, N), C)
    theta = rng.normal(size=C * (D + 1))
    assert check_gradient(packed(X, Y, alpha), theta) < 1e-7


@pytest.mark.parametrize("alpha", [0.0, 1 / 1347])
def test_softmax_cross_entropy_gradient_on_digits(alpha):
    X, _, y, _ = load_digits_split()
    X, Y = X[:150], one_hot(y[:150], 10)
    theta = np.random.default_rng(1).normal(0, 0.1, size=10 * 65)
    assert check_gradient(packed(X, Y, alpha), theta) < 1e-7


def test_gradient_check_catches_the_sheets_gradient():
    # The sheet subtracts the column of class indices instead of one-hot rows.
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(30, 5)), rng.integers(0, 3, 30)
    Y = one_hot(y, 3)

    def sheet_fun(theta):
        W, b = unpack(theta, 3)
        loss = softmax_cross_entropy(W, b, X, Y)[0]
        dG = (softmax(X @ W.T + b) - y.reshape(-1, 1)) / len(X)
        return loss, pack(dG.T @ X, dG.sum(axis=0))

    assert check_gradient(sheet_fun, rng.normal(size=18)) > 0.1


def test_gradient_check_catches_a_missing_penalty_term():
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(20, 3)), one_hot(rng.integers(0, 2, 20), 2)
    right = packed(X, Y, alpha=0.5)

    def forgets_penalty(theta):
        loss, grad = right(theta)
        grad = grad.copy()
        grad[:6] -= 0.5 * theta[:6]
        return loss, grad

    theta = rng.normal(size=8)
    assert check_gradient(right, theta) < 1e-7
    assert check_gradient(forgets_penalty, theta) > 1e-3


def test_check_gradient_differences_with_its_step():
    # Centred differences of x³ are 3x² + h² exactly: the step h shows in the error.
    x = np.array([0.5, -1.0, 2.0])

    def cubic(z):
        return float(np.sum(z**3)), 3 * z**2

    for h in (0.1, 0.01):
        expected = relative_error(3 * x**2, 3 * x**2 + h**2)
        assert check_gradient(cubic, x, eps=h) == pytest.approx(expected, rel=1e-6)
