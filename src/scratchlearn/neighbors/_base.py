"""What the kNN estimators share: the fitted training set, its parameters, and the
neighbour lists every answer starts from (the queries themselves are in ``_queries``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import BallTree, KDTree
from sklearn.utils.validation import check_is_fitted, validate_data

from .._dask import is_dask_collection
from .._estimator import FittedState, ScratchEstimator, check_dask_features
from .._search import (
    ALGORITHMS,
    PRECOMPUTED,
    Neighbors,
    Within,
    kneighbors_leave_one_out,
    kneighbors_search,
    radius_leave_one_out,
    radius_search,
    resolve_algorithm,
    training_aids,
)
from .._validation import Integer, Mapping, Options, Threads, check_n_neighbors
from ._params import (
    METRIC_NAMES,
    check_algorithm,
    check_feature_weights,
    check_metric,
    check_sparse_metric,
    fit_warnings,
    is_weighted,
)
from ._queries import NeighborsQueries

__all__ = ["NeighborsBase", "check_metric"]

#: Sparse formats a precomputed graph may come in (scikit-learn's: they keep explicit zeros).
GRAPH_FORMATS = ("csr", "csc", "coo", "lil")
DTYPES = [np.float64, np.float32]


def _training_data(X):
    """The training rows held by a fitted kNN estimator of ours, or by scikit-learn's
    ``KDTree`` or ``BallTree`` (which scikit-learn's ``fit`` takes too); else X."""
    if isinstance(X, NeighborsBase):
        check_is_fitted(X)
        if "_fit_X" not in vars(X):
            raise ValueError("fit takes a Dask-fitted estimator's data only in memory: pass "
                             "its training data itself.")
        return X._fit_X
    if isinstance(X, KDTree | BallTree):
        return np.asarray(X.data)
    return X


def _finite(metric) -> bool | str:
    """scikit-learn's ``ensure_all_finite``: "nan_euclidean" takes missing values."""
    return "allow-nan" if metric == "nan_euclidean" else True


def _check_distances(X) -> None:
    """Precomputed distances are >= 0 (scikit-learn's message)."""
    values = X.data if sp.issparse(X) else X
    if np.any(values < 0):
        raise ValueError(
            "Negative values in data passed to precomputed distance matrix: distances "
            "are >= 0."
        )


class NeighborsBase(NeighborsQueries, ScratchEstimator):
    """Stores the training set and answers the neighbour queries; subclasses add the
    statistics.

    Subclasses store ``n_neighbors``, ``algorithm``, ``leaf_size``, ``metric``, ``p``,
    ``metric_params`` and ``n_jobs``. Every answer is a pure function (``finish``) of the
    neighbour lists (``_core``), computed in memory or, for Dask queries or a model fitted
    on Dask arrays, on the Dask workers (``ScratchEstimator._answer``).
    """

    _fitted = FittedState(
        stored=("n_features_in_", "feature_names_in_", "n_samples_fit_", "effective_metric_",
                "_fit_X", "classes_", "_y"),
        # Rebuilt from _fit_X and the parameters: ‖x‖² for brute force, the KD-tree when it
        # may be used, the path a query of n_neighbors takes, and the metric's parameters.
        derived=("_fit_sq", "_tree", "_fit_method", "effective_metric_params_"),
        # A Dask fit's training partitions, persisted on the workers (``_dask.knn_training``).
        on_dask=("_dask_training",),
    )
    #: Whether fit refuses fewer training points than ``n_neighbors`` (the estimators whose
    #: every answer needs k of them); NearestNeighbors checks k per query, as scikit-learn.
    _k_at_fit: ClassVar[bool] = True
    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "n_neighbors": Integer(1),
        "algorithm": Options(ALGORITHMS),
        "leaf_size": Integer(1),
        "metric": Options(METRIC_NAMES, callables=True),
        "metric_params": Mapping(),
        "n_jobs": Threads(),
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # every algorithm: CSR data take the brute force
        # Precomputed distances are square: cross-validation splits both axes.
        tags.input_tags.pairwise = self.metric == PRECOMPUTED
        tags.input_tags.positive_only = tags.input_tags.pairwise
        tags.input_tags.allow_nan = self.metric == "nan_euclidean"
        return tags

    def _check_params_together(self) -> None:
        """``p`` and ``metric_params`` for the metric, the metrics the estimator can use,
        and what the algorithm can search."""
        metric, p = check_metric(self.metric, self.p, self.metric_params)
        self._check_estimator_metric(metric)
        check_algorithm(self.algorithm, metric, p, self.metric_params)

    def _check_estimator_metric(self, metric: Any) -> None:
        """Refuse a (canonical) metric the estimator cannot use; every metric by default."""

    def _metric(self) -> tuple[Any, float]:
        """The canonical metric and its exponent."""
        return check_metric(self.metric, self.p, self.metric_params)

    # --- fit -----------------------------------------------------------------------------

    def _validate_training_set(self, X, y=None, *, multi_output: bool = False,
                               warn: bool = True):
        """X (and y) validated as ``fit`` takes them: float32 stays float32, CSR stays
        sparse (with sorted indices), precomputed distances square and non-negative, and at
        least ``n_neighbors`` rows."""
        X = _training_data(X)
        metric, p = self._metric()
        precomputed = metric == PRECOMPUTED
        options = {"dtype": DTYPES, "accept_sparse": GRAPH_FORMATS if precomputed else "csr",
                   "ensure_all_finite": _finite(metric)}
        if y is None:
            X = validate_data(self, X, **options)
        else:
            X, y = validate_data(self, X, y, multi_output=multi_output, **options)
        if sp.issparse(X):
            X = sp.csr_matrix(X) if X.format != "csr" else X
            check_sparse_metric(metric, self.metric)
            if not X.has_sorted_indices and not precomputed:
                X = X.sorted_indices()
        if precomputed:
            _check_distances(X)
        if precomputed and X.shape[0] != X.shape[1]:
            raise ValueError(
                f"Precomputed matrix must be square. Input is a {X.shape[0]}x{X.shape[1]} "
                "matrix: fit takes the distances between the training points."
            )
        if is_weighted(self.metric, self.metric_params):
            check_feature_weights(self.metric_params["w"], X.shape[1])
        if self._k_at_fit:
            check_n_neighbors(self.n_neighbors, X.shape[0])
        if warn:
            fit_warnings(self, metric, p, sp.issparse(X))
        return X, y

    def _training_state(self, X) -> dict[str, Any]:
        """The fitted state of a validated in-memory training set: X, its size, the
        canonical metric, and what the search reads (``_search.training_aids``; values
        whose squares overflow or underflow are rescaled per search instead)."""
        metric, p = self._metric()
        fit_sq, tree = training_aids(X, algorithm=self.algorithm, metric=self.metric,
                                     p=self.p, metric_params=self.metric_params)
        return {"_fit_X": X, "n_samples_fit_": X.shape[0], "effective_metric_": metric,
                "_fit_sq": fit_sq, "_tree": tree,
                "_fit_method": self._path(metric, p, X.shape, sp.issparse(X)),
                "effective_metric_params_": self._effective_params(metric, p)}

    def _path(self, metric, p: float, shape: tuple[int, int], sparse: bool) -> str:
        """The search path of a query of ``n_neighbors`` ("brute" or "kd_tree")."""
        if metric == PRECOMPUTED:
            return "brute"
        return resolve_algorithm(
            self.algorithm, shape[1], self.n_neighbors, shape[0], metric=metric,
            sparse=sparse, p=p, weighted=is_weighted(self.metric, self.metric_params),
        )

    def _effective_params(self, metric, p: float) -> dict[str, Any]:
        """scikit-learn's ``effective_metric_params_``: {"p", "w"} for the general
        Minkowski metric, a callable's own parameters, else none."""
        params = dict(self.metric_params or {})
        if metric == "minkowski":
            return {"p": p, "w": params.get("w")}
        params.pop("p", None)
        return params if callable(metric) else {}

    def _fit_dask(self, X, y, *, classify: bool):
        """Persist the training partitions on the Dask workers (``_dask.knn_training``):
        the fitted state every kNN estimator has, and what the fit returned (the classes
        and their counts, with labels)."""
        from .._dask import knn_training

        metric, p = self._metric()
        if metric == PRECOMPUTED:
            raise ValueError(
                "metric='precomputed' takes a distance matrix in memory, not a Dask "
                "collection: fit on X.compute(), or fit on the features with their metric."
            )
        fitted = knn_training.fit(
            X, y, n_neighbors=self.n_neighbors if self._k_at_fit else 1,
            algorithm=self.algorithm, metric=self.metric,
            p=self.p, metric_params=self.metric_params, classify=classify,
            name=type(self).__name__,
        )
        check_dask_features(self, X, reset=True)  # a Dask DataFrame's names, as pandas'
        shape = (fitted.n_samples, fitted.n_features)
        state = {"n_features_in_": fitted.n_features, "n_samples_fit_": fitted.n_samples,
                 "effective_metric_": metric, "_dask_training": fitted.training,
                 "_fit_method": self._path(metric, p, shape, False),
                 "effective_metric_params_": self._effective_params(metric, p)}
        return state, fitted

    def _restore_fitted(self, state: dict[str, Any]) -> None:
        """Rebuild the norms and the KD-tree from the stored training set, by the fit's own
        code, after checking that the stored state agrees with it."""
        self._validate_params()
        X, _ = self._validate_training_set(state["_fit_X"], warn=False)
        rebuilt = {**self._training_state(X), "n_features_in_": self.n_features_in_}
        for name in ("n_samples_fit_", "n_features_in_", "effective_metric_"):
            if rebuilt[name] != state[name]:
                raise ValueError(
                    f"{name} is {state[name]!r}, but the stored training set and parameters "
                    f"give {rebuilt[name]!r}."
                )
        self._set_fitted(**{**state, **rebuilt})

    def _portable_state(self, state: dict[str, Any]) -> dict[str, Any]:
        """A Dask-fitted model's state with its training data gathered from the workers:
        the state of the equivalent in-memory model (``_dask.knn_training.gather``)."""
        training = state.pop("_dask_training", None)
        if training is None:
            return state
        from .._dask import knn_training

        X, codes = knn_training.gather(training, type(self).__name__)
        state.update(self._training_state(X))
        if codes is not None:
            state["_y"] = codes
        return state

    # --- answers -------------------------------------------------------------------------

    def _n_neighbors(self, X, n_neighbors: int | None = None) -> int:
        """k, checked against the training points that can be neighbours (all of them, or
        all but the query itself for ``X=None``)."""
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        return check_n_neighbors(k, self.n_samples_fit_ - (1 if X is None else 0))

    def _search_options(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm, "metric": self.metric, "p": self.p,
                "metric_params": self.metric_params, "tree": self._tree,
                "n_jobs": self.n_jobs, "fit_sq": self._fit_sq}

    def _queries(self, X):
        """Queries validated against the training set: precomputed rows non-negative (CSR
        for a graph), CSR queries of a dense model densified (trees take no sparse
        queries), dense queries of a CSR model made CSR."""
        if self.effective_metric_ == PRECOMPUTED:
            X = validate_data(self, X, dtype=DTYPES, reset=False, accept_sparse=GRAPH_FORMATS)
            X = sp.csr_matrix(X) if sp.issparse(X) and X.format != "csr" else X
            _check_distances(X)
            return X
        X = validate_data(self, X, dtype=DTYPES, reset=False, accept_sparse="csr",
                          ensure_all_finite=_finite(self.effective_metric_))
        fit_sparse = sp.issparse(self._fit_X)
        if sp.issparse(X) and not fit_sparse:
            if self.algorithm in ("kd_tree", "ball_tree"):
                raise ValueError(
                    f"{self.algorithm} does not work with sparse matrices. Densify the "
                    "data, or set algorithm='brute'."
                )
            return X.toarray()
        if fit_sparse and not sp.issparse(X):
            X = sp.csr_matrix(X)
        if sp.issparse(X) and not X.has_sorted_indices:
            X = X.sorted_indices()
        return X

    def _core(self, X, *, n_neighbors: int | None = None, radius: float | None = None):
        """The k nearest training points of each query (``n_neighbors``), or those within
        ``radius`` (:class:`~scratchlearn._search.Within`); ``X=None``: of each training
        point among the others. With their class codes when fitted with labels."""
        options = self._search_options()
        codes = self.__dict__.get("_y")
        own = codes if X is None else None
        if X is not None:
            X = self._queries(X)
        if radius is not None:
            found = (radius_leave_one_out(self._fit_X, radius, **options) if X is None
                     else radius_search(X, self._fit_X, radius, **options))
            return found._replace(codes=None if codes is None else codes[found.indices],
                                  own_codes=own)
        if X is None:
            distances, indices = kneighbors_leave_one_out(self._fit_X, n_neighbors, **options)
        else:
            distances, indices = kneighbors_search(X, self._fit_X, n_neighbors, **options)
        return Neighbors(distances, indices, None if codes is None else codes[indices], own)

    def _answer_on_workers(self, X, finish: Callable[[Neighbors | Within], Any], specs, *,
                           n_neighbors: int | None = None, radius: float | None = None):
        """The answer of a Dask-fitted model: searched on the workers that hold the
        training partitions (``_dask.knn_queries``)."""
        from .._dask import knn_queries

        if is_dask_collection(X):
            check_dask_features(self, X, reset=False)
        elif X is not None:
            X = validate_data(self, X, dtype=DTYPES, reset=False)
        return knn_queries.answer(
            self._dask_training, X, k=n_neighbors, radius=radius, finish=finish, specs=specs,
            algorithm=self.algorithm, metric=self.metric, p=self.p,
            metric_params=self.metric_params, n_jobs=self.n_jobs,
            n_samples=self.n_samples_fit_, n_features=self.n_features_in_,
            name=type(self).__name__,
        )
