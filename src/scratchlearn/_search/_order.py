# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: cdivision=True
"""The (value, index) order of the search kernel's candidate lists, compiled.

A candidate is a (value, training index) pair; (va, ia) comes before (vb, ib) when va < vb,
or when the values are equal and ia < ib, so equidistant training points keep their index
order. Here: the quickselect that keeps the smallest of a buffer (:func:`keep_smallest`),
the insertion into a short ascending list (:func:`insert`), the sort (insertion sort or
heapsort), and the candidate lists' gathering and writing out (:func:`gather`,
:func:`write_top`). ``_topk`` and ``_exact`` cimport them (``_order.pxd`` declares them and
the fused type ``floating``); each is called once per row or per full buffer, while the
comparison itself (``_precedes``), called in the inner loops, stays here to be inlined.

Cython in pure Python mode, compiled at install; as plain Python it refuses to run unless
asked (see ``_compiled``).
"""

from __future__ import annotations

import cython

if not cython.compiled:  # compiled, _order.pxd declares the types
    from ._compiled import refuse_plain_python

    refuse_plain_python(__name__)
    #: The working precision of the tiles and candidate lists (the training set's dtype).
    floating = cython.fused_type(cython.float, cython.double)
    intp = cython.typedef(cython.Py_ssize_t)


@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
def insert(values: cython.double[:], indices: intp[:], v: cython.double, j: intp) -> cython.void:
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
def keep_smallest(values: floating[:], indices: intp[:], n: intp, keep: intp) -> floating:
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


@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
def gather(
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


@cython.ccall
@cython.nogil
@cython.exceptval(check=False)
def write_top(
    vals: cython.double[:], idx: intp[:], m: intp, k: intp, out_dist: cython.double[:, :],
    out_idx: intp[:, :], i: intp,
) -> cython.void:
    """Sort the first m entries by (value, index) and write the first k to row i."""
    c: intp
    _sort_by_value_then_index(vals, idx, m)
    for c in range(k):
        out_dist[i, c] = vals[c]
        out_idx[i, c] = idx[c]
