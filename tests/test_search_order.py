"""Every kNN path returns each row sorted by (distance, index) and equal to a slow reference.

A partial sort (``argpartition``) already orders small rows by chance, so these tests use
thousands of training points and k in the hundreds, on random data and on data full of exact
ties (integer grids with duplicated rows), through every entry point: the search kernel with
each algorithm, few queries against many training points, leave-one-out, and the public
estimators. float32 and sparse input must give the float64 answer on the same values.
"""

import hashlib
from functools import cache

import numpy as np
import pytest
import scipy.sparse as sp

from scratchlearn import KNeighborsClassifier, KNeighborsDensity
from scratchlearn._search import brute, kneighbors_leave_one_out, kneighbors_search

ALGORITHMS = ["brute", "kd_tree", "auto"]
ESTIMATORS = [KNeighborsClassifier, KNeighborsDensity]

#: Elements of the broadcast (queries × training × features) difference per reference chunk.
REFERENCE_CHUNK_ELEMENTS = 4_000_000


def reference_kneighbors(X_query, X_fit, k, *, leave_one_out=False):
    """The slow, obvious answer, in float64.

    Every distance as ``np.linalg.norm`` of the difference, then each row sorted by
    (distance, index) with ``np.lexsort``. ``leave_one_out`` compares row i of ``X_fit``
    with the other rows only (``X_query`` must then be ``X_fit``).
    """
    X_query = np.asarray(X_query, dtype=np.float64)
    X_fit = np.asarray(X_fit, dtype=np.float64)
    key = (_digest(X_query), _digest(X_fit), leave_one_out)
    if key not in _REFERENCE_CACHE or _REFERENCE_CACHE[key][0].shape[1] < k:
        n_keep = min(len(X_fit) - leave_one_out, max(k, REFERENCE_MIN_K))
        _REFERENCE_CACHE[key] = _reference(X_query, X_fit, n_keep, leave_one_out)
    distances, indices = _REFERENCE_CACHE[key]
    return distances[:, :k], indices[:, :k]


#: Several tests ask for the same reference (the same data through other entry points), so
#: each is computed once, for at least this many neighbours, and sliced.
REFERENCE_MIN_K = 300
_REFERENCE_CACHE = {}


def _digest(A):
    return A.shape, hashlib.sha1(np.ascontiguousarray(A).tobytes()).hexdigest()


def _reference(X_query, X_fit, k, leave_one_out):
    n_query, n_fit = len(X_query), len(X_fit)
    chunk = max(1, REFERENCE_CHUNK_ELEMENTS // (n_fit * X_fit.shape[1]))
    distances = np.empty((n_query, k))
    indices = np.empty((n_query, k), dtype=np.intp)
    for start in range(0, n_query, chunk):
        Q = X_query[start : start + chunk]
        D = np.linalg.norm(Q[:, None, :] - X_fit[None, :, :], axis=-1)
        index = np.broadcast_to(np.arange(n_fit), D.shape)
        # Sort by distance, then by index; leave-one-out puts each point itself last.
        is_self = np.zeros(D.shape, dtype=bool)
        if leave_one_out:
            is_self[np.arange(len(Q)), start + np.arange(len(Q))] = True
        order = np.lexsort((index, D, is_self), axis=-1)[:, :k]
        distances[start : start + chunk] = np.take_along_axis(D, order, axis=1)
        indices[start : start + chunk] = np.take_along_axis(index, order, axis=1)
    distances.flags.writeable = indices.flags.writeable = False
    return distances, indices


def assert_rows_sorted(distances, indices):
    """Each row ascends by distance; equal distances come in increasing index order."""
    d_here, d_next = distances[:, :-1], distances[:, 1:]
    i_here, i_next = indices[:, :-1], indices[:, 1:]
    in_order = (d_here < d_next) | ((d_here == d_next) & (i_here < i_next))
    bad_rows = np.flatnonzero(~in_order.all(axis=1))
    if len(bad_rows):
        row = bad_rows[0]
        col = np.flatnonzero(~in_order[row])[0]
        pytest.fail(
            f"{len(bad_rows)} of {len(distances)} rows are not sorted by (distance, index); "
            f"row {row}, columns {col} and {col + 1}: distances {distances[row, col : col + 2]}, "
            f"indices {indices[row, col : col + 2]}"
        )


def assert_matches_reference(result, X_query, X_fit, k, *, leave_one_out=False, rtol=1e-12):
    """Sorted rows, the reference's indices exactly and its distances to float64 rounding."""
    distances, indices = result
    n_query = len(X_fit) if leave_one_out else len(X_query)
    assert distances.shape == indices.shape == (n_query, k)
    assert np.issubdtype(indices.dtype, np.integer)
    assert np.all(np.isfinite(distances))
    assert np.all(distances >= 0)
    assert_rows_sorted(distances, indices)
    expected_d, expected_i = reference_kneighbors(X_query, X_fit, k, leave_one_out=leave_one_out)
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, expected_d, rtol=rtol, atol=0)


def random_data(rng, n, d):
    return rng.normal(size=(n, d))


def tied_data(rng, n, d):
    """Integer grid points in which every row is likely duplicated: ties everywhere.

    Squared distances between integer points are exact integers in float64, so equal
    distances really are equal, whatever way they are computed.
    """
    levels = 4 if d <= 8 else 2
    distinct = rng.integers(0, levels, size=(max(2, n // 3), d)).astype(float)
    return distinct[rng.integers(0, len(distinct), size=n)]


def tied_queries(rng, X_fit, n):
    """Training rows themselves (distance-0 ties), fresh grid points and half-integer points."""
    d = X_fit.shape[1]
    own = X_fit[rng.integers(0, len(X_fit), size=n // 3)]
    fresh = rng.integers(0, 3, size=(n // 3, d)).astype(float)
    centres = rng.integers(0, 3, size=(n - 2 * (n // 3), d)) + 0.5
    return np.concatenate([own, fresh, centres])


@cache
def dataset(kind, n_fit, n_query, d, seed=0):
    """(X_query, X_fit), read-only and cached so several tests share one reference input."""
    rng = np.random.default_rng([seed, n_fit, n_query, d, kind == "ties"])
    if kind == "random":
        X_fit, X_query = random_data(rng, n_fit, d), random_data(rng, n_query, d)
    else:
        X_fit = tied_data(rng, n_fit, d)
        X_query = tied_queries(rng, X_fit, n_query)
    X_query.flags.writeable = X_fit.flags.writeable = False
    return X_query, X_fit


def labels(n):
    return np.arange(n) % 3


# The kernel, each algorithm, at thousands of points and k in the hundreds: the running
# top-k hands its candidates over in no order, so only the final sort orders the rows.

SEARCH_CASES = [  # kind, d
    ("random", 3),
    ("random", 40),
    ("ties", 3),
    ("ties", 20),
]


@pytest.mark.parametrize("kind, d", SEARCH_CASES)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_kneighbors_search_rows_are_sorted_and_exact(kind, d, algorithm):
    X_query, X_fit = dataset(kind, 3000, 150, d)
    k = 200
    result = kneighbors_search(X_query, X_fit, k, algorithm=algorithm)
    assert_matches_reference(result, X_query, X_fit, k)


@pytest.mark.parametrize("kind, d", [("random", 40), ("ties", 20)])
def test_brute_kneighbors_rows_are_sorted_and_exact(kind, d):
    # The brute-force backend called directly, with its own defaults.
    X_query, X_fit = dataset(kind, 3000, 150, d)
    k = 250
    result = brute.brute_kneighbors(X_query, X_fit, k)
    assert_matches_reference(result, X_query, X_fit, k)


# Few queries against many training points: the search may split over training blocks.

FEW_QUERY_CASES = [  # kind, d
    ("random", 64),
    ("random", 4),
    ("ties", 8),
]


@pytest.mark.parametrize("kind, d", FEW_QUERY_CASES)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_few_queries_against_many_training_points(kind, d, algorithm):
    X_query, X_fit = dataset(kind, 50_000, 5, d)
    k = 150
    result = kneighbors_search(X_query, X_fit, k, algorithm=algorithm)
    assert_matches_reference(result, X_query, X_fit, k)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_few_queries_through_the_estimator(estimator):
    X_query, X_fit = dataset("random", 50_000, 5, 64)
    k = 150
    model = estimator(n_neighbors=k, algorithm="brute").fit(X_fit, labels(len(X_fit)))
    assert_matches_reference(model.kneighbors(X_query), X_query, X_fit, k)


# Leave-one-out: each training point's neighbours among the others.

LOO_CASES = [  # kind, d
    ("random", 8),
    ("ties", 3),
]


@pytest.mark.parametrize("kind, d", LOO_CASES)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("entry", ["classifier", "density", "kneighbors_leave_one_out"])
def test_leave_one_out_rows_are_sorted_and_exact(kind, d, algorithm, entry):
    _, X = dataset(kind, 2000, 1, d)
    k = 150
    if entry == "kneighbors_leave_one_out":
        result = kneighbors_leave_one_out(X, k, algorithm=algorithm)
    else:
        estimator = KNeighborsClassifier if entry == "classifier" else KNeighborsDensity
        result = estimator(n_neighbors=k, algorithm=algorithm).fit(X, labels(len(X))).kneighbors()
    assert_matches_reference(result, X, X, k, leave_one_out=True)


def test_leave_one_out_with_duplicates_of_smaller_index():
    # Row i has copies both before and after it: it is at distance 0 from them, and they must
    # fill its list in index order, without the point itself.
    X = np.repeat(np.arange(40.0)[:, None], 50, axis=0)  # 50 copies of each of 40 points
    X = np.column_stack([X, np.zeros(len(X))])
    k = 120
    for algorithm in ("brute", "kd_tree"):
        model = KNeighborsClassifier(n_neighbors=k, algorithm=algorithm).fit(X, labels(len(X)))
        assert_matches_reference(model.kneighbors(), X, X, k, leave_one_out=True)


# The public estimators on new queries.


@pytest.mark.parametrize("kind, d", [("random", 40), ("ties", 3)])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_estimator_kneighbors_rows_are_sorted_and_exact(kind, d, algorithm, estimator):
    X_query, X_fit = dataset(kind, 3000, 150, d)
    k = 180
    model = estimator(n_neighbors=k, algorithm=algorithm).fit(X_fit, labels(len(X_fit)))
    result = model.kneighbors(X_query)
    assert_matches_reference(result, X_query, X_fit, k)
    np.testing.assert_array_equal(model.kneighbors(X_query, return_distance=False), result[1])
    # A k given at query time, above the one given at construction.
    assert_matches_reference(model.kneighbors(X_query, n_neighbors=300), X_query, X_fit, 300)


# float32: the same answer as float64 on the same values.


def as_float32(*arrays):
    """float32 copies, and the float64 values they hold (what the reference must see)."""
    single = [np.asarray(A, dtype=np.float32) for A in arrays]
    return single, [A.astype(np.float64) for A in single]


FLOAT32_CASES = [  # kind, d, offset: an offset makes ‖x‖² large beside the distances
    ("random", 3, 0.0),
    ("random", 40, 0.0),
    ("random", 40, 10.0),
    ("ties", 20, 0.0),
]


@pytest.mark.parametrize("kind, d, offset", FLOAT32_CASES)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_float32_search_equals_the_float64_reference(kind, d, offset, algorithm):
    X_query, X_fit = dataset(kind, 3000, 150, d)
    (Q32, F32), (Q64, F64) = as_float32(X_query + offset, X_fit + offset)
    k = 200
    result = kneighbors_search(Q32, F32, k, algorithm=algorithm)
    assert_matches_reference(result, Q64, F64, k)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_float32_estimator_equals_the_float64_reference(algorithm, estimator):
    X_query, X_fit = dataset("random", 3000, 150, 40)
    (Q32, F32), (Q64, F64) = as_float32(X_query + 10.0, X_fit + 10.0)
    k = 180
    model = estimator(n_neighbors=k, algorithm=algorithm).fit(F32, labels(len(F32)))
    assert_matches_reference(model.kneighbors(Q32), Q64, F64, k)
    _, X = dataset("random", 2000, 1, 8)
    (X32,), (X64,) = as_float32(X + 10.0)
    model = estimator(n_neighbors=150, algorithm=algorithm).fit(X32, labels(len(X32)))
    assert_matches_reference(model.kneighbors(), X64, X64, 150, leave_one_out=True)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_float32_few_queries_against_many_training_points(algorithm):
    X_query, X_fit = dataset("random", 50_000, 5, 64)
    (Q32, F32), (Q64, F64) = as_float32(X_query + 10.0, X_fit + 10.0)
    k = 150
    assert_matches_reference(kneighbors_search(Q32, F32, k, algorithm=algorithm), Q64, F64, k)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_float32_leave_one_out(algorithm):
    _, X = dataset("random", 2000, 1, 8)
    (X32,), (X64,) = as_float32(X + 10.0)
    k = 150
    result = kneighbors_leave_one_out(X32, k, algorithm=algorithm)
    assert_matches_reference(result, X64, X64, k, leave_one_out=True)


# scikit-learn issue 9354: float32 rows of 1.0 against rows of 1.001 in 1,000 dimensions. The
# expansion ‖a‖² + ‖b‖² − 2a·b cancels to noise in float32 (even to negative values).


def issue_9354_data():
    d = 1000
    X_fit = np.ones((12, d), dtype=np.float32)
    X_fit[1::2] = np.float32(1.001)  # even rows 1.0, odd rows 1.001
    X_query = np.ones((3, d), dtype=np.float32)
    X_query[1] = np.float32(1.001)
    # The exact distance between a row of 1.0 and a row of float32(1.001), in float64.
    gap = np.sqrt(d) * (np.float64(np.float32(1.001)) - 1.0)
    return X_query, X_fit, gap


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_issue_9354_float32_distances_are_exact(algorithm):
    X_query, X_fit, gap = issue_9354_data()
    k = len(X_fit)
    distances, indices = kneighbors_search(X_query, X_fit, k, algorithm=algorithm)
    assert not np.any(np.isnan(distances))
    assert np.all(distances >= 0)
    same = np.arange(0, 12, 2)  # rows equal to queries 0 and 2
    other = np.arange(1, 12, 2)
    expected_i = np.array([[*same, *other], [*other, *same], [*same, *other]])
    expected_d = np.repeat([[0.0] * 6 + [gap] * 6], 3, axis=0)
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, expected_d, rtol=1e-12, atol=0)
    assert gap == pytest.approx(np.sqrt(1000) * 0.001, rel=1e-4)
    assert_matches_reference((distances, indices), X_query, X_fit, k)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_issue_9354_through_the_estimator(algorithm, estimator):
    X_query, X_fit, gap = issue_9354_data()
    model = estimator(n_neighbors=4, algorithm=algorithm).fit(X_fit, labels(len(X_fit)))
    distances, indices = model.kneighbors(X_query)
    assert not np.any(np.isnan(distances))
    np.testing.assert_array_equal(indices, [[0, 2, 4, 6], [1, 3, 5, 7], [0, 2, 4, 6]])
    np.testing.assert_array_equal(distances[:, :4], 0.0)
    distances, _ = model.kneighbors(X_query, n_neighbors=8)
    np.testing.assert_allclose(distances[:, 6:], gap, rtol=1e-12, atol=0)
    assert_matches_reference(model.kneighbors(), X_fit, X_fit, 4, leave_one_out=True)


# Sparse CSR input with brute force: the same answer as dense.


def sparse_data(kind, n_fit, n_query, d, seed=0):
    """(queries, training set) as CSR matrices with about 10 % of entries stored."""
    rng = np.random.default_rng([seed, n_fit, n_query, d, kind == "ties"])

    def sample(n):
        if kind == "ties":  # small integers: many exactly equal distances
            values = rng.integers(1, 3, size=(n, d)).astype(float)
        else:
            values = rng.normal(size=(n, d))
        return sp.csr_matrix(np.where(rng.random((n, d)) < 0.1, values, 0.0))

    return sample(n_query), sample(n_fit)


@pytest.mark.parametrize("kind", ["random", "ties"])
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_sparse_csr_equals_dense(kind, estimator):
    Q_sparse, F_sparse = sparse_data(kind, 2000, 100, 50)
    Q_dense, F_dense = Q_sparse.toarray(), F_sparse.toarray()
    k = 150
    y = labels(F_dense.shape[0])
    dense = estimator(n_neighbors=k, algorithm="brute").fit(F_dense, y)
    sparse = estimator(n_neighbors=k, algorithm="brute").fit(F_sparse, y)

    expected = dense.kneighbors(Q_dense)
    assert_matches_reference(expected, Q_dense, F_dense, k)
    for queries in (Q_sparse, Q_dense):
        distances, indices = sparse.kneighbors(queries)
        np.testing.assert_array_equal(indices, expected[1])
        np.testing.assert_allclose(distances, expected[0], rtol=1e-12, atol=0)
        assert_rows_sorted(distances, indices)

    # Leave-one-out (the dense answer is checked against the reference above, in
    # test_leave_one_out_rows_are_sorted_and_exact).
    expected = dense.kneighbors()
    distances, indices = sparse.kneighbors()
    assert_rows_sorted(distances, indices)
    np.testing.assert_array_equal(indices, expected[1])
    np.testing.assert_allclose(distances, expected[0], rtol=1e-12, atol=0)
