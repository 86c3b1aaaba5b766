"""k-nearest-neighbour density estimation (Bishop, PRML §2.5.2)."""

from __future__ import annotations

from functools import partial

import numpy as np
from sklearn.utils import ClassifierTags
from sklearn.utils.validation import check_is_fitted

from .._dask import Spec
from .._math.knn import (
    knn_class_log_density,
    knn_log_density,
    neighbor_class_votes,
    sphere_log_volume,
)
from .._search import Neighbors
from .._validation import check_class_labels
from ._base import NeighborsBase
from ._params import is_weighted


def _log_density(top: Neighbors, *, n_features: int, p: float, k: int,
                 n_reference: int) -> np.ndarray:
    """log p(x) from the distance to each query's K-th neighbour."""
    return knn_log_density(sphere_log_volume(top.distances, n_features, p), k, n_reference)


def _class_log_density(top: Neighbors, *, n_features: int, p: float,
                       class_count: np.ndarray) -> np.ndarray:
    """log p(x | c) from the same sphere and the classes inside it (leave-one-out: each
    query's own class loses the query)."""
    log_volume = sphere_log_volume(top.distances, n_features, p)
    return knn_class_log_density(log_volume, top.codes, class_count, top.own_codes)


def _posterior(top: Neighbors, *, n_classes: int, k: int) -> np.ndarray:
    """p(c | x) = K_c / K."""
    return neighbor_class_votes(top.codes, n_classes) / k


def _most_probable(top: Neighbors, *, classes: np.ndarray) -> np.ndarray:
    """argmax_c p(c | x) = argmax_c K_c; a tie goes to the smallest label, as in
    :class:`KNeighborsClassifier`."""
    return classes[np.argmax(neighbor_class_votes(top.codes, len(classes)), axis=1)]


class KNeighborsDensity(NeighborsBase):
    """kNN density estimator, with class-conditional densities when labels are given.

    Grow a sphere around x until it holds K training points; with r_K(x) its radius and
    V = V_d(r_K(x)) = π^{d/2} r^d / Γ(d/2 + 1) its volume,

        p(x)     = K / (N · V),
        p(x | c) = K_c / (N_c · V),     K_c the points of class c inside the same sphere,
        p(c)     = N_c / N,
        p(c | x) = p(x | c) p(c) / p(x) = K_c / K.

    One sphere serves every class, so the estimates are consistent (Σ_c p(x|c) p(c) = p(x))
    and never divide by zero. Volumes are taken in log space, finite for d = 64.

    With ``X=None`` the methods evaluate the training points leave-one-out: each point is
    left out of its own sphere and of the counts (N − 1 points, N_c − 1 for its class);
    otherwise r_K would be 0 at K = 1. Where K or more training points coincide with x,
    r_K = 0 and log p(x) = +inf.

    The sphere is the ball of the metric: for Minkowski metrics (``metric`` "euclidean",
    "manhattan", "chebyshev" or "minkowski" with ``p``) V is the volume of the Lp ball
    (``scratchlearn._math.ball.log_ball_volume``). "cosine", "sqeuclidean", "haversine",
    weighted Minkowski, "precomputed" and callables have no such volume and are refused.

    With labels, ``predict`` gives the most probable class, argmax_c p(c | x) (a tie goes to
    the smallest label, as in :class:`KNeighborsClassifier`), so the estimator works where
    a classifier is expected (``CalibratedClassifierCV``, for instance).

    Parameters
    ----------
    n_neighbors : int, default=5
        K.
    algorithm : {"auto", "ball_tree", "brute", "kd_tree"}, default="auto"
        As in :class:`KNeighborsClassifier`.
    leaf_size : int, default=30
        Accepted for scikit-learn's sake, as in :class:`KNeighborsClassifier`.
    metric : {"minkowski", "euclidean", "manhattan", "chebyshev"}, default="minkowski"
        The distance whose balls measure the density; "l2", "l1" and "cityblock" work too.
    p : float, default=2
        The exponent of "minkowski", p > 0.
    metric_params : dict, default=None
        {"p": ...} takes the place of ``p``, as in :class:`KNeighborsClassifier`.
    n_jobs : int, default=None
        Threads for the search: None or -1 use every core, 1 one thread.

    Dask arrays (chunked along samples) work as in :class:`KNeighborsClassifier`: the
    training partitions stay on the workers; Dask queries, and ``X=None`` after a Dask fit,
    give lazy Dask arrays; the values equal the in-memory ones.

    Attributes
    ----------
    n_features_in_ : int
    n_samples_fit_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        The column names of X at fit, when X was a pandas or Dask DataFrame whose names
        are all strings.
    classes_ : ndarray of shape (n_classes,)
        Only when fitted with labels.
    class_count_ : ndarray of shape (n_classes,)
        N_c.
    class_prior_ : ndarray of shape (n_classes,)
        p(c) = N_c / N.
    """

    _fitted = NeighborsBase._fitted._replace(
        stored=(*NeighborsBase._fitted.stored, "class_count_", "class_prior_")
    )

    def __init__(
        self,
        n_neighbors: int = 5,
        *,
        algorithm: str = "auto",
        leaf_size: int = 30,
        metric: str = "minkowski",
        p: float = 2,
        metric_params: dict | None = None,
        n_jobs: int | None = None,
    ):
        self.n_neighbors = n_neighbors
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.metric = metric
        self.p = p
        self.metric_params = metric_params
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # predict_proba returns class posteriors, so describe them as a classifier's would be
        # (scikit-learn's checks read these tags before calling it).
        tags.classifier_tags = ClassifierTags()
        return tags

    def fit(self, X, y=None) -> KNeighborsDensity:
        """Store the training set, and the class counts when ``y`` is given.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Or a Dask array or DataFrame, persisted on the workers (with y, in one
            evaluation of their graph), as in :class:`KNeighborsClassifier`.
        y : array-like of shape (n_samples,), optional
            Class labels, checked as :class:`KNeighborsClassifier` checks them
            (scikit-learn's ``check_classification_targets``): continuous values, labels
            mixing strings and numbers, NaN or a 2-D y raise a ``ValueError``. A Dask y
            with an in-memory X is computed, and the fit is the in-memory one.

        Returns
        -------
        self
        """
        self._validate_params()  # the metric too (one with a ball volume), before any Dask work
        if self._dask_input(X):
            state, fitted = self._fit_dask(X, y, classify=False)
            if fitted.classes is not None:
                state.update(classes_=fitted.classes, class_count_=fitted.class_count,
                             class_prior_=fitted.class_count / fitted.n_samples)
            self._set_fitted(**state)
            return self
        X, y = self._validate_training_set(X, y)
        state = self._training_state(X)
        if y is not None:  # validated as KNeighborsClassifier does: continuous or mixed refused
            classes, codes = check_class_labels(y, estimator="KNeighborsDensity")
            class_count = np.bincount(codes, minlength=len(classes))
            state.update(classes_=classes, _y=codes, class_count_=class_count,
                         class_prior_=class_count / X.shape[0])
        self._set_fitted(**state)
        return self

    def _check_estimator_metric(self, metric) -> None:
        """Only metrics with a ball volume: the unweighted Minkowski family."""
        minkowski = ("euclidean", "manhattan", "chebyshev", "minkowski")
        if callable(metric) or metric not in minkowski or is_weighted(self.metric,
                                                                     self.metric_params):
            raise ValueError(
                f"KNeighborsDensity needs a metric with a ball volume (euclidean, manhattan, "
                f"chebyshev or minkowski), got metric={self.metric!r}: {metric} distances "
                "are not a norm of x - x', so K / (N·V) has no volume V to divide by."
            )

    def _ball_order(self) -> float:
        """p of the Lp ball whose volume measures the density (the metric's own)."""
        return self._metric()[1]

    def score_samples(self, X=None) -> np.ndarray:
        """log p(x) = log K − log N − log V_d(r_K(x)).

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            ``None`` evaluates the training points leave-one-out.

        Returns
        -------
        ndarray of shape (n_queries,)
        """
        check_is_fitted(self)
        finish = partial(
            _log_density, n_features=self.n_features_in_, p=self._ball_order(),
            k=self.n_neighbors, n_reference=self.n_samples_fit_ - (1 if X is None else 0),
        )
        return self._answer(X, finish, Spec((), np.float64), n_neighbors=self._n_neighbors(X))

    def score(self, X=None, y=None) -> float:
        """Total log-likelihood Σ log p(x) (the scikit-learn convention of KernelDensity)."""
        return float(np.sum(self.score_samples(X)))

    def _require_labels(self):
        check_is_fitted(self)
        if not hasattr(self, "classes_"):
            raise ValueError(
                "This KNeighborsDensity was fitted without labels; call fit(X, y) to use "
                "class densities."
            )

    def class_log_density(self, X=None) -> np.ndarray:
        """log p(x | c) = log K_c − log N_c − log V_d(r_K(x)), one column per class.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            ``None`` evaluates the training points leave-one-out.

        Returns
        -------
        ndarray of shape (n_queries, n_classes)
            Columns in ``classes_`` order; ``-inf`` where no neighbour is of class c.
        """
        self._require_labels()
        finish = partial(_class_log_density, n_features=self.n_features_in_,
                         p=self._ball_order(), class_count=self.class_count_)
        return self._answer(X, finish, Spec((len(self.classes_),), np.float64),
                            n_neighbors=self._n_neighbors(X))

    def predict_proba(self, X=None) -> np.ndarray:
        """p(c | x) = K_c / K: the same as KNeighborsClassifier with the same k.

        Returns
        -------
        ndarray of shape (n_queries, n_classes)
        """
        self._require_labels()
        n_classes = len(self.classes_)
        finish = partial(_posterior, n_classes=n_classes, k=self.n_neighbors)
        return self._answer(X, finish, Spec((n_classes,), np.float64),
                            n_neighbors=self._n_neighbors(X))

    def predict(self, X=None) -> np.ndarray:
        """The most probable class, argmax_c p(c | x) = argmax_c K_c; a tie goes to the
        smallest label.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            ``None`` evaluates the training points leave-one-out.

        Returns
        -------
        ndarray of shape (n_queries,)
        """
        self._require_labels()
        finish = partial(_most_probable, classes=self.classes_)
        return self._answer(X, finish, Spec((), self.classes_.dtype),
                            n_neighbors=self._n_neighbors(X))
