"""Exact k-nearest-neighbour search behind one function, so backends can change freely.

Every path returns neighbours sorted by (distance, training index): among equidistant
training points the one with the smaller index comes first, also at the k-th place. The
estimators call :func:`kneighbors_search` (or :func:`kneighbors_leave_one_out`) and never
see which path ran.

Paths
-----
- **Brute force, Euclidean family** ("euclidean", "sqeuclidean", "cosine"; dense or CSR):
  tiles of queries × training points, one BLAS product per tile in the input's own
  precision (float32 stays float32), a compiled running top-K' per query (``_kernel``),
  then an exact float64 re-rank of the candidates, with a proof that they hold the answer
  (see ``_kernel``'s module docstring). Many queries are split across threads by blocks of
  queries; few queries by blocks of training points, whose partial lists are merged.
- **Brute force, other metrics** ("manhattan", "chebyshev", "minkowski"): the same tiles
  with ``scipy.spatial.distance.cdist`` computing exact float64 distances, the same top-k.
- **KD-tree** (``scipy.spatial.KDTree``) for the Minkowski family in low dimension, with a
  fix-up that orders ties by index.

Extreme magnitudes
------------------
Every path squares coordinates (or raises them to the power p): with float64 values near
1e160 the squares overflow (the brute force returns inf, SciPy's tree fails with a message
about ``p``), and near 1e-160 they underflow to 0, so distinct points look equidistant.
:func:`kneighbors_search` therefore looks at the largest |value| m of the queries and the
training set; when m lies outside [2^(e_min/2q), 2^(e_max/2q)] (q = 2, or p for Minkowski
with p > 2; e_min, e_max the dtype's exponent range: about 1e-77 … 1e77 for float64),
both are multiplied by the power of two 2^(−e) that brings m into [2^(H−1), 2^H),
H = ⌊e_max/2q⌋ (2^255 for float64 squares): the top of the safe range, so that small
differences keep as many binary orders as possible above underflow. Multiplying by a power
of two is exact, so the neighbours, their order and the ties are those of the original
values, and every distance is scaled back exactly, by 2^(e·degree) (degree 1, 2 for
"sqeuclidean", 0 for "cosine"). A distance that does not fit in float64 once scaled back
(beyond about 1.8e308, or below about 2.2e-308 while not 0: "sqeuclidean" of values
beyond 1e154 or below 1e-154) raises a ``ValueError`` that names X and says what to do.
One scale serves all values, so data spanning more than about 2^760 (1e229) at once keeps
the limit of any formula in squares: a difference below 2^−760 of the largest |value|
squares to 0.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache, partial

import numpy as np
import scipy.sparse as sp
from scipy.spatial import KDTree
from scipy.spatial.distance import cdist
from threadpoolctl import ThreadpoolController

from .._math import scaling
from . import _kernel

ALGORITHMS = ("auto", "brute", "kd_tree")

#: Canonical metric names, and scikit-learn's aliases for them.
METRICS = ("euclidean", "sqeuclidean", "cosine", "manhattan", "chebyshev", "minkowski")
METRIC_ALIASES = {"l2": "euclidean", "l1": "manhattan", "cityblock": "manhattan"}
#: Metrics ranked through one matrix product per tile (‖q − x‖² = ‖q‖² − 2q·x + ‖x‖²).
GEMM_METRICS = ("euclidean", "sqeuclidean", "cosine")
#: Metrics a KD-tree can search: the Minkowski family, as scipy's ``p``.
TREE_P = {"euclidean": 2.0, "sqeuclidean": 2.0, "manhattan": 1.0, "chebyshev": np.inf}

#: Up to this many features a KD-tree beats the brute-force kernel: ``make bench``'s
#: tree-versus-brute sweep (100,000 Gaussian points, 2,000 queries, k = 10, both cores) found
#: the tree 1.6–26× faster at d ≤ 6, even at d = 7 (each wins one precision by about 1.2×),
#: and 1.7–16× slower from d = 8 on. Data of low intrinsic dimension favour the tree longer.
KD_TREE_MAX_FEATURES = 7

#: Working memory for the search's temporary arrays, in MiB: the tiles in flight and the
#: candidate lists. Results (n_queries × k) come on top.
WORKING_MEMORY_MIB = 64
#: Tile shape: queries × training points. One float32 tile of 256 × 1024 fills about a
#: core's L2 cache, so the top-k reads the product while it is still in cache.
TILE_QUERIES = 1024
TILE_FIT = 256
#: Below this many query × training pairs one thread is faster than starting a pool.
PARALLEL_MIN_PAIRS = 2_000_000


def resolve_metric(metric: str, p: float = 2) -> tuple[str, float]:
    """Canonical name and exponent of ``metric``: aliases resolved, and Minkowski with
    p = 1, 2 or ∞ turned into manhattan, euclidean or chebyshev (their own fast paths)."""
    name = METRIC_ALIASES.get(metric, metric)
    if name == "minkowski":
        if p == 2:
            return "euclidean", 2.0
        if p == 1:
            return "manhattan", 1.0
        if p == np.inf:
            return "chebyshev", np.inf
        return "minkowski", float(p)
    return name, TREE_P.get(name, 2.0)


def effective_n_jobs(n_jobs: int | None) -> int:
    """Threads for ``n_jobs``: None or −1 mean every core, −2 all but one (scikit-learn's
    convention), a positive number that many."""
    n_cores = os.cpu_count() or 1
    if n_jobs is None:
        return n_cores
    if n_jobs < 0:
        return max(1, n_cores + 1 + n_jobs)
    return max(1, n_jobs)


def resolve_algorithm(
    algorithm: str, n_features: int, n_neighbors: int, n_samples: int, *,
    metric: str = "euclidean", sparse: bool = False,
) -> str:
    """Pick the backend for ``algorithm="auto"``.

    ``kd_tree`` when the data are dense, the metric is of the Minkowski family,
    ``n_features <= KD_TREE_MAX_FEATURES`` (7) and ``n_neighbors < n_samples / 2``;
    otherwise ``brute``, because a tree cannot prune when the dimension is high or when
    most of the training set is in every neighbourhood.
    """
    if algorithm != "auto":
        return algorithm
    if tree_applicable(n_features, metric, sparse) and n_neighbors < n_samples // 2:
        return "kd_tree"
    return "brute"


def tree_metric(metric: str) -> bool:
    """Whether a KD-tree can search ``metric`` (canonical name): the Minkowski family."""
    return metric in TREE_P or metric == "minkowski"


def tree_applicable(n_features: int, metric: str, sparse: bool) -> bool:
    """Whether ``auto`` may pick the KD-tree: dense data, a Minkowski metric, low dimension."""
    return not sparse and tree_metric(metric) and n_features <= KD_TREE_MAX_FEATURES


# --- extreme magnitudes (see the module docstring) --------------------------------------


def search_power(metric: str, p: float) -> float:
    """q, the power the metric raises coordinates to (2, or p for "minkowski" with p > 2)."""
    return max(2.0, float(p)) if metric == "minkowski" else 2.0


def rescaling_exponent(magnitude: float, dtype, metric: str = "euclidean", p: float = 2) -> int:
    """e such that ``magnitude``·2^(−e) ∈ [2^(H−1), 2^H), H = ⌊e_max/2q⌋, or 0 when no
    rescaling is needed (``_math.scaling.rescaling_exponent`` with q from the metric)."""
    return scaling.rescaling_exponent(magnitude, dtype, search_power(metric, p))


def _fit_magnitude(X_fit, tree: KDTree | None, fit_sq: np.ndarray | None, low_high) -> float:
    """max |x| over the training set, read cheaply when it is known to be in range.

    A tree over ``X_fit`` holds its bounding box (``maxes``, ``mins``). Squared norms bound
    it too: max|x| ≤ max‖x‖ and ≥ max‖x‖/√D; when those bounds lie within ``low_high``
    the exact value does not matter. Otherwise the data is scanned.
    """
    if tree is not None:
        return max(float(np.max(np.abs(tree.maxes))), float(np.max(np.abs(tree.mins))))
    if fit_sq is not None and fit_sq.size:
        top = math.sqrt(float(fit_sq.max()))
        low, high = low_high
        if low * math.sqrt(max(X_fit.shape[1], 1)) <= top <= high:
            return top
    return scaling.max_abs(X_fit)


def _scale_back(distances: np.ndarray, exponent: int, metric: str, magnitude: float):
    """Distances of the rescaled data → distances of the data, exactly; or a ValueError
    naming X when they do not fit in float64."""
    degree = {"sqeuclidean": 2, "cosine": 0}.get(metric, 1)
    if degree == 0:
        return distances
    with np.errstate(over="ignore", under="ignore"):
        scaled = np.ldexp(distances, degree * exponent)
    advice = (
        " or use metric='euclidean' (the same neighbours, distances not squared)"
        if metric == "sqeuclidean"
        else ""
    )
    if np.isinf(scaled).any():
        raise ValueError(
            f"The {metric} distances between the rows of X (values up to {magnitude:.3g} in "
            "magnitude) exceed the float64 range (about 1.8e308) and cannot be returned. "
            f"Divide X by a constant (the same for training and queries){advice}."
        )
    if np.any((distances > 0) & (scaled < np.finfo(np.float64).tiny)):
        raise ValueError(
            f"The {metric} distances between the rows of X (values up to {magnitude:.3g} in "
            "magnitude) fall below float64's normal range (about 2.2e-308) and would be "
            f"rounded to 0. Multiply X by a constant (the same for training and queries)"
            f"{advice}."
        )
    return scaled


# --- brute force ------------------------------------------------------------------------


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
        # Half the budget for the tiles in flight, half for the candidate lists.
        tile_rows = int(budget / 2 // (self.n_threads * self.cols * itemsize))
        if tile_rows < 1:
            self.cols = max(1, int(budget / 2 // (self.n_threads * itemsize)))
        self.rows = max(1, min(rows, tile_rows))
        per_query = self.n_parts * _Candidates.bytes_per_query(n_keep, itemsize)
        self.wave = max(self.rows, int(budget / 2 // per_query) // self.rows * self.rows)


class _Candidates:
    """The running top-k state of a wave of queries, for each training part: buffers of
    2·keep (value, index) slots, their fill counts and thresholds (``_kernel.update_topk``).
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
    ``rows`` (``_kernel.update_topk``), by tiles of ``cols`` training points."""
    n_rows = rows.stop - rows.start
    product = ops.product(rows)
    buffer = np.empty(n_rows * min(cols, stop - start), dtype=ops.dtype)
    for c0 in range(start, stop, cols):
        c1 = min(c0 + cols, stop)
        tile = buffer[: n_rows * (c1 - c0)].reshape(n_rows, c1 - c0)
        product(c0, c1, tile)
        _kernel.update_topk(tile, ops.fit_sq[c0:c1], c0, *state)


class _Operands:
    """One brute-force search's operands: the arrays the tiles multiply (in the input's
    precision), the ranking term per training point, and what the exact re-rank reads.

    For the Euclidean family a tile holds −2q·x and ``fit_sq`` is ‖x‖²; ``margin`` is 2E per
    query (``_kernel``). For other metrics a tile holds exact distances from ``cdist``,
    ``fit_sq`` is zero and ``margin`` is None: no re-rank is needed.
    """

    def __init__(self, X_query, X_fit, metric: str, p: float, fit_sq=None):
        self.metric, self.p = metric, p
        self.sparse = sp.issparse(X_fit)
        self.Q_exact, self.X_exact = X_query, X_fit
        if metric not in GEMM_METRICS:
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
        if self.metric not in GEMM_METRICS:
            kwargs = {"p": self.p} if self.metric == "minkowski" else {}
            name = "cityblock" if self.metric == "manhattan" else self.metric

            def product(c0, c1, out):
                out[...] = cdist(Q, self.X[c0:c1], name, **kwargs)
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
        """Exact re-rank of the candidates of query ``rows`` (``_kernel.rerank_*``)."""
        Q, X, margin = self.Q_exact[rows], self.X_exact, self.margin[rows]
        args = (cand_values, cand_indices, floor, margin, k, out_dist, out_idx, failed)
        if self.sparse:
            _kernel.rerank_csr(Q.data, Q.indices, Q.indptr, X.data, X.indices, X.indptr, *args)
        else:
            _kernel.rerank_dense(np.ascontiguousarray(Q), X, self.metric == "cosine", *args)

    def exact_search(self, rows: np.ndarray, out_dist, out_idx) -> None:
        """Exact float64 search of the given query rows over every training point."""
        Q, X = self.Q_exact, self.X_exact
        if self.sparse:
            _kernel.exact_search_csr(Q.data, Q.indices, Q.indptr, X.data, X.indices, X.indptr,
                                     X.shape[0], rows, out_dist, out_idx)
        else:
            _kernel.exact_search_dense(np.ascontiguousarray(Q), X, self.metric == "cosine",
                                       rows, out_dist, out_idx)


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
    """2E per query: twice the bound on |r̃ − r| derived in ``_kernel``'s docstring (with two
    more u·D terms for the queries' and norms' casts to the working precision)."""
    u = np.finfo(dtype).eps / 2
    x_max = math.sqrt(x_max_sq)
    error = (n_features + 6) * u * (x_max_sq + 2 * np.sqrt(q_norms_sq) * x_max) * 1.01
    return 2 * error


def brute_kneighbors(
    X_query, X_fit, n_neighbors: int, *, metric: str = "euclidean", p: float = 2,
    n_jobs: int | None = None, fit_sq: np.ndarray | None = None,
    working_memory_mib: float = WORKING_MEMORY_MIB,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact kNN by tiles of queries × training points; see the module docstring.

    Returns distances in the metric's own units (squared for "sqeuclidean") and indices,
    each row sorted by (distance, index).
    """
    ops = _Operands(X_query, X_fit, metric, p, fit_sq)
    n_query, n_fit = X_query.shape[0], X_fit.shape[0]
    k = n_neighbors
    exact = ops.margin is None
    # Exact values need no spare candidates; approximate ones keep k + m to prove the cut.
    n_keep = min(n_fit, k if exact else k + max(8, k // 8))
    n_jobs = effective_n_jobs(n_jobs)
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
                _kernel.merge_exact(values, idx, distances[block], indices[block])
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
    if metric == "euclidean":
        np.sqrt(distances, out=distances)
    return distances, indices


# --- KD-tree ----------------------------------------------------------------------------


def kd_tree_kneighbors(
    X_query: np.ndarray, X_fit: np.ndarray, n_neighbors: int, tree: KDTree, *,
    p: float = 2.0, n_jobs: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact kNN with ``scipy.spatial.KDTree`` (Minkowski ``p``), made to follow the
    (distance, index) rule.

    The tree orders equidistant points arbitrarily. Asking for one neighbour more shows
    where a tie crosses the k-th place; only those rows are redone from every point inside
    the k-th radius.
    """
    n_fit = X_fit.shape[0]
    k_query = min(n_neighbors + 1, n_fit)
    distances, indices = tree.query(X_query, k=k_query, p=p, workers=effective_n_jobs(n_jobs))
    distances = distances.reshape(len(X_query), k_query)
    indices = np.asarray(indices, dtype=np.intp).reshape(len(X_query), k_query)
    if k_query > n_neighbors:
        tied = distances[:, n_neighbors] == distances[:, n_neighbors - 1]
        for row in np.flatnonzero(tied):
            radius = distances[row, n_neighbors - 1]
            # A hair wider than the radius so that rounding cannot drop a tied point.
            candidates = np.asarray(
                tree.query_ball_point(X_query[row], r=radius * (1 + 1e-9) + 1e-300, p=p),
                dtype=np.intp,
            )
            cand_dist = _minkowski_rows(X_query[row], X_fit[candidates], p)
            order = np.lexsort((candidates, cand_dist))[:k_query]
            distances[row, : len(order)] = cand_dist[order]
            indices[row, : len(order)] = candidates[order]
    distances, indices = distances[:, :n_neighbors], indices[:, :n_neighbors]
    # Rows come sorted by distance; only those holding a tie need ordering by index.
    has_tie = np.flatnonzero(np.any(distances[:, 1:] == distances[:, :-1], axis=1))
    if has_tie.size:
        order = np.lexsort((indices[has_tie], distances[has_tie]), axis=-1)
        distances[has_tie] = np.take_along_axis(distances[has_tie], order, 1)
        indices[has_tie] = np.take_along_axis(indices[has_tie], order, 1)
    return distances, indices


def _minkowski_rows(q: np.ndarray, X: np.ndarray, p: float) -> np.ndarray:
    """Minkowski distances from one query to rows of X, in float64."""
    name = {1.0: "cityblock", 2.0: "euclidean", np.inf: "chebyshev"}.get(p, "minkowski")
    kwargs = {"p": p} if name == "minkowski" else {}
    return cdist(q[None].astype(np.float64), X.astype(np.float64), name, **kwargs)[0]


# --- the entry points -------------------------------------------------------------------


def kneighbors_search(
    X_query,
    X_fit,
    n_neighbors: int,
    *,
    algorithm: str = "auto",
    metric: str = "euclidean",
    p: float = 2,
    tree: KDTree | None = None,
    n_jobs: int | None = None,
    fit_sq: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The single entry point: (queries, training set, k, metric) → (distances, indices).

    Parameters
    ----------
    X_query : ndarray or CSR matrix of shape (n_queries, n_features)
    X_fit : ndarray or CSR matrix of shape (n_samples, n_features)
        float32 is searched in float32, anything else in float64; the answer is exact
        either way (float64 distances of the given values).
    n_neighbors : int, 1 <= n_neighbors <= n_samples
    algorithm : {"auto", "brute", "kd_tree"}
    metric : str
        One of ``METRICS`` or its alias; "minkowski" uses ``p``.
    p : float, default=2
    tree : KDTree, optional
        A tree over ``X_fit``, built once at fit time; built here when missing.
    n_jobs : int, default=None
        Threads for the search (None: every core).
    fit_sq : ndarray of shape (n_samples,), optional
        ‖x‖² of the training rows in float64, computed once at fit time.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors)
        Distances in the metric, ascending in each row.
    indices : ndarray of shape (n_queries, n_neighbors)
        Rows of ``X_fit``; ties in distance are ordered by index.

    Raises
    ------
    ValueError
        For ``algorithm="kd_tree"`` with a metric outside the Minkowski family, and when
        the distances do not fit in float64 (see "Extreme magnitudes" above).
    """
    metric, p = resolve_metric(metric, p)
    sparse = sp.issparse(X_fit)
    method = resolve_algorithm(
        algorithm, X_fit.shape[1], n_neighbors, X_fit.shape[0], metric=metric, sparse=sparse
    )
    if method == "kd_tree" and not tree_metric(metric):
        raise ValueError(
            f"algorithm='kd_tree' cannot search metric={metric!r}: a KD-tree serves the "
            "Minkowski family (euclidean, sqeuclidean, manhattan, chebyshev, minkowski). "
            "Use algorithm='brute' or 'auto'."
        )
    # Values whose squares would overflow or underflow are searched at a power-of-two scale.
    power = search_power(metric, p)
    low_high = [2.0**exp for exp in scaling.safe_exponents(X_fit.dtype, power)]
    magnitude = max(_fit_magnitude(X_fit, tree, fit_sq, low_high), scaling.max_abs(X_query))
    exponent = scaling.rescaling_exponent(magnitude, X_fit.dtype, power)
    if exponent:
        X_query, X_fit = scaling.ldexp(X_query, -exponent), scaling.ldexp(X_fit, -exponent)
        tree = fit_sq = None  # built for the unscaled values
    if method == "brute":
        distances, indices = brute_kneighbors(
            X_query, X_fit, n_neighbors, metric=metric, p=p, n_jobs=n_jobs, fit_sq=fit_sq
        )
    else:
        if tree is None:
            tree = KDTree(X_fit)
        distances, indices = kd_tree_kneighbors(
            X_query, X_fit, n_neighbors, tree, p=TREE_P.get(metric, p), n_jobs=n_jobs
        )
        if metric == "sqeuclidean":
            distances **= 2
    if exponent:
        distances = _scale_back(distances, exponent, metric, magnitude)
    return distances, indices


def kneighbors_leave_one_out(
    X_fit, n_neighbors: int, **search_options
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours of each training point among the *other* training points.

    Searches k + 1 and drops the point itself; when exact duplicates with smaller indices
    push the point out of its own k + 1 list, the last column is dropped instead (as
    scikit-learn does), so each row holds k other points either way. ``search_options``
    go to :func:`kneighbors_search`.
    """
    n_fit = X_fit.shape[0]
    distances, indices = kneighbors_search(X_fit, X_fit, n_neighbors + 1, **search_options)
    is_self = indices == np.arange(n_fit)[:, None]
    no_self = ~is_self.any(axis=1)
    is_self[no_self, -1] = True
    keep = ~is_self
    return (
        distances[keep].reshape(n_fit, n_neighbors),
        indices[keep].reshape(n_fit, n_neighbors),
    )
