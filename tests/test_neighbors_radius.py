"""The neighbours interface against scikit-learn: ``radius_neighbors`` (points at exactly
the radius included, every list sorted by distance then index), ``kneighbors_graph`` and
``radius_neighbors_graph`` equal to scikit-learn's as sparse matrices, on float64, float32,
CSR and precomputed data, on every estimator, in memory and on Dask."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import cdist
from sklearn import neighbors as sk
from sklearn.metrics import pairwise_distances

from scratchlearn import KNeighborsClassifier, KNeighborsDensity, NearestNeighbors, load, save

ALGORITHMS = ["auto", "ball_tree", "brute", "kd_tree"]
METRICS = [  # (our parameters, SciPy's name and arguments for the reference)
    ({"p": 1}, "cityblock", {}),
    ({"p": 2}, "euclidean", {}),
    ({"p": 3}, "minkowski", {"p": 3}),
    ({"p": np.inf}, "chebyshev", {}),
    ({"metric": "sqeuclidean"}, "sqeuclidean", {}),
]


def lattice(seed=0, n=80, d=3):
    """Integer points: many distances exactly equal, and equal to integer radii."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 4, size=(n, d)).astype(float)
    return X, rng.integers(0, 3, n), rng.integers(0, 4, size=(15, d)).astype(float)


def reference_within(Q, X, radius, metric, **kwargs):
    """Each query's training points at distance <= radius, by (distance, index)."""
    D = cdist(Q, X, metric, **kwargs)
    rows = []
    for d in D:
        inside = np.flatnonzero(d <= radius)
        order = np.lexsort((inside, d[inside]))
        rows.append((d[inside][order], inside[order]))
    return rows


def assert_lists(found, expected):
    distances, indices = found
    assert distances.dtype == object and indices.dtype == object
    assert len(indices) == len(expected)
    for d, i, (want_d, want_i) in zip(distances, indices, expected, strict=True):
        np.testing.assert_array_equal(i, want_i)
        np.testing.assert_allclose(d, want_d, rtol=1e-12)


def assert_same_graph(ours, theirs, rtol=1e-12):
    """Equal as sparse matrices: the same stored entries (explicit zeros too), values."""
    assert sp.issparse(ours) and ours.format == "csr" and ours.shape == theirs.shape
    a, b = ours.tocoo(), theirs.tocoo()
    key_a, key_b = np.lexsort((a.col, a.row)), np.lexsort((b.col, b.row))
    np.testing.assert_array_equal(a.row[key_a], b.row[key_b])
    np.testing.assert_array_equal(a.col[key_a], b.col[key_b])
    np.testing.assert_allclose(a.data[key_a], b.data[key_b], rtol=rtol, atol=rtol)


@pytest.mark.parametrize("radius", [0.0, 1.0, 2.0])
@pytest.mark.parametrize("params, scipy_metric, scipy_kwargs", METRICS)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_radius_neighbors_at_exact_tie_distances(radius, params, scipy_metric, scipy_kwargs,
                                                 algorithm):
    X, _, Q = lattice()
    expected = reference_within(Q, X, radius, scipy_metric, **scipy_kwargs)
    for dtype in (np.float64, np.float32):
        model = NearestNeighbors(radius=radius, algorithm=algorithm, **params)
        model.fit(X.astype(dtype))
        assert_lists(model.radius_neighbors(Q.astype(dtype)), expected)
    # scikit-learn finds the same points (in its own order unless asked to sort).
    theirs = sk.NearestNeighbors(radius=radius, algorithm="brute", **params).fit(X)
    _, their_indices = theirs.radius_neighbors(Q)
    for ours, (_, want) in zip(their_indices, expected, strict=True):
        assert sorted(ours) == sorted(want)


@pytest.mark.parametrize("kind", ["dense", "float32", "csr"])
@pytest.mark.parametrize("metric", ["euclidean", "cosine", "manhattan"])
def test_radius_lists_and_graphs_equal_sklearns(kind, metric):
    rng = np.random.default_rng(3)
    X, Q = rng.normal(size=(150, 6)), rng.normal(size=(25, 6))
    if kind == "float32":
        X, Q = X.astype(np.float32), Q.astype(np.float32)
    if kind == "csr":
        X[np.abs(X) < 0.4], Q[np.abs(Q) < 0.4] = 0, 0
        X, Q = sp.csr_matrix(X), sp.csr_matrix(Q)
    radius = {"euclidean": 3.0, "cosine": 0.4, "manhattan": 5.0}[metric]
    ours = NearestNeighbors(radius=radius, n_neighbors=4, metric=metric).fit(X)
    theirs = sk.NearestNeighbors(radius=radius, n_neighbors=4, metric=metric).fit(X)
    # scikit-learn computes float32 distances in float32; ours are exact float64.
    tolerance = 1e-5 if kind == "float32" else 1e-12
    for queries in (Q, None):
        distances, indices = ours.radius_neighbors(queries)
        their_d, their_i = theirs.radius_neighbors(queries, sort_results=True)
        for d, i, want_d, want_i in zip(distances, indices, their_d, their_i, strict=True):
            np.testing.assert_array_equal(i, want_i)
            np.testing.assert_allclose(d, want_d, rtol=tolerance, atol=tolerance)
            assert np.all(np.diff(d) >= 0)
        for mode in ("connectivity", "distance"):
            assert_same_graph(ours.radius_neighbors_graph(queries, mode=mode),
                              theirs.radius_neighbors_graph(queries, mode=mode), tolerance)
            assert_same_graph(ours.kneighbors_graph(queries, mode=mode),
                              theirs.kneighbors_graph(queries, mode=mode), tolerance)


def test_kneighbors_graph_has_sklearns_layout():
    X, _, Q = lattice(d=2)
    ours = NearestNeighbors(n_neighbors=3).fit(X).kneighbors_graph(Q, mode="distance")
    assert isinstance(ours, sp.csr_matrix)
    distances, indices = NearestNeighbors(n_neighbors=3).fit(X).kneighbors(Q)
    # Row i: query i's neighbours in kneighbors' order (ties by index), as scikit-learn's.
    np.testing.assert_array_equal(ours.indptr, np.arange(0, 3 * len(Q) + 1, 3))
    np.testing.assert_array_equal(ours.indices, indices.ravel())
    np.testing.assert_array_equal(ours.data, distances.ravel())
    # The connectivity graph of X=None: each point linked to k others, never to itself.
    loo = NearestNeighbors(n_neighbors=3).fit(X).kneighbors_graph()
    assert loo.shape == (len(X), len(X)) and np.all(loo.diagonal() == 0)
    np.testing.assert_array_equal(loo.sum(axis=1).A.ravel(), 3.0)
    import sklearn

    with sklearn.config_context(sparse_interface="sparray"):
        assert isinstance(NearestNeighbors(n_neighbors=3).fit(X).kneighbors_graph(Q),
                          sp.csr_array)


def test_radius_of_the_kth_neighbour_holds_the_kneighbors_lists_exactly():
    rng = np.random.default_rng(5)
    X, Q = rng.normal(size=(300, 9)), rng.normal(size=(20, 9))
    for dtype in (np.float64, np.float32):
        model = NearestNeighbors(n_neighbors=6, algorithm="brute").fit(X.astype(dtype))
        distances, indices = model.kneighbors(Q.astype(dtype))
        for q, (d, i) in enumerate(zip(distances, indices, strict=True)):
            found_d, found_i = model.radius_neighbors(Q[q:q + 1].astype(dtype), radius=d[-1])
            # The same numbers (bit for bit), the k-th on the boundary included.
            np.testing.assert_array_equal(found_i[0][:6], i)
            np.testing.assert_array_equal(found_d[0][:6], d)


def test_radius_of_x_none_leaves_out_only_the_point_itself():
    X = np.array([[0.0], [0.0], [1.0], [3.0]])  # rows 0 and 1 coincide
    distances, indices = NearestNeighbors(radius=1.0).fit(X).radius_neighbors()
    assert [list(i) for i in indices] == [[1, 2], [0, 2], [0, 1], []]
    assert [list(d) for d in distances] == [[0.0, 1.0], [0.0, 1.0], [1.0, 1.0], []]


def test_precomputed_radius_queries_dense_and_sparse():
    X, _, Q = lattice()
    D_fit, D_query = pairwise_distances(X), pairwise_distances(Q, X)
    expected = reference_within(Q, X, 1.5, "euclidean")
    dense = NearestNeighbors(radius=1.5, metric="precomputed").fit(D_fit)
    assert_lists(dense.radius_neighbors(D_query), expected)
    graph = sk.NearestNeighbors(radius=2.0).fit(X).radius_neighbors_graph(Q, mode="distance")
    sparse = NearestNeighbors(radius=1.5, metric="precomputed").fit(sp.csr_matrix(D_fit))
    assert_lists(sparse.radius_neighbors(graph), expected)


def test_the_classifier_and_the_density_have_the_interface():
    X, y, Q = lattice()
    reference = NearestNeighbors(n_neighbors=4, radius=1.0).fit(X)
    for model in (KNeighborsClassifier(4).fit(X, y), KNeighborsDensity(4).fit(X, y)):
        assert_same_graph(model.kneighbors_graph(Q), reference.kneighbors_graph(Q))
        assert_same_graph(model.radius_neighbors_graph(Q, radius=1.0, mode="distance"),
                          reference.radius_neighbors_graph(Q, mode="distance"))
        with pytest.raises(ValueError, match="has no radius parameter"):
            model.radius_neighbors(Q)


def test_query_arguments_are_checked_as_in_sklearn():
    X, _, Q = lattice()
    model = NearestNeighbors().fit(X)
    for method in (model.kneighbors_graph, model.radius_neighbors_graph):
        with pytest.raises(ValueError, match='Unsupported mode, must be one of "connectivity", '
                                             'or "distance" but got "blah" instead'):
            method(Q, mode="blah")
    with pytest.raises(ValueError, match="return_distance must be True if sort_results"):
        model.radius_neighbors(Q, return_distance=False, sort_results=True)
    with pytest.raises(ValueError, match=r"radius must be a finite number.*-1"):
        model.radius_neighbors(Q, radius=-1)
    for algorithm in ("brute", "kd_tree"):  # np.inf: every training point, sorted
        everything = NearestNeighbors(algorithm=algorithm).fit(X).radius_neighbors(
            Q, radius=np.inf)
        assert all(len(indices) == len(X) for indices in everything[1])
        assert all(np.all(np.diff(d) >= 0) for d in everything[0])


@pytest.mark.parametrize("chunks", [(80,), (7, 50, 23)])
def test_radius_and_graphs_on_dask_equal_in_memory(chunks):
    X, y, Q = lattice()
    in_memory = NearestNeighbors(n_neighbors=5, radius=1.0).fit(X)
    on_dask = NearestNeighbors(n_neighbors=5, radius=1.0).fit(
        da.from_array(X, chunks=(chunks, -1)))
    Qd = da.from_array(Q, chunks=(6, -1))
    for model in (in_memory, on_dask):
        for queries, plain in ((Qd, Q), (Q, Q), (None, None)):
            if model is in_memory and queries is None:
                continue
            distances, indices = model.radius_neighbors(queries)
            if isinstance(indices, da.Array):
                distances, indices = distances.compute(), indices.compute()
            want_d, want_i = in_memory.radius_neighbors(plain)
            for a, b in zip(indices, want_i, strict=True):
                np.testing.assert_array_equal(a, b)
            for a, b in zip(distances, want_d, strict=True):
                np.testing.assert_array_equal(a, b)
            for graph, want in ((model.radius_neighbors_graph(queries, mode="distance"),
                                 in_memory.radius_neighbors_graph(plain, mode="distance")),
                                (model.kneighbors_graph(queries, mode="distance"),
                                 in_memory.kneighbors_graph(plain, mode="distance"))):
                graph = graph.compute() if isinstance(graph, da.Array) else graph
                assert_same_graph(sp.csr_matrix(graph), want)
    classifier = KNeighborsClassifier(4).fit(da.from_array(X, chunks=(chunks, -1)),
                                             da.from_array(y, chunks=chunks))
    np.testing.assert_array_equal(classifier.predict(Q),
                                  KNeighborsClassifier(4).fit(X, y).predict(Q))


def test_nearest_neighbors_and_new_parameters_round_trip_through_a_model_file(tmp_path):
    X, _, Q = lattice()
    models = [
        NearestNeighbors(n_neighbors=3, radius=1.5, algorithm="ball_tree").fit(X),
        NearestNeighbors(n_neighbors=3, metric="precomputed").fit(pairwise_distances(X)),
        NearestNeighbors(n_neighbors=3, metric="precomputed").fit(
            sk.NearestNeighbors(n_neighbors=6).fit(X).kneighbors_graph(mode="distance")),
        NearestNeighbors(n_neighbors=3, p=3, metric_params={"w": [1.0, 0.5, 2.0]}).fit(X),
        KNeighborsClassifier(3, weights=None, metric="manhattan").fit(X, np.arange(80) % 3),
    ]
    for number, model in enumerate(models):
        loaded = load(save(model, tmp_path / f"{number}.npz"))
        assert loaded.get_params() == model.get_params()
        queries = None if model.metric == "precomputed" else Q
        for got, want in zip(loaded.kneighbors(queries), model.kneighbors(queries), strict=True):
            np.testing.assert_array_equal(got, want)
        if model.metric != "precomputed":
            assert_same_graph(loaded.radius_neighbors_graph(Q, radius=1.5),
                              model.radius_neighbors_graph(Q, radius=1.5))
    with pytest.raises(ValueError, match="weights"):
        save(KNeighborsClassifier(weights=lambda d: d).fit(X, np.arange(80) % 3),
             tmp_path / "callable.npz")


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_radius_candidates_survive_rounding_where_norms_dwarf_distances(metric, dtype):
    # Points near 1000 that differ by 0.01: the products' rounding is as large as the
    # distances, so only the bound keeps every point within the radius a candidate.
    rng = np.random.default_rng(1)
    X = (1e3 + rng.normal(size=(600, 16)) * 1e-2).astype(dtype)
    Q = (1e3 + rng.normal(size=(12, 16)) * 1e-2).astype(dtype)
    model = NearestNeighbors(n_neighbors=len(X), metric=metric, algorithm="brute").fit(X)
    every_d, every_i = model.kneighbors(Q)  # every point, by the kNN kernel's exact re-rank
    for q in range(len(Q)):
        radius = every_d[q, 7]
        distances, indices = model.radius_neighbors(Q[q:q + 1], radius=radius)
        inside = every_d[q] <= radius
        np.testing.assert_array_equal(indices[0], every_i[q][inside])
        np.testing.assert_array_equal(distances[0], every_d[q][inside])
