"""Least squares on Dask: the in-memory solve's pieces reduced over chunks of rows.

**LeastSquaresClassifier**: the s-weighted means x̄, ȳ by one reduction, then the Gram
matrix MᵀM = Σ_k M_kᵀM_k of the centred rows M = √s ∘ [X − x̄, Y − ȳ] by a second; when
κ(AᵀA + αI) > 1e6 (or D > N), a third pass reduces the chunks' R factors of a tall-and-
skinny QR (one level: each chunk's R, then the R of their stack, on the client), and the
solution comes from the SVD of that small R, exactly as ``solve_least_squares`` does in
memory. Bytes: 8(D + T)² per chunk and per pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from dask.delayed import delayed

from .._math.least_squares import (
    centred_rows,
    gram_upper,
    signed_targets,
    solve_from_gram,
    solve_from_triangular,
    triangular_factor,
)
from .._math.scaling import squares_scale
from .rows import LabelledRows, chunkwise_sum, compute


def solve_least_squares(
    rows: LabelledRows, *, alpha: float = 0.0, fit_intercept: bool = True
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
    C, D, N = len(rows.classes), rows.n_features, rows.n_samples
    exponent, alpha = squares_scale(rows.magnitude, alpha)
    if fit_intercept:
        ((total, sx, sy),) = compute(
            rows.estimator,
            chunkwise_sum(_weighted_sums, rows, n_classes=C, exponent=exponent),
        )
        x_mean, y_mean = sx / total, sy / total
    else:
        x_mean, y_mean = np.zeros(D), np.zeros(1 if C == 2 else C)
    centring = {"x_mean": x_mean, "y_mean": y_mean, "n_classes": C, "exponent": exponent}
    W = None
    if N >= D:
        ((S,),) = compute(rows.estimator, chunkwise_sum(_gram_sums, rows, **centring))
        W = solve_from_gram(S, D, alpha)
    if W is None:  # tall-and-skinny QR: each chunk's R, then the R of their stack
        factors = compute(
            rows.estimator,
            *[delayed(_r_factor, pure=True)(*block, **centring) for block in rows.blocks()],
        )
        R = triangular_factor(np.vstack(factors))
        W = solve_from_triangular(R, D, alpha, n_rows=N)
    with np.errstate(over="ignore"):  # ±inf beyond float64's range, as in memory
        return np.ldexp(W.T, -exponent), y_mean - x_mean @ W


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
