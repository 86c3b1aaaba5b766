"""Softmax regression's objective on Dask: one ``compute`` per evaluation, or per epoch.

**SoftmaxRegression** with θ of size P = K(D + 1) (K = n_classes, or 1 for two classes)
and c chunks: each evaluation of J(θ), ∇J(θ) is one ``compute`` of

    J = (1/N) Σ_chunks N_k J_k(θ) + (α/2)‖W‖²,   ∇J = (1/N) Σ_chunks N_k ∇J_k(θ) + α [W, 0],

with J_k the chunk's mean loss (no penalty); with sample weights, N becomes S = Σ_n s_n and
N_k J_k the chunk's weighted sum Σ_{n∈k} s_n l_n (the weights are persisted like X and y,
and S is computed once). Bytes moved per evaluation: θ to each chunk's
task (8P each) and one partial sum of 8(P + 1) bytes per chunk and per tree node, so about
16·c·P bytes, independent of N (for D = 64, 10 classes and 8 chunks, about 85 kB).
Mini-batch solvers take one epoch per ``compute``: a chain of tasks, one per chunk in a
fresh random order, each taking the update rule's steps over mini-batches of that chunk's
rows (a batch never spans two chunks) and handing θ and the rule's state (a few P) to the
next; the full objective at the epoch's end is summed in the same graph.

The client runs the optimiser (SciPy's L-BFGS or ``scratchlearn.optim``'s rules), the L2
penalty and the division by N; the workers run ``_math.softmax_objective`` on their chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from dask.delayed import Delayed, delayed

from .._math.softmax_objective import softmax_objective
from ..optim import minibatches
from .rows import LabelledRows, chunkwise_sum, compute


def _softmax_sums(
    X: np.ndarray, codes: np.ndarray, s: np.ndarray | None = None, *, theta: np.ndarray, K: int
) -> tuple[float, np.ndarray]:
    """N_k J_k(θ) and N_k ∇J_k(θ) of one chunk, without the penalty; with sample weights
    s, the weighted sums Σ_n s_n l_n(θ) and Σ_n s_n ∇l_n(θ)."""
    n = X.shape[0]
    if n == 0:
        return 0.0, np.zeros_like(theta)
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported by ``descend``
        if s is not None:
            return softmax_objective(theta, X, codes, K, 0.0, sample_weight=s, weight_total=1.0)
        loss, grad = softmax_objective(theta, X, codes, K, 0.0)
    return n * loss, n * grad


def _softmax_chunk_epoch(
    carried: tuple[np.ndarray, dict],
    X: np.ndarray,
    codes: np.ndarray,
    s: np.ndarray | None = None,
    *,
    K: int,
    alpha: float,
    rule: Callable,
    hyper: dict,
    batch_size: int,
    seed: int,
    mean_weight: float = 1.0,
) -> tuple[np.ndarray, dict]:
    """The update rule's steps over shuffled mini-batches of one chunk: (θ, state) → (θ', state').

    Each step's gradient is the batch's mean loss plus the penalty, as in memory; with
    sample weights, the batch's weighted sum over |B|·S/N (``mean_weight`` = S/N).
    """
    theta, state = carried
    with np.errstate(over="ignore", invalid="ignore"):
        for batch in minibatches(X.shape[0], batch_size, np.random.RandomState(seed)):
            if s is None:
                _, grad = softmax_objective(theta, X[batch], codes[batch], K, alpha)
            else:
                _, grad = softmax_objective(
                    theta, X[batch], codes[batch], K, alpha, sample_weight=s[batch],
                    weight_total=len(batch) * mean_weight,
                )  # fmt: skip
            theta, state = rule(theta, grad, state, **hyper)
    return theta, state


class SoftmaxProblem:
    """J(θ) and ∇J(θ) of ``SoftmaxRegression`` on persisted rows, one ``compute`` each.

    ``objective`` is what ``optim.lbfgs`` and ``optim.descend`` call; ``epoch`` makes the
    update rule of a mini-batch solver take a whole epoch on the workers.
    """

    def __init__(self, rows: LabelledRows, alpha: float):
        self.rows, self.alpha = rows, alpha
        self.K = 1 if len(rows.classes) == 2 else len(rows.classes)
        self._ready: tuple | None = None  # (θ, J, ∇J) computed with the last epoch
        #: S, what the summed loss is divided by: N, or Σ_n s_n with sample weights.
        self.total = float(rows.n_samples)
        if rows.sample_weight is not None:
            (total,) = compute(rows.estimator, rows.sample_weight.sum())
            self.total = float(total)

    def objective(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """J(θ), ∇J(θ): one ``compute`` (none if the last epoch ended at θ)."""
        if self._ready is not None and np.array_equal(theta, self._ready[0]):
            return self._ready[1], self._ready[2].copy()
        (sums,) = compute(self.rows.estimator, self._sums(theta))
        return self._finish(theta, *sums)

    def _sums(self, theta: np.ndarray | Delayed) -> Delayed:
        return chunkwise_sum(_softmax_sums, self.rows, theta=theta, K=self.K)

    def _finish(self, theta: np.ndarray, loss_sum: float, grad_sum: np.ndarray):
        """The (weighted) mean over the samples plus the penalty (α/2)‖W‖² on W only."""
        W = theta[: self.K * self.rows.n_features]
        loss = loss_sum / self.total + 0.5 * self.alpha * float(W @ W)
        grad = grad_sum / self.total
        grad[: W.size] += self.alpha * W
        return float(loss), grad

    def epoch(self, rule: Callable, batch_size: int, rng: np.random.RandomState) -> Callable:
        """An update rule (θ, g, state) → (θ', state') that runs one epoch on the workers.

        The chunks are visited in a fresh order drawn from ``rng``, each taking mini-batch
        steps over its own rows; J and ∇J at the epoch's end come back in the same
        ``compute`` and answer the next ``objective(θ')`` call.
        """

        def run_epoch(theta, grad, state, **hyper):
            order = rng.permutation(self.rows.n_chunks)
            seeds = rng.randint(2**31 - 1, size=self.rows.n_chunks)
            blocks = self.rows.blocks()
            carried: Any = (theta, state)
            for k in order:
                carried = delayed(_softmax_chunk_epoch, pure=True)(
                    carried,
                    *blocks[k],
                    K=self.K,
                    alpha=self.alpha,
                    rule=rule,
                    hyper=hyper,
                    batch_size=batch_size,
                    seed=int(seeds[k]),
                    mean_weight=self.total / self.rows.n_samples,
                )
            (theta, state), sums = compute(self.rows.estimator, carried, self._sums(carried[0]))
            self._ready = (theta, *self._finish(theta, *sums))
            return theta, state

        return run_epoch
