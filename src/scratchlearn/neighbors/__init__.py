"""k-nearest-neighbour classification and density estimation."""

from ._classification import KNeighborsClassifier
from ._density import KNeighborsDensity

__all__ = ["KNeighborsClassifier", "KNeighborsDensity"]
