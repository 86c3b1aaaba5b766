"""k-nearest-neighbour classification."""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from .._dask import Spec
from .._math.knn import class_votes, vote_probabilities
from .._search import Neighbors
from .._validation import Options, check_class_labels
from ._base import NeighborsBase


def _probabilities(top: Neighbors, *, n_classes: int, weights: str) -> np.ndarray:
    """p(c | x) from the neighbours' (weighted) votes."""
    return vote_probabilities(class_votes(top.distances, top.codes, n_classes, weights))


def _predictions(top: Neighbors, *, classes: np.ndarray, weights: str) -> np.ndarray:
    """The most-voted class of each query; argmax returns the first maximum, that is the
    smallest label in ``classes``."""
    votes = class_votes(top.distances, top.codes, len(classes), weights)
    return classes[np.argmax(votes, axis=1)]


class KNeighborsClassifier(ClassifierMixin, NeighborsBase):
    """k-nearest-neighbour classifier.

    A query x is given the class with the largest (weighted) vote among its k nearest
    training points N_k(x):

        p(c | x) = Σ_{i ∈ N_k(x)} w_i · 1[y_i = c] / Σ_{i ∈ N_k(x)} w_i,
        ŷ(x) = argmax_c p(c | x),

    with w_i = 1 (``weights="uniform"``, so p(c | x) = K_c / K) or w_i = 1 / ‖x − x_i‖
    (``weights="distance"``; exact matches, at distance 0, then get all the weight).

    Tie rules, both deterministic:

    - neighbours are sorted by (distance, training index), so among equidistant training
      points the one that comes first in the training set is the nearer;
    - a tied vote goes to the smallest label in ``classes_`` (as scikit-learn and
      ``scipy.stats.mode`` do).

    Parameters
    ----------
    n_neighbors : int, default=5
        k, between 1 and the number of training samples.
    weights : {"uniform", "distance"}, default="uniform"
    algorithm : {"auto", "brute", "kd_tree"}, default="auto"
        ``"brute"`` computes distances by tiles of queries × training points with one
        matrix product each, in the input's precision (float32 stays float32), and re-ranks
        the candidates exactly in float64. ``"kd_tree"`` uses ``scipy.spatial.KDTree``
        (dense data, Minkowski metrics). ``"auto"`` takes the tree for at most 7 features
        when k is below half the training set and the metric allows it, brute force
        otherwise (always for sparse input and for "cosine").
    metric : str, default="euclidean"
        "euclidean", "sqeuclidean", "cosine", "manhattan", "chebyshev" or "minkowski"
        (with ``p``); scikit-learn's aliases "l2", "l1" and "cityblock" work too.
    p : float, default=2
        The exponent of "minkowski", p >= 1 (p = 1, 2, inf are manhattan, euclidean and
        chebyshev); ignored by other metrics.
    n_jobs : int, default=None
        Threads for the search: None or -1 use every core, 1 one thread (the matrix
        products' BLAS threads included). On Dask, the threads of each block's search
        (None: one, since the workers' threads already run blocks side by side).

    Dask arrays (chunked along samples) are accepted by ``fit`` and every query method:
    the training partitions stay on the workers, each query chunk is searched against
    every partition there and the partial lists are merged exactly (see
    ``scratchlearn._dask.knn_queries``); the answers equal the in-memory ones, ties included.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels; the columns of ``predict_proba`` follow this order.
    n_features_in_ : int
    n_samples_fit_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        The column names of X at fit, when X was a pandas or Dask DataFrame whose names
        are all strings.

    Examples
    --------
    >>> from scratchlearn import KNeighborsClassifier
    >>> from scratchlearn.datasets import load_moons_split
    >>> X_train, X_test, y_train, y_test = load_moons_split()
    >>> KNeighborsClassifier(n_neighbors=5).fit(X_train, y_train).score(X_test, y_test)
    0.97
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **NeighborsBase._parameter_constraints,
        "weights": Options(("uniform", "distance")),
    }

    def __init__(
        self,
        n_neighbors: int = 5,
        *,
        weights: str = "uniform",
        algorithm: str = "auto",
        metric: str = "euclidean",
        p: float = 2,
        n_jobs: int | None = None,
    ):
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.algorithm = algorithm
        self.metric = metric
        self.p = p
        self.n_jobs = n_jobs

    def fit(self, X, y) -> KNeighborsClassifier:
        """Store the training set.

        Parameters
        ----------
        X : array-like or CSR matrix of shape (n_samples, n_features)
            Or a Dask array or DataFrame: its partitions are persisted on the workers,
            with y in the same evaluation of their graph, and only the classes come back
            to the client. A DataFrame's string column names become
            ``feature_names_in_``, as a pandas frame's do.
        y : array-like of shape (n_samples,)
            Labels of any type: ints, ±1, strings. A Dask y with an in-memory X is
            computed, and the fit is the in-memory one.

        Returns
        -------
        self
        """
        self._validate_params()
        if self._dask_input(X):
            if y is None:
                raise ValueError("KNeighborsClassifier needs labels y.")
            state, fitted = self._fit_dask(X, y, classify=True)
            self._set_fitted(**state, classes_=fitted.classes)
            return self
        X, y = self._validate_training_set(X, y)
        classes, codes = check_class_labels(y, estimator="KNeighborsClassifier")
        self._set_fitted(**self._training_state(X), classes_=classes, _y=codes)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities p(c | x).

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Dask queries give a Dask array.

        Returns
        -------
        ndarray of shape (n_queries, n_classes)
            Columns in ``classes_`` order; each row sums to 1.
        """
        check_is_fitted(self)
        n_classes = len(self.classes_)
        finish = partial(_probabilities, n_classes=n_classes, weights=self.weights)
        return self._answer(X, finish, Spec((n_classes,), np.float64),
                            n_neighbors=self._n_neighbors(X))

    def predict(self, X) -> np.ndarray:
        """Most-voted class of each query; a tie goes to the smallest label.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Dask queries give a Dask array.

        Returns
        -------
        ndarray of shape (n_queries,)
        """
        check_is_fitted(self)
        finish = partial(_predictions, classes=self.classes_, weights=self.weights)
        return self._answer(X, finish, Spec((), self.classes_.dtype),
                            n_neighbors=self._n_neighbors(X))
