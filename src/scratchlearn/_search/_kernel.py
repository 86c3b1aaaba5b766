"""Compiled pieces of the brute-force search: a fused running top-k and the exact re-rank.

The brute force (``brute.py``) computes one matrix product per tile of queries × training
points in the input's own precision; these numba functions do the per-entry work that NumPy
would do in several passes. All of them release the GIL, so the search runs tiles on
several Python threads at once.

Ranking values. For the Euclidean family the tiles hold

    r̃(q, x) = fl(‖x‖² − 2 q·x),

which orders the training points of one query like ‖q − x‖² (‖q‖² is constant along a row)
but carries the rounding error of the product. With unit roundoff u (2⁻²⁴ for float32,
2⁻⁵³ for float64) and D features, the error of a D-term dot product is at most
γ_D Σ|q_i x_i| ≤ γ_D ‖q‖‖x‖ with γ_D = D·u / (1 − D·u) (Higham, Accuracy and Stability of
Numerical Algorithms, §3.1), for any summation order and with or without FMA. So for every
training point

    |r̃ − r| ≤ E(q) = (D + 4)·u·(max‖x‖² + 2‖q‖·max‖x‖) · 1.01,

the extra terms covering the rounding of ‖x‖² and of the final sum. Order statistics move by
at most E too, so every true k-nearest neighbour (ties at the k-th place included) satisfies
r̃ ≤ r̃₍ₖ₎ + 2E. The running top-k keeps at least K' = k + m candidates; when the smallest
value it had to drop is above that bound, the candidates hold the whole answer and are
re-ranked with exact float64 differences. Otherwise (heavy ties, or data whose norms dwarf
its distances) the row is searched again exactly, so the answer never depends on rounding.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Cached on disk beside the module, so a run or a test session compiles once per machine.
_JIT = {"nogil": True, "cache": True, "fastmath": False, "boundscheck": False}


@njit(**_JIT)
def _insert(values, indices, v, j):  # pragma: no cover - compiled
    """Insert (v, j) into an ascending buffer, dropping its last entry; equal values keep
    their place ahead of v, so a later (larger) index never overtakes an earlier one (the
    exact fallback scans training points in index order)."""
    pos = values.shape[0] - 1
    while pos > 0 and values[pos - 1] > v:
        values[pos] = values[pos - 1]
        indices[pos] = indices[pos - 1]
        pos -= 1
    values[pos] = v
    indices[pos] = j


@njit(**_JIT)
def _precedes(va, ia, vb, ib):  # pragma: no cover - compiled
    """(va, ia) < (vb, ib) in the (value, index) order."""
    return va < vb or (va == vb and ia < ib)


@njit(**_JIT)
def _keep_smallest(values, indices, n, keep):  # pragma: no cover - compiled
    """Move the ``keep`` smallest of the first n entries, by (value, index), to the front
    (Hoare's quickselect, O(n)); return the largest value kept."""
    lo, hi = 0, n - 1
    target = keep - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        pv, pi = values[mid], indices[mid]
        a, b = lo, hi
        while a <= b:
            while _precedes(values[a], indices[a], pv, pi):
                a += 1
            while _precedes(pv, pi, values[b], indices[b]):
                b -= 1
            if a <= b:
                values[a], values[b] = values[b], values[a]
                indices[a], indices[b] = indices[b], indices[a]
                a += 1
                b -= 1
        if target <= b:
            hi = b
        elif target >= a:
            lo = a
        else:
            break
    largest = values[0]
    for c in range(1, keep):
        largest = max(largest, values[c])
    return largest


#: Columns checked at once before any is looked at one by one (see ``update_topk``).
CHUNK = 32


@njit(**_JIT)
def _count_below(ranked, fit_sq, threshold):  # pragma: no cover - compiled
    """How many of ``ranked + fit_sq`` are below ``threshold``: a branch-free loop that the
    compiler turns into vector compares, so a chunk with nothing to admit costs little."""
    count = 0
    for j in range(ranked.shape[0]):
        count += ranked[j] + fit_sq[j] < threshold
    return count


@njit(**_JIT)
def update_topk(
    G, fit_sq, column_offset, values, indices, counts, thresholds, keep
):  # pragma: no cover - compiled
    """Fold one tile into the running top-``keep`` of each of its rows.

    ``G[i, j]`` holds −2 q_i·x_j; the value ranked is ``G[i, j] + fit_sq[j]`` (with
    ``fit_sq`` zero, ``G`` holds the values themselves). Each row has a buffer of
    ``2·keep`` slots (``values``, ``indices``; ``counts[i]`` filled) and a threshold
    ``thresholds[i]`` (+inf at first). A value below the threshold is appended; a full
    buffer keeps its ``keep`` smallest by (value, index) and the threshold becomes the
    largest of them. This costs O(1) per entry admitted, where a sorted insertion costs
    O(keep). Most entries are rejected: chunks of ``CHUNK`` columns are first counted with
    vector compares and skipped when none is below the threshold.

    Invariants, which the re-rank relies on: every buffered entry is ≤ the threshold;
    every dropped entry is ≥ it; among entries equal to it, the smaller training index is
    the one kept (columns arrive in increasing index, a value enters only when strictly
    below the threshold, and compaction orders by (value, index)).
    """
    n_rows, n_cols = G.shape
    capacity = values.shape[1]
    for i in range(n_rows):
        threshold = thresholds[i]
        count = counts[i]
        row = G[i]
        for j0 in range(0, n_cols, CHUNK):
            j1 = min(j0 + CHUNK, n_cols)
            if _count_below(row[j0:j1], fit_sq[j0:j1], threshold) == 0:
                continue
            for j in range(j0, j1):
                v = row[j] + fit_sq[j]
                if v < threshold:
                    values[i, count] = v
                    indices[i, count] = j + column_offset
                    count += 1
                    if count == capacity:
                        threshold = _keep_smallest(values[i], indices[i], count, keep)
                        values[i, keep:] = np.inf
                        indices[i, keep:] = -1
                        count = keep
        counts[i] = count
        thresholds[i] = threshold


@njit(**_JIT)
def _sort_by_value_then_index(values, indices, n):  # pragma: no cover - compiled
    """Sort the first n entries by (value, index): insertion sort when short, else a stable
    sort by value of the entries put in index order first."""
    if n > 32:
        by_index = np.argsort(indices[:n])
        v, ix = values[:n][by_index], indices[:n][by_index]
        by_value = np.argsort(v, kind="mergesort")
        values[:n] = v[by_value]
        indices[:n] = ix[by_value]
        return
    for a in range(1, n):
        v, ix = values[a], indices[a]
        b = a - 1
        while b >= 0 and _precedes(v, ix, values[b], indices[b]):
            values[b + 1] = values[b]
            indices[b + 1] = indices[b]
            b -= 1
        values[b + 1] = v
        indices[b + 1] = ix


# Exact distances in float64, from the differences. Dense and CSR rows have their own
# functions rather than one taking a distance function: numba caches a compiled function on
# disk only when no function is passed around as a value.


@njit(**_JIT)
def dense_distance(Q, i, X, j, cosine):  # pragma: no cover - compiled
    """‖q_i − x_j‖², or with ``cosine`` 1 − q·x / (‖q‖‖x‖) clipped to [0, 2], in float64.

    A zero vector counts as norm 1 (as in scikit-learn's ``normalize``): cosine distance 1.
    """
    total = 0.0
    dot = 0.0
    qq = 0.0
    xx = 0.0
    for f in range(Q.shape[1]):
        a = np.float64(Q[i, f])
        b = np.float64(X[j, f])
        if cosine:
            dot += a * b
            qq += a * a
            xx += b * b
        else:
            total += (a - b) * (a - b)
    if not cosine:
        return total
    qn = np.sqrt(qq) if qq > 0 else 1.0
    xn = np.sqrt(xx) if xx > 0 else 1.0
    return min(max(1.0 - dot / (qn * xn), 0.0), 2.0)


@njit(**_JIT)
def csr_sqdistance(q_data, q_ind, q_ptr, i, x_data, x_ind, x_ptr, j):  # pragma: no cover
    """Σ_f (q_f − x_f)² over the union of two CSR rows with sorted column indices."""
    a, a_end = q_ptr[i], q_ptr[i + 1]
    b, b_end = x_ptr[j], x_ptr[j + 1]
    total = 0.0
    while a < a_end or b < b_end:
        if b >= b_end or (a < a_end and q_ind[a] < x_ind[b]):
            diff = np.float64(q_data[a])
            a += 1
        elif a >= a_end or x_ind[b] < q_ind[a]:
            diff = -np.float64(x_data[b])
            b += 1
        else:
            diff = np.float64(q_data[a]) - np.float64(x_data[b])
            a += 1
            b += 1
        total += diff * diff
    return total


@njit(**_JIT)
def _gather(cand_values, cand_indices, i, vals, idx):  # pragma: no cover - compiled
    """Row i's candidates (−1 marks an empty slot) into ``vals``/``idx``; returns how many."""
    n = 0
    for c in range(cand_values.shape[1]):
        if cand_indices[i, c] >= 0:
            vals[n] = cand_values[i, c]
            idx[n] = cand_indices[i, c]
            n += 1
    return n


@njit(**_JIT)
def _proven_candidates(vals, idx, n, k, floor, margin):  # pragma: no cover - compiled
    """Move the candidates that can be among the exact top-k to the front; return how many,
    or −1 when the candidates cannot be proven to hold the whole answer.

    With bound = r̃₍ₖ₎ + margin (margin = 2E), every true neighbour has r̃ ≤ bound; the
    candidates hold them all when nothing dropped could be below it (floor > bound).
    """
    bound = _keep_smallest(vals, idx, n, k) + margin
    if not floor > bound:
        return -1
    m = k
    for c in range(k, n):
        if vals[c] <= bound:
            vals[m], vals[c] = vals[c], vals[m]
            idx[m], idx[c] = idx[c], idx[m]
            m += 1
    return m


@njit(**_JIT)
def _write_top(vals, idx, m, k, out_dist, out_idx, i):  # pragma: no cover - compiled
    _sort_by_value_then_index(vals, idx, m)
    for c in range(k):
        out_dist[i, c] = vals[c]
        out_idx[i, c] = idx[c]


@njit(**_JIT)
def rerank_dense(
    Q, X, cosine, cand_values, cand_indices, floor, margin, k, out_dist, out_idx, failed
):  # pragma: no cover - compiled
    """Exact (distance, index) top-k of each query row from its approximate candidates.

    ``cand_values``/``cand_indices`` (rows × L) hold each row's candidates in any order;
    ``floor[i]`` is the smallest approximate value that was dropped. One row is done per row
    of ``out_dist``. Rows whose candidates
    are proven complete (:func:`_proven_candidates`) get exact float64 distances
    (:func:`dense_distance`), sorted by (distance, index); the others are flagged in
    ``failed`` for :func:`exact_search_dense`.
    """
    L = cand_values.shape[1]
    vals = np.empty(L, dtype=np.float64)
    idx = np.empty(L, dtype=np.intp)
    for i in range(out_dist.shape[0]):  # never past out_dist: numba checks no bounds
        n = _gather(cand_values, cand_indices, i, vals, idx)
        m = _proven_candidates(vals, idx, n, k, floor[i], margin[i])
        if m < 0:
            failed[i] = True
            continue
        for c in range(m):
            vals[c] = dense_distance(Q, i, X, idx[c], cosine)
        _write_top(vals, idx, m, k, out_dist, out_idx, i)


@njit(**_JIT)
def rerank_csr(
    q_data, q_ind, q_ptr, x_data, x_ind, x_ptr,
    cand_values, cand_indices, floor, margin, k, out_dist, out_idx, failed,
):  # pragma: no cover - compiled
    """:func:`rerank_dense` for CSR rows (squared Euclidean, :func:`csr_sqdistance`)."""
    L = cand_values.shape[1]
    vals = np.empty(L, dtype=np.float64)
    idx = np.empty(L, dtype=np.intp)
    for i in range(out_dist.shape[0]):  # never past out_dist: numba checks no bounds
        n = _gather(cand_values, cand_indices, i, vals, idx)
        m = _proven_candidates(vals, idx, n, k, floor[i], margin[i])
        if m < 0:
            failed[i] = True
            continue
        for c in range(m):
            vals[c] = csr_sqdistance(q_data, q_ind, q_ptr, i, x_data, x_ind, x_ptr, idx[c])
        _write_top(vals, idx, m, k, out_dist, out_idx, i)


@njit(**_JIT)
def exact_search_dense(Q, X, cosine, rows, out_dist, out_idx):  # pragma: no cover
    """The exact top-k of the given query rows over every training point, in float64: the
    fallback for rows whose candidates could not be proven complete."""
    k = out_dist.shape[1]
    for i in rows:
        out_dist[i, :] = np.inf
        out_idx[i, :] = -1
        for j in range(X.shape[0]):
            v = dense_distance(Q, i, X, j, cosine)
            if v < out_dist[i, k - 1]:
                _insert(out_dist[i], out_idx[i], v, j)


@njit(**_JIT)
def exact_search_csr(
    q_data, q_ind, q_ptr, x_data, x_ind, x_ptr, n_fit, rows, out_dist, out_idx
):  # pragma: no cover - compiled
    """:func:`exact_search_dense` for CSR rows."""
    k = out_dist.shape[1]
    for i in rows:
        out_dist[i, :] = np.inf
        out_idx[i, :] = -1
        for j in range(n_fit):
            v = csr_sqdistance(q_data, q_ind, q_ptr, i, x_data, x_ind, x_ptr, j)
            if v < out_dist[i, k - 1]:
                _insert(out_dist[i], out_idx[i], v, j)


@njit(**_JIT)
def merge_exact(cand_values, cand_indices, out_dist, out_idx):  # pragma: no cover - compiled
    """The k smallest of each row's exact candidates by (value, index); −1 is padding."""
    L = cand_values.shape[1]
    k = out_dist.shape[1]
    vals = np.empty(L, dtype=np.float64)
    idx = np.empty(L, dtype=np.intp)
    for i in range(out_dist.shape[0]):  # never past out_dist: numba checks no bounds
        n = _gather(cand_values, cand_indices, i, vals, idx)
        _keep_smallest(vals, idx, n, k)
        _write_top(vals, idx, k, k, out_dist, out_idx, i)
