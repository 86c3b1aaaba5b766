"""The kNN estimators' metric parameters, checked together as scikit-learn reads them:
``metric``, ``p`` and ``metric_params`` (with the algorithm they may run on), and the
warnings scikit-learn gives at fit."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from .._search import (
    METRIC_ALIASES,
    METRICS,
    PRECOMPUTED,
    SPARSE_METRICS,
    resolve_metric,
    tree_metric,
)
from .._validation import check_option

#: Every metric name the estimators take (callables too).
METRIC_NAMES = (*METRICS, *METRIC_ALIASES, PRECOMPUTED)


def check_p(p: Any, name: str = "p") -> None:
    """``p``: None, or a number > 0 (``np.inf`` included), as scikit-learn's constraint."""
    if p is None:
        return
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not p > 0:
        raise ValueError(
            f"{name} must be a number > 0 (np.inf for chebyshev) or None, got {p!r}."
        )


def check_metric(metric: Any, p: Any = 2, metric_params: Any = None) -> tuple[Any, float]:
    """Validate ``metric``, ``p`` and ``metric_params``; return the canonical metric and its
    exponent (``metric_params``' "p" taking the place of ``p``, as in scikit-learn)."""
    if not callable(metric):
        check_option(metric, "metric", METRIC_NAMES)
    check_p(p)
    params = metric_params or {}
    if not callable(metric):
        name = METRIC_ALIASES.get(metric, metric)
        allowed = {"p", "w"} if name == "minkowski" else set()
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ValueError(
                f"metric_params={metric_params!r}: {unknown} mean nothing to "
                f"metric={metric!r}. \"minkowski\" takes 'p' and 'w' (feature weights); a "
                "callable metric takes its own keyword arguments; other metrics take none."
            )
        if "p" in params:
            check_p(params["p"], "metric_params['p']")
        if params.get("w") is not None:
            check_feature_weights(params["w"])
    return resolve_metric(metric, p, params)


def check_feature_weights(w: Any, n_features: int | None = None) -> np.ndarray:
    """``metric_params["w"]``: finite weights >= 0, one per feature."""
    try:
        weights = np.asarray(w, dtype=np.float64)
    except (TypeError, ValueError):
        weights = np.array([np.nan])
    if weights.ndim != 1 or not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError(
            "metric_params['w'] must be a 1-D array of finite feature weights >= 0, got "
            f"{w!r}."
        )
    if n_features is not None and len(weights) != n_features:
        raise ValueError(
            f"metric_params['w'] holds {len(weights)} weights, but X has {n_features} "
            "features: give one weight per feature."
        )
    return weights


def is_weighted(metric: Any, metric_params: dict | None) -> bool:
    """Whether "minkowski" has feature weights (which no KD-tree serves)."""
    return not callable(metric) and (metric_params or {}).get("w") is not None


def check_algorithm(algorithm: str, metric: Any, p: float, metric_params) -> None:
    """Refuse an algorithm that cannot serve the (canonical) metric: trees for
    "precomputed", the KD-tree outside the Minkowski family, trees for 0 < p < 1."""
    if metric == PRECOMPUTED and algorithm in ("kd_tree", "ball_tree"):
        raise ValueError(
            f"Metric 'precomputed' not valid for algorithm={algorithm!r}: precomputed "
            "distances are searched by brute force. Use algorithm='brute' or 'auto'."
        )
    if metric == "minkowski" and p < 1 and algorithm in ("kd_tree", "ball_tree"):
        raise ValueError(
            f'algorithm="{algorithm}" does not support 0 < p < 1 for the Minkowski metric. '
            'To resolve this problem either set p >= 1 or algorithm="brute".'
        )
    weighted = is_weighted(metric, metric_params)
    if algorithm == "kd_tree" and weighted:
        raise ValueError(
            "algorithm='kd_tree' is not valid for metric='minkowski' with a weight "
            "parameter 'w': try algorithm='ball_tree' or algorithm='brute' instead."
        )
    if algorithm == "kd_tree" and not tree_metric(metric, p):
        raise ValueError(
            f"algorithm='kd_tree' cannot search metric={metric!r}: a KD-tree serves the "
            "Minkowski family (euclidean, sqeuclidean, manhattan, chebyshev, minkowski). "
            "Use algorithm='brute' or 'auto'."
        )


def check_sparse_metric(metric: Any, given: Any) -> None:
    """CSR training data: the metrics scikit-learn's sparse brute force serves."""
    if callable(metric) or metric in SPARSE_METRICS or metric == PRECOMPUTED:
        return
    raise ValueError(
        f"Metric {given!r} not valid for sparse input: sparse X works with metric "
        "'euclidean', 'sqeuclidean', 'manhattan', 'cosine', 'precomputed' or a callable. "
        f"Pass X.toarray() for {given!r}."
    )


def fit_warnings(estimator, metric: Any, p: float, sparse: bool) -> None:
    """scikit-learn's warnings at fit: ``p`` overridden by ``metric_params``, trees asked
    for sparse data, and Minkowski "distances" with 0 < p < 1."""
    if estimator.metric_params and "p" in estimator.metric_params and estimator.p is not None:
        warnings.warn(
            "Parameter p is found in metric_params. The corresponding parameter from "
            "__init__ is ignored.", SyntaxWarning, stacklevel=3,
        )
    if sparse and estimator.algorithm in ("kd_tree", "ball_tree"):
        warnings.warn("cannot use tree with sparse input: using brute force", stacklevel=3)
    if metric == "minkowski" and p < 1:
        warnings.warn(
            "Mind that for 0 < p < 1, Minkowski metrics are not distance metrics. Continuing "
            "the execution with `algorithm='brute'`.", stacklevel=3,
        )
