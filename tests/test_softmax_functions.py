"""softmax, log_softmax and logsumexp on 1-D and 3-D input, against scipy.special.

The estimators only ever pass 2-D logits; these check the documented contract for any
number of dimensions, with the default axis (the last one) and with others.
"""

import numpy as np
import pytest
from scipy import special

from scratchlearn._math.softmax import log_softmax, logsumexp, softmax

CLOSE = {"rtol": 1e-12, "atol": 1e-13}


def logits(shape, seed=0, scale=4.0):
    return np.random.default_rng(seed).normal(scale=scale, size=shape)


def test_one_dimensional_input_is_one_distribution():
    g = np.array([2.0, -1.0, 0.5, 3.0])
    np.testing.assert_allclose(softmax(g), special.softmax(g), **CLOSE)
    np.testing.assert_allclose(log_softmax(g), special.log_softmax(g), **CLOSE)
    lse = logsumexp(g)
    assert np.ndim(lse) == 0
    assert float(lse) == pytest.approx(np.log(np.sum(np.exp(g))), rel=1e-14)
    assert softmax(g).sum() == pytest.approx(1.0, rel=1e-15)
    np.testing.assert_allclose(logsumexp(g, keepdims=True), [special.logsumexp(g)], **CLOSE)


def test_one_dimensional_input_of_one_class():
    g = np.array([-7.5])
    np.testing.assert_array_equal(softmax(g), [1.0])
    np.testing.assert_array_equal(log_softmax(g), [0.0])
    assert float(logsumexp(g)) == -7.5


@pytest.mark.parametrize("shape", [(2, 3, 4), (5, 1, 7), (3, 4, 1)])
def test_three_dimensional_input_reduces_the_last_axis_by_default(shape):
    G = logits(shape, seed=sum(shape))
    np.testing.assert_allclose(softmax(G), special.softmax(G, axis=-1), **CLOSE)
    np.testing.assert_allclose(log_softmax(G), special.log_softmax(G, axis=-1), **CLOSE)
    lse = logsumexp(G)
    assert lse.shape == shape[:-1]
    np.testing.assert_allclose(lse, special.logsumexp(G, axis=-1), **CLOSE)
    kept = logsumexp(G, keepdims=True)
    assert kept.shape == (*shape[:-1], 1)
    np.testing.assert_allclose(kept, special.logsumexp(G, axis=-1, keepdims=True), **CLOSE)
    np.testing.assert_allclose(softmax(G).sum(axis=-1), 1.0, rtol=1e-14)


@pytest.mark.parametrize("axis", [0, 1, 2, -2])
def test_three_dimensional_input_along_any_axis(axis):
    G = logits((3, 4, 5), seed=axis + 10)
    np.testing.assert_allclose(softmax(G, axis=axis), special.softmax(G, axis=axis), **CLOSE)
    np.testing.assert_allclose(
        log_softmax(G, axis=axis), special.log_softmax(G, axis=axis), **CLOSE
    )
    np.testing.assert_allclose(
        logsumexp(G, axis=axis), special.logsumexp(G, axis=axis), **CLOSE
    )
    np.testing.assert_allclose(
        logsumexp(G, axis=axis, keepdims=True),
        special.logsumexp(G, axis=axis, keepdims=True),
        **CLOSE,
    )


def test_huge_logits_in_three_dimensions_stay_finite():
    # exp(±800) overflows or underflows; the shift by the maximum keeps every exponent ≤ 0.
    G = logits((2, 3, 4), seed=3, scale=800.0)
    P, log_P, lse = softmax(G), log_softmax(G), logsumexp(G)
    assert np.all(np.isfinite(P)) and np.all(np.isfinite(log_P)) and np.all(np.isfinite(lse))
    np.testing.assert_allclose(P, special.softmax(G, axis=-1), rtol=1e-12, atol=1e-300)
    # G − logsumexp(G) cancels to about 1e-14 of |G| near the maximum.
    np.testing.assert_allclose(log_P, special.log_softmax(G, axis=-1), rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(lse, special.logsumexp(G, axis=-1), rtol=1e-14)


def test_integer_and_list_input_are_taken_as_floats():
    np.testing.assert_allclose(softmax([[1, 2, 3]]), special.softmax([[1.0, 2.0, 3.0]], axis=1))
    np.testing.assert_allclose(logsumexp([0, 0]), np.log(2.0))
    np.testing.assert_allclose(log_softmax([0, 0]), [-np.log(2.0)] * 2)


def test_float32_logits_are_computed_in_float64():
    # float32 logits 1e-7 apart: float64 arithmetic keeps their difference in the result.
    G = np.array([[0.0, 1e-7, -1e-7], [20.0, 20.0 + 2**-19, 19.0]], dtype=np.float32)
    reference = G.astype(np.float64)
    for function in (softmax, log_softmax, logsumexp):
        result = function(G)
        assert result.dtype == np.float64, function.__name__
    np.testing.assert_allclose(softmax(G), special.softmax(reference, axis=-1), rtol=1e-15)
    np.testing.assert_allclose(log_softmax(G), special.log_softmax(reference, axis=-1),
                               rtol=1e-14)
    np.testing.assert_allclose(logsumexp(G), special.logsumexp(reference, axis=-1), rtol=1e-15)
