"""The pure kernels in scratchlearn._math against slow, obvious versions."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import cdist

from scratchlearn._math.ball import log_ball_volume
from scratchlearn._math.distances import (
    rowwise_squared_distances,
    squared_euclidean,
    squared_euclidean_minus_query_norm,
)
from scratchlearn._math.topk import select_smallest_k, smallest_k


@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 13, 2), (50, 40, 64), (3, 200, 300)])
def test_squared_euclidean_matches_cdist(shape):
    n_a, n_b, d = shape
    rng = np.random.default_rng(sum(shape))
    A, B = rng.normal(size=(n_a, d)), rng.normal(size=(n_b, d))
    expected = cdist(A, B, "sqeuclidean")
    np.testing.assert_allclose(squared_euclidean(A, B), expected, rtol=1e-10, atol=1e-10)


def test_ranking_surrogate_differs_by_the_query_norm_only():
    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(9, 4)), rng.normal(size=(11, 4))
    expected = cdist(A, B, "sqeuclidean") - np.sum(A**2, axis=1)[:, None]
    np.testing.assert_allclose(squared_euclidean_minus_query_norm(A, B), expected, atol=1e-12)


def test_squared_euclidean_is_never_negative_for_identical_points():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(100, 5)) * 1e3  # large norms make the expansion cancel badly
    D = squared_euclidean(A, A)
    assert D.min() >= 0.0


def test_rowwise_squared_distances_is_exact():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(6, 3))
    B_rows = rng.normal(size=(6, 4, 3))
    expected = [[np.sum((A[i] - B_rows[i, j]) ** 2) for j in range(4)] for i in range(6)]
    np.testing.assert_allclose(rowwise_squared_distances(A, B_rows), expected, rtol=1e-14)
    assert rowwise_squared_distances(A, A[:, None, :]).max() == 0.0


def slow_smallest_k(D, k):
    """Sort every row by (value, index) in Python and keep k."""
    rows = [sorted(range(D.shape[1]), key=lambda j, r=r: (D[r, j], j))[:k] for r in range(len(D))]
    indices = np.array(rows)
    return np.take_along_axis(D, indices, axis=1), indices


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 3, 10, 30])
def test_smallest_k_matches_slow_version_with_many_ties(seed, k):
    rng = np.random.default_rng(seed)
    D = rng.integers(0, 6, size=(20, 30)).astype(float)  # few values: ties everywhere
    values, indices = smallest_k(D, k)
    expected_values, expected_indices = slow_smallest_k(D, k)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(values, expected_values)


@pytest.mark.parametrize("k", [1, 5, 49, 50])
def test_select_smallest_k_selects_the_right_set(k):
    rng = np.random.default_rng(k)
    D = rng.integers(0, 4, size=(15, 50)).astype(float)
    _, indices = select_smallest_k(D, k)
    _, expected = slow_smallest_k(D, k)
    np.testing.assert_array_equal(np.sort(indices, axis=1), np.sort(expected, axis=1))


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 10])
def test_log_ball_volume_matches_closed_forms(d):
    r = np.array([0.5, 1.0, 2.0])
    # V_d(r) = π^{d/2} r^d / Γ(d/2 + 1), evaluated directly for small d.
    expected = np.pi ** (d / 2) * r**d / math.gamma(d / 2 + 1)
    np.testing.assert_allclose(np.exp(log_ball_volume(d, r)), expected, rtol=1e-12)


def test_log_ball_volume_known_values_and_high_dimension():
    assert np.exp(log_ball_volume(1, np.array(1.5))) == pytest.approx(3.0)  # segment 2r
    assert np.exp(log_ball_volume(2, np.array(2.0))) == pytest.approx(4 * np.pi)
    assert np.exp(log_ball_volume(3, np.array(1.0))) == pytest.approx(4 / 3 * np.pi)
    high = log_ball_volume(64, np.array([1e-3, 0.1, 10.0]))
    assert np.all(np.isfinite(high))
    # log V grows by d·log(r2/r1) between radii: an identity that holds without overflow.
    assert high[2] - high[1] == pytest.approx(64 * np.log(100.0))
    assert log_ball_volume(2, np.array(0.0)) == -np.inf


@settings(max_examples=60, deadline=None)
@given(
    D=arrays(
        np.float64,
        st.tuples(st.integers(1, 8), st.integers(1, 12)),
        elements=st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5]),
    ),
    data=st.data(),
)
def test_smallest_k_property(D, data):
    k = data.draw(st.integers(1, D.shape[1]))
    values, indices = smallest_k(D, k)
    expected_values, expected_indices = slow_smallest_k(D, k)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(values, expected_values)
