"""Top-k selection with one deterministic tie rule: by value, then by column index."""

from __future__ import annotations

import numpy as np


def sort_rows_by_value_then_index(
    values: np.ndarray, indices: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row of ``(values, indices)`` by value, breaking ties by the smaller index.

    A plain (unstable) argsort is several times faster than a lexicographic one, and exact
    ties are rare in real data, so only the rows that hold a tie are sorted again by both keys.
    """
    order = np.argsort(values, axis=1)
    values = np.take_along_axis(values, order, axis=1)
    indices = np.take_along_axis(indices, order, axis=1)
    has_tie = np.any(values[:, 1:] == values[:, :-1], axis=1)
    if has_tie.any():
        tie_order = np.lexsort((indices[has_tie], values[has_tie]), axis=-1)
        values[has_tie] = np.take_along_axis(values[has_tie], tie_order, axis=1)
        indices[has_tie] = np.take_along_axis(indices[has_tie], tie_order, axis=1)
    return values, indices


#: Rows at least this many times longer than k go through the sampled-bound prefilter.
PREFILTER_MIN_RATIO = 16
PREFILTER_STRIDE = 8


def _select_by_sampled_bound(D: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of long rows: bound the k-th value from a column sample, sort only what is below.

    The k-th smallest entry of every 8th column is >= the k-th smallest of the whole row, so
    every entry of the true top-k (ties included) is <= that bound. Few entries pass, and
    sorting just those by (row, value, column) gives the top-k in (value, index) order.
    """
    n_rows = D.shape[0]
    bound = np.partition(D[:, ::PREFILTER_STRIDE], k - 1, axis=1)[:, k - 1]
    rows, cols = np.nonzero(D <= bound[:, None])
    values = D[rows, cols]
    order = np.lexsort((cols, values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    rank_in_row = np.arange(len(rows)) - np.searchsorted(rows, np.arange(n_rows))[rows]
    keep = rank_in_row < k
    return values[keep].reshape(n_rows, k), cols[keep].reshape(n_rows, k)


def select_smallest_k(D: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest entries of each row of ``D``, in no particular order.

    For rows much longer than k a sampled bound prefilters the row (several times faster
    than ``argpartition``). Otherwise ``argpartition`` finds them in O(n) per row but picks
    arbitrarily among entries equal to the k-th value; rows where such a tie crosses the cut
    are re-selected with a stable sort, so that the smaller column index always wins.

    Parameters
    ----------
    D : ndarray of shape (n_rows, n_columns)
    k : int, 1 <= k <= n_columns

    Returns
    -------
    values : ndarray of shape (n_rows, k)
    indices : ndarray of shape (n_rows, k)
    """
    _n_rows, n_columns = D.shape
    if k == n_columns:
        return D.copy(), np.broadcast_to(np.arange(n_columns), D.shape).copy()
    if n_columns >= PREFILTER_MIN_RATIO * k:
        return _select_by_sampled_bound(D, k)
    indices = np.argpartition(D, k - 1, axis=1)[:, :k]
    values = np.take_along_axis(D, indices, axis=1)
    kth = values.max(axis=1)
    tied_at_cut = np.count_nonzero(D <= kth[:, None], axis=1) > k
    if tied_at_cut.any():
        stable = np.argsort(D[tied_at_cut], axis=1, kind="stable")[:, :k]
        indices[tied_at_cut] = stable
        values[tied_at_cut] = np.take_along_axis(D[tied_at_cut], stable, axis=1)
    return values, indices


def smallest_k(D: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest entries of each row, sorted by (value, column index).

    Returns
    -------
    values : ndarray of shape (n_rows, k)
    indices : ndarray of shape (n_rows, k)
    """
    return sort_rows_by_value_then_index(*select_smallest_k(D, k))
