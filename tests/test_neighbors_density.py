"""KNeighborsDensity against true densities, the maths identities and the classifier."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from scratchlearn import KNeighborsClassifier, KNeighborsDensity
from scratchlearn.datasets import load_moons_split


def test_uniform_square_has_density_close_to_one_inside():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(20_000, 2))
    queries = rng.uniform(0.2, 0.8, size=(500, 2))  # away from the edges
    density = np.exp(KNeighborsDensity(n_neighbors=100).fit(X).score_samples(queries))
    assert np.median(density) == pytest.approx(1.0, abs=0.03)
    # K/(N·V) has a relative spread of about 1/√K = 0.1 for K = 100.
    assert np.std(density) < 0.15


@pytest.mark.parametrize("d, n, k", [(1, 5000, 50), (2, 20_000, 100), (10, 20_000, 200)])
def test_gaussian_estimates_follow_the_true_pdf(d, n, k):
    rng = np.random.default_rng(d)
    X = rng.normal(size=(n, d))
    queries = rng.normal(size=(300, d)) * 0.7  # the well-sampled middle
    estimate = KNeighborsDensity(n_neighbors=k).fit(X).score_samples(queries)
    truth = multivariate_normal(mean=np.zeros(d)).logpdf(queries)
    # The estimate is noisy and, in 10-D, biased, but it must rank and scale like the truth.
    assert np.corrcoef(estimate, truth)[0, 1] > 0.9
    assert np.median(np.abs(estimate - truth)) < (0.15 if d < 10 else 1.0)


def test_score_samples_is_k_over_n_v():
    rng = np.random.default_rng(3)
    X, queries = rng.normal(size=(50, 3)), rng.normal(size=(7, 3))
    estimator = KNeighborsDensity(n_neighbors=4).fit(X)
    for q, log_p in zip(queries, estimator.score_samples(queries), strict=True):
        r = np.sort(np.linalg.norm(X - q, axis=1))[3]  # distance to the 4th neighbour
        volume = 4 / 3 * np.pi * r**3
        assert log_p == pytest.approx(np.log(4 / (50 * volume)))


def test_leave_one_out_excludes_the_point_itself():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 2))
    estimator = KNeighborsDensity(n_neighbors=1).fit(X)
    loo = estimator.score_samples()
    assert np.all(np.isfinite(loo))  # with the point itself, r_1 = 0 and p = inf
    for i in (0, 17, 39):
        others = np.delete(X, i, axis=0)
        r = np.min(np.linalg.norm(others - X[i], axis=1))
        assert loo[i] == pytest.approx(np.log(1 / (39 * np.pi * r**2)))


def test_sixty_four_dimensions_stay_finite():
    rng = np.random.default_rng(5)
    X = rng.uniform(size=(300, 64))
    log_p = KNeighborsDensity(n_neighbors=5).fit(X).score_samples(rng.uniform(size=(10, 64)))
    assert np.all(np.isfinite(log_p))


@pytest.fixture(scope="module")
def moons():
    return load_moons_split()


@pytest.mark.parametrize("k", [2, 4, 8, 16, 32])
def test_class_densities_are_consistent_with_p_x(moons, k):
    X_train, X_test, y_train, _ = moons
    estimator = KNeighborsDensity(n_neighbors=k).fit(X_train, y_train)
    np.testing.assert_allclose(estimator.class_prior_, [453 / 900, 447 / 900])
    # Σ_c p(x|c) p(c) = p(x): one sphere for all classes makes this exact.
    joint = estimator.class_log_density(X_test) + np.log(estimator.class_prior_)
    np.testing.assert_allclose(logsumexp(joint, axis=1), estimator.score_samples(X_test))
    # p(c|x) = K_c / K equals the classifier's probabilities for the same k.
    classifier = KNeighborsClassifier(n_neighbors=k).fit(X_train, y_train)
    np.testing.assert_allclose(estimator.predict_proba(X_test), classifier.predict_proba(X_test))


def test_leave_one_out_class_densities_use_n_c_minus_one():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(30, 2))
    y = np.array(["a", "b", "c"])[rng.integers(0, 3, 30)]
    estimator = KNeighborsDensity(n_neighbors=5).fit(X, y)
    class_density = estimator.class_log_density()
    _, indices = estimator.kneighbors()
    for i in (0, 11, 29):
        r = np.linalg.norm(X[indices[i, -1]] - X[i])
        for c_index, c in enumerate(estimator.classes_):
            k_c = np.sum(y[indices[i]] == c)
            n_c = np.sum(y == c) - (y[i] == c)
            expected = np.log(k_c / (n_c * np.pi * r**2)) if k_c else -np.inf
            assert class_density[i, c_index] == pytest.approx(expected)


def test_class_methods_need_labels():
    estimator = KNeighborsDensity(3).fit(np.eye(10, 2))
    with pytest.raises(ValueError, match=r"fit\(X, y\)"):
        estimator.class_log_density(np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"n_neighbors=10 .*9 training samples"):
        KNeighborsDensity(10).fit(np.eye(10, 2)).score_samples()
