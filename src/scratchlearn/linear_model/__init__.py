"""Linear models."""

from ._huber import HuberClassifier
from ._least_squares import LeastSquaresClassifier

__all__ = ["HuberClassifier", "LeastSquaresClassifier"]
