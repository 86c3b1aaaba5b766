"""Losses with their gradients, as pure functions of the parameters and the data.

Every function here returns the loss together with its gradient, so that an optimiser (or
``scipy.optimize.minimize(..., jac=True)``) needs one call per step, and every gradient is
checked against ``scratchlearn.gradcheck`` in the tests.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Least squares and Huber (Task 2). Both losses use the same scale, ρ(r) = r² for small
# residuals, so that the Huber objective tends to the least-squares one as ε → ∞.


def least_squares_loss(
    W: np.ndarray,
    b: np.ndarray,
    X: np.ndarray,
    Y: np.ndarray,
    alpha: float = 0.0,
    sample_weight: np.ndarray | None = None,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Residual sum of squares with an L2 penalty on W, and its gradient.

    With residuals R = Y − X Wᵀ − b and sample weights s (all 1 by default),

        J(W, b) = Σ_n s_n ‖R_n‖² + α ‖W‖²_F,
        ∂J/∂W   = −2 (s ∘ R)ᵀ X + 2 α W,
        ∂J/∂b   = −2 Σ_n s_n R_n.

    Setting both to zero gives the normal equations (X̃ᵀ S X̃ + α I) W̃ᵀ = X̃ᵀ S Y for the
    augmented X̃ = [X 1]; the bias is not penalised. This is scikit-learn's ``Ridge``
    objective.

    Parameters
    ----------
    W : ndarray of shape (n_targets, n_features)
    b : ndarray of shape (n_targets,)
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_targets)
    alpha : float, default=0.0
        L2 penalty strength α ≥ 0.
    sample_weight : ndarray of shape (n_samples,), default=None

    Returns
    -------
    loss : float
    grad_W : ndarray of shape (n_targets, n_features)
    grad_b : ndarray of shape (n_targets,)
    """
    R = Y - X @ W.T - b
    s = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    sR = s[:, None] * R
    loss = np.sum(sR * R) + alpha * np.sum(W * W)
    return float(loss), -2.0 * sR.T @ X + 2.0 * alpha * W, -2.0 * sR.sum(axis=0)


def huber(r: np.ndarray, epsilon: float) -> np.ndarray:
    """Huber's loss of each residual: quadratic up to ε, linear beyond.

        ρ_ε(r) = r²              for |r| ≤ ε,
        ρ_ε(r) = 2ε|r| − ε²      for |r| > ε,

    continuous with a continuous derivative ρ'_ε(r) = 2r · min(1, ε/|r|): a residual beyond ε
    pulls with a constant force 2ε instead of 2|r|.
    """
    a = np.abs(r)
    return np.where(a <= epsilon, a * a, epsilon * (2.0 * a - epsilon))


def huber_weights(r: np.ndarray, epsilon: float) -> np.ndarray:
    """IRLS weights ω(r) = ρ'_ε(r) / (2r) = min(1, ε/|r|), each in (0, 1].

    With these weights fixed, the weighted squared loss Σ ω_n r_n² has the same gradient as
    Σ ρ_ε(r_n) at the current residuals, and lies above it (up to a constant), so solving the
    weighted least-squares problem never increases the Huber objective.
    """
    # ε / max(|r|, ε) is min(1, ε/|r|) without dividing by zero.
    return epsilon / np.maximum(np.abs(r), epsilon)


def huber_loss(
    W: np.ndarray,
    b: np.ndarray,
    X: np.ndarray,
    Y: np.ndarray,
    epsilon: float,
    alpha: float = 0.0,
    sample_weight: np.ndarray | None = None,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Huber loss of the residuals with an L2 penalty on W, and its gradient.

    With residuals R = Y − X Wᵀ − b, ω = ``huber_weights(R, ε)`` and sample weights s,

        J(W, b) = Σ_n s_n Σ_k ρ_ε(R_nk) + α ‖W‖²_F,
        ∂J/∂W   = −2 (s ∘ ω ∘ R)ᵀ X + 2 α W,
        ∂J/∂b   = −2 Σ_n s_n ω_n ∘ R_n,

    which is ``least_squares_loss``'s gradient with the weights s ∘ ω.

    Parameters
    ----------
    W : ndarray of shape (n_targets, n_features)
    b : ndarray of shape (n_targets,)
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_targets)
    epsilon : float
        Threshold ε > 0 between the quadratic and the linear part, in units of Y.
    alpha : float, default=0.0
    sample_weight : ndarray of shape (n_samples,), default=None

    Returns
    -------
    loss : float
    grad_W : ndarray of shape (n_targets, n_features)
    grad_b : ndarray of shape (n_targets,)
    """
    R = Y - X @ W.T - b
    s = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    loss = np.sum(s[:, None] * huber(R, epsilon)) + alpha * np.sum(W * W)
    sWR = s[:, None] * huber_weights(R, epsilon) * R
    return float(loss), -2.0 * sWR.T @ X + 2.0 * alpha * W, -2.0 * sWR.sum(axis=0)


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows of the identity: ``Y[n, c] = 1[y_n = c]`` for integer codes ``y`` in ``0..C-1``.

    This is the target the sheet's gradient needs: ``P − Y`` with ``Y`` one-hot, not the
    column of class indices that the sheet subtracts (which broadcasts instead of failing).

    Returns
    -------
    ndarray of shape (n_samples, n_classes)
    """
    y = np.asarray(y)
    Y = np.zeros((y.shape[0], n_classes))
    Y[np.arange(y.shape[0]), y] = 1.0
    return Y


#: Rows per block in ``softmax_cross_entropy``: about 4 MiB of X, which then stays in cache
#: from the product that forms the block's logits to the one that forms its gradient.
_BLOCK_BYTES = 2**22


def softmax_cross_entropy(
    W: np.ndarray,
    b: np.ndarray,
    X: np.ndarray,
    Y: np.ndarray,
    alpha: float = 0.0,
    *,
    n_threads: int = 1,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean softmax cross-entropy with an L2 penalty on W, and its gradient.

    With logits G = X Wᵀ + b and P = softmax(G) row by row,

        J(W, b) = −(1/N) Σ_n Σ_c Y_nc log P_nc + (α/2) ‖W‖²_F,
        ∂J/∂W   = (1/N) (P − Y)ᵀ X + α W,
        ∂J/∂b   = (1/N) Σ_n (P_n − Y_n).

    The bias is not penalised. With α = 1/(C·N) this is scikit-learn's
    ``LogisticRegression(C)`` objective for the multinomial model.

    **One pass over the logits.** Since log P_nc = G_nc − lse_n with
    lse_n = m_n + log Σ_c exp(G_nc − m_n) and m_n = max_c G_nc, and Σ_c Y_nc = 1,

        J = (1/N) Σ_n (lse_n − Σ_c Y_nc G_nc) + (α/2) ‖W‖²_F,

    so the shifted logits G − m, their exponentials and the row sums serve the loss and,
    divided by those sums, P for the gradient: two products with X (the logits and
    (P − Y)ᵀ X) and a few in-place passes over the logits (see ``_cross_entropy_sums``).

    **By blocks of rows.** J and ∇J are sums over the samples, so X is taken in blocks of
    about 4 MiB, each block's sums are computed on its own, and the blocks' sums are added
    in order (the result does not depend on ``n_threads``). A block stays in cache between
    its two products, and with ``n_threads`` > 1 that many blocks are worked on at once
    (NumPy and BLAS release the GIL); BLAS should then be limited to one thread
    (``threadpoolctl``) so that the two levels do not oversubscribe the cores.

    **Precision.** The two products with X run in X's precision (float32 stays float32,
    half the memory traffic); the softmax, the loss and the sums run in float64.

    Parameters
    ----------
    W : ndarray of shape (n_classes, n_features)
    b : ndarray of shape (n_classes,)
    X : ndarray of shape (n_samples, n_features)
        float64 or float32.
    Y : ndarray of shape (n_samples, n_classes) or (n_samples,)
        One-hot targets (any rows summing to 1 work, e.g. soft labels), or the integer
        class codes y_n in ``0..n_classes-1``, which stand for ``one_hot(y, n_classes)``
        without forming it.
    alpha : float, default=0.0
        L2 penalty strength α ≥ 0.
    n_threads : int, default=1
        Blocks of rows worked on at once.

    Returns
    -------
    loss : float
    grad_W : ndarray of shape (n_classes, n_features)
    grad_b : ndarray of shape (n_classes,)
    """
    N, D = X.shape
    W, b, Y = np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64), np.asarray(Y)
    rows = max(1024, _BLOCK_BYTES // (X.dtype.itemsize * max(D, 1)))
    starts = range(0, N, rows)

    def block(start):
        return _cross_entropy_sums(W, b, X[start : start + rows], Y[start : start + rows])

    if n_threads > 1 and len(starts) > 1:
        with ThreadPoolExecutor(min(n_threads, len(starts))) as pool:
            sums = list(pool.map(block, starts))
    else:
        sums = [block(start) for start in starts]
    loss, grad_W, grad_b = sums[0]
    for more in sums[1:]:
        loss, grad_W, grad_b = loss + more[0], grad_W + more[1], grad_b + more[2]
    loss = loss / N + 0.5 * alpha * np.sum(W * W)
    return float(loss), grad_W / N + alpha * W, grad_b / N


def _cross_entropy_sums(
    W: np.ndarray, b: np.ndarray, X: np.ndarray, Y: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Σ_n −Σ_c Y_nc log P_nc, (P − Y)ᵀ X and Σ_n (P_n − Y_n) for one block of rows.

    The logits are stored transposed, C × N, so that each reduction over the classes (the
    maximum, the sum of exponentials) is C − 1 element-wise operations on rows of length N
    rather than N short reductions; each pass then overwrites them in place: Gᵀ, Gᵀ − m,
    exp(Gᵀ − m), Pᵀ, (P − Y)ᵀ.
    """
    N = X.shape[0]
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    # Gᵀ, shape (C, N), C-ordered (a product with sparse X may come transposed): the flat
    # view below must write into it.
    GT = np.ascontiguousarray(W.astype(dtype) @ X.T, dtype=np.float64)
    GT += b[:, None]
    GT -= GT.max(axis=0)  # G − m: every exponent ≤ 0, as in ``_math.softmax``
    if Y.ndim == 1:  # class codes: Y_nc = 1[c = y_n], at flat position y_n·N + n of Gᵀ
        at_y = np.asarray(Y, dtype=np.intp) * N + np.arange(N)
        fit = GT.reshape(-1)[at_y].sum()  # Σ_n Σ_c Y_nc (G − m)_nc
        mass = 1.0  # Σ_c Y_nc for every n
    else:
        YT = Y.T
        fit = np.vdot(YT, GT)
        mass = YT.sum(axis=0)  # Σ_c Y_nc, 1 for one-hot rows
    np.exp(GT, out=GT)
    total = GT.sum(axis=0)  # Σ_c exp(G_nc − m_n), in [1, C]
    loss = np.sum(np.log(total) * mass) - fit  # Σ_n (lse_n − m_n) Σ_c Y_nc − Σ Y (G − m)
    # P − Y is ∂(−Σ_c Y_c log P_c)/∂G for each sample: the chain rule through softmax.
    GT /= total  # Pᵀ
    if Y.ndim == 1:
        GT.reshape(-1)[at_y] -= 1.0
    else:
        GT -= YT
    grad_W = (GT.astype(dtype, copy=False) @ X).astype(np.float64, copy=False)
    return float(loss), grad_W, GT.sum(axis=1)
