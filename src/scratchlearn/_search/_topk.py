# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: cdivision=True
"""The brute force's running top-k, compiled: each tile folded into every query's
candidates as it is computed (:func:`update_topk`), and the merge of partial lists of exact
values (:func:`merge_exact`).

The tiles hold approximate values for the Euclidean family (``‖x‖² − 2q·x`` in the input's
precision; ``_exact`` re-ranks the candidates, docs/exact_search.rst proves they hold the
answer) and exact distances for the other metrics. Cython in pure Python mode, compiled at
install; as plain Python it refuses to run unless asked (see ``_compiled``).
"""

from __future__ import annotations

import math

import cython
import numpy as np

if cython.compiled:
    from cython.cimports.scratchlearn._search._order import (
        floating,
        gather,
        intp,
        keep_smallest,
        write_top,
    )
else:  # plain Python: cython.cimports cannot resolve a module of a package
    from ._compiled import refuse_plain_python

    refuse_plain_python(__name__)
    from ._order import floating, gather, intp, keep_smallest, write_top

INF = cython.declare(cython.double, math.inf)

#: Columns checked at once before any is looked at one by one (see ``update_topk``).
CHUNK = cython.declare(cython.Py_ssize_t, 32)


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
                            threshold = keep_smallest(values[i], indices[i], count, keep)
                            for c in range(keep, capacity):
                                values[i, c] = INF
                                indices[i, c] = -1
                            count = keep
            counts[i] = count
            thresholds[i] = threshold


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
            n = gather(cand_values, cand_indices, i, vals, idx)
            keep_smallest(vals, idx, n, k)
            write_top(vals, idx, k, k, out_dist, out_idx, i)
