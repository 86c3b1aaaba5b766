"""Dask input shaped at the boundary, and per-block answers assembled back.

Inputs become 2-D Dask arrays chunked along the samples only (columns in one chunk), with
known chunk sizes; per-sample vectors (labels, weights) take X's row chunks. Answers
computed block by block on the workers come back as Dask arrays with the queries' row
chunks (:func:`assemble`), and :func:`map_rows` applies an in-memory model's answer to
every block of Dask queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import numpy as np
from dask.delayed import Delayed, delayed

from . import Spec, check_reachable, chunk_shape_error

# --- input -----------------------------------------------------------------------------


def as_dask_array(X: Any, name: str, ndim: int) -> da.Array:
    """A Dask array with known row chunks and, for 2-D, the columns in one chunk."""
    check_reachable(X, name)
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


def as_labels(y: Any, X: da.Array) -> da.Array:
    """Labels y (NumPy, list or Dask) as a 1-D Dask array with X's row chunks."""
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
    y = as_dask_array(y, "y", y.ndim)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must be 1-D with one label per row of X ({X.shape[0]}), got shape {y.shape}."
        )
    return y.rechunk((X.chunks[0],)) if y.chunks[0] != X.chunks[0] else y


def as_samples_array(X: Any, name: str = "X") -> da.Array:
    """X as a 2-D floating Dask array chunked along the samples only.

    Chunks of rows may be any sizes (uneven, one, more than workers) but must be known;
    columns chunked in several pieces are joined into one (``rechunk``). Integers and
    booleans become float64; float32 stays float32.
    """
    check_reachable(X, name)
    if hasattr(X, "to_dask_array"):  # a Dask DataFrame
        X = X.to_dask_array(lengths=True)
    if not isinstance(X, da.Array):  # in memory (NumPy, a list, a pandas frame) with Dask y
        X = da.asarray(np.asarray(X))
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D Dask array for {name}, got ndim={X.ndim}.")
    if any(np.isnan(size) for size in X.chunks[0]):
        raise ValueError(
            f"{name} has unknown chunk sizes along the samples; call "
            f"{name}.compute_chunk_sizes() first."
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} must have at least one sample and one feature, got {X.shape}.")
    if X.dtype.kind in "biu":
        X = X.astype(np.float64)
    elif X.dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be numeric (float32 or float64), got dtype {X.dtype}.")
    return X.rechunk({1: -1}) if len(X.chunks[1]) > 1 else X


def rows_like(v: Any, row_chunks: tuple[int, ...], name: str) -> da.Array:
    """A per-sample vector (NumPy, list or Dask) as a 1-D Dask array with these chunks."""
    check_reachable(v, name)
    if hasattr(v, "to_dask_array"):  # a Dask Series: kept lazy, to be persisted with X
        v = v.to_dask_array(lengths=True)
    if not isinstance(v, da.Array):
        v = np.asarray(v)
        if v.ndim == 2 and v.shape[1] == 1:
            v = v[:, 0]
        if v.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {v.shape}.")
        if v.shape[0] != sum(row_chunks):
            raise ValueError(
                f"{name} has {v.shape[0]} samples but X has {sum(row_chunks)}; they must match."
            )
        return da.from_array(v, chunks=(row_chunks,))
    if v.ndim != 1:
        raise ValueError(f"{name} must be a 1-D Dask array, got ndim={v.ndim}.")
    if np.isnan(v.shape[0]) or v.shape[0] != sum(row_chunks):
        raise ValueError(
            f"{name} has {v.shape[0]} samples but X has {sum(row_chunks)}; they must match."
        )
    return v if v.chunks[0] == row_chunks else v.rechunk((row_chunks,))


def blocks_and_rows(X: da.Array) -> list[tuple[Delayed, int, int]]:
    """Each row block of X with its declared number of rows and its first row."""
    sizes = [int(size) for size in X.chunks[0]]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int).tolist()
    return list(zip(X.to_delayed().ravel(), sizes, starts, strict=True))


# --- what the chunks hold ----------------------------------------------------------------


def _shape_row(block: np.ndarray) -> np.ndarray:
    return np.array([block.shape], dtype=np.int64)


def held_shapes(a: da.Array) -> da.Array:
    """The shape of the array each row chunk of ``a`` (1-D, or 2-D with one column chunk)
    holds, one row per chunk, to compare with the chunks it declared. (A Dask array, not
    Delayed: this Dask mixes up the results of Delayed and array reductions in one compute.)
    """
    rows = (1,) * a.numblocks[0]
    if a.ndim == 1:
        return a.map_blocks(_shape_row, new_axis=1, chunks=(rows, (1,)), dtype=np.int64)
    return a.map_blocks(_shape_row, chunks=(rows, (a.ndim,)), dtype=np.int64)


def check_held_shapes(name: str, a: da.Array, held: np.ndarray) -> None:
    """Refuse chunks whose arrays are not of the shapes ``a`` declared for them."""
    start = 0
    for index, (size, shape) in enumerate(zip(a.chunks[0], held.tolist(), strict=True)):
        declared = (size, *a.shape[1:])
        if tuple(shape) != declared:
            raise chunk_shape_error(name, index, start, declared, tuple(shape))
        start += size


# --- answers ---------------------------------------------------------------------------


def assemble(results: list[Delayed], sizes: list[int], specs, is_dask: bool):
    """Per-block Delayed answers → Dask arrays with the blocks' rows as chunks, or NumPy
    when ``is_dask`` is false. ``specs`` is one :class:`Spec`, or a list of them for
    answers that are tuples."""
    many = not isinstance(specs, Spec)
    outputs = []
    for position, (tail, dtype) in enumerate(specs if many else (specs,)):
        chunks = [
            da.from_delayed(result[position] if many else result, (size, *tail), dtype=dtype)
            for result, size in zip(results, sizes, strict=True)
        ]
        output = da.concatenate(chunks, axis=0)
        if output.chunks[0] != tuple(sizes):  # concatenate drops empty blocks: put them back
            output = output.rechunk({0: tuple(sizes)})
        outputs.append(output)
    if not is_dask:
        outputs = list(dask.compute(*outputs))
    return tuple(outputs) if many else outputs[0]


def _apply(answer: Callable, X: np.ndarray, declared: tuple[int, int], index: int,
           start: int, specs):
    if np.shape(X) != declared:
        raise chunk_shape_error("X", index, start, declared, np.shape(X))
    if X.shape[0] == 0:  # an empty chunk: empty answers, as the in-memory code refuses it
        empty = [np.empty((0, *tail), dtype=dtype) for tail, dtype in
                 (specs if not isinstance(specs, Spec) else [specs])]
        return empty[0] if isinstance(specs, Spec) else tuple(empty)
    return answer(X)


def map_rows(answer: Callable[[np.ndarray], Any], X: Any, specs, *, name: str):
    """``answer(block)`` for each row block of the Dask queries X, on the workers, as lazy
    Dask arrays with X's row chunks (``specs`` as in :func:`assemble`).

    ``answer`` (an in-memory model's answer, the model with it) goes to the workers once
    (the blockwise ``map_blocks`` pattern, with any number of outputs); each block is
    checked against the shape X declared for it first.
    """
    X = as_dask_array(X, "X", 2)
    answer = delayed(answer, name=f"{name}-{uuid.uuid4().hex}", traverse=False)
    results = [
        delayed(_apply)(answer, block, (size, X.shape[1]), i, start, specs)
        for i, (block, size, start) in enumerate(blocks_and_rows(X))
    ]
    return assemble(results, [int(size) for size in X.chunks[0]], specs, True)


def accuracy(y_pred: da.Array, y: Any, sample_weight: Any = None) -> float:
    """Mean accuracy of the lazy predictions against y (weighted), in one ``compute``."""
    correct = y_pred == rows_like(y, y_pred.chunks[0], "y")
    if sample_weight is None:
        return float(correct.mean().compute())
    s = rows_like(sample_weight, y_pred.chunks[0], "sample_weight").astype(float)
    hits, total = dask.compute((correct * s).sum(), s.sum())
    return float(hits / total)
