"""What the kNN classifier and the kNN density estimator share: the fitted training set,
the neighbour search and the per-class vote count."""

from __future__ import annotations

import numpy as np
from scipy.spatial import KDTree
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_n_neighbors, check_option
from ._search import (
    ALGORITHMS,
    KD_TREE_MAX_FEATURES,
    kneighbors_leave_one_out,
    kneighbors_search,
)


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


class NeighborsBase(BaseEstimator):
    """Stores the training set and answers ``kneighbors``; subclasses add the statistics."""

    def _fit_neighbors(self, X, y=None):
        """Validate and store X (and y), and build the KD-tree when it may be used."""
        check_option(self.algorithm, "algorithm", ALGORITHMS)
        if y is None:
            X = validate_data(self, X, dtype=np.float64)
        else:
            X, y = validate_data(self, X, y, dtype=np.float64)
        check_n_neighbors(self.n_neighbors, X.shape[0])
        self._fit_X = X
        self.n_samples_fit_ = X.shape[0]
        # "auto" decides per query (it depends on k), so keep a tree whenever it may pick one.
        may_use_tree = self.algorithm == "kd_tree" or (
            self.algorithm == "auto" and X.shape[1] <= KD_TREE_MAX_FEATURES
        )
        self._tree = KDTree(X) if may_use_tree else None
        return X, y

    def kneighbors(
        self,
        X: np.ndarray | None = None,
        n_neighbors: int | None = None,
        return_distance: bool = True,
    ):
        """Find the k nearest training points of each query.

        Neighbours are sorted by distance, ties by training index (the smaller index first,
        also when the tie falls on the k-th place).

        Parameters
        ----------
        X : ndarray of shape (n_queries, n_features), default=None
            Queries. ``None`` means the training points, each excluded from its own list.
        n_neighbors : int, default=None
            Defaults to the ``n_neighbors`` given at construction.
        return_distance : bool, default=True

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors)
            Euclidean distances, only when ``return_distance`` is true.
        indices : ndarray of shape (n_queries, n_neighbors)
            Row numbers in the training set.
        """
        distances, indices = self._kneighbors(X, n_neighbors)
        return (distances, indices) if return_distance else indices

    def _kneighbors(self, X, n_neighbors: int | None = None, *, sort: bool = True):
        """``kneighbors`` with the option to leave each row unsorted (for votes)."""
        check_is_fitted(self)
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        if X is None:
            k = check_n_neighbors(k, self.n_samples_fit_ - 1)
            distances, indices = kneighbors_leave_one_out(
                self._fit_X, k, algorithm=self.algorithm, tree=self._tree
            )
        else:
            X = validate_data(self, X, dtype=np.float64, reset=False)
            k = check_n_neighbors(k, self.n_samples_fit_)
            distances, indices = kneighbors_search(
                X, self._fit_X, k, algorithm=self.algorithm, tree=self._tree, sort=sort
            )
        return distances, indices
