"""Exact kNN with SciPy's KD-tree, for the Minkowski family in low dimension, with a
fix-up that orders ties by training index."""

from __future__ import annotations

import numpy as np
from scipy.spatial import KDTree
from scipy.spatial.distance import cdist

from .threads import effective_n_jobs

#: The tied rows' ball is a hair wider than the k-th distance, so that the tree's rounding
#: cannot drop a tied point. Wider only costs time: every candidate is re-ranked exactly.
_WIDER = 1 + 1e-9  # pragma: no mutate (a wider ball only costs time, never the answer)


def kd_tree_kneighbors(
    X_query: np.ndarray, X_fit: np.ndarray, n_neighbors: int, tree: KDTree, *,
    p: float = 2.0, n_jobs: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact kNN with ``scipy.spatial.KDTree`` (Minkowski ``p``), made to follow the
    (distance, index) rule.

    The tree orders equidistant points arbitrarily. Asking for one neighbour more shows
    where a tie crosses the k-th place; only those rows are redone from every point inside
    the k-th radius.
    """
    n_fit = X_fit.shape[0]
    k_query = min(n_neighbors + 1, n_fit)
    distances, indices = tree.query(X_query, k=k_query, p=p, workers=effective_n_jobs(n_jobs))
    distances = distances.reshape(len(X_query), k_query)
    indices = np.asarray(indices, dtype=np.intp).reshape(len(X_query), k_query)
    if k_query > n_neighbors:
        tied = distances[:, n_neighbors] == distances[:, n_neighbors - 1]
        for row in np.flatnonzero(tied):
            radius = distances[row, n_neighbors - 1]
            candidates = np.asarray(
                tree.query_ball_point(X_query[row], r=radius * _WIDER + 1e-300, p=p),
                dtype=np.intp,
            )
            cand_dist = _minkowski_rows(X_query[row], X_fit[candidates], p)
            order = np.lexsort((candidates, cand_dist))[:k_query]
            distances[row, : len(order)] = cand_dist[order]
            indices[row, : len(order)] = candidates[order]
    distances, indices = distances[:, :n_neighbors], indices[:, :n_neighbors]
    # Rows come sorted by distance; only those holding a tie need ordering by index.
    has_tie = np.flatnonzero(np.any(distances[:, 1:] == distances[:, :-1], axis=1))
    if has_tie.size:
        order = np.lexsort((indices[has_tie], distances[has_tie]), axis=-1)
        distances[has_tie] = np.take_along_axis(distances[has_tie], order, 1)
        indices[has_tie] = np.take_along_axis(indices[has_tie], order, 1)
    return distances, indices


def _minkowski_rows(q: np.ndarray, X: np.ndarray, p: float) -> np.ndarray:
    """Minkowski distances from one query to rows of X, in float64."""
    name = {1.0: "cityblock", 2.0: "euclidean", np.inf: "chebyshev"}.get(p, "minkowski")
    kwargs = {"p": p} if name == "minkowski" else {}
    return cdist(q[None].astype(np.float64), X.astype(np.float64), name, **kwargs)[0]
