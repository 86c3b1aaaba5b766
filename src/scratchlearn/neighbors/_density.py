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
    """Density estimator by the k nearest neighbours, per class too when labels are given.

    Grow a ball around x until it holds K training points; with V = V_d(r_K(x)) the volume
    of that ball in the metric, of radius r_K(x) in d dimensions::

        p(x) = K / (N · V),    p(x | c) = K_c / (N_c · V),
        p(c | x) = K_c / K,

    with K_c the points of class c inside the same ball and N_c those in the training set.
    One ball serves every class, so Σ_c p(x | c) p(c) = p(x) holds exactly. With labels,
    :meth:`predict` gives the most probable class, so the estimator also works where a
    classifier is expected.

    Read more in the :doc:`user guide </density>`.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours K in the ball, between 1 and the number of training samples.
    algorithm : {"auto", "ball_tree", "kd_tree", "brute"}, default="auto"
        How to search, as in :class:`KNeighborsClassifier`: every algorithm gives the same
        answers.
    leaf_size : int, default=30
        Accepted for compatibility with scikit-learn, and not used: SciPy's KD-tree keeps
        its own leaf size.
    metric : {"minkowski", "euclidean", "manhattan", "chebyshev"}, default="minkowski"
        The distance whose balls measure the density; the aliases "l2", "l1" and
        "cityblock" work too. Metrics that are not a norm of x − x′ have no ball volume
        and are refused.
    p : float, default=2
        Exponent of the "minkowski" metric, p > 0; the ball is the Lp ball.
    metric_params : dict, default=None
        ``{"p": ...}`` in place of ``p``, as in :class:`KNeighborsClassifier`; feature
        weights ("w") have no ball volume and are refused.
    n_jobs : int, default=None
        Threads for the search, as in :class:`KNeighborsClassifier`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels, the columns of :meth:`predict_proba` and
        :meth:`class_log_density`; only when fitted with labels.
    class_count_ : ndarray of shape (n_classes,)
        Training samples N_c of each class; only when fitted with labels.
    class_prior_ : ndarray of shape (n_classes,)
        Class priors p(c) = N_c / N; only when fitted with labels.
    effective_metric_ : str
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
        Number of training samples N.

    See Also
    --------
    sklearn.neighbors.KernelDensity : Density estimation with kernels, in scikit-learn.
    KNeighborsClassifier : The same K_c / K as a classifier's probabilities.

    Notes
    -----
    The densities are computed in log space (finite for d = 64), and are not normalised:
    far from the data p(x) decays only like 1 / ‖x‖ᵈ, so the likelihood of
    held-out points cannot choose K. With ``X=None`` every method evaluates the training
    points leave-one-out. The ball volumes, the leave-one-out counts and the refused
    metrics are in :doc:`/density`. scikit-learn has no kNN density estimator.

    References
    ----------
    .. [1] C. M. Bishop, *Pattern Recognition and Machine Learning*, Springer, 2006,
       §2.5.2.

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn import KNeighborsDensity
    >>> X = np.array([[0.0], [1.0], [2.0], [4.0]])
    >>> density = KNeighborsDensity(n_neighbors=2).fit(X, [0, 0, 1, 1])
    >>> np.exp(density.score_samples([[1.5], [3.0]]))  # K / (N·V), V = 2 r_K
    array([0.5 , 0.25])
    >>> density.predict_proba([[1.5]])  # K_c / K
    array([[0.5, 0.5]])
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
        # Fitted with labels it is Bayes' classifier (predict, predict_proba, classes_): a
        # classifier to scikit-learn, so that calibration and scorers read its posteriors
        # as a classifier's (with two classes, the second column).
        tags.estimator_type = "classifier"
        return tags

    def fit(self, X, y=None) -> KNeighborsDensity:
        """Store the training set, and the class counts when ``y`` is given.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 stays float32. Or a Dask array or DataFrame, whose
            partitions stay on the workers, as in :class:`KNeighborsClassifier`.
        y : array-like of shape (n_samples,), default=None
            Class labels, for the class densities, :meth:`predict_proba` and
            :meth:`predict`; None estimates p(x) only. A Dask y with an in-memory X is
            computed, and the fit is the in-memory one.

        Returns
        -------
        self : KNeighborsDensity
            The fitted estimator.

        Raises
        ------
        ValueError
            If a parameter is invalid, naming it: ``n_neighbors`` below 1 or above the
            number of training samples, or a ``metric`` with no ball volume ("cosine",
            "sqeuclidean", "haversine", "precomputed", a callable, or feature weights in
            ``metric_params``). Also for labels that are continuous, mix strings with
            numbers, hold NaN, or are 2-D, as scikit-learn's
            ``check_classification_targets`` refuses them.
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
        """Compute the log-density log p(x) = log K − log N − log V_d(r_K(x)).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The queries. None evaluates the training points leave-one-out (N − 1
            points). Dask queries give a Dask array.

        Returns
        -------
        log_density : ndarray of shape (n_queries,)
            The log-density log p(x); +inf where K or more training points coincide
            with x.

        Raises
        ------
        ValueError
            If ``n_neighbors`` exceeds the training points that can be neighbours (for
            ``X=None``, all but the query itself).
        """
        check_is_fitted(self)
        finish = partial(
            _log_density, n_features=self.n_features_in_, p=self._ball_order(),
            k=self.n_neighbors, n_reference=self.n_samples_fit_ - (1 if X is None else 0),
        )
        return self._answer(X, finish, Spec((), np.float64), n_neighbors=self._n_neighbors(X))

    def score(self, X=None, y=None) -> float:
        """Compute the total log-likelihood Σ log p(x), as ``KernelDensity.score`` does.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The queries, as in :meth:`score_samples`.
        y : None
            Ignored; present for the API's consistency.

        Returns
        -------
        log_likelihood : float
            The sum of :meth:`score_samples` over the queries.
        """
        return float(np.sum(self.score_samples(X)))

    def _require_labels(self):
        check_is_fitted(self)
        if not hasattr(self, "classes_"):
            raise ValueError(
                "This KNeighborsDensity was fitted without labels; call fit(X, y) to use "
                "class densities."
            )

    def class_log_density(self, X=None) -> np.ndarray:
        """Compute log p(x | c) = log K_c − log N_c − log V_d(r_K(x)) for each class c.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The queries. None evaluates the training points leave-one-out (N_c − 1
            points in each one's own class).

        Returns
        -------
        log_density : ndarray of shape (n_queries, n_classes)
            Columns in ``classes_`` order; -inf where no neighbour is of class c.

        Raises
        ------
        ValueError
            If the estimator was fitted without labels, or ``n_neighbors`` exceeds the
            training points that can be neighbours.
        """
        self._require_labels()
        finish = partial(_class_log_density, n_features=self.n_features_in_,
                         p=self._ball_order(), class_count=self.class_count_)
        return self._answer(X, finish, Spec((len(self.classes_),), np.float64),
                            n_neighbors=self._n_neighbors(X))

    def predict_proba(self, X=None) -> np.ndarray:
        """Compute the class posteriors p(c | x) = K_c / K.

        They equal :class:`KNeighborsClassifier`'s probabilities with the same k.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The queries. None evaluates the training points leave-one-out.

        Returns
        -------
        proba : ndarray of shape (n_queries, n_classes)
            Columns in ``classes_`` order; each row sums to 1.

        Raises
        ------
        ValueError
            As :meth:`class_log_density`.
        """
        self._require_labels()
        n_classes = len(self.classes_)
        finish = partial(_posterior, n_classes=n_classes, k=self.n_neighbors)
        return self._answer(X, finish, Spec((n_classes,), np.float64),
                            n_neighbors=self._n_neighbors(X))

    def predict(self, X=None) -> np.ndarray:
        """Predict the most probable class, argmax_c p(c | x) = argmax_c K_c.

        A tie goes to the smallest label, as in :class:`KNeighborsClassifier`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The queries. None evaluates the training points leave-one-out.

        Returns
        -------
        y_pred : ndarray of shape (n_queries,)
            The predicted labels, of the dtype of ``classes_``.

        Raises
        ------
        ValueError
            As :meth:`class_log_density`.
        """
        self._require_labels()
        finish = partial(_most_probable, classes=self.classes_)
        return self._answer(X, finish, Spec((), self.classes_.dtype),
                            n_neighbors=self._n_neighbors(X))
