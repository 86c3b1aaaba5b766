"""Labelled training rows on the Dask workers, and sums over their chunks.

The linear models' objectives are sums over samples, so sums over chunks of rows. The data
(X, y encoded to class codes on the workers, and sample weights) are persisted once
(:class:`LabelledRows`); after that, each pass sends small parameters to the chunks and
brings back only the chunks' sums, added by a tree of tasks on the workers
(:func:`chunkwise_sum`). ``softmax`` and ``least_squares`` build on these.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from typing import Any

import dask
import dask.array as da
import numpy as np
from dask.delayed import Delayed, delayed

from .._math.scaling import max_abs
from .._validation import check_class_labels, check_sample_weight, class_weight_vector
from . import lost_data_error
from .arrays import as_samples_array, check_held_shapes, held_shapes, rows_like

#: Partial sums added by one task of the reduction tree.
_SPLIT_EVERY = 8


def _encode(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Class codes 0..C−1 of one chunk of labels (``classes`` sorted)."""
    return np.searchsorted(classes, y).astype(np.intp)


def _magnitude_row(block: np.ndarray) -> np.ndarray:
    return np.array([[max_abs(block)]])


def _magnitudes(X: da.Array) -> da.Array:
    """max |x| of each row chunk of X (0 for an empty one), one row per chunk."""
    rows = (1,) * X.numblocks[0]
    return X.map_blocks(_magnitude_row, chunks=(rows, (1,)), dtype=np.float64)


def compute(estimator: str, *collections: Any) -> tuple:
    """``dask.compute`` of work on a fit's persisted data; a clear error when the workers
    lost it (Dask's ``FutureCancelledError``, a ``CancelledError``)."""
    try:
        return dask.compute(*collections)
    except CancelledError as error:
        raise lost_data_error(
            f"The data that {estimator}.fit persisted on the Dask workers",
            "Fit again once the cluster is running (a fitted linear model keeps nothing on "
            "the workers: only its fit needs them).",
        ) from error


@dataclass
class LabelledRows:
    """Training data persisted on the workers: X, class codes, optional sample weights.

    Build it with ``LabelledRows.persist``; all three are chunked alike along the samples.
    """

    X: da.Array
    codes: da.Array
    sample_weight: da.Array | None
    classes: np.ndarray
    magnitude: float = 0.0  # max |x|, for the power-of-two scaling of least squares
    estimator: str = "the estimator"  # its name, for messages
    _blocks: list = field(default_factory=list, repr=False)

    @classmethod
    def persist(
        cls, X: Any, y: Any, sample_weight: Any = None, *, estimator: str,
        class_weight: Any = None, balanced_by_weight: bool = False,
    ) -> LabelledRows:
        """Check X and y, persist them, find ``classes_`` and encode y chunk by chunk.

        Three graphs: persist X and y; one small reduction for the sorted distinct labels,
        the finiteness and largest magnitude of X (and the weights' checks); persist the
        codes. With ``class_weight``, one more: the classes' counts, then the sample
        weights multiplied by their classes' weights are persisted in place of
        ``sample_weight`` (``balanced_by_weight``: ``"balanced"`` counts the classes by
        their sample weights, as ``LogisticRegression``, rather than by their samples).
        """
        X = as_samples_array(X)
        y = rows_like(y, X.chunks[0], "y")
        N = X.shape[0]
        if sample_weight is not None and not isinstance(sample_weight, da.Array):
            sample_weight = rows_like(
                check_sample_weight(sample_weight, N), X.chunks[0], "sample_weight"
            )
        elif sample_weight is not None:
            sample_weight = rows_like(sample_weight, X.chunks[0], "sample_weight").astype(float)
        X, y, sample_weight = dask.persist(X, y, sample_weight)
        arrays = {"X": X, "y": y, "sample_weight": sample_weight}
        arrays = {name: a for name, a in arrays.items() if isinstance(a, da.Array)}
        checks = {
            "classes": da.unique(y),
            "finite": da.isfinite(X).all(),
            "magnitude": _magnitudes(X).max(),
            "shapes": {name: held_shapes(a) for name, a in arrays.items()},
        }
        if isinstance(sample_weight, da.Array):
            checks["weights"] = (
                da.isfinite(sample_weight).all(),
                sample_weight.min(),
                sample_weight.sum(),
            )
        (checks,) = compute(estimator, checks)
        for name, a in arrays.items():  # before any value computed from them is trusted
            check_held_shapes(name, a, checks["shapes"][name])
        if not checks["finite"]:
            raise ValueError("Input X contains NaN or infinity.")
        if "weights" in checks:  # the in-memory checks, on a stand-in with the same verdict
            finite, low, total = checks["weights"]
            check_sample_weight(np.array([low if finite else np.nan, total]), 2)
        classes, _ = check_class_labels(checks["classes"], estimator=estimator, min_classes=2)
        (codes,) = dask.persist(y.map_blocks(_encode, classes, dtype=np.intp))
        if class_weight is not None:
            sample_weight = _weigh_classes(codes, sample_weight, classes, class_weight,
                                           balanced_by_weight, estimator)  # fmt: skip
        magnitude = float(checks["magnitude"])
        return cls(X, codes, sample_weight, classes, magnitude, estimator)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def dtype(self) -> np.dtype:
        return self.X.dtype

    @property
    def n_chunks(self) -> int:
        return len(self.X.chunks[0])

    def blocks(self) -> list[tuple[Delayed, ...]]:
        """(X, codes[, sample_weight]) of each chunk, as Delayed handles on the workers."""
        if not self._blocks:
            arrays = [self.X, self.codes]
            if self.sample_weight is not None:
                arrays.append(self.sample_weight)
            self._blocks = list(zip(*(a.to_delayed().ravel() for a in arrays), strict=True))
        return self._blocks


def _take(codes: np.ndarray, per_class: np.ndarray) -> np.ndarray:
    return per_class[codes]


def _weigh_classes(codes: da.Array, sample_weight: da.Array | None, classes: np.ndarray,
                   class_weight: Any, by_weight: bool, estimator: str) -> da.Array:
    """Each sample's weight times its class's (``_validation.class_weight_vector``, from
    the classes' counts summed on the workers), persisted."""
    C = len(classes)
    counted = da.bincount(codes, minlength=C)
    totals = counted if sample_weight is None else da.bincount(codes, sample_weight, C)
    counted, totals = compute(estimator, counted, totals)
    per_class = class_weight_vector(class_weight, classes, totals if by_weight else counted,
                                    totals)  # fmt: skip
    weights = codes.map_blocks(_take, per_class, dtype=np.float64)
    if sample_weight is not None:
        weights = weights * sample_weight
    (weights,) = dask.persist(weights)
    return weights


def _add(*parts: tuple) -> tuple:
    """Element-wise sum of tuples of partial sums."""
    return tuple(sum(values) for values in zip(*parts, strict=True))


def chunkwise_sum(fun: Callable[..., tuple], rows: LabelledRows, **kwargs: Any) -> Delayed:
    """Σ over chunks of ``fun(X_k, codes_k[, s_k], **kwargs)`` (a tuple), as a lazy tree sum.

    One task per chunk, on the worker that holds it; the partial sums (small) are added
    ``_SPLIT_EVERY`` at a time, so one ``compute`` of the result is one pass over the data.
    """
    parts = [delayed(fun, pure=True)(*block, **kwargs) for block in rows.blocks()]
    while len(parts) > 1:
        parts = [
            delayed(_add, pure=True)(*parts[i : i + _SPLIT_EVERY])
            for i in range(0, len(parts), _SPLIT_EVERY)
        ]
    return parts[0]
