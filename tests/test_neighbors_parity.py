"""scikit-learn's meanings, side by side with scikit-learn: the same parameters give the
same neighbours, votes and probabilities (float64, float32, CSR), with scikit-learn's
defaults ("minkowski", p = 2), p = 1, 2, 3, ∞, weights None / "distance" / callable,
callable metrics, ``metric_params``, precomputed distances (dense and sparse graphs),
every algorithm name, and multi-output y. Ties, where scikit-learn's order is its own, are
checked against a slow reference sorted by (distance, index)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import cdist
from sklearn import neighbors as sk
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import pairwise_distances

from scratchlearn import KNeighborsClassifier, KNeighborsDensity, NearestNeighbors

ALGORITHMS = ["auto", "ball_tree", "brute", "kd_tree"]
P = [1, 2, 3, np.inf]


def data(dtype=np.float64, n=120, d=4, seed=0, n_classes=3):
    """Continuous points: no two distances of a query are equal."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(dtype)
    return X, rng.integers(0, n_classes, n), rng.normal(size=(15, d)).astype(dtype)


def reference(Q, X, k, metric="euclidean", **kwargs):
    """The k nearest by (distance, index), from SciPy's distances: the tie rule."""
    D = cdist(np.asarray(Q, dtype=np.float64), np.asarray(X, dtype=np.float64), metric,
              **kwargs)
    order = np.lexsort((np.broadcast_to(np.arange(D.shape[1]), D.shape), D), axis=1)[:, :k]
    return np.take_along_axis(D, order, 1), order


def assert_same_params(ours, theirs):
    """The same keys, and equal values (arrays compared as arrays)."""
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        np.testing.assert_array_equal(ours[key], value)


def quiet(model, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(*args)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("p", P)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_p_means_the_minkowski_exponent_as_in_sklearn(dtype, p, algorithm):
    # KNeighborsClassifier(p=1) used to be Euclidean (the default metric ignored p).
    X, y, Q = data(dtype)
    ours = KNeighborsClassifier(5, p=p, algorithm=algorithm).fit(X, y)
    theirs = sk.KNeighborsClassifier(5, p=p, algorithm=algorithm).fit(X, y)
    assert ours.effective_metric_ == theirs.effective_metric_
    assert_same_params(ours.effective_metric_params_, theirs.effective_metric_params_)
    distances, indices = ours.kneighbors(Q)
    expected_d, expected_i = theirs.kneighbors(Q)
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, expected_d, rtol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_array_equal(ours.predict(Q), theirs.predict(Q))
    np.testing.assert_allclose(ours.predict_proba(Q), theirs.predict_proba(Q))


def inverse_square(distances):
    with np.errstate(divide="ignore"):
        return 1.0 / distances**2


@pytest.mark.parametrize("weights", [None, "uniform", "distance", inverse_square])
@pytest.mark.parametrize("kind", ["dense", "float32", "csr"])
def test_weights_as_in_sklearn(weights, kind):
    X, y, Q = data(np.float32 if kind == "float32" else np.float64)
    if kind == "csr":  # a third of the values zero, no row all zero
        X[np.abs(X) < 0.4], Q[np.abs(Q) < 0.4] = 0, 0
        X, Q = sp.csr_matrix(X), sp.csr_matrix(Q)
    ours = KNeighborsClassifier(7, weights=weights).fit(X, y)
    theirs = sk.KNeighborsClassifier(7, weights=weights).fit(X, y)
    np.testing.assert_array_equal(ours.predict(Q), theirs.predict(Q))
    np.testing.assert_allclose(ours.predict_proba(Q), theirs.predict_proba(Q), rtol=1e-5)


def test_callable_weights_of_zero_for_every_neighbour_are_refused():
    X, y, Q = data()
    model = KNeighborsClassifier(3, weights=lambda d: np.zeros_like(d)).fit(X, y)
    for method in (model.predict, model.predict_proba):
        with pytest.raises(ValueError, match="All neighbors of some sample is getting zero"):
            method(Q)


@pytest.mark.parametrize("algorithm", ALGORITHMS[:3])
def test_a_callable_metric_as_in_sklearn(algorithm):
    X, y, Q = data(n=60)

    def l1(a, b, scale=1.0):
        return scale * np.abs(a - b).sum()

    params = {"metric": l1, "metric_params": {"scale": 2.0}, "algorithm": algorithm}
    ours = KNeighborsClassifier(4, **params).fit(X, y)
    theirs = sk.KNeighborsClassifier(4, **params).fit(X, y)
    np.testing.assert_array_equal(ours.kneighbors(Q)[1], theirs.kneighbors(Q)[1])
    np.testing.assert_allclose(ours.kneighbors(Q)[0], 2 * reference(Q, X, 4, "cityblock")[0])
    np.testing.assert_array_equal(ours.predict(Q), theirs.predict(Q))
    with pytest.raises(ValueError, match="kd_tree"):
        KNeighborsClassifier(metric=l1, algorithm="kd_tree").fit(X, y)


def test_metric_params_p_overrides_p_with_sklearns_warning():
    X, y, Q = data()
    with pytest.warns(SyntaxWarning, match="Parameter p is found in metric_params"):
        ours = KNeighborsClassifier(metric_params={"p": 3}).fit(X, y)
    theirs = quiet(sk.KNeighborsClassifier(metric_params={"p": 3}), X, y)
    assert ours.effective_metric_ == "minkowski" == theirs.effective_metric_
    np.testing.assert_array_equal(ours.kneighbors(Q)[1], theirs.kneighbors(Q)[1])
    np.testing.assert_allclose(ours.kneighbors(Q)[0], reference(Q, X, 5, "minkowski", p=3)[0])


@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("algorithm", ["auto", "ball_tree", "brute"])
def test_weighted_minkowski_as_in_sklearn(p, algorithm):
    X, _, Q = data()
    w = np.random.default_rng(1).uniform(0.1, 2.0, X.shape[1])
    params = {"p": p, "metric_params": {"w": w}, "algorithm": algorithm}
    ours = NearestNeighbors(n_neighbors=6, **params).fit(X)
    theirs = sk.NearestNeighbors(n_neighbors=6, **params).fit(X)
    assert ours.effective_metric_ == "minkowski" == theirs.effective_metric_
    assert_same_params(ours.effective_metric_params_, theirs.effective_metric_params_)
    np.testing.assert_array_equal(ours.kneighbors(Q)[1], theirs.kneighbors(Q)[1])
    np.testing.assert_allclose(ours.kneighbors(Q)[0], theirs.kneighbors(Q)[0], rtol=1e-12)
    with pytest.raises(ValueError, match="weight parameter 'w'"):
        NearestNeighbors(algorithm="kd_tree", metric_params={"w": w}).fit(X)
    with pytest.raises(ValueError, match=r"metric_params\['w'\] holds 3 weights.*4 features"):
        NearestNeighbors(metric_params={"w": w[:3]}).fit(X)
    # Weights that define no distance: not one per feature, not finite, or negative.
    for bad in (w[:, None], np.where(np.arange(4) == 1, np.nan, w), -w, "heavy"):
        with pytest.raises(ValueError, match=r"metric_params\['w'\]"):
            NearestNeighbors(metric_params={"w": bad}).fit(X)


@pytest.mark.parametrize("algorithm", ["auto", "brute", "ball_tree"])
def test_haversine_as_in_sklearn(algorithm):
    # Great-circle distances between (latitude, longitude) pairs in radians.
    rng = np.random.default_rng(4)
    X, Q = (np.column_stack([rng.uniform(-1.2, 1.2, n), rng.uniform(-3, 3, n)])
            for n in (80, 7))
    ours = NearestNeighbors(n_neighbors=5, metric="haversine", algorithm=algorithm).fit(X)
    theirs = sk.NearestNeighbors(n_neighbors=5, metric="haversine", algorithm=algorithm).fit(X)
    distances, indices = ours.kneighbors(Q)
    np.testing.assert_array_equal(indices, theirs.kneighbors(Q)[1])
    np.testing.assert_allclose(distances, theirs.kneighbors(Q)[0], rtol=1e-12)
    within_d, within_i = ours.radius_neighbors(Q, radius=0.4, sort_results=True)
    expected_d, expected_i = theirs.radius_neighbors(Q, radius=0.4, sort_results=True)
    for got_d, got_i, want_d, want_i in zip(within_d, within_i, expected_d, expected_i,
                                            strict=True):
        np.testing.assert_array_equal(got_i, want_i)
        np.testing.assert_allclose(got_d, want_d, rtol=1e-12)
    assert sum(map(len, within_i)) > len(Q)


def test_metric_params_meaningless_for_the_metric_are_refused():
    X, y, _ = data()
    with pytest.raises(ValueError, match=r"metric_params=.*'V'.*metric='euclidean'"):
        KNeighborsClassifier(metric="euclidean", metric_params={"V": 1.0}).fit(X, y)


@pytest.mark.parametrize("algorithm", ["auto", "brute"])
def test_p_below_one_runs_by_brute_force_with_sklearns_warning(algorithm):
    X, y, Q = data()
    with pytest.warns(UserWarning, match="Minkowski metrics are not distance metrics"):
        ours = KNeighborsClassifier(4, p=0.5, algorithm=algorithm).fit(X, y)
    assert ours._fit_method == "brute"
    theirs = quiet(sk.KNeighborsClassifier(4, p=0.5, algorithm=algorithm), X, y)
    np.testing.assert_array_equal(ours.kneighbors(Q)[1], theirs.kneighbors(Q)[1])
    for tree in ("kd_tree", "ball_tree"):
        with pytest.raises(ValueError, match=f'algorithm="{tree}" does not support 0 < p < 1'):
            KNeighborsClassifier(p=0.5, algorithm=tree).fit(X, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "cosine"])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_csr_data_with_every_algorithm_as_in_sklearn(dtype, metric, algorithm):
    X, y, Q = data(dtype, d=8)
    X[np.abs(X) < 0.5], Q[np.abs(Q) < 0.5] = 0, 0
    tree = algorithm in ("kd_tree", "ball_tree")
    if algorithm == "kd_tree" and metric == "cosine":  # refused by both
        for model in (KNeighborsClassifier(metric=metric, algorithm=algorithm),
                      sk.KNeighborsClassifier(metric=metric, algorithm=algorithm)):
            with pytest.raises(ValueError, match=r"(?i)metric 'cosine'|metric='cosine'"):
                model.fit(sp.csr_matrix(X), y)
        return
    # Ours takes "ball_tree" for any metric (by brute force); scikit-learn's ball tree has
    # no cosine: compare with its brute force.
    theirs_algorithm = "brute" if algorithm == "ball_tree" and metric == "cosine" else algorithm
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = KNeighborsClassifier(4, metric=metric, algorithm=algorithm).fit(
            sp.csr_matrix(X), y)
    said = ["cannot use tree with sparse input" in str(w.message) for w in caught]
    assert said == ([True] if tree else [])
    theirs = quiet(sk.KNeighborsClassifier(4, metric=metric, algorithm=theirs_algorithm),
                   sp.csr_matrix(X), y)
    for queries in (sp.csr_matrix(Q), Q):  # CSR or dense queries of a CSR model
        distances, indices = ours.kneighbors(queries)
        np.testing.assert_array_equal(indices, theirs.kneighbors(queries)[1])
        np.testing.assert_allclose(distances, theirs.kneighbors(queries)[0], rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_array_equal(ours.predict(queries), theirs.predict(queries))
    # The same answer as the dense model, to the last bit for the Euclidean distances.
    dense = KNeighborsClassifier(4, metric=metric, algorithm="brute").fit(X, y)
    np.testing.assert_array_equal(ours.kneighbors(sp.csr_matrix(Q))[1], dense.kneighbors(Q)[1])


def test_csr_queries_of_a_dense_tree_model_are_refused_as_in_sklearn():
    X, y, Q = data()
    for algorithm in ("kd_tree", "ball_tree"):
        model = KNeighborsClassifier(3, algorithm=algorithm).fit(X, y)
        with pytest.raises(ValueError, match="does not work with sparse matrices"):
            model.predict(sp.csr_matrix(Q))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.EfficiencyWarning")  # theirs, on lil
@pytest.mark.parametrize("graph", ["dense", "csr", "lil"])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_precomputed_distances_as_in_sklearn(graph, weights):
    X, y, Q = data(n=50)
    if graph == "dense":
        D_fit, D_query = pairwise_distances(X), pairwise_distances(Q, X)
    else:  # neighbour graphs with more entries than k, explicit zeros included
        nn = sk.NearestNeighbors(n_neighbors=8).fit(X)
        D_fit = nn.kneighbors_graph(X, mode="distance").asformat(graph)
        D_query = nn.kneighbors_graph(Q, mode="distance").asformat(graph)
    ours = KNeighborsClassifier(4, metric="precomputed", weights=weights).fit(D_fit, y)
    theirs = quiet(sk.KNeighborsClassifier(4, metric="precomputed", weights=weights),
                   D_fit, y)
    on_features = KNeighborsClassifier(4, weights=weights).fit(X, y)
    for queries, reference_queries in ((D_query, Q), (None, None)):
        distances, indices = ours.kneighbors(queries)
        np.testing.assert_array_equal(indices, theirs.kneighbors(queries)[1])
        np.testing.assert_array_equal(indices, on_features.kneighbors(reference_queries)[1])
        np.testing.assert_allclose(distances, theirs.kneighbors(queries)[0], rtol=1e-12)
        np.testing.assert_array_equal(ours.predict(queries), theirs.predict(queries))
    assert ours.__sklearn_tags__().input_tags.pairwise


def test_precomputed_input_is_checked_as_in_sklearn():
    X, y, _ = data(n=20)
    D = pairwise_distances(X)
    with pytest.raises(ValueError, match="Precomputed matrix must be square"):
        KNeighborsClassifier(metric="precomputed").fit(D[:, :10], y)
    model = KNeighborsClassifier(3, metric="precomputed").fit(D, y)
    with pytest.raises(ValueError, match="Negative values in data passed to precomputed"):
        model.predict(-D[:2])
    with pytest.raises(ValueError, match="Metric 'precomputed' not valid"):
        KNeighborsClassifier(metric="precomputed", algorithm="kd_tree").fit(D, y)
    sparse = sp.csr_matrix(np.where(np.eye(20, k=1) + np.eye(20), D + 1, 0))
    graph_model = NearestNeighbors(n_neighbors=3, metric="precomputed").fit(sparse)
    with pytest.raises(ValueError, match="3 neighbors per samples are required, but some "
                                         "samples have only 1"):
        graph_model.kneighbors(sparse)


@pytest.mark.parametrize("weights", [None, "distance", inverse_square])
@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
def test_multi_output_y_as_in_sklearn(weights, algorithm):
    X, _, Q = data()
    Y = np.random.default_rng(4).integers(0, 3, (len(X), 3))
    Y = np.column_stack([Y[:, 0], Y[:, 1] + 10, np.array(["a", "b", "c"])[Y[:, 2]]])
    ours = KNeighborsClassifier(5, weights=weights, algorithm=algorithm).fit(X, Y)
    theirs = sk.KNeighborsClassifier(5, weights=weights, algorithm=algorithm).fit(X, Y)
    assert ours.outputs_2d_ and isinstance(ours.classes_, list)
    for mine, expected in zip(ours.classes_, theirs.classes_, strict=True):
        np.testing.assert_array_equal(mine, expected)
    np.testing.assert_array_equal(ours.predict(Q), theirs.predict(Q))
    assert ours.predict(Q).shape == (len(Q), 3)
    probabilities = ours.predict_proba(Q)
    assert isinstance(probabilities, list) and len(probabilities) == 3
    for mine, expected in zip(probabilities, theirs.predict_proba(Q), strict=True):
        np.testing.assert_allclose(mine, expected)
    # One column of y alone gives that column's answers.
    single = KNeighborsClassifier(5, weights=weights, algorithm=algorithm).fit(X, Y[:, 1])
    np.testing.assert_array_equal(ours.predict(Q)[:, 1], single.predict(Q))


def test_a_column_vector_y_warns_and_is_one_output():
    X, y, Q = data()
    with pytest.warns(Warning, match="column-vector y was passed"):
        model = KNeighborsClassifier().fit(X, y[:, None])
    assert not model.outputs_2d_ and model.predict(Q).shape == (len(Q),)


def lattice(seed=0, n=90, d=2):
    """Integer points: many exactly equal distances, so ties decide the neighbours."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 4, size=(n, d)).astype(float)
    return X, rng.integers(0, 3, n), rng.integers(0, 4, size=(20, d)).astype(float)


@pytest.mark.parametrize("p, scipy_metric", [(1, "cityblock"), (2, "euclidean"),
                                             (np.inf, "chebyshev")])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_ties_are_ordered_by_index_on_every_algorithm(p, scipy_metric, algorithm):
    X, _, Q = lattice()
    for dtype in (np.float64, np.float32):
        model = NearestNeighbors(n_neighbors=9, p=p, algorithm=algorithm).fit(X.astype(dtype))
        distances, indices = model.kneighbors(Q.astype(dtype))
        expected_d, expected_i = reference(Q, X, 9, scipy_metric)
        np.testing.assert_array_equal(indices, expected_i)
        np.testing.assert_array_equal(distances, expected_d)
        # scikit-learn finds the same distances (its order within a tie is its own).
        np.testing.assert_allclose(distances, sk.NearestNeighbors(
            n_neighbors=9, p=p, algorithm=algorithm).fit(X).kneighbors(Q)[0], rtol=1e-6)


def test_fit_takes_a_fitted_estimator_or_sklearns_trees():
    X, y, Q = data()
    expected = KNeighborsClassifier(3).fit(X, y).kneighbors(Q)
    for source in (NearestNeighbors().fit(X), sk.KDTree(X), sk.BallTree(X)):
        got = KNeighborsClassifier(3).fit(source, y).kneighbors(Q)
        np.testing.assert_array_equal(got[1], expected[1])
        np.testing.assert_array_equal(got[0], expected[0])


def test_density_predicts_the_most_probable_class_and_calibrates():
    X, y, Q = lattice(n=150)
    density = KNeighborsDensity(6).fit(X, y)
    # p(c | x) = K_c / K, a tie going to the smallest label: the uniform classifier's rule.
    np.testing.assert_array_equal(density.predict(Q), KNeighborsClassifier(6).fit(X, y)
                                  .predict(Q))
    np.testing.assert_array_equal(density.predict(Q), density.classes_[
        np.argmax(density.predict_proba(Q), axis=1)])
    np.testing.assert_array_equal(density.predict(), KNeighborsClassifier(6).fit(X, y)
                                  .predict(None))
    for n_classes in (2, 3):  # two classes: scikit-learn reads the second column only
        X, y, Q = data(n=200, n_classes=n_classes)
        calibrated = CalibratedClassifierCV(KNeighborsDensity(8), method="sigmoid").fit(X, y)
        probabilities = calibrated.predict_proba(Q)
        assert probabilities.shape == (len(Q), n_classes)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
        assert set(calibrated.predict(Q)) <= set(y)
    with pytest.raises(ValueError, match="fitted without labels"):
        KNeighborsDensity(3).fit(X).predict(Q)
