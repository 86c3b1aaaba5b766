"""What the kNN classifier and the kNN density estimator share: the fitted training set,
its parameters, and the neighbour lists every answer starts from."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted, validate_data

from .._dask import Spec, is_dask_collection
from .._estimator import FittedState, ScratchEstimator, check_dask_features
from .._search import (
    ALGORITHMS,
    METRIC_ALIASES,
    METRICS,
    Neighbors,
    kneighbors_leave_one_out,
    kneighbors_search,
    resolve_metric,
    training_aids,
    tree_metric,
)
from .._validation import (
    Integer,
    Options,
    Threads,
    check_float_param,
    check_n_neighbors,
    check_option,
)


def check_metric(metric, p) -> tuple[str, float]:
    """Validate ``metric`` and ``p``; return the canonical metric and its exponent."""
    check_option(metric, "metric", METRICS + tuple(METRIC_ALIASES))
    if metric == "minkowski":
        if p == np.inf:
            return resolve_metric(metric, p)
        check_float_param(p, "p", min_value=1)
    return resolve_metric(metric, p)


def _neighbor_lists(top: Neighbors, *, return_distance: bool):
    """``kneighbors``' answer from the neighbour lists."""
    return (top.distances, top.indices) if return_distance else top.indices


class NeighborsBase(ScratchEstimator):
    """Stores the training set and answers ``kneighbors``; subclasses add the statistics.

    Subclasses store ``n_neighbors``, ``algorithm``, ``metric``, ``p`` and ``n_jobs``. Every
    answer is a pure function (``finish``) of the neighbour lists (``_core``), computed in
    memory or, for Dask queries or a model fitted on Dask arrays, on the Dask workers
    (``ScratchEstimator._answer``).
    """

    _fitted = FittedState(
        stored=("n_features_in_", "feature_names_in_", "n_samples_fit_", "effective_metric_",
                "_fit_X", "classes_", "_y"),
        # Rebuilt from _fit_X: ‖x‖² for brute force, and the KD-tree when it may be used.
        derived=("_fit_sq", "_tree"),
        # A Dask fit's training partitions, persisted on the workers (``_dask.knn_training``).
        on_dask=("_dask_training",),
    )
    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "n_neighbors": Integer(1),
        "algorithm": Options(ALGORITHMS),
        "metric": Options(METRICS + tuple(METRIC_ALIASES)),
        "n_jobs": Threads(),
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Brute force takes CSR input; the KD-tree does not.
        tags.input_tags.sparse = self.algorithm != "kd_tree"
        return tags

    def _check_params_together(self) -> None:
        """``p`` for "minkowski", the metrics the estimator can use, and the KD-tree's."""
        metric, _ = check_metric(self.metric, self.p)
        self._check_estimator_metric(metric)
        if self.algorithm == "kd_tree" and not tree_metric(metric):
            raise ValueError(
                f"algorithm='kd_tree' cannot search metric={self.metric!r}: a KD-tree serves "
                "the Minkowski family (euclidean, sqeuclidean, manhattan, chebyshev, "
                "minkowski). Use algorithm='brute' or 'auto'."
            )

    def _check_estimator_metric(self, metric: str) -> None:
        """Refuse a (canonical) metric the estimator cannot use; every metric by default."""

    # --- fit -----------------------------------------------------------------------------

    def _validate_training_set(self, X, y=None):
        """X (and y) validated as ``fit`` takes them: float32 stays float32, CSR stays
        sparse (with sorted indices), and at least ``n_neighbors`` rows."""
        metric, _ = resolve_metric(self.metric, self.p)
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
        return X, y

    def _training_state(self, X) -> dict[str, Any]:
        """The fitted state of a validated in-memory training set: X, its size, the
        canonical metric, and what the search reads (``_search.training_aids``; values
        whose squares overflow or underflow are rescaled per search instead)."""
        metric, _ = resolve_metric(self.metric, self.p)
        fit_sq, tree = training_aids(X, algorithm=self.algorithm, metric=metric, p=self.p)
        return {"_fit_X": X, "n_samples_fit_": X.shape[0], "effective_metric_": metric,
                "_fit_sq": fit_sq, "_tree": tree}

    def _fit_dask(self, X, y, *, classify: bool):
        """Persist the training partitions on the Dask workers (``_dask.knn_training``):
        the fitted state every kNN estimator has, and what the fit returned (the classes
        and their counts, with labels)."""
        from .._dask import knn_training

        metric, _ = resolve_metric(self.metric, self.p)
        fitted = knn_training.fit(
            X, y, n_neighbors=self.n_neighbors, algorithm=self.algorithm, metric=metric,
            p=self.p, classify=classify, name=type(self).__name__,
        )
        check_dask_features(self, X, reset=True)  # a Dask DataFrame's names, as pandas'
        state = {"n_features_in_": fitted.n_features, "n_samples_fit_": fitted.n_samples,
                 "effective_metric_": metric, "_dask_training": fitted.training}
        return state, fitted

    def _restore_fitted(self, state: dict[str, Any]) -> None:
        """Rebuild the norms and the KD-tree from the stored training set, by the fit's own
        code, after checking that the stored state agrees with it."""
        self._validate_params()
        if sp.issparse(state["_fit_X"]) and self.algorithm == "kd_tree":
            raise ValueError("a sparse training set cannot be searched with "
                             "algorithm='kd_tree'.")
        X, _ = self._validate_training_set(state["_fit_X"])
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

    def _core(self, X, *, n_neighbors: int) -> Neighbors:
        """The k nearest training points of each query (``X=None``: of each training point
        among the others), with their class codes when fitted with labels."""
        options = {
            "algorithm": self.algorithm, "metric": self.metric, "p": self.p,
            "tree": self._tree, "n_jobs": self.n_jobs, "fit_sq": self._fit_sq,
        }
        codes = self.__dict__.get("_y")
        if X is None:
            distances, indices = kneighbors_leave_one_out(self._fit_X, n_neighbors, **options)
            own_codes = codes
        else:
            X = validate_data(
                self, X, dtype=[np.float64, np.float32], reset=False,
                accept_sparse="csr" if sp.issparse(self._fit_X) else False,
            )
            distances, indices = kneighbors_search(X, self._fit_X, n_neighbors, **options)
            own_codes = None
        return Neighbors(distances, indices, None if codes is None else codes[indices],
                         own_codes)

    def _answer_on_workers(self, X, finish: Callable[[Neighbors], Any], specs, *,
                           n_neighbors: int):
        """The answer of a Dask-fitted model: searched on the workers that hold the
        training partitions (``_dask.knn_queries``)."""
        from .._dask import knn_queries

        if is_dask_collection(X):
            check_dask_features(self, X, reset=False)
        elif X is not None:
            X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return knn_queries.answer(
            self._dask_training, X, k=n_neighbors, finish=finish, specs=specs,
            algorithm=self.algorithm, metric=self.metric, p=self.p, n_jobs=self.n_jobs,
            n_samples=self.n_samples_fit_, n_features=self.n_features_in_,
            name=type(self).__name__,
        )

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
            (``scratchlearn._dask.knn_queries``) and answers Dask queries, and ``None``
            after a Dask fit, with lazy Dask arrays, NumPy queries with NumPy arrays.
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
        check_is_fitted(self)
        k = self._n_neighbors(X, n_neighbors)
        specs = [Spec((k,), np.float64), Spec((k,), np.intp)]
        return self._answer(
            X, partial(_neighbor_lists, return_distance=return_distance),
            specs if return_distance else specs[1], n_neighbors=k,
        )
