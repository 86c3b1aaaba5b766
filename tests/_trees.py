"""A KD-tree for the tests of the tie rule (sorted by distance, then training index)."""

import numpy as np
from scipy.spatial import KDTree


class ShuffledTiesTree:
    """A KD-tree that returns equidistant neighbours in reverse index order: the tree's
    order among ties is arbitrary, and the search must not depend on it."""

    def __init__(self, X):
        self._tree = KDTree(X)

    def query(self, X, k, p, workers):
        distances, indices = self._tree.query(X, k=k, p=p, workers=workers)
        distances = distances.reshape(len(X), k)
        indices = indices.reshape(len(X), k).copy()
        for row in range(len(X)):
            indices[row] = indices[row][np.lexsort((-indices[row], distances[row]))]
        return distances, indices

    def query_ball_point(self, x, r, p):
        return self._tree.query_ball_point(x, r=r, p=p)[::-1]
