"""Unsupervised nearest-neighbour search: scikit-learn's ``NearestNeighbors``."""

from __future__ import annotations

from typing import Any, ClassVar

from .._validation import Real
from ._base import NeighborsBase


class NearestNeighbors(NeighborsBase):
    """Exact nearest-neighbour search, a drop-in for scikit-learn's ``NearestNeighbors``.

    ``kneighbors`` gives each query's k nearest training points, ``radius_neighbors`` those
    within a distance r (boundary included), and ``kneighbors_graph`` /
    ``radius_neighbors_graph`` the same as CSR matrices. Every list is sorted by
    (distance, training index): among equidistant training points the one with the
    smaller index comes first, also at the k-th place and on every algorithm.

    The search is the one :class:`KNeighborsClassifier` runs: brute force by tiles of one
    matrix product each, in the input's precision (float32 stays float32), with an exact
    float64 re-rank of the candidates, or SciPy's KD-tree in low dimension; distances are
    exact float64 values of the given numbers.

    Parameters
    ----------
    n_neighbors : int, default=5
        k for :meth:`kneighbors` and :meth:`kneighbors_graph`.
    radius : float, default=1.0
        r for :meth:`radius_neighbors` and :meth:`radius_neighbors_graph`, r >= 0.
    algorithm : {"auto", "ball_tree", "brute", "kd_tree"}, default="auto"
        As in :class:`KNeighborsClassifier` ("ball_tree" takes the KD-tree where that
        serves the metric, brute force otherwise).
    leaf_size : int, default=30
        Accepted for scikit-learn's sake; SciPy's KD-tree keeps its own leaf size.
    metric : str or callable, default="minkowski"
        As in :class:`KNeighborsClassifier`: "minkowski" (with ``p``), "euclidean",
        "sqeuclidean", "cosine", "manhattan", "chebyshev", "haversine", the aliases "l1",
        "l2", "cityblock", "precomputed", or a callable.
    p : float, default=2
        The exponent of "minkowski", p > 0.
    metric_params : dict, default=None
        "p" and "w" (feature weights) for "minkowski"; a callable's keyword arguments.
    n_jobs : int, default=None
        Threads for the search: None or -1 use every core, 1 one thread.

    Dask arrays (chunked along samples) work as in :class:`KNeighborsClassifier`: the
    training partitions stay on the workers, and every query method answers there.

    Differences from scikit-learn, all deliberate: those of :class:`KNeighborsClassifier`
    (exact float64 distances; ties by index; ``radius_neighbors`` always sorted; the metric
    names above). ``radius`` is one number for every query (scikit-learn's trees also take
    one per query).

    Attributes
    ----------
    effective_metric_ : str or callable
    effective_metric_params_ : dict
    n_features_in_ : int
    n_samples_fit_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        The column names of X at fit, when X was a pandas or Dask DataFrame whose names
        are all strings.

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn import NearestNeighbors
    >>> X = np.array([[0.0, 0.0], [0.0, 0.5], [1.0, 1.0], [0.0, 1.0]])
    >>> model = NearestNeighbors(n_neighbors=2, radius=0.6).fit(X)
    >>> model.kneighbors([[0.0, 0.75]])
    (array([[0.25, 0.25]]), array([[1, 3]]))
    >>> [row.tolist() for row in model.radius_neighbors([[0.0, 0.0]], return_distance=False)]
    [[0, 1]]
    """

    _k_at_fit = False  # radius queries need no k; kneighbors checks its own
    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **NeighborsBase._parameter_constraints,
        "radius": Real(0),
    }

    def __init__(
        self,
        *,
        n_neighbors: int = 5,
        radius: float = 1.0,
        algorithm: str = "auto",
        leaf_size: int = 30,
        metric: Any = "minkowski",
        p: float = 2,
        metric_params: dict | None = None,
        n_jobs: int | None = None,
    ):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.metric = metric
        self.p = p
        self.metric_params = metric_params
        self.n_jobs = n_jobs

    def fit(self, X, y=None) -> NearestNeighbors:
        """Store the training set.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Or (n_samples, n_samples) distances for ``metric="precomputed"``; or a Dask
            array or DataFrame, persisted on the workers.
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        if self._dask_input(X):
            state, _ = self._fit_dask(X, None, classify=False)
            self._set_fitted(**state)
            return self
        X, _ = self._validate_training_set(X)
        self._set_fitted(**self._training_state(X))
        return self
