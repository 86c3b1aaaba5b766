"""Searches in a precomputed sparse neighbour graph (``metric="precomputed"`` with CSR
queries), as scikit-learn reads one: each row's stored entries, explicit zeros included,
are its candidate neighbours at those distances; an entry not stored is not a neighbour.

Dense precomputed rows need no module of their own: the brute force takes their columns
as its tiles (``brute``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .lists import Within, within_from_pairs


def _sorted_entries(graph) -> Within:
    """Every stored entry, each row sorted by (distance, column)."""
    graph = sp.csr_matrix(graph)
    rows = np.repeat(np.arange(graph.shape[0]), np.diff(graph.indptr))
    return within_from_pairs(graph.shape[0], rows, graph.indices, graph.data)


def graph_kneighbors(graph, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_neighbors`` nearest stored entries of each row, by (distance, column).

    Raises
    ------
    ValueError
        When a row stores fewer entries (scikit-learn's message, with the advice).
    """
    entries = _sorted_entries(graph)
    counts = np.diff(entries.indptr)
    fewest = int(counts.min()) if len(counts) else n_neighbors
    if fewest < n_neighbors:
        raise ValueError(
            f"{n_neighbors} neighbors per samples are required, but some samples have only "
            f"{fewest} neighbors in precomputed graph matrix. Decrease number of neighbors "
            "used or recompute the graph with more neighbors."
        )
    take = entries.indptr[:-1, None] + np.arange(n_neighbors)
    return entries.distances[take], entries.indices[take]


def graph_radius(graph, radius: float) -> Within:
    """The stored entries of each row at distance ≤ ``radius``, by (distance, column)."""
    entries = _sorted_entries(graph)
    inside = entries.distances <= radius
    rows = entries.row_ids()[inside]
    return within_from_pairs(entries.n_queries, rows, entries.indices[inside],
                             entries.distances[inside])
