"""Linear models."""

from ._huber import HuberClassifier
from ._least_squares import LeastSquaresClassifier
from ._softmax import SoftmaxRegression

__all__ = ["HuberClassifier", "LeastSquaresClassifier", "SoftmaxRegression"]
