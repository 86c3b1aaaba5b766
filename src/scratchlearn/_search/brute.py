"""Exact kNN by brute force: tiles of queries × training points, a compiled top-k, an
exact re-rank.

For the Euclidean family ("euclidean", "sqeuclidean", "cosine"; dense or CSR) each tile is
one BLAS product in the input's own precision (float32 stays float32), folded into a
running top-K' per query (``_topk.update_topk``); the candidates are then re-ranked
exactly in float64 (``_exact``), with a proof that they hold the answer
(docs/exact_search.rst, "The rounding bound"). Many queries are split across threads by
blocks of queries; few queries by blocks of training points, whose partial lists are
merged. Other metrics ("manhattan", "chebyshev", "minkowski", "haversine", callables, and
"cosine" on CSR data) fill the same tiles with exact float64 distances
(``pairwise.exact_tile``) and need no re-rank; for "precomputed" the tiles are the queries'
own columns.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from functools import cache, partial

import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from . import _exact, _topk
from .pairwise import exact_tile
from .policy import GEMM_METRICS, PRECOMPUTED, Metric
from .threads import effective_n_jobs

#: Working memory for the search's temporary arrays, in MiB: the tiles in flight and the
#: candidate lists. Results (n_queries × k) come on top.
WORKING_MEMORY_MIB = 64
#: Tile shape: queries × training points. One float32 tile of 256 × 1024 fills about a
#: core's L2 cache, so the top-k reads the product while it is still in cache.
TILE_QUERIES = 1024
TILE_FIT = 256
#: Where exact tiles hold +inf or NaN (the top-k admits values below +inf only).
LARGEST = np.finfo(np.float64).max
#: Below this many query × training pairs one thread is faster than starting a pool.
PARALLEL_MIN_PAIRS = 2_000_000


@cache
def _blas() -> ThreadpoolController:
    """The BLAS libraries NumPy uses, found once (a fresh look costs about 0.5 ms)."""
    return ThreadpoolController().select(user_api="blas")


def _run(tasks, n_threads: int, n_jobs: int) -> None:
    """Run the callables on ``n_threads`` threads, each with a one-thread BLAS so that the
    two pools never fight over the cores; run serially, the BLAS on at most ``n_jobs``
    threads, when there is one thread or one task."""
    parallel = n_threads > 1 and len(tasks) > 1
    with _blas().limit(limits=1 if parallel else n_jobs):
        if not parallel:
            for task in tasks:
                task()
            return
        with ThreadPoolExecutor(n_threads) as pool:
            for future in [pool.submit(task) for task in tasks]:
                future.result()


class _Plan:
    """How a brute-force search is cut: tile shape, threads, training parts and query waves.

    Each thread holds one tile (``rows × cols`` products); when there are too few query
    blocks to keep every thread busy, the training set is cut into ``n_parts`` ranges whose
    partial top-k lists are merged. Queries go through in waves of ``wave`` rows so that the
    tiles and the candidate lists together stay within the working memory.
    """

    def __init__(self, n_query: int, n_fit: int, n_keep: int, itemsize: int, n_threads: int,
                 working_memory_mib: float, n_features: int = 64):
        budget = working_memory_mib * 2**20
        # pragma: no mutate start (threads and tile shapes: speed only, never the answer)
        self.n_threads = n_threads if n_query * n_fit >= PARALLEL_MIN_PAIRS else 1
        # In high dimension the product dominates and wider tiles repack the queries less.
        self.cols = min(TILE_FIT * min(4, max(1, n_features // 64)), n_fit)
        # Tall query blocks make the products fast. With enough of them for every thread,
        # make their number a multiple of the threads so that no thread idles at the end;
        # with too few, cut the training set into parts as well.
        n_blocks = -(-n_query // TILE_QUERIES)
        few_queries = n_blocks < self.n_threads and n_fit >= 16 * TILE_FIT
        if self.n_threads > 1 and not few_queries:
            n_blocks = -(-n_blocks // self.n_threads) * self.n_threads
        rows = -(-n_query // n_blocks)
        self.n_parts = min(2 * self.n_threads, -(-n_fit // TILE_FIT)) if few_queries else 1
        # pragma: no mutate end
        # Half the budget for the tiles in flight, half for the candidate lists.
        tile_rows = int(budget / 2 // (self.n_threads * self.cols * itemsize))
        if tile_rows < 1:
            self.cols = max(1, int(budget / 2 // (self.n_threads * itemsize)))
        self.rows = max(1, min(rows, tile_rows))
        per_query = self.n_parts * _Candidates.bytes_per_query(n_keep, itemsize)
        # Half the budget for a wave's candidate lists. The memory bound is tested in a fresh
        # process (tracemalloc), where make mutation cannot see it, not through this planner.
        # pragma: no mutate start (the working-memory split; see above)
        self.wave = max(self.rows, int(budget / 2 // per_query) // self.rows * self.rows)
        # pragma: no mutate end


class _Candidates:
    """The running top-k state of a wave of queries, for each training part: buffers of
    2·keep (value, index) slots, their fill counts and thresholds (``_topk.update_topk``).
    """

    def __init__(self, n_parts: int, n_rows: int, keep: int, dtype):
        self.keep = keep
        self.values = np.full((n_parts, n_rows, 2 * keep), np.inf, dtype=dtype)
        self.indices = np.full((n_parts, n_rows, 2 * keep), -1, dtype=np.intp)
        self.counts = np.zeros((n_parts, n_rows), dtype=np.intp)
        self.thresholds = np.full((n_parts, n_rows), np.inf, dtype=dtype)

    @staticmethod
    def bytes_per_query(keep: int, itemsize: int) -> int:
        return 2 * keep * (itemsize + 8) + 8 + itemsize

    def state(self, part: int, rows: slice) -> tuple:
        """The arguments of ``update_topk`` after the tile, for one part and some rows."""
        return (self.values[part, rows], self.indices[part, rows], self.counts[part, rows],
                self.thresholds[part, rows], self.keep)

    def merged(self, rows: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every part's candidates side by side (−1 marks empty slots), and the floor: the
        smallest value any part dropped (its threshold; +inf where it dropped nothing)."""
        n_parts, _, width = self.values.shape
        values = self.values[:, rows].transpose(1, 0, 2).reshape(-1, n_parts * width)
        indices = self.indices[:, rows].transpose(1, 0, 2).reshape(-1, n_parts * width)
        floor = self.thresholds[:, rows].min(axis=0).astype(np.float64)
        return values, indices, floor


def _scan(ops: _Operands, rows: slice, start: int, stop: int, cols: int, state) -> None:
    """Fold training rows start..stop into the running top-k ``state`` of the query
    ``rows`` (``_topk.update_topk``), by tiles of ``cols`` training points."""
    n_rows = rows.stop - rows.start
    product = ops.product(rows)
    buffer = np.empty(n_rows * min(cols, stop - start), dtype=ops.dtype)
    for c0 in range(start, stop, cols):
        c1 = min(c0 + cols, stop)
        tile = buffer[: n_rows * (c1 - c0)].reshape(n_rows, c1 - c0)
        product(c0, c1, tile)
        _topk.update_topk(tile, ops.fit_sq[c0:c1], c0, *state)


class _Operands:
    """One brute-force search's operands: the arrays the tiles multiply (in the input's
    precision), the ranking term per training point, and what the exact re-rank reads.

    For the Euclidean family a tile holds −2q·x and ``fit_sq`` is ‖x‖²; ``margin`` is 2E per
    query (docs/exact_search.rst). For other metrics a tile holds exact distances
    (``pairwise.exact_tile``), ``fit_sq`` is zero and ``margin`` is None: no re-rank is
    needed.
    """

    def __init__(self, X_query, X_fit, metric: Metric, p: float, fit_sq=None,
                 kwargs: dict | None = None):
        self.metric, self.p, self.kwargs = metric, p, kwargs or {}
        self.sparse = sp.issparse(X_fit)
        self.Q_exact, self.X_exact = X_query, X_fit
        self.ranked = uses_product(metric, self.sparse)
        if not self.ranked:
            self.dtype = np.float64
            self.Q, self.X = X_query, X_fit
            self.fit_sq = np.zeros(X_fit.shape[0])
            self.margin = None
            return
        self.dtype = X_fit.dtype
        if self.sparse:
            # Rank with the queries cast to the working precision (as dense queries are);
            # re-rank with their own values, so float64 queries get exact float64 distances.
            self.Q_exact = sp.csr_matrix(X_query).sorted_indices()
            self.Q = self.Q_exact.astype(self.dtype, copy=False)
            self.X = X_fit
        else:
            self.Q = np.ascontiguousarray(X_query, dtype=self.dtype)
            self.X = X_fit
            if metric == "cosine":  # rank unit vectors; exact cosines come from the re-rank
                self.Q, self.X, fit_sq = _unit_rows(self.Q), _unit_rows(X_fit), None
        if fit_sq is None:
            fit_sq = squared_row_norms(self.X)
        self.fit_sq = fit_sq.astype(self.dtype)
        self.margin = _rounding_margin(
            squared_row_norms(self.Q), float(fit_sq.max(initial=0.0)), X_fit.shape[1],
            self.dtype,
        )

    def product(self, rows: slice):
        """A function ``(c0, c1, out)`` writing the tile of query ``rows`` × training c0..c1."""
        Q = self.Q[rows]
        if self.metric == PRECOMPUTED:

            def product(c0, c1, out):
                out[...] = Q[:, c0:c1]
        elif not self.ranked:

            def product(c0, c1, out):
                out[...] = exact_tile(Q, self.X[c0:c1], self.metric, self.p, self.kwargs)
                # The top-k admits values below +inf only: an infinite (or NaN) distance, as
                # a callable may return, ranks last as the largest float instead.
                np.nan_to_num(out, copy=False, nan=LARGEST, posinf=LARGEST)
        elif self.sparse:
            Q = -2 * Q

            def product(c0, c1, out):
                out[...] = (Q @ self.X[c0:c1].T).toarray()
        else:
            Q = -2 * Q  # exact (a power of two), so the tile holds −2q·x with one rounding

            def product(c0, c1, out):
                np.matmul(Q, self.X[c0:c1].T, out=out)
        return product

    def rerank(self, rows: slice, cand_values, cand_indices, floor, k, out_dist, out_idx,
               failed) -> None:
        """Exact re-rank of the candidates of query ``rows`` (``_exact.rerank_*``)."""
        Q, X, margin = self.Q_exact[rows], self.X_exact, self.margin[rows]
        args = (cand_values, cand_indices, floor, margin, k, out_dist, out_idx, failed)
        if self.sparse:
            _exact.rerank_csr(Q.data, Q.indices, Q.indptr, X.data, X.indices, X.indptr, *args)
        else:
            _exact.rerank_dense(np.ascontiguousarray(Q), X, self.metric == "cosine", *args)

    def exact_search(self, rows: np.ndarray, out_dist, out_idx) -> None:
        """Exact float64 search of the given query rows over every training point."""
        Q, X = self.Q_exact, self.X_exact
        if self.sparse:
            _exact.exact_search_csr(Q.data, Q.indices, Q.indptr, X.data, X.indices, X.indptr,
                                    X.shape[0], rows, out_dist, out_idx)
        else:
            _exact.exact_search_dense(np.ascontiguousarray(Q), X, self.metric == "cosine",
                                      rows, out_dist, out_idx)


def uses_product(metric: Metric, sparse: bool) -> bool:
    """Whether the brute force ranks ``metric`` by a matrix product and re-ranks exactly
    (the Euclidean family; "cosine" on dense data only)."""
    return metric in GEMM_METRICS and not (sparse and metric == "cosine")


def squared_row_norms(X) -> np.ndarray:
    """‖x‖² per row in float64 (each square exact), for dense or sparse X."""
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float64)  # square in float64, not in X's precision
        return np.asarray(X.multiply(X).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", X, X, dtype=np.float64)


def _unit_rows(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length in float64, then cast back; zero rows stay zero."""
    norms = np.sqrt(squared_row_norms(X))
    norms[norms == 0] = 1.0
    return (X / norms[:, None]).astype(X.dtype)


def _rounding_margin(q_norms_sq, x_max_sq: float, n_features: int, dtype) -> np.ndarray:
    """2E per query: twice the bound on |r̃ − r| derived in docs/exact_search.rst (with two
    more u·D terms for the queries' and norms' casts to the working precision)."""
    u = np.finfo(dtype).eps / 2
    x_max = math.sqrt(x_max_sq)
    error = (n_features + 6) * u * (x_max_sq + 2 * np.sqrt(q_norms_sq) * x_max) * 1.01
    return 2 * error


def brute_kneighbors(
    X_query, X_fit, n_neighbors: int, *, metric: Metric = "euclidean", p: float = 2,
    n_jobs: int | None = None, fit_sq: np.ndarray | None = None,
    working_memory_mib: float = WORKING_MEMORY_MIB, kwargs: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact kNN by tiles of queries × training points; see the module docstring.

    Returns distances in the metric's own units (squared for "sqeuclidean") and indices,
    each row sorted by (distance, index). For "precomputed", ``X_query`` holds distances
    to the rows of ``X_fit`` (only its number of rows is read).
    """
    ops = _Operands(X_query, X_fit, metric, p, fit_sq, kwargs)
    n_query, n_fit = X_query.shape[0], X_fit.shape[0]
    k = n_neighbors
    exact = ops.margin is None
    # Exact values need no spare candidates; approximate ones keep k + m to prove the cut.
    n_keep = min(n_fit, k if exact else k + max(8, k // 8))
    # A Python callable holds the GIL: threads would only take turns.
    n_jobs = 1 if callable(metric) else effective_n_jobs(n_jobs)
    plan = _Plan(n_query, n_fit, n_keep, np.dtype(ops.dtype).itemsize, n_jobs,
                 working_memory_mib, X_fit.shape[1])
    n_parts = plan.n_parts
    part_bounds = np.linspace(0, n_fit, n_parts + 1).astype(int)
    distances = np.empty((n_query, k))
    indices = np.empty((n_query, k), dtype=np.intp)
    failed = np.zeros(n_query, dtype=bool)

    for w0 in range(0, n_query, plan.wave):
        w1 = min(w0 + plan.wave, n_query)
        candidates = _Candidates(n_parts, w1 - w0, n_keep, ops.dtype)

        def finish(block: slice, local: slice, candidates=candidates) -> None:
            """Merge a block's partial lists and re-rank them exactly."""
            values, idx, floor = candidates.merged(local)
            if exact:
                _topk.merge_exact(values, idx, distances[block], indices[block])
            else:
                ops.rerank(block, values, idx, floor, k, distances[block], indices[block],
                           failed[block])

        def scan(block: slice, local: slice, part: int, candidates=candidates,
                 finish=finish) -> None:
            _scan(ops, block, part_bounds[part], part_bounds[part + 1], plan.cols,
                  candidates.state(part, local))
            if n_parts == 1:
                finish(block, local)

        blocks = [
            (slice(r0, min(r0 + plan.rows, w1)), slice(r0 - w0, min(r0 + plan.rows, w1) - w0))
            for r0 in range(w0, w1, plan.rows)
        ]
        _run([partial(scan, b, loc, t) for b, loc in blocks for t in range(n_parts)],
             plan.n_threads, n_jobs)
        if n_parts > 1:
            _run([partial(finish, b, loc) for b, loc in blocks], plan.n_threads, n_jobs)

    if failed.any():  # rare: candidates not provably complete
        ops.exact_search(np.flatnonzero(failed), distances, indices)
    if not ops.ranked:
        distances[distances == LARGEST] = np.inf
    if metric == "euclidean":
        np.sqrt(distances, out=distances)
    return distances, indices
