"""Dask input that the in-memory tests cannot show (issue 17): a graph that draws other numbers
at each evaluation, Dask DataFrames and their column names, chunks that hold another shape
than they declare, data lost with restarted workers, unfitted models, bad Dask weights, and
the mixes of NumPy and Dask arguments. Every answer is compared with the in-memory estimator
or scikit-learn's in-memory behaviour."""

import warnings

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
from dask.delayed import delayed
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from scratchlearn import (
    HuberClassifier,
    KNeighborsClassifier,
    KNeighborsDensity,
    LeastSquaresClassifier,
    SoftmaxRegression,
)
from scratchlearn._dask.least_squares import solve_least_squares
from scratchlearn._dask.rows import LabelledRows
from scratchlearn._dask.softmax import SoftmaxProblem


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(17)
    X = rng.normal(size=(120, 3))
    y = np.array(["a", "b", "c"])[np.argmax(X @ rng.normal(size=(3, 3)), axis=1)]
    return X, y


def stored_rows_and_labels(model):
    """The rows and labels a Dask-fitted kNN model holds on the workers, in row order."""
    parts = model._dask_training.partitions
    blocks = dask.compute(*[delayed(lambda part: (part.X, part.codes))(p) for p in parts])
    X = np.concatenate([rows for rows, _ in blocks])
    return X, model.classes_[np.concatenate([codes for _, codes in blocks])]


# --- one evaluation of the graph at fit (item 6) ------------------------------------------


def fresh_draws(block):
    """Other numbers at every evaluation: a generator that is not deterministic."""
    return np.random.default_rng().random(block.shape)


@pytest.mark.parametrize("estimator", [KNeighborsClassifier(3), KNeighborsDensity(3)])
def test_knn_fit_stores_each_row_with_its_own_label(dask_client, estimator):
    X = da.zeros((400, 2), chunks=(100, 2)).map_blocks(fresh_draws, dtype=float)
    y = np.where(X[:, 0] > 0.5, "high", "low")  # labels computed from the rows
    model = estimator.fit(X, y)
    rows, labels = stored_rows_and_labels(model)
    assert rows.shape == (400, 2)
    np.testing.assert_array_equal(labels, np.where(rows[:, 0] > 0.5, "high", "low"))


# --- Dask DataFrames and feature names (item 8) -----------------------------------------


def frames(X, names, npartitions=3):
    """X as a pandas DataFrame and as a Dask DataFrame with these column names."""
    import dask.dataframe  # the dev extra installs dask[dataframe]

    frame = pd.DataFrame(X, columns=names)
    return frame, dask.dataframe.from_pandas(frame, npartitions=npartitions)


def assert_same_answers(ours, theirs):
    ours = ours.compute() if hasattr(ours, "compute") else ours
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    if theirs.dtype.kind == "f":
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-8)
    else:
        np.testing.assert_array_equal(ours, theirs)


ESTIMATORS = [
    KNeighborsClassifier(4),
    KNeighborsDensity(4),
    SoftmaxRegression(alpha=0.1),
    LeastSquaresClassifier(),
]
PREDICT = {
    "KNeighborsClassifier": "predict",
    "KNeighborsDensity": "predict_proba",
    "SoftmaxRegression": "predict_proba",
    "LeastSquaresClassifier": "predict",
}


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_dask_dataframe_feature_names_as_pandas(dask_client, data, estimator):
    X, y = data
    frame, dask_frame = frames(X, ["height", "width", "depth"])
    _, renamed = frames(X, ["height", "width", "DEPTH"])
    reference = type(estimator)(**estimator.get_params()).fit(frame, y)
    model = type(estimator)(**estimator.get_params()).fit(dask_frame, da.from_array(y, 40))
    np.testing.assert_array_equal(model.feature_names_in_, reference.feature_names_in_)
    method = PREDICT[type(estimator).__name__]
    # The right names pass, from a Dask or a pandas frame, and give the in-memory answers.
    expected = getattr(reference, method)(frame)
    for queries in (dask_frame, frame):
        assert_same_answers(getattr(model, method)(queries), expected)
    # Other names are refused as scikit-learn refuses them for a pandas frame in memory.
    with pytest.raises(ValueError, match="DEPTH") as in_memory:
        getattr(reference, method)(renamed.compute())
    for fitted in (model, reference):
        for queries in (renamed, renamed.compute()):
            with pytest.raises(ValueError) as refused:
                getattr(fitted, method)(queries)
            assert str(refused.value) == str(in_memory.value)


def test_feature_names_follow_scikit_learns_rules(dask_client, data):
    X, y = data
    # Names that are not all strings are not feature names, as for pandas.
    _, numbered = frames(X, [0, 1, 2])
    assert not hasattr(KNeighborsClassifier(3).fit(numbered, y), "feature_names_in_")
    # A refit on a Dask array forgets the names of an earlier fit.
    _, named = frames(X, ["p", "q", "r"])
    for model in (KNeighborsClassifier(3), SoftmaxRegression(), LeastSquaresClassifier()):
        model.fit(named, y)
        assert model.feature_names_in_.tolist() == ["p", "q", "r"]
        model.fit(da.from_array(X, 50), y)
        assert not hasattr(model, "feature_names_in_")
    # A pandas X with a Dask y (the Dask path of the linear models) keeps the names too.
    frame = pd.DataFrame(X, columns=["p", "q", "r"])
    for model in (KNeighborsClassifier(3), SoftmaxRegression(), LeastSquaresClassifier()):
        model.fit(frame, da.from_array(y, 50))
        assert model.feature_names_in_.tolist() == ["p", "q", "r"]


# --- chunks that hold another shape than they declare (item 9) ----------------------------


def lying(X):
    """The first 122 rows of X in three chunks that each declare 40 rows; the middle one
    holds 42."""
    blocks = [X[0:40], X[40:82], X[82:122]]
    return da.concatenate([
        da.from_delayed(delayed(block.copy)(), shape=(40, *X.shape[1:]), dtype=X.dtype)
        for block in blocks
    ])


def test_lying_chunk_shapes_are_a_value_error_at_fit(dask_client):
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(122, 2)), rng.integers(0, 2, 122)
    X_lying, y_lying = lying(X), lying(y)
    for model in (KNeighborsClassifier(3), KNeighborsDensity(3), SoftmaxRegression(),
                  LeastSquaresClassifier()):
        with pytest.raises(ValueError, match=r"X's chunk 1 .*\(40, 2\).*\(42, 2\)") as error:
            model.fit(X_lying, y_lying)
        assert "compute_chunk_sizes" in str(error.value)
    for model in (KNeighborsClassifier(3), SoftmaxRegression()):  # only y lies
        with pytest.raises(ValueError, match=r"y's chunk 1 .*\(40,\).*\(42,\)"):
            model.fit(da.from_array(X[:120], chunks=40), y_lying)
    with pytest.raises(ValueError, match="sample_weight's chunk 1"):
        SoftmaxRegression().fit(da.from_array(X[:120], chunks=40), y[:120],
                                sample_weight=lying(np.ones(122)))
    # The advice works: persisted and measured, the chunks fit as in memory.
    X_fixed, y_fixed = dask.persist(X_lying, y_lying)
    X_fixed.compute_chunk_sizes()
    y_fixed.compute_chunk_sizes()
    model = KNeighborsClassifier(3).fit(X_fixed, y_fixed)
    np.testing.assert_array_equal(model.predict(X), KNeighborsClassifier(3).fit(X, y).predict(X))


def test_lying_chunk_shapes_are_a_value_error_at_predict(dask_client, data):
    X, y = data
    queries = lying(np.random.default_rng(4).normal(size=(122, 3)))
    fitted = [
        KNeighborsClassifier(3).fit(da.from_array(X, 50), y),  # searched on the workers
        KNeighborsClassifier(3).fit(X, y),  # the in-memory model, blockwise
        SoftmaxRegression().fit(X, y),
        LeastSquaresClassifier().fit(X, y),
    ]
    for model in fitted:
        with pytest.raises(ValueError, match=r"X's chunk 1 .*\(40, 3\).*\(42, 3\)"):
            model.predict(queries).compute()


# --- data lost with the workers (item 9) ---------------------------------------------


def test_data_lost_with_restarted_workers_is_a_clear_error(data):
    # A cluster of its own: the restart must not take the shared cluster's data (or, if it
    # failed, its workers) from the other Dask tests.
    import distributed

    X, y = data
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                 dashboard_address=":0", memory_limit="1GiB") as cluster,
        distributed.Client(cluster) as client,
    ):
        knn = KNeighborsClassifier(3).fit(da.from_array(X, 50), y)
        rows = LabelledRows.persist(da.from_array(X, 50), y, estimator="SoftmaxRegression")
        problem = SoftmaxProblem(rows, alpha=0.1)
        wide = LabelledRows.persist(da.from_array(X[:2], 1), ["a", "b"],  # 2 rows, 3 columns
                                    estimator="LeastSquaresClassifier")
        client.restart()
        for call in (lambda: knn.predict(X), lambda: knn.predict(da.from_array(X, 50)),
                     lambda: knn.kneighbors()):
            with pytest.raises(RuntimeError, match="KNeighborsClassifier was lost") as error:
                call()
            assert "Fit the model again" in str(error.value)
        with pytest.raises(RuntimeError, match=r"SoftmaxRegression\.fit persisted") as error:
            problem.objective(np.zeros(3 * 4))
        assert "Fit again" in str(error.value)
        # Fewer rows than columns and no intercept: the QR route is the first to compute.
        with pytest.raises(RuntimeError, match=r"LeastSquaresClassifier\.fit persisted"):
            solve_least_squares(wide, fit_intercept=False)


# --- unfitted models, bad Dask weights (item 11) -------------------------------------


@pytest.mark.parametrize(
    ("estimator", "methods"),
    [
        (KNeighborsDensity(), ["score_samples", "class_log_density", "predict_proba"]),
        (KNeighborsClassifier(), ["predict", "predict_proba", "kneighbors"]),
        (SoftmaxRegression(),
         ["predict", "predict_proba", "predict_log_proba", "decision_function"]),
        (LeastSquaresClassifier(), ["predict", "decision_function"]),
    ],
    ids=["density", "classifier", "softmax", "least-squares"],
)
def test_unfitted_models_raise_not_fitted_on_dask(estimator, methods):
    X = da.zeros((10, 3), chunks=5)
    for method in methods:
        with pytest.raises(NotFittedError):
            getattr(estimator, method)(X)


@pytest.mark.parametrize("estimator", [SoftmaxRegression(), LeastSquaresClassifier()],
                         ids=lambda e: type(e).__name__)
def test_bad_dask_weights_are_refused_as_in_memory(dask_client, data, estimator):
    X, y = data
    ones = np.ones(len(X))
    for weights in (np.r_[ones[:-1], -0.5], np.r_[np.nan, ones[1:]], np.r_[ones[:-1], np.inf],
                    np.zeros(len(X))):
        with pytest.raises(ValueError, match="sample_weight") as in_memory:
            estimator.fit(X, y, sample_weight=weights)
        with pytest.raises(ValueError, match="sample_weight") as on_dask:
            estimator.fit(da.from_array(X, 50), y, sample_weight=da.from_array(weights, 50))
        assert str(on_dask.value) == str(in_memory.value)


# --- NumPy and Dask mixed, empty chunks, columns in chunks (item 11) ----------------------


def test_numpy_x_with_dask_y_fits_as_in_memory(dask_client, data):
    X, y = data
    y_dask = da.from_array(y, chunks=50)
    # kNN: the rows are in memory already, so the fit is the in-memory one (y is computed).
    for model in (KNeighborsClassifier(3), KNeighborsDensity(3)):
        reference = type(model)(3).fit(X, y)
        model.fit(X, y_dask)
        assert getattr(model, "_dask_training", None) is None
        answer = model.predict_proba(X)
        assert isinstance(answer, np.ndarray)
        np.testing.assert_array_equal(answer, reference.predict_proba(X))
    # Linear models: the Dask fit, on X sent to the workers, with the in-memory optimum.
    for model in (SoftmaxRegression(alpha=0.1, tol=1e-8), LeastSquaresClassifier(alpha=1.0)):
        reference = type(model)(**model.get_params()).fit(X, y)
        model.fit(X, y_dask)
        np.testing.assert_array_equal(model.classes_, reference.classes_)
        np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-8)


def test_labels_of_another_length_are_refused_naming_both_lengths(dask_client, data):
    # In-memory labels with a Dask X: the message says how many rows X has and what y is.
    X, y = data
    for model in (KNeighborsClassifier(3), KNeighborsDensity(3)):
        with pytest.raises(ValueError, match=r"^y ") as refused:
            model.fit(da.from_array(X, 50), y[:-1])
        assert f"({len(X)})" in str(refused.value) and f"({len(X) - 1},)" in str(refused.value)


def test_dask_series_labels_and_weights_fit_as_pandas(dask_client, data):
    # Labels and weights as columns of the Dask DataFrame X came from: the fit, and the
    # score, equal those of the same pandas frame.
    import dask.dataframe  # the dev extra installs dask[dataframe]

    X, y = data
    s = np.random.default_rng(18).uniform(0.5, 2.0, len(X))
    columns = ["height", "width", "depth"]
    codes = np.unique(y, return_inverse=True)[1]  # numbers: Dask keeps strings as pyarrow
    frame = pd.DataFrame(X, columns=columns).assign(s=s, label=codes)
    dask_frame = dask.dataframe.from_pandas(frame, npartitions=3)
    reference = LeastSquaresClassifier(alpha=1.0).fit(
        frame[columns], frame["label"], sample_weight=frame["s"])
    model = LeastSquaresClassifier(alpha=1.0).fit(
        dask_frame[columns], dask_frame["label"], sample_weight=dask_frame["s"])
    np.testing.assert_array_equal(model.classes_, reference.classes_)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-8, atol=1e-10)
    score = model.score(dask_frame[columns], dask_frame["label"], sample_weight=dask_frame["s"])
    assert score == pytest.approx(
        reference.score(frame[columns], frame["label"], sample_weight=frame["s"]))

def test_least_squares_qr_route_with_an_empty_chunk(dask_client, data):
    X, y = data
    # A duplicated column and an offset: XᵀX is singular, so the tall-and-skinny QR runs.
    X = np.column_stack([X, X[:, 0]]) + 1e3
    s = np.random.default_rng(5).uniform(0.5, 2.0, len(X))
    chunks = ((30, 0, 50, 0, 40), -1)
    for weights in (None, s):
        reference = LeastSquaresClassifier().fit(X, y, sample_weight=weights)
        dask_weights = None if weights is None else da.from_array(s, chunks=(chunks[0],))
        model = LeastSquaresClassifier().fit(da.from_array(X, chunks=chunks), y,
                                             sample_weight=dask_weights)
        np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-8)


def test_columns_in_several_chunks_at_predict(dask_client, data):
    X, y = data
    Q = np.random.default_rng(6).normal(size=(45, 3))
    Q_dask = da.from_array(Q, chunks=(20, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        models = [SoftmaxRegression(alpha=0.1).fit(X, y), LeastSquaresClassifier().fit(X, y),
                  HuberClassifier().fit(X, y), KNeighborsClassifier(4).fit(X, y),
                  KNeighborsDensity(4).fit(X, y)]
    for model in models:
        for method in ("predict", "predict_proba", "decision_function", "score_samples"):
            if hasattr(model, method):
                lazy = getattr(model, method)(Q_dask)
                assert lazy.chunks[0] == (20, 20, 5)
                assert_same_answers(lazy, getattr(model, method)(Q))
