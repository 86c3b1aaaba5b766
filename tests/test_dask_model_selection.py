"""scikit-learn's model selection over Dask arrays (issue 19).

Persisted Dask arrays hold handles to chunks on the cluster of this process's client.
``GridSearchCV(n_jobs=2)`` sends every fold to a joblib worker process, which has no
client: the fits there used to fail deep inside Dask (``Missing dependency``). They are
refused with a message that says what to do instead, and the two ways it names (n_jobs=None
here, joblib's Dask backend on the cluster) give scikit-learn's scores on the same arrays
in memory.
"""

import pickle
import warnings

import distributed
import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score

from scratchlearn import KNeighborsClassifier, SoftmaxRegression

da = pytest.importorskip("dask.array")

GRID = {"n_neighbors": [1, 3]}


@pytest.fixture(scope="module")
def data(dask_client):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 4)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.normal(size=240) > 0).astype(int)
    X_dask = da.from_array(X, chunks=80).persist()  # held by the workers, as in the docs
    y_dask = da.from_array(y, chunks=80).persist()
    return X, y, X_dask, y_dask


def test_grid_search_in_joblib_workers_is_refused_with_what_to_do(data):
    *_, X_dask, y_dask = data
    search = GridSearchCV(KNeighborsClassifier(), GRID, cv=3, n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's FitFailedWarning per failed fit
        with pytest.raises(ValueError, match="All the 6 fits failed") as failed:
            search.fit(X_dask, y_dask)
    message = str(failed.value)  # scikit-learn quotes the fits' own error
    for advice in ("no client", "n_jobs=None", "parallel_backend('dask')", "X.compute()"):
        assert advice in message
    with pytest.raises(ValueError, match=r"X is a Dask collection.*n_jobs=None"):
        cross_val_score(SoftmaxRegression(), X_dask, y_dask, cv=3, n_jobs=2,
                        error_score="raise")


def test_the_ways_it_names_give_the_in_memory_scores(data):
    X, y, X_dask, y_dask = data
    expected = GridSearchCV(KNeighborsClassifier(), GRID, cv=3).fit(X, y)
    here = GridSearchCV(KNeighborsClassifier(), GRID, cv=3).fit(X_dask, y_dask)
    with joblib.parallel_backend("dask"):
        on_cluster = GridSearchCV(KNeighborsClassifier(), GRID, cv=3, n_jobs=2).fit(
            X_dask, y_dask)
    for search in (here, on_cluster):
        np.testing.assert_array_equal(search.cv_results_["mean_test_score"],
                                      expected.cv_results_["mean_test_score"])
        assert search.best_params_ == expected.best_params_
    np.testing.assert_allclose(
        cross_val_score(SoftmaxRegression(), X_dask, y_dask, cv=3),
        cross_val_score(SoftmaxRegression(), X, y, cv=3),
    )


def test_chunks_out_of_reach_are_refused_in_process_naming_the_argument(data, monkeypatch):
    # What a joblib worker process gets, checked here (where mutation testing sees it): the
    # arrays as pickled for it, whose handles are bound to no client, and no client to find.
    X, y, X_dask, y_dask = data
    sent_X, sent_y = pickle.loads(pickle.dumps((X_dask, y_dask)))

    def no_client(*args, **kwargs):
        raise ValueError("No clients found")  # as distributed's get_client there

    monkeypatch.setattr(distributed, "get_client", no_client)
    for fit, name in ((lambda: KNeighborsClassifier().fit(sent_X, y), "X"),
                      (lambda: SoftmaxRegression().fit(X, sent_y), "y")):
        with pytest.raises(ValueError, match=rf"^{name} is a Dask collection") as refused:
            fit()
        assert "no client" in str(refused.value) and "n_jobs=None" in str(refused.value)
    # Collections that hold no handles compute anywhere, and in-memory input is not Dask's.
    lazy_X = da.from_array(X, chunks=80)
    np.testing.assert_array_equal(KNeighborsClassifier().fit(lazy_X, y).predict(X),
                                  KNeighborsClassifier().fit(X, y).predict(X))
