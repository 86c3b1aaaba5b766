"""scratchlearn: classic classifiers from first principles in NumPy, scikit-learn compatible."""

from importlib.metadata import PackageNotFoundError, version

from .linear_model import HuberClassifier, LeastSquaresClassifier, SoftmaxRegression
from .neighbors import KNeighborsClassifier, KNeighborsDensity

try:
    __version__ = version("scratchlearn")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

__all__ = [
    "HuberClassifier",
    "KNeighborsClassifier",
    "KNeighborsDensity",
    "LeastSquaresClassifier",
    "SoftmaxRegression",
    "__version__",
]
