"""A kNN training set on Dask: its row partitions persisted on the workers, as they stay.

:func:`fit` turns each row partition of X into a :class:`Partition` (the validated rows,
their class codes, and the squared norms or the KD-tree the in-memory search would use)
and persists it on a worker; the client keeps only a :class:`DaskTrainingSet` (the
partitions' handles, their row offsets o_j and sizes n_j) and, with labels, the classes
and their counts. The estimator sets its attributes from what :func:`fit` returns.
Training rows never move, except when :func:`gather` brings them back (to save or pickle
the model).
"""

from __future__ import annotations

from concurrent.futures import CancelledError
from functools import partial
from typing import Any, NamedTuple

import dask
import numpy as np
from dask.delayed import Delayed, delayed
from distributed import futures_of
from scipy.spatial import KDTree
from sklearn.utils import check_array
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from .._search import training_aids
from .._validation import check_n_neighbors
from . import chunk_shape_error, lost_data_error
from .arrays import as_dask_array, as_labels


class Partition(NamedTuple):
    """One training partition, as the worker that holds it keeps it."""

    X: np.ndarray
    codes: np.ndarray | None  # class codes 0..C−1 of the rows, when fitted with labels
    fit_sq: np.ndarray | None  # ‖x‖² per row, for the brute-force Euclidean family
    tree: KDTree | None  # when "auto" or "kd_tree" may search with a tree


class DaskTrainingSet(NamedTuple):
    """What the client keeps of a Dask fit: handles, not data."""

    partitions: tuple[Delayed, ...]  # persisted Partition per non-empty row block
    offsets: tuple[int, ...]  # global row of each partition's first row
    sizes: tuple[int, ...]


class KnnFit(NamedTuple):
    """What a kNN fit on Dask returns: the estimator's fitted state, as values."""

    training: DaskTrainingSet
    n_samples: int
    n_features: int
    classes: np.ndarray | None  # sorted labels, when fitted with y
    class_count: np.ndarray | None  # N_c, when fitted with y


def prepare_partition(
    X: np.ndarray, codes: np.ndarray | None, *, algorithm: str, metric: Any, p: float,
    metric_params: dict | None = None,
) -> Partition:
    """Validate one block of training rows (finite, float32 or float64, as the in-memory
    ``fit`` does) and precompute what the search reads (``_search.training_aids``)."""
    # No rows is allowed here: a chunk that holds fewer rows than declared is reported by
    # ``fit`` with the chunk's declared and held shapes.
    X = check_array(X, dtype=[np.float64, np.float32], ensure_min_samples=0, input_name="X")
    fit_sq, tree = training_aids(X, algorithm=algorithm, metric=metric, p=p,
                                 metric_params=metric_params)
    return Partition(X, codes, fit_sq, tree)


def _block_shapes(X: np.ndarray, codes: np.ndarray | None):
    """The shape of a block of rows, and the number of its labels (None: unlabelled)."""
    return np.shape(X), None if codes is None else len(codes)


def _partition_shapes(part: Partition):
    return _block_shapes(part.X, part.codes)


def _label_counts(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = column_or_1d(y, warn=True)
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError("Input y contains NaN or infinity.")
    return np.unique(y, return_counts=True)


def _encode(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    return np.searchsorted(classes, column_or_1d(y)).astype(np.intp)


def _partition_rows(part: Partition) -> tuple[np.ndarray, np.ndarray | None]:
    """On a worker: one training partition's rows and class codes (not its KD-tree)."""
    return part.X, part.codes


# --- the training data on the workers ---------------------------------------------------


def lost_training(name: str) -> RuntimeError:
    """The error for a Dask-fitted ``name`` whose partitions the workers no longer hold."""
    return lost_data_error(
        f"The training data of this Dask-fitted {name}",
        "Fit the model again. A Dask-fitted kNN model is usable only while its cluster "
        "keeps the partitions: keep the cluster running, or save the model with "
        "scratchlearn.save while it runs (the saved model loads in memory).",
    )


def compute_training(name: str, *collections: Any) -> tuple:
    """``dask.compute`` of work on the persisted training data; a clear error when the
    workers lost it (Dask's ``FutureCancelledError``, a ``CancelledError``)."""
    try:
        return dask.compute(*collections)
    except CancelledError as error:
        raise lost_training(name) from error


def check_alive(training: DaskTrainingSet, name: str) -> None:
    """Raise the lost-data error before building queries on partitions the workers no
    longer hold (a lazy answer would otherwise fail only when computed)."""
    futures = futures_of(list(training.partitions))
    if any(future.status in ("cancelled", "lost") for future in futures):
        raise lost_training(name)


def fit(
    X: Any, y: Any = None, *, n_neighbors: int, algorithm: str, metric: Any, p: float,
    metric_params: dict | None = None, classify: bool, name: str,
) -> KnnFit:
    """Persist the training partitions of X (with the class codes of y) on the workers.

    ``metric``, ``p`` and ``metric_params`` are the estimator's (validated by it);
    ``classify`` refuses continuous labels, as the classifier does. Only the classes and
    their counts come back to the client.
    """
    X = as_dask_array(X, "X", 2)
    n_samples, n_features = X.shape
    if n_samples == 0 or n_features == 0:
        raise ValueError(f"Found array with shape {X.shape}; at least 1 row and 1 feature.")
    check_n_neighbors(n_neighbors, n_samples)

    codes_blocks: list = [None] * len(X.chunks[0])
    classes = class_count = None
    if y is not None:
        # X and y in one graph, evaluated once: y is often computed from X (or both from one
        # source), and a second evaluation of a generator that is not deterministic would
        # store rows beside the labels of other rows.
        X, y = dask.persist(X, as_labels(y, X))
        blocks = y.to_delayed().ravel()
        found = compute_training(name, *[delayed(_label_counts)(b) for b in blocks])
        classes = np.unique(np.concatenate([values for values, _ in found]))
        if classify:
            check_classification_targets(classes)
        class_count = np.zeros(len(classes), dtype=np.intp)
        for values, counts in found:
            class_count[np.searchsorted(classes, values)] += counts
        codes_blocks = [delayed(_encode)(block, classes) for block in blocks]

    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(int)
    kept = [j for j, size in enumerate(X.chunks[0]) if size > 0]
    x_blocks = X.to_delayed().ravel()
    prepare = partial(prepare_partition, algorithm=algorithm, metric=metric, p=p,
                      metric_params=metric_params)
    partitions = dask.persist(*[delayed(prepare)(x_blocks[j], codes_blocks[j]) for j in kept])
    # Wait for the partitions (raising here, in fit, if a block holds NaN) and check that
    # every block holds the shape X declared (the empty ones too, which are not kept).
    empty = [j for j, size in enumerate(X.chunks[0]) if size == 0]
    held = compute_training(
        name,
        *[delayed(_partition_shapes)(part) for part in partitions],
        *[delayed(_block_shapes)(x_blocks[j], codes_blocks[j]) for j in empty],
    )
    for j, (x_shape, n_labels) in sorted(zip(kept + empty, held, strict=True)):
        size = X.chunks[0][j]
        if x_shape != (size, n_features):
            raise chunk_shape_error("X", j, int(offsets[j]), (size, n_features), x_shape)
        if n_labels is not None and n_labels != size:
            raise chunk_shape_error("y", j, int(offsets[j]), (size,), (n_labels,))
    training = DaskTrainingSet(
        tuple(partitions), tuple(int(offsets[j]) for j in kept),
        tuple(int(X.chunks[0][j]) for j in kept),
    )
    return KnnFit(training, int(n_samples), int(n_features), classes, class_count)


def gather(training: DaskTrainingSet, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The training rows and their class codes (None: unlabelled), brought back from the
    workers in row order, for the equivalent in-memory model (a model file, a pickle)."""
    try:
        blocks = dask.compute(*[delayed(_partition_rows)(part) for part in training.partitions])
    except Exception as error:  # whatever Dask raises, re-raised unchanged with a hint
        error.add_note(
            f"scratchlearn: gathering the training data of a Dask-fitted {name} from the "
            "workers failed; such a model can be saved or pickled only while its Dask "
            "cluster (client) is running."
        )
        raise
    X = np.concatenate([rows for rows, _ in blocks])
    codes = None if blocks[0][1] is None else np.concatenate([codes for _, codes in blocks])
    return X, codes
