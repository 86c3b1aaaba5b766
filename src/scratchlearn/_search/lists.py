"""What a search returns: neighbour lists of fixed length k (:class:`Neighbors`), or of
any length within a radius (:class:`Within`, stored row after row as CSR stores a
matrix). Both order each row by (distance, training index)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Neighbors(NamedTuple):
    """Neighbour lists of a block of queries, each row sorted by (distance, training
    index), with what callers carry along: the neighbours' class codes and, when the
    queries are the training rows themselves (leave-one-out), their own class codes."""

    distances: np.ndarray  # (n_queries, k) float64
    indices: np.ndarray  # (n_queries, k) rows of the training set
    codes: np.ndarray | None = None  # (n_queries, k[, n_outputs]) the neighbours' codes
    own_codes: np.ndarray | None = None  # (n_queries[, n_outputs]) leave-one-out: its own


class Within(NamedTuple):
    """The training points within a radius of each query: row i's neighbours are entries
    ``indptr[i]:indptr[i + 1]`` of ``distances`` and ``indices``, sorted by (distance,
    training index)."""

    distances: np.ndarray  # (n_entries,) float64
    indices: np.ndarray  # (n_entries,) rows of the training set
    indptr: np.ndarray  # (n_queries + 1,)
    codes: np.ndarray | None = None  # (n_entries[, n_outputs]) the neighbours' codes
    own_codes: np.ndarray | None = None  # leave-one-out: each query's own codes

    @property
    def n_queries(self) -> int:
        return len(self.indptr) - 1

    def row_ids(self) -> np.ndarray:
        """The query of each entry."""
        return np.repeat(np.arange(self.n_queries), np.diff(self.indptr))


def within_from_pairs(n_queries: int, rows, cols, distances) -> Within:
    """:class:`Within` from (query, training point, distance) triples in any order."""
    rows = np.asarray(rows, dtype=np.intp)
    cols = np.asarray(cols, dtype=np.intp)
    distances = np.asarray(distances, dtype=np.float64)
    order = np.lexsort((cols, distances, rows))
    counts = np.bincount(rows, minlength=n_queries)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
    return Within(distances[order], cols[order], indptr)


def without_self(within: Within, offset: int = 0) -> Within:
    """Each training row's lists without the row itself (rows ``offset``, ``offset + 1``,
    …); duplicates of it stay, as in scikit-learn."""
    row_ids = within.row_ids()
    keep = within.indices != row_ids + offset
    counts = np.bincount(row_ids[keep], minlength=within.n_queries)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
    codes = None if within.codes is None else within.codes[keep]
    return Within(within.distances[keep], within.indices[keep], indptr, codes,
                  within.own_codes)
