"""logsumexp, softmax and log-softmax over the last axis, all shifted by the maximum.

For logits g ∈ ℝ^C and m = max_c g_c,

    logsumexp(g) = m + log Σ_c exp(g_c − m),
    softmax(g)_c = exp(g_c − m) / Σ_j exp(g_j − m),
    log_softmax(g)_c = g_c − logsumexp(g).

Subtracting m changes nothing mathematically (numerator and denominator are both scaled by
exp(−m)) but keeps every exponent ≤ 0, so exp never overflows and the largest term is
exactly 1, so the sum never underflows to 0 and the log is always finite.
"""

from __future__ import annotations

import numpy as np


def logsumexp(G: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """log Σ_c exp(G_c) along ``axis``, computed as m + log Σ_c exp(G_c − m).

    Parameters
    ----------
    G : ndarray of shape (..., n_classes)
        Finite logits.
    axis : int, default=-1
    keepdims : bool, default=False

    Returns
    -------
    ndarray
        ``G`` reduced along ``axis``; finite whenever ``G`` is.
    """
    G = np.asarray(G, dtype=float)
    m = np.max(G, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(G - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(G: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(G) = G − logsumexp(G), without forming softmax(G) first.

    Taking the log of a computed softmax would give −inf where a probability underflows to
    0; this form stays finite (e.g. −2e4 for logits (1e4, −1e4)).

    Parameters
    ----------
    G : ndarray of shape (..., n_classes)
    axis : int, default=-1

    Returns
    -------
    ndarray of the shape of ``G``
    """
    G = np.asarray(G, dtype=float)
    return G - logsumexp(G, axis=axis, keepdims=True)


def softmax(G: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax(G)_c = exp(G_c − m) / Σ_j exp(G_j − m), with m the maximum along ``axis``.

    Parameters
    ----------
    G : ndarray of shape (..., n_classes)
    axis : int, default=-1

    Returns
    -------
    ndarray of the shape of ``G``
        Non-negative, summing to 1 along ``axis``.
    """
    G = np.asarray(G, dtype=float)
    E = np.exp(G - np.max(G, axis=axis, keepdims=True))
    return E / np.sum(E, axis=axis, keepdims=True)
