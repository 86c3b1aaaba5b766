"""The update rules θ, g, state → θ′, state′, and the mini-batches of one epoch."""

from __future__ import annotations

import numpy as np


def gd_step(
    theta: np.ndarray, grad: np.ndarray, state: dict, *, learning_rate: float
) -> tuple[np.ndarray, dict]:
    """Take a gradient-descent step, θ′ = θ − η g.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        The current parameters θ.
    grad : ndarray of shape (n_params,)
        The gradient g at θ.
    state : dict
        The rule's state from the previous step; empty at the first step.
    learning_rate : float
        The step size η > 0.

    Returns
    -------
    theta : ndarray of shape (n_params,)
        The parameters after the step.
    state : dict
        ``state``, unchanged (the rule keeps none).

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn.optim import gd_step
    >>> gd_step(np.array([1.0, 2.0]), np.array([0.5, -1.0]), {}, learning_rate=0.1)
    (array([0.95, 2.1 ]), {})
    """
    return theta - learning_rate * grad, state


def momentum_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: dict,
    *,
    learning_rate: float,
    momentum: float = 0.9,
) -> tuple[np.ndarray, dict]:
    """Take a heavy-ball momentum step, v′ = μ v − η g and θ′ = θ + v′.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        The current parameters θ.
    grad : ndarray of shape (n_params,)
        The gradient g at θ.
    state : dict
        The rule's state from the previous step; empty at the first step.
    learning_rate : float
        The step size η > 0.
    momentum : float, default=0.9
        The momentum μ in [0, 1).

    Returns
    -------
    theta : ndarray of shape (n_params,)
        The parameters after the step.
    state : dict
        ``{"velocity": v′}``; v = 0 at the first step.

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn.optim import momentum_step
    >>> momentum_step(np.array([1.0]), np.array([2.0]), {}, learning_rate=0.1)
    (array([0.8]), {'velocity': array([-0.2])})
    """
    velocity = momentum * state.get("velocity", 0.0) - learning_rate * grad
    return theta + velocity, {"velocity": velocity}


def nesterov_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: dict,
    *,
    learning_rate: float,
    momentum: float = 0.9,
) -> tuple[np.ndarray, dict]:
    """Take a Nesterov momentum step, v′ = μ v − η g and θ′ = θ + μ v′ − η g.

    The classical form evaluates g at θ + μ v; this one tracks the look-ahead point
    instead (Sutskever et al., 2013), so g is the gradient at the current θ, as for every
    other rule.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        The current parameters θ.
    grad : ndarray of shape (n_params,)
        The gradient g at θ.
    state : dict
        The rule's state from the previous step; empty at the first step.
    learning_rate : float
        The step size η > 0.
    momentum : float, default=0.9
        The momentum μ in [0, 1).

    Returns
    -------
    theta : ndarray of shape (n_params,)
        The parameters after the step.
    state : dict
        ``{"velocity": v′}``; v = 0 at the first step.

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn.optim import nesterov_step
    >>> nesterov_step(np.array([1.0]), np.array([2.0]), {}, learning_rate=0.1)
    (array([0.62]), {'velocity': array([-0.2])})
    """
    velocity = momentum * state.get("velocity", 0.0) - learning_rate * grad
    return theta + momentum * velocity - learning_rate * grad, {"velocity": velocity}


def adam_step(
    theta: np.ndarray,
    grad: np.ndarray,
    state: dict,
    *,
    learning_rate: float,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-8,
) -> tuple[np.ndarray, dict]:
    """Take an Adam step, η m̂ / (√ŝ + ε) per coordinate (Kingma & Ba, 2015).

    m̂ and ŝ are the bias-corrected running means of g and g², so the first steps are
    about η in every coordinate whatever the scale of g.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        The current parameters θ.
    grad : ndarray of shape (n_params,)
        The gradient g at θ.
    state : dict
        The rule's state from the previous step; empty at the first step.
    learning_rate : float
        The step size η > 0.
    beta_1 : float, default=0.9
        Decay β₁ of the running mean of g.
    beta_2 : float, default=0.999
        Decay β₂ of the running mean of g².
    epsilon : float, default=1e-8
        The ε added to √ŝ against division by zero.

    Returns
    -------
    theta : ndarray of shape (n_params,)
        The parameters after the step.
    state : dict
        ``{"t": t, "m": m′, "s": s′}``: the step count, from 1, and the running means.

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn.optim import adam_step
    >>> theta, state = adam_step(np.array([1.0, 1.0]), np.array([2.0, -0.01]), {},
    ...                          learning_rate=0.1)
    >>> theta.round(6), state["t"]
    (array([0.9, 1.1]), 1)
    """
    t = state.get("t", 0) + 1
    m = beta_1 * state.get("m", 0.0) + (1.0 - beta_1) * grad
    s = beta_2 * state.get("s", 0.0) + (1.0 - beta_2) * grad * grad
    m_hat, s_hat = m / (1.0 - beta_1**t), s / (1.0 - beta_2**t)
    return theta - learning_rate * m_hat / (np.sqrt(s_hat) + epsilon), {"t": t, "m": m, "s": s}


#: Solver name → update rule.
UPDATE_RULES = {
    "gd": gd_step,
    "sgd": gd_step,
    "momentum": momentum_step,
    "nesterov": nesterov_step,
    "adam": adam_step,
}


def minibatches(n_samples: int, batch_size: int, rng: np.random.RandomState) -> list[np.ndarray]:
    """Cut a fresh random permutation of ``range(n_samples)`` into batches: one epoch.

    Parameters
    ----------
    n_samples : int
        Number of samples N.
    batch_size : int
        Samples per batch; the last batch is smaller when it does not divide N.
    rng : numpy.random.RandomState
        Draws the permutation.

    Returns
    -------
    batches : list of ndarray
        The sample indices of each batch, every index once.

    Examples
    --------
    >>> import numpy as np
    >>> from scratchlearn.optim import minibatches
    >>> [batch.tolist() for batch in minibatches(5, 2, np.random.RandomState(0))]
    [[2, 0], [1, 3], [4]]
    """
    order = rng.permutation(n_samples)
    return [order[start : start + batch_size] for start in range(0, n_samples, batch_size)]
