"""Exact power-of-two rescaling, for formulas in squares that would overflow or underflow.

Multiplying by 2^k changes only a float's exponent, so it is exact (while the result stays
normal) and rounding commutes with it: a computation on X·2^(−e) gives the result on X
scaled by the matching power of two, to the last bit. The linear models solve on
X' = X·2^(−e), with e from :func:`unit_scale` (so that max |x'| ∈ [1/2, 1)), and go back
exactly: the outputs W x + b = W' x' + b' give W = W'·2^(−e) and b = b', and the penalty
α‖W‖² = α'‖W'‖² with α' = α·2^(−2e). The kNN search scales its queries and training set by
the same rule (``neighbors/_search.py``, "Extreme magnitudes").
"""

from __future__ import annotations

import math

import numpy as np

#: float64 magnitudes whose squares, summed over up to 2^250 terms, neither overflow nor
#: underflow: [2^(e_min/4), 2^(e_max/4)], the kNN search's range for squares.
SQUARES_SAFE = (2.0 ** (np.finfo(np.float64).minexp / 4), 2.0 ** (np.finfo(np.float64).maxexp / 4))


def max_abs(X: np.ndarray) -> float:
    """max |x_ij| (0 when X is empty), without a temporary array."""
    if X.size == 0:
        return 0.0
    return max(float(X.max()), -float(X.min()))


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
