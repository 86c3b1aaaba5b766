"""kNN votes and densities from the neighbours a search found: pure functions of their
distances and class codes.

For a query x with neighbours N_k(x) (the K nearest training points, at distances
d_1 ≤ … ≤ d_K) and class codes y_i,

    votes_c(x) = Σ_{i ∈ N_k(x)} w_i · 1[y_i = c],     p(c | x) = votes_c / Σ_c' votes_c',

with w_i = 1 (uniform) or 1/d_i (distance), and the kNN density estimates (Bishop, PRML
§2.5.2), V the volume of the ball of radius r_K(x) = d_K,

    p(x) = K / (N · V),     p(x | c) = K_c / (N_c · V),

taken in log space.
"""

from __future__ import annotations

import numpy as np

from .ball import log_ball_volume


def neighbor_class_votes(
    neighbor_labels: np.ndarray, n_classes: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """Sum the (weighted) votes of each row's neighbours per class.

    Parameters
    ----------
    neighbor_labels : ndarray of shape (n_queries, n_neighbors)
        Class codes in ``0..n_classes-1``.
    n_classes : int
    weights : ndarray of shape (n_queries, n_neighbors), optional
        One vote each when omitted, so the result holds the counts K_c.

    Returns
    -------
    ndarray of shape (n_queries, n_classes)
    """
    n_queries = neighbor_labels.shape[0]
    flat = (np.arange(n_queries)[:, None] * n_classes + neighbor_labels).ravel()
    flat_weights = None if weights is None else weights.ravel()
    votes = np.bincount(flat, weights=flat_weights, minlength=n_queries * n_classes)
    return votes.reshape(n_queries, n_classes).astype(float)


def distance_weights(distances: np.ndarray) -> np.ndarray:
    """w = 1/d per neighbour; a row with exact matches (d = 0) gives them all the weight.

    This is scikit-learn's rule: a query that coincides with training points is classified
    by those points alone, each with weight 1.
    """
    exact = distances == 0
    with np.errstate(divide="ignore"):
        weights = 1.0 / distances
    has_exact = exact.any(axis=1)
    weights[has_exact] = exact[has_exact].astype(float)
    return weights


def neighbor_weights(distances: np.ndarray, weights) -> np.ndarray | None:
    """w_i per neighbour from ``weights``: None for "uniform" (or None), 1/d for
    "distance", ``weights(distances)`` for a callable (scikit-learn's ``weights``).

    Raises
    ------
    ValueError
        When a callable returns another shape, or every neighbour of some query gets
        weight 0 (its vote would be 0/0), as scikit-learn does.
    """
    if weights is None or (isinstance(weights, str) and weights == "uniform"):
        return None
    if isinstance(weights, str) and weights == "distance":
        return distance_weights(distances)
    w = np.asarray(weights(distances), dtype=np.float64)
    if w.shape != distances.shape:
        raise ValueError(
            f"weights={weights!r} returned an array of shape {w.shape} for distances of "
            f"shape {distances.shape}; a weights function must return one weight per "
            "neighbour, of the same shape."
        )
    if w.size and np.any(np.all(w == 0, axis=1)):
        raise ValueError(
            "All neighbors of some sample is getting zero weights. Please modify 'weights' "
            "to avoid this case if you are using a user-defined function."
        )
    return w


def class_votes(
    distances: np.ndarray, neighbor_codes: np.ndarray, n_classes: int, weights
) -> np.ndarray:
    """Σ_{i ∈ N_k(x)} w_i · 1[y_i = c] per query and class, w_i from ``weights``.

    Parameters
    ----------
    distances : ndarray of shape (n_queries, n_neighbors)
    neighbor_codes : ndarray of shape (n_queries, n_neighbors)
        The neighbours' class codes in ``0..n_classes-1``.
    n_classes : int
    weights : {"uniform", "distance"}, None or callable
        As in :func:`neighbor_weights`.

    Returns
    -------
    ndarray of shape (n_queries, n_classes)
    """
    return neighbor_class_votes(neighbor_codes, n_classes, neighbor_weights(distances, weights))


def vote_probabilities(votes: np.ndarray) -> np.ndarray:
    """p(c | x) = votes_c / Σ_c' votes_c', row by row."""
    return votes / votes.sum(axis=1, keepdims=True)


def sphere_log_volume(distances: np.ndarray, n_features: int, p: float) -> np.ndarray:
    """log V_d(r_K(x)), r_K the distance to the K-th (last) neighbour of each row.

    Parameters
    ----------
    distances : ndarray of shape (n_queries, K)
    n_features : int
        d.
    p : float
        The Lp ball's order.

    Returns
    -------
    ndarray of shape (n_queries,)
    """
    return log_ball_volume(n_features, distances[:, -1], p)


def knn_log_density(log_volume: np.ndarray, n_neighbors: int, n_reference: int) -> np.ndarray:
    """log p(x) = log K − log N − log V, with N the size of the reference set."""
    return np.log(n_neighbors) - np.log(n_reference) - log_volume


def knn_class_log_density(
    log_volume: np.ndarray, neighbor_codes: np.ndarray, class_count: np.ndarray,
    own_codes: np.ndarray | None = None,
) -> np.ndarray:
    """log p(x | c) = log K_c − log N_c − log V, one column per class.

    Parameters
    ----------
    log_volume : ndarray of shape (n_queries,)
    neighbor_codes : ndarray of shape (n_queries, K)
        The neighbours' class codes.
    class_count : ndarray of shape (n_classes,)
        N_c over the training set.
    own_codes : ndarray of shape (n_queries,), optional
        Leave-one-out: each query's own class, whose N_c loses the query (N_c − 1).

    Returns
    -------
    ndarray of shape (n_queries, n_classes)
        ``-inf`` where K_c = 0.
    """
    counts = neighbor_class_votes(neighbor_codes, len(class_count))
    class_sizes = np.broadcast_to(class_count.astype(float), counts.shape).copy()
    if own_codes is not None:
        class_sizes[np.arange(len(class_sizes)), own_codes] -= 1
    with np.errstate(divide="ignore", invalid="ignore"):
        log_density = np.log(counts) - np.log(class_sizes) - log_volume[:, None]
    return np.where(counts > 0, log_density, -np.inf)
