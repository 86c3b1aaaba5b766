"""Losses with their gradients, as pure functions of the parameters and the data.

Every function here returns the loss together with its gradient, so that an optimiser (or
``scipy.optimize.minimize(..., jac=True)``) needs one call per step, and every gradient is
checked against ``scratchlearn.gradcheck`` in the tests.
"""

from __future__ import annotations

import numpy as np

from .softmax import log_softmax

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


def softmax_cross_entropy(
    W: np.ndarray, b: np.ndarray, X: np.ndarray, Y: np.ndarray, alpha: float = 0.0
) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean softmax cross-entropy with an L2 penalty on W, and its gradient.

    With logits G = X Wᵀ + b and P = softmax(G) row by row,

        J(W, b) = −(1/N) Σ_n Σ_c Y_nc log P_nc + (α/2) ‖W‖²_F,
        ∂J/∂W   = (1/N) (P − Y)ᵀ X + α W,
        ∂J/∂b   = (1/N) Σ_n (P_n − Y_n).

    The bias is not penalised. With α = 1/(C·N) this is scikit-learn's
    ``LogisticRegression(C)`` objective for the multinomial model.

    Parameters
    ----------
    W : ndarray of shape (n_classes, n_features)
    b : ndarray of shape (n_classes,)
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_classes)
        One-hot targets (any rows summing to 1 work, e.g. soft labels).
    alpha : float, default=0.0
        L2 penalty strength α ≥ 0.

    Returns
    -------
    loss : float
    grad_W : ndarray of shape (n_classes, n_features)
    grad_b : ndarray of shape (n_classes,)
    """
    N = X.shape[0]
    log_P = log_softmax(X @ W.T + b)
    loss = -np.sum(Y * log_P) / N + 0.5 * alpha * np.sum(W * W)
    # P − Y is ∂(−Σ_c Y_c log P_c)/∂G for each sample: the chain rule through softmax.
    dG = (np.exp(log_P) - Y) / N
    return float(loss), dG.T @ X + alpha * W, dG.sum(axis=0)
