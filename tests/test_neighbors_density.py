"""KNeighborsDensity against true densities, the maths identities and the classifier."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.neighbors import KNeighborsClassifier as SklearnKNN

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


# --- labels are checked as KNeighborsClassifier checks them --------------------------------


MIXED = r"mixes strings with other label types"


@pytest.mark.parametrize(
    "y, match, sklearn_same",
    [
        (np.linspace(0.0, 1.0, 10), "Unknown label type: continuous", True),
        (np.array([1, "a"] * 5, dtype=object), MIXED + r" \(int, str\)", False),
        ([None, "a"] * 5, MIXED + r" \(NoneType, str\)", False),
        (np.array([0.0, 1.0] * 4 + [np.nan, 1.0]), "Input y contains NaN", True),
        (np.arange(9), "inconsistent numbers of samples", True),
    ],
)
def test_bad_labels_get_the_classifiers_error(y, match, sklearn_same):
    X = np.random.default_rng(9).normal(size=(10, 2))
    errors = []
    for estimator in (KNeighborsClassifier(3), KNeighborsDensity(3)):
        with pytest.raises(ValueError, match=match) as info:
            estimator.fit(X, y)
        errors.append(str(info.value).replace(type(estimator).__name__, "<estimator>"))
    assert errors[0] == errors[1]  # side by side: the same message
    if sklearn_same:
        with pytest.raises(ValueError, match=match):
            SklearnKNN(3).fit(X, y)


@pytest.mark.parametrize(
    "labels", [np.array([3, 7]), np.array(["b", "a", "c"]), np.array([True, False]),
               np.array([0.0, 2.0])]
)  # fmt: skip
def test_good_labels_give_the_classifiers_classes(labels):
    rng = np.random.default_rng(10)
    X, y = rng.normal(size=(40, 2)), labels[rng.integers(0, len(labels), 40)]
    density = KNeighborsDensity(5).fit(X, y)
    classifier = KNeighborsClassifier(5).fit(X, y)
    np.testing.assert_array_equal(density.classes_, classifier.classes_)
    np.testing.assert_array_equal(density.classes_, SklearnKNN(5).fit(X, y).classes_)
    np.testing.assert_allclose(density.predict_proba(X), classifier.predict_proba(X))


# --- extreme magnitudes: log p(x) shifts by exactly −d·log(scale) --------------------------


@pytest.mark.parametrize("scale_exponent", [-1000, -997, -531, -332, 332, 531, 997, 1000])
@pytest.mark.parametrize(
    "metric, p, algorithm",
    [("euclidean", 2, "brute"), ("euclidean", 2, "kd_tree"), ("manhattan", 1, "auto"),
     ("chebyshev", 2, "kd_tree"), ("minkowski", 3, "brute"), ("minkowski", 3, "kd_tree")],
)  # fmt: skip
def test_log_density_of_extreme_values_is_the_analytic_shift(scale_exponent, metric, p,
                                                             algorithm):  # fmt: skip
    # X·2^s (s = ±332, ±531, ±997, ±1000: about 1e±100, 1e±160, 1e±300, 2^±1000) is
    # exactly X rescaled, so every radius is r·2^s and log p(x) = log p_X(x) − d·s·log 2.
    rng = np.random.default_rng(11)
    X, Q, y = rng.normal(size=(150, 3)), rng.normal(size=(20, 3)), rng.integers(0, 3, 150)
    X_big, Q_big = np.ldexp(X, scale_exponent), np.ldexp(Q, scale_exponent)
    shift = -3 * scale_exponent * np.log(2.0)
    settings = {"n_neighbors": 6, "metric": metric, "p": p, "algorithm": algorithm}
    reference = KNeighborsDensity(**settings).fit(X, y)
    model = KNeighborsDensity(**settings).fit(X_big, y)
    log_p, expected = model.score_samples(Q_big), reference.score_samples(Q) + shift
    assert np.all(np.isfinite(log_p))
    np.testing.assert_allclose(log_p, expected, rtol=1e-13, atol=1e-10)
    np.testing.assert_allclose(model.score_samples(), reference.score_samples() + shift,
                               rtol=1e-13, atol=1e-10)  # fmt: skip
    class_density = reference.class_log_density(Q) + shift
    np.testing.assert_allclose(model.class_log_density(Q_big), class_density, rtol=1e-13,
                               atol=1e-10)  # fmt: skip
    np.testing.assert_array_equal(model.predict_proba(Q_big), reference.predict_proba(Q))


@pytest.mark.parametrize("scale", [1e160, 1e300, 1e-160, 1e-300])
def test_log_density_at_decimal_extremes_matches_a_float64_brute_force(scale):
    # 1e±160, 1e±300 are not powers of two: compare with the density computed by hand
    # from distances of the data brought to order 1 by a power of two.
    rng = np.random.default_rng(12)
    X, Q = rng.normal(size=(100, 2)) * scale, rng.normal(size=(10, 2)) * scale
    k = -round(np.log2(scale))
    r = np.sort(cdist(np.ldexp(Q, k), np.ldexp(X, k)), axis=1)[:, 4]  # 5th neighbour
    expected = np.log(5 / 100) - np.log(np.pi * r**2) + 2 * k * np.log(2.0)
    for algorithm in ("brute", "kd_tree"):
        log_p = KNeighborsDensity(5, algorithm=algorithm).fit(X).score_samples(Q)
        np.testing.assert_allclose(log_p, expected, rtol=1e-13)


@pytest.mark.parametrize("algorithm", ["auto", "brute", "kd_tree"])
@pytest.mark.parametrize("metric", ["cosine", "sqeuclidean"])
def test_metrics_without_a_ball_volume_are_refused_first(metric, algorithm):
    # Even where the tree could not search the metric either, the density's reason comes.
    with pytest.raises(ValueError, match=f"needs a metric with a ball volume.*'{metric}'"):
        KNeighborsDensity(3, metric=metric, algorithm=algorithm).fit(np.eye(10, 2))
