"""Properties that must hold for every input, checked with Hypothesis.

Each test states an invariance or an identity and asserts it on generated data: kNN answers
under permutations of the training rows (with the tie rule: equidistant points are ordered
by training index), translations and rotations; probabilities summing to 1; sorted
distances; least squares under feature scaling; softmax under a shift of the logits and at
extreme scales; SoftmaxRegression on degenerate data. Example counts and sizes are bounded
(and the runs derandomised) so that the file takes seconds.
"""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.exceptions import ConvergenceWarning

from scratchlearn import (
    KNeighborsClassifier,
    KNeighborsDensity,
    LeastSquaresClassifier,
    SoftmaxRegression,
)
from scratchlearn._math.softmax import log_softmax, softmax

FAST = settings(max_examples=30, deadline=None, derandomize=True)
ALGORITHMS = st.sampled_from(["brute", "kd_tree"])
METRICS = st.sampled_from(
    [("euclidean", 2), ("manhattan", 1), ("chebyshev", 2), ("minkowski", 3), ("sqeuclidean", 2)]
)


@st.composite
def lattice_problems(draw, max_n=25, max_d=3):
    """Small-integer coordinates: exact duplicates and equidistant points are common."""
    n = draw(st.integers(4, max_n))
    d = draw(st.integers(1, max_d))
    values = st.integers(-3, 3).map(float)
    X = draw(arrays(np.float64, (n, d), elements=values))
    Q = draw(arrays(np.float64, (draw(st.integers(1, 6)), d), elements=values))
    y = draw(arrays(np.int64, n, elements=st.integers(0, 2)))
    k = draw(st.integers(1, n - 1))
    perm = np.asarray(draw(st.permutations(range(n))))
    return X, Q, y, k, perm


@st.composite
def continuous_problems(draw):
    """Gaussian data from a drawn seed: no two distances are equal."""
    seed = draw(st.integers(0, 2**32 - 1))
    n, d = draw(st.integers(8, 40)), draw(st.integers(1, 4))
    rng = np.random.default_rng(seed)
    X, Q = rng.normal(size=(n, d)), rng.normal(size=(draw(st.integers(1, 8)), d))
    y = rng.integers(0, 3, n)
    return X, Q, y, draw(st.integers(1, n // 2)), rng


# --- kNN: permutations of the training rows -------------------------------------------------


@FAST
@given(problem=lattice_problems(), algorithm=ALGORITHMS, metric_p=METRICS)
def test_permuting_training_rows_keeps_distances_and_untied_neighbour_sets(
    problem, algorithm, metric_p
):
    X, Q, y, k, perm = problem
    metric, p = metric_p
    kwargs = {"algorithm": algorithm, "metric": metric, "p": p}
    a = KNeighborsClassifier(k, **kwargs).fit(X, y)
    b = KNeighborsClassifier(k, **kwargs).fit(X[perm], y[perm])
    d_a, i_a = a.kneighbors(Q, n_neighbors=k + 1)
    d_b, i_b = b.kneighbors(Q, n_neighbors=k + 1)
    # The same pairs give the same distances, bit for bit, so the sorted lists agree.
    np.testing.assert_array_equal(d_a, d_b)
    # Under the tie rule each list is sorted by (distance, own index): mapped back to the
    # original rows, the permuted search's list sorts the same way by original index only
    # where no tie crosses the k-th place; there the neighbour sets must be equal.
    untied = d_a[:, k - 1] < d_a[:, k]
    for row in np.flatnonzero(untied):
        assert set(i_a[row, :k]) == set(perm[i_b[row, :k]])
    # Within each tie group, the order is by index: the permuted list maps to a list whose
    # distances match and whose indices, per group, are the smallest ones of that group.
    for row in range(len(Q)):
        assert np.all(np.diff(d_a[row]) >= 0)
        for value in np.unique(d_a[row, :k]):
            group_a = i_a[row, :k][d_a[row, :k] == value]
            assert np.all(np.diff(group_a) > 0)  # ascending index among equals
    # Predictions and probabilities depend on the neighbour set only.
    rows = np.flatnonzero(untied)
    np.testing.assert_array_equal(a.predict(Q)[rows], b.predict(Q)[rows])
    np.testing.assert_allclose(a.predict_proba(Q)[rows], b.predict_proba(Q)[rows], rtol=1e-15)


@FAST
@given(problem=lattice_problems(), algorithm=ALGORITHMS)
def test_density_is_invariant_to_permuting_rows_even_with_ties(problem, algorithm):
    # log p(x) depends on the k-th distance only, which ties do not change.
    X, Q, y, k, perm = problem
    a = KNeighborsDensity(k, algorithm=algorithm).fit(X, y)
    b = KNeighborsDensity(k, algorithm=algorithm).fit(X[perm], y[perm])
    np.testing.assert_array_equal(a.score_samples(Q), b.score_samples(Q))
    # Leave-one-out: row i of the permuted fit is original row perm[i].
    np.testing.assert_array_equal(a.score_samples()[perm], b.score_samples())


@FAST
@given(problem=continuous_problems(), algorithm=ALGORITHMS, weights=st.sampled_from(
    ["uniform", "distance"]))  # fmt: skip
def test_without_ties_every_answer_is_invariant_to_permuting_rows(problem, algorithm, weights):
    X, Q, y, k, rng = problem
    perm = rng.permutation(len(X))
    a = KNeighborsClassifier(k, weights=weights, algorithm=algorithm).fit(X, y)
    b = KNeighborsClassifier(k, weights=weights, algorithm=algorithm).fit(X[perm], y[perm])
    np.testing.assert_array_equal(a.predict(Q), b.predict(Q))
    np.testing.assert_allclose(a.predict_proba(Q), b.predict_proba(Q), rtol=1e-14)
    i_a, i_b = a.kneighbors(Q, return_distance=False), b.kneighbors(Q, return_distance=False)
    np.testing.assert_array_equal(i_a, perm[i_b])
    da, db = (KNeighborsDensity(k, algorithm=algorithm).fit(Z, t) for Z, t in
              ((X, y), (X[perm], y[perm])))  # fmt: skip
    np.testing.assert_array_equal(da.class_log_density(Q), db.class_log_density(Q))


# --- kNN: translations and rotations (euclidean) -----------------------------------------------


def well_separated(X, Q, k, relative_gap=1e-6):
    """Whether every query's k-th and (k+1)-th distances differ clearly (no near-tie)."""
    D = np.sort(np.linalg.norm(Q[:, None] - X[None], axis=2), axis=1)
    return bool(np.all(D[:, k] - D[:, k - 1] > relative_gap * (1 + D[:, k])))


@FAST
@given(
    problem=continuous_problems(),
    algorithm=ALGORITHMS,
    shift=arrays(np.float64, 4, elements=st.floats(-100, 100)),
    rotate=st.booleans(),
)
def test_translating_and_rotating_every_point_changes_no_answer(problem, algorithm, shift, rotate):
    X, Q, y, k, rng = problem
    d = X.shape[1]
    assume(well_separated(X, Q, k))
    R = np.linalg.qr(rng.normal(size=(d, d)))[0] if rotate else np.eye(d)

    def move(Z):
        return Z @ R.T + shift[:d]

    for weights in ("uniform", "distance"):
        a = KNeighborsClassifier(k, weights=weights, algorithm=algorithm).fit(X, y)
        b = KNeighborsClassifier(k, weights=weights, algorithm=algorithm).fit(move(X), y)
        d_a, i_a = a.kneighbors(Q)
        d_b, i_b = b.kneighbors(move(Q))
        np.testing.assert_array_equal(np.sort(i_a, axis=1), np.sort(i_b, axis=1))
        np.testing.assert_allclose(d_b, d_a, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(a.predict(Q), b.predict(move(Q)))
        np.testing.assert_allclose(a.predict_proba(Q), b.predict_proba(move(Q)), atol=1e-9)
    density_a = KNeighborsDensity(k, algorithm=algorithm).fit(X)
    density_b = KNeighborsDensity(k, algorithm=algorithm).fit(move(X))
    np.testing.assert_allclose(density_b.score_samples(move(Q)), density_a.score_samples(Q),
                               rtol=1e-8, atol=1e-8)  # fmt: skip


# --- kNN: what every answer satisfies ------------------------------------------------------------


@FAST
@given(problem=lattice_problems(), algorithm=st.sampled_from(["brute", "kd_tree", "auto"]),
       metric_p=METRICS, weights=st.sampled_from(["uniform", "distance"]))  # fmt: skip
def test_probabilities_sum_to_one_and_distances_are_sorted_and_non_negative(
    problem, algorithm, metric_p, weights
):
    X, Q, y, k, _ = problem
    metric, p = metric_p
    model = KNeighborsClassifier(k, weights=weights, algorithm=algorithm, metric=metric, p=p)
    model.fit(X, y)
    P = model.predict_proba(Q)
    assert np.all(P >= 0)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_array_equal(model.classes_[np.argmax(P, axis=1)], model.predict(Q))
    for query in (Q, None):
        distances, indices = model.kneighbors(query)
        assert np.all(distances >= 0) and np.all(np.diff(distances, axis=1) >= 0)
        assert np.all((indices >= 0) & (indices < len(X)))
        assert all(len(set(row)) == k for row in indices)  # k distinct training points
    if metric != "sqeuclidean":  # the density refuses it
        density = KNeighborsDensity(k, algorithm=algorithm, metric=metric, p=p).fit(X, y)
        np.testing.assert_allclose(density.predict_proba(Q).sum(axis=1), 1.0, rtol=1e-14)


# --- least squares: rescaling a feature ---------------------------------------------------------


@FAST
@given(
    seed=st.integers(0, 2**32 - 1),
    n_classes=st.integers(2, 4),
    feature=st.integers(0, 2),
    factor=st.floats(1e-3, 1e3).filter(lambda c: abs(c - 1) > 1e-9),
    sign=st.sampled_from([1.0, -1.0]),
)
def test_least_squares_predictions_ignore_the_unit_of_a_feature(seed, n_classes, feature,
                                                                 factor, sign):  # fmt: skip
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, n_classes, 40)
    assume(len(np.unique(y)) == n_classes)
    assert np.linalg.matrix_rank(np.column_stack([X, np.ones(40)])) == 4  # full rank
    scaled = X.copy()
    scaled[:, feature] *= sign * factor
    a = LeastSquaresClassifier().fit(X, y)
    b = LeastSquaresClassifier().fit(scaled, y)
    # w_j·x_j is unchanged: w_j scales by 1/c, the other weights and b stay.
    np.testing.assert_allclose(b.coef_[:, feature] * sign * factor, a.coef_[:, feature],
                               rtol=1e-7, atol=1e-10)  # fmt: skip
    np.testing.assert_allclose(b.decision_function(scaled), a.decision_function(X), rtol=1e-7,
                               atol=1e-9)  # fmt: skip
    F = a.decision_function(X)
    clear = np.abs(F) > 1e-6 if F.ndim == 1 else np.ptp(np.sort(F, axis=1)[:, -2:], axis=1) > 1e-6
    np.testing.assert_array_equal(a.predict(X)[clear], b.predict(scaled)[clear])


# --- softmax -----------------------------------------------------------------------------------


LOGITS = arrays(
    np.float64,
    st.tuples(st.integers(1, 5), st.integers(1, 6)),
    elements=st.floats(-50, 50, allow_subnormal=False),
)


@FAST
@given(G=LOGITS, shift=st.floats(-1e4, 1e4))
def test_softmax_ignores_a_constant_added_to_every_logit(G, shift):
    P = softmax(G)
    np.testing.assert_allclose(softmax(G + shift), P, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(P.sum(axis=-1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(log_softmax(G + shift), log_softmax(G), rtol=1e-9, atol=1e-9)


@FAST
@given(G=LOGITS, exponent=st.integers(-300, 300))
def test_softmax_is_a_finite_distribution_at_every_scale(G, exponent):
    scaled = G * 10.0**exponent
    assume(np.all(np.isfinite(scaled)))
    P = softmax(scaled)
    assert np.all(np.isfinite(P)) and np.all(P >= 0)
    np.testing.assert_allclose(P.sum(axis=-1), 1.0, rtol=1e-14)
    # The largest logit keeps the largest probability; at 1e300, all of it.
    rows = np.arange(len(G))
    assert np.all(P[rows, np.argmax(scaled, axis=1)] == P.max(axis=1))
    assert np.all(np.isfinite(log_softmax(scaled)) | (P == 0))


# --- SoftmaxRegression on degenerate data ---------------------------------------------------------


@st.composite
def degenerate_problems(draw):
    """Duplicated rows, a constant feature, and a class with one sample."""
    n = draw(st.integers(4, 20))
    d = draw(st.integers(1, 3))
    base = draw(arrays(np.float64, (n, d), elements=st.integers(-2, 2).map(float)))
    X = np.vstack([base, base[: draw(st.integers(1, n))]])  # duplicated rows
    X = np.column_stack([X, np.full(len(X), draw(st.floats(-5, 5)))])  # a constant feature
    y = draw(arrays(np.int64, len(X), elements=st.integers(0, 1)))
    y[draw(st.integers(0, len(X) - 1))] = 2  # the one sample of class 2
    assume(len(np.unique(y)) == 3)
    return X, y


@settings(max_examples=25, deadline=None, derandomize=True)
@given(problem=degenerate_problems(), alpha=st.sampled_from([0.0, 1e-3, 1.0]),
       solver=st.sampled_from(["lbfgs", "gd", "adam"]))  # fmt: skip
def test_softmax_regression_stays_finite_on_degenerate_data(problem, alpha, solver):
    X, y = problem
    # Gradient descent descends for η < 2/L, L ≤ ½ λ_max([X 1]ᵀ[X 1]/N) + α (the docstring).
    X1 = np.column_stack([X, np.ones(len(X))])
    L = 0.5 * np.linalg.eigvalsh(X1.T @ X1 / len(X))[-1] + alpha
    rate = 1.0 / L if solver == "gd" else 0.05
    model = SoftmaxRegression(solver, alpha=alpha, max_iter=200, learning_rate=rate)
    with warnings.catch_warnings():
        # Separable data without a penalty has no minimum; only finiteness is promised.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert np.all(np.isfinite(model.coef_)) and np.all(np.isfinite(model.intercept_))
    assert np.all(np.isfinite(model.loss_curve_))
    if solver != "adam":  # L-BFGS and gradient descent below 2/L never go up
        assert np.all(np.diff(model.loss_curve_) <= 1e-12 * model.loss_curve_[0])
    P = model.predict_proba(X)
    assert np.all(np.isfinite(P))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    assert set(model.predict(X)) <= {0, 1, 2}


@pytest.mark.parametrize("n_copies", [1, 3])
def test_duplicating_every_row_does_not_change_the_softmax_fit(n_copies):
    # The mean loss of a dataset repeated c times is the same function.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 3, 30)
    a = SoftmaxRegression(alpha=0.1, tol=1e-8).fit(X, y)
    b = SoftmaxRegression(alpha=0.1, tol=1e-8).fit(np.tile(X, (n_copies, 1)), np.tile(y, n_copies))
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-6)
