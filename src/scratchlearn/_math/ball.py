"""Volume of the d-dimensional Lp ball, in log space."""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln


def log_ball_volume(n_dims: int, radius: np.ndarray, p: float = 2.0) -> np.ndarray:
    """log V_d^p(r), the log volume of the ball {x ∈ R^d : ‖x‖_p <= r}.

    For 1 <= p < ∞ (Dirichlet's formula),

        V_d^p(r) = (2 Γ(1/p + 1))^d / Γ(d/p + 1) · r^d,
        log V_d^p(r) = d·log(2 Γ(1/p + 1)) − log Γ(d/p + 1) + d·log r,

    and for p = ∞ the ball is the cube [−r, r]^d, V = (2r)^d (the limit of the formula, since
    Γ(1) = 1). Special cases:

    - p = 2, the Euclidean ball: 2 Γ(3/2) = √π, so log V = (d/2)·log π − log Γ(d/2 + 1)
      + d·log r (evaluated in exactly this form, as before ``p`` existed);
    - p = 1, the cross-polytope: V = (2r)^d / d!;
    - d = 1, the segment [−r, r]: V = 2r for every p.

    Working in log space keeps the result finite where V itself under- or overflows
    (d = 64 with r = 0.1 gives V ≈ 1e-84 for p = 2; Γ(33) ≈ 2.6e35). ``radius = 0`` gives
    ``-inf``.

    Parameters
    ----------
    n_dims : int
        The dimension d.
    radius : ndarray
        Radii r >= 0, any shape.
    p : float, default=2.0
        The order of the norm, p >= 1 or ``np.inf`` (for p < 1 the "ball" is not convex
        and ‖·‖_p is not a norm).

    Returns
    -------
    ndarray of the same shape as ``radius``

    Raises
    ------
    ValueError
        If ``p`` is below 1 or NaN.
    """
    p = float(p)
    if not p >= 1.0:
        raise ValueError(f"p must be >= 1 (or np.inf) for an Lp ball volume, got p={p!r}.")
    d = float(n_dims)
    with np.errstate(divide="ignore"):
        log_r = np.log(np.asarray(radius, dtype=float))
    if p == 2.0:
        return 0.5 * d * np.log(np.pi) - gammaln(0.5 * d + 1.0) + d * log_r
    if p == np.inf:
        return d * (np.log(2.0) + log_r)
    return d * (np.log(2.0) + gammaln(1.0 / p + 1.0)) - gammaln(d / p + 1.0) + d * log_r
