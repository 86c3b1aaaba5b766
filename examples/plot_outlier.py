"""
One outlier: least squares, Huber and logistic regression
=========================================================

The exercise sheet's Task 2: two Gaussian blobs (labels +1 and −1) and one extra training
point of class −1 at s·(1, 1.75), far out on its own class's side. It is not
misclassified, yet least squares, which fits the ±1 targets, charges its large output
quadratically and turns the whole boundary towards it as s grows. Huber's loss charges
large residuals only linearly, so the outlier's pull is capped; logistic regression's
loss hardly notices a point that is already classified with confidence.
"""

# %%
# Fit the three classifiers for growing outlier scales
# ----------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np

from scratchlearn import HuberClassifier, LeastSquaresClassifier, SoftmaxRegression
from scratchlearn.datasets import make_blobs_with_outlier

scales = [1, 2, 4, 8, 16, 64]
estimators = {
    "least squares": lambda: LeastSquaresClassifier(),
    "Huber, ε = 1": lambda: HuberClassifier(epsilon=1.0),
    # Two classes make SoftmaxRegression logistic regression; α = 1/N is scikit-learn's
    # LogisticRegression(C=1).
    "logistic regression": lambda: SoftmaxRegression(alpha=1 / 901),
}

x0, x1 = np.meshgrid(np.linspace(-0.8, 1.8, 131), np.linspace(-0.8, 1.8, 131))
grid = np.column_stack([x0.ravel(), x1.ravel()])
fits = {name: [] for name in estimators}
for s in scales:
    X_train, X_test, y_train, y_test, X_plot, y_plot = make_blobs_with_outlier(outlier=s)
    for name, make in estimators.items():
        model = make().fit(X_train, y_train)
        fits[name].append((model.decision_function(grid).reshape(x0.shape),
                           model.score(X_test, y_test)))

print(f"{'test accuracy':21s}" + "".join(f"s = {s:<6}" for s in scales))
for name, results in fits.items():
    print(f"{name:21s}" + "".join(f"{accuracy:<10.2f}" for _, accuracy in results))

# %%
# The boundaries
# --------------
# Each line is one fit's decision boundary (its decision function is 0 there), one per
# outlier scale, over the training points without the outlier. The outlier itself lies
# outside the frame, up and to the right, at s·(1, 1.75).
colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(scales)))
fig, axes = plt.subplots(1, 3, figsize=(12, 5.2), sharey=True, layout="constrained")
for ax, (name, results) in zip(axes, fits.items(), strict=True):
    ax.scatter(*X_plot.T, c=np.where(y_plot > 0, "#0072B2", "#D55E00"), s=6, alpha=0.5)
    for (values, accuracy), s, color in zip(results, scales, colors, strict=True):
        ax.contour(x0, x1, values, levels=[0.0], colors=[color], linewidths=1.6)
        ax.plot([], [], color=color, label=f"s = {s}: test {accuracy:.2f}")
    ax.set_title(name)
    ax.set_xlabel("x₀")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8)
axes[0].set_ylabel("x₁")
fig.suptitle("Decision boundaries as the outlier at s·(1, 1.75) moves away")
plt.show()

# %%
# How much weight Huber leaves the outlier
# ----------------------------------------
# Huber's fit is least squares with per-point weights ω = min(1, ε/\|r\|) (``weights_``);
# the outlier's weight falls roughly like 1/s, so its residual's pull on the fit stays
# bounded. Its leverage, the size of x itself, is not bounded: that is why Huber's
# boundary still moves a little at s = 64.
for s in scales:
    X_train, X_test, y_train, y_test, *_ = make_blobs_with_outlier(outlier=s)
    huber = HuberClassifier(epsilon=1.0).fit(X_train, y_train)
    print(f"s = {s:2d}: the outlier's weight {huber.weights_[-1].item():.3f}, "
          f"{huber.n_iter_} weighted solves")
