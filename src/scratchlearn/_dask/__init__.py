"""Dask at the boundary: estimators hand Dask collections to this package, which maps the
same in-memory kernels over blocks. Dask is an optional extra (``scratchlearn[dask]``) and
is imported only here, only when a Dask collection arrives."""

from __future__ import annotations

from typing import Any

from sklearn.utils.validation import validate_data

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


def check_feature_names(estimator: Any, X: Any, *, reset: bool) -> None:
    """Set (``reset=True``, in ``fit``) or check ``feature_names_in_`` and ``n_features_in_``
    from a Dask X by scikit-learn's own rules (``validate_data``), as for a pandas frame.

    A Dask DataFrame's column names are its feature names when they are all strings (an
    empty pandas frame with the same columns stands in for it, so nothing is computed);
    other names, or a Dask array, record none. At predict, other names than at fit raise
    scikit-learn's ``ValueError``.
    """
    if is_dask_collection(X) and hasattr(X, "columns"):
        import pandas as pd  # a Dask DataFrame needs pandas

        X = pd.DataFrame(columns=X.columns)
    validate_data(estimator, X, reset=reset, skip_check_array=True)


def chunk_shape_error(
    name: str, index: int, start: int, declared: tuple, held: tuple
) -> ValueError:
    """The error for a chunk whose array is not of the shape its Dask collection declared."""
    return ValueError(
        f"{name}'s chunk {index} (from row {start}) was declared with shape {declared} but "
        f"holds an array of shape {held}. Dask trusts declared shapes (da.from_delayed, "
        f"map_blocks with chunks=...), so rows and labels would not line up. Declare the "
        f"true shapes, or let Dask measure them: {name} = {name}.persist(), then "
        f"{name}.compute_chunk_sizes()."
    )


def lost_data_error(what: str, advice: str) -> RuntimeError:
    """The error for persisted data that the Dask workers no longer hold (Dask's
    ``FutureCancelledError``: the cluster was restarted, or the workers holding it died)."""
    return RuntimeError(
        f"{what} was lost with the Dask workers that held it (the cluster was restarted, or "
        f"its workers died). {advice}"
    )
