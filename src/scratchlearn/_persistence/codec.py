"""Fitted attributes to model-file members and back: the attribute codec.

Each attribute's descriptor in the header says how it is stored (``json``, ``array``,
``str_object_array``, ``numpy_scalar``, ``csr_matrix`` / ``csr_array``; see the package
docstring); :func:`encode` writes descriptors and members, :func:`decode` reads them back,
every member used exactly once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .format import CSR_PARTS, FLOAT, INDEX, ModelFileError, is_int, plain_dtype

#: The one key of a stored dict whose keys are numbers: {"__items__": [[key, value], ...]}.
_ITEMS = "__items__"


def _json_scalar(value: Any) -> bool:
    return isinstance(value, bool | int | float) or (
        isinstance(value, np.generic) and value.dtype.kind in "biuf"
    )


def param_from_json(value: Any, name: str, where: str) -> Any:
    """A parameter as ``json_param`` stored it: a dict keyed by numbers back from its items."""
    if not (isinstance(value, dict) and list(value) == [_ITEMS]):
        return value
    items = value[_ITEMS]
    if not (isinstance(items, list) and all(
        isinstance(item, list) and len(item) == 2 and _json_scalar(item[0]) for item in items
    )):
        raise ModelFileError(f"{where}: the parameter {name} holds malformed dict items.")
    return {key: item for key, item in items}


def json_param(value: Any, name: str, where: str) -> Any:
    """``value`` as JSON data (NumPy scalars become Python's), or a ValueError naming it."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return float(value)
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if isinstance(value, list):
        return [json_param(item, name, where) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: json_param(item, name, where) for key, item in value.items()}
    if isinstance(value, dict) and all(_json_scalar(key) for key in value):
        # JSON keys are strings: a dict keyed by numbers (class_weight={0: 2.0}) is stored
        # as its items, which param_from_json turns back into the dict.
        return {_ITEMS: [[json_param(key, name, where), json_param(item, name, where)]
                         for key, item in value.items()]}  # fmt: skip
    raise ModelFileError(
        f"{where}: its parameter {name}={value!r} is not JSON data (None, a bool, number or "
        "string, or a list or dict of them), which is all a model file stores. Give it such "
        "a value (a list for an array; a named metric or weights for a function) and refit "
        "before saving; a model that needs a Python function to predict cannot be a model "
        "file (joblib.dump keeps it, for files you trust)."
    )


def encode(state: dict[str, Any], where: str) -> tuple[dict[str, Any], dict[str, Any]]:
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
            parts = {part: f"{name}.{part}" for part in CSR_PARTS}
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
    if not plain_dtype(array.dtype):
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


def decode(
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
        or set(parts) != set(CSR_PARTS)
        or not isinstance(shape, list)
        or len(shape) != 2
        or not all(is_int(n) and n >= 0 for n in shape)
    ):
        raise ModelFileError(f"{where}: attribute {name} is not a valid CSR description.")
    data, indices, indptr = (member(name, parts[part]) for part in CSR_PARTS)
    if data.dtype not in FLOAT or indices.dtype not in INDEX or indptr.dtype != indices.dtype:
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
