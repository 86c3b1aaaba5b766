"""k-nearest neighbours on Dask arrays: the in-memory search per block, merged exactly.

The training set stays where Dask made it. ``fit`` turns each row partition of X into a
:class:`Partition` (the validated rows, their class codes, and the squared norms or the
KD-tree the in-memory estimator would build) and persists it on a worker; the client keeps
only the partitions' handles, their row offsets o_j, the classes and their counts.

A query chunk Q_i is answered in two steps, both run on the workers:

1. **Search.** For every training partition X_j (rows o_j … o_j + n_j − 1), on the worker that
   holds it,

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
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError
from functools import partial
from typing import Any, NamedTuple

import dask
import dask.array as da
import numpy as np
from dask.delayed import Delayed, delayed
from distributed import futures_of
from scipy.spatial import KDTree
from sklearn.utils import check_array
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .._math.knn import (
    class_votes,
    knn_class_log_density,
    knn_log_density,
    neighbor_class_votes,
    sphere_log_volume,
    vote_probabilities,
)
from .._search import (
    GEMM_METRICS,
    kneighbors_search,
    resolve_algorithm,
    resolve_metric,
    squared_row_norms,
    tree_applicable,
)
from .._validation import check_n_neighbors
from . import check_feature_names, chunk_shape_error, lost_data_error

#: Rows per query chunk when NumPy queries meet a Dask-fitted model (about 4 MiB of queries).
QUERY_CHUNK_BYTES = 4 * 2**20


# --- what a worker holds and computes ---------------------------------------------------


class Partition(NamedTuple):
    """One training partition, as the worker that holds it keeps it."""

    X: np.ndarray
    codes: np.ndarray | None  # class codes 0..C−1 of the rows, when fitted with labels
    fit_sq: np.ndarray | None  # ‖x‖² per row, for the brute-force Euclidean family
    tree: KDTree | None  # when "auto" or "kd_tree" may search with a tree


class TopK(NamedTuple):
    """Partial or final neighbour lists of a query chunk, sorted by (distance, index)."""

    distances: np.ndarray  # (n_queries, k') float64
    indices: np.ndarray  # (n_queries, k') global training rows
    codes: np.ndarray | None  # (n_queries, k') the neighbours' class codes


def prepare_partition(
    X: np.ndarray, codes: np.ndarray | None, *, metric: str, may_use_tree: bool
) -> Partition:
    """Validate one block of training rows (finite, float32 or float64, as the in-memory
    ``fit`` does) and precompute what the search reads: ‖x‖² or the KD-tree."""
    # No rows is allowed here: a chunk that holds fewer rows than declared is reported by
    # ``fit`` with the chunk's declared and held shapes.
    X = check_array(X, dtype=[np.float64, np.float32], ensure_min_samples=0, input_name="X")
    fit_sq = squared_row_norms(X) if metric in GEMM_METRICS else None
    return Partition(X, codes, fit_sq, KDTree(X) if may_use_tree else None)


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
    Q: np.ndarray, part: Partition, k: int, offset: int, *, method: str, metric: str,
    p: float, n_jobs: int | None,
) -> TopK:
    """The k_j = min(k, n_j) nearest rows of one partition, with global indices (local + o_j)
    and their class codes; ``method`` is the path resolved for the whole training set."""
    k_j = min(k, part.X.shape[0])
    if Q.shape[0] == 0:
        empty = np.empty((0, k_j), dtype=np.intp)
        return TopK(np.empty((0, k_j)), empty, None if part.codes is None else empty)
    distances, local = kneighbors_search(
        Q, part.X, k_j, algorithm=method, metric=metric, p=p, tree=part.tree, n_jobs=n_jobs,
        fit_sq=part.fit_sq,
    )
    codes = None if part.codes is None else part.codes[local]
    return TopK(distances, local + offset, codes)


def merge_topk(a: TopK, b: TopK, k: int) -> TopK:
    """The k first of two lists under the (distance, global index) order, row by row."""
    distances = np.concatenate([a.distances, b.distances], axis=1)
    indices = np.concatenate([a.indices, b.indices], axis=1)
    order = np.lexsort((indices, distances), axis=1)[:, :k]
    codes = None
    if a.codes is not None:
        codes = np.take_along_axis(np.concatenate([a.codes, b.codes], axis=1), order, 1)
    return TopK(
        np.take_along_axis(distances, order, 1), np.take_along_axis(indices, order, 1), codes
    )


def tree_reduce(items: Sequence[Any], combine: Callable[[Any, Any], Any]) -> Any:
    """Combine neighbours pairwise, level by level: depth ⌈log₂ len(items)⌉."""
    items = list(items)
    if not items:
        raise ValueError("tree_reduce needs at least one item.")
    while len(items) > 1:
        paired = [combine(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
        items = paired + ([items[-1]] if len(items) % 2 else [])
    return items[0]


def drop_self(top: TopK, offset: int) -> TopK:
    """Leave-one-out on a (k + 1)-list of training rows offset … offset + n − 1: drop each
    row's own index, or the last column where duplicates pushed it out (as
    ``kneighbors_leave_one_out`` does)."""
    n, width = top.indices.shape
    is_self = top.indices == (offset + np.arange(n))[:, None]
    is_self[~is_self.any(axis=1), -1] = True
    keep = ~is_self

    def cut(a):
        return None if a is None else a[keep].reshape(n, width - 1)

    return TopK(cut(top.distances), cut(top.indices), cut(top.codes))


# Per-chunk answers from merged lists (run on the workers, after the merge).


def _kneighbors_answer(top: TopK, return_distance: bool):
    return (top.distances, top.indices) if return_distance else top.indices


def _classifier_votes(top: TopK, n_classes: int, weights: str) -> np.ndarray:
    return class_votes(top.distances, top.codes, n_classes, weights)


def _classifier_proba(top: TopK, n_classes: int, weights: str) -> np.ndarray:
    return vote_probabilities(_classifier_votes(top, n_classes, weights))


def _classifier_predict(top: TopK, classes: np.ndarray, weights: str) -> np.ndarray:
    return classes[np.argmax(_classifier_votes(top, len(classes), weights), axis=1)]


def _density_score(top: TopK, n_features: int, p: float, k: int, n_reference: int):
    return knn_log_density(sphere_log_volume(top.distances, n_features, p), k, n_reference)


def _density_class(top: TopK, own_codes, n_features: int, p: float, class_count: np.ndarray):
    log_volume = sphere_log_volume(top.distances, n_features, p)
    return knn_class_log_density(log_volume, top.codes, class_count, own_codes)


def _density_proba(top: TopK, n_classes: int, k: int) -> np.ndarray:
    return neighbor_class_votes(top.codes, n_classes) / k


def _block_shapes(X: np.ndarray, codes: np.ndarray | None):
    """The shape of a block of rows, and the number of its labels (None: unlabelled)."""
    return np.shape(X), None if codes is None else len(codes)


def _partition_shapes(part: Partition):
    return _block_shapes(part.X, part.codes)


def _field(part: Partition, name: str):
    return getattr(part, name)


def _label_counts(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = column_or_1d(y, warn=True)
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError("Input y contains NaN or infinity.")
    return np.unique(y, return_counts=True)


def _encode(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    return np.searchsorted(classes, column_or_1d(y)).astype(np.intp)


def _call(model, method: str, X, kwargs: dict, declared: tuple[int, int], index: int,
          start: int):
    if np.shape(X) != declared:
        raise chunk_shape_error("X", index, start, declared, np.shape(X))
    with warnings.catch_warnings():  # the feature names were checked on the client
        warnings.filterwarnings("ignore", "X does not have valid feature names")
        return getattr(model, method)(X, **kwargs)


# --- the training set on the workers ----------------------------------------------------


def _compute_training(estimator, *collections):
    """``dask.compute`` of work on the persisted training data; a clear error when the
    workers lost it (Dask's ``FutureCancelledError``, a ``CancelledError``)."""
    try:
        return dask.compute(*collections)
    except CancelledError as error:
        raise _lost_training(estimator) from error


def _lost_training(estimator) -> RuntimeError:
    return lost_data_error(
        f"The training data of this Dask-fitted {type(estimator).__name__}",
        "Fit the model again. A Dask-fitted kNN model is usable only while its cluster "
        "keeps the partitions: keep the cluster running, or save the model with "
        "scratchlearn.save while it runs (the saved model loads in memory).",
    )


def _check_training_alive(estimator) -> None:
    """Raise the lost-data error before building queries on partitions the workers no
    longer hold (a lazy answer would otherwise fail only when computed)."""
    futures = futures_of(list(estimator._dask_training.partitions))
    if any(future.status in ("cancelled", "lost") for future in futures):
        raise _lost_training(estimator)


class DaskTrainingSet(NamedTuple):
    """What the client keeps of a Dask fit: handles, not data."""

    partitions: tuple[Delayed, ...]  # persisted Partition per non-empty row block
    offsets: tuple[int, ...]  # global row of each partition's first row
    sizes: tuple[int, ...]


def _as_dask_array(X, name: str, ndim: int) -> da.Array:
    """A Dask array with known row chunks and, for 2-D, the columns in one chunk."""
    if hasattr(X, "to_dask_array"):  # Dask DataFrame or Series
        X = X.to_dask_array(lengths=True)
    if not isinstance(X, da.Array):
        raise ValueError(f"{name} must be a dask.array.Array, got {type(X).__name__}.")
    if X.ndim != ndim:
        raise ValueError(
            f"Expected a {ndim}-D Dask array for {name}, got {X.ndim}-D with shape {X.shape}."
        )
    if any(np.isnan(size) for size in X.chunks[0]):
        raise ValueError(
            f"{name} has unknown chunk sizes; call {name}.compute_chunk_sizes() first."
        )
    if ndim == 2 and len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X


def _as_labels(y, X: da.Array) -> da.Array:
    if hasattr(y, "to_dask_array"):
        y = y.to_dask_array(lengths=True)
    if not isinstance(y, da.Array):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(
                f"y must be 1-D with one label per row of X ({X.shape[0]}), got shape "
                f"{y.shape}."
            )
        return da.from_array(y, chunks=(X.chunks[0],))
    y = _as_dask_array(y, "y", y.ndim)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must be 1-D with one label per row of X ({X.shape[0]}), got shape {y.shape}."
        )
    return y.rechunk((X.chunks[0],)) if y.chunks[0] != X.chunks[0] else y


def _fit(estimator, X, y, *, classify: bool) -> np.ndarray | None:
    """Persist the training partitions; set the attributes every kNN estimator has.

    Returns the class counts N_c when labels are given (``classes_`` is set), else None.
    """
    metric = estimator._check_search_params()
    given = X
    X = _as_dask_array(X, "X", 2)
    n_samples, n_features = X.shape
    if n_samples == 0 or n_features == 0:
        raise ValueError(f"Found array with shape {X.shape}; at least 1 row and 1 feature.")
    check_n_neighbors(estimator.n_neighbors, n_samples)

    codes_blocks: list = [None] * len(X.chunks[0])
    class_count = None
    if y is not None:
        # X and y in one graph, evaluated once: y is often computed from X (or both from one
        # source), and a second evaluation of a generator that is not deterministic would
        # store rows beside the labels of other rows.
        X, y = dask.persist(X, _as_labels(y, X))
        blocks = y.to_delayed().ravel()
        found = _compute_training(estimator, *[delayed(_label_counts)(b) for b in blocks])
        classes = np.unique(np.concatenate([values for values, _ in found]))
        if classify:
            check_classification_targets(classes)
        class_count = np.zeros(len(classes), dtype=np.intp)
        for values, counts in found:
            class_count[np.searchsorted(classes, values)] += counts
        estimator.classes_ = classes
        codes_blocks = [delayed(_encode)(block, classes) for block in blocks]

    may_use_tree = estimator.algorithm == "kd_tree" or (
        estimator.algorithm == "auto" and tree_applicable(n_features, metric, False)
    )
    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(int)
    kept = [j for j, size in enumerate(X.chunks[0]) if size > 0]
    x_blocks = X.to_delayed().ravel()
    prepare = partial(prepare_partition, metric=metric, may_use_tree=may_use_tree)
    partitions = dask.persist(*[delayed(prepare)(x_blocks[j], codes_blocks[j]) for j in kept])
    # Wait for the partitions (raising here, in fit, if a block holds NaN) and check that
    # every block holds the shape X declared (the empty ones too, which are not kept).
    empty = [j for j, size in enumerate(X.chunks[0]) if size == 0]
    held = _compute_training(
        estimator,
        *[delayed(_partition_shapes)(part) for part in partitions],
        *[delayed(_block_shapes)(x_blocks[j], codes_blocks[j]) for j in empty],
    )
    for j, (x_shape, n_labels) in sorted(zip(kept + empty, held, strict=True)):
        size = X.chunks[0][j]
        if x_shape != (size, n_features):
            raise chunk_shape_error("X", j, int(offsets[j]), (size, n_features), x_shape)
        if n_labels is not None and n_labels != size:
            raise chunk_shape_error("y", j, int(offsets[j]), (size,), (n_labels,))

    for name in ("_fit_X", "_tree", "_fit_sq", "_y"):
        estimator.__dict__.pop(name, None)
    check_feature_names(estimator, given, reset=True)
    estimator.n_features_in_ = n_features
    estimator.n_samples_fit_ = n_samples
    estimator.effective_metric_ = metric
    estimator._dask_training = DaskTrainingSet(
        tuple(partitions), tuple(int(offsets[j]) for j in kept),
        tuple(int(X.chunks[0][j]) for j in kept),
    )
    return class_count


def fit_classifier(estimator, X, y):
    """``KNeighborsClassifier.fit`` on a Dask X: only ``classes_`` comes to the client."""
    if y is None:
        raise ValueError("KNeighborsClassifier needs labels y.")
    _fit(estimator, X, y, classify=True)
    return estimator


def fit_density(estimator, X, y=None):
    """``KNeighborsDensity.fit`` on a Dask X; with y, the class counts N_c and p(c)."""
    if y is None:
        for name in ("classes_", "class_count_", "class_prior_"):
            estimator.__dict__.pop(name, None)
    class_count = _fit(estimator, X, y, classify=False)
    if class_count is not None:
        estimator.class_count_ = class_count
        estimator.class_prior_ = class_count / estimator.n_samples_fit_
    return estimator


# --- queries --------------------------------------------------------------------------


class _Queries(NamedTuple):
    blocks: list  # Delayed query blocks (validated on the workers)
    sizes: list[int]
    offsets: list[int] | None  # leave-one-out: the blocks are the training partitions
    own_codes: list | None
    is_dask: bool  # answer with Dask arrays (else compute to NumPy)


def _prepare_queries(estimator, X) -> _Queries:
    training = estimator._dask_training
    if X is None:
        parts = training.partitions
        return _Queries(
            [delayed(_field)(part, "X") for part in parts], list(training.sizes),
            list(training.offsets), [delayed(_field)(part, "codes") for part in parts], True,
        )
    is_dask = True
    if not hasattr(X, "__dask_graph__"):
        X = validate_data(estimator, X, dtype=[np.float64, np.float32], reset=False)
        rows = max(1, QUERY_CHUNK_BYTES // (8 * max(1, X.shape[1])))
        X, is_dask = da.from_array(X, chunks=(rows, -1)), False
    X = _check_dask_queries(estimator, X, check_names=is_dask)
    n_features = estimator.n_features_in_
    blocks = [
        delayed(check_queries)(block, n_features, (size, n_features), index=i, start=start)
        for i, (block, size, start) in enumerate(_blocks_and_rows(X))
    ]
    return _Queries(blocks, [int(size) for size in X.chunks[0]], None, None, is_dask)


def _blocks_and_rows(X: da.Array) -> list[tuple[Delayed, int, int]]:
    """Each row block of X with its declared number of rows and its first row."""
    sizes = [int(size) for size in X.chunks[0]]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int).tolist()
    return list(zip(X.to_delayed().ravel(), sizes, starts, strict=True))


def _check_dask_queries(estimator, X, *, check_names: bool = True) -> da.Array:
    if check_names:  # the names and number of features, as validate_data checks them
        check_feature_names(estimator, X, reset=False)
    X = _as_dask_array(X, "X", 2)
    if X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    return X


def _search(estimator, queries: _Queries, k: int) -> list[Delayed]:
    """Per query block: the search on every partition, merged by a tree of pairs."""
    training = estimator._dask_training
    metric, _ = resolve_metric(estimator.effective_metric_, estimator.p)
    k_search = k + 1 if queries.offsets is not None else k
    method = resolve_algorithm(
        estimator.algorithm, estimator.n_features_in_, k_search, estimator.n_samples_fit_,
        metric=metric,
    )
    # The workers' threads are the parallelism: by default each block's search takes one
    # core, so that the searches running side by side on a machine do not oversubscribe it.
    n_jobs = 1 if estimator.n_jobs is None else estimator.n_jobs
    search = partial(search_partition, method=method, metric=estimator.metric,
                     p=estimator.p, n_jobs=n_jobs)
    merge = delayed(merge_topk)
    merged = []
    for i, block in enumerate(queries.blocks):
        partials = [
            delayed(search)(block, part, k_search, offset)
            for part, offset in zip(training.partitions, training.offsets, strict=True)
        ]
        top = tree_reduce(partials, lambda a, b: merge(a, b, k_search))
        if queries.offsets is not None:
            top = delayed(drop_self)(top, queries.offsets[i])
        merged.append(top)
    return merged


class Spec(NamedTuple):
    """The shape of one answer per query after the first axis, and its dtype."""

    tail: tuple[int, ...]
    dtype: Any


def _assemble(results: list[Delayed], sizes: list[int], specs, is_dask: bool):
    """Per-block Delayed answers → Dask arrays, or NumPy when ``is_dask`` is false.
    ``specs`` is one :class:`Spec`, or a list of them for answers that are tuples."""
    many = not isinstance(specs, Spec)
    outputs = []
    for position, (tail, dtype) in enumerate(specs if many else (specs,)):
        chunks = [
            da.from_delayed(result[position] if many else result, (size, *tail), dtype=dtype)
            for result, size in zip(results, sizes, strict=True)
        ]
        outputs.append(da.concatenate(chunks, axis=0))
    if not is_dask:
        outputs = list(dask.compute(*outputs))
    return tuple(outputs) if many else outputs[0]


def _answer(estimator, X, k: int, finish: Callable, specs, *, method: str, kwargs=None,
            needs_own_codes: bool = False):
    """Run ``finish`` on each merged block (Dask-fitted model), or the in-memory ``method``
    on each query block (NumPy-fitted model, Dask queries)."""
    check_is_fitted(estimator)
    if getattr(estimator, "_dask_training", None) is None:
        return _blockwise_in_memory(estimator, X, method, specs, kwargs or {})
    _check_training_alive(estimator)
    queries = _prepare_queries(estimator, X)
    merged = _search(estimator, queries, k)
    if needs_own_codes:
        own = queries.own_codes or [None] * len(merged)
        results = [delayed(finish)(top, codes) for top, codes in zip(merged, own, strict=True)]
    else:
        results = [delayed(finish)(top) for top in merged]
    try:  # computed here for NumPy queries
        return _assemble(results, queries.sizes, specs, queries.is_dask)
    except CancelledError as error:
        raise _lost_training(estimator) from error


def _blockwise_in_memory(estimator, X, method: str, specs, kwargs: dict):
    """Dask queries against a NumPy-fitted model: the model goes to the workers once and
    answers each query block there (the blockwise ``map_blocks`` pattern, with any number
    of outputs)."""
    X = _check_dask_queries(estimator, X)
    model = delayed(estimator, name=f"{type(estimator).__name__}-{uuid.uuid4().hex}",
                    traverse=False)
    shape = (X.shape[1],)
    results = [delayed(_call)(model, method, block, kwargs, (size, *shape), i, start)
               for i, (block, size, start) in enumerate(_blocks_and_rows(X))]
    return _assemble(results, [int(size) for size in X.chunks[0]], specs, True)


def kneighbors(estimator, X=None, n_neighbors: int | None = None, return_distance=True):
    """``kneighbors`` for Dask queries or a Dask-fitted model (X=None: leave-one-out)."""
    check_is_fitted(estimator)
    k = estimator.n_neighbors if n_neighbors is None else n_neighbors
    k = check_n_neighbors(k, estimator.n_samples_fit_ - (1 if X is None else 0))
    specs = [Spec((k,), np.float64), Spec((k,), np.intp)]
    return _answer(
        estimator, X, k, partial(_kneighbors_answer, return_distance=return_distance),
        specs if return_distance else specs[1], method="kneighbors",
        kwargs={"n_neighbors": k, "return_distance": return_distance},
    )


def classifier_predict_proba(estimator, X):
    """``KNeighborsClassifier.predict_proba`` on Dask."""
    check_is_fitted(estimator)
    n_classes = len(estimator.classes_)
    finish = partial(_classifier_proba, n_classes=n_classes, weights=estimator.weights)
    return _answer(estimator, X, estimator.n_neighbors, finish, Spec((n_classes,), np.float64),
                   method="predict_proba")


def classifier_predict(estimator, X):
    """``KNeighborsClassifier.predict`` on Dask."""
    check_is_fitted(estimator)
    classes = estimator.classes_
    finish = partial(_classifier_predict, classes=classes, weights=estimator.weights)
    return _answer(estimator, X, estimator.n_neighbors, finish, Spec((), classes.dtype),
                   method="predict")


def _density_geometry(estimator) -> tuple[int, float]:
    _, p = resolve_metric(estimator.effective_metric_, estimator.p)
    return estimator.n_features_in_, p


def density_score_samples(estimator, X=None):
    """``KNeighborsDensity.score_samples`` on Dask (X=None: leave-one-out)."""
    check_is_fitted(estimator)
    k = estimator.n_neighbors
    n_reference = estimator.n_samples_fit_ - (1 if X is None else 0)
    n_features, p = _density_geometry(estimator)
    finish = partial(_density_score, n_features=n_features, p=p, k=k, n_reference=n_reference)
    return _answer(estimator, X, k, finish, Spec((), np.float64), method="score_samples")


def density_class_log_density(estimator, X=None):
    """``KNeighborsDensity.class_log_density`` on Dask (X=None: leave-one-out)."""
    estimator._require_labels()
    n_features, p = _density_geometry(estimator)
    finish = partial(_density_class, n_features=n_features, p=p,
                     class_count=estimator.class_count_)
    return _answer(estimator, X, estimator.n_neighbors, finish,
                   Spec((len(estimator.classes_),), np.float64), method="class_log_density",
                   needs_own_codes=True)


def density_predict_proba(estimator, X=None):
    """``KNeighborsDensity.predict_proba`` on Dask (X=None: leave-one-out)."""
    estimator._require_labels()
    n_classes = len(estimator.classes_)
    finish = partial(_density_proba, n_classes=n_classes, k=estimator.n_neighbors)
    return _answer(estimator, X, estimator.n_neighbors, finish, Spec((n_classes,), np.float64),
                   method="predict_proba")
