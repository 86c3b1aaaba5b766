"""Linear models on Dask arrays, on a real two-worker cluster: parity with the in-memory fits
on several chunkings, lazy predictions, and one ``compute`` per iteration."""

import subprocess
import sys
import warnings

import dask.array as da
import distributed
import numpy as np
import pytest
from distributed.diagnostics.plugin import SchedulerPlugin
from sklearn.exceptions import ConvergenceWarning

from scratchlearn import HuberClassifier, LeastSquaresClassifier, SoftmaxRegression
from scratchlearn._dask.rows import LabelledRows
from scratchlearn._dask.softmax import SoftmaxProblem, _softmax_sums
from scratchlearn._math.softmax_objective import softmax_objective

# Row chunkings of the 600 samples: uneven, one chunk, more chunks than workers (with an
# empty one), and columns split in two (rejoined by the estimators).
CHUNKINGS = {
    "uneven": ((100, 337, 63, 100), -1),
    "one": ((600,), -1),
    "many": ((60,) * 5 + (0,) + (60,) * 5, -1),
    "split-columns": (150, 3),
}

#: Graphs a fit sends before its first objective: persist (X, y), the classes and
#: finiteness check, persist the codes.
SETUP_GRAPHS = 3


def relative(a, b) -> float:
    """‖a − b‖ / ‖b‖, and 0 when both are 0."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / max(np.linalg.norm(b), 1e-300))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5)) * [1.0, 2.0, 0.5, 1.0, 3.0] + 2.0
    scores = X @ rng.normal(size=(5, 3)) + rng.normal(scale=2.0, size=(600, 3))
    y = np.array(["ant", "bee", "cat"])[np.argmax(scores, axis=1)]
    return X, y


def chunked(X, name):
    return da.from_array(X, chunks=CHUNKINGS[name])


class GraphCounter(SchedulerPlugin):
    """Counts the graphs the scheduler receives: one per ``compute`` or ``persist``."""

    name = "scratchlearn-graph-counter"

    def __init__(self):
        self.count = 0

    def update_graph(self, scheduler, *args, **kwargs):
        self.count += 1


@pytest.fixture(scope="module")
def graphs(dask_client):
    dask_client.register_plugin(GraphCounter())

    def count() -> int:
        return dask_client.run_on_scheduler(
            lambda dask_scheduler: dask_scheduler.plugins[GraphCounter.name].count
        )

    return count


# ----------------------------------------------------------------------- softmax


@pytest.mark.parametrize("chunking", list(CHUNKINGS))
@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_softmax_reaches_the_in_memory_objective(dask_client, data, solver, chunking):
    X, y = data
    params = {
        "solver": solver,
        "alpha": 0.1,
        "tol": 1e-5,
        "max_iter": 20 if solver == "gd" else 200,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # gd stops at max_iter on purpose
        local = SoftmaxRegression(**params).fit(X, y)
        spread = SoftmaxRegression(**params).fit(chunked(X, chunking), da.from_array(y, 128))
    assert spread.loss_curve_[-1] == pytest.approx(local.loss_curve_[-1], rel=1e-6)
    assert spread.classes_.tolist() == ["ant", "bee", "cat"]
    assert spread.n_features_in_ == 5 and spread.coef_.dtype == np.float64
    if solver == "gd":  # the same path, step by step
        np.testing.assert_allclose(spread.loss_curve_, local.loss_curve_, rtol=1e-10)


def test_softmax_two_classes_float32_and_numpy_labels(dask_client, data):
    X, y = data
    X32, binary = X.astype(np.float32), np.where(y == "ant", "ant", "other")
    # The default tol: float32 arithmetic cannot take the gradient much below 1e-5.
    local = SoftmaxRegression(alpha=1e-2).fit(X32, binary)
    spread = SoftmaxRegression(alpha=1e-2).fit(chunked(X32, "uneven"), binary)
    assert spread.coef_.shape == (1, 5) and spread.coef_.dtype == np.float32
    assert spread.loss_curve_[-1] == pytest.approx(local.loss_curve_[-1], rel=1e-6)



def test_a_chunk_past_divergence_gives_non_finite_sums_without_numpy_warnings():
    # Divergence is the optimiser's to report (one ConvergenceWarning, as in memory): on a
    # worker, a chunk's sums at an overflowing θ are simply not finite, with no RuntimeWarning.
    rng = np.random.default_rng(3)
    X, codes, s = rng.normal(size=(20, 3)), rng.integers(0, 3, 20), rng.uniform(0.5, 2, 20)
    theta = rng.normal(size=3 * 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grad = _softmax_sums(X, codes, theta=theta, K=3)
        diverged = [_softmax_sums(X, codes, weights, theta=np.full(3 * 4, 1e300), K=3)
                    for weights in (None, s)]
    expected_loss, expected_grad = softmax_objective(theta, X, codes, 3, 0.0)
    assert loss == pytest.approx(20 * expected_loss, rel=1e-12)
    np.testing.assert_allclose(grad, 20 * expected_grad, rtol=1e-12)
    assert all(not np.isfinite(loss) for loss, _ in diverged)

@pytest.mark.parametrize(
    "params",
    [
        {"solver": "sgd", "learning_rate": 0.1},
        {"solver": "momentum", "learning_rate": 0.01, "batch_size": 50},
        {"solver": "adam", "learning_rate": 0.05, "batch_size": 64},
    ],
)
def test_softmax_minibatch_solvers_descend(dask_client, data, params):
    X, y = data
    params = {**params, "alpha": 1e-2, "max_iter": 8, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        local = SoftmaxRegression(**params).fit(X, y)
        spread = SoftmaxRegression(**params).fit(chunked(X, "uneven"), y)
        again = SoftmaxRegression(**params).fit(chunked(X, "uneven"), y)
    curve = spread.loss_curve_
    assert curve[-1] < 0.7 * curve[0] and len(curve) == spread.n_iter_ + 1
    assert abs(spread.score(X, y) - local.score(X, y)) < 0.05
    np.testing.assert_array_equal(again.coef_, spread.coef_)  # random_state decides it all


def test_softmax_one_compute_per_iteration(dask_client, data, graphs):
    X, y = data
    rows = LabelledRows.persist(chunked(X, "many"), y, estimator="test")
    distributed.wait(rows.codes)  # persist's graph is sent asynchronously
    problem = SoftmaxProblem(rows, alpha=0.1)
    before = graphs()
    problem.objective(np.zeros(3 * 6))
    assert graphs() - before == 1

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for params, per_fit in [({"solver": "gd"}, 1), ({"solver": "sgd", "batch_size": 50}, 1)]:
            before = graphs()
            model = SoftmaxRegression(**params, max_iter=7, tol=0).fit(chunked(X, "many"), y)
            # Setup, the objective at the start, then one graph per iteration (an epoch
            # of steps and the objective at its end form one graph for sgd).
            assert graphs() - before == SETUP_GRAPHS + per_fit + model.n_iter_
            assert model.n_iter_ == 7

    before = graphs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SoftmaxRegression(alpha=0.1, max_iter=8).fit(chunked(X, "many"), y)
    # L-BFGS evaluates J once per iteration, plus the line search's extra trials.
    assert model.n_iter_ + 1 <= graphs() - before - SETUP_GRAPHS <= 2 * (model.n_iter_ + 1)


# ----------------------------------------------------------------- least squares


@pytest.mark.parametrize("chunking", list(CHUNKINGS))
@pytest.mark.parametrize(
    "params", [{}, {"alpha": 3.0}, {"fit_intercept": False}], ids=["ols", "ridge", "no-b"]
)
def test_least_squares_matches_in_memory(dask_client, data, chunking, params):
    X, y = data
    local = LeastSquaresClassifier(**params).fit(X, y)
    spread = LeastSquaresClassifier(**params).fit(chunked(X, chunking), y)
    assert relative(spread.coef_, local.coef_) < 1e-8
    assert relative(spread.intercept_, local.intercept_) < 1e-8
    assert spread.classes_.tolist() == local.classes_.tolist()


@pytest.mark.parametrize("dask_weights", [False, True])
def test_least_squares_sample_weight_and_qr_route(dask_client, data, dask_weights):
    X, y = data
    # A duplicated column and a large offset: XᵀX is singular, so the QR route runs.
    X = np.column_stack([X, X[:, 0]]) + 1e3
    s = np.random.default_rng(1).uniform(0.0, 2.0, size=len(X))
    local = LeastSquaresClassifier().fit(X, y, sample_weight=s)
    weights = da.from_array(s, chunks=100) if dask_weights else s
    spread = LeastSquaresClassifier().fit(chunked(X, "uneven"), y, sample_weight=weights)
    assert relative(spread.coef_, local.coef_) < 1e-8
    assert relative(spread.intercept_, local.intercept_) < 1e-8


@pytest.mark.parametrize("k", [-531, 531])  # |x| about 1e-160 and 1e160
@pytest.mark.parametrize("route", ["gram", "qr"])
def test_least_squares_at_extreme_magnitudes_fits_as_at_unit_scale(dask_client, data, k, route):
    # The squares of such values underflow or overflow float64: the chunks are solved at a
    # power-of-two scale, as in memory, so X·2^k fits as X with coef_ scaled by 2^-k
    # (unscaled, the Gram matrix is 0 or inf and the coefficients inf or NaN).
    X, y = data
    if route == "qr":  # a duplicated column: XᵀX is singular
        X = np.column_stack([X, X[:, 0]])
    unit = LeastSquaresClassifier().fit(X, y)
    X_k = np.ldexp(X, k)
    spread = LeastSquaresClassifier().fit(chunked(X_k, "uneven"), y)
    assert np.isfinite(spread.coef_).all() and np.isfinite(spread.intercept_).all()
    assert relative(np.ldexp(spread.coef_, k), unit.coef_) < 1e-8
    assert relative(spread.intercept_, unit.intercept_) < 1e-8
    np.testing.assert_array_equal(spread.predict(X_k), unit.predict(X))


# ------------------------------------------------------------------- predictions


@pytest.mark.parametrize(
    ("model", "methods"),
    [
        (SoftmaxRegression(alpha=0.1), ["predict", "predict_proba", "predict_log_proba"]),
        (LeastSquaresClassifier(), ["predict"]),
        (HuberClassifier(), ["predict"]),
    ],
    ids=["softmax", "least-squares", "huber"],
)
@pytest.mark.parametrize("two_classes", [False, True])
def test_predictions_are_lazy_and_blockwise(dask_client, data, model, methods, two_classes):
    X, y = data
    if two_classes:
        y = np.where(y == "ant", "ant", "other")
    model.fit(X, y)
    X_dask = chunked(X, "many")
    for method in [*methods, "decision_function"]:
        lazy = getattr(model, method)(X_dask)
        assert isinstance(lazy, da.Array), method
        assert lazy.chunks[0] == X_dask.chunks[0]
        expected = getattr(model, method)(X)
        computed = lazy.compute()
        assert computed.shape == expected.shape and computed.dtype == expected.dtype
        if computed.dtype.kind == "f":
            np.testing.assert_allclose(computed, expected, rtol=1e-12, atol=1e-12)
        else:
            np.testing.assert_array_equal(computed, expected)
    s = np.linspace(0.0, 1.0, len(X))
    assert isinstance(model.score(X_dask, y), float)
    assert model.score(X_dask, da.from_array(y, 77)) == pytest.approx(model.score(X, y))
    assert model.score(X_dask, y, sample_weight=s) == pytest.approx(
        model.score(X, y, sample_weight=s)
    )


# ------------------------------------------------------------------------ errors


def test_clear_errors(dask_client, data):
    X, y = data
    X_dask = chunked(X, "uneven")
    with pytest.raises(ValueError, match="supported by LeastSquaresClassifier and Softmax"):
        HuberClassifier().fit(X_dask, y)
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        SoftmaxRegression().fit(X_dask[X_dask[:, 0] > 0], y)
    with pytest.raises(ValueError, match="y has 599 samples but X has 600"):
        LeastSquaresClassifier().fit(X_dask, y[:-1])
    with pytest.raises(ValueError, match="NaN or infinity"):
        LeastSquaresClassifier().fit(da.where(X_dask > 4, np.nan, X_dask), y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        SoftmaxRegression().fit(X_dask, np.zeros(len(X)))
    model = SoftmaxRegression().fit(X, y)
    with pytest.raises(ValueError, match="X has 4 features, but SoftmaxRegression is expecting 5"):
        model.predict(X_dask[:, :4])


def test_core_install_does_not_import_dask():
    code = (
        "import sys, numpy as np; from scratchlearn import SoftmaxRegression, "
        "LeastSquaresClassifier; X = np.random.rand(30, 2); y = X[:, 0] > 0.5; "
        "SoftmaxRegression().fit(X, y).predict(X); LeastSquaresClassifier().fit(X, y).score(X, y); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
