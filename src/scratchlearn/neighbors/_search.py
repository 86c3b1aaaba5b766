"""Exact k-nearest-neighbour search behind one function, so backends can change freely.

Every backend returns neighbours sorted by (distance, training index): among equidistant
training points the one with the smaller index comes first, also at the k-th place.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.spatial import KDTree
from sklearn.utils import gen_batches
from threadpoolctl import threadpool_limits

from .._math.distances import (
    rowwise_squared_distances,
    squared_euclidean_minus_query_norm,
    squared_norms,
)
from .._math.topk import select_smallest_k, sort_rows_by_value_then_index

#: Working memory for one block of the brute-force distance matrix, in MiB. A block of
#: ``b`` queries against ``n`` training points holds about three ``b × n`` float64 arrays
#: (distances, the argpartition indices, a comparison mask), so 64 MiB bounds a
#: 20,000 × 20,000 search to blocks of ~140 rows instead of one 3.2 GB matrix.
WORKING_MEMORY_MIB = 64

#: Below this many features a KD-tree prunes well; above it brute force wins.
KD_TREE_MAX_FEATURES = 15

ALGORITHMS = ("auto", "brute", "kd_tree")


def resolve_algorithm(algorithm: str, n_features: int, n_neighbors: int, n_samples: int) -> str:
    """Pick the backend for ``algorithm="auto"``.

    ``kd_tree`` when ``n_features <= 15`` and ``n_neighbors < n_samples / 2``; otherwise
    ``brute``, because a tree cannot prune when the dimension is high or when most of the
    training set is in every neighbourhood (the same rule as scikit-learn).
    """
    if algorithm != "auto":
        return algorithm
    if n_features <= KD_TREE_MAX_FEATURES and n_neighbors < n_samples // 2:
        return "kd_tree"
    return "brute"


def block_rows(n_fit: int, working_memory_mib: float = WORKING_MEMORY_MIB) -> int:
    """Queries per brute-force block: three ``rows × n_fit`` 8-byte arrays fit the budget."""
    return max(1, int(working_memory_mib * 2**20 // (3 * 8 * n_fit)))


#: Below this many query × training pairs one thread is faster than starting a pool.
PARALLEL_MIN_PAIRS = 2_000_000


def brute_kneighbors(
    X_query: np.ndarray,
    X_fit: np.ndarray,
    n_neighbors: int,
    *,
    sort: bool = True,
    working_memory_mib: float = WORKING_MEMORY_MIB,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact kNN by blocks of queries: one GEMM per block, then a top-k.

    The GEMM expansion loses precision for nearby points, so the k selected distances are
    recomputed exactly as ‖q − x‖ before the final (distance, index) sort: a duplicate of a
    training point is at distance exactly 0. ``sort=False`` skips that sort for callers that
    only need the set of neighbours (a vote), which saves most of the time at large k.

    Large searches run one block per core at a time, each with a single-threaded BLAS: the
    top-k selection is single-threaded in NumPy, so blocks in parallel keep every core busy.
    The working memory is shared between the blocks in flight.
    """
    n_query, n_fit = X_query.shape[0], X_fit.shape[0]
    fit_sq = squared_norms(X_fit)
    distances = np.empty((n_query, n_neighbors))
    indices = np.empty((n_query, n_neighbors), dtype=np.intp)

    def search_block(block: slice) -> None:
        Q = X_query[block]
        # Ranking needs only ‖x‖² − 2q·x; the exact distances are recomputed below.
        D = squared_euclidean_minus_query_norm(Q, X_fit, fit_sq)
        _, idx = select_smallest_k(D, n_neighbors)
        exact = rowwise_squared_distances(Q, X_fit[idx])
        if sort:
            exact, idx = sort_rows_by_value_then_index(exact, idx)
        distances[block] = np.sqrt(exact)
        indices[block] = idx

    n_workers = (os.cpu_count() or 1) if n_query * n_fit >= PARALLEL_MIN_PAIRS else 1
    rows = block_rows(n_fit, working_memory_mib / n_workers)
    rows = min(rows, -(-n_query // n_workers))  # at least one block per worker
    blocks = list(gen_batches(n_query, rows))
    if n_workers == 1:
        for block in blocks:
            search_block(block)
    else:
        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(n_workers) as pool:
            list(pool.map(search_block, blocks))
    return distances, indices


def kd_tree_kneighbors(
    X_query: np.ndarray, X_fit: np.ndarray, n_neighbors: int, tree: KDTree
) -> tuple[np.ndarray, np.ndarray]:
    """Exact kNN with ``scipy.spatial.KDTree``, made to follow the (distance, index) rule.

    The tree orders equidistant points arbitrarily. Asking for one neighbour more shows
    where a tie crosses the k-th place; only those rows are redone from every point inside
    the k-th radius.
    """
    n_fit = X_fit.shape[0]
    k_query = min(n_neighbors + 1, n_fit)
    distances, indices = tree.query(X_query, k=k_query, workers=-1)
    distances = distances.reshape(len(X_query), k_query)
    indices = indices.reshape(len(X_query), k_query).astype(np.intp)
    if k_query > n_neighbors:
        tied = distances[:, n_neighbors] == distances[:, n_neighbors - 1]
        for row in np.flatnonzero(tied):
            radius = distances[row, n_neighbors - 1]
            # A hair wider than the radius so that rounding cannot drop a tied point.
            candidates = np.asarray(
                tree.query_ball_point(X_query[row], r=radius * (1 + 1e-9) + 1e-300),
                dtype=np.intp,
            )
            cand_dist = np.sqrt(
                rowwise_squared_distances(X_query[row : row + 1], X_fit[candidates][None])
            )[0]
            order = np.lexsort((candidates, cand_dist))[:k_query]
            distances[row, : len(order)] = cand_dist[order]
            indices[row, : len(order)] = candidates[order]
    distances, indices = distances[:, :n_neighbors], indices[:, :n_neighbors]
    return sort_rows_by_value_then_index(distances, indices)


def kneighbors_search(
    X_query: np.ndarray,
    X_fit: np.ndarray,
    n_neighbors: int,
    *,
    algorithm: str = "auto",
    tree: KDTree | None = None,
    sort: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """The single entry point: (queries, training set, k) → (distances, indices).

    Parameters
    ----------
    X_query : ndarray of shape (n_queries, n_features)
    X_fit : ndarray of shape (n_samples, n_features)
    n_neighbors : int, 1 <= n_neighbors <= n_samples
    algorithm : {"auto", "brute", "kd_tree"}
    tree : KDTree, optional
        A tree over ``X_fit``, built once at fit time; built here when missing.
    sort : bool, default=True
        ``False`` allows the rows to come back in any order (the set is the same).

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors)
        Euclidean distances, ascending in each row.
    indices : ndarray of shape (n_queries, n_neighbors)
        Rows of ``X_fit``; ties in distance are ordered by index.
    """
    method = resolve_algorithm(algorithm, X_fit.shape[1], n_neighbors, X_fit.shape[0])
    if method == "brute":
        return brute_kneighbors(X_query, X_fit, n_neighbors, sort=sort)
    if tree is None:
        tree = KDTree(X_fit)
    return kd_tree_kneighbors(X_query, X_fit, n_neighbors, tree)


def kneighbors_leave_one_out(
    X_fit: np.ndarray,
    n_neighbors: int,
    *,
    algorithm: str = "auto",
    tree: KDTree | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours of each training point among the *other* training points.

    Searches k + 1 and drops the point itself; when exact duplicates with smaller indices
    push the point out of its own k + 1 list, the last column is dropped instead (as
    scikit-learn does), so each row holds k other points either way.
    """
    n_fit = X_fit.shape[0]
    distances, indices = kneighbors_search(
        X_fit, X_fit, n_neighbors + 1, algorithm=algorithm, tree=tree
    )
    is_self = indices == np.arange(n_fit)[:, None]
    no_self = ~is_self.any(axis=1)
    is_self[no_self, -1] = True
    keep = ~is_self
    return (
        distances[keep].reshape(n_fit, n_neighbors),
        indices[keep].reshape(n_fit, n_neighbors),
    )
