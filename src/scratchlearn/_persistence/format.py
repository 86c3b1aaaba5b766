"""The model file format's names, version and error, and the values it stores.

A member holds booleans, integers, floats or unicode strings in native byte order (never
objects); the constants below name the dtypes each attribute may have.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

FORMAT_NAME = "scratchlearn-model"
#: Raised whenever a change means an older scratchlearn could misread a new file.
FORMAT_VERSION = 1

CSR_PARTS = ("data", "indices", "indptr")

FLOAT = (np.dtype(np.float32), np.dtype(np.float64))
FLOAT64 = (np.dtype(np.float64),)
INT = tuple(np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64))
INDEX = (np.dtype(np.int32), np.dtype(np.int64))


class ModelFileError(ValueError):
    """A file that ``load`` refuses, or an estimator or a path that ``save`` refuses."""


def plain_dtype(dtype: np.dtype) -> bool:
    return (
        dtype.kind in "biufU"
        and dtype.fields is None
        and dtype.subdtype is None
        and (dtype.isnative or dtype.byteorder == "|")
    )


def is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def is_str_objects(array: np.ndarray) -> bool:
    return array.dtype == object and all(isinstance(item, str) for item in array.flat)
