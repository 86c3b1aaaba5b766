"""KNeighborsClassifier against scikit-learn, the sheet's numbers and a slow version."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import KNeighborsClassifier as SklearnKNN

from scratchlearn import KNeighborsClassifier, _search
from scratchlearn._search import _topk, brute
from scratchlearn.datasets import load_moons_split

SHEET_ACCURACY = {1: .94, 2: .96, 4: .94, 8: .95, 16: .99, 32: .97, 64: .97, 128: .95,
                  256: .94, 512: .80}  # fmt: skip


@pytest.fixture(scope="module")
def moons():
    return load_moons_split()


@pytest.mark.parametrize("algorithm", ["auto", "brute", "kd_tree"])
def test_sheet_k_sweep_is_reproduced(moons, algorithm):
    X_train, X_test, y_train, y_test = moons
    for k, accuracy in SHEET_ACCURACY.items():
        model = KNeighborsClassifier(n_neighbors=k, algorithm=algorithm).fit(X_train, y_train)
        assert model.score(X_test, y_test) == pytest.approx(accuracy), k


def test_k5_accuracy_and_predictions_equal_sklearn(moons):
    X_train, X_test, y_train, y_test = moons
    ours = KNeighborsClassifier(n_neighbors=5).fit(X_train, y_train)
    theirs = SklearnKNN(n_neighbors=5).fit(X_train, y_train)
    assert ours.score(X_test, y_test) == pytest.approx(0.97)
    np.testing.assert_array_equal(ours.predict(X_test), theirs.predict(X_test))


def test_k_equal_to_n_train_predicts_the_majority_class_everywhere(moons):
    X_train, X_test, y_train, y_test = moons
    model = KNeighborsClassifier(n_neighbors=len(X_train)).fit(X_train, y_train)
    majority = np.bincount(y_train).argmax()
    assert majority == 0
    rng = np.random.default_rng(0)
    anywhere = rng.uniform(-10, 10, size=(500, 2))
    assert np.all(model.predict(anywhere) == majority)
    assert model.score(X_test, y_test) == pytest.approx(0.47)
    assert model.score(X_train, y_train) == pytest.approx(453 / 900)


CASES = [  # n_train, n_test, n_features, n_classes, k
    (60, 20, 1, 2, 1),
    (200, 50, 2, 3, 7),
    (300, 40, 5, 4, 15),
    (150, 30, 20, 2, 4),
    (400, 60, 64, 10, 9),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("algorithm", ["brute", "kd_tree", "auto"])
def test_parity_with_sklearn_on_random_data(case, weights, algorithm):
    n_train, n_test, d, n_classes, k = case
    rng = np.random.default_rng(n_train + d)
    X, X_test = rng.normal(size=(n_train, d)), rng.normal(size=(n_test, d))
    y = rng.integers(0, n_classes, n_train)
    ours = KNeighborsClassifier(k, weights=weights, algorithm=algorithm).fit(X, y)
    theirs = SklearnKNN(n_neighbors=k, weights=weights, algorithm="brute").fit(X, y)
    np.testing.assert_array_equal(ours.predict(X_test), theirs.predict(X_test))
    np.testing.assert_allclose(ours.predict_proba(X_test), theirs.predict_proba(X_test), atol=1e-12)
    d_ours, i_ours = ours.kneighbors(X_test)
    d_theirs, i_theirs = theirs.kneighbors(X_test)
    np.testing.assert_allclose(d_ours, d_theirs, rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(i_ours, i_theirs)
    # X=None: each training point's neighbours among the others.
    d_ours, i_ours = ours.kneighbors(None, n_neighbors=3)
    d_theirs, i_theirs = theirs.kneighbors(None, n_neighbors=3)
    np.testing.assert_allclose(d_ours, d_theirs, rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(i_ours, i_theirs)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([-1, 1]),
        np.array(["cat", "dog", "emu"]),
        np.array([0.0, 2.0]),
        np.array([True, False]),
    ],
)
def test_any_label_type(labels):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3))
    y = labels[rng.integers(0, len(labels), 90)]
    ours = KNeighborsClassifier(5).fit(X, y)
    theirs = SklearnKNN(n_neighbors=5).fit(X, y)
    np.testing.assert_array_equal(ours.classes_, np.sort(labels))
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X))


def slow_kneighbors(X_query, X_fit, k):
    """Every distance in Python, sorted by (distance, index)."""
    out = []
    for q in X_query:
        dists = [float(np.sqrt(np.sum((q - x) ** 2))) for x in X_fit]
        out.append(sorted(range(len(X_fit)), key=lambda j, dists=dists: (dists[j], j))[:k])
    return np.array(out)


@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
def test_equidistant_neighbours_are_ordered_by_index(algorithm):
    # A lattice: many training points at exactly the same distance from each query.
    grid = np.array([[i, j] for i in range(6) for j in range(6)], dtype=float)
    queries = np.array([[2.5, 2.5], [0.0, 0.0], [3.0, 2.0], [1.5, 4.0]])
    for k in (1, 2, 3, 4, 5, 8, 13):
        model = KNeighborsClassifier(k, algorithm=algorithm).fit(grid, np.arange(36) % 2)
        np.testing.assert_array_equal(
            model.kneighbors(queries, return_distance=False), slow_kneighbors(queries, grid, k)
        )


def test_tied_vote_goes_to_the_smallest_label():
    X = np.array([[0.0], [1.0], [-1.0], [2.0]])
    y = np.array(["b", "a", "b", "a"])
    model = KNeighborsClassifier(n_neighbors=2).fit(X, y)
    # Neighbours of 0.4 are 0.0 ("b") and 1.0 ("a"): one vote each, "a" < "b" wins.
    assert model.predict([[0.4]])[0] == "a"
    np.testing.assert_allclose(model.predict_proba([[0.4]]), [[0.5, 0.5]])


def test_distance_weights_give_exact_matches_all_the_weight():
    X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    y = np.array([0, 0, 1, 1, 1])
    ours = KNeighborsClassifier(4, weights="distance").fit(X, y)
    theirs = SklearnKNN(n_neighbors=4, weights="distance").fit(X, y)
    queries = np.array([[0.0, 0.0], [0.3, 0.2], [5.0, 5.0]])
    np.testing.assert_allclose(ours.predict_proba(queries), theirs.predict_proba(queries))
    np.testing.assert_allclose(ours.predict_proba(queries[:1]), [[1.0, 0.0]])
    assert ours.kneighbors(queries[:1])[0][0, 0] == 0.0  # exact, not ~1e-8 from the expansion


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_brute_force_works_in_bounded_tiles(monkeypatch, dtype):
    rng = np.random.default_rng(0)
    X_fit, X_query = rng.normal(size=(5000, 4)), rng.normal(size=(300, 4))
    X_fit, X_query = X_fit.astype(dtype), X_query.astype(dtype)
    tiles = []
    original = _topk.update_topk

    def recording(tile, *args):
        tiles.append((tile.shape, tile.dtype))
        return original(tile, *args)

    monkeypatch.setattr(_topk, "update_topk", recording)
    budget_mib = 0.2
    distances, indices = brute.brute_kneighbors(X_query, X_fit, 7, working_memory_mib=budget_mib)
    assert len(tiles) > 1
    # The products stay in the input's precision, and the tiles within half the budget.
    assert {tile_dtype for _, tile_dtype in tiles} == {np.dtype(dtype)}
    itemsize = np.dtype(dtype).itemsize
    assert all(r * c * itemsize <= budget_mib * 2**20 / 2 for (r, c), _ in tiles)
    whole_d, whole_i = brute.brute_kneighbors(X_query, X_fit, 7, working_memory_mib=1e6)
    np.testing.assert_array_equal(indices, whole_i)
    np.testing.assert_array_equal(distances, whole_d)


def test_auto_picks_the_tree_in_low_dimension_only():
    assert _search.resolve_algorithm("auto", 2, 5, 900) == "kd_tree"
    assert _search.resolve_algorithm("auto", 2, 512, 900) == "brute"
    assert _search.resolve_algorithm("auto", 64, 5, 900) == "brute"
    assert _search.resolve_algorithm("brute", 2, 5, 900) == "brute"


# Bad input: each raises a clear error naming the problem.


def test_nan_and_inf_are_rejected():
    X = np.ones((10, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        KNeighborsClassifier(3).fit(X, np.arange(10) % 2)
    model = KNeighborsClassifier(3).fit(np.eye(10, 2), np.arange(10) % 2)
    with pytest.raises(ValueError, match="infinity"):
        model.predict([[np.inf, 0.0]])


def test_wrong_dimensions_and_feature_mismatch():
    model = KNeighborsClassifier(3).fit(np.eye(10, 2), np.arange(10) % 2)
    with pytest.raises(ValueError, match="2D array"):
        KNeighborsClassifier(3).fit(np.arange(10.0), np.arange(10) % 2)
    with pytest.raises(ValueError, match="3 features"):
        model.predict(np.ones((4, 3)))
    with pytest.raises(ValueError, match="0 sample"):
        KNeighborsClassifier(3).fit(np.empty((0, 2)), np.empty(0))


def test_n_neighbors_above_the_training_set_names_the_parameter():
    # Its type and lower bound are the constraint's (tests/test_parameter_constraints.py).
    with pytest.raises(ValueError, match="n_neighbors=11 is larger than the 10 training"):
        KNeighborsClassifier(11).fit(np.eye(10, 2), np.arange(10) % 2)


def test_bad_n_neighbors_at_query_time():
    model = KNeighborsClassifier(3).fit(np.eye(10, 2), np.arange(10) % 2)
    with pytest.raises(ValueError, match="n_neighbors=11"):
        model.kneighbors(np.ones((1, 2)), n_neighbors=11)
    with pytest.raises(ValueError, match=r"n_neighbors=10 .*9 training samples"):
        model.kneighbors(None, n_neighbors=10)  # leave-one-out leaves 9


def test_predict_before_fit():
    with pytest.raises(NotFittedError):
        KNeighborsClassifier().predict(np.ones((2, 2)))


def test_continuous_targets_are_rejected():
    with pytest.raises(ValueError, match="Unknown label type"):
        KNeighborsClassifier(3).fit(np.eye(10, 2), np.linspace(0, 1, 10))


def test_mixed_label_types_are_a_clear_value_error():
    y = np.array([1, "a", 2, "b", 1, "a", 2, "b", 1, "a"], dtype=object)
    with pytest.raises(ValueError, match=r"y mixes strings with other label types \(int, str\)"):
        KNeighborsClassifier(3).fit(np.eye(10, 2), y)


@pytest.mark.parametrize("metric", ["cosine"])
def test_kd_tree_refuses_a_metric_it_cannot_search(metric):
    # It used to search Minkowski distances silently and call them cosine distances.
    with pytest.raises(ValueError, match=f"algorithm='kd_tree' cannot search metric='{metric}'"):
        model = KNeighborsClassifier(3, algorithm="kd_tree", metric=metric)
        model.fit(np.eye(10, 2), np.arange(10) % 2)
    with pytest.raises(ValueError, match="algorithm='kd_tree' cannot search"):
        _search.kneighbors_search(np.eye(3), np.eye(3), 2, algorithm="kd_tree", metric=metric)


# Extreme magnitudes: squares of values near 1e±160 overflow or underflow. The search runs
# at a power-of-two scale, so the answer must be exactly that of the rescaled data.

EXTREME_SCALES = [1e100, 1e160, 1e300, 2.0**1000, 1e-100, 1e-160, 1e-300, 2.0**-1000]
METRICS_P = [("euclidean", 2), ("manhattan", 1), ("chebyshev", 2), ("minkowski", 3),
             ("minkowski", 1.5), ("cosine", 2), ("sqeuclidean", 2)]  # fmt: skip
CDIST_NAME = {"manhattan": "cityblock"}


def power_of_two_near(scale):
    """k with 2^k·scale of order 1, and 2^k: multiplying by it is exact."""
    k = -round(np.log2(scale))
    return k, 2.0**k


def float64_brute_force(Q, X, k, metric, p):
    """Exact neighbours by (distance, index) from SciPy's cdist on data of order 1."""
    kwargs = {"p": p} if metric == "minkowski" else {}
    D = cdist(Q, X, CDIST_NAME.get(metric, metric), **kwargs)
    order = np.lexsort((np.broadcast_to(np.arange(X.shape[0]), D.shape), D), axis=1)[:, :k]
    return np.take_along_axis(D, order, 1), order


@pytest.mark.parametrize("scale", EXTREME_SCALES)
@pytest.mark.parametrize("metric, p", METRICS_P)
@pytest.mark.parametrize("algorithm", ["brute", "kd_tree", "auto"])
def test_extreme_magnitudes_match_the_rescaled_data(scale, metric, p, algorithm):
    if algorithm == "kd_tree" and metric == "cosine":
        pytest.skip("refused: test_kd_tree_refuses_a_metric_it_cannot_search")
    rng = np.random.default_rng(7)
    X, Q, y = rng.normal(size=(120, 3)), rng.normal(size=(25, 3)), rng.integers(0, 3, 120)
    X_big, Q_big = X * scale, Q * scale
    k, two_k = power_of_two_near(scale)
    X_s, Q_s = X_big * two_k, Q_big * two_k  # exact: the same data at order 1
    model = KNeighborsClassifier(6, algorithm=algorithm, metric=metric, p=p, weights="distance")
    model.fit(X_big, y)
    degree = {"sqeuclidean": 2, "cosine": 0}.get(metric, 1)
    unit_exponent = -k * degree  # distances of the data are those of X_s times 2^this
    ref_d, ref_i = float64_brute_force(Q_s, X_s, 6, metric, p)
    _, exponents = np.frexp(ref_d[ref_d > 0])  # d = m·2^f with m in [0.5, 1)
    if not np.all((exponents + unit_exponent <= 1024) & (exponents + unit_exponent > -1021)):
        # Only "sqeuclidean" beyond 1e±154: its distances do not fit in float64.
        assert metric == "sqeuclidean"
        with pytest.raises(ValueError, match=r"distances between the rows of X .*float64"):
            model.kneighbors(Q_big)
        return
    unit = 2.0**unit_exponent
    distances, indices = model.kneighbors(Q_big)
    np.testing.assert_array_equal(indices, ref_i)
    np.testing.assert_allclose(distances / unit, ref_d, rtol=1e-12, atol=1e-15)
    # Predictions and probabilities: scikit-learn on the rescaled data.
    reference = SklearnKNN(6, algorithm="brute", metric=CDIST_NAME.get(metric, metric),
                           p=p, weights="distance").fit(X_s, y)  # fmt: skip
    np.testing.assert_array_equal(model.predict(Q_big), reference.predict(Q_s))
    np.testing.assert_allclose(model.predict_proba(Q_big), reference.predict_proba(Q_s),
                               rtol=1e-9)  # fmt: skip
    loo_d, loo_i = model.kneighbors(None, n_neighbors=4)
    ref_loo = KNeighborsClassifier(4, algorithm="brute", metric=metric, p=p).fit(X_s, y)
    ref_loo_d, ref_loo_i = ref_loo.kneighbors(None)
    np.testing.assert_array_equal(loo_i, ref_loo_i)
    np.testing.assert_allclose(loo_d / unit, ref_loo_d, rtol=1e-12, atol=1e-15)


def test_values_of_order_1e200_beside_values_of_order_1():
    # The scale comes from queries and training set together; values of order 1 stay
    # exact at it (about 1e-200), and so do distances between them.
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(50, 2)), rng.integers(0, 2, 50)
    X[0], X[1] = [1e200, 0.0], [-1e200, 1e200]
    queries = np.array([[1e200, 0.0], [0.1, 0.2]])
    expected_small = float64_brute_force(queries[1:], X[2:], 3, "euclidean", 2)
    for algorithm in ("brute", "kd_tree"):
        model = KNeighborsClassifier(3, algorithm=algorithm).fit(X, y)
        distances, indices = model.kneighbors(queries)
        assert indices[0, 0] == 0 and distances[0, 0] == 0.0
        np.testing.assert_allclose(distances[0, 1:], 1e200, rtol=1e-14)
        np.testing.assert_array_equal(indices[1], expected_small[1][0] + 2)
        np.testing.assert_allclose(distances[1], expected_small[0][0], rtol=1e-14)
