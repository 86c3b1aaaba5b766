"""Unsupervised nearest-neighbour search: scikit-learn's ``NearestNeighbors``."""

from __future__ import annotations

from typing import Any, ClassVar

from .._validation import Real
from ._base import NeighborsBase


class NearestNeighbors(NeighborsBase):
    """Exact nearest-neighbour search, a drop-in for scikit-learn's ``NearestNeighbors``.

    :meth:`kneighbors` finds each query's k nearest training points, :meth:`radius_neighbors`
    those within a distance r (the boundary included), and :meth:`kneighbors_graph` and
    :meth:`radius_neighbors_graph` give the same as CSR matrices. Every list is sorted by
    (distance, training index), on every algorithm. The search is the one
    :class:`KNeighborsClassifier` runs, with exact float64 distances.

    Read more in the :doc:`user guide </neighbors>`.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours k for :meth:`kneighbors` and :meth:`kneighbors_graph`.
    radius : float, default=1.0
        Distance r >= 0 for :meth:`radius_neighbors` and :meth:`radius_neighbors_graph`.
    algorithm : {"auto", "ball_tree", "kd_tree", "brute"}, default="auto"
        How to search, as in :class:`KNeighborsClassifier`: every algorithm gives the same
        answers.
    leaf_size : int, default=30
        Accepted for compatibility with scikit-learn, and not used: SciPy's KD-tree keeps
        its own leaf size.
    metric : str or callable, default="minkowski"
        The distance, as in :class:`KNeighborsClassifier`: "minkowski" (with ``p``),
        "euclidean", "sqeuclidean", "cosine", "manhattan", "chebyshev", "haversine",
        "nan_euclidean", the aliases "l1", "l2" and "cityblock", "precomputed", or a
        callable ``f(x, y) -> float``.
    p : float, default=2
        Exponent of the "minkowski" metric, p > 0.
    metric_params : dict, default=None
        "p" and "w" (one weight >= 0 per feature) for "minkowski"; a callable metric's
        keyword arguments.
    n_jobs : int, default=None
        Threads for the search, as in :class:`KNeighborsClassifier`.

    Attributes
    ----------
    effective_metric_ : str or callable
        The metric searched: "minkowski" with p = 1, 2 or inf becomes "manhattan",
        "euclidean" or "chebyshev", and an alias its canonical name.
    effective_metric_params_ : dict
        The parameters that metric takes.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when X was a pandas or Dask DataFrame
        whose column names are all strings.
    n_samples_fit_ : int
        Number of training samples.

    See Also
    --------
    sklearn.neighbors.NearestNeighbors : The scikit-learn estimator this one replaces.
    KNeighborsClassifier : The same search, voting on labels.

    Notes
    -----
    The deliberate differences from scikit-learn are those of :class:`KNeighborsClassifier`
    (exact float64 distances, ties by index, radius lists always sorted, the metric names
    above), and ``radius`` is one number for every query (scikit-learn's trees also take
    one per query). Dask arrays are fitted and queried on the workers (:doc:`/dask`).

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
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 stays float32, and sparse matrices are used as CSR.
            For ``metric="precomputed"``, the (n_samples, n_samples) distances between
            the training points. Also a fitted scratchlearn kNN estimator, or
            scikit-learn's ``KDTree`` or ``BallTree``; or a Dask array or DataFrame,
            whose partitions stay on the workers.
        y : None
            Ignored; present for the API's consistency.

        Returns
        -------
        self : NearestNeighbors
            The fitted estimator.

        Raises
        ------
        ValueError
            If a parameter is invalid, naming it, as :meth:`KNeighborsClassifier.fit`
            lists them (``n_neighbors`` is checked at each query instead), or ``radius``
            is negative.
        """
        self._validate_params()
        if self._dask_input(X):
            state, _ = self._fit_dask(X, None, classify=False)
            self._set_fitted(**state)
            return self
        X, _ = self._validate_training_set(X)
        self._set_fitted(**self._training_state(X))
        return self
