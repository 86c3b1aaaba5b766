"""The search's choices change its speed and memory, never its answer: the path "auto" picks,
the tiles, the threads and the working memory; the rounding margin that makes the float32
ranking exact; the metrics' exponents and the rescaling of extreme magnitudes."""

import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import cdist

from scratchlearn import _search
from scratchlearn._search import brute


def reference(Q, X, k, metric="euclidean"):
    """Every distance by scipy's cdist in float64, rows sorted by (distance, index)."""
    D = cdist(np.asarray(Q, dtype=np.float64), np.asarray(X, dtype=np.float64), metric)
    order = np.lexsort((np.broadcast_to(np.arange(len(X)), D.shape), D), axis=-1)[:, :k]
    return np.take_along_axis(D, order, 1), order


# --- the path "auto" picks --------------------------------------------------------------------


@pytest.mark.parametrize("n_features, n_samples, sparse, expected", [
    (2, 200, False, "kd_tree"),  # low dimension: the tree (docs: up to 7 features)
    (64, 200, False, "brute"),  # high dimension: the tree cannot prune
    (2, 9, False, "brute"),  # k = 5 of 9: most of the set is in every neighbourhood
    (2, 200, True, "brute"),  # CSR data
])
def test_auto_runs_the_path_it_names_and_its_answer_is_the_brute_force_one(
    monkeypatch, n_features, n_samples, sparse, expected
):
    # The single entry point runs the backend the policy names, with the exact answer.
    calls = []
    for backend in ("kd_tree", "brute"):
        original = getattr(_search, f"{backend}_kneighbors")

        def recording(*args, _original=original, _backend=backend, **kwargs):
            calls.append(_backend)
            return _original(*args, **kwargs)

        monkeypatch.setattr(_search, f"{backend}_kneighbors", recording)
    rng = np.random.default_rng(n_features)
    X = rng.integers(0, 4, size=(n_samples, n_features)).astype(float)  # ties everywhere
    Q = rng.integers(0, 4, size=(7, n_features)).astype(float)
    wrap = sp.csr_matrix if sparse else np.asarray
    assert _search.resolve_algorithm("auto", n_features, 5, n_samples, sparse=sparse) == expected
    distances, indices = _search.kneighbors_search(wrap(Q), wrap(X), 5)
    assert calls == [expected]
    ref_d, ref_i = reference(Q, X, 5)
    np.testing.assert_array_equal(indices, ref_i)
    np.testing.assert_allclose(distances, ref_d, rtol=1e-12)


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "manhattan", "chebyshev",
                                    "minkowski"])
def test_the_tree_serves_dense_minkowski_metrics_in_low_dimension_only(metric):
    assert _search.tree_applicable(2, metric, sparse=False)
    assert not _search.tree_applicable(64, metric, sparse=False)
    assert not _search.tree_applicable(2, metric, sparse=True)
    assert not _search.tree_applicable(2, "cosine", sparse=False)


@pytest.mark.parametrize("algorithm", ["auto", "ball_tree"])
def test_a_fit_builds_the_tree_only_for_a_metric_it_serves(algorithm):
    # Weighted Minkowski distances are searched by brute force: no tree is built for them.
    X = np.random.default_rng(2).normal(size=(50, 3))
    params = {"algorithm": algorithm, "metric": "minkowski", "p": 3}
    w = np.array([0.5, 1.0, 2.0])
    _, tree = _search.training_aids(X, **params, metric_params={"w": w})
    assert tree is None
    _, tree = _search.training_aids(X, **params, metric_params=None)
    assert tree is not None


# --- tiles, threads and working memory ----------------------------------------------------------


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])  # re-ranked products; exact tiles
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_query, n_fit", [(3, 5000), (700, 300)])  # few queries; many
@pytest.mark.parametrize("n_jobs, working_memory_mib", [
    (1, 0.001),  # tiles narrower than one row of the training set, many waves of queries
    (2, 0.05),
    (20, None),  # more threads than tiles, the default memory
])
def test_the_answer_is_exact_whatever_the_tiles_threads_and_memory(
    monkeypatch, metric, dtype, n_query, n_fit, n_jobs, working_memory_mib
):
    monkeypatch.setattr(brute, "PARALLEL_MIN_PAIRS", 0)  # threads even for small searches
    rng = np.random.default_rng(n_query)
    X = rng.integers(0, 5, size=(n_fit, 4)).astype(dtype)  # ties across tiles and parts
    Q = rng.integers(0, 5, size=(n_query, 4)).astype(dtype)
    memory = {} if working_memory_mib is None else {"working_memory_mib": working_memory_mib}
    distances, indices = brute.brute_kneighbors(Q, X, 9, metric=metric, n_jobs=n_jobs, **memory)
    ref_d, ref_i = reference(Q, X, 9, "cityblock" if metric == "manhattan" else metric)
    np.testing.assert_array_equal(indices, ref_i)
    np.testing.assert_allclose(distances, ref_d, rtol=1e-12)


@pytest.mark.parametrize("n_query, n_fit, n_features, dtype, working_memory_mib, n_jobs", [
    (2000, 6000, 16, np.float32, 1, 2),  # the whole float32 product would take 46 MiB
    (2000, 6000, 16, np.float64, 1, 1),
    (40, 100_000, 8, np.float64, 0.5, 2),  # few queries: the training set cut in parts
    (5000, 3000, 4, np.float64, 0.05, 1),  # the candidate lists of all queries: 2.8 MiB
])
def test_temporary_memory_stays_within_the_working_memory(
    n_query, n_fit, n_features, dtype, working_memory_mib, n_jobs
):
    # Documented: the tiles in flight and the candidate lists fit in working_memory_mib;
    # the results (n_query x k distances and indices) and per-point arrays (norms, margins)
    # come on top. Measured in a fresh process: tracemalloc counts every thread's
    # allocations, and this one may run other threads (a Dask client's, under xdist).
    k = 10
    case = [n_query, n_fit, n_features, np.dtype(dtype).name, k, working_memory_mib, n_jobs]
    measured = subprocess.run(
        [sys.executable, "-c", MEASURE_PEAK, json.dumps(case)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    peak, on_top, indices = json.loads(measured.stdout)
    assert peak <= working_memory_mib * 2**20 + on_top, f"{peak / 2**20:.2f} MiB"
    rng = np.random.default_rng(n_fit)
    X = rng.normal(size=(n_fit, n_features)).astype(dtype)
    Q = rng.normal(size=(n_query, n_features)).astype(dtype)
    np.testing.assert_array_equal(indices, reference(Q[:50], X, k)[1])


MEASURE_PEAK = """
import json, sys, tracemalloc
import numpy as np
from scratchlearn._search import brute

n_query, n_fit, n_features, dtype, k, working_memory_mib, n_jobs = json.loads(sys.argv[1])
rng = np.random.default_rng(n_fit)
X = rng.normal(size=(n_fit, n_features)).astype(dtype)
Q = rng.normal(size=(n_query, n_features)).astype(dtype)
brute.brute_kneighbors(Q[:5], X[:20], 3, n_jobs=n_jobs)  # imports on first use are not tiles
tracemalloc.start()
before = tracemalloc.get_traced_memory()[0]
distances, indices = brute.brute_kneighbors(
    Q, X, k, n_jobs=n_jobs, working_memory_mib=working_memory_mib
)
peak = tracemalloc.get_traced_memory()[1] - before
tracemalloc.stop()
on_top = distances.nbytes + indices.nbytes + 3 * 8 * (n_fit + n_query) + 2**16
print(json.dumps([peak, on_top, indices[:50].tolist()]))
"""


# --- the rounding margin of the float32 ranking -------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_features", [1, 64, 300])
def test_rounding_margin_covers_gamma_of_every_rounding_it_counts(dtype, n_features):
    # |fl(‖x‖² − 2q·x) − (‖x‖² − 2q·x)| ≤ γ_n (max‖x‖² + 2‖q‖ max‖x‖), γ_n = n·u/(1 − n·u)
    # (Higham §3.1) with n = D + 6: D + 4 roundings in the kernel, two for the casts of the
    # queries and norms. The margin is twice that, for every query, and not so loose that
    # every row falls back to the exact search.
    rng = np.random.default_rng(n_features + 1)
    q_norms_sq = rng.uniform(0, 50, size=20)
    x_max_sq = 3.25
    margin = brute._rounding_margin(q_norms_sq, x_max_sq, n_features, dtype)
    n = n_features + 6
    u = np.finfo(dtype).eps / 2
    bound = n * u / (1 - n * u) * (x_max_sq + 2 * np.sqrt(q_norms_sq) * np.sqrt(x_max_sq))
    assert margin.shape == q_norms_sq.shape
    assert np.all(margin >= 2 * bound)
    assert np.all(margin <= 2 * bound * 1.02)


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


# --- metrics and magnitudes ---------------------------------------------------------------------


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
