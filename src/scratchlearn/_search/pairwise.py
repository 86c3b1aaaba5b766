"""Exact float64 distances: whole tiles for the metrics that are not ranked by a matrix
product, and given (query, training point) pairs for the exact re-rank of candidates.

Tiles (:func:`exact_tile`): ``scipy.spatial.distance.cdist`` for the dense Minkowski
family (weighted too); scikit-learn's ``haversine_distances`` and
``nan_euclidean_distances``; scikit-learn's ``manhattan_distances`` and
``pairwise_distances`` for CSR data and callables (the rows a callable receives are those
scikit-learn's brute force passes it); for "precomputed" the tile is the queries' own
columns.

Pairs (:func:`paired_distances`) reproduce the compiled kernel's arithmetic
(``_exact.dense_distance``, ``csr_sqdistance``): float64 terms summed one feature after
the other in column order (``np.cumsum`` is such a sum), so a pair's distance is the same
number whichever search computes it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.spatial.distance import cdist
from sklearn.metrics.pairwise import (
    haversine_distances,
    manhattan_distances,
    nan_euclidean_distances,
    pairwise_distances,
)

from .policy import PRECOMPUTED, Metric

#: Working memory for the pairs' temporary arrays, in MiB.
PAIRS_MIB = 32

_CDIST_NAMES = {"manhattan": "cityblock", "euclidean": "euclidean", "chebyshev": "chebyshev",
                "sqeuclidean": "sqeuclidean", "minkowski": "minkowski", "cosine": "cosine"}


def exact_tile(Q, X, metric: Metric, p: float, kwargs: dict) -> np.ndarray:
    """float64 distances between the rows of Q and X, shape (len(Q), len(X))."""
    if metric == PRECOMPUTED:
        raise AssertionError("precomputed tiles are the queries' columns")
    if callable(metric):
        return pairwise_distances(Q, X, metric=metric, **kwargs).astype(np.float64, copy=False)
    if sp.issparse(Q) or sp.issparse(X):
        if metric == "manhattan":
            return manhattan_distances(Q, X)
        if metric == "cosine":
            return _sparse_cosine(Q, X)
        raise ValueError(f"metric={metric!r} has no sparse tile")  # refused by the estimator
    if metric == "haversine":
        return haversine_distances(Q, X)
    if metric == "nan_euclidean":
        return nan_euclidean_distances(Q, X)
    Q = np.asarray(Q, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    extra = {"p": p, **kwargs} if metric == "minkowski" else {}
    return cdist(Q, X, _CDIST_NAMES[metric], **extra)


def _sparse_cosine(Q, X) -> np.ndarray:
    """1 − q·x / (‖q‖‖x‖) in float64, clipped to [0, 2]; a zero row counts as norm 1 (as in
    the dense kernel and scikit-learn's ``normalize``)."""
    Q = sp.csr_matrix(Q, dtype=np.float64)
    X = sp.csr_matrix(X, dtype=np.float64)
    dots = (Q @ X.T).toarray()
    q_norms = np.sqrt(np.asarray(Q.multiply(Q).sum(axis=1)).ravel())
    x_norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    q_norms[q_norms == 0] = 1.0
    x_norms[x_norms == 0] = 1.0
    return np.clip(1.0 - dots / q_norms[:, None] / x_norms[None, :], 0.0, 2.0)


def paired_distances(
    Q, X, rows: np.ndarray, cols: np.ndarray, metric: Metric, p: float = 2.0,
    kwargs: dict | None = None,
) -> np.ndarray:
    """The distance of each pair (Q[rows[i]], X[cols[i]]), in float64.

    For the Euclidean family (squared, for "euclidean" and "sqeuclidean"; the cosine
    distance for "cosine") by the kernel's own sums; for the other metrics by
    :func:`exact_tile` on each pair's rows.
    """
    kwargs = kwargs or {}
    out = np.empty(len(rows))
    if len(rows) == 0:
        return out
    width = X.shape[1] if not sp.issparse(X) else max(1, _max_row_nnz(Q, X))
    step = max(1, PAIRS_MIB * 2**20 // (24 * max(1, width)))
    for start in range(0, len(rows), step):
        r, c = rows[start:start + step], cols[start:start + step]
        out[start:start + step] = _pairs(Q, X, r, c, metric, p, kwargs)
    return out


def _max_row_nnz(Q, X) -> int:
    return int(max(np.diff(Q.indptr).max(initial=0), 0) + np.diff(X.indptr).max(initial=0))


def _pairs(Q, X, rows, cols, metric, p, kwargs) -> np.ndarray:
    if metric in ("euclidean", "sqeuclidean"):
        if sp.issparse(X):
            return _csr_squared(Q, X, rows, cols)
        diff = Q[rows].astype(np.float64) - X[cols].astype(np.float64)
        return np.cumsum(diff * diff, axis=1)[:, -1]
    if metric == "cosine" and not sp.issparse(X):
        a, b = Q[rows].astype(np.float64), X[cols].astype(np.float64)
        dot = np.cumsum(a * b, axis=1)[:, -1]
        qq = np.cumsum(a * a, axis=1)[:, -1]
        xx = np.cumsum(b * b, axis=1)[:, -1]
        qn = np.where(qq > 0, np.sqrt(qq), 1.0)
        xn = np.where(xx > 0, np.sqrt(xx), 1.0)
        return np.minimum(np.maximum(1.0 - dot / (qn * xn), 0.0), 2.0)
    # Other metrics: one row of a tile per distinct query.
    out = np.empty(len(rows))
    order = np.argsort(rows, kind="stable")
    bounds = np.flatnonzero(np.diff(rows[order])) + 1
    for group in np.split(order, bounds):
        q = rows[group[0]]
        out[group] = exact_tile(Q[q:q + 1], X[cols[group]], metric, p, kwargs)[0]
    return out


def _csr_squared(Q, X, rows, cols) -> np.ndarray:
    """Σ_f (q_f − x_f)² over the union of two CSR rows with sorted columns, summed in column
    order as ``_exact.csr_sqdistance`` sums (a difference of 0 adds nothing)."""
    diff = (sp.csr_matrix(Q, dtype=np.float64)[rows]
            - sp.csr_matrix(X, dtype=np.float64)[cols]).tocsr()
    diff.sort_indices()
    counts = np.diff(diff.indptr)
    width = int(counts.max(initial=0))
    if width == 0:
        return np.zeros(len(rows))
    padded = np.zeros((len(rows), width))
    position = np.arange(diff.nnz) - np.repeat(diff.indptr[:-1], counts)
    padded[np.repeat(np.arange(len(rows)), counts), position] = diff.data * diff.data
    return np.cumsum(padded, axis=1)[:, -1]
