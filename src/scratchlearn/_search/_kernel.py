# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: cdivision=True
"""Compiled pieces of the brute-force search: a fused running top-k and the exact re-rank.

The brute force (``brute.py``) computes one matrix product per tile of queries × training
points in the input's own precision; these functions do the per-entry work that NumPy would
do in several passes. All of them release the GIL, so the search runs tiles on several
Python threads at once.

Built at install. This file is Cython's "pure Python mode": plain Python whose annotations
give the C types (``floating`` is float32 or float64, ``T[:, :]`` a typed memoryview).
``setup.py`` compiles it into an extension module of the same name, which Python imports
in preference to the ``.py`` beside it: nothing compiles at run time, and a new process
loads it in milliseconds. The same file still runs as plain Python (Cython's ``cython``
module stands in for the compiler), which ``make mutation`` uses to mutate it. Loaded as
plain Python it refuses to run, with advice to reinstall, unless the environment variable
``SCRATCHLEARN_PURE_PYTHON_KERNEL=1`` asks for it: plain Python is thousands of times
slower, so a missing extension should show, not crawl.

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

import math
import os

import cython
import numpy as np
from cython.cimports.libc.math import sqrt

#: Set to "1" to run this file as plain Python where the compiled extension is missing.
PURE_PYTHON = "SCRATCHLEARN_PURE_PYTHON_KERNEL"
if not cython.compiled and os.environ.get(PURE_PYTHON) != "1":
    raise ImportError(
        "scratchlearn's compiled search kernel (scratchlearn._search._kernel) is missing: "
        "this installation has only its Python source. Reinstall scratchlearn where a C "
        "compiler and Python's headers are available (pip install --force-reinstall "
        f"--no-cache-dir scratchlearn, or pip install -e . in a checkout); or set {PURE_PYTHON}=1 "
        "to run the kernel as plain Python, thousands of times slower (for testing)."
    )

#: The working precision of the tiles and candidate lists (the training set's dtype).
floating = cython.fused_type(cython.float, cython.double)
#: The queries' own precision in the exact re-rank (float64 queries may meet float32 data).
query_float = cython.fused_type(cython.float, cython.double)
#: CSR index arrays: SciPy stores them as int32, or int64 for large matrices.
query_index = cython.fused_type(cython.int, cython.longlong)
fit_index = cython.fused_type(cython.int, cython.longlong)
intp = cython.typedef(cython.Py_ssize_t)

INF = cython.declare(cython.double, math.inf)

#: Columns checked at once before any is looked at one by one (see ``update_topk``).
CHUNK = cython.declare(cython.Py_ssize_t, 32)


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _insert(values: cython.double[:], indices: intp[:], v: cython.double, j: intp) -> cython.void:
    """Insert (v, j) into an ascending buffer, dropping its last entry; equal values keep
    their place ahead of v, so a later (larger) index never overtakes an earlier one (the
    exact fallback scans training points in index order)."""
    pos: intp = values.shape[0] - 1
    while pos > 0 and values[pos - 1] > v:
        values[pos] = values[pos - 1]
        indices[pos] = indices[pos - 1]
        pos -= 1
    values[pos] = v
    indices[pos] = j


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _precedes(va: floating, ia: intp, vb: floating, ib: intp) -> cython.bint:
    """(va, ia) < (vb, ib) in the (value, index) order."""
    return va < vb or (va == vb and ia < ib)


@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
def _keep_smallest(values: floating[:], indices: intp[:], n: intp, keep: intp) -> floating:
    """Move the ``keep`` smallest of the first n entries, by (value, index), to the front
    (Hoare's quickselect, O(n)); return the largest value kept."""
    lo: intp = 0
    hi: intp = n - 1
    target: intp = keep - 1
    mid: intp
    a: intp
    b: intp
    c: intp
    pi: intp
    pv: floating
    largest: floating
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


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _count_below(
    G: cython.const[floating][:, ::1], i: intp, fit_sq: cython.const[floating][::1], j0: intp,
    j1: intp, threshold: floating,
) -> intp:
    """How many of ``G[i, j0:j1] + fit_sq[j0:j1]`` are below ``threshold``: a branch-free
    loop that the compiler turns into vector compares, so a chunk with nothing to admit
    costs little. Each precision counts in the type that gcc vectorises for any x86-64
    (SSE2): float32 in a 32-bit integer, float64 in a double (exact: at most ``CHUNK``)."""
    j: intp
    count32: cython.int = 0
    count64: cython.double = 0.0
    if floating is cython.float:
        for j in range(j0, j1):
            count32 += G[i, j] + fit_sq[j] < threshold
        return count32
    else:
        for j in range(j0, j1):
            count64 += G[i, j] + fit_sq[j] < threshold
        return cython.cast(intp, count64)


def update_topk(
    G: cython.const[floating][:, ::1], fit_sq: cython.const[floating][::1], column_offset: intp,
    values: floating[:, :],
    indices: intp[:, :], counts: intp[:], thresholds: floating[:], keep: intp,
) -> cython.void:
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
    n_rows: intp = G.shape[0]
    n_cols: intp = G.shape[1]
    capacity: intp = values.shape[1]
    i: intp
    j: intp
    chunk: intp
    j0: intp
    j1: intp
    c: intp
    count: intp
    threshold: floating
    v: floating
    with cython.nogil:
        for i in range(n_rows):
            threshold = thresholds[i]
            count = counts[i]
            for chunk in range((n_cols + CHUNK - 1) // CHUNK):
                j0 = chunk * CHUNK
                j1 = min(j0 + CHUNK, n_cols)
                if _count_below(G, i, fit_sq, j0, j1, threshold) == 0:
                    continue
                for j in range(j0, j1):
                    v = G[i, j] + fit_sq[j]
                    if v < threshold:
                        values[i, count] = v
                        indices[i, count] = j + column_offset
                        count += 1
                        if count == capacity:
                            threshold = _keep_smallest(values[i], indices[i], count, keep)
                            for c in range(keep, capacity):
                                values[i, c] = INF
                                indices[i, c] = -1
                            count = keep
            counts[i] = count
            thresholds[i] = threshold


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _sift_down(values: cython.double[:], indices: intp[:], root: intp, end: intp) -> cython.void:
    """Restore the heap order (each entry after its children by (value, index)) below
    ``root`` among the first ``end`` entries."""
    child: intp
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and _precedes(
            values[child], indices[child], values[child + 1], indices[child + 1]
        ):
            child += 1
        if not _precedes(values[root], indices[root], values[child], indices[child]):
            return
        values[root], values[child] = values[child], values[root]
        indices[root], indices[child] = indices[child], indices[root]
        root = child


@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
def _sort_by_value_then_index(values: cython.double[:], indices: intp[:], n: intp) -> cython.void:
    """Sort the first n entries by (value, index): insertion sort when short, else heapsort
    (indices are distinct, so the order is unique whichever sort gives it)."""
    a: intp
    b: intp
    ix: intp
    v: cython.double
    if n > 32:
        for a in range(n // 2 - 1, -1, -1):
            _sift_down(values, indices, a, n)
        for a in range(n - 1, 0, -1):
            values[0], values[a] = values[a], values[0]
            indices[0], indices[a] = indices[a], indices[0]
            _sift_down(values, indices, 0, a)
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


# Exact distances in float64, from the differences, for dense and for CSR rows.


@cython.ccall
@cython.nogil
@cython.exceptval(check=False)
def dense_distance(
    Q: cython.const[query_float][:, :], i: intp, X: cython.const[floating][:, :], j: intp,
    cosine: cython.bint,
) -> cython.double:
    """‖q_i − x_j‖², or with ``cosine`` 1 − q·x / (‖q‖‖x‖) clipped to [0, 2], in float64.

    A zero vector counts as norm 1 (as in scikit-learn's ``normalize``): cosine distance 1.
    """
    total: cython.double = 0.0
    dot: cython.double = 0.0
    qq: cython.double = 0.0
    xx: cython.double = 0.0
    a: cython.double
    b: cython.double
    qn: cython.double
    xn: cython.double
    f: intp
    for f in range(Q.shape[1]):
        a = cython.cast(cython.double, Q[i, f])
        b = cython.cast(cython.double, X[j, f])
        if cosine:
            dot += a * b
            qq += a * a
            xx += b * b
        else:
            total += (a - b) * (a - b)
    if not cosine:
        return total
    qn = sqrt(qq) if qq > 0 else 1.0
    xn = sqrt(xx) if xx > 0 else 1.0
    return min(max(1.0 - dot / (qn * xn), 0.0), 2.0)


@cython.ccall
@cython.nogil
@cython.exceptval(check=False)
def csr_sqdistance(
    q_data: cython.const[query_float][:], q_ind: cython.const[query_index][:],
    q_ptr: cython.const[query_index][:], i: intp, x_data: cython.const[floating][:],
    x_ind: cython.const[fit_index][:], x_ptr: cython.const[fit_index][:], j: intp,
) -> cython.double:
    """Σ_f (q_f − x_f)² over the union of two CSR rows with sorted column indices."""
    a: intp = q_ptr[i]
    a_end: intp = q_ptr[i + 1]
    b: intp = x_ptr[j]
    b_end: intp = x_ptr[j + 1]
    total: cython.double = 0.0
    diff: cython.double
    while a < a_end or b < b_end:
        if b >= b_end or (a < a_end and q_ind[a] < x_ind[b]):
            diff = cython.cast(cython.double, q_data[a])
            a += 1
        elif a >= a_end or x_ind[b] < q_ind[a]:
            diff = -cython.cast(cython.double, x_data[b])
            b += 1
        else:
            diff = cython.cast(cython.double, q_data[a]) - cython.cast(cython.double, x_data[b])
            a += 1
            b += 1
        total += diff * diff
    return total


@cython.cfunc
@cython.inline
@cython.nogil
@cython.exceptval(check=False)
def _gather(
    cand_values: cython.const[floating][:, :], cand_indices: cython.const[intp][:, :], i: intp,
    vals: cython.double[:], idx: intp[:],
) -> intp:
    """Row i's candidates (−1 marks an empty slot) into ``vals``/``idx``; returns how many."""
    n: intp = 0
    c: intp
    for c in range(cand_values.shape[1]):
        if cand_indices[i, c] >= 0:
            vals[n] = cand_values[i, c]
            idx[n] = cand_indices[i, c]
            n += 1
    return n


@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
def _proven_candidates(
    vals: cython.double[:], idx: intp[:], n: intp, k: intp, floor: cython.double,
    margin: cython.double,
) -> intp:
    """Move the candidates that can be among the exact top-k to the front; return how many,
    or −1 when the candidates cannot be proven to hold the whole answer.

    With bound = r̃₍ₖ₎ + margin (margin = 2E), every true neighbour has r̃ ≤ bound; the
    candidates hold them all when nothing dropped could be below it (floor > bound).
    """
    bound: cython.double = _keep_smallest(vals, idx, n, k) + margin
    m: intp
    c: intp
    if not floor > bound:
        return -1
    m = k
    for c in range(k, n):
        if vals[c] <= bound:
            vals[m], vals[c] = vals[c], vals[m]
            idx[m], idx[c] = idx[c], idx[m]
            m += 1
    return m


@cython.ccall
@cython.nogil
@cython.exceptval(check=False)
def _write_top(
    vals: cython.double[:], idx: intp[:], m: intp, k: intp, out_dist: cython.double[:, :],
    out_idx: intp[:, :], i: intp,
) -> cython.void:
    c: intp
    _sort_by_value_then_index(vals, idx, m)
    for c in range(k):
        out_dist[i, c] = vals[c]
        out_idx[i, c] = idx[c]


def rerank_dense(
    Q: cython.const[query_float][:, :], X: cython.const[floating][:, :], cosine: cython.bint,
    cand_values: cython.const[floating][:, :], cand_indices: cython.const[intp][:, :],
    floor: cython.const[cython.double][:], margin: cython.const[cython.double][:], k: intp,
    out_dist: cython.double[:, :], out_idx: intp[:, :], failed: cython.uchar[:],
) -> cython.void:
    """Exact (distance, index) top-k of each query row from its approximate candidates.

    ``cand_values``/``cand_indices`` (rows × L) hold each row's candidates in any order;
    ``floor[i]`` is the smallest approximate value that was dropped. One row is done per row
    of ``out_dist``. Rows whose candidates are proven complete (:func:`_proven_candidates`)
    get exact float64 distances (:func:`dense_distance`), sorted by (distance, index); the
    others are flagged in ``failed`` (booleans) for :func:`exact_search_dense`.
    """
    L: intp = cand_values.shape[1]
    vals: cython.double[:] = np.empty(L, dtype=np.float64)
    idx: intp[:] = np.empty(L, dtype=np.intp)
    i: intp
    c: intp
    n: intp
    m: intp
    with cython.nogil:
        for i in range(out_dist.shape[0]):
            n = _gather(cand_values, cand_indices, i, vals, idx)
            m = _proven_candidates(vals, idx, n, k, floor[i], margin[i])
            if m < 0:
                failed[i] = True
                continue
            for c in range(m):
                vals[c] = dense_distance(Q, i, X, idx[c], cosine)
            _write_top(vals, idx, m, k, out_dist, out_idx, i)


def rerank_csr(
    q_data: cython.const[query_float][:], q_ind: cython.const[query_index][:],
    q_ptr: cython.const[query_index][:], x_data: cython.const[floating][:],
    x_ind: cython.const[fit_index][:], x_ptr: cython.const[fit_index][:],
    cand_values: cython.const[floating][:, :], cand_indices: cython.const[intp][:, :],
    floor: cython.const[cython.double][:], margin: cython.const[cython.double][:], k: intp,
    out_dist: cython.double[:, :], out_idx: intp[:, :], failed: cython.uchar[:],
) -> cython.void:
    """:func:`rerank_dense` for CSR rows (squared Euclidean, :func:`csr_sqdistance`)."""
    L: intp = cand_values.shape[1]
    vals: cython.double[:] = np.empty(L, dtype=np.float64)
    idx: intp[:] = np.empty(L, dtype=np.intp)
    i: intp
    c: intp
    n: intp
    m: intp
    with cython.nogil:
        for i in range(out_dist.shape[0]):
            n = _gather(cand_values, cand_indices, i, vals, idx)
            m = _proven_candidates(vals, idx, n, k, floor[i], margin[i])
            if m < 0:
                failed[i] = True
                continue
            for c in range(m):
                vals[c] = csr_sqdistance(q_data, q_ind, q_ptr, i, x_data, x_ind, x_ptr, idx[c])
            _write_top(vals, idx, m, k, out_dist, out_idx, i)


def exact_search_dense(
    Q: cython.const[query_float][:, :], X: cython.const[floating][:, :], cosine: cython.bint,
    rows: cython.const[intp][:], out_dist: cython.double[:, :], out_idx: intp[:, :],
) -> cython.void:
    """The exact top-k of the given query rows over every training point, in float64: the
    fallback for rows whose candidates could not be proven complete."""
    k: intp = out_dist.shape[1]
    r: intp
    i: intp
    j: intp
    c: intp
    v: cython.double
    with cython.nogil:
        for r in range(rows.shape[0]):
            i = rows[r]
            for c in range(k):
                out_dist[i, c] = INF
                out_idx[i, c] = -1
            for j in range(X.shape[0]):
                v = dense_distance(Q, i, X, j, cosine)
                if v < out_dist[i, k - 1]:
                    _insert(out_dist[i], out_idx[i], v, j)


def exact_search_csr(
    q_data: cython.const[query_float][:], q_ind: cython.const[query_index][:],
    q_ptr: cython.const[query_index][:], x_data: cython.const[floating][:],
    x_ind: cython.const[fit_index][:], x_ptr: cython.const[fit_index][:], n_fit: intp,
    rows: cython.const[intp][:], out_dist: cython.double[:, :], out_idx: intp[:, :],
) -> cython.void:
    """:func:`exact_search_dense` for CSR rows."""
    k: intp = out_dist.shape[1]
    r: intp
    i: intp
    j: intp
    c: intp
    v: cython.double
    with cython.nogil:
        for r in range(rows.shape[0]):
            i = rows[r]
            for c in range(k):
                out_dist[i, c] = INF
                out_idx[i, c] = -1
            for j in range(n_fit):
                v = csr_sqdistance(q_data, q_ind, q_ptr, i, x_data, x_ind, x_ptr, j)
                if v < out_dist[i, k - 1]:
                    _insert(out_dist[i], out_idx[i], v, j)


def merge_exact(
    cand_values: cython.const[floating][:, :], cand_indices: cython.const[intp][:, :],
    out_dist: cython.double[:, :], out_idx: intp[:, :],
) -> cython.void:
    """The k smallest of each row's exact candidates by (value, index); −1 is padding."""
    L: intp = cand_values.shape[1]
    k: intp = out_dist.shape[1]
    vals: cython.double[:] = np.empty(L, dtype=np.float64)
    idx: intp[:] = np.empty(L, dtype=np.intp)
    i: intp
    n: intp
    with cython.nogil:
        for i in range(out_dist.shape[0]):
            n = _gather(cand_values, cand_indices, i, vals, idx)
            _keep_smallest(vals, idx, n, k)
            _write_top(vals, idx, k, k, out_dist, out_idx, i)
