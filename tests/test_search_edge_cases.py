"""The search on inputs at its edges: zero vectors and duplicated directions under the cosine
metric, and ties at the k-th place in the KD-tree for every Minkowski p."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial import KDTree
from scipy.spatial.distance import cdist

from scratchlearn import KNeighborsClassifier
from scratchlearn.neighbors import _kernel, _search


def reference(Q, X, k, metric, **kwargs):
    D = cdist(np.asarray(Q, float), np.asarray(X, float), metric, **kwargs)
    order = np.lexsort((np.broadcast_to(np.arange(len(X)), D.shape), D), axis=-1)[:, :k]
    return np.take_along_axis(D, order, 1), order


def cosine_distances(Q, X):
    """1 − q·x/(‖q‖‖x‖), clipped to [0, 2], with a zero vector's norm taken as 1 (distance 1
    to everything); sums taken left to right in float64, so that distances that are equal
    up to rounding (scaled copies of one direction) come out as the search's do."""
    def one(q, x):
        dot = qq = xx = 0.0
        for a, b in zip(q.tolist(), x.tolist(), strict=True):
            dot, qq, xx = dot + a * b, qq + a * a, xx + b * b
        qn = np.sqrt(qq) if qq > 0 else 1.0
        xn = np.sqrt(xx) if xx > 0 else 1.0
        return min(max(1.0 - dot / (qn * xn), 0.0), 2.0)

    return np.array([[one(q, x) for x in X] for q in Q])


def sorted_reference(D, k):
    order = np.lexsort((np.broadcast_to(np.arange(D.shape[1]), D.shape), D), axis=-1)[:, :k]
    return np.take_along_axis(D, order, 1), order


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cosine_with_zero_vectors(dtype):
    # The zero training vector is at distance 1 from every query: the nearest for a query
    # that points away from everything else; a zero query is at distance 1 from all.
    X = np.array([[-1.0, 0.0], [0.0, 0.0], [-1.0, -0.1], [-1.0, 0.2], [0.0, 0.0]], dtype=dtype)
    Q = np.array([[1.0, 0.0], [0.0, 0.0], [-2.0, 0.1]], dtype=dtype)
    distances, indices = _search.kneighbors_search(Q, X, 3, algorithm="brute", metric="cosine")
    expected_d, expected_i = sorted_reference(cosine_distances(Q.astype(float),
                                                               X.astype(float)), 3)
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, expected_d, rtol=1e-6 if dtype == np.float32 else 1e-12,
                               atol=1e-7)
    assert indices[0].tolist()[:2] == [1, 4] and indices[1].tolist() == [0, 1, 2]


def test_cosine_with_many_duplicated_directions_uses_the_exact_cosine_fallback(monkeypatch):
    # Forty points along one direction tie in cosine distance (0) far beyond the spare
    # candidates, so the rows fall back to the exact search, which must rank by cosine.
    calls = []
    original = _kernel.exact_search_dense

    def recording(Q, X, cosine, rows, *args):
        calls.append((cosine, len(rows)))
        return original(Q, X, cosine, rows, *args)

    monkeypatch.setattr(_kernel, "exact_search_dense", recording)
    rng = np.random.default_rng(0)
    direction = np.array([1.0, 2.0, -1.0])
    X = np.vstack([np.outer(rng.uniform(0.1, 10, 40), direction),
                   rng.normal(size=(20, 3))])
    Q = np.vstack([direction * 3, -direction, rng.normal(size=(2, 3))])
    distances, indices = _search.brute_kneighbors(Q, X, 5, metric="cosine")
    assert calls and calls[0][0] is True
    expected_d, expected_i = sorted_reference(cosine_distances(Q, X), 5)
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, expected_d, atol=1e-12)


P_METRICS = [(1.0, "cityblock", {}), (2.0, "euclidean", {}), (3.0, "minkowski", {"p": 3.0}),
             (np.inf, "chebyshev", {})]


class ShuffledTiesTree:
    """A KD-tree that hands equidistant neighbours back in reverse index order."""

    def __init__(self, X):
        self._tree = KDTree(X)

    def query(self, X, k, p, workers):
        distances, indices = self._tree.query(X, k=k, p=p, workers=workers)
        distances = distances.reshape(len(X), k)
        indices = indices.reshape(len(X), k).copy()
        for row in range(len(X)):
            indices[row] = indices[row][np.lexsort((-indices[row], distances[row]))]
        return distances, indices

    def query_ball_point(self, x, r, p):
        return self._tree.query_ball_point(x, r=r, p=p)[::-1]


@pytest.mark.parametrize("p, metric, kwargs", P_METRICS)
@pytest.mark.parametrize("make_tree", [KDTree, ShuffledTiesTree])
def test_kd_tree_ties_at_the_kth_place_for_every_p(p, metric, kwargs, make_tree):
    # Integer grid points, duplicated: ties in every metric, also across the k-th place.
    rng = np.random.default_rng(int(min(p, 9)))
    distinct = rng.integers(-2, 3, size=(25, 2)).astype(float)
    X = distinct[rng.integers(0, 25, size=80)]
    Q = np.vstack([X[:5], rng.integers(-2, 3, size=(10, 2)) + 0.5, [[0.0, 0.0]]])
    for k in (1, 4, 9):
        distances, indices = _search.kd_tree_kneighbors(Q, X, k, make_tree(X), p=p)
        expected_d, expected_i = reference(Q, X, k, metric, **kwargs)
        np.testing.assert_array_equal(indices, expected_i)
        np.testing.assert_allclose(distances, expected_d, rtol=1e-12)


def test_squared_distances_below_float64s_range_are_refused():
    # One scale serves all rows: the pair 1e-300 apart is representable once rescaled, but
    # its squared distance (1e-600) is not, so "sqeuclidean" refuses; "euclidean" does not.
    X = np.array([[1e-160, 0.0], [1e-300, 0.0], [2e-300, 0.0], [5e-161, 1e-160]])
    Q = np.array([[1e-300, 0.0]])
    message = (r"^The sqeuclidean distances between the rows of X \(values up to 1e-160 in "
               r"magnitude\) fall below float64's normal range \(about 2\.2e-308\)")
    with pytest.raises(ValueError, match=message):
        _search.kneighbors_search(Q, X, 2, algorithm="brute", metric="sqeuclidean")
    distances, indices = _search.kneighbors_search(Q, X, 2, algorithm="brute")
    np.testing.assert_array_equal(indices, [[1, 2]])
    np.testing.assert_array_equal(distances, [[0.0, 1e-300]])


def test_sparse_input_of_extreme_magnitude_equals_dense():
    X = np.array([[1e200, 0, 3e200], [0, 2e200, 0], [1e200, 1e200, 0], [0, 0, 5e199]])
    Q = np.array([[1e200, 1e200, 1e200], [0.0, 1e200, 0.0]])
    dense = _search.kneighbors_search(Q, X, 3, algorithm="brute")
    sparse = _search.kneighbors_search(Q, sp.csr_matrix(X), 3, algorithm="brute")
    np.testing.assert_array_equal(sparse[1], dense[1])
    np.testing.assert_allclose(sparse[0], dense[0], rtol=1e-15)
    expected_d, expected_i = sorted_reference(cdist(Q / 1e200, X / 1e200) * 1e200, 3)
    np.testing.assert_array_equal(dense[1], expected_i)
    np.testing.assert_allclose(dense[0], expected_d, rtol=1e-14)


def test_default_algorithm_serves_cosine_and_sparse_input():
    # "auto" is the default: the tree is never chosen for cosine or for CSR input.
    rng = np.random.default_rng(5)
    X, Q = rng.normal(size=(60, 3)), rng.normal(size=(4, 3))
    brute = _search.kneighbors_search(Q, X, 3, algorithm="brute", metric="cosine")
    default = _search.kneighbors_search(Q, X, 3, metric="cosine")
    np.testing.assert_array_equal(default[1], brute[1])
    np.testing.assert_array_equal(default[0], brute[0])
    sparse = _search.kneighbors_search(Q, sp.csr_matrix(X), 3)
    dense = _search.kneighbors_search(Q, X, 3, algorithm="brute")
    np.testing.assert_array_equal(sparse[1], dense[1])
    np.testing.assert_allclose(sparse[0], dense[0], rtol=1e-12)


@pytest.mark.parametrize("scale", [1e60, 1e-60])
def test_minkowski_p3_at_magnitudes_safe_for_squares_but_not_cubes(scale):
    # 1e±60 is inside the range where squares are safe (about 1e±77) but cubes, summed,
    # are not (about 1e±51): the p = 3 search must rescale too.
    rng = np.random.default_rng(6)
    X, Q = rng.normal(size=(60, 3)), rng.normal(size=(4, 3))
    y = np.arange(60) % 2
    for algorithm in ("brute", "kd_tree"):
        model = KNeighborsClassifier(4, metric="minkowski", p=3, algorithm=algorithm)
        scaled = model.fit(X * scale, y).kneighbors(Q * scale)
        plain = model.fit(X, y).kneighbors(Q)
        np.testing.assert_array_equal(scaled[1], plain[1])
        np.testing.assert_allclose(scaled[0] / scale, plain[0], rtol=1e-13)


def test_kd_tree_refuses_cosine_and_says_what_to_use():
    with pytest.raises(ValueError, match=r"^algorithm='kd_tree' cannot search metric='cosine'"
                       r".*\. Use algorithm='brute' or 'auto'\.$"):
        KNeighborsClassifier(algorithm="kd_tree", metric="cosine").fit(np.eye(6, 2),
                                                                         np.arange(6) % 2)
