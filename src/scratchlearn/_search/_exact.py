# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: cdivision=True
"""Exact float64 distances of the brute force, compiled: the re-rank of the running top-k's
candidates (:func:`rerank_dense`, :func:`rerank_csr`) and the exact search of the rows
whose candidates cannot be proven complete (:func:`exact_search_dense`,
:func:`exact_search_csr`).

The candidates were ranked by r̃ = fl(‖x‖² − 2q·x), within E(q) of the exact value; the
proof that they hold the answer when the smallest value dropped is above r̃₍ₖ₎ + 2E is in
docs/exact_search.rst ("The rounding bound"). Cython in pure Python mode, compiled at
install; as plain Python it refuses to run unless asked (see ``_compiled``).
"""

from __future__ import annotations

import math

import cython
import numpy as np
from cython.cimports.libc.math import sqrt

if cython.compiled:
    from cython.cimports.scratchlearn._search._order import (
        floating,
        gather,
        insert,
        intp,
        keep_smallest,
        write_top,
    )
else:  # plain Python: cython.cimports cannot resolve a module of a package
    from ._compiled import refuse_plain_python

    refuse_plain_python(__name__)
    from ._order import floating, gather, insert, intp, keep_smallest, write_top

#: The queries' own precision in the exact re-rank (float64 queries may meet float32 data).
query_float = cython.fused_type(cython.float, cython.double)
#: CSR index arrays: SciPy stores them as int32, or int64 for large matrices.
query_index = cython.fused_type(cython.int, cython.longlong)
fit_index = cython.fused_type(cython.int, cython.longlong)

INF = cython.declare(cython.double, math.inf)


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
    bound: cython.double = keep_smallest(vals, idx, n, k) + margin
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
            n = gather(cand_values, cand_indices, i, vals, idx)
            m = _proven_candidates(vals, idx, n, k, floor[i], margin[i])
            if m < 0:
                failed[i] = True
                continue
            for c in range(m):
                vals[c] = dense_distance(Q, i, X, idx[c], cosine)
            write_top(vals, idx, m, k, out_dist, out_idx, i)


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
            n = gather(cand_values, cand_indices, i, vals, idx)
            m = _proven_candidates(vals, idx, n, k, floor[i], margin[i])
            if m < 0:
                failed[i] = True
                continue
            for c in range(m):
                vals[c] = csr_sqdistance(q_data, q_ind, q_ptr, i, x_data, x_ind, x_ptr, idx[c])
            write_top(vals, idx, m, k, out_dist, out_idx, i)


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
                    insert(out_dist[i], out_idx[i], v, j)


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
                    insert(out_dist[i], out_idx[i], v, j)
