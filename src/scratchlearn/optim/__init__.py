"""Optimisers for any objective ``fun(θ) -> (J, ∇J)`` of a flat parameter vector θ.

The update rules :func:`gd_step`, :func:`momentum_step`, :func:`nesterov_step` and
:func:`adam_step` map (θ, g, state) to (θ′, state′); :func:`descend` runs any of them on
the full batch or on mini-batches (:func:`minibatches`), and :func:`lbfgs` hands the same
objective to SciPy's L-BFGS-B. Every solver returns an :class:`OptimizeResult` and keeps
one stopping rule, :func:`converged`: θ and J(θ) are finite and
``max(abs(∇J(θ))) <= tol`` at the θ returned. :class:`~scratchlearn.SoftmaxRegression`
trains with them.

The update rules as formulas, and what "converged" means, are in :doc:`/optimizers`.
"""

from ._descend import descend
from ._lbfgs import lbfgs
from ._result import Objective, OptimizeResult, converged
from ._rules import (
    UPDATE_RULES,
    adam_step,
    gd_step,
    minibatches,
    momentum_step,
    nesterov_step,
)

__all__ = [
    "UPDATE_RULES",
    "Objective",
    "OptimizeResult",
    "adam_step",
    "converged",
    "descend",
    "gd_step",
    "lbfgs",
    "minibatches",
    "momentum_step",
    "nesterov_step",
]
