"""Exact neighbour search behind one entry point, so backends can change freely.

Every path returns neighbours sorted by (distance, training index): among equidistant
training points the one with the smaller index comes first, also at the k-th place. The
estimators call :func:`kneighbors_search` for the k nearest and :func:`radius_search` for
those within a radius (or their leave-one-out forms); both resolve the metric, the path and
the scale in one place (:func:`_prepare`) and never let the estimators see which path ran.

Paths
-----
- **Brute force, Euclidean family** ("euclidean", "sqeuclidean", "cosine"; dense or CSR):
  tiles of queries × training points, one BLAS product per tile in the input's own
  precision (float32 stays float32), a compiled running top-K' per query (``_topk``),
  then an exact float64 re-rank of the candidates (``_exact``), with a proof that they
  hold the answer (docs/exact_search.rst). Many queries are split across threads by
  blocks of queries; few queries by blocks of training points, whose partial lists are
  merged. The radius search keeps the candidates within R plus the same rounding bound
  and re-ranks them by the same float64 sums (``radius``).
- **Brute force, other metrics** ("manhattan", "chebyshev", "minkowski" (weighted too),
  "haversine", callables, "cosine" on CSR data, and "precomputed" distances): the same
  tiles filled with exact float64 distances (``pairwise``), the same top-k.
- **KD-tree** (``scipy.spatial.KDTree``) for the Minkowski family with p >= 1 in low
  dimension, with a fix-up that orders ties by index; ``query_ball_point`` for radii.
- **Precomputed sparse graphs**: each row's stored entries (``precomputed``).

Which path runs is the policy's (``policy.resolve_algorithm``); values whose squares would
overflow or underflow are searched at an exact power-of-two scale (``magnitude``). The
modules: ``policy`` (metrics, aliases, path rules), ``threads``, ``magnitude``, ``brute`` (with
the compiled kernel: ``_order``, ``_topk`` and ``_exact``, see ``_compiled``), ``pairwise``,
``radius``, ``tree``, ``precomputed`` and ``lists`` (what a search returns); callers use
only what this package exports.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.spatial import KDTree

from .._math import scaling
from .brute import brute_kneighbors, squared_row_norms, uses_product
from .lists import Neighbors, Within, within_from_pairs, without_self
from .magnitude import rescaling_exponent, scale_back, search_scale
from .policy import (
    ALGORITHMS,
    GEMM_METRICS,
    METRIC_ALIASES,
    METRICS,
    PRECOMPUTED,
    SPARSE_METRICS,
    TREE_P,
    Metric,
    metric_kwargs,
    resolve_algorithm,
    resolve_metric,
    tree_applicable,
    tree_metric,
)
from .precomputed import graph_kneighbors, graph_radius
from .radius import brute_radius, kd_tree_radius
from .threads import effective_n_jobs
from .tree import kd_tree_kneighbors

__all__ = [
    "ALGORITHMS",
    "GEMM_METRICS",
    "METRICS",
    "METRIC_ALIASES",
    "PRECOMPUTED",
    "SPARSE_METRICS",
    "Neighbors",
    "Within",
    "effective_n_jobs",
    "kneighbors_leave_one_out",
    "kneighbors_search",
    "radius_leave_one_out",
    "radius_search",
    "rescaling_exponent",
    "resolve_algorithm",
    "resolve_metric",
    "squared_row_norms",
    "training_aids",
    "tree_applicable",
    "tree_metric",
    "within_from_pairs",
    "without_self",
]

#: Metrics whose distances scale with the data (degree 1 or 2), so that the power-of-two
#: rescaling applies (``magnitude``).
_SCALED = ("euclidean", "sqeuclidean", "cosine", "manhattan", "chebyshev", "minkowski")


class _Plan(NamedTuple):
    """One search, resolved: the path, the metric, and the operands at their scale."""

    method: str  # "brute", "kd_tree" or "graph" (precomputed sparse rows)
    metric: Metric
    p: float
    kwargs: dict[str, Any]
    X_query: Any
    X_fit: Any
    tree: KDTree | None
    fit_sq: np.ndarray | None
    exponent: int  # the data were scaled by 2^−exponent
    magnitude: float


def _prepare(X_query, X_fit, n_neighbors: int, *, algorithm: str, metric: Metric, p: float,
             metric_params: dict | None, tree: KDTree | None, fit_sq) -> _Plan:
    """Resolve the metric and the path, and scale extreme values (``magnitude``)."""
    kwargs = metric_kwargs(metric, metric_params)
    metric, p = resolve_metric(metric, p, metric_params)
    if metric == PRECOMPUTED:
        method = "graph" if sp.issparse(X_query) else "brute"
        return _Plan(method, metric, p, kwargs, X_query, X_fit, None, None, 0, 0.0)
    weighted = "w" in kwargs and not callable(metric)
    method = resolve_algorithm(
        algorithm, X_fit.shape[1], n_neighbors, X_fit.shape[0], metric=metric,
        sparse=sp.issparse(X_fit) or sp.issparse(X_query), p=p, weighted=weighted,
    )
    if method == "kd_tree" and not tree_metric(metric, p, weighted):
        raise ValueError(
            f"algorithm='kd_tree' cannot search metric={metric!r}: a KD-tree serves the "
            "Minkowski family (euclidean, sqeuclidean, manhattan, chebyshev, minkowski). "
            "Use algorithm='brute' or 'auto'."
        )
    if callable(metric) or metric not in _SCALED:
        return _Plan(method, metric, p, kwargs, X_query, X_fit, tree, fit_sq, 0, 0.0)
    # Values whose squares would overflow or underflow are searched at a power-of-two scale.
    exponent, magnitude = search_scale(X_query, X_fit, metric, p, tree=tree, fit_sq=fit_sq)
    if exponent:
        X_query, X_fit = scaling.ldexp(X_query, -exponent), scaling.ldexp(X_fit, -exponent)
        tree = fit_sq = None  # built for the unscaled values
    if method == "kd_tree" and tree is None:
        tree = KDTree(X_fit)
    return _Plan(method, metric, p, kwargs, X_query, X_fit, tree, fit_sq, exponent, magnitude)


def kneighbors_search(
    X_query,
    X_fit,
    n_neighbors: int,
    *,
    algorithm: str = "auto",
    metric: Metric = "euclidean",
    p: float = 2,
    tree: KDTree | None = None,
    n_jobs: int | None = None,
    fit_sq: np.ndarray | None = None,
    metric_params: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The entry point for the k nearest: (queries, training set, k, metric) → (distances,
    indices).

    Parameters
    ----------
    X_query : ndarray or CSR matrix of shape (n_queries, n_features)
        For ``metric="precomputed"``: distances to the training points, of shape
        (n_queries, n_samples), dense or a sparse graph (its stored entries are the
        candidates).
    X_fit : ndarray or CSR matrix of shape (n_samples, n_features)
        float32 is searched in float32, anything else in float64; the answer is exact
        either way (float64 distances of the given values).
    n_neighbors : int, 1 <= n_neighbors <= n_samples
    algorithm : {"auto", "ball_tree", "brute", "kd_tree"}
    metric : str or callable
        One of ``METRICS``, an alias, "precomputed", or ``f(x, y) -> float``.
    p : float, default=2
        The exponent of "minkowski" (``metric_params``' "p" takes its place).
    tree : KDTree, optional
        A tree over ``X_fit``, built once at fit time; built here when missing.
    n_jobs : int, default=None
        Threads for the search (None: every core).
    fit_sq : ndarray of shape (n_samples,), optional
        ‖x‖² of the training rows in float64, computed once at fit time.
    metric_params : dict, optional
        "p" and "w" (feature weights) for "minkowski"; a callable's keyword arguments.

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
    plan = _prepare(X_query, X_fit, n_neighbors, algorithm=algorithm, metric=metric, p=p,
                    metric_params=metric_params, tree=tree, fit_sq=fit_sq)
    if plan.method == "graph":
        return graph_kneighbors(plan.X_query, n_neighbors)
    if plan.method == "brute":
        distances, indices = brute_kneighbors(
            plan.X_query, plan.X_fit, n_neighbors, metric=plan.metric, p=plan.p,
            n_jobs=n_jobs, fit_sq=plan.fit_sq, kwargs=plan.kwargs,
        )
    else:
        distances, indices = kd_tree_kneighbors(
            plan.X_query, plan.X_fit, n_neighbors, plan.tree,
            p=TREE_P.get(plan.metric, plan.p), n_jobs=n_jobs,
        )
        if plan.metric == "sqeuclidean":
            distances **= 2
    if plan.exponent:
        distances = scale_back(distances, plan.exponent, plan.metric, plan.magnitude)
    return distances, indices


def radius_search(X_query, X_fit, radius: float, **options: Any) -> Within:
    """The entry point for radii: every training point at distance ≤ ``radius`` of each
    query, each row sorted by (distance, index) (:class:`Within`). ``options`` are those of
    :func:`kneighbors_search`; the path is the one it would take for k = 1."""
    n_jobs = options.pop("n_jobs", None)
    plan = _prepare(X_query, X_fit, 1, **{**_DEFAULTS, **options})
    if plan.method == "graph":
        return graph_radius(plan.X_query, radius)
    # Distances scale by 2^(e·degree) (degree 2 for "sqeuclidean", 0 for "cosine").
    degree = {"sqeuclidean": 2, "cosine": 0}.get(plan.metric, 1) if plan.exponent else 0
    reach = float(np.ldexp(radius, -plan.exponent * degree)) if degree else radius
    if plan.method == "brute":
        found = brute_radius(plan.X_query, plan.X_fit, reach, metric=plan.metric, p=plan.p,
                             n_jobs=n_jobs, fit_sq=plan.fit_sq, kwargs=plan.kwargs)
    else:
        found = kd_tree_radius(plan.X_query, plan.X_fit, reach, plan.tree, metric=plan.metric,
                               p=plan.p, tree_p=TREE_P.get(plan.metric, plan.p),
                               n_jobs=n_jobs)
    if plan.exponent:
        found = found._replace(distances=scale_back(found.distances, plan.exponent,
                                                    plan.metric, plan.magnitude))
    return found


_DEFAULTS = {"algorithm": "auto", "metric": "euclidean", "p": 2, "metric_params": None,
             "tree": None, "fit_sq": None}


def training_aids(
    X_fit, *, algorithm: str, metric: Metric, p: float | None, metric_params: dict | None,
) -> tuple[np.ndarray | None, KDTree | None]:
    """What searches over ``X_fit`` read that can be computed once, at fit: (``fit_sq``,
    ``tree``) for :func:`kneighbors_search`.

    ‖x‖² per row for the brute force's Euclidean family, and the KD-tree when
    ``algorithm`` may pick one ("kd_tree", "ball_tree" for a tree metric, or "auto" for
    dense data of a Minkowski metric in low dimension: "auto" decides per query, since it
    depends on k). Both are None where the values are out of the range of squares: such
    data are searched at a power-of-two scale, with norms and a tree built per search at
    that scale.
    """
    weighted = "w" in metric_kwargs(metric, metric_params) and not callable(metric)
    metric, p = resolve_metric(metric, p, metric_params)
    if callable(metric) or metric == PRECOMPUTED:
        return None, None
    sparse = sp.issparse(X_fit)
    in_range = metric not in _SCALED or not rescaling_exponent(
        scaling.max_abs(X_fit), X_fit.dtype, metric, p)
    fit_sq = squared_row_norms(X_fit) if uses_product(metric, sparse) and in_range else None
    may_use_tree = not sparse and (
        algorithm == "kd_tree"
        or (algorithm == "ball_tree" and tree_metric(metric, p, weighted))
        or (algorithm == "auto" and tree_applicable(X_fit.shape[1], metric, sparse, p,
                                                    weighted))
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


def radius_leave_one_out(X_fit, radius: float, **search_options) -> Within:
    """The training points within ``radius`` of each training point, the point itself left
    out (its duplicates stay, as in scikit-learn)."""
    return without_self(radius_search(X_fit, X_fit, radius, **search_options))
