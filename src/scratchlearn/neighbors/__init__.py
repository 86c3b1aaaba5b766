"""k-nearest-neighbour classification, density estimation and search."""

from ._classification import KNeighborsClassifier
from ._density import KNeighborsDensity
from ._unsupervised import NearestNeighbors

__all__ = ["KNeighborsClassifier", "KNeighborsDensity", "NearestNeighbors"]
