"""Exact k-nearest-neighbour search behind one function, so backends can change freely.

Every path returns neighbours sorted by (distance, training index): among equidistant
training points the one with the smaller index comes first, also at the k-th place. The
estimators call :func:`kneighbors_search` (or :func:`kneighbors_leave_one_out`) and never
see which path ran.

Paths
-----
- **Brute force, Euclidean family** ("euclidean", "sqeuclidean", "cosine"; dense or CSR):
  tiles of queries × training points, one BLAS product per tile in the input's own
  precision (float32 stays float32), a compiled running top-K' per query (``_kernel``),
  then an exact float64 re-rank of the candidates, with a proof that they hold the answer
  (see ``_kernel``'s module docstring). Many queries are split across threads by blocks of
  queries; few queries by blocks of training points, whose partial lists are merged.
- **Brute force, other metrics** ("manhattan", "chebyshev", "minkowski"): the same tiles
  with ``scipy.spatial.distance.cdist`` computing exact float64 distances, the same top-k.
- **KD-tree** (``scipy.spatial.KDTree``) for the Minkowski family in low dimension, with a
  fix-up that orders ties by index.

Which path runs is the policy's (``policy.resolve_algorithm``); values whose squares would
overflow or underflow are searched at an exact power-of-two scale (``magnitude``). The
modules: ``policy`` (metrics, aliases, path rules, threads), ``magnitude``, ``brute`` (with
the compiled ``_kernel``) and ``tree``; callers use only what this package exports.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.spatial import KDTree

from .._math import scaling
from .brute import brute_kneighbors, squared_row_norms
from .magnitude import rescaling_exponent, scale_back, search_scale
from .policy import (
    ALGORITHMS,
    GEMM_METRICS,
    METRIC_ALIASES,
    METRICS,
    TREE_P,
    effective_n_jobs,
    resolve_algorithm,
    resolve_metric,
    tree_applicable,
    tree_metric,
)
from .tree import kd_tree_kneighbors

__all__ = [
    "ALGORITHMS",
    "GEMM_METRICS",
    "METRICS",
    "METRIC_ALIASES",
    "Neighbors",
    "effective_n_jobs",
    "kneighbors_leave_one_out",
    "kneighbors_search",
    "rescaling_exponent",
    "resolve_algorithm",
    "resolve_metric",
    "squared_row_norms",
    "training_aids",
    "tree_applicable",
    "tree_metric",
]


class Neighbors(NamedTuple):
    """Neighbour lists of a block of queries, each row sorted by (distance, training
    index), with what callers carry along: the neighbours' class codes and, when the
    queries are the training rows themselves (leave-one-out), their own class codes."""

    distances: np.ndarray  # (n_queries, k) float64
    indices: np.ndarray  # (n_queries, k) rows of the training set
    codes: np.ndarray | None = None  # (n_queries, k) the neighbours' class codes
    own_codes: np.ndarray | None = None  # (n_queries,) leave-one-out: each query's own


def kneighbors_search(
    X_query,
    X_fit,
    n_neighbors: int,
    *,
    algorithm: str = "auto",
    metric: str = "euclidean",
    p: float = 2,
    tree: KDTree | None = None,
    n_jobs: int | None = None,
    fit_sq: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The single entry point: (queries, training set, k, metric) → (distances, indices).

    Parameters
    ----------
    X_query : ndarray or CSR matrix of shape (n_queries, n_features)
    X_fit : ndarray or CSR matrix of shape (n_samples, n_features)
        float32 is searched in float32, anything else in float64; the answer is exact
        either way (float64 distances of the given values).
    n_neighbors : int, 1 <= n_neighbors <= n_samples
    algorithm : {"auto", "brute", "kd_tree"}
    metric : str
        One of ``METRICS`` or its alias; "minkowski" uses ``p``.
    p : float, default=2
    tree : KDTree, optional
        A tree over ``X_fit``, built once at fit time; built here when missing.
    n_jobs : int, default=None
        Threads for the search (None: every core).
    fit_sq : ndarray of shape (n_samples,), optional
        ‖x‖² of the training rows in float64, computed once at fit time.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors)
        Distances in the metric, ascending in each row.
    indices : ndarray of shape (n_queries, n_neighbors)
        Rows of ``X_fit``; ties in distance are ordered by index.

    Raises
    ------
    ValueError
        For ``algorithm="kd_tree"`` with a metric outside the Minkowski family, and when
        the distances do not fit in float64 (see ``scratchlearn._search.magnitude``).
    """
    metric, p = resolve_metric(metric, p)
    sparse = sp.issparse(X_fit)
    method = resolve_algorithm(
        algorithm, X_fit.shape[1], n_neighbors, X_fit.shape[0], metric=metric, sparse=sparse
    )
    if method == "kd_tree" and not tree_metric(metric):
        raise ValueError(
            f"algorithm='kd_tree' cannot search metric={metric!r}: a KD-tree serves the "
            "Minkowski family (euclidean, sqeuclidean, manhattan, chebyshev, minkowski). "
            "Use algorithm='brute' or 'auto'."
        )
    # Values whose squares would overflow or underflow are searched at a power-of-two scale.
    exponent, magnitude = search_scale(X_query, X_fit, metric, p, tree=tree, fit_sq=fit_sq)
    if exponent:
        X_query, X_fit = scaling.ldexp(X_query, -exponent), scaling.ldexp(X_fit, -exponent)
        tree = fit_sq = None  # built for the unscaled values
    if method == "brute":
        distances, indices = brute_kneighbors(
            X_query, X_fit, n_neighbors, metric=metric, p=p, n_jobs=n_jobs, fit_sq=fit_sq
        )
    else:
        if tree is None:
            tree = KDTree(X_fit)
        distances, indices = kd_tree_kneighbors(
            X_query, X_fit, n_neighbors, tree, p=TREE_P.get(metric, p), n_jobs=n_jobs
        )
        if metric == "sqeuclidean":
            distances **= 2
    if exponent:
        distances = scale_back(distances, exponent, metric, magnitude)
    return distances, indices


def training_aids(
    X_fit, *, algorithm: str = "auto", metric: str = "euclidean", p: float = 2
) -> tuple[np.ndarray | None, KDTree | None]:
    """What searches over ``X_fit`` read that can be computed once, at fit: (``fit_sq``,
    ``tree``) for :func:`kneighbors_search`.

    ‖x‖² per row for the brute force's Euclidean family, and the KD-tree when
    ``algorithm`` may pick one ("kd_tree", or "auto" for dense data of a Minkowski metric
    in low dimension: "auto" decides per query, since it depends on k). Both are None
    where the values are out of the range of squares: such data are searched at a
    power-of-two scale, with norms and a tree built per search at that scale.
    """
    metric, p = resolve_metric(metric, p)
    in_range = not rescaling_exponent(scaling.max_abs(X_fit), X_fit.dtype, metric, p)
    fit_sq = squared_row_norms(X_fit) if metric in GEMM_METRICS and in_range else None
    may_use_tree = algorithm == "kd_tree" or (
        algorithm == "auto" and tree_applicable(X_fit.shape[1], metric, sp.issparse(X_fit))
    )
    tree = KDTree(X_fit) if may_use_tree and in_range else None
    return fit_sq, tree


def kneighbors_leave_one_out(
    X_fit, n_neighbors: int, **search_options
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours of each training point among the *other* training points.

    Searches k + 1 and drops the point itself; when exact duplicates with smaller indices
    push the point out of its own k + 1 list, the last column is dropped instead (as
    scikit-learn does), so each row holds k other points either way. ``search_options``
    go to :func:`kneighbors_search`.
    """
    n_fit = X_fit.shape[0]
    distances, indices = kneighbors_search(X_fit, X_fit, n_neighbors + 1, **search_options)
    is_self = indices == np.arange(n_fit)[:, None]
    no_self = ~is_self.any(axis=1)
    is_self[no_self, -1] = True
    keep = ~is_self
    return (
        distances[keep].reshape(n_fit, n_neighbors),
        indices[keep].reshape(n_fit, n_neighbors),
    )
