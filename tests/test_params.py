"""θ = [vec(W), b]: the flat parameter layout the optimisers see, against NumPy by hand."""


import numpy as np
import pytest

from scratchlearn._math.losses import softmax_cross_entropy
from scratchlearn._math.params import flat_objective, pack, unpack


@pytest.mark.parametrize("n_rows, n_features", [(1, 1), (1, 4), (3, 5), (10, 64)])
def test_unpack_is_the_row_major_split_and_pack_inverts_it(n_rows, n_features):
    theta = np.random.default_rng(n_rows * 100 + n_features).normal(size=n_rows * (n_features + 1))
    W, b = unpack(theta, n_rows)
    assert W.shape == (n_rows, n_features) and b.shape == (n_rows,)
    for k in range(n_rows):  # row k of W is entries k·D … k·D + D − 1, as written out
        np.testing.assert_array_equal(W[k], theta[k * n_features : (k + 1) * n_features])
    np.testing.assert_array_equal(b, theta[n_rows * n_features :])
    np.testing.assert_array_equal(pack(W, b), theta)
    W[0, 0] = 123.0  # views: writing W writes θ, which fit relies on for its start
    assert theta[0] == 123.0


def test_unpack_of_intercepts_only_has_no_weights():
    # D = 0 (size = n_rows): every entry is an intercept, as n_rows·(D + 1) says.
    W, b = unpack(np.arange(3.0), 3)
    assert W.shape == (3, 0)
    np.testing.assert_array_equal(b, [0.0, 1.0, 2.0])


@pytest.mark.parametrize("size, n_rows", [(7, 2), (5, 2), (0, 1), (0, 3)])
def test_unpack_refuses_a_size_that_does_not_split(size, n_rows):
    with pytest.raises(ValueError, match=f"theta has {size} entries") as error:
        unpack(np.zeros(size), n_rows)
    assert f"n_rows={n_rows}" in str(error.value)


def test_flat_objective_is_the_objective_on_the_split_with_the_gradient_packed():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(20, 3)), np.eye(4)[rng.integers(0, 4, 20)]
    W, b = rng.normal(size=(4, 3)), rng.normal(size=4)
    loss, grad_W, grad_b = softmax_cross_entropy(W, b, X, Y, 0.3)
    flat_loss, grad = flat_objective(
        lambda W_, b_: softmax_cross_entropy(W_, b_, X, Y, 0.3), 4
    )(np.concatenate([W.ravel(), b]))
    assert flat_loss == loss
    np.testing.assert_array_equal(grad, np.concatenate([grad_W.ravel(), grad_b]))
