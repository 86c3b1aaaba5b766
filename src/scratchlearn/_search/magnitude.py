"""Extreme magnitudes: the search's power-of-two rescaling, and its way back.

Every path squares coordinates (or raises them to the power p): with float64 values near
1e160 the squares overflow (the brute force returns inf, SciPy's tree fails with a message
about ``p``), and near 1e-160 they underflow to 0, so distinct points look equidistant.
:func:`kneighbors_search` therefore looks at the largest |value| m of the queries and the
training set; when m lies outside [2^(e_min/2q), 2^(e_max/2q)] (q = 2, or p for Minkowski
with p > 2; e_min, e_max the dtype's exponent range: about 1e-77 … 1e77 for float64),
both are multiplied by the power of two 2^(−e) that brings m into [2^(H−1), 2^H),
H = ⌊e_max/2q⌋ (2^255 for float64 squares): the top of the safe range, so that small
differences keep as many binary orders as possible above underflow. Multiplying by a power
of two is exact, so the neighbours, their order and the ties are those of the original
values, and every distance is scaled back exactly, by 2^(e·degree) (degree 1, 2 for
"sqeuclidean", 0 for "cosine"). A distance that does not fit in float64 once scaled back
(beyond about 1.8e308, or below about 2.2e-308 while not 0: "sqeuclidean" of values
beyond 1e154 or below 1e-154) raises a ``ValueError`` that names X and says what to do.
One scale serves all values, so data spanning more than about 2^760 (1e229) at once keeps
the limit of any formula in squares: a difference below 2^−760 of the largest |value|
squares to 0.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import KDTree

from .._math import scaling


def search_power(metric: str, p: float) -> float:
    """q, the power the metric raises coordinates to (2, or p for "minkowski" with p > 2)."""
    return max(2.0, float(p)) if metric == "minkowski" else 2.0


def rescaling_exponent(magnitude: float, dtype, metric: str = "euclidean", p: float = 2) -> int:
    """e such that ``magnitude``·2^(−e) ∈ [2^(H−1), 2^H), H = ⌊e_max/2q⌋, or 0 when no
    rescaling is needed (``_math.scaling.rescaling_exponent`` with q from the metric)."""
    return scaling.rescaling_exponent(magnitude, dtype, search_power(metric, p))


def search_scale(
    X_query, X_fit, metric: str, p: float, *, tree: KDTree | None = None,
    fit_sq: np.ndarray | None = None,
) -> tuple[int, float]:
    """(e, m): m the largest |value| of the queries and the training set, e the exponent
    of the power of two 2^(−e) to search them at (0: as they are)."""
    power = search_power(metric, p)
    low_high = [2.0**exp for exp in scaling.safe_exponents(X_fit.dtype, power)]
    magnitude = max(_fit_magnitude(X_fit, tree, fit_sq, low_high), scaling.max_abs(X_query))
    return scaling.rescaling_exponent(magnitude, X_fit.dtype, power), magnitude


def _fit_magnitude(X_fit, tree: KDTree | None, fit_sq: np.ndarray | None, low_high) -> float:
    """max |x| over the training set, read cheaply when it is known to be in range.

    A tree over ``X_fit`` holds its bounding box (``maxes``, ``mins``). Squared norms bound
    it too: max|x| ≤ max‖x‖ and ≥ max‖x‖/√D; when those bounds lie within ``low_high``
    the exact value does not matter. Otherwise the data is scanned.
    """
    if tree is not None:
        return max(float(np.max(np.abs(tree.maxes))), float(np.max(np.abs(tree.mins))))
    if fit_sq is not None and fit_sq.size:
        top = math.sqrt(float(fit_sq.max()))
        low, high = low_high
        if low * math.sqrt(max(X_fit.shape[1], 1)) <= top <= high:
            return top
    return scaling.max_abs(X_fit)


def scale_back(distances: np.ndarray, exponent: int, metric: str, magnitude: float):
    """Distances of the rescaled data → distances of the data, exactly; or a ValueError
    naming X when they do not fit in float64."""
    degree = {"sqeuclidean": 2, "cosine": 0}.get(metric, 1)
    if degree == 0:
        return distances
    with np.errstate(over="ignore", under="ignore"):
        scaled = np.ldexp(distances, degree * exponent)
    advice = (
        " or use metric='euclidean' (the same neighbours, distances not squared)"
        if metric == "sqeuclidean"
        else ""
    )
    if np.isinf(scaled).any():
        raise ValueError(
            f"The {metric} distances between the rows of X (values up to {magnitude:.3g} in "
            "magnitude) exceed the float64 range (about 1.8e308) and cannot be returned. "
            f"Divide X by a constant (the same for training and queries){advice}."
        )
    if np.any((distances > 0) & (scaled < np.finfo(np.float64).tiny)):
        raise ValueError(
            f"The {metric} distances between the rows of X (values up to {magnitude:.3g} in "
            "magnitude) fall below float64's normal range (about 2.2e-308) and would be "
            f"rounded to 0. Multiply X by a constant (the same for training and queries)"
            f"{advice}."
        )
    return scaled
