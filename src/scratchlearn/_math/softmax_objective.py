"""The objective of softmax regression on its flat parameters θ = [vec(W), b].

With logits g_c = θ_c · x + b_c, probabilities p = softmax(g) and sample weights s_n
(S = Σ_n s_n; all 1 and S = N by default),

    J(W, b) = (1/S) Σ_n s_n (−log p_{y_n}(x_n)) + (α/2) ‖W‖²_F.

**The gradient, by the chain rule** (the sheet's derivation, one sample, true class y):

- ∂L/∂p_y = −1/p_y for L = −log p_y (L does not depend on the other p_k);
- ∂p_y/∂g_c = p_y (1[c = y] − p_c): p_y(1 − p_y) for c = y, −p_y p_c for c ≠ y;
- ∂g_c/∂θ_c = x, and ∂g_c/∂b_c = 1 (g_c does not depend on θ_k for k ≠ c);
- the product: ∂L/∂g_c = −(1/p_y) · p_y (1[c = y] − p_c) = p_c − 1[c = y], so

      ∂L/∂θ_c = (p_c − 1[c = y]) x,    ∂L/∂b_c = p_c − 1[c = y].

Over the training set, with P the (N, n_classes) matrix of probabilities and Y the one-hot
targets (Y_nc = 1[y_n = c]),

    ∇_W J = (1/N) (P − Y)ᵀ X + α W,    ∇_b J = (1/N) Σ_n (P_n − Y_n),

and with sample weights each row n of P − Y is multiplied by s_n and 1/N becomes 1/S.

``scratchlearn.gradcheck`` confirms this against centred differences (relative error
around 1e-10). The sheet's code subtracts the column of class indices y instead of the
one-hot Y, which broadcasts to the wrong (N, n_classes) matrix without an error.

**Two classes** keep one free row (``K = 1``): the first class's logit is pinned at 0, so
the model is logistic regression (see ``SoftmaxRegression``); :func:`all_logits` puts the
pinned column back in front for the probabilities.
"""

from __future__ import annotations

import numpy as np

from .losses import softmax_cross_entropy
from .params import pack, unpack


def all_logits(G: np.ndarray) -> np.ndarray:
    """One logit per class: G itself, or for two classes (one free logit g, 1-D) the
    columns [0, g], the first class's logit pinned at 0.

    Returns
    -------
    ndarray of shape (n_samples, n_classes)
    """
    return np.column_stack([np.zeros_like(G), G]) if G.ndim == 1 else G


def softmax_objective(
    theta: np.ndarray,
    X: np.ndarray,
    codes: np.ndarray,
    K: int,
    alpha: float,
    *,
    n_threads: int = 1,
    sample_weight: np.ndarray | None = None,
    weight_total: float | None = None,
) -> tuple[float, np.ndarray]:
    """J(θ) and ∇J(θ) for the flat parameters θ = [vec(W), b] of K free rows.

    ``softmax_cross_entropy`` on (X, codes); for K = 1 (two classes) the first class's
    logit is pinned at 0, so its row (zeros) is put in front of W and its gradient dropped.

    With ``sample_weight`` s, the weighted version (``weighted_cross_entropy``),

        J = (1/S) Σ_n s_n (lse(g_n) − g_{n,y_n}) + (α/2)‖W‖²,
        ∇_W J = (1/S) Σ_n s_n (p_n − e_{y_n}) x_nᵀ + α W,   ∇_b J = (1/S) Σ_n s_n (p_n − e_{y_n}),

    with S = ``weight_total`` (Σ_n s_n by default; 1 gives the plain weighted sums).

    Returns
    -------
    loss : float
    grad : ndarray of shape (K * (n_features + 1),)
    """
    D = X.shape[1]
    W, b = unpack(theta, K)
    if K == 1:  # logistic regression: the first class's logit is pinned at 0
        W, b = np.vstack([np.zeros(D), W]), np.concatenate([[0.0], b])
    if sample_weight is None:
        loss, grad_W, grad_b = softmax_cross_entropy(W, b, X, codes, alpha, n_threads=n_threads)
    else:
        s = np.asarray(sample_weight, dtype=np.float64)
        total = float(s.sum()) if weight_total is None else float(weight_total)
        loss, grad_W, grad_b = weighted_cross_entropy(W, b, X, codes, s, total, alpha)
    if K == 1:
        grad_W, grad_b = grad_W[1:], grad_b[1:]
    return loss, pack(grad_W, grad_b)


def weighted_cross_entropy(
    W: np.ndarray,
    b: np.ndarray,
    X: np.ndarray,
    codes: np.ndarray,
    s: np.ndarray,
    total: float,
    alpha: float,
) -> tuple[float, np.ndarray, np.ndarray]:
    """(1/S) Σ_n s_n (−log P_{n,y_n}) + (α/2)‖W‖² and its gradient, S = ``total``.

    The logits are shifted by their row maximum, as in ``_math.softmax``, so that
    log Σ_c exp(g_c) = m + log Σ_c exp(g_c − m) never overflows; the products with X run
    in X's precision, the rest in float64 (as ``softmax_cross_entropy`` does).
    """
    N = X.shape[0]
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    G = (X @ W.astype(dtype).T).astype(np.float64, copy=False) + b  # (N, C)
    G -= G.max(axis=1, keepdims=True)
    rows, codes = np.arange(N), np.asarray(codes, dtype=np.intp)
    fit = G[rows, codes]
    np.exp(G, out=G)
    sums = G.sum(axis=1)
    loss = float(s @ (np.log(sums) - fit)) / total + 0.5 * alpha * float(np.sum(W * W))
    G /= sums[:, None]  # P
    G[rows, codes] -= 1.0  # P − Y
    G *= (s / total)[:, None]
    grad_W = (G.astype(dtype, copy=False).T @ X).astype(np.float64, copy=False) + alpha * W
    return loss, grad_W, G.sum(axis=0)
