"""What every scratchlearn estimator has, in one place: its declared fitted state, its
parameter constraints, and the one way its methods reach Dask.

- **Fitted state.** Each estimator class lists in ``_fitted`` (:class:`FittedState`) the
  attributes its ``fit`` may set: those a model file stores, those rebuilt from them, and
  handles to data that stay on Dask workers. A fit sets its state with ``_set_fitted``,
  which also clears what an earlier fit left; pickles (``_portable_state``) and model files
  (``scratchlearn._persistence``) read the declaration.
- **Parameters.** ``_parameter_constraints`` maps each parameter to a constraint of
  ``scratchlearn._validation``; ``_validate_params`` checks them all, then the rules that
  tie parameters together (``_check_params_together``), before any work: a bad value is a
  ``ValueError`` that names the parameter and the value.
- **Dask.** A query method computes its answer as ``finish(core)``: ``core`` is the
  estimator's own computation on X (``_core``: the neighbour lists, or the affine outputs
  W x + b) and ``finish`` a pure function of it (votes, densities, probabilities).
  ``_answer`` is the one dispatch: in memory it returns ``finish(self._core(X))``; Dask
  queries are answered block by block on the workers by the same code
  (``_dask.arrays.map_rows``); a model whose training data stay on Dask workers answers
  there (``_answer_on_workers``). ``fit`` sends Dask input to ``_fit_dask``
  (``_dask_input``). Dask is imported only when a Dask collection arrives.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar, NamedTuple

from sklearn.base import BaseEstimator
from sklearn.utils.validation import validate_data

from ._dask import feature_stand_in, is_dask_collection, require_dask
from ._versioning import VersionedPickleMixin


class FittedState(NamedTuple):
    """The attributes an estimator's ``fit`` may set, declared once per class."""

    #: Attributes a model file stores (and a pickle holds).
    stored: tuple[str, ...]
    #: Attributes computed from the stored ones (the kNN norms and KD-tree): a model file
    #: leaves them out, and loading rebuilds them.
    derived: tuple[str, ...] = ()
    #: Handles to data that stay on Dask workers: a pickle or a model file holds the
    #: gathered data instead (``_portable_state``).
    on_dask: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return self.stored + self.derived + self.on_dask


#: Set and checked by scikit-learn's ``validate_data``, not by ``_set_fitted``.
_FEATURES = ("n_features_in_", "feature_names_in_")


class ScratchEstimator(VersionedPickleMixin, BaseEstimator):
    """The base of scratchlearn's estimators; see the module docstring."""

    _fitted: ClassVar[FittedState] = FittedState(())
    _parameter_constraints: ClassVar[dict[str, Any]] = {}

    # --- parameters ------------------------------------------------------------------

    def _validate_params(self) -> None:
        """Check every parameter against its constraint, then the rules between them."""
        for name, constraint in self._parameter_constraints.items():
            constraint.check(getattr(self, name), name)
        self._check_params_together()

    def _check_params_together(self) -> None:
        """Rules that tie parameters together, after each is checked alone; none here."""

    # --- fitted state ----------------------------------------------------------------

    def _set_fitted(self, **values: Any) -> None:
        """Set the fitted attributes ``values`` and clear the other declared ones, which an
        earlier fit may have left (``n_features_in_`` and ``feature_names_in_`` are
        ``validate_data``'s to set)."""
        for name in self._fitted.names:
            if name not in values and name not in _FEATURES:
                self.__dict__.pop(name, None)
        vars(self).update(values)

    def _restore_fitted(self, state: dict[str, Any]) -> None:
        """Take the fitted ``state`` read from a model file (checked against the format):
        the parameters are checked as ``fit`` checks them, and what is derived is rebuilt.
        Raises ``ValueError`` when they do not fit together."""
        self._validate_params()
        self._set_fitted(**state)

    def _holds_dask_data(self) -> bool:
        """Whether the fitted state holds handles to data on Dask workers."""
        return any(self.__dict__.get(name) is not None for name in self._fitted.on_dask)

    # --- Dask: the one dispatch --------------------------------------------------------

    def _dask_input(self, *values: Any) -> bool:
        """Whether any of a fit's arguments is a Dask collection (then Dask must be
        installed: an ImportError names the extra)."""
        if not any(is_dask_collection(value) for value in values):
            return False
        require_dask()
        return True

    def _answer(self, X: Any, finish: Callable[[Any], Any], specs, **options: Any) -> Any:
        """``finish(self._core(X, **options))``, computed where the data are.

        In memory for in-memory X; block by block on the Dask workers for Dask X (the
        answers are lazy Dask arrays of the shapes and dtypes ``specs`` give, a
        ``_dask.Spec`` or a list of them for tuples); on the workers that hold the training
        data for a model fitted on Dask (``_answer_on_workers``).
        """
        if self._holds_dask_data():
            require_dask()
            return self._answer_on_workers(X, finish, specs, **options)
        if is_dask_collection(X):
            require_dask()
            check_dask_features(self, X, reset=False)
            from ._dask.arrays import map_rows

            answer = partial(self._blockwise_copy()._answer_here, finish=finish, **options)
            return map_rows(answer, X, specs, name=type(self).__name__)
        return self._answer_here(X, finish, **options)

    def _answer_here(self, X: Any, finish: Callable[[Any], Any], **options: Any) -> Any:
        return finish(self._core(X, **options))

    def _core(self, X: Any, **options: Any) -> Any:
        """The estimator's own computation on (validated) X, which ``finish`` reads."""
        raise NotImplementedError

    def _answer_on_workers(self, X: Any, finish: Callable[[Any], Any], specs,
                           **options: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} keeps no data on Dask workers.")

    def _blockwise_copy(self) -> ScratchEstimator:
        """What goes to the Dask workers to answer blocks of queries: a copy without
        feature names (the blocks are plain arrays, checked against the names here)."""
        model = copy.copy(self)
        model.__dict__.pop("feature_names_in_", None)
        return model


def check_dask_features(estimator: BaseEstimator, X: Any, *, reset: bool) -> None:
    """Set (``reset=True``, in ``fit``) or check ``feature_names_in_`` and ``n_features_in_``
    from a Dask X by scikit-learn's own rules (``validate_data``), as for a pandas frame.

    A Dask DataFrame's column names are its feature names when they are all strings (an
    empty pandas frame with the same columns stands in for it, so nothing is computed);
    other names, or a Dask array, record none. At predict, other names than at fit raise
    scikit-learn's ``ValueError``.
    """
    validate_data(estimator, feature_stand_in(X), reset=reset, skip_check_array=True)
