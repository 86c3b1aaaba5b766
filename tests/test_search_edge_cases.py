"""The search on inputs at its edges: zero vectors and duplicated directions under the cosine
metric, and ties at the k-th place in the KD-tree for every Minkowski p."""

import math
import threading

import numpy as np
import pytest
import scipy.sparse as sp
from _trees import ShuffledTiesTree
from scipy.spatial import KDTree
from scipy.spatial.distance import cdist

from scratchlearn import KNeighborsClassifier, _search
from scratchlearn._math import scaling
from scratchlearn._search import _exact, _topk, brute, tree


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
    original = _exact.exact_search_dense

    def recording(Q, X, cosine, rows, *args):
        calls.append((cosine, len(rows)))
        return original(Q, X, cosine, rows, *args)

    monkeypatch.setattr(_exact, "exact_search_dense", recording)
    rng = np.random.default_rng(0)
    direction = np.array([1.0, 2.0, -1.0])
    X = np.vstack([np.outer(rng.uniform(0.1, 10, 40), direction),
                   rng.normal(size=(20, 3))])
    Q = np.vstack([direction * 3, -direction, rng.normal(size=(2, 3))])
    distances, indices = brute.brute_kneighbors(Q, X, 5, metric="cosine")
    assert calls and calls[0][0] is True
    expected_d, expected_i = sorted_reference(cosine_distances(Q, X), 5)
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, expected_d, atol=1e-12)


P_METRICS = [(1.0, "cityblock", {}), (2.0, "euclidean", {}), (3.0, "minkowski", {"p": 3.0}),
             (np.inf, "chebyshev", {})]


@pytest.mark.parametrize("p, metric, kwargs", P_METRICS)
@pytest.mark.parametrize("make_tree", [KDTree, ShuffledTiesTree])
def test_kd_tree_ties_at_the_kth_place_for_every_p(p, metric, kwargs, make_tree):
    # Integer grid points, duplicated: ties in every metric, also across the k-th place.
    rng = np.random.default_rng(int(min(p, 9)))
    distinct = rng.integers(-2, 3, size=(25, 2)).astype(float)
    X = distinct[rng.integers(0, 25, size=80)]
    Q = np.vstack([X[:5], rng.integers(-2, 3, size=(10, 2)) + 0.5, [[0.0, 0.0]]])
    for k in (1, 4, 9):
        distances, indices = tree.kd_tree_kneighbors(Q, X, k, make_tree(X), p=p)
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


@pytest.mark.parametrize("scale", [2.0**600, 2.0**-600])  # squares overflow; underflow
@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
def test_radius_search_at_extreme_magnitudes_as_at_unit_scale(scale, metric, algorithm):
    # Searched at a power-of-two scale: the same points within the scaled radius, at the
    # scaled distances of the unit-scale search and of SciPy's.
    rng = np.random.default_rng(12)
    X, Q = rng.normal(size=(40, 3)), rng.normal(size=(5, 3))
    unit = _search.radius_search(Q, X, 1.5, algorithm=algorithm, metric=metric)
    found = _search.radius_search(Q * scale, X * scale, 1.5 * scale, algorithm=algorithm,
                                  metric=metric)
    np.testing.assert_array_equal(found.indptr, unit.indptr)
    np.testing.assert_array_equal(found.indices, unit.indices)
    np.testing.assert_allclose(found.distances, unit.distances * scale, rtol=1e-14)
    expected = cdist(Q, X, "cityblock" if metric == "manhattan" else metric)
    np.testing.assert_allclose(found.distances / scale,
                               expected[found.row_ids(), found.indices], rtol=1e-13)
    assert np.all(expected[found.row_ids(), found.indices] <= 1.5)
    assert np.sum(expected <= 1.5) == len(found.indices) > 0

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


# --- distances that do not fit in float64 once scaled back ------------------------------

TOO_BIG = ("exceed the float64 range", "Divide X")
TOO_SMALL = ("fall below float64's normal range", "Multiply X")


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "manhattan", "chebyshev"])
@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
@pytest.mark.parametrize("values, magnitude, problem", [
    ([1.5e308, -1.5e308, 0.0], "1.5e+308", TOO_BIG),  # |1.5e308 − (−1.5e308)| = 3e308
    ([2.0**-1070, 0.0, -(2.0**-1070)], "7.91e-323", TOO_SMALL),  # 2^−1070 is subnormal
])
def test_distances_outside_float64_are_refused_saying_why_and_what_to_do(
    metric, algorithm, values, magnitude, problem
):
    X = np.array(values)[:, None]
    # Also when the caller has NumPy raise on underflow: the message, not a FloatingPointError.
    with np.errstate(under="raise"), pytest.raises(ValueError) as error:
        _search.kneighbors_search(X, X, 3, algorithm=algorithm, metric=metric)
    message = str(error.value)
    what, advice = problem
    assert message.startswith(f"The {metric} distances between the rows of X")
    assert f"values up to {magnitude} in magnitude" in message and what in message
    assert advice in message  # by a constant: rescaling changes no neighbour
    if metric == "sqeuclidean":
        assert "use metric='euclidean'" in message


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "chebyshev"])
@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
def test_a_distance_of_exactly_the_smallest_normal_float_is_returned(metric, algorithm):
    # In one dimension every Minkowski distance is |q − x|: the smallest normal float64
    # 2^−1022 fits, so it is returned (not refused as underflow), exactly.
    tiny = np.finfo(np.float64).tiny
    X = np.array([[3 * tiny], [tiny], [0.0], [-4 * tiny]])
    Q = np.array([[0.0], [tiny]])
    with np.errstate(under="raise"):
        distances, indices = _search.kneighbors_search(Q, X, 3, algorithm=algorithm,
                                                       metric=metric)
    expected_d, expected_i = sorted_reference(np.abs(Q - X.T), 3)
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_array_equal(distances, expected_d)
    assert distances[0, 1] == tiny and distances[1, 1] == tiny


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("exponent", [-70, 9])
def test_ldexp_scales_exactly_and_keeps_the_dtype(dtype, sparse, exponent):
    rng = np.random.default_rng(11)
    dense = (rng.normal(size=(5, 4)) * (rng.uniform(size=(5, 4)) < 0.6)).astype(dtype)
    X = sp.csr_matrix(dense) if sparse else dense
    before = X.copy()
    scaled = scaling.ldexp(X, exponent)
    assert scaled.dtype == dtype and sp.issparse(scaled) == sparse
    got = scaled.toarray() if sparse else scaled
    # A power of two is exact: the float64 product of the same values, cast back.
    np.testing.assert_array_equal(got, (dense.astype(np.float64) * 2.0**exponent).astype(dtype))
    after = X.toarray() if sparse else X
    np.testing.assert_array_equal(after, before.toarray() if sparse else before)


def test_kd_tree_kneighbors_defaults_to_the_euclidean_distance():
    rng = np.random.default_rng(12)
    X, Q = rng.normal(size=(50, 3)), rng.normal(size=(6, 3))
    distances, indices = tree.kd_tree_kneighbors(Q, X, 4, KDTree(X))
    expected_d, expected_i = reference(Q, X, 4, "euclidean")
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, expected_d, rtol=1e-12)


@pytest.mark.parametrize("n_features", [96, 200])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_brute_force_in_high_dimension_matches_scikit_learn(n_features, dtype):
    # Beyond 64 features the tiles widen (n_features // 64 training tiles of 256): any
    # number of features must search, also between multiples of 64.
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(n_features)
    X = rng.normal(size=(1100, n_features)).astype(dtype)
    Q = rng.normal(size=(7, n_features)).astype(dtype)
    distances, indices = _search.kneighbors_search(Q, X, 5, algorithm="brute")
    X64, Q64 = X.astype(np.float64), Q.astype(np.float64)
    expected_i = NearestNeighbors(n_neighbors=5, algorithm="brute").fit(X64).kneighbors(
        Q64, return_distance=False)
    np.testing.assert_array_equal(indices, expected_i)
    expected_d = np.take_along_axis(cdist(Q64, X64), expected_i, 1)  # from the differences
    np.testing.assert_allclose(distances, expected_d, rtol=1e-12)
    assert distances.dtype == np.float64  # float64 distances of the given values


@pytest.mark.parametrize("scale", [2.0**230, 2.0**-230])
@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
def test_minkowski_high_p_at_magnitudes_safe_for_squares_but_not_fifth_powers(scale, algorithm):
    # 2^±230 (about 1e±69) is inside the range where squares are safe (2^±255) but fifth
    # powers overflow or underflow float64: the p = 5 search must rescale, by a power of two,
    # so the answer is the unscaled one times the scale, exactly up to the root's rounding.
    rng = np.random.default_rng(15)
    X, Q = rng.normal(size=(40, 3)), rng.normal(size=(5, 3))
    distances, indices = _search.kneighbors_search(Q * scale, X * scale, 4, algorithm=algorithm,
                                                   metric="minkowski", p=5)
    expected_d, expected_i = reference(Q, X, 4, "minkowski", p=5)
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances / scale, expected_d, rtol=1e-13)


@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
def test_chebyshev_keeps_subnormal_differences_when_no_rescaling_is_needed(algorithm):
    # Chebyshev squares nothing: values up to 4 are searched as they are, so differences of a
    # few subnormal steps (2^−1074) stay exact and distinct.
    step = 2.0**-1074
    X = np.array([[4.0], [5 * step], [6 * step], [0.0]])
    Q = np.array([[0.0], [6 * step]])
    distances, indices = _search.kneighbors_search(Q, X, 3, algorithm=algorithm,
                                                   metric="chebyshev")
    expected_d, expected_i = sorted_reference(np.abs(Q - X.T), 3)
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_array_equal(distances, expected_d)
    assert distances[0].tolist() == [0.0, 5 * step, 6 * step]


def test_kd_tree_search_refuses_cosine_naming_the_way_out():
    X = np.eye(6, 2)
    with pytest.raises(ValueError, match="algorithm='kd_tree' cannot search metric='cosine'") \
            as error:
        _search.kneighbors_search(X, X, 2, algorithm="kd_tree", metric="cosine")
    assert "Use algorithm='brute' or 'auto'" in str(error.value)


@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
def test_one_query_value_of_extreme_magnitude_is_rescaled_too(algorithm):
    # The largest |value| may be the query's, even a single one (a 1 × 1 query).
    X = np.array([[1.0], [2.0], [-3.0]])
    Q = np.array([[1e200]])
    assert scaling.max_abs(Q) == 1e200 and scaling.max_abs(-Q) == 1e200
    assert scaling.max_abs(np.empty((0, 3))) == 0.0
    distances, indices = _search.kneighbors_search(Q, X, 2, algorithm=algorithm)
    expected_d, expected_i = sorted_reference(np.abs(Q - X.T), 2)
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_array_equal(distances, expected_d)
    assert np.isfinite(distances).all()


@pytest.mark.parametrize("search", [brute.brute_kneighbors, _search.kneighbors_search])
def test_minkowski_defaults_to_p_2(search):
    # p defaults to 2 (scikit-learn's default): "minkowski" without p, or with p=None (which
    # the estimators take), is the Euclidean distance, at the entry point and in the brute
    # force alike.
    assert _search.resolve_metric("minkowski") == ("euclidean", 2.0)
    assert _search.resolve_metric("minkowski", None) == ("euclidean", 2.0)
    rng = np.random.default_rng(11)
    X = rng.normal(size=(40, 3))
    Q = rng.normal(size=(6, 3))
    distances, indices = search(Q, X, 4, metric="minkowski")
    expected_d, expected_i = reference(Q, X, 4, "euclidean")
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, expected_d, rtol=1e-12)
    model = KNeighborsClassifier(4, p=None).fit(X, np.arange(40) % 2)
    np.testing.assert_array_equal(model.kneighbors(Q)[1], expected_i)


@pytest.mark.parametrize("scale", [1e25, 1e-25])
def test_float32_values_beyond_float32s_safe_range_are_rescaled(scale):
    # float32 squares overflow beyond about 1.8e19 and lose every digit below about 1e-22
    # (1e25 and 1e-25 are inside float64's safe range): the rescaling must follow the
    # data's own precision, or the float32 products give inf or 0 and wrong neighbours.
    rng = np.random.default_rng(23)
    X = (rng.normal(size=(200, 6)) * scale).astype(np.float32)
    Q = (rng.normal(size=(15, 6)) * scale).astype(np.float32)
    assert _search.rescaling_exponent(scale, np.float32) != 0
    assert _search.rescaling_exponent(scale, np.float64) == 0
    distances, indices = _search.kneighbors_search(Q, X, 5, algorithm="brute")
    expected_d, expected_i = reference(Q, X, 5, "euclidean")
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, expected_d, rtol=1e-13, atol=0)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_squared_row_norms_square_each_value_in_float64(sparse, dtype):
    # float32 values have 24-bit significands: their squares need 48 bits, which float64
    # holds exactly and float32 rounds (by up to 6e-8), so only float64 squares match.
    rng = np.random.default_rng(21)
    X = rng.normal(size=(30, 7)).astype(dtype)
    X[rng.random(X.shape) < 0.4] = 0
    expected = [math.fsum(v * v for v in row) for row in X.astype(np.float64).tolist()]
    norms = _search.squared_row_norms(sp.csr_matrix(X) if sparse else X)
    assert norms.dtype == np.float64 and norms.shape == (30,)
    np.testing.assert_allclose(norms, expected, rtol=1e-15, atol=0)


@pytest.mark.parametrize("sparse", [False, True])
def test_float64_queries_of_a_float32_model_get_their_own_exact_distances(sparse):
    # The ranking casts the queries to the training set's float32; the re-rank must use the
    # queries as given (dense and CSR alike), not their float32 roundings.
    rng = np.random.default_rng(22)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    Q = rng.normal(size=(25, 5))
    assert not np.array_equal(Q, Q.astype(np.float32))
    wrap = sp.csr_matrix if sparse else np.asarray
    model = KNeighborsClassifier(n_neighbors=6, algorithm="brute")
    model.fit(wrap(X), np.arange(300) % 3)
    distances, indices = model.kneighbors(wrap(Q))
    expected_d, expected_i = reference(Q, X.astype(np.float64), 6, "euclidean")
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, expected_d, rtol=1e-13, atol=0)


def test_training_norms_given_do_not_skip_the_rescaling_of_values_below_the_safe_range():
    # float64 squares are safe for |values| in [2^-255.5, 2^256]. Here max|x| = 2^-256 is
    # below that while max‖x‖ = 2^-255 (four equal coordinates) is inside it: the norms
    # passed in cannot prove the range, so the data must be scanned and rescaled, or the
    # differences of order 2^-600 square to 0 and every tiny point ties with the others.
    tiny = 2.0**-600
    X = np.zeros((11, 4))
    X[0] = 2.0**-256
    X[1:, 0] = np.arange(1, 11) * tiny
    Q = np.array([[5.3 * tiny, 0.0, 0.0, 0.0]])
    fit_sq = _search.squared_row_norms(X)
    assert math.sqrt(fit_sq.max()) == 2.0**-255
    distances, indices = _search.kneighbors_search(Q, X, 4, algorithm="brute", fit_sq=fit_sq)
    expected_d, expected_i = reference(np.ldexp(Q, 600), np.ldexp(X, 600), 4, "euclidean")
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, np.ldexp(expected_d, -600), rtol=1e-13, atol=0)


class TileFailed(Exception):
    """Raised inside one tile of a threaded search."""


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
def test_an_error_in_a_worker_thread_reaches_the_caller(monkeypatch, metric):
    # The third tile's top-k update fails on a worker thread, and the search must raise
    # that error, not return the lists that the other tiles left (its futures' results are
    # read).
    monkeypatch.setattr(brute, "PARALLEL_MIN_PAIRS", 0)  # the pool, whatever the size
    rng = np.random.default_rng(23)
    Q, X = rng.normal(size=(2048, 3)), rng.normal(size=(1024, 3))
    original, lock, threads = _topk.update_topk, threading.Lock(), []

    def update_topk(*args):
        with lock:
            threads.append(threading.get_ident())
            n_calls = len(threads)
        if n_calls == 3:
            raise TileFailed("tile 3")
        return original(*args)

    monkeypatch.setattr(_topk, "update_topk", update_topk)
    with pytest.raises(TileFailed, match="tile 3"):
        _search.kneighbors_search(Q, X, 5, algorithm="brute", metric=metric, n_jobs=2)
    assert threading.get_ident() not in threads  # the tiles ran on the pool's threads
