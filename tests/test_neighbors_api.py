"""What the kNN estimators share (``neighbors._base``) and the classifier's vote, through
their public behaviour: tags, kneighbors' options, sparse input, metrics and weights."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial import KDTree
from scipy.spatial.distance import cdist
from sklearn.neighbors import NearestNeighbors

from scratchlearn import KNeighborsClassifier, KNeighborsDensity
from scratchlearn._math.knn import (
    class_votes,
    distance_weights,
    neighbor_class_votes,
    vote_probabilities,
)
from scratchlearn.neighbors._base import check_metric


def data(seed=0, n=60, d=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, 3, n), rng.normal(size=(7, d))


@pytest.mark.parametrize("Estimator", [KNeighborsClassifier, KNeighborsDensity])
def test_sparse_input_tag_follows_the_algorithm(Estimator):
    # Every algorithm takes CSR input (by brute force, as scikit-learn's); it reads the tag.
    assert Estimator(algorithm="brute").__sklearn_tags__().input_tags.sparse
    assert Estimator(algorithm="auto").__sklearn_tags__().input_tags.sparse
    assert Estimator(algorithm="kd_tree").__sklearn_tags__().input_tags.sparse


@pytest.mark.parametrize("Estimator", [KNeighborsClassifier, KNeighborsDensity])
def test_kneighbors_options(Estimator):
    X, y, Q = data()
    model = Estimator(n_neighbors=4).fit(X, y)
    distances, indices = model.kneighbors(Q)
    assert distances.shape == indices.shape == (7, 4)
    only = model.kneighbors(Q, return_distance=False)
    np.testing.assert_array_equal(only, indices)
    assert isinstance(only, np.ndarray)
    more_d, more_i = model.kneighbors(Q, n_neighbors=9)
    assert more_i.shape == (7, 9)
    np.testing.assert_array_equal(more_i[:, :4], indices)
    D = cdist(Q, X)
    np.testing.assert_allclose(more_d, np.sort(D, axis=1)[:, :9], rtol=1e-12)
    # Leave-one-out: the training points, each without itself.
    loo_d, loo_i = model.kneighbors(n_neighbors=2)
    assert loo_i.shape == (60, 2)
    assert not np.any(loo_i == np.arange(60)[:, None])
    np.testing.assert_allclose(loo_d[:, 0], np.sort(cdist(X, X) + np.diag([np.inf] * 60),
                                                    axis=1)[:, 0], rtol=1e-12)


@pytest.mark.parametrize("algorithm, n_features, expect_tree", [
    ("brute", 3, False), ("kd_tree", 3, True), ("auto", 3, True), ("auto", 8, False)])
def test_a_tree_is_kept_only_when_it_may_be_used(algorithm, n_features, expect_tree):
    X, y, _ = data(d=n_features)
    model = KNeighborsClassifier(3, algorithm=algorithm).fit(X, y)
    assert isinstance(model._tree, KDTree) == expect_tree
    # Refitting with another algorithm drops or builds it.
    model.set_params(algorithm="brute").fit(X, y)
    assert model._tree is None


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
def test_csr_with_unsorted_indices_gives_the_sorted_answer(metric):
    rng = np.random.default_rng(1)
    dense = rng.normal(size=(40, 6)) * (rng.uniform(size=(40, 6)) < 0.5)
    X = sp.csr_matrix(dense)
    # The same matrix with each row's column indices reversed (still a valid CSR matrix).
    shuffled = X.copy()
    for i in range(40):
        start, stop = shuffled.indptr[i], shuffled.indptr[i + 1]
        shuffled.indices[start:stop] = shuffled.indices[start:stop][::-1]
        shuffled.data[start:stop] = shuffled.data[start:stop][::-1]
    shuffled.has_sorted_indices = False
    np.testing.assert_array_equal(shuffled.toarray(), dense)
    y = np.arange(40) % 2
    ref = KNeighborsClassifier(4, metric=metric, algorithm="brute").fit(dense, y)
    ours = KNeighborsClassifier(4, metric=metric, algorithm="brute").fit(shuffled, y)
    Q = dense[:5] + 0.1
    np.testing.assert_array_equal(ours.kneighbors(Q)[1], ref.kneighbors(Q)[1])
    np.testing.assert_allclose(ours.kneighbors(Q)[0], ref.kneighbors(Q)[0], rtol=1e-12)
    np.testing.assert_array_equal(ours.kneighbors()[1], ref.kneighbors()[1])


@pytest.mark.parametrize("metric", ["chebyshev", "minkowski"])
def test_csr_training_data_with_other_metrics_is_refused(metric):
    # The sparse path is the Euclidean product only; it used to rank cosine by squared
    # Euclidean distance (silently wrong) and to fail inside SciPy for the cdist metrics.
    rng = np.random.default_rng(1)
    dense = rng.normal(size=(40, 6)) * (rng.uniform(size=(40, 6)) < 0.5)
    y = np.arange(40) % 2
    params = {"p": 3} if metric == "minkowski" else {}
    model = KNeighborsClassifier(4, metric=metric, algorithm="brute", **params)
    with pytest.raises(ValueError, match=rf"^Metric '{metric}' not valid for sparse input"):
        model.fit(sp.csr_matrix(dense), y)
    model.fit(dense, y)  # dense input is fine, and so is the suggested conversion
    np.testing.assert_array_equal(
        model.kneighbors(dense[:5] + 0.1)[1],
        KNeighborsClassifier(4, metric=metric, algorithm="brute", **params)
        .fit(sp.csr_matrix(dense).toarray(), y)
        .kneighbors(dense[:5] + 0.1)[1],
    )


def test_check_metric_resolves_minkowski_and_refuses_small_p():
    assert check_metric("minkowski", np.inf) == ("chebyshev", np.inf)
    assert check_metric("minkowski", 1) == ("manhattan", 1.0)
    assert check_metric("minkowski", 2) == ("euclidean", 2.0)
    assert check_metric("minkowski", 3) == ("minkowski", 3.0)
    assert check_metric("l1", 5) == ("manhattan", 1.0)  # p only matters for minkowski
    assert check_metric("minkowski", 0.5) == ("minkowski", 0.5)  # brute force only
    with pytest.raises(ValueError, match=r"^p must be a number > 0.*got 0"):
        check_metric("minkowski", 0)
    with pytest.raises(ValueError, match=r"^metric must be one of"):
        check_metric("hamming", 2)


def test_vote_counts_and_weights():
    labels = np.array([[0, 2, 2], [1, 1, 0]])
    np.testing.assert_array_equal(neighbor_class_votes(labels, 3), [[1, 0, 2], [1, 2, 0]])
    weights = np.array([[0.5, 1.0, 2.0], [1.0, 3.0, 4.0]])
    np.testing.assert_array_equal(neighbor_class_votes(labels, 4, weights),
                                  [[0.5, 0, 3.0, 0], [4.0, 4.0, 0, 0]])
    distances = np.array([[1.0, 2.0, 4.0], [0.0, 3.0, 0.0]])
    # Row 0: weights 1/d; row 1 has exact matches, which take all the weight, 1 each.
    np.testing.assert_array_equal(distance_weights(distances), [[1.0, 0.5, 0.25],
                                                                [1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(class_votes(distances, labels, 3, "distance"),
                                  [[1.0, 0.0, 0.75], [1.0, 1.0, 0.0]])
    np.testing.assert_array_equal(class_votes(distances, labels, 3, "uniform"),
                                  [[1, 0, 2], [1, 2, 0]])
    np.testing.assert_allclose(vote_probabilities(np.array([[1.0, 0.0, 3.0], [2.0, 2.0, 0.0]])),
                               [[0.25, 0.0, 0.75], [0.5, 0.5, 0.0]])


def test_distance_weighted_probabilities_by_hand():
    X = np.array([[0.0], [1.0], [3.0], [10.0]])
    y = np.array(["a", "b", "b", "a"])
    model = KNeighborsClassifier(3, weights="distance").fit(X, y)
    # Query 2: neighbours 1 (d 1, b), 3 (d 1, b), 0 (d 2, a): weights 1, 1, 0.5.
    np.testing.assert_allclose(model.predict_proba([[2.0]]), [[0.5 / 2.5, 2 / 2.5]])
    # Query 0: an exact match (a) takes all the weight.
    np.testing.assert_array_equal(model.predict_proba([[0.0]]), [[1.0, 0.0]])
    np.testing.assert_array_equal(model.predict([[2.0], [0.0]]), ["b", "a"])


def test_defaults():
    assert KNeighborsClassifier().get_params() == {
        "n_neighbors": 5, "weights": "uniform", "algorithm": "auto", "leaf_size": 30,
        "metric": "minkowski", "p": 2, "metric_params": None, "n_jobs": None}


@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
def test_integer_features_are_searched_as_float64(algorithm):
    rng = np.random.default_rng(3)
    X = rng.integers(-5, 6, size=(50, 3))
    y = np.arange(50) % 2
    ints = KNeighborsClassifier(4, algorithm=algorithm).fit(X, y)
    floats = KNeighborsClassifier(4, algorithm=algorithm).fit(X.astype(float), y)
    assert ints._fit_X.dtype == np.float64
    Q = rng.integers(-5, 6, size=(6, 3))
    np.testing.assert_array_equal(ints.kneighbors(Q)[1], floats.kneighbors(Q.astype(float))[1])
    np.testing.assert_array_equal(ints.kneighbors(Q)[0], floats.kneighbors(Q.astype(float))[0])
    density = KNeighborsDensity(4, algorithm=algorithm).fit(X)
    np.testing.assert_array_equal(density.score_samples(Q),
                                  KNeighborsDensity(4, algorithm=algorithm)
                                  .fit(X.astype(float)).score_samples(Q.astype(float)))


def test_csr_input_without_labels_and_dense_fit_with_csr_queries():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 3))
    Q = rng.normal(size=(3, 3))
    sparse = KNeighborsDensity(3, algorithm="brute").fit(sp.csr_matrix(X))
    np.testing.assert_allclose(sparse.score_samples(Q),
                               KNeighborsDensity(3, algorithm="brute").fit(X).score_samples(Q),
                               rtol=1e-12)
    dense = KNeighborsClassifier(3).fit(X, np.arange(40) % 2)
    np.testing.assert_array_equal(dense.kneighbors(sp.csr_matrix(Q))[1], dense.kneighbors(Q)[1])


def test_refusal_messages_name_the_metric_and_the_way_out():
    X, y, _ = data()
    with pytest.raises(ValueError, match="algorithm='kd_tree' cannot search metric='cosine'") \
            as error:
        KNeighborsClassifier(3, algorithm="kd_tree", metric="cosine").fit(X, y)
    assert "Use algorithm='brute' or 'auto'" in str(error.value)
    with pytest.raises(ValueError, match="Metric 'chebyshev' not valid for sparse input") \
            as error:
        KNeighborsClassifier(3, algorithm="brute", metric="chebyshev").fit(sp.csr_matrix(X), y)
    assert "Pass X.toarray() for 'chebyshev'" in str(error.value)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_float16_queries_are_searched_as_float64(metric):
    # Queries are converted like the training set (float64 unless float32); the compiled
    # re-rank has no float16 version.
    X, y, Q = data(seed=5)
    model = KNeighborsClassifier(4, algorithm="brute", metric=metric).fit(X, y)
    Q16 = Q.astype(np.float16)
    distances, indices = model.kneighbors(Q16)
    ref_d, ref_i = NearestNeighbors(n_neighbors=4, algorithm="brute", metric=metric).fit(
        X).kneighbors(Q16.astype(np.float64))
    np.testing.assert_array_equal(indices, ref_i)
    np.testing.assert_allclose(distances, ref_d, rtol=1e-12, atol=1e-15)
    assert distances.dtype == np.float64


def test_fit_keeps_norms_and_tree_only_where_the_search_can_use_them():
    # fit_ stores ||x||^2 for the matrix-product metrics and a KD-tree for "auto"/"kd_tree",
    # but neither for values whose squares (p-th powers) leave the dtype's safe range
    # (about 2^±(e_max/2q)): those are searched at a power-of-two scale, and the norms and
    # the tree are built then. The answers match scikit-learn's either way.
    rng = np.random.default_rng(6)
    X, Q = rng.normal(size=(50, 3)), rng.normal(size=(6, 3))
    y = np.arange(50) % 2

    def fit_quietly(X, **params):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no DeprecationWarning either
            return KNeighborsClassifier(4, **params).fit(X, y)

    def check(model, X, Q, scale=1.0, **ref_params):
        ref = NearestNeighbors(n_neighbors=4, algorithm="brute", **ref_params).fit(X / scale)
        ref_d, ref_i = ref.kneighbors(Q / scale)
        distances, indices = model.kneighbors(Q)
        np.testing.assert_array_equal(indices, ref_i)
        np.testing.assert_allclose(distances, ref_d * scale, rtol=1e-6)

    # In range: norms for the Euclidean family, none for the cdist metrics.
    model = fit_quietly(X, algorithm="brute")
    np.testing.assert_allclose(model._fit_sq, (X**2).sum(axis=1), rtol=1e-14)
    for metric in ("manhattan", "chebyshev"):
        model = fit_quietly(X, algorithm="brute", metric=metric)
        assert model._fit_sq is None
        check(model, X, Q, metric=metric)
    # float64 beyond 2^256 (squares overflow): nothing kept.
    big = 2.0**700
    model = fit_quietly(X * big, algorithm="auto")
    assert model._fit_sq is None and model._tree is None
    check(model, X * big, Q * big, scale=big)
    # float32 beyond 2^32: out of float32's range though well within float64's.
    X32, Q32 = (X * 1e12).astype(np.float32), (Q * 1e12).astype(np.float32)
    for algorithm in ("brute", "kd_tree"):
        model = fit_quietly(X32, algorithm=algorithm)
        assert model._fit_sq is None and model._tree is None
        check(model, X32.astype(np.float64), Q32.astype(np.float64))
    # Minkowski p = 3 cubes: beyond 2^(1024/6) (about 2.5e51) is out of its range, though
    # within the range of squares.
    model = fit_quietly(X * 1e60, algorithm="kd_tree", metric="minkowski", p=3)
    assert model._tree is None
    check(model, X * 1e60, Q * 1e60, metric="minkowski", p=3)
    model = fit_quietly(X * 1e40, algorithm="kd_tree", metric="minkowski", p=3)
    assert isinstance(model._tree, KDTree)
    check(model, X * 1e40, Q * 1e40, metric="minkowski", p=3)
