"""Pickles that record the scratchlearn version, and warn when it differs on unpickling.

scikit-learn's ``BaseEstimator.__getstate__`` / ``__setstate__`` do this for classes in
``sklearn.*`` modules only; :class:`VersionedPickleMixin` does it for scratchlearn's
estimators, on top of (``super()``) scikit-learn's methods.
"""

from __future__ import annotations

import warnings
from typing import Any

from . import _version
from .exceptions import InconsistentVersionWarning

#: The key under which a pickled estimator's state holds the scratchlearn version.
VERSION_KEY = "_scratchlearn_version"

#: What an estimator pickled before versions were recorded counts as.
UNKNOWN_VERSION = "unknown (pickled before scratchlearn recorded its version)"


def current_version() -> str:
    """``scratchlearn.__version__`` (``scratchlearn._version``), read when called (so tests
    can change it)."""
    return _version.__version__


class VersionedPickleMixin:
    """Record the scratchlearn version in pickles; warn when unpickling another version.

    Put it before ``BaseEstimator`` among the bases. The state pickled is
    ``_portable_state(state)``, a hook that returns the state unchanged here: an estimator
    whose fitted state can hold handles that mean nothing outside the running process (a
    model fitted on Dask arrays, whose data stay on the workers) overrides it to return the
    equivalent plain state, so that the pickle (and ``copy.deepcopy``) unpickles anywhere.
    """

    def _portable_state(self, state: dict[str, Any]) -> dict[str, Any]:
        """The state to pickle in place of ``state`` (a copy of ``__dict__``); never
        changes the estimator itself."""
        return state

    def __getstate__(self) -> dict[str, Any]:
        # BaseEstimator's state: never None, but maybe the live __dict__, so copied.
        state = self._portable_state(dict(super().__getstate__()))
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
                # The caller's line. Under mutmut its wrapper adds a frame, so that there 3
                # points at it too: no test can tell them apart.
                stacklevel=2,  # pragma: no mutate (see above)
            )
        super().__setstate__(state)
