"""The neighbours interface every kNN estimator has: ``kneighbors``, ``kneighbors_graph``,
``radius_neighbors`` and ``radius_neighbors_graph``, as scikit-learn's ``KNeighborsMixin``
and ``RadiusNeighborsMixin`` answer them, from the one search (``NeighborsBase._core``).

Each answer is a pure function (a ``finish``) of the neighbour lists, so it is computed
the same way in memory and on Dask workers (``ScratchEstimator._answer``). Every list is
sorted by (distance, training index), radius lists included (``sort_results`` is
accepted, and always true in effect).
"""

from __future__ import annotations

import numbers
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.utils.validation import check_is_fitted

from .._dask import Spec
from .._search import Neighbors, Within
from .._validation import check_float_param

MODES = ("connectivity", "distance")


def _neighbor_lists(top: Neighbors, *, return_distance: bool):
    """``kneighbors``' answer from the neighbour lists."""
    return (top.distances, top.indices) if return_distance else top.indices


def _csr(data, indices, indptr, shape):
    """A CSR matrix, or array, as scikit-learn's ``sparse_interface`` setting asks."""
    make = sp.csr_array if get_config().get("sparse_interface") == "sparray" else sp.csr_matrix
    return make((data, indices, indptr), shape=shape)


def _knn_graph(top: Neighbors, *, mode: str, n_fit: int):
    """The k-neighbours graph: row i holds query i's neighbours in order, with 1 or their
    distance."""
    n_queries, k = top.indices.shape
    data = np.ones(n_queries * k) if mode == "connectivity" else top.distances.ravel()
    indptr = np.arange(0, n_queries * k + 1, k)
    return _csr(data, top.indices.ravel(), indptr, (n_queries, n_fit))


def _object_rows(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """One array per query, in an object array (scikit-learn's radius answer)."""
    rows = np.empty(len(indptr) - 1, dtype=object)
    rows[:] = np.split(values, indptr[1:-1])
    return rows


def _radius_lists(found: Within, *, return_distance: bool):
    """``radius_neighbors``' answer: object arrays of per-query arrays."""
    indices = _object_rows(found.indices.astype(np.intp, copy=False), found.indptr)
    if not return_distance:
        return indices
    return _object_rows(found.distances, found.indptr), indices


def _radius_graph(found: Within, *, mode: str, n_fit: int):
    """The radius-neighbours graph: row i holds the points within the radius of query i."""
    data = np.ones(len(found.indices)) if mode == "connectivity" else found.distances
    return _csr(data, found.indices, found.indptr, (found.n_queries, n_fit))


def _check_mode(mode: Any) -> None:
    if mode not in MODES:
        raise ValueError(
            'Unsupported mode, must be one of "connectivity", or "distance" but got '
            f'"{mode}" instead'
        )


class NeighborsQueries:
    """The four neighbour queries, on any estimator with ``_core(X, n_neighbors=…)`` and
    ``_core(X, radius=…)`` (``NeighborsBase``)."""

    def _radius(self, radius: Any) -> float:
        """The radius of a query: the given one, else the estimator's ``radius``."""
        if radius is None:
            radius = getattr(self, "radius", None)
            if radius is None:
                raise ValueError(
                    f"{type(self).__name__} has no radius parameter: pass radius=... to "
                    "radius_neighbors or radius_neighbors_graph."
                )
        if np.ndim(radius) != 0:
            raise ValueError(
                "radius must be one number for every query, got an array; query each group "
                "of rows with its own radius."
            )
        if isinstance(radius, numbers.Real) and radius == np.inf:
            return np.inf  # every training point, as in scikit-learn
        return check_float_param(radius, "radius", min_value=0)

    def kneighbors(self, X=None, n_neighbors: int | None = None, return_distance: bool = True):
        """Find the k nearest training points of each query.

        Neighbours are sorted by distance, ties by training index (the smaller index first,
        also when the tie falls on the k-th place).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The queries; for ``metric="precomputed"``, their distances to the training
            points, of shape (n_queries, n_samples_fit), dense or a sparse graph. None
            means the training points, each left out of its own list. Dask queries, and
            None after a Dask fit, are searched on the workers and give lazy Dask arrays.
        n_neighbors : int, default=None
            Number of neighbours to find; None takes the estimator's ``n_neighbors``.
        return_distance : bool, default=True
            Whether to return the distances as well as the indices.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors)
            Distances in the estimator's metric, exact float64 values; only when
            ``return_distance`` is true.
        indices : ndarray of shape (n_queries, n_neighbors)
            Row numbers of the neighbours in the training set.

        Raises
        ------
        ValueError
            If ``n_neighbors`` is below 1 or above the training points that can be
            neighbours (for ``X=None``, all but the query itself).
        """
        check_is_fitted(self)
        k = self._n_neighbors(X, n_neighbors)
        specs = [Spec((k,), np.float64), Spec((k,), np.intp)]
        return self._answer(
            X, partial(_neighbor_lists, return_distance=return_distance),
            specs if return_distance else specs[1], n_neighbors=k,
        )

    def kneighbors_graph(self, X=None, n_neighbors: int | None = None,
                         mode: str = "connectivity"):
        """Compute the graph of each query's k nearest training points, as a CSR matrix.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The queries, as in :meth:`kneighbors`.
        n_neighbors : int, default=None
            Number of neighbours per query; None takes the estimator's ``n_neighbors``.
        mode : {"connectivity", "distance"}, default="connectivity"
            Edges of weight 1, or the distances.

        Returns
        -------
        graph : scipy.sparse.csr_matrix of shape (n_queries, n_samples_fit)
            Row i holds query i's neighbours in :meth:`kneighbors`' order, as
            scikit-learn lays it out; a ``csr_array`` when scikit-learn's
            ``sparse_interface`` is "sparray". For Dask queries, a Dask array whose
            blocks are such matrices.

        Raises
        ------
        ValueError
            If ``mode`` is neither "connectivity" nor "distance", or ``n_neighbors`` is
            out of range, as in :meth:`kneighbors`.
        """
        check_is_fitted(self)
        _check_mode(mode)
        k = self._n_neighbors(X, n_neighbors)
        finish = partial(_knn_graph, mode=mode, n_fit=self.n_samples_fit_)
        return self._answer(X, finish, Spec((self.n_samples_fit_,), np.float64),
                            n_neighbors=k)

    def radius_neighbors(self, X=None, radius: float | None = None,
                         return_distance: bool = True, sort_results: bool = False):
        """Find the training points within a distance ``radius`` of each query.

        Points on the boundary (distance == radius) are included. Each query's neighbours
        are sorted by (distance, training index) whatever ``sort_results`` says
        (scikit-learn leaves them unsorted unless it is true).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The queries, as in :meth:`kneighbors`; None leaves each training point out
            of its own list (its duplicates stay).
        radius : float, default=None
            The distance r >= 0, one for every query; ``np.inf`` finds every training
            point. None takes the estimator's ``radius`` (:class:`NearestNeighbors`); the
            classifier and the density estimator have none, so it must be given.
        return_distance : bool, default=True
            Whether to return the distances as well as the indices.
        sort_results : bool, default=False
            Accepted for compatibility with scikit-learn: the lists are always sorted.
            True needs ``return_distance=True``, as in scikit-learn.

        Returns
        -------
        distances : ndarray of shape (n_queries,) of object
            One float64 array of distances per query; only when ``return_distance`` is
            true.
        indices : ndarray of shape (n_queries,) of object
            One array of training rows per query.

        Raises
        ------
        ValueError
            If ``radius`` is negative, not a number, an array, or None on an estimator
            that has no ``radius``; or if ``sort_results`` is true and
            ``return_distance`` false.
        """
        check_is_fitted(self)
        if sort_results and not return_distance:
            raise ValueError("return_distance must be True if sort_results is True.")
        radius = self._radius(radius)
        finish = partial(_radius_lists, return_distance=return_distance)
        specs = [Spec((), object), Spec((), object)]
        return self._answer(X, finish, specs if return_distance else specs[1],
                            radius=radius)

    def radius_neighbors_graph(self, X=None, radius: float | None = None,
                               mode: str = "connectivity", sort_results: bool = False):
        """Compute the graph of the training points within ``radius`` of each query.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The queries, as in :meth:`radius_neighbors`.
        radius : float, default=None
            The distance, as in :meth:`radius_neighbors`.
        mode : {"connectivity", "distance"}, default="connectivity"
            Edges of weight 1, or the distances.
        sort_results : bool, default=False
            Accepted for compatibility with scikit-learn: each row is sorted by
            (distance, index) anyway.

        Returns
        -------
        graph : scipy.sparse.csr_matrix of shape (n_queries, n_samples_fit)
            Row i holds the points within ``radius`` of query i, laid out as
            :meth:`kneighbors_graph` lays them out.

        Raises
        ------
        ValueError
            If ``mode`` or ``radius`` is invalid, as in :meth:`kneighbors_graph` and
            :meth:`radius_neighbors`.
        """
        check_is_fitted(self)
        _check_mode(mode)
        radius = self._radius(radius)
        finish = partial(_radius_graph, mode=mode, n_fit=self.n_samples_fit_)
        return self._answer(X, finish, Spec((self.n_samples_fit_,), np.float64),
                            radius=radius)
