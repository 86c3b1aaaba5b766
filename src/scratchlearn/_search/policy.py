"""The search's policy: which metrics it serves, under which names, and which path runs.

The estimators validate their parameters against these names, and the entry point
(``scratchlearn._search.kneighbors_search``) and the Dask search pick their path with
:func:`resolve_algorithm`, so the same query always takes the same path.
"""

from __future__ import annotations

import os

import numpy as np

ALGORITHMS = ("auto", "brute", "kd_tree")

#: Canonical metric names, and scikit-learn's aliases for them.
METRICS = ("euclidean", "sqeuclidean", "cosine", "manhattan", "chebyshev", "minkowski")
METRIC_ALIASES = {"l2": "euclidean", "l1": "manhattan", "cityblock": "manhattan"}
#: Metrics ranked through one matrix product per tile (‖q − x‖² = ‖q‖² − 2q·x + ‖x‖²).
GEMM_METRICS = ("euclidean", "sqeuclidean", "cosine")
#: Metrics a KD-tree can search: the Minkowski family, as scipy's ``p``.
TREE_P = {"euclidean": 2.0, "sqeuclidean": 2.0, "manhattan": 1.0, "chebyshev": np.inf}

#: Up to this many features a KD-tree beats the brute-force kernel: ``make bench``'s
#: tree-versus-brute sweep (100,000 Gaussian points, 2,000 queries, k = 10, both cores) found
#: the tree 1.6–26× faster at d ≤ 6, even at d = 7 (each wins one precision by about 1.2×),
#: and 1.7–16× slower from d = 8 on. Data of low intrinsic dimension favour the tree longer.
KD_TREE_MAX_FEATURES = 7


def resolve_metric(metric: str, p: float = 2) -> tuple[str, float]:
    """Canonical name and exponent of ``metric``: aliases resolved, and Minkowski with
    p = 1, 2 or ∞ turned into manhattan, euclidean or chebyshev (their own fast paths)."""
    name = METRIC_ALIASES.get(metric, metric)
    if name == "minkowski":
        if p == 2:
            return "euclidean", 2.0
        if p == 1:
            return "manhattan", 1.0
        if p == np.inf:
            return "chebyshev", np.inf
        return "minkowski", float(p)
    return name, TREE_P.get(name, 2.0)


def effective_n_jobs(n_jobs: int | None) -> int:
    """Threads for ``n_jobs``: None or −1 mean every core, −2 all but one (scikit-learn's
    convention), a positive number that many."""
    n_cores = os.cpu_count() or 1
    if n_jobs is None:
        return n_cores
    if n_jobs < 0:
        return max(1, n_cores + 1 + n_jobs)
    return max(1, n_jobs)


def resolve_algorithm(
    algorithm: str, n_features: int, n_neighbors: int, n_samples: int, *,
    metric: str = "euclidean", sparse: bool = False,
) -> str:
    """Pick the backend for ``algorithm="auto"``.

    ``kd_tree`` when the data are dense, the metric is of the Minkowski family,
    ``n_features <= KD_TREE_MAX_FEATURES`` (7) and ``n_neighbors < n_samples / 2``;
    otherwise ``brute``, because a tree cannot prune when the dimension is high or when
    most of the training set is in every neighbourhood.
    """
    if algorithm != "auto":
        return algorithm
    if tree_applicable(n_features, metric, sparse) and n_neighbors < n_samples // 2:
        return "kd_tree"
    return "brute"


def tree_metric(metric: str) -> bool:
    """Whether a KD-tree can search ``metric`` (canonical name): the Minkowski family."""
    return metric in TREE_P or metric == "minkowski"


def tree_applicable(n_features: int, metric: str, sparse: bool) -> bool:
    """Whether ``auto`` may pick the KD-tree: dense data, a Minkowski metric, low dimension."""
    return not sparse and tree_metric(metric) and n_features <= KD_TREE_MAX_FEATURES
