"""Squared Euclidean distances, computed by blocks with one matrix product."""

from __future__ import annotations

import numpy as np


def squared_norms(X: np.ndarray) -> np.ndarray:
    """Row-wise ‖x‖², shape (n_samples,)."""
    return np.einsum("ij,ij->i", X, X)


def squared_euclidean_minus_query_norm(
    A: np.ndarray, B: np.ndarray, B_sq: np.ndarray | None = None
) -> np.ndarray:
    """‖b‖² − 2a·b, that is ‖a − b‖² − ‖a‖²: the same order within each row of queries.

    Ranking neighbours needs no ‖a‖² (it is constant along a row), so this saves two passes
    over the block; folding −2 into A costs one pass over the (small) query block instead.

    Parameters
    ----------
    A : ndarray of shape (n_a, n_features)
    B : ndarray of shape (n_b, n_features)
    B_sq : ndarray of shape (n_b,), optional

    Returns
    -------
    ndarray of shape (n_a, n_b)
    """
    if B_sq is None:
        B_sq = squared_norms(B)
    D = (-2.0 * A) @ B.T
    D += B_sq[None, :]
    return D


def squared_euclidean(
    A: np.ndarray,
    B: np.ndarray,
    *,
    A_sq: np.ndarray | None = None,
    B_sq: np.ndarray | None = None,
) -> np.ndarray:
    """Pairwise squared Euclidean distances through the expansion ‖a‖² + ‖b‖² − 2a·b.

    The cross term is one GEMM, which is why this is fast. Rounding can make the expansion
    slightly negative for (near-)identical points, so the result is clipped at 0.

    Parameters
    ----------
    A : ndarray of shape (n_a, n_features)
    B : ndarray of shape (n_b, n_features)
    A_sq, B_sq : ndarray of shape (n_a,) and (n_b,), optional
        Precomputed squared row norms, so that a blocked caller computes them once.

    Returns
    -------
    D : ndarray of shape (n_a, n_b)
    """
    if A_sq is None:
        A_sq = squared_norms(A)
    D = squared_euclidean_minus_query_norm(A, B, B_sq)
    D += A_sq[:, None]
    np.maximum(D, 0.0, out=D)
    return D


def rowwise_squared_distances(A: np.ndarray, B_rows: np.ndarray) -> np.ndarray:
    """Exact ‖a_i − b_ij‖² for each query row i and its own rows j of ``B_rows``.

    Parameters
    ----------
    A : ndarray of shape (n, n_features)
    B_rows : ndarray of shape (n, k, n_features)

    Returns
    -------
    ndarray of shape (n, k)
    """
    diff = B_rows - A[:, None, :]
    return np.einsum("ijk,ijk->ij", diff, diff)
