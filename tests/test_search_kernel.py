"""The search kernel against independent references: metrics, precision, sparse input,
threads, the few-query split, and the exact fallback."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import cdist
from sklearn.neighbors import KNeighborsClassifier as SklearnKNN
from sklearn.neighbors import NearestNeighbors

from scratchlearn import KNeighborsClassifier, KNeighborsDensity, _search
from scratchlearn._math.ball import log_ball_volume
from scratchlearn._search import _exact, _topk, brute


def reference(X_query, X_fit, k, metric="euclidean", p=2):
    """Every distance by scipy's cdist in float64, rows sorted by (distance, index)."""
    Q, X = np.asarray(X_query, dtype=np.float64), np.asarray(X_fit, dtype=np.float64)
    kwargs = {"p": p} if metric == "minkowski" else {}
    D = cdist(Q, X, metric, **kwargs)
    order = np.lexsort((np.broadcast_to(np.arange(len(X)), D.shape), D), axis=-1)[:, :k]
    return np.take_along_axis(D, order, 1), order


def slow_smallest_k(D, k):
    """Sort every row by (value, index) in Python and keep k."""
    rows = [sorted(range(D.shape[1]), key=lambda j, r=r: (D[r, j], j))[:k] for r in range(len(D))]
    indices = np.array(rows)
    return np.take_along_axis(D, indices, axis=1), indices


def kernel_smallest_k(D, k, tile, n_parts=1):
    """The kernel's running top-k over column tiles of D (exact values), parts merged."""
    bounds = np.linspace(0, D.shape[1], n_parts + 1).astype(int)
    candidates = brute._Candidates(n_parts, len(D), k, D.dtype)
    for part in range(n_parts):
        for c0 in range(bounds[part], bounds[part + 1], tile):
            c1 = min(c0 + tile, bounds[part + 1])
            _topk.update_topk(np.ascontiguousarray(D[:, c0:c1]), np.zeros(c1 - c0), c0,
                              *candidates.state(part, slice(None)))
    values, indices, _ = candidates.merged(slice(None))
    out_d, out_i = np.empty((len(D), k)), np.empty((len(D), k), dtype=np.intp)
    _topk.merge_exact(values, indices, out_d, out_i)
    return out_d, out_i


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [1, 3, 10, 30])
@pytest.mark.parametrize("tile, n_parts", [(7, 1), (30, 1), (5, 3)])
def test_running_top_k_keeps_the_smaller_index_among_ties(seed, k, tile, n_parts):
    rng = np.random.default_rng(seed)
    D = rng.integers(0, 6, size=(20, 30)).astype(float)  # few values: ties everywhere
    values, indices = kernel_smallest_k(D, k, tile, n_parts)
    expected_values, expected_indices = slow_smallest_k(D, k)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(values, expected_values)


@settings(max_examples=60, deadline=None)
@given(
    D=arrays(
        np.float64,
        st.tuples(st.integers(1, 8), st.integers(1, 12)),
        elements=st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5]),
    ),
    data=st.data(),
)
def test_running_top_k_property(D, data):
    k = data.draw(st.integers(1, D.shape[1]))
    tile = data.draw(st.integers(1, D.shape[1]))
    n_parts = data.draw(st.integers(1, max(1, D.shape[1] // 2)))
    values, indices = kernel_smallest_k(D, k, tile, n_parts)
    expected_values, expected_indices = slow_smallest_k(D, k)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(values, expected_values)


SCIPY_NAME = {"euclidean": "euclidean", "sqeuclidean": "sqeuclidean", "cosine": "cosine",
              "manhattan": "cityblock", "chebyshev": "chebyshev"}  # fmt: skip


@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
@pytest.mark.parametrize(
    "metric, p",
    [("euclidean", 2), ("sqeuclidean", 2), ("cosine", 2), ("manhattan", 1), ("chebyshev", 2),
     ("minkowski", 3), ("minkowski", 1.5), ("l2", 2), ("l1", 2), ("cityblock", 2)],
)
def test_every_metric_matches_scipy_and_sklearn(metric, p, algorithm):
    if algorithm == "kd_tree" and metric == "cosine":
        pytest.skip("the tree serves the Minkowski family only")
    rng = np.random.default_rng(3)
    X, Q = rng.normal(size=(700, 5)), rng.normal(size=(60, 5))
    y = rng.integers(0, 3, 700)
    ours = KNeighborsClassifier(9, metric=metric, p=p, algorithm=algorithm).fit(X, y)
    distances, indices = ours.kneighbors(Q)
    name, p_ = _search.resolve_metric(metric, p)
    ref_d, ref_i = reference(Q, X, 9, "minkowski" if name == "minkowski" else SCIPY_NAME[name],
                             p_)
    np.testing.assert_array_equal(indices, ref_i)
    np.testing.assert_allclose(distances, ref_d, rtol=1e-12, atol=1e-14)
    theirs = SklearnKNN(9, metric=metric, p=p, algorithm="brute").fit(X, y)
    np.testing.assert_array_equal(ours.predict(Q), theirs.predict(Q))
    np.testing.assert_allclose(ours.predict_proba(Q), theirs.predict_proba(Q))


def test_minkowski_with_p_2_is_euclidean_and_p_inf_is_chebyshev():
    assert _search.resolve_metric("minkowski", 2) == ("euclidean", 2.0)
    assert _search.resolve_metric("minkowski", 1) == ("manhattan", 1.0)
    assert _search.resolve_metric("minkowski", np.inf) == ("chebyshev", np.inf)
    assert _search.resolve_metric("l1") == ("manhattan", 1.0)


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "sqeuclidean"])
@pytest.mark.parametrize("d", [3, 64, 300])
def test_float32_search_equals_the_float64_answer_over_the_same_values(metric, d):
    rng = np.random.default_rng(d)
    X = rng.normal(size=(3000, d)).astype(np.float32)
    Q = rng.normal(size=(200, d)).astype(np.float32)
    Q[:5] = X[:5]  # exact duplicates: distance 0
    distances, indices = _search.kneighbors_search(Q, X, 12, algorithm="brute", metric=metric)
    ref_d, ref_i = reference(Q, X, 12, metric)
    np.testing.assert_array_equal(indices, ref_i)
    np.testing.assert_allclose(distances, ref_d, rtol=1e-12, atol=1e-12)
    assert distances.dtype == np.float64
    if metric == "euclidean":
        assert np.all(distances[:5, 0] == 0)


def test_sklearn_issue_9354_float32_rows_close_together():
    # Rows of 1.0 against rows of 1.001 in 1000 dimensions: the expansion cancels in float32.
    X = np.ones((40, 1000), dtype=np.float32)
    Q = np.full((3, 1000), 1.001, dtype=np.float32)
    distances, _ = KNeighborsClassifier(5, algorithm="brute").fit(X, np.arange(40) % 2)\
        .kneighbors(Q)
    expected = np.sqrt(1000) * (np.float64(np.float32(1.001)) - 1.0)
    np.testing.assert_allclose(distances, expected, rtol=1e-12)
    assert np.all(np.isfinite(distances)) and np.all(distances > 0)


def test_rows_whose_norms_dwarf_their_distances_fall_back_to_the_exact_search(monkeypatch):
    # An offset of 1e4 makes the float32 rounding bound larger than the gaps between
    # neighbours, so the candidates cannot be proven complete and the exact search runs.
    rng = np.random.default_rng(0)
    X = (1e4 + rng.normal(size=(2000, 16))).astype(np.float32)
    Q = (1e4 + rng.normal(size=(30, 16))).astype(np.float32)
    calls = []
    original = _exact.exact_search_dense

    def recording(Q_, X_, cosine, rows, *args):
        calls.append(len(rows))
        return original(Q_, X_, cosine, rows, *args)

    monkeypatch.setattr(_exact, "exact_search_dense", recording)
    distances, indices = _search.kneighbors_search(Q, X, 5, algorithm="brute")
    assert calls and calls[0] > 0
    ref_d, ref_i = reference(Q, X, 5)
    np.testing.assert_array_equal(indices, ref_i)
    np.testing.assert_allclose(distances, ref_d, rtol=1e-12)


def test_well_scaled_data_never_needs_the_fallback(monkeypatch):
    monkeypatch.setattr(_exact, "exact_search_dense", None)  # would fail if called
    rng = np.random.default_rng(1)
    X, Q = rng.normal(size=(4000, 32)).astype(np.float32), rng.normal(size=(100, 32))
    _, indices = _search.kneighbors_search(Q.astype(np.float32), X, 10, algorithm="brute")
    np.testing.assert_array_equal(indices, reference(Q.astype(np.float32), X, 10)[1])


@pytest.mark.parametrize("k", [1, 7, 120])
def test_few_queries_split_the_training_set_and_merge(monkeypatch, k):
    monkeypatch.setattr(brute, "PARALLEL_MIN_PAIRS", 0)
    rng = np.random.default_rng(k)
    X = rng.integers(0, 5, size=(20_000, 4)).astype(float)  # many ties across the parts
    Q = rng.integers(0, 5, size=(3, 4)).astype(float)
    distances, indices = brute.brute_kneighbors(Q, X, k, n_jobs=2)
    ref_d, ref_i = reference(Q, X, k)
    np.testing.assert_array_equal(indices, ref_i)
    np.testing.assert_allclose(distances, ref_d)
    # The exact metrics merge their parts too.
    distances, indices = brute.brute_kneighbors(Q, X, k, metric="manhattan", n_jobs=2)
    ref_d, ref_i = reference(Q, X, k, "cityblock")
    np.testing.assert_array_equal(indices, ref_i)


@pytest.mark.parametrize("n_jobs", [1, 2, -1, None])
def test_n_jobs_gives_the_same_answer(monkeypatch, n_jobs):
    monkeypatch.setattr(brute, "PARALLEL_MIN_PAIRS", 0)
    rng = np.random.default_rng(5)
    X, Q = rng.normal(size=(3000, 20)), rng.normal(size=(700, 20))
    y = rng.integers(0, 2, 3000)
    for algorithm in ("brute", "kd_tree"):
        model = KNeighborsClassifier(6, algorithm=algorithm, n_jobs=n_jobs).fit(X, y)
        np.testing.assert_array_equal(model.kneighbors(Q)[1], reference(Q, X, 6)[1])


@pytest.mark.parametrize("metric, p", [("hamming", 2), ("minkowski", 0), ("minkowski", -1)])
def test_bad_metric_or_p_names_the_parameter(metric, p):
    name = "metric" if metric == "hamming" else "p"
    with pytest.raises(ValueError, match=f"{name} must"):
        KNeighborsClassifier(3, metric=metric, p=p).fit(np.eye(10, 2), np.arange(10) % 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("query_format", ["csr", "dense"])
def test_sparse_input_matches_dense_and_sklearn(dtype, query_format):
    rng = np.random.default_rng(7)
    X = sp.random(1500, 300, density=0.05, format="csr", random_state=1, dtype=dtype)
    Q = sp.random(80, 300, density=0.05, format="csr", random_state=2, dtype=dtype)
    y = rng.integers(0, 3, 1500)
    ours = KNeighborsClassifier(8).fit(X, y)
    queries = Q if query_format == "csr" else Q.toarray()
    distances, indices = ours.kneighbors(queries)
    ref_d, ref_i = reference(Q.toarray(), X.toarray(), 8)
    np.testing.assert_array_equal(indices, ref_i)
    np.testing.assert_allclose(distances, ref_d, rtol=1e-12)
    theirs = SklearnKNN(8, algorithm="brute").fit(X, y)
    np.testing.assert_array_equal(ours.predict(Q), theirs.predict(Q))
    # Leave-one-out on sparse data too.
    loo = ours.kneighbors()[1]
    np.testing.assert_array_equal(
        loo, NearestNeighbors(n_neighbors=8, algorithm="brute").fit(X.toarray()).kneighbors()[1]
    )


def test_sparse_input_is_refused_by_the_tree_and_auto_picks_brute():
    X = sp.random(100, 3, density=0.5, format="csr", random_state=0)
    # As scikit-learn: the tree is not used for sparse data, with a warning.
    with pytest.warns(UserWarning, match="cannot use tree with sparse input"):
        model = KNeighborsClassifier(3, algorithm="kd_tree").fit(X, np.arange(100) % 2)
    assert model._tree is None
    assert _search.resolve_algorithm("auto", 3, 3, 100, sparse=True) == "brute"
    assert KNeighborsClassifier(3).fit(X, np.arange(100) % 2)._tree is None


def test_cosine_and_sparse_and_high_dimension_never_pick_the_tree():
    assert _search.resolve_algorithm("auto", 3, 5, 900, metric="cosine") == "brute"
    assert _search.resolve_algorithm("auto", 3, 5, 900, metric="minkowski") == "kd_tree"
    assert _search.resolve_algorithm("auto", 16, 5, 900) == "brute"


def test_fit_stores_float32_and_only_norms_for_brute_force():
    X = np.random.default_rng(0).normal(size=(500, 20)).astype(np.float32)
    model = KNeighborsClassifier(3).fit(X, np.arange(500) % 2)
    assert model._fit_X.dtype == np.float32 and model._tree is None
    np.testing.assert_allclose(model._fit_sq, (X.astype(np.float64) ** 2).sum(1), rtol=1e-12)


@pytest.mark.parametrize("metric, p, p_ball", [("manhattan", 1, 1.0), ("chebyshev", 2, np.inf),
                                               ("minkowski", 3, 3.0), ("euclidean", 2, 2.0)])
def test_density_ball_follows_the_metric(metric, p, p_ball):
    rng = np.random.default_rng(2)
    X, Q = rng.normal(size=(400, 3)), rng.normal(size=(30, 3))
    model = KNeighborsDensity(7, metric=metric, p=p).fit(X)
    r_k = reference(Q, X, 7, "minkowski", p_ball)[0][:, -1]
    expected = np.log(7) - np.log(400) - log_ball_volume(3, r_k, p_ball)
    np.testing.assert_allclose(model.score_samples(Q), expected, rtol=1e-12)


@pytest.mark.parametrize("metric", ["cosine", "sqeuclidean"])
def test_density_refuses_metrics_without_a_ball(metric):
    with pytest.raises(ValueError, match=f"metric='{metric}'"):
        KNeighborsDensity(3, metric=metric).fit(np.eye(10, 2))
