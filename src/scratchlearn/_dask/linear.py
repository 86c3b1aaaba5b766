"""Linear models on Dask arrays: the in-memory kernels mapped over chunks of rows.

Every objective here is a sum over samples, so it is a sum over chunks of rows. The data
(X, and y encoded to class codes on the workers) is persisted once; after that, each pass
sends the small parameters to the chunks and brings back only the chunks' sums, added by a
tree of tasks on the workers. What runs where:

- **Workers**: per chunk, the in-memory kernels: ``softmax_objective`` (which is
  ``softmax_cross_entropy``), ``centred_rows`` with ``gram_upper`` or ``triangular_factor``
  for least squares, ``np.unique`` and ``np.searchsorted`` for the labels, and the
  estimators' own ``predict*`` methods for predictions.
- **Client**: the optimiser (SciPy's L-BFGS or ``scratchlearn.optim``'s rules), the small
  D × D eigendecomposition or SVD of least squares, the L2 penalty and the division by N.

**SoftmaxRegression** with θ of size P = K(D + 1) (K = n_classes, or 1 for two classes)
and c chunks: each evaluation of J(θ), ∇J(θ) is one ``compute`` of

    J = (1/N) Σ_chunks N_k J_k(θ) + (α/2)‖W‖²,   ∇J = (1/N) Σ_chunks N_k ∇J_k(θ) + α [W, 0],

with J_k the chunk's mean loss (no penalty); with sample weights, N becomes S = Σ_n s_n and
N_k J_k the chunk's weighted sum Σ_{n∈k} s_n l_n (the weights are persisted like X and y,
and S is computed once). Bytes moved per evaluation: θ to each chunk's
task (8P each) and one partial sum of 8(P + 1) bytes per chunk and per tree node, so about
16·c·P bytes, independent of N (for D = 64, 10 classes and 8 chunks, about 85 kB).
Mini-batch solvers take one epoch per ``compute``: a chain of tasks, one per chunk in a
fresh random order, each taking the update rule's steps over mini-batches of that chunk's
rows (a batch never spans two chunks) and handing θ and the rule's state (a few P) to the
next; the full objective at the epoch's end is summed in the same graph.

**LeastSquaresClassifier**: the s-weighted means x̄, ȳ by one reduction, then the Gram
matrix MᵀM = Σ_k M_kᵀM_k of the centred rows M = √s ∘ [X − x̄, Y − ȳ] by a second; when
κ(AᵀA + αI) > 1e6 (or D > N), a third pass reduces the chunks' R factors of a tall-and-
skinny QR (one level: each chunk's R, then the R of their stack, on the client), and the
solution comes from the SVD of that small R, exactly as ``solve_least_squares`` does in
memory. Bytes: 8(D + T)² per chunk and per pass.
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

from .._math.least_squares import (
    centred_rows,
    gram_upper,
    signed_targets,
    solve_from_gram,
    solve_from_triangular,
    triangular_factor,
)
from .._math.scaling import max_abs, squares_scale
from .._math.softmax_objective import softmax_objective
from .._validation import check_class_labels, check_sample_weight
from ..optim import minibatches
from . import check_feature_names, chunk_shape_error, lost_data_error

#: Partial sums added by one task of the reduction tree.
_SPLIT_EVERY = 8

#: What a prediction needs of a fitted linear model; only this travels to the workers.
_PREDICTION_STATE = ("coef_", "intercept_", "classes_", "n_features_in_")


# ----------------------------------------------------------------------------- input


def as_samples_array(X: Any, name: str = "X") -> da.Array:
    """X as a 2-D floating Dask array chunked along the samples only.

    Chunks of rows may be any sizes (uneven, one, more than workers) but must be known;
    columns chunked in several pieces are joined into one (``rechunk``). Integers and
    booleans become float64; float32 stays float32.
    """
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


def _encode(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Class codes 0..C−1 of one chunk of labels (``classes`` sorted)."""
    return np.searchsorted(classes, y).astype(np.intp)


def _shape_row(block: np.ndarray) -> np.ndarray:
    return np.array([block.shape], dtype=np.int64)


def _held_shapes(a: da.Array) -> da.Array:
    """The shape of the array each row chunk of ``a`` (1-D, or 2-D with one column chunk)
    holds, one row per chunk, to compare with the chunks it declared. (A Dask array, not
    Delayed: this Dask mixes up the results of Delayed and array reductions in one compute.)
    """
    rows = (1,) * a.numblocks[0]
    if a.ndim == 1:
        return a.map_blocks(_shape_row, new_axis=1, chunks=(rows, (1,)), dtype=np.int64)
    return a.map_blocks(_shape_row, chunks=(rows, (a.ndim,)), dtype=np.int64)


def _magnitude_row(block: np.ndarray) -> np.ndarray:
    return np.array([[max_abs(block)]])


def _magnitudes(X: da.Array) -> da.Array:
    """max |x| of each row chunk of X (0 for an empty one), one row per chunk."""
    rows = (1,) * X.numblocks[0]
    return X.map_blocks(_magnitude_row, chunks=(rows, (1,)), dtype=np.float64)


def _check_held_shapes(name: str, a: da.Array, held: np.ndarray) -> None:
    """Refuse chunks whose arrays are not of the shapes ``a`` declared for them."""
    start = 0
    for index, (size, shape) in enumerate(zip(a.chunks[0], held.tolist(), strict=True)):
        declared = (size, *a.shape[1:])
        if tuple(shape) != declared:
            raise chunk_shape_error(name, index, start, declared, tuple(shape))
        start += size


def _compute(estimator: str, *collections: Any) -> tuple:
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
    def persist(cls, X: Any, y: Any, sample_weight: Any = None, *, estimator: str) -> LabelledRows:
        """Check X and y, persist them, find ``classes_`` and encode y chunk by chunk.

        Three graphs: persist X and y; one small reduction for the sorted distinct labels,
        the finiteness and largest magnitude of X (and the weights' checks); persist the
        codes.
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
            "shapes": {name: _held_shapes(a) for name, a in arrays.items()},
        }
        if isinstance(sample_weight, da.Array):
            checks["weights"] = (
                da.isfinite(sample_weight).all(),
                sample_weight.min(),
                sample_weight.sum(),
            )
        (checks,) = _compute(estimator, checks)
        for name, a in arrays.items():  # before any value computed from them is trusted
            _check_held_shapes(name, a, checks["shapes"][name])
        if not checks["finite"]:
            raise ValueError("Input X contains NaN or infinity.")
        if "weights" in checks:  # the in-memory checks, on a stand-in with the same verdict
            finite, low, total = checks["weights"]
            check_sample_weight(np.array([low if finite else np.nan, total]), 2)
        classes, _ = check_class_labels(checks["classes"], estimator=estimator, min_classes=2)
        (codes,) = dask.persist(y.map_blocks(_encode, classes, dtype=np.intp))
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

    def softmax_problem(self, alpha: float) -> SoftmaxProblem:
        """The softmax objective on these rows, with L2 penalty α."""
        return SoftmaxProblem(self, alpha)

    def solve_least_squares(
        self, *, alpha: float = 0.0, fit_intercept: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """``_math.least_squares.solve_least_squares`` on these rows and their ±1 targets.

        As in memory, values whose squares would overflow or underflow (|x| beyond about
        1e±77) are solved for at a power-of-two scale, X' = X·2^(−e) chunk by chunk with
        max |x'| ∈ [1/2, 1) and α' = α·2^(−2e), and W = W'·2^(−e) (``_math.scaling``).

        Returns
        -------
        W : ndarray of shape (n_targets, n_features)
        b : ndarray of shape (n_targets,)
        """
        C, D, N = len(self.classes), self.n_features, self.n_samples
        exponent, alpha = squares_scale(self.magnitude, alpha)
        if fit_intercept:
            ((total, sx, sy),) = _compute(
                self.estimator,
                chunkwise_sum(_weighted_sums, self, n_classes=C, exponent=exponent),
            )
            x_mean, y_mean = sx / total, sy / total
        else:
            x_mean, y_mean = np.zeros(D), np.zeros(1 if C == 2 else C)
        centring = {"x_mean": x_mean, "y_mean": y_mean, "n_classes": C, "exponent": exponent}
        W = None
        if N >= D:
            ((S,),) = _compute(self.estimator, chunkwise_sum(_gram_sums, self, **centring))
            W = solve_from_gram(S, D, alpha)
        if W is None:  # tall-and-skinny QR: each chunk's R, then the R of their stack
            factors = _compute(
                self.estimator,
                *[delayed(_r_factor, pure=True)(*block, **centring) for block in self.blocks()],
            )
            R = triangular_factor(np.vstack(factors))
            W = solve_from_triangular(R, D, alpha, n_rows=N)
        with np.errstate(over="ignore"):  # ±inf beyond float64's range, as in memory
            return np.ldexp(W.T, -exponent), y_mean - x_mean @ W


# ------------------------------------------------------------------------- reductions


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


# ---------------------------------------------------------------- softmax regression


def _softmax_sums(
    X: np.ndarray, codes: np.ndarray, s: np.ndarray | None = None, *, theta: np.ndarray, K: int
) -> tuple[float, np.ndarray]:
    """N_k J_k(θ) and N_k ∇J_k(θ) of one chunk, without the penalty; with sample weights
    s, the weighted sums Σ_n s_n l_n(θ) and Σ_n s_n ∇l_n(θ)."""
    n = X.shape[0]
    if n == 0:
        return 0.0, np.zeros_like(theta)
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported by ``descend``
        if s is not None:
            return softmax_objective(theta, X, codes, K, 0.0, sample_weight=s, weight_total=1.0)
        loss, grad = softmax_objective(theta, X, codes, K, 0.0)
    return n * loss, n * grad


def _softmax_chunk_epoch(
    carried: tuple[np.ndarray, dict],
    X: np.ndarray,
    codes: np.ndarray,
    s: np.ndarray | None = None,
    *,
    K: int,
    alpha: float,
    rule: Callable,
    hyper: dict,
    batch_size: int,
    seed: int,
    mean_weight: float = 1.0,
) -> tuple[np.ndarray, dict]:
    """The update rule's steps over shuffled mini-batches of one chunk: (θ, state) → (θ', state').

    Each step's gradient is the batch's mean loss plus the penalty, as in memory; with
    sample weights, the batch's weighted sum over |B|·S/N (``mean_weight`` = S/N).
    """
    theta, state = carried
    with np.errstate(over="ignore", invalid="ignore"):
        for batch in minibatches(X.shape[0], batch_size, np.random.RandomState(seed)):
            if s is None:
                _, grad = softmax_objective(theta, X[batch], codes[batch], K, alpha)
            else:
                _, grad = softmax_objective(
                    theta, X[batch], codes[batch], K, alpha, sample_weight=s[batch],
                    weight_total=len(batch) * mean_weight,
                )  # fmt: skip
            theta, state = rule(theta, grad, state, **hyper)
    return theta, state


class SoftmaxProblem:
    """J(θ) and ∇J(θ) of ``SoftmaxRegression`` on persisted rows, one ``compute`` each.

    ``objective`` is what ``optim.lbfgs`` and ``optim.descend`` call; ``epoch`` makes the
    update rule of a mini-batch solver take a whole epoch on the workers.
    """

    def __init__(self, rows: LabelledRows, alpha: float):
        self.rows, self.alpha = rows, alpha
        self.K = 1 if len(rows.classes) == 2 else len(rows.classes)
        self._ready: tuple | None = None  # (θ, J, ∇J) computed with the last epoch
        #: S, what the summed loss is divided by: N, or Σ_n s_n with sample weights.
        self.total = float(rows.n_samples)
        if rows.sample_weight is not None:
            (total,) = _compute(rows.estimator, rows.sample_weight.sum())
            self.total = float(total)

    def objective(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """J(θ), ∇J(θ): one ``compute`` (none if the last epoch ended at θ)."""
        if self._ready is not None and np.array_equal(theta, self._ready[0]):
            return self._ready[1], self._ready[2].copy()
        (sums,) = _compute(self.rows.estimator, self._sums(theta))
        return self._finish(theta, *sums)

    def _sums(self, theta: np.ndarray | Delayed) -> Delayed:
        return chunkwise_sum(_softmax_sums, self.rows, theta=theta, K=self.K)

    def _finish(self, theta: np.ndarray, loss_sum: float, grad_sum: np.ndarray):
        """The (weighted) mean over the samples plus the penalty (α/2)‖W‖² on W only."""
        W = theta[: self.K * self.rows.n_features]
        loss = loss_sum / self.total + 0.5 * self.alpha * float(W @ W)
        grad = grad_sum / self.total
        grad[: W.size] += self.alpha * W
        return float(loss), grad

    def epoch(self, rule: Callable, batch_size: int, rng: np.random.RandomState) -> Callable:
        """An update rule (θ, g, state) → (θ', state') that runs one epoch on the workers.

        The chunks are visited in a fresh order drawn from ``rng``, each taking mini-batch
        steps over its own rows; J and ∇J at the epoch's end come back in the same
        ``compute`` and answer the next ``objective(θ')`` call.
        """

        def run_epoch(theta, grad, state, **hyper):
            order = rng.permutation(self.rows.n_chunks)
            seeds = rng.randint(2**31 - 1, size=self.rows.n_chunks)
            blocks = self.rows.blocks()
            carried: Any = (theta, state)
            for k in order:
                carried = delayed(_softmax_chunk_epoch, pure=True)(
                    carried,
                    *blocks[k],
                    K=self.K,
                    alpha=self.alpha,
                    rule=rule,
                    hyper=hyper,
                    batch_size=batch_size,
                    seed=int(seeds[k]),
                    mean_weight=self.total / self.rows.n_samples,
                )
            (theta, state), sums = _compute(self.rows.estimator, carried, self._sums(carried[0]))
            self._ready = (theta, *self._finish(theta, *sums))
            return theta, state

        return run_epoch


# --------------------------------------------------------------------- least squares


def _weighted_sums(
    X: np.ndarray, codes: np.ndarray, s: np.ndarray | None = None, *, n_classes: int,
    exponent: int = 0,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Σ s_n, Σ s_n x_n and Σ s_n y_n of one chunk (s = 1 when None), in float64, with X
    scaled by 2^(−``exponent``)."""
    X = _scaled(X, exponent)
    Y = signed_targets(codes, n_classes)
    if s is None:
        return float(X.shape[0]), X.sum(axis=0, dtype=np.float64), Y.sum(axis=0)
    return float(s.sum()), s @ X, s @ Y


def _gram_sums(
    X: np.ndarray, codes: np.ndarray, s: np.ndarray | None = None, **centring: Any
) -> tuple[np.ndarray]:
    """M_kᵀM_k (upper triangle) of one chunk's centred, √s-scaled rows M_k."""
    return (gram_upper(_centred(X, codes, s, **centring)),)


def _r_factor(
    X: np.ndarray, codes: np.ndarray, s: np.ndarray | None = None, **centring: Any
) -> np.ndarray:
    """An R factor of one chunk's centred, √s-scaled rows M_k (no rows if the chunk is empty)."""
    M = _centred(X, codes, s, **centring)
    return triangular_factor(M) if M.shape[0] else M


def _centred(X, codes, s, *, x_mean, y_mean, n_classes, exponent) -> np.ndarray:
    Y = signed_targets(codes, n_classes)
    return centred_rows(_scaled(X, exponent), Y, x_mean, y_mean, s)


def _scaled(X: np.ndarray, exponent: int) -> np.ndarray:
    """X·2^(−exponent) in float64 (X itself when 0), exactly, as the in-memory solve."""
    return np.ldexp(X.astype(np.float64), -exponent) if exponent else X


# ----------------------------------------------------------------------- predictions


def _prediction_copy(estimator: Any) -> Any:
    """A bare instance holding only the fitted state that predictions read (no callbacks,
    no per-sample attributes), to be shipped to the workers with each task."""
    fitted = object.__new__(type(estimator))
    fitted.__dict__.update({k: getattr(estimator, k) for k in _PREDICTION_STATE})
    return fitted


def _predict_block(
    X: np.ndarray, fitted: Any, method: str, trailing: tuple, dtype, block_info=None
) -> np.ndarray:
    """The in-memory ``fitted.<method>`` on one chunk of rows (of the shape Dask declared
    for it: ``block_info``, which ``map_blocks`` passes)."""
    if block_info is not None:
        (start, stop), _ = block_info[0]["array-location"]
        declared = (stop - start, fitted.n_features_in_)
        if X.shape != declared:
            index = block_info[0]["chunk-location"][0]
            raise chunk_shape_error("X", index, start, declared, X.shape)
    if X.shape[0] == 0:
        return np.empty((0, *trailing), dtype=dtype)
    return getattr(fitted, method)(X)


def predict_blocks(estimator: Any, method: str, X: Any) -> da.Array:
    """``estimator.<method>(X)`` chunk by chunk, as a lazy Dask array with X's row chunks.

    ``method`` is one of predict, predict_proba, predict_log_proba, decision_function.
    """
    check_feature_names(estimator, X, reset=False)  # names and count, as validate_data
    X = as_samples_array(X)
    n_features = estimator.n_features_in_
    if X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{n_features} features as input."
        )
    if method == "predict":
        trailing, dtype = (), estimator.classes_.dtype
    elif method == "decision_function":
        n_rows = estimator.coef_.shape[0]
        trailing = () if n_rows == 1 else (n_rows,)
        dtype = np.result_type(X.dtype, estimator.coef_.dtype)
    else:
        trailing, dtype = (len(estimator.classes_),), np.dtype(np.float64)
    fitted = _prediction_copy(estimator)
    layout = {"drop_axis": 1} if not trailing else {"chunks": (X.chunks[0], trailing)}
    return X.map_blocks(
        _predict_block,
        fitted,
        method,
        trailing,
        dtype,
        dtype=dtype,
        meta=np.empty((0, *trailing), dtype=dtype),
        **layout,
    )


def score(estimator: Any, X: Any, y: Any, sample_weight: Any = None) -> float:
    """Mean accuracy of the lazy ``estimator.predict(X)`` against y, in one ``compute``."""
    y_pred = estimator.predict(X)
    correct = y_pred == rows_like(y, y_pred.chunks[0], "y")
    if sample_weight is None:
        return float(correct.mean().compute())
    s = rows_like(sample_weight, y_pred.chunks[0], "sample_weight").astype(float)
    hits, total = dask.compute((correct * s).sum(), s.sum())
    return float(hits / total)
