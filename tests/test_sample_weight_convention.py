"""Which sample_weight convention SoftmaxRegression follows (issue 17, item 9), pinned by
the maths: J = (1/S) Σ s_n l_n + (α/2)‖W‖², S = Σ s_n, so only the weights' ratios count,
while scikit-learn's LogisticRegression(C) minimises C Σ s_n l_n + ½‖W‖², where scaling the
weights by c is C → c·C. The two agree exactly when α = 1/(C·S)."""

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from scratchlearn import SoftmaxRegression
from scratchlearn._math.softmax_objective import softmax_objective


def problem(n_classes, seed=21):
    X, y = make_classification(n_samples=120, n_features=4, n_informative=3, n_redundant=0,
                               n_classes=n_classes, n_clusters_per_class=1, random_state=seed)
    s = np.random.default_rng(seed).uniform(0.2, 3.0, len(X))
    return X, y, s


def test_objective_is_the_weighted_mean_and_ignores_the_weights_scale():
    X, y, s = problem(3)
    rng = np.random.default_rng(0)
    W, b, alpha = rng.normal(size=(3, 4)), rng.normal(size=3), 0.3
    theta = np.concatenate([W.ravel(), b])
    # The objective written out: per-row cross-entropy, weighted mean, L2 penalty on W.
    logits = X @ W.T + b
    losses = logsumexp(logits, axis=1) - logits[np.arange(len(y)), y]
    written_out = s @ losses / s.sum() + 0.5 * alpha * np.sum(W**2)
    for c in (1.0, 2.0, 1e-3, 1e4):
        loss, grad = softmax_objective(theta, X, y, 3, alpha, sample_weight=c * s)
        assert loss == pytest.approx(written_out, rel=1e-12)
        _, grad_unscaled = softmax_objective(theta, X, y, 3, alpha, sample_weight=s)
        np.testing.assert_allclose(grad, grad_unscaled, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_scaled_weights_leave_our_fit_and_move_logistic_regression_as_c_times_C(n_classes):
    X, y, s = problem(n_classes)
    C, c = 0.5, 2.0
    ours = [SoftmaxRegression(alpha=0.01, tol=1e-8, max_iter=5000).fit(X, y, sample_weight=w)
            for w in (s, c * s)]
    np.testing.assert_allclose(ours[1].coef_, ours[0].coef_, rtol=1e-6, atol=1e-7)

    def logistic(C_, weights):
        return LogisticRegression(C=C_, tol=1e-10, max_iter=10_000).fit(
            X, y, sample_weight=weights)

    theirs, doubled = logistic(C, s), logistic(C, c * s)
    assert np.abs(doubled.coef_ - theirs.coef_).max() > 1e-3  # their fit moves ...
    np.testing.assert_allclose(doubled.coef_, logistic(c * C, s).coef_, atol=1e-5)  # as c·C
    # ... and each equals ours with α = 1/(C·S), S the sum of the weights it was given.
    for weights, reference in ((s, theirs), (c * s, doubled)):
        alpha = 1 / (C * weights.sum())
        fitted = SoftmaxRegression(alpha=alpha, tol=1e-8, max_iter=5000)
        fitted.fit(X, y, sample_weight=weights)
        np.testing.assert_allclose(fitted.coef_, reference.coef_, atol=1e-5)
        np.testing.assert_allclose(fitted.intercept_, reference.intercept_, atol=1e-5)
