"""Classic classifiers written from first principles in NumPy, as scikit-learn estimators.

The estimators drop into code written for scikit-learn (pipelines, ``GridSearchCV``,
``clone``) and take NumPy, SciPy sparse, pandas and Dask input:

- :class:`KNeighborsClassifier` and :class:`NearestNeighbors`: exact nearest neighbours,
  in float32 too, with scikit-learn's parameters;
- :class:`KNeighborsDensity`: kNN density estimation, p(x) = K / (N·V), per class too;
- :class:`LeastSquaresClassifier` and :class:`HuberClassifier`: linear classifiers on ±1
  targets, the second robust to outliers;
- :class:`SoftmaxRegression`: multinomial logistic regression with six optimisers.

:func:`save` and :func:`load` write and read model files that are safe to open (NumPy
arrays and JSON, no pickle). The modules :mod:`scratchlearn.optim`,
:mod:`scratchlearn.gradcheck`, :mod:`scratchlearn.datasets` and
:mod:`scratchlearn.exceptions` hold the optimisers, gradient checks, the exercise sheet's
data sets and the warnings. The :doc:`/user_guide` has the maths of each. A first fit:

>>> from scratchlearn import KNeighborsClassifier
>>> from scratchlearn.datasets import load_moons_split
>>> X_train, X_test, y_train, y_test = load_moons_split()
>>> KNeighborsClassifier(n_neighbors=5).fit(X_train, y_train).score(X_test, y_test)
0.97
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

# The public names are imported on first use (PEP 562), so ``import scratchlearn`` and the
# command line start without loading scikit-learn: the CLI answers a bad ``--out`` at once.
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
