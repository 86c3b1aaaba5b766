"""The search's policy: which metrics it serves, under which names, and which path runs.

The estimators validate their parameters against these names, and the entry points
(``scratchlearn._search.kneighbors_search`` and ``radius_search``) and the Dask search
pick their path with :func:`resolve_algorithm`, so the same query always takes the same
path.

A metric is a name of ``METRICS`` (or an alias), ``"precomputed"`` (the queries are rows
of distances to the training points), or a callable ``f(x, y) -> float`` of two rows, with
``metric_params`` as scikit-learn takes them: ``{"p": ...}`` overrides ``p`` and
``{"w": ...}`` weighs the features of "minkowski"; a callable receives them as keyword
arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: "ball_tree" is accepted as scikit-learn's name; SciPy has no ball tree, so it searches
#: with the KD-tree where a tree can serve the metric, by brute force otherwise (the answers
#: are the same on every path).
ALGORITHMS = ("auto", "ball_tree", "brute", "kd_tree")

#: Canonical metric names, and scikit-learn's aliases for them.
METRICS = ("euclidean", "sqeuclidean", "cosine", "manhattan", "chebyshev", "minkowski",
           "haversine", "nan_euclidean")
METRIC_ALIASES = {"l2": "euclidean", "l1": "manhattan", "cityblock": "manhattan"}
#: Rows of distances instead of features.
PRECOMPUTED = "precomputed"
#: Metrics ranked through one matrix product per tile (‖q − x‖² = ‖q‖² − 2q·x + ‖x‖²).
GEMM_METRICS = ("euclidean", "sqeuclidean", "cosine")
#: Metrics searched on CSR data (scikit-learn's sparse brute-force metrics, and
#: "sqeuclidean"); callables too.
SPARSE_METRICS = ("euclidean", "sqeuclidean", "manhattan", "cosine")
#: Metrics a KD-tree can search: the Minkowski family, as scipy's ``p``.
TREE_P = {"euclidean": 2.0, "sqeuclidean": 2.0, "manhattan": 1.0, "chebyshev": np.inf}

#: Up to this many features a KD-tree beats the brute-force kernel: ``make bench``'s
#: tree-versus-brute sweep (100,000 Gaussian points, 2,000 queries, k = 10, both cores) found
#: the tree 1.6–26× faster at d ≤ 6, even at d = 7 (each wins one precision by about 1.2×),
#: and 1.7–16× slower from d = 8 on. Data of low intrinsic dimension favour the tree longer.
KD_TREE_MAX_FEATURES = 7

Metric = str | Callable[..., float]


def resolve_metric(
    metric: Metric, p: float | None = 2, metric_params: dict[str, Any] | None = None
) -> tuple[Metric, float]:
    """Canonical name and exponent of ``metric``: aliases resolved, ``metric_params``'
    "p" taking the place of ``p``, and unweighted Minkowski with p = 1, 2 or ∞ turned into
    manhattan, euclidean or chebyshev (their own fast paths). A callable stays itself."""
    params = metric_params or {}
    p = params.get("p", 2 if p is None else p)
    if callable(metric) or metric == PRECOMPUTED:
        return metric, float(p)
    name = METRIC_ALIASES.get(metric, metric)
    if name == "minkowski":
        if params.get("w") is not None:
            return "minkowski", float(p)
        if p == 2:
            return "euclidean", 2.0
        if p == 1:
            return "manhattan", 1.0
        if p == np.inf:
            return "chebyshev", np.inf
        return "minkowski", float(p)
    return name, TREE_P.get(name, 2.0)


def metric_kwargs(metric: Metric, metric_params: dict[str, Any] | None) -> dict[str, Any]:
    """The keyword arguments a distance function takes besides p: the weights "w" of
    weighted Minkowski, or a callable's own ``metric_params``."""
    params = dict(metric_params or {})
    if callable(metric):
        return params
    weights = params.get("w")
    return {} if weights is None else {"w": np.asarray(weights, dtype=np.float64)}


def resolve_algorithm(
    algorithm: str, n_features: int, n_neighbors: int, n_samples: int, *,
    metric: Metric = "euclidean", sparse: bool = False, p: float = 2.0,
    weighted: bool = False,
) -> str:
    """The path that runs: "kd_tree" or "brute".

    CSR data always take the brute force (as in scikit-learn, whatever ``algorithm``).
    "ball_tree" takes the KD-tree where one can serve the metric, brute force otherwise.
    "auto" takes the KD-tree when the data are dense, the metric is of the Minkowski
    family, ``n_features <= KD_TREE_MAX_FEATURES`` (7) and ``n_neighbors < n_samples / 2``;
    otherwise brute force, because a tree cannot prune when the dimension is high or when
    most of the training set is in every neighbourhood.
    """
    if sparse or algorithm == "brute":
        return "brute"
    if algorithm == "kd_tree":
        return "kd_tree"
    if algorithm == "ball_tree":
        return "kd_tree" if tree_metric(metric, p, weighted) else "brute"
    if (tree_applicable(n_features, metric, sparse, p, weighted)
            and n_neighbors < n_samples // 2):
        return "kd_tree"
    return "brute"


def tree_metric(metric: Metric, p: float = 2.0, weighted: bool = False) -> bool:
    """Whether a KD-tree can search ``metric`` (canonical name): the Minkowski family with
    p >= 1 and no weights."""
    if callable(metric) or weighted:
        return False
    return metric in TREE_P or (metric == "minkowski" and p >= 1)


def tree_applicable(n_features: int, metric: Metric, sparse: bool, p: float = 2.0,
                    weighted: bool = False) -> bool:
    """Whether ``auto`` may pick the KD-tree: dense data, a Minkowski metric, low dimension."""
    return (not sparse and tree_metric(metric, p, weighted)
            and n_features <= KD_TREE_MAX_FEATURES)
