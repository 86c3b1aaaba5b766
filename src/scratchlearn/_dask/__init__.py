"""Dask at the boundary: the estimators hand Dask collections to this package, which maps
the same in-memory kernels (``_math``, ``_search``) over blocks and returns values; it
never imports an estimator nor sets an estimator's attributes.

Dask is an optional extra (``scratchlearn[dask]``): this module imports none of it, and
its submodules (``rows``, ``softmax``, ``least_squares``, ``knn_training``,
``knn_queries``, ``arrays``) are imported only when a Dask collection arrives.
"""

from __future__ import annotations

from typing import Any, NamedTuple

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


def feature_stand_in(X: Any) -> Any:
    """What scikit-learn's ``validate_data`` reads the feature names and count from, for a
    Dask X: an empty pandas frame with a Dask DataFrame's columns (nothing is computed),
    else X itself (a Dask array has a shape and no names)."""
    if is_dask_collection(X) and hasattr(X, "columns"):
        import pandas as pd  # a Dask DataFrame needs pandas

        return pd.DataFrame(columns=X.columns)
    return X


class Spec(NamedTuple):
    """The shape of one answer per query after the first axis, and its dtype."""

    tail: tuple[int, ...]
    dtype: Any


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


def check_reachable(value: Any, name: str) -> None:
    """Refuse a Dask collection whose persisted chunks this process cannot reach.

    A persisted collection holds handles (``distributed`` futures) to chunks kept by the
    cluster of the client that persisted it. Sent to another process that has no client,
    such as a joblib worker of ``GridSearchCV(n_jobs=2)``, the handles arrive bound to
    nothing and Dask fails deep inside with ``Missing dependency``. Collections that hold
    no such handles compute anywhere and pass, and so do handles in a task on the cluster's
    own workers (joblib's Dask backend), which reach them through the worker's client.
    """
    if not is_dask_collection(value):
        return
    from distributed import futures_of, get_client

    if all(future.client is not None for future in futures_of(value)):
        return
    try:  # a task on a Dask worker (joblib's Dask backend) reaches them through its worker
        get_client()
    except ValueError:
        raise ValueError(
            f"{name} is a Dask collection whose persisted chunks are held by a Dask cluster "
            f"that this process has no client for: {name} was sent to another process (as "
            f"GridSearchCV or cross_val_score with n_jobs > 1 send every fold to a joblib "
            f"worker process), where its data cannot be reached. Run the search in the process "
            f"that holds the client, with n_jobs=None (each fit still runs on the cluster), or "
            f"on the cluster's workers: with joblib.parallel_backend('dask'): search.fit(X, y); "
            f"or compute {name} into memory first ({name}.compute())."
        ) from None


def lost_data_error(what: str, advice: str) -> RuntimeError:
    """The error for persisted data that the Dask workers no longer hold (Dask's
    ``FutureCancelledError``: the cluster was restarted, or the workers holding it died)."""
    return RuntimeError(
        f"{what} was lost with the Dask workers that held it (the cluster was restarted, or "
        f"its workers died). {advice}"
    )
