"""
The optimiser study
===================

Softmax regression on the 8×8 digits, trained to the same objective (the mean
cross-entropy plus (α/2)‖W‖², α = 1/N, scikit-learn's ``LogisticRegression(C=1)``) by each
solver of ``SoftmaxRegression``: gradient descent, mini-batch SGD, heavy-ball momentum,
Nesterov, Adam and L-BFGS. Every solver stops by one rule, ``max(abs(∂J/∂θ)) <= tol`` at
the weights it returns ("converged"); one that stops for any other reason warns.
"""

# %%
# A reference minimum
# -------------------
# L-BFGS with a tight tolerance gives J*, the minimum every curve below is measured from.
import textwrap
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from scratchlearn import SoftmaxRegression
from scratchlearn.datasets import load_digits_split

X_train, X_test, y_train, y_test = load_digits_split()
alpha = 1 / len(X_train)
reference = SoftmaxRegression("lbfgs", alpha=alpha, tol=1e-8, max_iter=10_000)
J_star = reference.fit(X_train, y_train).loss_curve_[-1]
print(f"J* = {J_star:.6f} after {reference.n_iter_} L-BFGS iterations")

# %%
# Each solver, 300 iterations at most
# -----------------------------------
# The learning rates are the exercise's tuned ones, the largest of a small grid whose loss
# never rose above its start. ``max_iter`` counts steps for the full-batch rules and
# epochs for mini-batch SGD. A fit that stops above ``tol`` warns with a
# ``ConvergenceWarning`` that says why; they are recorded here and printed.
solvers = {
    "gd": {"learning_rate": 2.0},
    "sgd": {"learning_rate": 0.5, "batch_size": 32},
    "momentum": {"learning_rate": 4.0, "momentum": 0.9},
    "nesterov": {"learning_rate": 2.0, "momentum": 0.9},
    "adam": {"learning_rate": 0.1},
    "lbfgs": {},
}
models, clocks = {}, {}
for name, settings in solvers.items():
    # ``callback(iteration, loss)`` runs after each iteration: here it timestamps them.
    stamps = []
    model = SoftmaxRegression(name, alpha=alpha, tol=1e-6, max_iter=300, random_state=0,
                              callback=lambda i, loss, stamps=stamps: stamps.append(
                                  time.perf_counter()), **settings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X_train, y_train)
    models[name], clocks[name] = model, np.array([start, *stamps]) - start
    print(f"{name:9s} {model.n_iter_:4d} iterations, {clocks[name][-1]:5.2f} s, "
          f"J - J* = {model.loss_curve_[-1] - J_star:.1e}, "
          f"test accuracy {model.score(X_test, y_test):.3f}")
    verdict = "converged" if not caught else str(caught[0].message)
    print(textwrap.fill(verdict, 88, initial_indent="    ", subsequent_indent="    "))

# %%
# J − J* against iterations and against time
# ------------------------------------------
# On a log scale the linear rate of gradient descent is a straight line; momentum and
# Nesterov bend it down; Adam is fast early and then slows; each SGD epoch takes N/32
# noisy steps, so it starts fast but its noise keeps it from the tolerance; L-BFGS, which
# builds a curvature model from the gradients it has seen, is the only one to reach
# ``tol`` here. Against time, an SGD epoch costs more than a full-batch step.
fig, (by_step, by_time) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True,
                                       layout="constrained")
for name, model in models.items():
    gap = np.maximum(np.asarray(model.loss_curve_) - J_star, 1e-12)
    by_step.semilogy(np.arange(len(gap)), gap, label=name)
    by_time.semilogy(clocks[name], gap, label=name)
by_step.set(xlabel="iteration (epoch for sgd)", ylabel="J - J*")
by_time.set(xlabel="seconds since the start of fit")
by_step.legend()
fig.suptitle("Softmax regression on the digits: distance to the minimum")
plt.show()
