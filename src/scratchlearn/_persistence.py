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

Objects derived from the stored arrays (the KD-tree and squared norms of the kNN
estimators) are not stored: ``load`` rebuilds them by the estimator's own fit code
(``NeighborsBase._fit_neighbors``) from the stored training set, deterministically, so the
loaded model answers exactly as the saved one.

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
- *The attributes* (``_check_state``, which ``save`` runs too): each one fit sets, no
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
  silently. (A diverged float32 ``SoftmaxRegression`` can leave infinite weights once its
  float64 weights are cast to float32; ``save`` refuses it, saying to refit.) Huber's
  ``weights_`` lie in [0, 1], as min(1, ε/|r|) does. ``loss_curve_`` is finite except its
  last entry, which a diverged fit leaves +inf or NaN: ``optim`` stops at the first
  non-finite J and keeps the last finite weights, so such a model saves and loads.

Anything unknown, missing, inconsistent, truncated or corrupted is a ``ValueError`` that
says what is wrong.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import stat
import tokenize
import uuid
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from ._search import METRICS
from ._versioning import current_version
from .linear_model import HuberClassifier, LeastSquaresClassifier, SoftmaxRegression
from .neighbors import KNeighborsClassifier, KNeighborsDensity
from .neighbors._base import NeighborsBase

__all__ = ["ESTIMATORS", "FORMAT_NAME", "FORMAT_VERSION", "load", "save"]

FORMAT_NAME = "scratchlearn-model"
#: Raised whenever a change means an older scratchlearn could misread a new file.
FORMAT_VERSION = 1

#: Exactly the classes a model file may name, by the name it stores.
ESTIMATORS: dict[str, type[BaseEstimator]] = {
    f"scratchlearn.{cls.__name__}": cls
    for cls in (
        HuberClassifier,
        KNeighborsClassifier,
        KNeighborsDensity,
        LeastSquaresClassifier,
        SoftmaxRegression,
    )
}
_NAMES = {cls: name for name, cls in ESTIMATORS.items()}

_HEADER = "header"
_MAX_HEADER_CHARS = 2**20
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_CSR_PARTS = ("data", "indices", "indptr")

_FLOAT = (np.dtype(np.float32), np.dtype(np.float64))
_FLOAT64 = (np.dtype(np.float64),)
_INT = tuple(np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64))
_INDEX = (np.dtype(np.int32), np.dtype(np.int64))

# What reading a damaged archive raises, each found by fuzzing (tests/test_persistence.py),
# wrapped into one ValueError that says the file is corrupted or truncated:
#   ValueError           numpy's checks of .npy headers and sizes (UnicodeDecodeError too);
#   zipfile.BadZipFile   bad signatures, CRC-32 mismatch, truncated headers;
#   EOFError             a member's data ends early (ZipExtFile);
#   OSError              a seek to an offset before the start of the file, from a damaged
#                        central directory (the file itself was opened before this point,
#                        so this is not a missing file or a permission problem);
#   NotImplementedError  zip features flagged in a damaged member (patched data, strong
#                        encryption); compression and plain encryption are refused first;
#   tokenize.TokenError  numpy's fallback parser for a damaged .npy header dict;
#   SyntaxError          numpy.dtype() of a damaged comma-separated "descr" in a .npy header
#                        (numpy parses its repeat counts with ast.literal_eval, not eval).
_DAMAGED = (
    ValueError,
    zipfile.BadZipFile,
    EOFError,
    OSError,
    NotImplementedError,
    tokenize.TokenError,
    SyntaxError,
)


class ModelFileError(ValueError):
    """A file that ``load`` refuses, or an estimator or a path that ``save`` refuses."""


# --- save ----------------------------------------------------------------------------


def save(estimator: BaseEstimator, path: str | os.PathLike[str]) -> Path:
    """Write a fitted or unfitted scratchlearn estimator to a model file.

    The file (``.npz`` is the documented extension; none is added) holds the estimator's
    class name, its ``get_params()`` and its fitted attributes, as JSON and NumPy arrays;
    see ``scratchlearn._persistence`` for the format. :func:`load` reads it back without
    running any code from the file.

    The file is written to a temporary file in the same folder, flushed to disk, and
    renamed onto ``path`` (``os.replace``), so ``path`` always holds either its previous
    content or the complete new model, even when the process is killed while saving.

    A symbolic link is followed, as ``open`` follows it: the file it points to is replaced
    (the temporary file is made beside that file) and the link stays a link; a dangling
    link's target is created. A path that exists and is not a regular file (a folder, a
    device such as ``/dev/null``, a FIFO, a socket) is refused and left as it was. That
    check and the rename are two steps: a path turned into a folder or a device between
    them is not noticed (the rename then fails, or replaces it).

    A kNN model fitted on Dask arrays is its training data, which lives on the Dask
    workers: ``save`` gathers it from them into the file (it must fit in this process's
    memory, once), and the file loads as the equivalent in-memory model, whose answers
    equal the Dask-fitted model's. The cluster must still be running.

    Parameters
    ----------
    estimator : estimator
        An instance of one of scratchlearn's public estimators (not a subclass).
    path : str or path-like
        The file to write; its folder must exist. An existing regular file is replaced.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        For another class, for a parameter whose value is not JSON data (a
        ``callback`` function, a ``RandomState`` instance; the message names it), for
        fitted state the format does not describe or that fit cannot have produced, or for
        a ``path`` that is not a regular file.
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
        name: _json_param(value, name, where) for name, value in estimator.get_params().items()
    }
    state = fitted_state(estimator)
    attributes, members = _encode(state, where)
    if state:
        _check_state(cls, state, where)
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
    _write_atomically(path, {_HEADER: np.array(text), **dict(sorted(members.items()))})
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


def _json_param(value: Any, name: str, where: str) -> Any:
    """``value`` as JSON data (NumPy scalars become Python's), or a ValueError naming it."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return float(value)
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if isinstance(value, list):
        return [_json_param(item, name, where) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _json_param(item, name, where) for key, item in value.items()}
    raise ModelFileError(
        f"{where}: its parameter {name}={value!r} is not JSON data (None, a bool, number or "
        "string, or a list or dict of them), which is all a model file stores. Set it to "
        f"such a value, e.g. estimator.set_params({name}=None), before saving (a fitted "
        "model's predictions do not depend on it)."
    )


def _encode(state: dict[str, Any], where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Attribute descriptors for the header, and the arrays to store as members."""
    attributes: dict[str, Any] = {}
    members: dict[str, np.ndarray] = {}
    for name, value in state.items():
        if value is None or (
            isinstance(value, bool | str | int | float) and not isinstance(value, np.generic)
        ):
            attributes[name] = {"kind": "json", "value": value}
        elif isinstance(value, np.generic):
            members[name] = _storable(np.asarray(value), name, where)
            attributes[name] = {"kind": "numpy_scalar", "member": name}
        elif isinstance(value, np.ndarray):
            if value.dtype == object:
                members[name] = _str_object_array(value, name, where)
                attributes[name] = {"kind": "str_object_array", "member": name}
            else:
                members[name] = _storable(value, name, where)
                attributes[name] = {"kind": "array", "member": name}
        elif sp.issparse(value) and value.format == "csr":
            kind = "csr_matrix" if isinstance(value, sp.spmatrix) else "csr_array"
            parts = {part: f"{name}.{part}" for part in _CSR_PARTS}
            for part, member in parts.items():
                members[member] = _storable(getattr(value, part), name, where)
            attributes[name] = {"kind": kind, "members": parts, "shape": list(value.shape)}
        else:
            raise ModelFileError(
                f"{where}: its attribute {name} is a {type(value).__name__}, which the model "
                "file format does not store."
            )
    return attributes, members


def _storable(array: np.ndarray, name: str, where: str) -> np.ndarray:
    if not _plain_dtype(array.dtype):
        raise ModelFileError(
            f"{where}: its attribute {name} has dtype {array.dtype}; a model file stores "
            "booleans, integers, floats and unicode strings in native byte order."
        )
    return array


def _str_object_array(array: np.ndarray, name: str, where: str) -> np.ndarray:
    """An object array of strings as a unicode array (turned back into objects on load)."""
    bad = next((item for item in array.flat if not isinstance(item, str)), None)
    if bad is not None:
        raise ModelFileError(
            f"{where}: its attribute {name} is an object array holding a "
            f"{type(bad).__name__} ({bad!r}); a model file stores object arrays only when "
            "they hold strings. Fit on labels of one NumPy dtype (e.g. np.asarray(y, "
            "dtype=int) or dtype=str)."
        )
    return np.array(array.tolist(), dtype=str) if array.size else np.zeros(array.shape, "U1")


def _plain_dtype(dtype: np.dtype) -> bool:
    return (
        dtype.kind in "biufU"
        and dtype.fields is None
        and dtype.subdtype is None
        and (dtype.isnative or dtype.byteorder == "|")
    )


def _write_atomically(path: Path, members: dict[str, np.ndarray]) -> None:
    """Write the .npz to a temporary file beside the file ``path`` names (``path``, or the
    target of a link), fsync it, rename it onto that file, and fsync its folder."""
    path = _file_to_replace(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temporary, flags, 0o666)  # the umask applies, as for open()
    try:
        with os.fdopen(descriptor, "wb") as file:
            with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
                for name, array in members.items():
                    info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
                    info.external_attr = 0o644 << 16
                    with archive.open(info, "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _file_to_replace(path: Path) -> Path:
    """The regular file that saving to ``path`` replaces or creates: ``path`` itself, or the
    file a symbolic link there points to (a dangling link's target is created, as ``open``
    creates it). Anything else that exists is refused before anything is written."""
    target = Path(os.path.realpath(path))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target
    if not stat.S_ISREG(mode):
        through = f" (a link to {str(target)!r})" if os.path.islink(path) else ""
        raise ModelFileError(
            f"scratchlearn.save: {str(path)!r}{through} is {_file_kind(mode)}, not a regular "
            "file; save writes a new file or replaces a regular one, so it has left this one "
            "as it was. Choose a file name."
        )
    return target


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems do not sync folders; the file itself is synced
    finally:
        os.close(descriptor)


# --- load ----------------------------------------------------------------------------


def load(path: str | os.PathLike[str]) -> BaseEstimator:
    """Read an estimator written by :func:`save`.

    Only NumPy arrays and JSON are read (``numpy.load(..., allow_pickle=False)``,
    ``json.loads``); the class comes from a fixed list of scratchlearn's estimators, and
    every attribute is checked against what that estimator's fit produces. Derived objects
    (the kNN KD-tree) are rebuilt from the stored arrays.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    estimator
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
    """
    path = Path(path)
    where = f"scratchlearn.load: {str(path)!r}"
    with _open_regular_file(path, where) as file:
        _check_signature(file, where)
        size = os.fstat(file.fileno()).st_size
        try:
            with np.load(file, allow_pickle=False) as npz:
                text, arrays = _read_archive(npz, size, where)
        except ModelFileError:
            raise
        except _DAMAGED as error:
            raise ModelFileError(
                f"{where} is corrupted or truncated: {type(error).__name__}: {error}"
            ) from error
    header = _parse_header(text, where)
    cls = ESTIMATORS[header["estimator"]]
    state = _decode(header["attributes"], arrays, where)
    estimator = _construct(cls, header["params"], where)
    if state:
        _check_state(cls, state, where)
        _restore(estimator, state, where)
    return estimator


def _open_regular_file(path: Path, where: str) -> BinaryIO:
    """``path`` opened for reading if it is a regular file (a link to one included).

    Anything else (a folder, a device, a FIFO, a socket) is refused before it is opened.
    The open itself does not block (``O_NONBLOCK``: a FIFO put there since the check is
    opened at once, not when a writer comes), and what was opened is checked again.
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise ModelFileError(f"{where} is {_file_kind(mode)}, not a model file (a regular file).")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise ModelFileError(
                f"{where} is {_file_kind(mode)}, not a model file (a regular file)."
            )
        return os.fdopen(descriptor, "rb")  # O_NONBLOCK does not change regular files
    except BaseException:
        os.close(descriptor)
        raise


def _check_signature(file, where: str) -> None:
    """Refuse anything that is not a zip archive before parsing it, naming what it is."""
    start = file.read(8)
    file.seek(0)
    if start.startswith(b"PK\x03\x04"):
        return
    if not start:
        raise ModelFileError(f"{where} is empty, not a scratchlearn model file.")
    if start.startswith(b"\x80") and len(start) > 1 and 2 <= start[1] <= 5:
        raise ModelFileError(
            f"{where} is a pickle, not a scratchlearn model file. scratchlearn.load never "
            "unpickles, since unpickling runs code the file chooses; open a pickle with "
            "pickle.load only if you trust where it came from, and save it again with "
            "scratchlearn.save."
        )
    if start.startswith(b"\x93NUMPY"):
        raise ModelFileError(f"{where} is a NumPy .npy array, not a scratchlearn model file.")
    if start.startswith(b"PK\x05\x06"):
        raise ModelFileError(f"{where} is an empty zip archive, not a scratchlearn model file.")
    raise ModelFileError(
        f"{where} is not a scratchlearn model file: it is not a zip/.npz archive (it starts "
        f"with {start!r}). Pickles and joblib files are refused: loading them runs code."
    )


def _read_archive(npz, size: int, where: str) -> tuple[str, dict[str, np.ndarray]]:
    """The header text and the arrays by member name, each member checked before it is read."""
    infos = npz.zip.infolist()
    names = [info.filename for info in infos]
    if f"{_HEADER}.npy" not in names:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise ModelFileError(
            f"{where} is a zip archive but not a scratchlearn model file: it has no "
            f"{_HEADER}.npy member (members: {shown or 'none'})."
        )
    if len(set(names)) != len(names):
        raise ModelFileError(f"{where} is corrupted: a member name appears twice.")
    if sum(info.compress_size for info in infos) > size:
        raise ModelFileError(f"{where} is truncated: its members add up to more than the file.")
    arrays = {}
    for info in infos:
        if not info.filename.endswith(".npy"):
            raise ModelFileError(f"{where} holds {info.filename!r}, which is not an array.")
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise ModelFileError(
                f"{where}: member {info.filename!r} is compressed or encrypted; "
                "scratchlearn.save writes neither."
            )
        if info.file_size != info.compress_size:
            raise ModelFileError(f"{where} is corrupted: member {info.filename!r} sizes differ.")
        name = info.filename[: -len(".npy")]
        arrays[name] = _read_member(npz, info, name, where)
    header = arrays.pop(_HEADER)
    if header.shape != () or header.dtype.kind != "U":
        raise ModelFileError(f"{where}: {_HEADER}.npy is not a string; not a model file.")
    return str(header[()]), arrays


def _read_member(npz, info: zipfile.ZipInfo, name: str, where: str) -> np.ndarray:
    """One member, after its .npy header's dtype and size are checked against the zip."""
    with npz.zip.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise ModelFileError(f"{where}: member {name!r} has .npy version {version}.")
        offset = member.tell()
    if dtype.hasobject:
        raise ModelFileError(
            f"{where}: member {name!r} is an object array (Python objects, which only "
            "unpickling could read, and unpickling runs code); model files never hold one."
        )
    if not _plain_dtype(dtype):
        raise ModelFileError(f"{where}: member {name!r} has unsupported dtype {dtype}.")
    if dtype.itemsize == 0:
        # Its size would say nothing of its length: a <U0 member of 10⁹ empty strings has
        # no bytes, but turning it into objects (or comparing them) allocates gigabytes.
        raise ModelFileError(
            f"{where}: member {name!r} has dtype {dtype}, of zero bytes per element (save "
            "writes strings as <U1 or longer)."
        )
    if any(size < 0 for size in shape):
        raise ModelFileError(f"{where}: member {name!r} has a negative shape {shape}.")
    if name == _HEADER and dtype.itemsize > 4 * _MAX_HEADER_CHARS:
        raise ModelFileError(f"{where}: the header is larger than {_MAX_HEADER_CHARS} characters.")
    if offset + math.prod(shape) * dtype.itemsize != info.file_size:
        raise ModelFileError(
            f"{where} is corrupted: member {name!r} declares shape {shape} of {dtype}, which "
            f"does not match its {info.file_size} bytes."
        )
    # The member just checked (npz[name] could pick another: "a.npy" for "a.npy.npy").
    with npz.zip.open(info) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


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
    if not _is_int(version) or version < 1:
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


def _decode(
    attributes: dict[str, Any], arrays: dict[str, np.ndarray], where: str
) -> dict[str, Any]:
    """Attribute values from their descriptors and the members; every member used once."""
    state: dict[str, Any] = {}
    used: set[str] = set()

    def member(name: str, key: str) -> np.ndarray:
        if not isinstance(key, str) or key not in arrays or key in used:
            raise ModelFileError(f"{where}: attribute {name} refers to a missing member {key!r}.")
        used.add(key)
        return arrays[key]

    for name, descriptor in attributes.items():
        kind = descriptor.get("kind") if isinstance(descriptor, dict) else None
        if kind == "json":
            value = descriptor.get("value")
            if not (value is None or isinstance(value, bool | int | float | str)):
                raise ModelFileError(f"{where}: attribute {name} holds {type(value).__name__}.")
            state[name] = value
        elif kind == "array":
            state[name] = member(name, descriptor.get("member"))
        elif kind == "numpy_scalar":
            array = member(name, descriptor.get("member"))
            if array.ndim != 0:
                raise ModelFileError(f"{where}: attribute {name} is not a scalar.")
            state[name] = array[()]
        elif kind == "str_object_array":
            array = member(name, descriptor.get("member"))
            if array.dtype.kind != "U":
                raise ModelFileError(f"{where}: attribute {name} does not hold strings.")
            state[name] = array.astype(object)
        elif kind in ("csr_matrix", "csr_array"):
            state[name] = _decode_csr(name, descriptor, member, kind, where)
        else:
            raise ModelFileError(f"{where}: attribute {name} has an unknown kind {kind!r}.")
    unused = sorted(set(arrays) - used)
    if unused:
        raise ModelFileError(f"{where}: members {unused} belong to no attribute.")
    return state


def _decode_csr(name: str, descriptor: dict, member, kind: str, where: str):
    parts, shape = descriptor.get("members"), descriptor.get("shape")
    if (
        not isinstance(parts, dict)
        or set(parts) != set(_CSR_PARTS)
        or not isinstance(shape, list)
        or len(shape) != 2
        or not all(_is_int(n) and n >= 0 for n in shape)
    ):
        raise ModelFileError(f"{where}: attribute {name} is not a valid CSR description.")
    data, indices, indptr = (member(name, parts[part]) for part in _CSR_PARTS)
    if data.dtype not in _FLOAT or indices.dtype not in _INDEX or indptr.dtype != indices.dtype:
        raise ModelFileError(
            f"{where}: attribute {name} (CSR) has dtypes data {data.dtype}, indices "
            f"{indices.dtype}, indptr {indptr.dtype}; expected float32/float64 and int32/int64."
        )
    if data.ndim != 1 or indices.shape != data.shape or indptr.shape != (shape[0] + 1,):
        raise ModelFileError(f"{where}: attribute {name} (CSR) has inconsistent shapes.")
    make = sp.csr_matrix if kind == "csr_matrix" else sp.csr_array
    try:
        matrix = make((data, indices, indptr), shape=tuple(shape))
        matrix.check_format(full_check=True)  # indices in range, pointers non-decreasing
    except ValueError as error:
        raise ModelFileError(
            f"{where}: attribute {name} is not a valid CSR matrix: {error}"
        ) from error
    return matrix


def _construct(cls: type[BaseEstimator], params: dict[str, Any], where: str) -> BaseEstimator:
    known = set(cls._get_param_names())
    unknown = sorted(set(params) - known)
    if unknown:
        raise ModelFileError(
            f"{where}: {cls.__name__} has no parameters {unknown} (the file was written by "
            "another scratchlearn version, or edited)."
        )
    return cls(**params)


# --- what each estimator's fitted state must look like ------------------------------------


class _Attributes:
    """Reads the fitted attributes, checking each; ``done`` refuses any left unread."""

    def __init__(self, cls: type, state: dict[str, Any], where: str):
        self.cls, self.state, self.where, self.read = cls.__name__, state, where, set()

    def fail(self, name: str, problem: str) -> ModelFileError:
        return ModelFileError(f"{self.where}: {self.cls} attribute {name} {problem}")

    def has(self, name: str) -> bool:
        return name in self.state

    def get(self, name: str) -> Any:
        if name not in self.state:
            raise self.fail(name, "is missing: a fitted model has it.")
        self.read.add(name)
        return self.state[name]

    def integer(self, name: str, min_value: int) -> int:
        value = self.get(name)
        if not _is_int(value) or value < min_value:
            raise self.fail(name, f"must be an integer >= {min_value}, got {value!r}.")
        return int(value)

    def option(self, name: str, options: tuple[str, ...]) -> str:
        value = self.get(name)
        if not isinstance(value, str) or value not in options:
            raise self.fail(name, f"must be one of {options}, got {value!r}.")
        return value

    def array(self, name: str, dtypes: tuple[np.dtype, ...], shape: tuple) -> np.ndarray:
        """An ndarray of one of ``dtypes`` and ``shape`` (None: any length on that axis)."""
        value = self.get(name)
        if not isinstance(value, np.ndarray):
            raise self.fail(name, f"must be an array, got {type(value).__name__}.")
        if value.dtype not in dtypes:
            allowed = ", ".join(str(dtype) for dtype in dtypes)
            raise self.fail(name, f"has dtype {value.dtype}; expected {allowed}.")
        self.check_shape(name, value.shape, shape)
        return value

    def check_shape(self, name: str, found: tuple, expected: tuple) -> None:
        if len(found) != len(expected) or any(
            want is not None and size != want for size, want in zip(found, expected, strict=False)
        ):
            shown = tuple("any" if want is None else want for want in expected)
            raise self.fail(name, f"has shape {found}; expected {shown}.")

    def labels(self, name: str, min_classes: int) -> np.ndarray:
        """``classes_``: sorted distinct labels (booleans, numbers, or strings)."""
        value = self.get(name)
        if not isinstance(value, np.ndarray) or value.ndim != 1:
            raise self.fail(name, "must be a 1-D array.")
        if not (_plain_dtype(value.dtype) or _is_str_objects(value)):
            raise self.fail(name, f"has dtype {value.dtype}; expected labels.")
        if len(value) < min_classes:
            raise self.fail(name, f"holds {len(value)} classes; at least {min_classes} needed.")
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise self.fail(name, "holds NaN or infinity.")
        if len(value) > 1 and not np.all(value[1:] > value[:-1]):
            raise self.fail(name, "is not sorted and distinct, as fit makes it.")
        return value

    def codes(self, name: str, n_samples: int, n_classes: int) -> np.ndarray:
        """Class codes 0 … n_classes − 1, one per training sample."""
        codes = self.array(name, _INT, (n_samples,))
        if codes.size and (codes.min() < 0 or codes.max() >= n_classes):
            raise self.fail(name, f"holds class codes outside 0 … {n_classes - 1}.")
        return codes

    def feature_names(self, n_features: int) -> None:
        if not self.has("feature_names_in_"):
            return
        names = self.get("feature_names_in_")
        if not isinstance(names, np.ndarray) or not (
            names.dtype.kind == "U" or _is_str_objects(names)
        ):
            raise self.fail("feature_names_in_", "must be an array of strings.")
        self.check_shape("feature_names_in_", names.shape, (n_features,))

    def training_matrix(self, name: str, shape: tuple[int, int]) -> None:
        value = self.get(name)
        if sp.issparse(value):
            if value.format != "csr" or value.dtype not in _FLOAT:
                raise self.fail(name, f"is a {value.format} matrix of {value.dtype}.")
            self.check_shape(name, value.shape, shape)
            self.finite(name, value.data)
        else:
            self.finite(name, self.array(name, _FLOAT, shape))

    # --- values: what fit's arithmetic guarantees ---

    def finite(self, name: str, values: np.ndarray, cause: str = "") -> np.ndarray:
        """Refuse NaN and infinity: a model with them answers NaN (or one class) silently.
        ``cause``: how a fit could have left them, said when saving."""
        bad = np.count_nonzero(~np.isfinite(values))
        if bad:
            advice = f" {cause}" if cause and self.where.startswith("cannot save") else ""
            raise self.fail(
                name, f"holds NaN or infinity ({bad} of {values.size} values), so the model "
                f"cannot answer.{advice}"
            )
        return values

    def within(self, name: str, values: np.ndarray, low: float, high: float) -> None:
        """Every value in [low, high] (NaN is not)."""
        if not np.all((values >= low) & (values <= high)):
            raise self.fail(name, f"holds values outside [{low}, {high}] (or NaN).")

    def done(self) -> None:
        unknown = sorted(set(self.state) - self.read)
        if unknown and self.where.startswith("cannot save"):
            raise ModelFileError(
                f"{self.where}: it has fitted attributes {unknown} that the model file format "
                f"(version {FORMAT_VERSION}) does not describe. If the estimator gained them, "
                "describe them in scratchlearn._persistence (_check_state)."
            )
        if unknown:
            raise ModelFileError(
                f"{self.where}: {self.cls} has no fitted attributes {unknown} (the file was "
                "written by another scratchlearn version, or edited)."
            )


def _check_state(cls: type, state: dict[str, Any], where: str) -> None:
    """Check fitted attributes against what ``cls.fit`` produces; raise ModelFileError."""
    attributes = _Attributes(cls, state, where)
    if issubclass(cls, NeighborsBase):
        _check_neighbors(cls, attributes)
    else:
        _check_linear(cls, attributes)
    attributes.done()


def _check_neighbors(cls: type, a: _Attributes) -> None:
    n_features = a.integer("n_features_in_", 1)
    n_samples = a.integer("n_samples_fit_", 1)
    a.option("effective_metric_", METRICS)
    a.feature_names(n_features)
    a.training_matrix("_fit_X", (n_samples, n_features))
    labelled = ("classes_", "_y", "class_count_", "class_prior_")
    if cls is KNeighborsClassifier or any(a.has(name) for name in labelled):
        classes = a.labels("classes_", 1)
        codes = a.codes("_y", n_samples, len(classes))
        counted = np.bincount(codes, minlength=len(classes))
        if not np.all(counted):  # fit takes classes_ from y
            raise a.fail("classes_", "holds a class that no training sample (_y) has.")
        if cls is KNeighborsDensity:
            count = a.array("class_count_", _INT, (len(classes),))
            if not np.array_equal(count, counted):
                raise a.fail("class_count_", "does not count the classes of _y.")
            prior = a.array("class_prior_", _FLOAT64, (len(classes),))
            # Bit for bit what fit computes, N_c / N in float64 (so never NaN or infinity).
            if not np.array_equal(prior, count / n_samples):
                raise a.fail("class_prior_", "is not class_count_ / n_samples_fit_.")


def _check_linear(cls: type, a: _Attributes) -> None:
    classes = a.labels("classes_", 2)
    n_features = a.integer("n_features_in_", 1)
    a.feature_names(n_features)
    n_rows = 1 if len(classes) == 2 else len(classes)
    cause = (
        "A fit leaves them when it diverged, or when its weights overflow float32 (X's "
        "dtype): refit, on float64 X or with a smaller learning_rate."
    )
    coef = a.finite("coef_", a.array("coef_", _FLOAT, (n_rows, n_features)), cause)
    a.finite("intercept_", a.array("intercept_", (coef.dtype,), (n_rows,)), cause)
    if cls is HuberClassifier:
        a.integer("n_iter_", 1)  # the least-squares start counts as the first
        weights = a.array("weights_", _FLOAT64, (None, n_rows))
        a.within("weights_", weights, 0.0, 1.0)  # min(1, ε/|r|)
    if cls is SoftmaxRegression:
        n_iter = a.integer("n_iter_", 0)
        curve = a.array("loss_curve_", _FLOAT64, (n_iter + 1,))  # J(θ₀), then each iteration
        # A diverged fit stops at its first non-finite J, kept as the last entry.
        a.finite("loss_curve_", curve[:-1])


def _restore(estimator: BaseEstimator, state: dict[str, Any], where: str) -> None:
    """Set the checked attributes on the estimator built from the stored parameters: the
    estimator checks the parameters as ``fit`` would and rebuilds what it derives
    (``_restore_fitted``)."""
    try:
        estimator._restore_fitted(state)
    except ValueError as error:  # the estimator's own checks of the stored state
        name = type(estimator).__name__
        raise ModelFileError(f"{where}: the stored {name} is invalid: {error}") from error


# --- helpers -------------------------------------------------------------------------


def _file_kind(mode: int) -> str:
    """What a file that is not a regular file is, for messages ("a FIFO (named pipe)")."""
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next((kind for test, kind in kinds if test(mode)), "a special file")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def _is_str_objects(array: np.ndarray) -> bool:
    return array.dtype == object and all(isinstance(item, str) for item in array.flat)


def _class_list() -> str:
    return ", ".join(cls.__name__ for cls in ESTIMATORS.values())
