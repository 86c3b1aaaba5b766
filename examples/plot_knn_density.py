"""
kNN density estimation
======================

``KNeighborsDensity`` grows a ball around x until it holds K training points and divides:
p(x) = K / (N·V), with V the volume of that ball (Bishop, *Pattern Recognition and Machine
Learning*, §2.5.2). This example compares the estimate with a known density in one
dimension, shows why its likelihood cannot choose K, and draws the class densities
p(x|c) of the two moons.
"""

# %%
# One dimension, against the true density
# ---------------------------------------
# 400 draws from a mixture of two Gaussians. Small K follows the sample's noise; large K
# flattens the two modes and fattens the tails.
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm

from scratchlearn import KNeighborsDensity
from scratchlearn.datasets import load_moons_split

rng = np.random.default_rng(0)
N = 400
from_first = rng.random(N) < 0.6
x = np.where(from_first, rng.normal(-1.0, 0.5, N), rng.normal(1.5, 0.8, N))
X = x[:, None]  # the estimators take an (n_samples, n_features) array


def true_density(t):
    return 0.6 * norm.pdf(t, -1.0, 0.5) + 0.4 * norm.pdf(t, 1.5, 0.8)


t = np.linspace(-3.5, 4.5, 801)
fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
ax.plot(t, true_density(t), color="black", lw=2, label="true density")
for K, color in [(5, "#E69F00"), (30, "#009E73"), (150, "#CC79A7")]:
    density = KNeighborsDensity(n_neighbors=K).fit(X)
    ax.plot(t, np.exp(density.score_samples(t[:, None])), color=color, label=f"K = {K}")
ax.plot(x, np.full(N, -0.02), "|", color="grey", alpha=0.5)
ax.set(xlabel="x", ylabel="p(x)", ylim=(-0.05, 0.75), title="kNN density of 400 draws")
ax.legend()
plt.show()

# %%
# Not a normalised density, so not a likelihood
# ---------------------------------------------
# Far from the data the ball's radius grows like \|x\|, so p(x) decays like K / (2N·\|x\|)
# and the integral of the estimate diverges (slowly, like the logarithm of the range).
# A consequence: the leave-one-out log-likelihood (``score_samples()`` without X, each
# training point left out of its own ball) cannot choose K. It rewards small K and can
# score above the true density itself. Where the truth is known, the integrated error
# ∫ \|p̂ − p\| dx does choose a sensible K; on real data, choose K by what the density is
# for (for classification, the cross-validated accuracy of ``KNeighborsClassifier``).
wide = np.linspace(-50, 50, 20_001)
step = wide[1] - wide[0]
Ks = [2, 4, 8, 16, 32, 64, 128, 256]
rows = []
for K in Ks:
    density = KNeighborsDensity(n_neighbors=K).fit(X)
    p_hat = np.exp(density.score_samples(wide[:, None]))
    rows.append((np.sum(p_hat) * step,
                 np.sum(np.abs(p_hat - true_density(wide))) * step,
                 density.score_samples().mean()))
print("   K   ∫ p̂ dx over [-50, 50]   ∫ |p̂ - p| dx   mean leave-one-out log p̂")
for K, (mass, error, loo) in zip(Ks, rows, strict=True):
    print(f"{K:4d}   {mass:20.3f}   {error:13.3f}   {loo:24.3f}")
print(f"the true density: mean log p = {np.log(true_density(x)).mean():.3f}")

mass, error, loo = np.array(rows).T
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
left.semilogx(Ks, error, "o-", base=2)
left.set(xlabel="K", ylabel="∫ |p̂ - p| dx", title="Error against the true density")
right.semilogx(Ks, loo, "o-", base=2, label="kNN estimate, leave-one-out")
right.axhline(np.log(true_density(x)).mean(), color="black", ls="--", label="true density")
right.set(xlabel="K", ylabel="mean log density", title="Leave-one-out log-likelihood")
right.legend()
plt.show()

# %%
# Class densities on the two moons
# --------------------------------
# With labels, the same ball gives p(x|c) = K_c / (N_c·V) for each class, the priors
# p(c) = N_c / N, and Bayes' rule p(c|x) = K_c / K: exactly the kNN classifier's
# probabilities. One ball serves every class, so Σ_c p(x|c) p(c) = p(x) holds exactly.
X_train, X_test, y_train, y_test = load_moons_split()
density = KNeighborsDensity(n_neighbors=16).fit(X_train, y_train)

x0, x1 = np.meshgrid(np.linspace(-1.6, 2.6, 141), np.linspace(-1.2, 1.7, 98))
grid = np.column_stack([x0.ravel(), x1.ravel()])
log_p = density.score_samples(grid)
log_p_c = density.class_log_density(grid)  # one column per class
mixture = np.exp(log_p_c) @ density.class_prior_
print("largest |Σ_c p(x|c) p(c) - p(x)| / p(x):",
      f"{np.max(np.abs(mixture - np.exp(log_p)) / np.exp(log_p)):.1e}")

fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True, layout="constrained")
panels = [(log_p, "log p(x), all points", X_train)] + [
    (log_p_c[:, c], f"log p(x | c = {c}), class {c}'s points", X_train[y_train == c])
    for c in density.classes_
]
for ax, (values, title, points) in zip(axes, panels, strict=True):
    shown = np.where(np.isfinite(values), values, np.nan).reshape(x0.shape)
    image = ax.pcolormesh(x0, x1, shown, cmap="viridis", vmin=-6, shading="auto")
    ax.scatter(*points.T, s=2, c="white", alpha=0.5)
    ax.set_title(title)
fig.colorbar(image, ax=axes, shrink=0.9, extend="min", label="log density")
fig.suptitle("kNN densities on the two moons, K = 16 (blank: no point of the class "
             "among the K nearest, p(x|c) = 0)")
plt.show()
