"""The search's documented choices: thread counts, the algorithm picked by "auto", the
working-memory plan, and the rounding margin that makes the float32 ranking exact."""

import os

import numpy as np
import pytest

from scratchlearn.neighbors import _search


def test_n_jobs_follows_scikit_learns_convention():
    cores = os.cpu_count() or 1
    assert _search.effective_n_jobs(None) == cores
    assert _search.effective_n_jobs(-1) == cores
    assert _search.effective_n_jobs(-2) == max(1, cores - 1)
    assert _search.effective_n_jobs(-cores - 5) == 1  # never below one thread
    assert _search.effective_n_jobs(1) == 1
    assert _search.effective_n_jobs(3) == 3


@pytest.mark.parametrize(
    "n_features, n_neighbors, n_samples, expected",
    [
        (7, 5, 100, "kd_tree"),  # KD_TREE_MAX_FEATURES = 7 is still the tree's
        (8, 5, 100, "brute"),
        (1, 49, 100, "kd_tree"),  # k < n // 2
        (1, 50, 100, "brute"),
        (1, 50, 101, "brute"),  # n // 2 = 50
        (1, 49, 99, "brute"),  # n // 2 = 49
    ],
)
def test_auto_picks_the_tree_up_to_its_limits(n_features, n_neighbors, n_samples, expected):
    assert _search.KD_TREE_MAX_FEATURES == 7
    got = _search.resolve_algorithm("auto", n_features, n_neighbors, n_samples)
    assert got == expected
    for algorithm in ("brute", "kd_tree"):  # an explicit choice is kept
        assert _search.resolve_algorithm(algorithm, n_features, n_neighbors, n_samples) \
            == algorithm


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "manhattan", "chebyshev",
                                    "minkowski"])
def test_the_tree_serves_dense_minkowski_metrics_in_low_dimension(metric):
    assert _search.tree_applicable(7, metric, sparse=False)
    assert not _search.tree_applicable(8, metric, sparse=False)
    assert not _search.tree_applicable(3, metric, sparse=True)
    assert not _search.tree_applicable(3, "cosine", sparse=False)


@pytest.mark.parametrize("n_query, n_fit, n_features", [
    (5000, 3000, 16), (40, 200_000, 8), (3, 4000, 300), (20_000, 500, 2)])
@pytest.mark.parametrize("itemsize", [4, 8])
@pytest.mark.parametrize("n_threads", [1, 2, 4])
def test_plan_stays_within_the_working_memory(n_query, n_fit, n_features, itemsize, n_threads):
    budget_mib = 4
    keep = 18
    plan = _search._Plan(n_query, n_fit, keep, itemsize, n_threads, budget_mib, n_features)
    budget = budget_mib * 2**20
    # Each thread's tile, and every candidate list of a wave, within half the budget each.
    assert plan.n_threads * plan.rows * plan.cols * itemsize <= budget / 2
    per_query = plan.n_parts * _search._Candidates.bytes_per_query(keep, itemsize)
    assert plan.wave * per_query <= budget / 2 or plan.wave == plan.rows
    assert plan.wave % plan.rows == 0 and plan.wave >= plan.rows >= 1
    assert 1 <= plan.cols <= n_fit and plan.rows <= n_query
    assert 1 <= plan.n_parts <= 2 * plan.n_threads
    # One thread below PARALLEL_MIN_PAIRS query × training pairs.
    if n_query * n_fit < _search.PARALLEL_MIN_PAIRS:
        assert plan.n_threads == 1
    else:
        assert plan.n_threads == n_threads


def test_few_queries_against_many_points_cut_the_training_set():
    plan = _search._Plan(3, 1_000_000, 18, 4, 2, _search.WORKING_MEMORY_MIB, 16)
    assert plan.n_threads == 2 and plan.n_parts == 4
    many = _search._Plan(8000, 1_000_000, 18, 4, 2, _search.WORKING_MEMORY_MIB, 16)
    assert many.n_parts == 1
    # Enough query blocks for every thread: their number is a multiple of the threads.
    assert (-(-8000 // many.rows)) % 2 == 0


def test_candidate_bytes_count_every_array_of_the_running_top_k():
    keep, itemsize = 10, 4
    candidates = _search._Candidates(1, 1, keep, np.float32)
    actual = sum(a.nbytes for a in (candidates.values, candidates.indices, candidates.counts,
                                     candidates.thresholds))
    assert _search._Candidates.bytes_per_query(keep, itemsize) == actual


@pytest.mark.parametrize("budget_mib", [0.001, 0.05])
@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
def test_a_tiny_working_memory_gives_the_same_answer(budget_mib, metric):
    # Narrower tiles than one row of the training set, and many waves of queries.
    rng = np.random.default_rng(4)
    X, Q = rng.normal(size=(700, 6)), rng.normal(size=(90, 6))
    small = _search.brute_kneighbors(Q, X, 9, metric=metric, working_memory_mib=budget_mib)
    whole = _search.brute_kneighbors(Q, X, 9, metric=metric, working_memory_mib=1e4)
    np.testing.assert_array_equal(small[1], whole[1])
    np.testing.assert_array_equal(small[0], whole[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_features", [1, 16, 300])
def test_rounding_margin_covers_the_worst_case_error_of_the_ranking(dtype, n_features):
    # |fl(‖x‖² − 2q·x) − (‖x‖² − 2q·x)| ≤ γ_D (max‖x‖² + 2‖q‖ max‖x‖), γ_D = D·u/(1 − D·u)
    # (Higham §3.1); the margin is twice a bound of at least that, for every query.
    rng = np.random.default_rng(n_features)
    q_norms_sq = rng.uniform(0, 50, size=20)
    x_max_sq = 7.5
    margin = _search._rounding_margin(q_norms_sq, x_max_sq, n_features, dtype)
    u = np.finfo(dtype).eps / 2
    gamma = n_features * u / (1 - n_features * u)
    bound = gamma * (x_max_sq + 2 * np.sqrt(q_norms_sq) * np.sqrt(x_max_sq))
    assert margin.shape == q_norms_sq.shape
    assert np.all(margin >= 2 * bound)
    # and not so loose that every row falls back to the exact search
    assert np.all(margin <= 2 * bound * (n_features + 6) / n_features * 1.02)


def test_rounding_margin_bounds_the_error_of_real_float32_products():
    rng = np.random.default_rng(9)
    X = (rng.normal(size=(400, 64)) + 3.0).astype(np.float32)
    Q = (rng.normal(size=(30, 64)) + 3.0).astype(np.float32)
    fit_sq = _search.squared_row_norms(X)
    approx = fit_sq.astype(np.float32)[None, :] + (-2 * Q) @ X.T  # as the tiles rank them
    exact = fit_sq[None, :] - 2 * Q.astype(np.float64) @ X.astype(np.float64).T
    margin = _search._rounding_margin(_search.squared_row_norms(Q), fit_sq.max(), 64,
                                      np.float32)
    error = np.abs(approx.astype(np.float64) - exact).max(axis=1)
    assert np.all(error <= margin / 2)
    assert np.all(error > 0)  # float32 products do round: the margin is needed
