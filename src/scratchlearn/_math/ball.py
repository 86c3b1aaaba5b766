"""Volume of the d-dimensional ball, in log space."""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln


def log_ball_volume(n_dims: int, radius: np.ndarray) -> np.ndarray:
    """log V_d(r) = (d/2)·log π − log Γ(d/2 + 1) + d·log r.

    Working in log space keeps the result finite where V itself under- or overflows
    (d = 64 with r = 0.1 gives V ≈ 1e-84; Γ(33) ≈ 2.6e35). ``radius = 0`` gives ``-inf``.

    Parameters
    ----------
    n_dims : int
        The dimension d.
    radius : ndarray
        Radii r >= 0, any shape.

    Returns
    -------
    ndarray of the same shape as ``radius``
    """
    d = float(n_dims)
    with np.errstate(divide="ignore"):
        log_r = np.log(np.asarray(radius, dtype=float))
    return 0.5 * d * np.log(np.pi) - gammaln(0.5 * d + 1.0) + d * log_r
