"""The search kernel's pieces against slow, obvious versions.

The running top-k (``update_topk``) skips whole chunks of columns whose values are all at or
above the row's threshold, and compacts its buffer when it fills; the re-rank keeps only
candidates it can prove complete and sends the other rows to the exact search. These tests
use continuous values (negative ones included) with k ≥ 2, so that every chunk holds values
just above and just below the threshold, and compare every piece with a plain sort by
(value, index). They are small so that they also run with the kernel as plain Python
(``make mutation`` mutates it that way).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from _trees import ShuffledTiesTree

from scratchlearn._search import _exact, _order, _topk, brute, tree


def slow_top_k(values, k):
    """Each row's k smallest (value, index) pairs, sorted, by Python's sort."""
    rows = [sorted((v, j) for j, v in enumerate(row))[:k] for row in values.tolist()]
    return (np.array([[v for v, _ in row] for row in rows]),
            np.array([[j for _, j in row] for row in rows]))


def run_update_topk(G, fit_sq, k, tile):
    """``update_topk`` over column tiles of G, then ``merge_exact``: the k smallest of
    G + fit_sq per row, as the brute-force search computes them for exact metrics."""
    n_rows, n_cols = G.shape
    candidates = brute._Candidates(1, n_rows, k, G.dtype)
    for c0 in range(0, n_cols, tile):
        c1 = min(c0 + tile, n_cols)
        _topk.update_topk(np.ascontiguousarray(G[:, c0:c1]), fit_sq[c0:c1], c0,
                          *candidates.state(0, slice(None)))
    values, indices, floor = candidates.merged(slice(None))
    out_d, out_i = np.empty((n_rows, k)), np.empty((n_rows, k), dtype=np.intp)
    _topk.merge_exact(values, indices, out_d, out_i)
    return out_d, out_i, candidates, floor


@pytest.mark.parametrize("k", [2, 3, 8])
@pytest.mark.parametrize("tile", [50, 200])
@pytest.mark.parametrize("shift", [0.0, -5.0])
def test_running_top_k_of_continuous_values_equals_a_sort(k, tile, shift):
    rng = np.random.default_rng(k * tile)
    G = rng.normal(size=(6, 200)) + shift  # negative values: a sign slip shows
    fit_sq = rng.uniform(0, 2, size=200)
    values, indices, _, _ = run_update_topk(G, fit_sq, k, tile)
    expected_values, expected_indices = slow_top_k(G + fit_sq, k)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(values, expected_values)


def test_running_top_k_finds_the_smallest_in_any_chunk():
    # One small value per row, in a different chunk of 32 columns each time (the last one
    # in a short final chunk): a chunk that is skipped although it holds a value below the
    # threshold loses it.
    n_cols, k = 150, 2
    G = np.full((5, n_cols), 10.0)
    G += np.arange(n_cols) * 1e-3  # distinct, increasing: the first k columns fill the buffer
    for row, col in enumerate([5, 40, 70, 100, 149]):
        G[row, col] = -1.0 - row
    values, indices, _, _ = run_update_topk(G, np.zeros(n_cols), k, tile=n_cols)
    expected_values, expected_indices = slow_top_k(G, k)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(values, expected_values)
    assert indices[:, 0].tolist() == [5, 40, 70, 100, 149]


def test_running_top_k_state_after_compaction():
    # With 2·keep slots per row and many more columns, the buffer is compacted repeatedly;
    # the threshold is then the largest value kept, and the k smallest are among the kept.
    rng = np.random.default_rng(7)
    k = 4
    G = rng.permutation(np.arange(300.0)).reshape(3, 100)
    _, _, candidates, floor = run_update_topk(G, np.zeros(100), k, tile=100)
    for row in range(3):
        kept = np.sort(candidates.values[0, row][candidates.indices[0, row] >= 0])
        assert np.all(kept <= candidates.thresholds[0, row])
        np.testing.assert_array_equal(kept[:k], np.sort(G[row])[:k])
        assert candidates.counts[0, row] == np.sum(candidates.indices[0, row] >= 0)
    np.testing.assert_array_equal(floor, candidates.thresholds[0])
    # Every dropped value is at or above the threshold.
    for row in range(3):
        kept_idx = set(candidates.indices[0, row][candidates.indices[0, row] >= 0].tolist())
        dropped = [G[row, j] for j in range(100) if j not in kept_idx]
        assert min(dropped) >= candidates.thresholds[0, row]


@pytest.mark.parametrize("n", [5, 20, 40, 70])
def test_sort_by_value_then_index_for_short_and_long_rows(n):
    # Rows mixing tied and untied values, in shuffled order, on both sides of the 32-entry
    # switch from insertion sort to the library sort.
    rng = np.random.default_rng(n)
    values = rng.integers(0, 4, size=n).astype(float)
    values[::3] += rng.uniform(0.1, 0.9, size=len(values[::3]))  # some untied
    indices = rng.permutation(np.arange(100, 100 + n))
    out_d, out_i = np.empty((1, n)), np.empty((1, n), dtype=np.intp)
    _order.write_top(values.copy(), indices.copy(), n, n, out_d, out_i, 0)
    order = np.lexsort((indices, values))
    np.testing.assert_array_equal(out_d[0], values[order])
    np.testing.assert_array_equal(out_i[0], indices[order])


def test_merge_exact_ignores_padding_and_breaks_ties_by_index():
    values = np.array([[3.0, np.inf, 1.0, 1.0, 2.0, np.inf],
                       [0.5, 0.5, 0.5, 9.0, np.inf, 0.1]])
    indices = np.array([[7, -1, 9, 4, 2, -1],
                        [12, 3, 8, 1, -1, 30]])
    out_d, out_i = np.empty((2, 3)), np.empty((2, 3), dtype=np.intp)
    _topk.merge_exact(values, indices, out_d, out_i)
    np.testing.assert_array_equal(out_d, [[1.0, 1.0, 2.0], [0.1, 0.5, 0.5]])
    np.testing.assert_array_equal(out_i, [[4, 9, 2], [30, 3, 8]])


def squared_distances(Q, X):
    return ((Q[:, None, :].astype(np.float64) - X[None, :, :]) ** 2).sum(-1)


@pytest.mark.parametrize("k", [2, 5])
def test_rerank_gives_exact_distances_or_flags_the_row(k):
    # Candidates from the float32 running top-k of ‖x‖² − 2q·x, then the exact re-rank.
    rng = np.random.default_rng(k)
    X = rng.normal(size=(120, 4)).astype(np.float32)
    Q = rng.normal(size=(7, 4)).astype(np.float32)
    Q[0] = X[11]  # an exact duplicate: distance 0
    ops = brute._Operands(Q, X, "sqeuclidean", 2.0)
    keep = k + 8
    candidates = brute._Candidates(1, len(Q), keep, np.float32)
    brute._scan(ops, slice(0, len(Q)), 0, len(X), 50, candidates.state(0, slice(None)))
    values, indices, floor = candidates.merged(slice(None))
    out_d, out_i = np.empty((len(Q), k)), np.empty((len(Q), k), dtype=np.intp)
    failed = np.zeros(len(Q), dtype=bool)
    ops.rerank(slice(0, len(Q)), values, indices, floor, k, out_d, out_i, failed)
    assert not failed.any()  # well-scaled data: every row proven
    expected_d, expected_i = slow_top_k(squared_distances(Q, X), k)
    np.testing.assert_array_equal(out_i, expected_i)
    np.testing.assert_allclose(out_d, expected_d, rtol=1e-12, atol=1e-15)
    assert out_d[0, 0] == 0.0 and out_i[0, 0] == 11


def test_rerank_flags_rows_whose_candidates_are_not_proven():
    # A margin wider than the gap to the dropped values: nothing can be proven.
    cand_values = np.array([[1.0, 2.0, 3.0, np.inf]])
    cand_indices = np.array([[0, 1, 2, -1]])
    Q, X = np.zeros((1, 1)), np.array([[1.0], [2.0], [3.0], [4.0]])
    out_d, out_i = np.full((1, 2), -7.0), np.full((1, 2), -7, dtype=np.intp)
    failed = np.zeros(1, dtype=bool)
    for margin, floor, flagged in [(10.0, 4.0, True), (0.5, 4.0, False), (0.0, 2.0, True)]:
        failed[:] = False
        _exact.rerank_dense(Q, X, False, cand_values, cand_indices, np.array([floor]),
                            np.array([margin]), 2, out_d, out_i, failed)
        assert failed[0] == flagged, (margin, floor)
        if not flagged:
            np.testing.assert_array_equal(out_d, [[1.0, 4.0]])
            np.testing.assert_array_equal(out_i, [[0, 1]])


@pytest.mark.parametrize("cosine", [False, True])
def test_exact_search_dense_equals_a_sort(cosine):
    rng = np.random.default_rng(11)
    X = rng.integers(-2, 3, size=(40, 3)).astype(float)  # ties and a zero vector
    X[5] = 0.0
    Q = rng.integers(-2, 3, size=(6, 3)).astype(float)
    Q[2] = 0.0
    k = 6
    out_d, out_i = np.zeros((6, k)), np.zeros((6, k), dtype=np.intp)
    rows = np.array([0, 2, 5])
    _exact.exact_search_dense(Q, X, cosine, rows, out_d, out_i)
    if cosine:  # a zero vector has norm 1 here, as in scikit-learn's normalize
        qn = np.maximum(np.linalg.norm(Q, axis=1), 1e-300)
        xn = np.linalg.norm(X, axis=1)
        qn[qn == 1e-300], xn[xn == 0] = 1.0, 1.0
        D = np.clip(1 - (Q @ X.T) / qn[:, None] / xn[None, :], 0.0, 2.0)
    else:
        D = squared_distances(Q, X)
    expected_d, expected_i = slow_top_k(D, k)
    np.testing.assert_array_equal(out_i[rows], expected_i[rows])
    np.testing.assert_allclose(out_d[rows], expected_d[rows], rtol=1e-12, atol=1e-15)
    assert np.all(out_d[[1, 3, 4]] == 0)  # rows not asked for are left alone


def test_csr_distances_equal_the_dense_ones():
    X = sp.random(30, 8, density=0.3, format="csr", random_state=1)
    Q_dense = sp.random(5, 8, density=0.4, random_state=2).toarray()
    Q_dense[0] = 0.0  # an empty row
    Q = sp.csr_matrix(Q_dense)
    X.sort_indices()
    dense = squared_distances(Q.toarray(), X.toarray())
    for i in range(5):
        for j in range(30):
            got = _exact.csr_sqdistance(Q.data, Q.indices, Q.indptr, i, X.data, X.indices,
                                        X.indptr, j)
            assert got == pytest.approx(dense[i, j], rel=1e-12, abs=1e-15)
    k = 4
    out_d, out_i = np.empty((5, k)), np.empty((5, k), dtype=np.intp)
    _exact.exact_search_csr(Q.data, Q.indices, Q.indptr, X.data, X.indices, X.indptr, 30,
                            np.arange(5), out_d, out_i)
    expected_d, expected_i = slow_top_k(dense, k)
    np.testing.assert_array_equal(out_i, expected_i)
    np.testing.assert_allclose(out_d, expected_d, rtol=1e-12, atol=1e-15)


def test_kd_tree_orders_rows_that_mix_tied_and_untied_neighbours():
    # On a line, each query has some equidistant pairs and some single neighbours.
    X = np.array([[0.0], [3.0], [-1.0], [1.0], [2.0], [-2.0], [5.0], [1.5], [-4.0]])
    Q = np.array([[0.0], [0.5], [1.75]])
    k = 6
    distances, indices = tree.kd_tree_kneighbors(Q, X, k, ShuffledTiesTree(X), p=2.0)
    D = np.abs(Q - X.T)
    expected_d, expected_i = slow_top_k(D, k)
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_array_equal(distances, expected_d)
    # Row 0 holds ties (1: indices 2, 3; 2: 4, 5) and untied entries (0, 1.5).
    assert indices[0].tolist() == [0, 2, 3, 7, 4, 5]


def test_kd_tree_tie_at_the_kth_place_keeps_the_smaller_index():
    X = np.array([[2.0], [-1.0], [1.0], [-2.0], [0.5]])
    Q = np.zeros((1, 1))
    for k, expected in [(1, [4]), (2, [4, 1]), (3, [4, 1, 2]), (4, [4, 1, 2, 0])]:
        _, indices = tree.kd_tree_kneighbors(Q, X, k, ShuffledTiesTree(X), p=2.0)
        assert indices[0].tolist() == expected, k


@pytest.mark.parametrize("seed", range(3))
def test_running_top_k_on_many_small_rows(seed):
    # Many short rows with few distinct values and tiny tiles: every compaction order and
    # tie pattern of the buffer comes up.
    rng = np.random.default_rng(100 + seed)
    for _ in range(60):
        n_cols = int(rng.integers(2, 40))
        k = int(rng.integers(1, min(6, n_cols) + 1))
        G = rng.integers(0, 5, size=(3, n_cols)).astype(float)
        G[1] += rng.uniform(0, 0.5, size=n_cols)  # one row untied
        tile = int(rng.integers(1, n_cols + 1))
        values, indices, _, _ = run_update_topk(G, np.zeros(n_cols), k, tile)
        expected_values, expected_indices = slow_top_k(G, k)
        np.testing.assert_array_equal(indices, expected_indices)
        np.testing.assert_array_equal(values, expected_values)


def rerank(Q, X, cand_values, cand_indices, floor, margin, k, cosine=False):
    n = len(cand_values)
    out_d, out_i = np.full((n, k), -7.0), np.full((n, k), -7, dtype=np.intp)
    failed = np.zeros(n, dtype=bool)
    _exact.rerank_dense(Q, X, cosine, np.asarray(cand_values, dtype=float),
                        np.asarray(cand_indices, dtype=np.intp), np.asarray(floor, dtype=float),
                        np.asarray(margin, dtype=float), k, out_d, out_i, failed)
    return out_d, out_i, failed


def test_rerank_keeps_a_candidate_exactly_at_the_bound():
    # Approximate values within E = 1 of the exact squared distances (margin 2E = 2). With
    # k = 2 the bound is r̃₍₂₎ + 2 = 3; the candidate at exactly 3 can be a true neighbour,
    # and here it is: it ties at distance 2 with a larger index.
    Q = np.zeros((1, 2))
    X = np.array([[1.0, 0.0], [9.0, 9.0], [9.0, 9.0], [1.0, 1.0], [9.0, 9.0], [1.0, -1.0]])
    cand_values = [[1.0, 1.0, 3.0, 4.5]]  # indices 0, 5, 3, 1
    cand_indices = [[0, 5, 3, 1]]
    out_d, out_i, failed = rerank(Q, X, cand_values, cand_indices, [10.0], [2.0], 2)
    assert not failed[0]
    np.testing.assert_array_equal(out_i, [[0, 3]])
    np.testing.assert_array_equal(out_d, [[1.0, 2.0]])


def test_rerank_goes_on_after_a_row_it_cannot_prove():
    Q = np.zeros((3, 1))
    X = np.array([[1.0], [2.0], [3.0], [4.0]])
    cand_values = [[1.0, 4.0, 9.0], [1.0, 4.0, 9.0], [1.0, 4.0, 9.0]]
    cand_indices = [[0, 1, 2], [0, 1, 2], [0, 1, 2]]
    # Row 0: the dropped floor (2) is below the bound, so not proven; rows 1, 2 are.
    out_d, out_i, failed = rerank(Q, X, cand_values, cand_indices, [2.0, 16.0, 16.0],
                                  [0.5, 0.5, 0.5], 2)
    np.testing.assert_array_equal(failed, [True, False, False])
    np.testing.assert_array_equal(out_i[1:], [[0, 1], [0, 1]])
    np.testing.assert_array_equal(out_d[1:], [[1.0, 4.0], [1.0, 4.0]])


def slow_cosine_distance(q, x):
    """1 − q·x/(‖q‖‖x‖), sums taken left to right as the kernel does; zero norm counts as 1."""
    dot = qq = xx = 0.0
    for a, b in zip(q.tolist(), x.tolist(), strict=True):
        dot, qq, xx = dot + a * b, qq + a * a, xx + b * b
    qn = np.sqrt(qq) if qq > 0 else 1.0
    xn = np.sqrt(xx) if xx > 0 else 1.0
    return 1.0 - dot / (qn * xn)


def test_cosine_distance_of_short_vectors_and_its_range():
    # Norms below 1 are real norms (only a zero vector counts as 1).
    q, x = np.array([[0.3, 0.4]]), np.array([[0.0, 0.5], [0.6, 0.0], [0.0, 0.0]])
    got = [_exact.dense_distance(q, 0, x, j, True) for j in range(3)]
    np.testing.assert_allclose(got, [1 - 0.8, 1 - 0.6, 1.0], rtol=1e-15)
    # Antiparallel vectors whose distance rounds above 2 are clipped to 2.
    for seed in range(5000):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=3)
        q = -x * rng.uniform(0.5, 2)
        if slow_cosine_distance(q, x) > 2.0:
            break
    assert slow_cosine_distance(q, x) > 2.0
    assert _exact.dense_distance(q[None], 0, x[None], 0, True) == 2.0


def test_cosine_rerank_uses_cosine_distances():
    rng = np.random.default_rng(13)
    X = rng.normal(size=(40, 3)) * rng.uniform(0.1, 5, size=(40, 1))  # various lengths
    Q = rng.normal(size=(4, 3))
    distances, indices = brute.brute_kneighbors(Q, X, 5, metric="cosine")
    D = np.array([[slow_cosine_distance(q, x) for x in X] for q in Q])
    expected_d, expected_i = slow_top_k(D, 5)
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, expected_d, rtol=1e-12, atol=1e-15)


def test_csr_searches_break_ties_by_index():
    # Integer-valued sparse rows: many exact ties, also at the k-th place.
    rng = np.random.default_rng(14)
    X_dense = rng.integers(0, 2, size=(60, 6)).astype(float) * rng.integers(1, 3, size=(60, 6))
    Q_dense = rng.integers(0, 2, size=(8, 6)).astype(float)
    X, Q = sp.csr_matrix(X_dense), sp.csr_matrix(Q_dense)
    dense = squared_distances(Q_dense, X_dense)
    for k in (1, 3, 7):
        expected_d, expected_i = slow_top_k(dense, k)
        out_d, out_i = np.empty((8, k)), np.empty((8, k), dtype=np.intp)
        _exact.exact_search_csr(Q.data, Q.indices, Q.indptr, X.data, X.indices, X.indptr, 60,
                                np.arange(8), out_d, out_i)
        np.testing.assert_array_equal(out_i, expected_i)
        np.testing.assert_array_equal(out_d, expected_d)
        # The sparse brute-force search (running top-k, then the CSR re-rank) agrees.
        distances, indices = brute.brute_kneighbors(Q, X, k, metric="sqeuclidean")
        np.testing.assert_array_equal(indices, expected_i)
        np.testing.assert_array_equal(distances, expected_d)


def test_csr_rerank_equals_the_dense_one():
    rng = np.random.default_rng(15)
    X_dense = rng.normal(size=(30, 5)) * (rng.uniform(size=(30, 5)) < 0.5)
    Q_dense = rng.normal(size=(4, 5)) * (rng.uniform(size=(4, 5)) < 0.5)
    X, Q = sp.csr_matrix(X_dense), sp.csr_matrix(Q_dense)
    exact = squared_distances(Q_dense, X_dense)
    approx = exact + rng.uniform(-0.01, 0.01, size=exact.shape)  # within E = 0.01
    order = np.argsort(approx, axis=1)[:, :9]
    cand_values = np.take_along_axis(approx, order, 1)
    floor = np.sort(approx, axis=1)[:, 9]
    k = 4
    results = []
    for sparse in (True, False):
        out_d, out_i = np.empty((4, k)), np.empty((4, k), dtype=np.intp)
        failed = np.zeros(4, dtype=bool)
        args = (cand_values, order.astype(np.intp), floor, np.full(4, 0.02), k, out_d, out_i,
                failed)
        if sparse:
            _exact.rerank_csr(Q.data, Q.indices, Q.indptr, X.data, X.indices, X.indptr, *args)
        else:
            _exact.rerank_dense(Q_dense, X_dense, False, *args)
        results.append((out_d, out_i, failed))
    (sparse_d, sparse_i, sparse_failed), (dense_d, dense_i, dense_failed) = results
    np.testing.assert_array_equal(sparse_failed, dense_failed)
    proven = ~sparse_failed
    assert proven.sum() >= 2
    expected_d, expected_i = slow_top_k(exact, k)
    np.testing.assert_array_equal(sparse_i[proven], expected_i[proven])
    np.testing.assert_allclose(sparse_d[proven], expected_d[proven], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(sparse_i[proven], dense_i[proven])
    np.testing.assert_allclose(sparse_d[proven], dense_d[proven], rtol=1e-12, atol=1e-15)


def test_csr_rerank_goes_on_after_a_row_it_cannot_prove():
    X = sp.csr_matrix(np.array([[1.0], [2.0], [3.0], [4.0]]))
    Q = sp.csr_matrix(np.zeros((3, 1)))
    cand_values = np.array([[1.0, 4.0, 9.0]] * 3)
    cand_indices = np.array([[0, 1, 2]] * 3, dtype=np.intp)
    out_d, out_i = np.full((3, 2), -7.0), np.full((3, 2), -7, dtype=np.intp)
    failed = np.zeros(3, dtype=bool)
    # Row 0: the dropped floor (2) is below the bound, so not proven; rows 1, 2 are.
    _exact.rerank_csr(Q.data, Q.indices, Q.indptr, X.data, X.indices, X.indptr, cand_values,
                      cand_indices, np.array([2.0, 16.0, 16.0]), np.full(3, 0.5), 2, out_d,
                      out_i, failed)
    np.testing.assert_array_equal(failed, [True, False, False])
    np.testing.assert_array_equal(out_i[1:], [[0, 1], [0, 1]])
    np.testing.assert_array_equal(out_d[1:], [[1.0, 4.0], [1.0, 4.0]])
