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
    """Classifier by the vote of the k nearest training points, a drop-in for scikit-learn's.

    A query x gets the class with the largest (weighted) vote among its k nearest training
    points N_k(x)::

        p(c | x) = Σ_{i ∈ N_k(x)} w_i [y_i = c] / Σ_{i ∈ N_k(x)} w_i
        ŷ(x) = argmax_c p(c | x)

    Neighbours are ordered by (distance, training index) and a tied vote goes to the
    smallest label, so the answer is deterministic and the same on every algorithm.

    Read more in the :doc:`user guide </neighbors>`.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours k, between 1 and the number of training samples.
    weights : {"uniform", "distance"}, callable or None, default="uniform"
        Weight w_i of each neighbour's vote. "uniform" (or None): 1 each. "distance":
        1 / d(x, x_i), so exact matches, at distance 0, get all the weight. A callable
        takes the distances, an array of shape (n_queries, n_neighbors), and returns
        weights of the same shape; a query whose neighbours all weigh 0 is refused.
    algorithm : {"auto", "ball_tree", "kd_tree", "brute"}, default="auto"
        How to search. "brute": tiles of matrix products in the input's precision,
        re-ranked exactly in float64 (:doc:`/exact_search`). "kd_tree":
        ``scipy.spatial.KDTree`` (dense data, unweighted Minkowski metrics with p >= 1).
        "ball_tree": the KD-tree where it serves the metric, else brute force (SciPy
        has no ball tree). "auto": the tree for at most 7 features when k is below half
        the training set and the metric allows it, else brute force. Sparse data always
        take brute force. Every algorithm gives the same answers.
    leaf_size : int, default=30
        Accepted for compatibility with scikit-learn, and not used: SciPy's KD-tree keeps
        its own leaf size.
    p : float, default=2
        Exponent of the "minkowski" metric, p > 0: 1, 2 and ``np.inf`` run as
        "manhattan", "euclidean" and "chebyshev"; 0 < p < 1 is not a metric and runs by
        brute force, with scikit-learn's warning. Ignored by other metrics.
    metric : str or callable, default="minkowski"
        The distance: "minkowski" (with ``p``), "euclidean", "sqeuclidean", "cosine",
        "manhattan", "chebyshev", "haversine" (latitude and longitude in radians),
        "nan_euclidean", or the aliases "l2", "l1" and "cityblock"; "precomputed" when X
        holds distances instead of features (dense, or a sparse neighbour graph whose
        stored entries are the candidates); or a callable ``f(x, y) -> float`` of two
        rows (searched by brute force, on one thread).
    metric_params : dict, default=None
        For "minkowski": "p" (in place of ``p``) and "w", one weight >= 0 per feature,
        for the weighted distance ``(Σ_f w_f abs(x_f - y_f)**p)**(1/p)``. For a callable
        metric, its keyword arguments. Other metrics take none.
    n_jobs : int, default=None
        Threads for the search, the matrix products' BLAS included. None: the cores the
        process may run on, within the thread limits in force (``threadpoolctl``, a joblib
        worker's share); -1: every core the process may use; -2, -3, ...: all but 1, 2,
        ...; 1: one thread. On Dask, the threads of each block's search (None: one).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or list of such arrays
        Sorted class labels, the columns of ``predict_proba``; one array per output for a
        multi-output y.
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
    outputs_2d_ : bool
        Whether y had several outputs, shape (n_samples, n_outputs): they are then
        classified one by one, ``predict`` has one column per output and
        ``predict_proba`` returns a list.

    See Also
    --------
    sklearn.neighbors.KNeighborsClassifier : The scikit-learn estimator this one replaces.
    NearestNeighbors : The same search, without labels.
    KNeighborsDensity : Densities p(x) and p(x | c) from the same neighbours.

    Notes
    -----
    Deliberate differences from scikit-learn, detailed in :doc:`/neighbors`: distances are
    exact float64 values of the given numbers, also for float32 data, so near-ties can
    order differently; ties are ordered by training index on every path, and
    ``radius_neighbors`` lists are always sorted; scikit-learn's other metric names and
    its ``DistanceMetric`` objects are refused; a multi-output model, a callable metric or
    weights, and NumPy arrays in ``metric_params`` cannot be saved by
    :func:`scratchlearn.save`.

    Dask arrays, chunked along the samples, are fitted and queried on the workers, with
    the same answers as in memory (:doc:`/dask`).

    Examples
    --------
    >>> from scratchlearn import KNeighborsClassifier
    >>> from scratchlearn.datasets import load_moons_split
    >>> X_train, X_test, y_train, y_test = load_moons_split()
    >>> clf = KNeighborsClassifier(n_neighbors=5).fit(X_train, y_train)
    >>> clf.score(X_test, y_test)
    0.97
    >>> clf.predict_proba([[0.5, 0.25]])
    array([[0.6, 0.4]])
    >>> clf.predict([[0.5, 0.25]])
    array([0])
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
        """Store the training set and its labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 stays float32, and sparse matrices are used as CSR.
            For ``metric="precomputed"``, the (n_samples, n_samples) distances between
            the training points. Also a fitted scratchlearn kNN estimator, or
            scikit-learn's ``KDTree`` or ``BallTree``, whose training data it takes; or a
            Dask array or DataFrame, whose partitions stay on the workers.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Labels of any type (ints, ±1, strings). A Dask y with an in-memory X is
            computed, and the fit is the in-memory one; on Dask, one output only.

        Returns
        -------
        self : KNeighborsClassifier
            The fitted classifier.

        Raises
        ------
        ValueError
            If a parameter is invalid, naming it: ``n_neighbors`` below 1 or above the
            number of training samples, an unknown ``metric`` or ``metric_params`` key,
            an ``algorithm`` that cannot search the metric (a tree for "precomputed" or
            for 0 < p < 1, "kd_tree" outside the Minkowski family). Also if y is None or
            mixes strings with numbers, if sparse X comes with a metric that cannot
            search it, and, for "precomputed", if X is not square or holds negative
            distances.
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
        """Class probabilities p(c | x), the (weighted) share of each class in the vote.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The queries (for ``metric="precomputed"``, their distances to the training
            points, of shape (n_queries, n_samples_fit)). None evaluates the training
            points leave-one-out, as scikit-learn does. Dask queries give a Dask array.

        Returns
        -------
        proba : ndarray of shape (n_queries, n_classes), or a list of them
            Columns in ``classes_`` order; each row sums to 1. A list, one array per
            output, for a multi-output model.

        Raises
        ------
        ValueError
            If ``n_neighbors`` exceeds the training points that can be neighbours (for
            ``X=None``, all but the query itself), or if a callable ``weights`` returns
            another shape than the distances' or weighs all of a query's neighbours 0.
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
        """Predict the most-voted class of each query; a tie goes to the smallest label.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The queries, as in :meth:`predict_proba`. None evaluates the training points
            leave-one-out. Dask queries give a Dask array.

        Returns
        -------
        y_pred : ndarray of shape (n_queries,) or (n_queries, n_outputs)
            The predicted labels, of the dtype of ``classes_``.

        Raises
        ------
        ValueError
            As :meth:`predict_proba`.
        """
        check_is_fitted(self)
        classes = self._class_lists()
        finish = partial(_predictions, classes=classes, weights=self.weights,
                         outputs_2d=self.outputs_2d_)
        tail = (len(classes),) if self.outputs_2d_ else ()
        return self._answer(X, finish, Spec(tail, classes[0].dtype),
                            n_neighbors=self._n_neighbors(X))
