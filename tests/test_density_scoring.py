"""KNeighborsDensity: score against the maths, refitting, and leave-one-out edge cases."""

import numpy as np
import pytest
from scipy.special import gammaln

from scratchlearn import KNeighborsDensity


def knn_log_density_by_hand(X_fit, queries, k, leave_one_out=False):
    """log(K / (N·V)) in the Euclidean metric, every distance and volume computed here."""
    n, d = X_fit.shape
    out = []
    for i, q in enumerate(queries):
        distances = np.linalg.norm(X_fit - q, axis=1)
        if leave_one_out:
            distances = np.delete(distances, i)
        r = np.sort(distances)[k - 1]
        log_volume = d / 2 * np.log(np.pi) - gammaln(d / 2 + 1) + d * np.log(r)
        out.append(np.log(k) - np.log(n - leave_one_out) - log_volume)
    return np.array(out)


@pytest.mark.parametrize("k", [1, 4])
def test_score_is_the_total_log_likelihood(k):
    rng = np.random.default_rng(0)
    X, queries = rng.normal(size=(60, 3)), rng.normal(size=(9, 3))
    model = KNeighborsDensity(n_neighbors=k).fit(X)
    expected = knn_log_density_by_hand(X, queries, k)
    samples = model.score_samples(queries)
    np.testing.assert_allclose(samples, expected, rtol=1e-12)
    # Σ log p(x), as scikit-learn's KernelDensity.score: n times the mean of score_samples.
    score = model.score(queries)
    assert isinstance(score, float)
    assert score == pytest.approx(expected.sum(), rel=1e-12)
    assert score == pytest.approx(len(queries) * np.mean(samples), rel=1e-12)


def test_score_without_queries_is_the_leave_one_out_log_likelihood():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 2))
    model = KNeighborsDensity(n_neighbors=3).fit(X)
    expected = knn_log_density_by_hand(X, X, 3, leave_one_out=True)
    np.testing.assert_allclose(model.score_samples(), expected, rtol=1e-12)
    assert model.score() == pytest.approx(expected.sum(), rel=1e-12)
    # Without leaving each point out, its own distance 0 would count: not what X=None means.
    assert model.score() != pytest.approx(model.score(X))


def test_score_ignores_y():
    rng = np.random.default_rng(2)
    X, queries = rng.normal(size=(40, 2)), rng.normal(size=(5, 2))
    model = KNeighborsDensity(n_neighbors=2).fit(X, np.arange(40) % 2)
    assert model.score(queries, np.zeros(5)) == model.score(queries)


def test_refitting_without_labels_forgets_the_old_classes():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 2))
    model = KNeighborsDensity(n_neighbors=3).fit(X, np.arange(30) % 3)
    assert model.classes_.tolist() == [0, 1, 2]
    model.fit(X[:20])
    for name in ("classes_", "class_count_", "class_prior_"):
        assert not hasattr(model, name), name
    message = (r"^This KNeighborsDensity was fitted without labels; call fit\(X, y\) to use "
               r"class densities\.$")
    for method in (model.class_log_density, model.predict_proba):
        with pytest.raises(ValueError, match=message):
            method(X[:2])
    # The unlabelled fit itself is the new one: 20 points.
    assert model.n_samples_fit_ == 20
    np.testing.assert_allclose(
        model.score_samples(X[20:]), knn_log_density_by_hand(X[:20], X[20:], 3), rtol=1e-12
    )


def test_refitting_with_other_labels_replaces_the_classes():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(24, 2))
    model = KNeighborsDensity(n_neighbors=3).fit(X, np.arange(24) % 3)
    model.fit(X, np.where(np.arange(24) < 6, "a", "b"))
    assert model.classes_.tolist() == ["a", "b"]
    np.testing.assert_array_equal(model.class_count_, [6, 18])
    np.testing.assert_allclose(model.class_prior_, [0.25, 0.75])
    assert model.predict_proba(X[:3]).shape == (3, 2)


def test_one_member_class_in_leave_one_out_gives_minus_inf_not_nan():
    # Class 1 has one member: left out, its class has N_c − 1 = 0 points and none of its
    # neighbours can be of that class, so p(x | c) = 0 and log p(x | c) = −inf.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(12, 2))
    y = np.zeros(12, dtype=int)
    y[7] = 1
    model = KNeighborsDensity(n_neighbors=3).fit(X, y)
    log_density = model.class_log_density()  # RuntimeWarnings are errors in this suite
    assert not np.any(np.isnan(log_density))
    assert log_density[7, 1] == -np.inf
    # Its density under the other class is K_c / (N_c · V) with all K = 3 neighbours of
    # class 0 and N_0 = 11 (it is not in class 0, so nothing is subtracted).
    r = np.sort(np.delete(np.linalg.norm(X - X[7], axis=1), 7))[2]
    assert log_density[7, 0] == pytest.approx(np.log(3 / (11 * np.pi * r**2)), rel=1e-12)
    # The other points: class 0 has N_0 − 1 = 10 others; class 1 is −inf unless point 7 is
    # among their neighbours.
    for i in (0, 3, 11):
        distances = np.delete(np.linalg.norm(X - X[i], axis=1), i)
        others = np.delete(np.arange(12), i)
        neighbours = others[np.argsort(distances, kind="stable")[:3]]
        r = np.sort(distances)[2]
        k_0 = np.sum(y[neighbours] == 0)
        expected_0 = np.log(k_0 / (10 * np.pi * r**2)) if k_0 else -np.inf
        assert log_density[i, 0] == pytest.approx(expected_0, rel=1e-12)
        expected_1 = np.log(1 / (1 * np.pi * r**2)) if 7 in neighbours else -np.inf
        assert log_density[i, 1] == pytest.approx(expected_1, rel=1e-12)


def test_class_densities_with_queries_use_the_full_class_sizes():
    rng = np.random.default_rng(6)
    X, queries = rng.normal(size=(20, 2)), rng.normal(size=(4, 2))
    y = (np.arange(20) >= 15).astype(int)  # N_0 = 15, N_1 = 5
    model = KNeighborsDensity(n_neighbors=4).fit(X, y)
    log_density = model.class_log_density(queries)
    for q, row in zip(queries, log_density, strict=True):
        distances = np.linalg.norm(X - q, axis=1)
        neighbours = np.argsort(distances, kind="stable")[:4]
        volume = np.pi * np.sort(distances)[3] ** 2
        for c, n_c in enumerate((15, 5)):
            k_c = np.sum(y[neighbours] == c)
            expected = np.log(k_c / (n_c * volume)) if k_c else -np.inf
            assert row[c] == pytest.approx(expected, rel=1e-12)


def test_defaults_and_parameters_round_trip():
    model = KNeighborsDensity()
    assert model.get_params() == {"n_neighbors": 5, "algorithm": "auto", "leaf_size": 30,
                                  "metric": "minkowski", "p": 2, "metric_params": None,
                                  "n_jobs": None}
    params = {"n_neighbors": 3, "algorithm": "brute", "leaf_size": 30, "metric": "minkowski",
              "p": 3, "metric_params": None, "n_jobs": 1}
    assert KNeighborsDensity(**params).get_params() == params


def test_tags_describe_predict_proba_as_class_posteriors():
    # scikit-learn's checks read classifier_tags before calling predict_proba.
    tags = KNeighborsDensity().__sklearn_tags__()
    assert tags.classifier_tags is not None
    assert tags.input_tags.sparse  # brute force (auto) takes CSR input


@pytest.mark.parametrize("metric", ["cosine", "sqeuclidean"])
def test_metrics_without_a_ball_are_refused_with_the_reason(metric):
    message = (rf"metric='{metric}'.*are not a norm of x - x', so K / \(N·V\) has no volume V "
               r"to divide by\.$")
    with pytest.raises(ValueError, match=message):
        KNeighborsDensity(metric=metric).fit(np.eye(6, 2))
