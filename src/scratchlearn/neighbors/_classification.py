"""k-nearest-neighbour classification."""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.validation import check_is_fitted

from .._dask import Spec
from .._math.knn import neighbor_class_votes, neighbor_weights, vote_probabilities
from .._search import Neighbors
from .._validation import Options, check_class_labels
from ._base import NeighborsBase


def _votes(top: Neighbors, classes: list[np.ndarray], weights) -> list[np.ndarray]:
    """Each output's (weighted) votes per class; ``top.codes`` has one column per output."""
    w = neighbor_weights(top.distances, weights)
    codes = top.codes.reshape(*top.codes.shape[:2], -1)
    return [neighbor_class_votes(codes[..., k], len(classes_k), w)
            for k, classes_k in enumerate(classes)]


def _probabilities(top: Neighbors, *, classes: list[np.ndarray], weights,
                   outputs_2d: bool):
    """p(c | x) from the neighbours' (weighted) votes; one array per output."""
    probabilities = [vote_probabilities(votes) for votes in _votes(top, classes, weights)]
    return tuple(probabilities) if outputs_2d else probabilities[0]


def _predictions(top: Neighbors, *, classes: list[np.ndarray], weights,
                 outputs_2d: bool) -> np.ndarray:
    """The most-voted class of each query (per output); argmax returns the first maximum,
    that is the smallest label in ``classes_``."""
    votes = _votes(top, classes, weights)
    predicted = np.empty((len(top.distances), len(classes)), dtype=classes[0].dtype)
    for k, (classes_k, votes_k) in enumerate(zip(classes, votes, strict=True)):
        predicted[:, k] = classes_k[np.argmax(votes_k, axis=1)]
    return predicted if outputs_2d else predicted[:, 0]


class KNeighborsClassifier(ClassifierMixin, NeighborsBase):
    """k-nearest-neighbour classifier, a drop-in for scikit-learn's.

    A query x is given the class with the largest (weighted) vote among its k nearest
    training points N_k(x):

        p(c | x) = Σ_{i ∈ N_k(x)} w_i · 1[y_i = c] / Σ_{i ∈ N_k(x)} w_i,
        ŷ(x) = argmax_c p(c | x),

    with w_i = 1 (``weights="uniform"`` or None, so p(c | x) = K_c / K), w_i = 1 / d(x, x_i)
    (``weights="distance"``; exact matches, at distance 0, then get all the weight), or
    the weights a callable returns for the neighbours' distances.

    Tie rules, both deterministic:

    - neighbours are sorted by (distance, training index), so among equidistant training
      points the one that comes first in the training set is the nearer, whatever the
      algorithm (our contract; scikit-learn's order of ties depends on its path);
    - a tied vote goes to the smallest label in ``classes_`` (as scikit-learn and
      ``scipy.stats.mode`` do).

    Parameters
    ----------
    n_neighbors : int, default=5
        k, between 1 and the number of training samples.
    weights : {"uniform", "distance"}, callable or None, default="uniform"
        A callable takes the distances, an array of shape (n_queries, n_neighbors), and
        returns weights of the same shape; every neighbour of a query weighted 0 is a
        ``ValueError``, as in scikit-learn.
    algorithm : {"auto", "ball_tree", "brute", "kd_tree"}, default="auto"
        ``"brute"`` computes distances by tiles of queries × training points with one
        matrix product each, in the input's precision (float32 stays float32), and re-ranks
        the candidates exactly in float64. ``"kd_tree"`` uses ``scipy.spatial.KDTree``
        (dense data, Minkowski metrics with p >= 1). ``"ball_tree"`` is accepted as
        scikit-learn's name: SciPy has no ball tree, so it takes the KD-tree where that
        serves the metric and brute force otherwise. ``"auto"`` takes the tree for at most
        7 features when k is below half the training set and the metric allows it, brute
        force otherwise. CSR data always take the brute force (with a warning when a tree
        was asked for, as scikit-learn warns). The answers are the same on every path.
    leaf_size : int, default=30
        Accepted for scikit-learn's sake; SciPy's KD-tree keeps its own leaf size.
    p : float, default=2
        The exponent of "minkowski", p > 0: p = 1, 2, inf are manhattan, euclidean and
        chebyshev (their own fast paths); 0 < p < 1 is not a metric and runs by brute force
        (with scikit-learn's warning; a tree algorithm refuses it). Ignored by other
        metrics.
    metric : str or callable, default="minkowski"
        "minkowski" (with ``p``), "euclidean", "sqeuclidean", "cosine", "manhattan",
        "chebyshev", "haversine" (two features: latitude, longitude in radians), or
        scikit-learn's aliases "l2", "l1" and "cityblock"; "precomputed" for distances
        instead of features (dense, or a sparse neighbour graph whose stored entries,
        explicit zeros included, are the candidates); or a callable ``f(x, y) -> float``
        of two rows (searched by brute force, on one thread).
    metric_params : dict, default=None
        For "minkowski": "p" (taking the place of ``p``, with scikit-learn's
        ``SyntaxWarning``) and "w", one weight >= 0 per feature, for the weighted
        distance ``(Σ_f w_f |x_f − y_f|^p)^(1/p)`` (searched by brute force). For a
        callable metric, its keyword arguments. Other metrics take none.
    n_jobs : int, default=None
        Threads for the search: None or -1 use every core, 1 one thread (the matrix
        products' BLAS threads included). On Dask, the threads of each block's search
        (None: one, since the workers' threads already run blocks side by side).

    Multi-output y (shape (n_samples, n_outputs)) is classified output by output, as in
    scikit-learn: ``classes_`` is then a list, ``predict`` returns one column per output
    and ``predict_proba`` a list of arrays.

    Dask arrays (chunked along samples) are accepted by ``fit`` and every query method:
    the training partitions stay on the workers, each query chunk is searched against
    every partition there and the partial lists are merged exactly (see
    ``scratchlearn._dask.knn_queries``); the answers equal the in-memory ones, ties included.

    Differences from scikit-learn, all deliberate:

    - distances are exact float64 values of the given numbers, also for float32 data
      (scikit-learn's float32 brute force rounds them), so a near-tie can order
      differently;
    - ties are ordered by training index, in ``radius_neighbors`` too: its lists are
      always sorted, whatever ``sort_results``; in a precomputed sparse graph, equal
      stored distances are ordered by column (scikit-learn: by stored order), and an
      unsorted graph needs no ``EfficiencyWarning``;
    - the metric names are those above: scikit-learn's other names ("seuclidean",
      "mahalanobis", "braycurtis", "nan_euclidean", ...) and ``DistanceMetric`` objects
      are refused with a ``ValueError``; pass a callable or precomputed distances;
    - CSR queries of a model fitted on dense data are densified (with
      ``algorithm="kd_tree"`` or ``"ball_tree"`` they are refused, as in scikit-learn);
    - a multi-output model, a callable metric or weights, or NumPy arrays in
      ``metric_params`` cannot be stored by ``scratchlearn.save`` (a list of weights can).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or list of such arrays
        Sorted class labels; the columns of ``predict_proba`` follow this order. A list,
        one per output, for multi-output y.
    outputs_2d_ : bool
        Whether y had several outputs.
    effective_metric_ : str or callable
        The metric searched: "minkowski" with p = 1, 2 or inf becomes "manhattan",
        "euclidean" or "chebyshev", and aliases their canonical names.
    effective_metric_params_ : dict
        The parameters that metric takes.
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

    _fitted = NeighborsBase._fitted._replace(
        derived=(*NeighborsBase._fitted.derived, "outputs_2d_")
    )
    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **NeighborsBase._parameter_constraints,
        "weights": Options(("uniform", "distance"), none=True, callables=True),
    }

    def __init__(
        self,
        n_neighbors: int = 5,
        *,
        weights: Any = "uniform",
        algorithm: str = "auto",
        leaf_size: int = 30,
        p: float = 2,
        metric: Any = "minkowski",
        metric_params: dict | None = None,
        n_jobs: int | None = None,
    ):
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.p = p
        self.metric = metric
        self.metric_params = metric_params
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def fit(self, X, y) -> KNeighborsClassifier:
        """Store the training set.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Or (n_samples, n_samples) distances for ``metric="precomputed"``; or a
            fitted kNN estimator of ours or scikit-learn's ``KDTree``/``BallTree``, whose
            training data it takes; or a Dask array or DataFrame: its partitions are
            persisted on the workers, with y in the same evaluation of their graph, and
            only the classes come back to the client. A DataFrame's string column names
            become ``feature_names_in_``, as a pandas frame's do.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Labels of any type: ints, ±1, strings. A Dask y with an in-memory X is
            computed, and the fit is the in-memory one (one output on Dask).

        Returns
        -------
        self
        """
        self._validate_params()
        if self._dask_input(X):
            if y is None:
                raise ValueError("KNeighborsClassifier needs labels y.")
            state, fitted = self._fit_dask(X, y, classify=True)
            self._set_fitted(**state, classes_=fitted.classes, outputs_2d_=False)
            return self
        if y is None:
            raise ValueError(
                "KNeighborsClassifier requires y to be passed, but the target y is None: "
                "fit(X, y) with one label per row (NearestNeighbors searches without labels)."
            )
        X, y = self._validate_training_set(X, y, multi_output=True)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change "
                "the shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning, stacklevel=2,
            )
            y = y.ravel()
        if y.ndim == 1:
            classes, codes = check_class_labels(y, estimator="KNeighborsClassifier")
        else:
            columns = [check_class_labels(y[:, k], estimator="KNeighborsClassifier")
                       for k in range(y.shape[1])]
            classes = [found for found, _ in columns]
            codes = np.stack([column_codes for _, column_codes in columns], axis=1)
        self._set_fitted(**self._training_state(X), classes_=classes, _y=codes,
                         outputs_2d_=y.ndim == 2)
        return self

    def _restore_fitted(self, state: dict[str, Any]) -> None:
        super()._restore_fitted(state)
        self.outputs_2d_ = np.ndim(state["_y"]) == 2

    def _class_lists(self) -> list[np.ndarray]:
        return list(self.classes_) if self.outputs_2d_ else [self.classes_]

    def predict_proba(self, X=None):
        """Class probabilities p(c | x).

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            ``None`` evaluates the training points leave-one-out (as scikit-learn does).
            Dask queries give a Dask array.

        Returns
        -------
        ndarray of shape (n_queries, n_classes), or a list of them (one per output)
            Columns in ``classes_`` order; each row sums to 1.
        """
        check_is_fitted(self)
        classes = self._class_lists()
        finish = partial(_probabilities, classes=classes, weights=self.weights,
                         outputs_2d=self.outputs_2d_)
        specs = [Spec((len(classes_k),), np.float64) for classes_k in classes]
        answer = self._answer(X, finish, specs if self.outputs_2d_ else specs[0],
                              n_neighbors=self._n_neighbors(X))
        return list(answer) if self.outputs_2d_ else answer

    def predict(self, X=None) -> np.ndarray:
        """Most-voted class of each query; a tie goes to the smallest label.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            ``None`` evaluates the training points leave-one-out. Dask queries give a
            Dask array.

        Returns
        -------
        ndarray of shape (n_queries,) or (n_queries, n_outputs)
        """
        check_is_fitted(self)
        classes = self._class_lists()
        finish = partial(_predictions, classes=classes, weights=self.weights,
                         outputs_2d=self.outputs_2d_)
        tail = (len(classes),) if self.outputs_2d_ else ()
        return self._answer(X, finish, Spec(tail, classes[0].dtype),
                            n_neighbors=self._n_neighbors(X))
