"""What the kNN classifier and the kNN density estimator share: the fitted training set,
the neighbour search and the per-class vote count."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from .._dask import is_dask_collection, require_dask
from .._search import (
    ALGORITHMS,
    METRIC_ALIASES,
    METRICS,
    kneighbors_leave_one_out,
    kneighbors_search,
    resolve_metric,
    training_aids,
    tree_metric,
)
from .._validation import (
    check_float_param,
    check_n_jobs,
    check_n_neighbors,
    check_option,
)
from .._versioning import VersionedPickleMixin


def check_metric(metric, p) -> tuple[str, float]:
    """Validate ``metric`` and ``p``; return the canonical metric and its exponent."""
    check_option(metric, "metric", METRICS + tuple(METRIC_ALIASES))
    if metric == "minkowski":
        if p == np.inf:
            return resolve_metric(metric, p)
        check_float_param(p, "p", min_value=1)
    return resolve_metric(metric, p)


class NeighborsBase(VersionedPickleMixin, BaseEstimator):
    """Stores the training set and answers ``kneighbors``; subclasses add the statistics.

    Subclasses store ``n_neighbors``, ``algorithm``, ``metric``, ``p`` and ``n_jobs``.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Brute force takes CSR input; the KD-tree does not.
        tags.input_tags.sparse = self.algorithm != "kd_tree"
        return tags

    def _check_search_params(self) -> str:
        """Validate ``algorithm``, ``metric``, ``p`` and ``n_jobs``; return the metric."""
        check_option(self.algorithm, "algorithm", ALGORITHMS)
        metric, _ = check_metric(self.metric, self.p)
        self._check_estimator_metric(metric)
        if self.algorithm == "kd_tree" and not tree_metric(metric):
            raise ValueError(
                f"algorithm='kd_tree' cannot search metric={self.metric!r}: a KD-tree serves "
                "the Minkowski family (euclidean, sqeuclidean, manhattan, chebyshev, "
                "minkowski). Use algorithm='brute' or 'auto'."
            )
        check_n_jobs(self.n_jobs)
        return metric

    def _portable_state(self, state):
        """A Dask-fitted model's state with its training data gathered from the workers."""
        if state.get("_dask_training") is None:
            return state
        from .._persistence import gather_dask_state

        return gather_dask_state(self, state)

    def _check_estimator_metric(self, metric: str) -> None:
        """Refuse a (canonical) metric the estimator cannot use; every metric by default."""

    def _dask_backend(self, X):
        """The Dask module (``scratchlearn._dask.neighbors``) when X is a Dask collection
        or the model was fitted on one; None for in-memory work. Imports Dask only then."""
        if not (is_dask_collection(X) or getattr(self, "_dask_training", None) is not None):
            return None
        require_dask()
        from .._dask import neighbors

        return neighbors

    def _fit_neighbors(self, X, y=None):
        """Validate and store X (and y): its squared norms for brute force, and the
        KD-tree when it may be used. float32 stays float32; CSR stays sparse.

        Values so large or small that their squares overflow or underflow (beyond about
        1e±77 in float64) are searched at a power-of-two scale (``_search``'s "Extreme
        magnitudes"); the norms and the tree are then built per search, at that scale."""
        metric = self._check_search_params()
        accept_sparse = "csr" if self.algorithm != "kd_tree" else False
        dtypes = [np.float64, np.float32]
        if y is None:
            X = validate_data(self, X, dtype=dtypes, accept_sparse=accept_sparse)
        else:
            X, y = validate_data(self, X, y, dtype=dtypes, accept_sparse=accept_sparse)
        if sp.issparse(X) and metric not in ("euclidean", "sqeuclidean"):
            # The sparse path is the Euclidean product only: it would rank cosine by squared
            # Euclidean distance, and SciPy's cdist takes no sparse input.
            raise ValueError(
                f"sparse X works with metric='euclidean' or 'sqeuclidean', got "
                f"metric={self.metric!r}; pass X.toarray() for {self.metric!r}, or normalise "
                "the rows (sklearn.preprocessing.normalize) and use 'euclidean' for cosine."
            )
        if sp.issparse(X) and not X.has_sorted_indices:
            X = X.sorted_indices()
        check_n_neighbors(self.n_neighbors, X.shape[0])
        self.__dict__.pop("_dask_training", None)  # a previous fit on Dask arrays
        self._fit_X = X
        self.n_samples_fit_ = X.shape[0]
        self.effective_metric_ = metric
        self._fit_sq, self._tree = training_aids(
            X, algorithm=self.algorithm, metric=metric, p=self.p
        )
        return X, y

    def kneighbors(
        self,
        X=None,
        n_neighbors: int | None = None,
        return_distance: bool = True,
    ):
        """Find the k nearest training points of each query.

        Neighbours are sorted by distance, ties by training index (the smaller index first,
        also when the tie falls on the k-th place).

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            Queries (dense, CSR or a Dask array). ``None`` means the training points, each
            excluded from its own list.
            A model fitted on Dask arrays, or given Dask queries, searches on the workers
            (``scratchlearn._dask.neighbors``) and answers Dask queries, and ``None`` after
            a Dask fit, with lazy Dask arrays, NumPy queries with NumPy arrays.
        n_neighbors : int, default=None
            Defaults to the ``n_neighbors`` given at construction.
        return_distance : bool, default=True

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors)
            Distances in ``metric``, only when ``return_distance`` is true.
        indices : ndarray of shape (n_queries, n_neighbors)
            Row numbers in the training set.
        """
        if (dask_backend := self._dask_backend(X)) is not None:
            return dask_backend.kneighbors(self, X, n_neighbors, return_distance)
        check_is_fitted(self)
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        options = {
            "algorithm": self.algorithm, "metric": self.metric, "p": self.p,
            "tree": self._tree, "n_jobs": self.n_jobs, "fit_sq": self._fit_sq,
        }
        if X is None:
            k = check_n_neighbors(k, self.n_samples_fit_ - 1)
            distances, indices = kneighbors_leave_one_out(self._fit_X, k, **options)
        else:
            X = validate_data(
                self, X, dtype=[np.float64, np.float32], reset=False,
                accept_sparse="csr" if sp.issparse(self._fit_X) else False,
            )
            k = check_n_neighbors(k, self.n_samples_fit_)
            distances, indices = kneighbors_search(X, self._fit_X, k, **options)
        return (distances, indices) if return_distance else indices
