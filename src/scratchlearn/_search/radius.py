"""Exact radius search: every training point within a distance R of each query, sorted by
(distance, training index), by brute force or with the KD-tree.

**Brute force** runs the kNN's tiles (``brute._Operands``). For the Euclidean family a
tile holds the rounded r̃ = ‖x‖² − 2q·x of the input's precision, whose error is at most
E(q) (docs/exact_search.rst; ``margin`` = 2E). A point is a candidate when

    r̃ + ‖q‖² ≤ R² + margin + s        ("euclidean"; R for "sqeuclidean"),
    1 + r̃/2 ≤ R + margin + s          ("cosine", on unit vectors, r̃ = −2 q̂·x̂),

with s a few float64 roundings of the sum itself, so every point within R is a candidate.
The candidates' distances are then computed exactly, by the kernel's own float64 sums
(``pairwise.paired_distances``), and cut at R: the same numbers ``kneighbors`` returns, so
a point on the boundary is in (distance ≤ R) or out the same way on every path. Other
metrics' tiles hold exact distances already and are cut at R directly.

**KD-tree** (``scipy.spatial.KDTree.query_ball_point``, a hair wider than R so that its
rounding cannot drop a boundary point), then the same exact distances and cut.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from scipy.spatial import KDTree

from .brute import (
    TILE_FIT,
    TILE_QUERIES,
    WORKING_MEMORY_MIB,
    _Operands,
    _run,
    squared_row_norms,
)
from .lists import Within, within_from_pairs
from .pairwise import paired_distances
from .policy import Metric
from .threads import effective_n_jobs


def brute_radius(
    X_query, X_fit, radius: float, *, metric: Metric = "euclidean", p: float = 2,
    n_jobs: int | None = None, fit_sq: np.ndarray | None = None, kwargs: dict | None = None,
    working_memory_mib: float = WORKING_MEMORY_MIB,
) -> Within:
    """Every training point within ``radius`` of each query, by tiles; see the module
    docstring. Distances are in the metric's units (squared for "sqeuclidean")."""
    ops = _Operands(X_query, X_fit, metric, p, fit_sq, kwargs)
    n_query, n_fit = X_query.shape[0], X_fit.shape[0]
    n_jobs = 1 if callable(metric) else effective_n_jobs(n_jobs)
    itemsize = np.dtype(ops.dtype).itemsize
    n_threads = n_jobs if n_query * n_fit >= 2_000_000 else 1  # pragma: no mutate (speed only)
    rows = max(1, min(TILE_QUERIES, -(-n_query // n_threads)))  # pragma: no mutate (speed only)
    budget = working_memory_mib * 2**20 / 2 / n_threads
    cols = int(max(1, min(n_fit, 4 * TILE_FIT, budget // (rows * max(itemsize, 8) * 3))))
    bounds = _Bounds(ops, radius, fit_sq) if ops.ranked else None
    blocks = [slice(r0, min(r0 + rows, n_query)) for r0 in range(0, n_query, rows)]
    found: list = [None] * len(blocks)

    def scan(b: int, block: slice) -> None:
        product = ops.product(block)
        tile = np.empty((block.stop - block.start, cols), dtype=ops.dtype)
        pieces = []
        for c0 in range(0, n_fit, cols):
            c1 = min(c0 + cols, n_fit)
            view = tile[:, : c1 - c0]
            product(c0, c1, view)
            near = bounds.candidates(view, block, c0, c1) if bounds else view <= radius
            r, c = np.nonzero(near)
            pieces.append((r + block.start, c + c0, view[r, c]))  # within_from_pairs: float64
        r, c, d = (np.concatenate(parts) for parts in zip(*pieces, strict=True))
        if bounds:  # exact distances of the candidates, then the cut
            d = paired_distances(ops.Q_exact, ops.X_exact, r, c, metric)
            if metric == "euclidean":
                d = np.sqrt(d)
            inside = d <= radius
            r, c, d = r[inside], c[inside], d[inside]
        found[b] = (r, c, d)

    _run([partial(scan, b, block) for b, block in enumerate(blocks)], n_threads, n_jobs)
    if not found:
        return within_from_pairs(n_query, [], [], [])
    r, c, d = (np.concatenate(parts) for parts in zip(*found, strict=True))
    return within_from_pairs(n_query, r, c, d)


class _Bounds:
    """The candidate test of the Euclidean family (module docstring), compared in the
    tiles' own precision: r̃ is the sum the kernel ranks by, and each query's bound is
    rounded up to that precision, so no point within the radius is missed."""

    def __init__(self, ops: _Operands, radius: float, fit_sq: np.ndarray | None):
        self.ops = ops
        # The unit roundoff of the proof; a smaller one would fail only on adversarial data.
        u64 = np.finfo(np.float64).eps / 2  # pragma: no mutate (a proven bound's constant)
        n_features = ops.X_exact.shape[1]
        if ops.metric == "cosine":
            # 1 + r̃/2 <= R + margin + s, with r̃ = −2 q̂·x̂ in the tile.
            bound = 2 * (radius + ops.margin + 8 * u64 * (1 + radius)) - 2
        else:
            fit_sq = squared_row_norms(ops.X_exact) if fit_sq is None else fit_sq
            q_sq = squared_row_norms(ops.Q_exact)
            target = radius**2 if ops.metric == "euclidean" else radius
            x_max = np.sqrt(float(fit_sq.max(initial=0.0)))
            # The float64 sum r̃ + ‖q‖², and the norms' own float64 rounding.
            slack = (n_features + 8) * u64 * ((np.sqrt(q_sq) + x_max) ** 2 + target)
            bound = target + ops.margin + slack - q_sq
        with np.errstate(over="ignore"):
            rounded = np.asarray(bound).astype(ops.dtype)
        self.bound = np.where(rounded < bound, np.nextafter(rounded, ops.dtype.type(np.inf)),
                              rounded)
        self.cosine = ops.metric == "cosine"

    def candidates(self, tile: np.ndarray, block: slice, c0: int, c1: int) -> np.ndarray:
        """Which entries of a tile (−2q·x of queries ``block`` × training c0..c1) can lie
        within the radius: r̃ = tile + ‖x‖², as the kernel sums it, against the bound."""
        if not self.cosine:
            tile += self.ops.fit_sq[c0:c1]  # the tile is scratch space
        return tile <= self.bound[block, None]


def kd_tree_radius(
    X_query: np.ndarray, X_fit: np.ndarray, radius: float, tree: KDTree, *,
    metric: Metric = "euclidean", p: float = 2.0, tree_p: float = 2.0,
    n_jobs: int | None = None,
) -> Within:
    """Every training point within ``radius`` (in the metric's units) of each query, with
    SciPy's KD-tree (Minkowski ``tree_p``); see the module docstring."""
    reach = np.sqrt(radius) if metric == "sqeuclidean" else radius
    lists = tree.query_ball_point(
        X_query, r=reach * (1 + 1e-9) + 1e-300, p=tree_p, workers=effective_n_jobs(n_jobs),
        return_sorted=False,
    )
    counts = np.fromiter((len(items) for items in lists), dtype=np.intp, count=len(lists))
    rows = np.repeat(np.arange(len(lists)), counts)
    cols = (np.concatenate([np.asarray(items, dtype=np.intp) for items in lists])
            if counts.sum() else np.empty(0, dtype=np.intp))
    distances = paired_distances(X_query, X_fit, rows, cols, metric, p)
    if metric == "euclidean":
        distances = np.sqrt(distances)
    inside = distances <= radius
    return within_from_pairs(len(lists), rows[inside], cols[inside], distances[inside])
