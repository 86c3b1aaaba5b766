"""The pure functions in scratchlearn._math against slow, obvious versions."""

import math

import numpy as np
import pytest
from scipy.special import gammaln

from scratchlearn._math.ball import log_ball_volume


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


def test_log_ball_volume_p2_is_the_euclidean_formula_bit_for_bit():
    r = np.array([0.0, 1e-3, 0.5, 1.0, 2.0, 10.0])
    for d in (1, 2, 3, 7, 64):
        with np.errstate(divide="ignore"):
            euclidean = 0.5 * d * np.log(np.pi) - gammaln(0.5 * d + 1.0) + d * np.log(r)
        np.testing.assert_array_equal(log_ball_volume(d, r, p=2), euclidean)
        np.testing.assert_array_equal(log_ball_volume(d, r, p=2.0), log_ball_volume(d, r))


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 10])
def test_log_ball_volume_p1_is_the_cross_polytope(d):
    r = np.array([0.5, 1.0, 2.0])
    # V = (2r)^d / d!: the ball of ‖x‖_1 <= r is 2^d simplices of volume r^d / d!.
    expected = (2 * r) ** d / math.factorial(d)
    np.testing.assert_allclose(np.exp(log_ball_volume(d, r, p=1)), expected, rtol=1e-12)


@pytest.mark.parametrize("d", [1, 2, 3, 10])
def test_log_ball_volume_p_inf_is_the_cube(d):
    r = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(np.exp(log_ball_volume(d, r, p=np.inf)), (2 * r) ** d, rtol=1e-12)


@pytest.mark.parametrize("p", [1, 1.5, 2, 3, 7.5, np.inf])
def test_log_ball_volume_in_one_dimension_is_the_segment(p):
    r = np.array([0.25, 1.0, 3.0])
    np.testing.assert_allclose(np.exp(log_ball_volume(1, r, p=p)), 2 * r, rtol=1e-12)


@pytest.mark.parametrize("p", [1.5, 3, 4])
@pytest.mark.parametrize("d", [2, 3, 5])
def test_log_ball_volume_matches_dirichlets_formula(d, p):
    r = np.array([0.5, 2.0])
    expected = (2 * math.gamma(1 / p + 1)) ** d / math.gamma(d / p + 1) * r**d
    np.testing.assert_allclose(np.exp(log_ball_volume(d, r, p=p)), expected, rtol=1e-12)


@pytest.mark.parametrize("p", [1, 3, np.inf])
@pytest.mark.parametrize("d", [2, 3])
def test_log_ball_volume_by_monte_carlo(d, p):
    # The fraction of uniform points of the cube [−r, r]^d inside the Lp ball is V / (2r)^d.
    n, r = 200_000, 1.7
    rng = np.random.default_rng(10 * d + (9 if p == np.inf else int(p)))
    points = rng.uniform(-r, r, size=(n, d))
    inside = np.mean(np.linalg.norm(points, ord=p, axis=1) <= r)
    fraction = np.exp(log_ball_volume(d, np.array(r), p=p) - d * np.log(2 * r))
    standard_error = np.sqrt(fraction * (1 - fraction) / n)
    assert abs(inside - fraction) <= 5 * standard_error + 1e-12


@pytest.mark.parametrize("p", [1, 2, 3, np.inf])
def test_log_ball_volume_is_finite_in_64_dimensions(p):
    high = log_ball_volume(64, np.array([1e-3, 0.1, 10.0]), p=p)
    assert np.all(np.isfinite(high))
    assert high[2] - high[1] == pytest.approx(64 * np.log(100.0))
    assert log_ball_volume(64, np.array(0.0), p=p) == -np.inf


@pytest.mark.parametrize("p", [0.5, 0, -1, np.nan])
def test_log_ball_volume_rejects_p_below_one(p):
    with pytest.raises(ValueError, match=r"p must be >= 1.*got p="):
        log_ball_volume(3, np.array(1.0), p=p)


@pytest.mark.parametrize("p", [1, 2, 3, np.inf])
def test_log_ball_volume_computes_in_float64_for_any_radius_dtype(p):
    r = np.array([0.3, 1.7, 12.5], dtype=np.float32)
    result = log_ball_volume(5, r, p=p)
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, log_ball_volume(5, r.astype(np.float64), p=p))
    np.testing.assert_array_equal(log_ball_volume(2, np.array([1, 2]), p=p),
                                  log_ball_volume(2, np.array([1.0, 2.0]), p=p))
