"""Exact power-of-two rescaling, for formulas in squares that would overflow or underflow.

Multiplying by 2^k changes only a float's exponent, so it is exact (while the result stays
normal) and rounding commutes with it: a computation on X·2^(−e) gives the result on X
scaled by the matching power of two, to the last bit. Two uses, one mechanism:

- **The linear models** solve on X' = X·2^(−e), with e from :func:`unit_scale` (so that
  max |x'| ∈ [1/2, 1)), and go back exactly: the outputs W x + b = W' x' + b' give
  W = W'·2^(−e) and b = b', and the penalty α‖W‖² = α'‖W'‖² with α' = α·2^(−2e).
  Least squares does so only when max |x| leaves the range where sums of squares are safe
  (:func:`squares_scale`); Huber's IRLS always.
- **The kNN search** scales its queries and training set by :func:`rescaling_exponent`
  into the top of the range where sums of q-th powers are safe (``scratchlearn._search``,
  "Extreme magnitudes"), and its distances back by 2^(e·degree).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp


def safe_exponents(dtype, power: float) -> tuple[float, float]:
    """log2 of the magnitudes whose ``power``-th powers (q ≥ 2), summed over up to 2^250
    terms, neither overflow nor underflow in ``dtype``: [e_min/2q, e_max/2q], with
    [e_min, e_max] the dtype's exponent range."""
    info = np.finfo(dtype)
    return info.minexp / (2 * power), info.maxexp / (2 * power)


def max_abs(X) -> float:
    """max |x_ij| of a dense array or CSR matrix (0 when empty), without a temporary."""
    data = X.data if sp.issparse(X) else X
    if data.size == 0:
        return 0.0
    return max(float(data.max()), -float(data.min()))


def ldexp(X, exponent: int):
    """X·2^exponent (exact for normal results), dense or CSR, keeping the dtype."""
    if sp.issparse(X):
        X = X.copy()
        X.data = np.ldexp(X.data, exponent).astype(X.dtype, copy=False)
        return X
    return np.ldexp(X, exponent).astype(X.dtype, copy=False)


def rescaling_exponent(magnitude: float, dtype, power: float = 2.0) -> int:
    """e such that ``magnitude``·2^(−e) ∈ [2^(H−1), 2^H), H = ⌊e_max/2q⌋, or 0 when no
    rescaling is needed.

    No rescaling when ``magnitude`` (the largest |value|) is 0 or lies in
    [2^(e_min/2q), 2^(e_max/2q)] for the dtype's exponent range [e_min, e_max] and
    q = ``power``: the q-th powers of such values and of their differences, summed over
    the features, neither overflow nor underflow (:func:`safe_exponents`).
    """
    low_exp, high_exp = safe_exponents(dtype, power)
    if magnitude == 0 or 2.0**low_exp <= magnitude <= 2.0**high_exp:
        return 0
    return math.frexp(magnitude)[1] - math.floor(high_exp)


def unit_scale(magnitude: float, alpha: float = 0.0) -> tuple[int, float]:
    """(e, α') with ``magnitude``·2^(−e) ∈ [1/2, 1) and α' = α·2^(−2e), the penalty on
    W' = W·2^e that equals α‖W‖².

    (0, α), no scaling, when ``magnitude`` is 0, or when α' would exceed the float range:
    the penalty then outweighs the squares of X by more than float64 resolves (W ≈ XᵀY/α
    to the last bit), so their underflow in the unscaled problem is harmless, while α'
    and W' = W·2^e would not be floats.
    """
    exponent = math.frexp(magnitude)[1]
    try:
        return exponent, math.ldexp(alpha, -2 * exponent)
    except OverflowError:
        return 0, alpha


def squares_scale(magnitude: float, alpha: float = 0.0) -> tuple[int, float]:
    """:func:`unit_scale` where float64 squares of ``magnitude`` would overflow or
    underflow (outside [2^(e_min/4), 2^(e_max/4)], about 1e-77 … 1e77: the range of
    :func:`rescaling_exponent` for squares); (0, α), no scaling, within it."""
    if rescaling_exponent(magnitude, np.float64) == 0:
        return 0, alpha
    return unit_scale(magnitude, alpha)
