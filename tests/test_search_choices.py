"""The search's documented choices: thread counts, the algorithm picked by "auto", the
working-memory plan, and the rounding margin that makes the float32 ranking exact."""

import os

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import cdist

from scratchlearn import _search
from scratchlearn._search import brute, policy


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
    assert policy.KD_TREE_MAX_FEATURES == 7
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
    plan = brute._Plan(n_query, n_fit, keep, itemsize, n_threads, budget_mib, n_features)
    budget = budget_mib * 2**20
    # Each thread's tile, and every candidate list of a wave, within half the budget each.
    assert plan.n_threads * plan.rows * plan.cols * itemsize <= budget / 2
    per_query = plan.n_parts * brute._Candidates.bytes_per_query(keep, itemsize)
    assert plan.wave * per_query <= budget / 2 or plan.wave == plan.rows
    assert plan.wave % plan.rows == 0 and plan.wave >= plan.rows >= 1
    assert 1 <= plan.cols <= n_fit and plan.rows <= n_query
    assert 1 <= plan.n_parts <= 2 * plan.n_threads
    # One thread below PARALLEL_MIN_PAIRS query × training pairs.
    if n_query * n_fit < brute.PARALLEL_MIN_PAIRS:
        assert plan.n_threads == 1
    else:
        assert plan.n_threads == n_threads


def test_few_queries_against_many_points_cut_the_training_set():
    plan = brute._Plan(3, 1_000_000, 18, 4, 2, brute.WORKING_MEMORY_MIB, 16)
    assert plan.n_threads == 2 and plan.n_parts == 4
    many = brute._Plan(8000, 1_000_000, 18, 4, 2, brute.WORKING_MEMORY_MIB, 16)
    assert many.n_parts == 1
    # Enough query blocks for every thread: their number is a multiple of the threads.
    assert (-(-8000 // many.rows)) % 2 == 0


def test_candidate_bytes_count_every_array_of_the_running_top_k():
    keep, itemsize = 10, 4
    candidates = brute._Candidates(1, 1, keep, np.float32)
    actual = sum(a.nbytes for a in (candidates.values, candidates.indices, candidates.counts,
                                     candidates.thresholds))
    assert brute._Candidates.bytes_per_query(keep, itemsize) == actual


@pytest.mark.parametrize("budget_mib", [0.001, 0.05])
@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
def test_a_tiny_working_memory_gives_the_same_answer(budget_mib, metric):
    # Narrower tiles than one row of the training set, and many waves of queries.
    rng = np.random.default_rng(4)
    X, Q = rng.normal(size=(700, 6)), rng.normal(size=(90, 6))
    small = brute.brute_kneighbors(Q, X, 9, metric=metric, working_memory_mib=budget_mib)
    whole = brute.brute_kneighbors(Q, X, 9, metric=metric, working_memory_mib=1e4)
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
    margin = brute._rounding_margin(q_norms_sq, x_max_sq, n_features, dtype)
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
    margin = brute._rounding_margin(_search.squared_row_norms(Q), fit_sq.max(), 64,
                                      np.float32)
    error = np.abs(approx.astype(np.float64) - exact).max(axis=1)
    assert np.all(error <= margin / 2)
    assert np.all(error > 0)  # float32 products do round: the margin is needed


def test_threads_start_at_exactly_parallel_min_pairs():
    assert brute.PARALLEL_MIN_PAIRS == 2_000_000
    at = brute._Plan(1000, 2000, 18, 8, 2, brute.WORKING_MEMORY_MIB, 16)
    below = brute._Plan(999, 2000, 18, 8, 2, brute.WORKING_MEMORY_MIB, 16)
    assert at.n_threads == 2 and below.n_threads == 1


@pytest.mark.parametrize("n_query, n_threads, n_blocks", [
    (3000, 2, 4),  # ⌈3000 / TILE_QUERIES⌉ = 3 blocks, rounded up to a multiple of 2
    (8000, 2, 8),
    (2048, 2, 2),  # as many blocks as threads: every thread busy, no cut of the training set
    (5000, 3, 6),
    (3000, 1, 3),
])
def test_query_blocks_are_tall_and_a_multiple_of_the_threads(n_query, n_threads, n_blocks):
    assert brute.TILE_QUERIES == 1024
    plan = brute._Plan(n_query, 1_000_000, 18, 4, n_threads, brute.WORKING_MEMORY_MIB, 16)
    assert plan.n_threads == n_threads and plan.n_parts == 1
    assert plan.rows == -(-n_query // n_blocks)  # the queries shared evenly by the blocks
    assert -(-n_query // plan.rows) == n_blocks


def test_more_threads_than_training_tiles_cut_the_training_set_by_tiles():
    # 20 threads and one block of 400 queries: the 5000 training points are cut into one
    # part per tile of TILE_FIT = 256 (⌈5000 / 256⌉ = 20 < 2 × 20).
    plan = brute._Plan(400, 5000, 18, 8, 20, brute.WORKING_MEMORY_MIB, 3)
    assert plan.n_threads == 20 and plan.n_parts == 20 and isinstance(plan.n_parts, int)
    rng = np.random.default_rng(13)
    X, Q = rng.normal(size=(5000, 3)), rng.normal(size=(400, 3))
    distances, indices = brute.brute_kneighbors(Q, X, 4, n_jobs=20)
    D = cdist(Q, X)  # from the differences, as the search's exact re-rank
    expected_i = np.argsort(D, axis=1, kind="stable")[:, :4]
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, np.take_along_axis(D, expected_i, 1), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_candidate_lists_stay_within_the_working_memory(monkeypatch, dtype):
    # Every wave's candidate lists hold only that wave's queries, within half the budget.
    budget_mib = 0.05
    waves = []

    class Recording(brute._Candidates):
        def __init__(self, n_parts, n_rows, keep, dtype):
            waves.append(n_parts * n_rows * self.bytes_per_query(keep, np.dtype(dtype).itemsize))
            waves.append(n_rows)
            super().__init__(n_parts, n_rows, keep, dtype)

    monkeypatch.setattr(brute, "_Candidates", Recording)
    rng = np.random.default_rng(14)
    X, Q = rng.normal(size=(700, 6)).astype(dtype), rng.normal(size=(90, 6)).astype(dtype)
    distances, indices = brute.brute_kneighbors(Q, X, 9, working_memory_mib=budget_mib)
    nbytes, rows = waves[0::2], waves[1::2]
    assert len(rows) > 1 and sum(rows) == len(Q)
    assert max(nbytes) <= budget_mib * 2**20 / 2
    D = np.sqrt(((Q[:, None, :].astype(float) - X.astype(float)) ** 2).sum(axis=2))
    expected_i = np.argsort(D, axis=1, kind="stable")[:, :9]
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, np.take_along_axis(D, expected_i, 1), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("metric, p, q", [("euclidean", 2, 2), ("manhattan", 1, 2),
                                          ("minkowski", 3, 3), ("minkowski", 2, 2)])
def test_rescaling_exponent_follows_its_documented_range(dtype, metric, p, q):
    # No rescaling within [2^(e_min/2q), 2^(e_max/2q)], both ends included; outside, the
    # magnitude is brought into [2^(H−1), 2^H), H = ⌊e_max/2q⌋.
    info = np.finfo(dtype)
    low, high = info.minexp / (2 * q), info.maxexp / (2 * q)
    H = np.floor(high)
    for magnitude in (0.0, 2.0**low, 1.0, 1e10 if dtype == np.float64 else 1e4, 2.0**high):
        assert _search.rescaling_exponent(magnitude, dtype, metric, p) == 0
    for magnitude in (np.nextafter(2.0**high, np.inf), 2.0**high * 3, 2.0**low / 3, 1e300):
        e = _search.rescaling_exponent(magnitude, dtype, metric, p)
        assert 2.0 ** (H - 1) <= magnitude * 2.0**-e < 2.0**H


def test_rescaling_exponent_defaults_to_squares():
    # p defaults to 2: "minkowski" alone is the Euclidean distance, safe up to 2^256.
    assert _search.rescaling_exponent(1e60, np.float64, "minkowski") == 0
    assert _search.rescaling_exponent(1e60, np.float64) == 0
    assert _search.rescaling_exponent(1e60, np.float64, "minkowski", 3) != 0


@pytest.mark.parametrize("metric, p, expected", [
    ("euclidean", 7, ("euclidean", 2.0)), ("l2", 7, ("euclidean", 2.0)),
    ("sqeuclidean", 7, ("sqeuclidean", 2.0)), ("cosine", 7, ("cosine", 2.0)),
    ("manhattan", 7, ("manhattan", 1.0)), ("cityblock", 7, ("manhattan", 1.0)),
    ("chebyshev", 7, ("chebyshev", np.inf)), ("minkowski", 1, ("manhattan", 1.0)),
    ("minkowski", 2, ("euclidean", 2.0)), ("minkowski", np.inf, ("chebyshev", np.inf)),
    ("minkowski", 3, ("minkowski", 3.0)),
])
def test_resolve_metric_gives_every_metric_its_exponent(metric, p, expected):
    name, exponent = _search.resolve_metric(metric, p)
    assert (name, exponent) == expected and isinstance(exponent, float)


def test_a_working_memory_below_one_tile_row_narrows_the_tiles():
    # Half of 0.001 MiB is 524 bytes: not one float64 row of a 256-wide tile, so the tile
    # is one row of the widest width that fits, 524 // 8 = 65 training points.
    plan = brute._Plan(10, 300, 18, 8, 1, 0.001, 16)
    assert plan.rows == 1 and plan.cols == 65
    # Exactly one 256-wide row fits (2048 ≤ half the budget < 4096): the tile stays 256 wide.
    plan = brute._Plan(10, 300, 18, 8, 1, 5000 / 2**20, 16)
    assert plan.rows == 1 and plan.cols == 256
    # Half of 20 bytes holds one float64 and not two: the tile is a single product.
    plan = brute._Plan(10, 300, 18, 8, 1, 20 / 2**20, 16)
    assert plan.rows == 1 and plan.cols == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_features", [1, 64, 300])
def test_rounding_margin_covers_gamma_of_every_rounding_it_counts(dtype, n_features):
    # The kernel's bound counts D + 4 roundings, plus two for the casts of the queries and
    # norms: D + 6, each worth γ_n = n·u/(1 − n·u) (Higham §3.1), not merely n·u.
    rng = np.random.default_rng(n_features + 1)
    q_norms_sq = rng.uniform(0, 50, size=20)
    x_max_sq = 3.25
    margin = brute._rounding_margin(q_norms_sq, x_max_sq, n_features, dtype)
    n = n_features + 6
    u = np.finfo(dtype).eps / 2
    gamma = n * u / (1 - n * u)
    bound = gamma * (x_max_sq + 2 * np.sqrt(q_norms_sq) * np.sqrt(x_max_sq))
    assert np.all(margin >= 2 * bound)


@pytest.mark.parametrize("n_features, n_samples, sparse, expected", [
    (2, 200, False, "kd_tree"), (7, 200, False, "kd_tree"), (8, 200, False, "brute"),
    (2, 9, False, "brute"), (2, 200, True, "brute"),
])
def test_the_entry_point_runs_the_backend_auto_picks(monkeypatch, n_features, n_samples,
                                                     sparse, expected):
    # The tree is 1.6-26x faster in low dimension (KD_TREE_MAX_FEATURES): the single entry
    # point must run it there, with the answer of the brute force either way.
    calls = []
    for backend in ("kd_tree", "brute"):
        original = getattr(_search, f"{backend}_kneighbors")

        def recording(*args, _original=original, _backend=backend, **kwargs):
            calls.append(_backend)
            return _original(*args, **kwargs)

        monkeypatch.setattr(_search, f"{backend}_kneighbors", recording)
    rng = np.random.default_rng(n_features)
    X, Q = rng.normal(size=(n_samples, n_features)), rng.normal(size=(7, n_features))
    wrap = sp.csr_matrix if sparse else np.asarray
    distances, indices = _search.kneighbors_search(wrap(Q), wrap(X), 5)
    assert calls == [expected]
    D = cdist(Q, X)
    expected_i = np.lexsort((np.broadcast_to(np.arange(n_samples), D.shape), D), axis=-1)[:, :5]
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, np.take_along_axis(D, expected_i, 1), rtol=1e-12)
