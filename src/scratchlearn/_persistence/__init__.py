"""Model files that are safe to open: ``save(estimator, path)`` and ``load(path)``.

**Format** (``FORMAT_NAME``, version ``FORMAT_VERSION``). A model file is a NumPy ``.npz``
archive: an uncompressed zip of ``.npy`` members, written by this module and read with
``numpy.load(..., allow_pickle=False)``.

- ``header.npy``: a 0-d unicode array holding one JSON object::

      {"format": "scratchlearn-model", "format_version": 1,
       "scratchlearn_version": "…", "estimator": "scratchlearn.KNeighborsClassifier",
       "params": {…get_params()…}, "attributes": {name: descriptor, …}}

- one member per fitted array, named after its attribute (``coef_.npy``;
  ``_fit_X.data.npy``, ``_fit_X.indices.npy``, ``_fit_X.indptr.npy`` for a CSR matrix).

Each attribute's descriptor says how it is stored: ``{"kind": "json", "value": …}`` for
None, booleans, ints, floats and strings; ``{"kind": "array", "member": …}`` for arrays of
booleans, integers, floats or unicode strings; ``"str_object_array"`` for an object array
of strings (``classes_`` of a pandas column, ``feature_names_in_``), stored as unicode and
turned back into an object array; ``"numpy_scalar"`` for a NumPy scalar (a 0-d member);
``"csr_matrix"`` / ``"csr_array"`` for a SciPy CSR matrix (three members and its shape).
No member ever has object dtype.

The attributes stored are those the estimator declares (``_fitted.stored``, see
``scratchlearn._estimator``). Those it declares derived (the KD-tree and squared norms of
the kNN estimators) are not stored: ``load`` has the estimator rebuild them by its own fit
code (``_restore_fitted``) from the stored training set, deterministically, so the loaded
model answers exactly as the saved one.

The package: ``archive`` (the file, written atomically, read with its bounds checked),
``codec`` (attributes to members and back), ``schema`` (what each estimator's fitted
state must look like) and ``format`` (names, version, dtypes, the error).

**Where ``save`` writes.** To a temporary file beside the file it replaces, flushed and
fsync'ed, then renamed onto it (``os.replace``) and the folder fsync'ed. A symbolic link is
followed (its target is replaced, or created if the link dangles; the link stays a link). A
path that exists and is not a regular file (a folder, a device, a FIFO, a socket) is refused
and left as it was; the check (``os.stat``) and the rename are two steps, not one.

**What ``load`` checks.**

- *The path.* Only a regular file (or a link to one) is read: anything else is refused before
  it is opened, the open cannot block (``O_NONBLOCK``), and the descriptor is checked again.
- *The class* is looked up by name in an explicit registry of scratchlearn's public
  estimators (never imported by a name read from the file). Nothing from the file is
  executed: the only parsers are ``numpy.load`` and ``numpy.lib.format`` with
  ``allow_pickle=False``, and ``json.loads``.
- *Memory.* Each member's ``.npy`` header (dtype and shape) is checked against its zip
  entry's size before the member is read, and dtypes of zero bytes per element (``<U0``)
  are refused, so no member holds more elements than bytes. Every allocation is then a
  constant factor of the file's size at most: the JSON header (at most 2**20 characters),
  object arrays of strings made from unicode members (at most about 21 bytes per byte: a
  one-character string outside Latin-1 is a 76-byte object, for 4 bytes of the file), the
  CSR matrix and its checks, and the kNN norms and KD-tree rebuilt from ``_fit_X`` (about
  12 bytes per byte for float32 data of one feature, the most). Numbers in the header that
  size something are checked against the members first (a CSR shape against its
  ``indptr``, ``n_samples_fit_`` against ``_fit_X``, ``n_neighbors`` against the training
  set); ``n_jobs``, ``max_iter`` and ``batch_size`` size only later work, which ``load``
  does not do.
- *The attributes* (``schema.check_state``, which ``save`` runs too): each one fit sets, no
  other, with its dtype and shape, and the relations fit guarantees between them:
  ``coef_`` against ``classes_`` and ``n_features_in_``; class codes ``_y`` within range,
  and every class of ``classes_`` among them; ``class_count_`` the count of each class in
  ``_y``; ``class_prior_`` equal to ``class_count_ / n_samples_fit_`` bit for bit;
  ``loss_curve_`` of ``n_iter_ + 1`` entries; Huber's ``n_iter_ >= 1``. Relations to
  parameters (``n_iter_ <= max_iter``) are not checked, since ``set_params`` may change a
  parameter after fit; the parameters are checked by the estimator's own code, as ``fit``
  checks them.
- *The values.* ``coef_``, ``intercept_``, ``_fit_X`` (dense, or a CSR matrix's values)
  and float labels hold no NaN or infinity: a model with them answers NaN, or one class,
  silently (a fit never leaves them: a diverged one keeps its last weights that are finite
  in X's dtype; ``save`` refuses them, saying to refit). Huber's
  ``weights_`` lie in [0, 1], as min(1, ε/|r|) does. ``loss_curve_`` is finite except its
  last entry, which a diverged fit leaves +inf or NaN: ``optim`` stops at the first
  non-finite J and keeps the last finite weights, so such a model saves and loads.

Anything unknown, missing, inconsistent, truncated or corrupted is a ``ValueError`` that
says what is wrong.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from .._versioning import current_version
from ..linear_model import HuberClassifier, LeastSquaresClassifier, SoftmaxRegression
from ..neighbors import KNeighborsClassifier, KNeighborsDensity, NearestNeighbors
from . import archive, codec
from .format import FORMAT_NAME, FORMAT_VERSION, ModelFileError, is_int
from .schema import check_state

__all__ = ["ESTIMATORS", "FORMAT_NAME", "FORMAT_VERSION", "ModelFileError", "load", "save"]

#: Exactly the classes a model file may name, by the name it stores.
ESTIMATORS: dict[str, type[BaseEstimator]] = {
    f"scratchlearn.{cls.__name__}": cls
    for cls in (
        HuberClassifier,
        KNeighborsClassifier,
        KNeighborsDensity,
        LeastSquaresClassifier,
        NearestNeighbors,
        SoftmaxRegression,
    )
}
_NAMES = {cls: name for name, cls in ESTIMATORS.items()}


# --- save ----------------------------------------------------------------------------


def save(estimator: BaseEstimator, path: str | os.PathLike[str]) -> Path:
    """Write a fitted or unfitted scratchlearn estimator to a model file.

    The file holds the estimator's class name, its ``get_params()`` and its fitted
    attributes, as JSON and NumPy arrays (no pickle); :func:`load` reads it back without
    running any code from the file. It is written to a temporary file beside ``path``,
    flushed to disk and renamed onto it, so ``path`` always holds either its previous
    content or the complete new model. A symbolic link is followed, and stays a link. A kNN
    model fitted on Dask arrays is gathered from the workers into the file (the cluster
    must still be running) and loads as the equivalent in-memory model.

    Parameters
    ----------
    estimator : estimator
        An instance of one of scratchlearn's public estimators (not a subclass).
    path : str or path-like
        The file to write (``.npz`` is the documented extension; none is added); its
        folder must exist. An existing regular file is replaced.

    Returns
    -------
    path : pathlib.Path
        ``path``, as a ``Path``.

    Raises
    ------
    ValueError
        For another class; for a parameter whose value is not JSON data (a ``callback``
        function, a ``RandomState`` instance; the message names it); for fitted state that
        fit cannot have produced (NaN or infinite ``coef_``, say); for a ``path`` that
        exists and is not a regular file (a folder, a device, a FIFO), which is left as
        it was.
    OSError
        If the file cannot be written (a missing folder, no permission).

    See Also
    --------
    load : Read the file back.
    pickle : Python's format, which runs code when read; fine for your own files.

    Notes
    -----
    The format, where ``save`` writes and what :func:`load` refuses are in
    :doc:`/model_files`.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import scratchlearn
    >>> from scratchlearn.datasets import load_moons_split
    >>> X_train, X_test, y_train, y_test = load_moons_split()
    >>> model = scratchlearn.KNeighborsClassifier().fit(X_train, y_train)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = scratchlearn.save(model, Path(folder) / "knn.npz")
    ...     same = scratchlearn.load(path)
    >>> bool((same.predict(X_test) == model.predict(X_test)).all())
    True
    """
    path = Path(path)
    cls = type(estimator)
    if cls not in _NAMES:
        raise ModelFileError(
            f"scratchlearn.save stores scratchlearn's own estimators ({_class_list()}), "
            f"got {cls.__module__}.{cls.__qualname__}."
        )
    where = f"cannot save {cls.__name__}"
    params = {
        name: codec.json_param(value, name, where) for name, value in estimator.get_params().items()
    }
    state = fitted_state(estimator)
    attributes, members = codec.encode(state, where)
    if state:
        check_state(cls, state, where)
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "scratchlearn_version": current_version(),
        "estimator": _NAMES[cls],
        "params": params,
        "attributes": attributes,
    }
    text = json.dumps(header, sort_keys=True, allow_nan=True)
    # Sorted members and fixed zip timestamps: the same model always gives the same bytes.
    archive.write(path, {archive.HEADER: np.array(text), **dict(sorted(members.items()))})
    return path


def fitted_state(estimator: BaseEstimator) -> dict[str, Any]:
    """The attributes that fit set (everything but the parameters), as a model file
    stores them: training data gathered from Dask workers (the estimator's
    ``_portable_state``), the attributes it declares derived left out."""
    params = estimator.get_params(deep=False)
    state = {name: value for name, value in vars(estimator).items() if name not in params}
    state = estimator._portable_state(state)
    for name in (*estimator._fitted.derived, *estimator._fitted.on_dask):
        state.pop(name, None)
    return state


# --- load ----------------------------------------------------------------------------


def load(path: str | os.PathLike[str]) -> BaseEstimator:
    """Read an estimator written by :func:`save`.

    Only NumPy arrays and JSON are read (``numpy.load(..., allow_pickle=False)``,
    ``json.loads``), so no code from the file runs; the class comes from a fixed list of
    scratchlearn's estimators, and every attribute is checked against what that
    estimator's fit produces. Derived objects (the kNN KD-tree) are rebuilt from the
    stored arrays, so the loaded model answers exactly as the saved one.

    Parameters
    ----------
    path : str or path-like
        The model file; only a regular file (or a link to one) is read.

    Returns
    -------
    estimator : estimator
        Fitted if it was fitted when saved; a model saved from Dask arrays loads as the
        equivalent in-memory model.

    Raises
    ------
    ValueError
        If the file is not a scratchlearn model file (a pickle, a .npy, another zip or
        .npz), names a class that is not one of scratchlearn's estimators, was written by
        a newer format version, is truncated or corrupted, or holds attributes of the wrong
        dtype, shape or value (object arrays included). The message says which.
        A path that is not a regular file (a folder, a device, a FIFO, a socket) is
        refused the same way, without blocking and without reading from it.
    OSError
        If the file cannot be opened (``FileNotFoundError``, ``PermissionError``, ...).

    See Also
    --------
    save : Write the file.

    Notes
    -----
    The format and the checks are in :doc:`/model_files`.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import scratchlearn
    >>> model = scratchlearn.SoftmaxRegression(alpha=0.1).fit([[0.0], [1.0]], ["no", "yes"])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     same = scratchlearn.load(scratchlearn.save(model, Path(folder) / "model.npz"))
    >>> same.alpha, same.classes_.tolist(), bool((same.coef_ == model.coef_).all())
    (0.1, ['no', 'yes'], True)
    """
    path = Path(path)
    where = f"scratchlearn.load: {str(path)!r}"
    text, arrays = archive.read(path, where)
    header = _parse_header(text, where)
    cls = ESTIMATORS[header["estimator"]]
    state = codec.decode(header["attributes"], arrays, where)
    estimator = _construct(cls, header["params"], where)
    if state:
        check_state(cls, state, where)
        _restore(estimator, state, where)
    return estimator


def _parse_header(text: str, where: str) -> dict[str, Any]:
    """The JSON header, with its format, version, class and sections checked."""
    try:
        header = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ModelFileError(f"{where}: its header is not valid JSON ({error}).") from error
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"{where} is an .npz archive but not a scratchlearn model file (its header does "
            f"not name the format {FORMAT_NAME!r})."
        )
    version = header.get("format_version")
    written_by = header.get("scratchlearn_version")
    if not is_int(version) or version < 1:
        raise ModelFileError(f"{where}: invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{where} was written in model file format version {version} (by scratchlearn "
            f"{written_by}); this scratchlearn ({current_version()}) reads versions up to "
            f"{FORMAT_VERSION}. Upgrade scratchlearn to load it."
        )
    name = header.get("estimator")
    if not isinstance(name, str) or name not in ESTIMATORS:
        raise ModelFileError(
            f"{where} names the class {name!r}, which is not one of scratchlearn's "
            f"estimators ({_class_list()}); load builds only those."
        )
    for section in ("params", "attributes"):
        if not isinstance(header.get(section), dict):
            raise ModelFileError(f"{where}: the header's {section!r} is not an object.")
    return header


def _construct(cls: type[BaseEstimator], params: dict[str, Any], where: str) -> BaseEstimator:
    known = set(cls._get_param_names())
    unknown = sorted(set(params) - known)
    if unknown:
        raise ModelFileError(
            f"{where}: {cls.__name__} has no parameters {unknown} (the file was written by "
            "another scratchlearn version, or edited)."
        )
    return cls(**{name: codec.param_from_json(value, name, where)
                  for name, value in params.items()})  # fmt: skip


def _restore(estimator: BaseEstimator, state: dict[str, Any], where: str) -> None:
    """Set the checked attributes on the estimator built from the stored parameters: the
    estimator checks the parameters as ``fit`` would and rebuilds what it derives
    (``_restore_fitted``)."""
    try:
        estimator._restore_fitted(state)
    except ValueError as error:  # the estimator's own checks of the stored state
        name = type(estimator).__name__
        raise ModelFileError(f"{where}: the stored {name} is invalid: {error}") from error


def _class_list() -> str:
    return ", ".join(cls.__name__ for cls in ESTIMATORS.values())
