"""Dask at the boundary: estimators hand Dask collections to this package, which maps the
same in-memory kernels over blocks. Dask is an optional extra (``scratchlearn[dask]``) and
is imported only here, only when a Dask collection arrives."""

from __future__ import annotations

from typing import Any

INSTALL_HINT = (
    "Dask input needs the optional extra: pip install 'scratchlearn[dask]' "
    "(dask[array] and distributed)."
)


def is_dask_collection(X: Any) -> bool:
    """Whether X is a Dask collection, decided without importing Dask."""
    return hasattr(X, "__dask_graph__") and callable(X.__dask_graph__)


def require_dask() -> None:
    """Import Dask's array module, or raise an ImportError that names the extra."""
    try:
        import dask.array  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error
