"""scratchlearn: classic classifiers from first principles in NumPy, scikit-learn compatible.

``save`` / ``load`` write and read model files that are safe to open (NumPy arrays and
JSON, no pickle); see ``scratchlearn._persistence``.

The public names are imported on first use (PEP 562), so ``import scratchlearn`` and the
command line start without loading scikit-learn: the CLI answers a bad ``--out`` at once.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

#: Public name → the submodule that defines it.
_LAZY = {
    "HuberClassifier": ".linear_model",
    "LeastSquaresClassifier": ".linear_model",
    "SoftmaxRegression": ".linear_model",
    "KNeighborsClassifier": ".neighbors",
    "KNeighborsDensity": ".neighbors",
    "NearestNeighbors": ".neighbors",
    "load": "._persistence",
    "save": "._persistence",
}

if TYPE_CHECKING:  # what type checkers and IDEs see
    from . import exceptions
    from ._persistence import load, save
    from .linear_model import HuberClassifier, LeastSquaresClassifier, SoftmaxRegression
    from .neighbors import KNeighborsClassifier, KNeighborsDensity, NearestNeighbors


def __getattr__(name: str) -> Any:
    if name == "exceptions":
        return import_module(".exceptions", __name__)
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "HuberClassifier",
    "KNeighborsClassifier",
    "KNeighborsDensity",
    "LeastSquaresClassifier",
    "NearestNeighbors",
    "SoftmaxRegression",
    "__version__",
    "exceptions",
    "load",
    "save",
]
