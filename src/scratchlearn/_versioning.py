"""Pickles that record the scratchlearn version, and warn when it differs on unpickling.

scikit-learn's ``BaseEstimator.__getstate__`` / ``__setstate__`` do this for classes in
``sklearn.*`` modules only; :class:`VersionedPickleMixin` does it for scratchlearn's
estimators, on top of (``super()``) scikit-learn's methods.
"""

from __future__ import annotations

import warnings
from typing import Any

from .exceptions import InconsistentVersionWarning

#: The key under which a pickled estimator's state holds the scratchlearn version.
VERSION_KEY = "_scratchlearn_version"

#: What an estimator pickled before versions were recorded counts as.
UNKNOWN_VERSION = "unknown (pickled before scratchlearn recorded its version)"


def current_version() -> str:
    """``scratchlearn.__version__``, read when called (so tests can change it)."""
    import scratchlearn

    return scratchlearn.__version__


class VersionedPickleMixin:
    """Record the scratchlearn version in pickles; warn when unpickling another version.

    Put it before ``BaseEstimator`` among the bases. A model fitted on Dask arrays holds
    handles to data persisted on the workers, which mean nothing outside the running
    cluster; its pickle (and so ``copy.deepcopy``) holds the training data gathered from
    the workers instead, so it unpickles as the equivalent in-memory model, anywhere.
    """

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()  # may be the live __dict__: never change it in place
        state = dict(self.__dict__ if state is None else state)
        if state.get("_dask_training") is not None:
            from ._persistence import gather_dask_state

            state = gather_dask_state(self, state)
        state[VERSION_KEY] = current_version()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        pickled_version = state.pop(VERSION_KEY, UNKNOWN_VERSION)
        version = current_version()
        if pickled_version != version:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_scratchlearn_version=version,
                    original_scratchlearn_version=pickled_version,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)
