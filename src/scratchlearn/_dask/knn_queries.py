"""k-nearest-neighbour queries on a Dask training set: the in-memory search per block,
merged exactly.

The training set stays where Dask made it (``knn_training``). A query chunk Q_i is answered
in two steps, both run on the workers:

1. **Search.** For every training partition X_j (rows o_j … o_j + n_j − 1), on the worker
   that holds it,

       (D_ij, I_ij) = kneighbors_search(Q_i, X_j, k_j),   k_j = min(k, n_j),

   with global indices I_ij + o_j and the neighbours' class codes y[I_ij] carried along.
   Each list is sorted by (distance, index) and holds partition j's k_j nearest points.
2. **Merge.** Two lists are merged by concatenating them, sorting each row by (distance,
   global index) (``np.lexsort``) and keeping the first k. The k nearest of the union are
   among the k nearest of each side, so merging pairs in a tree of depth ⌈log₂ P⌉ gives the
   k nearest of the whole training set, ties ordered by index, exactly as the in-memory
   search orders them.

Every partition runs the search path the in-memory estimator would pick for the *whole*
training set (``resolve_algorithm`` with N, not n_j), so each (query, point) distance is
computed by the same float64 code in both, and the merged lists are equal bit for bit.

What moves. Per query of D features: the query (8·D bytes) to each worker that holds
training partitions, then k_j·24 bytes (distance, index, class code) from each partition
into the merge tree, and the answer (the k neighbours, or one row of probabilities) to
wherever the caller wants it. Training rows never move.

Radius queries go the same way: each partition's points within r (``radius_search``,
global indices), and two lists merged by concatenating each row's entries and sorting them
by (distance, global index), all of them kept.

What the answer is (the neighbours, votes, densities, graphs) is the estimator's
``finish``, a pure function of each block's merged :class:`~scratchlearn._search.Neighbors`
(or :class:`~scratchlearn._search.Within`), the same function the in-memory estimator
applies to its own search.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError
from functools import partial
from typing import Any, NamedTuple

import dask.array as da
import numpy as np
from dask.delayed import delayed
from sklearn.utils import check_array

from .._search import (
    Neighbors,
    Within,
    kneighbors_search,
    radius_search,
    resolve_algorithm,
    resolve_metric,
    without_self,
)
from . import chunk_shape_error
from .arrays import as_dask_array, assemble, blocks_and_rows
from .knn_training import DaskTrainingSet, Partition, check_alive, lost_training

#: Rows per query chunk when NumPy queries meet a Dask-fitted model (about 4 MiB of queries).
QUERY_CHUNK_BYTES = 4 * 2**20


def check_queries(
    Q: np.ndarray, n_features: int, declared: tuple[int, int] | None = None, *,
    index: int = 0, start: int = 0,
) -> np.ndarray:
    """Validate one block of queries as the in-memory ``kneighbors`` does, and against
    the shape its Dask array declared for it (chunk ``index``, from row ``start``)."""
    if declared is not None and np.shape(Q) != declared:
        raise chunk_shape_error("X", index, start, declared, np.shape(Q))
    Q = check_array(Q, dtype=[np.float64, np.float32], ensure_min_samples=0, input_name="X")
    if Q.shape[1] != n_features:
        raise ValueError(f"X has {Q.shape[1]} features, but the model expects {n_features}.")
    return Q


def search_partition(
    Q: np.ndarray, part: Partition, k: int | None, offset: int, *, method: str, metric: Any,
    p: float, n_jobs: int | None, metric_params: dict | None = None,
    radius: float | None = None,
) -> Neighbors | Within:
    """The k_j = min(k, n_j) nearest rows of one partition (or those within ``radius``),
    with global indices (local + o_j) and their class codes; ``method`` is the path
    resolved for the whole training set."""
    if radius is not None:
        if Q.shape[0] == 0:
            empty = np.empty(0, dtype=np.intp)
            return Within(np.empty(0), empty, np.zeros(1, dtype=np.intp),
                          None if part.codes is None else empty)
        found = radius_search(Q, part.X, radius, algorithm=method, metric=metric, p=p,
                              metric_params=metric_params, tree=part.tree, n_jobs=n_jobs,
                              fit_sq=part.fit_sq)
        codes = None if part.codes is None else part.codes[found.indices]
        return found._replace(indices=found.indices + offset, codes=codes)
    k_j = min(k, part.X.shape[0])
    if Q.shape[0] == 0:
        empty = np.empty((0, k_j), dtype=np.intp)
        return Neighbors(np.empty((0, k_j)), empty, None if part.codes is None else empty)
    distances, local = kneighbors_search(
        Q, part.X, k_j, algorithm=method, metric=metric, p=p, tree=part.tree, n_jobs=n_jobs,
        fit_sq=part.fit_sq, metric_params=metric_params,
    )
    codes = None if part.codes is None else part.codes[local]
    return Neighbors(distances, local + offset, codes)


def merge_topk(a: Neighbors, b: Neighbors, k: int) -> Neighbors:
    """The k first of two lists under the (distance, global index) order, row by row."""
    distances = np.concatenate([a.distances, b.distances], axis=1)
    indices = np.concatenate([a.indices, b.indices], axis=1)
    order = np.lexsort((indices, distances), axis=1)[:, :k]
    codes = None
    if a.codes is not None:
        codes = np.take_along_axis(np.concatenate([a.codes, b.codes], axis=1), order, 1)
    return Neighbors(
        np.take_along_axis(distances, order, 1), np.take_along_axis(indices, order, 1), codes
    )


def merge_within(a: Within, b: Within) -> Within:
    """Two radius lists of the same queries as one, each row sorted by (distance, global
    index)."""
    rows = np.concatenate([a.row_ids(), b.row_ids()])
    distances = np.concatenate([a.distances, b.distances])
    indices = np.concatenate([a.indices, b.indices])
    order = np.lexsort((indices, distances, rows))
    counts = np.bincount(rows, minlength=a.n_queries)
    codes = None
    if a.codes is not None:
        codes = np.concatenate([a.codes, b.codes])[order]
    return Within(distances[order], indices[order],
                  np.concatenate([[0], np.cumsum(counts)]).astype(np.intp), codes)


def tree_reduce(items: Sequence[Any], combine: Callable[[Any, Any], Any]) -> Any:
    """Combine neighbours pairwise, level by level: depth ⌈log₂ len(items)⌉."""
    items = list(items)
    if not items:
        raise ValueError("tree_reduce needs at least one item.")
    while len(items) > 1:
        paired = [combine(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
        items = paired + ([items[-1]] if len(items) % 2 else [])
    return items[0]


def drop_self(top: Neighbors | Within, offset: int,
              own_codes: np.ndarray | None = None) -> Neighbors | Within:
    """Leave-one-out on a (k + 1)-list of training rows offset … offset + n − 1: drop each
    row's own index, or the last column where duplicates pushed it out (as
    ``kneighbors_leave_one_out`` does); ``own_codes`` are the rows' own class codes. Radius
    lists lose each row's own index only (as ``radius_leave_one_out`` does)."""
    if isinstance(top, Within):
        return without_self(top, offset)._replace(own_codes=own_codes)
    n, width = top.indices.shape
    is_self = top.indices == (offset + np.arange(n))[:, None]
    is_self[~is_self.any(axis=1), -1] = True
    keep = ~is_self

    def cut(a):
        return None if a is None else a[keep].reshape(n, width - 1)

    return Neighbors(cut(top.distances), cut(top.indices), cut(top.codes), own_codes)


def _field(part: Partition, name: str):
    return getattr(part, name)


class _Queries(NamedTuple):
    blocks: list  # Delayed query blocks (validated on the workers)
    sizes: list[int]
    offsets: list[int] | None  # leave-one-out: the blocks are the training partitions
    own_codes: list | None
    is_dask: bool  # answer with Dask arrays (else compute to NumPy)


def _prepare_queries(training: DaskTrainingSet, X, n_features: int, name: str) -> _Queries:
    if X is None:
        parts = training.partitions
        return _Queries(
            [delayed(_field)(part, "X") for part in parts], list(training.sizes),
            list(training.offsets), [delayed(_field)(part, "codes") for part in parts], True,
        )
    is_dask = hasattr(X, "__dask_graph__")
    if not is_dask:  # validated in memory by the estimator
        rows = max(1, QUERY_CHUNK_BYTES // (8 * max(1, X.shape[1])))  # pragma: no mutate (speed)
        X = da.from_array(X, chunks=(rows, -1))
    X = as_dask_array(X, "X", 2)
    if X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but {name} is expecting {n_features} features as "
            "input."
        )
    blocks = [
        delayed(check_queries)(block, n_features, (size, n_features), index=i, start=start)
        for i, (block, size, start) in enumerate(blocks_and_rows(X))
    ]
    return _Queries(blocks, [int(size) for size in X.chunks[0]], None, None, is_dask)


def answer(
    training: DaskTrainingSet, X, *, k: int | None, finish: Callable[[Any], Any], specs,
    algorithm: str, metric: Any, p: float, n_jobs: int | None, n_samples: int,
    n_features: int, name: str, metric_params: dict | None = None,
    radius: float | None = None,
):
    """``finish`` of the k nearest training rows of each query (or of those within
    ``radius``), searched where the rows are.

    X is None (each training row among the others: leave-one-out, the rows' own class codes
    in ``Neighbors.own_codes``), validated NumPy queries (answered in NumPy) or a Dask
    array (answered lazily, with its row chunks); ``specs`` describe the answer
    (``arrays.assemble``); the search parameters are the estimator's.
    """
    check_alive(training, name)
    queries = _prepare_queries(training, X, n_features, name)
    if radius is None:
        k_search = k + 1 if queries.offsets is not None else k
    else:
        k_search = None
    canonical, exponent = resolve_metric(metric, p, metric_params)
    method = resolve_algorithm(
        algorithm, n_features, k_search or 1, n_samples, metric=canonical, p=exponent,
        weighted=not callable(metric) and (metric_params or {}).get("w") is not None,
    )
    # The workers' threads are the parallelism: by default each block's search takes one
    # core, so that the searches running side by side on a machine do not oversubscribe it.
    search = partial(search_partition, method=method, metric=metric, p=p,
                     n_jobs=1 if n_jobs is None else n_jobs, metric_params=metric_params,
                     radius=radius)
    merge = delayed(merge_topk) if radius is None else delayed(merge_within)
    results = []
    for i, block in enumerate(queries.blocks):
        partials = [
            delayed(search)(block, part, k_search, offset)
            for part, offset in zip(training.partitions, training.offsets, strict=True)
        ]
        top = tree_reduce(partials, lambda a, b: merge(a, b, k_search) if radius is None
                          else merge(a, b))
        if queries.offsets is not None:
            top = delayed(drop_self)(top, queries.offsets[i], queries.own_codes[i])
        results.append(delayed(finish)(top))
    try:  # computed here for NumPy queries
        return assemble(results, queries.sizes, specs, queries.is_dask)
    except CancelledError as error:
        raise lost_training(name) from error
