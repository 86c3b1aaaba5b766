"""
Decision regions as k grows
===========================

A k-nearest-neighbour classifier on the exercise sheet's two moons (900 training and 100
test points). The shading is the classifier's own estimate p(c=1 | x), the share of
class 1 among the k nearest training points, and the black line is p = 0.5, the decision
boundary. Small k follows every training point (k = 1 has zero training error and a
ragged boundary); larger k smooths it; at k = N_train every neighbourhood is the whole
training set and the model predicts the majority class everywhere.
"""

# %%
# The data and a grid over the plane
# -----------------------------------
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LinearSegmentedColormap

from scratchlearn import KNeighborsClassifier
from scratchlearn.datasets import load_moons_split

X_train, X_test, y_train, y_test = load_moons_split()
print(f"{len(X_train)} training points, {len(X_test)} test points")

# A 121 × 84 grid: fine enough for the figures; a query costs more as k grows.
x0, x1 = np.meshgrid(np.linspace(-1.6, 2.6, 121), np.linspace(-1.2, 1.7, 84))
grid = np.column_stack([x0.ravel(), x1.ravel()])

# Okabe-Ito blue and vermillion for classes 0 and 1, readable by colour-blind readers.
colors = np.array(["#0072B2", "#D55E00"])
shading = LinearSegmentedColormap.from_list("p1", ["#8fc3e6", "#f7f7f7", "#f2b48c"])

# %%
# p(c=1 | x) for six values of k
# ------------------------------
ks = [1, 5, 25, 100, 300, len(X_train)]
fig, axes = plt.subplots(2, 3, figsize=(11, 6.6), sharex=True, sharey=True,
                         layout="constrained")
for ax, k in zip(axes.flat, ks, strict=True):
    model = KNeighborsClassifier(n_neighbors=k).fit(X_train, y_train)
    p1 = model.predict_proba(grid)[:, 1].reshape(x0.shape)
    ax.contourf(x0, x1, p1, levels=np.linspace(0, 1, 11), cmap=shading, vmin=0, vmax=1)
    if p1.min() < 0.5 < p1.max():  # at k = N_train there is no boundary to draw
        ax.contour(x0, x1, p1, levels=[0.5], colors="black", linewidths=1.2)
    ax.scatter(*X_test.T, c=colors[y_test], s=14, edgecolors="white", linewidths=0.5)
    ax.set_title(f"k = {k}: train {model.score(X_train, y_train):.2f}, "
                 f"test {model.score(X_test, y_test):.2f}")
fig.suptitle("kNN decision regions on the two moons (test points shown)")
plt.show()

# %%
# Accuracy against k
# ------------------
# Training accuracy falls from 1 as k grows; test accuracy is flat over a wide range of k
# and drops once the neighbourhoods reach across the moons. At k = N_train both equal the
# share of the majority class.
ks = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, len(X_train)]
train_acc, test_acc = [], []
for k in ks:
    model = KNeighborsClassifier(n_neighbors=k).fit(X_train, y_train)
    train_acc.append(model.score(X_train, y_train))
    test_acc.append(model.score(X_test, y_test))
    print(f"k = {k:3d}: train {train_acc[-1]:.3f}, test {test_acc[-1]:.3f}")

fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
ax.semilogx(ks, train_acc, "o-", label="training set")
ax.semilogx(ks, test_acc, "s-", label="test set")
ax.set(xlabel="k (log scale)", ylabel="accuracy", title="Accuracy of kNN against k")
ax.legend()
plt.show()
