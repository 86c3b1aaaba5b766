"""kNN on Dask arrays: the same answers as in memory, and the data stay on the workers."""

import itertools
import subprocess
import sys
import tracemalloc
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pytest
from sklearn.base import clone

from scratchlearn import KNeighborsClassifier, KNeighborsDensity
from scratchlearn._dask import knn_queries, knn_training
from scratchlearn._search import Neighbors, kneighbors_leave_one_out, kneighbors_search

ROOT = Path(__file__).resolve().parents[1]

CHUNKINGS = {  # rows per training partition, over 240 rows
    "one chunk": (240,),
    "uneven": (7, 90, 143),
    "smaller than k": (3, 4, 2, 1, 230),
    "more chunks than workers": (40,) * 6,
}


def grid_data(seed=0, n=240, d=2, n_classes=3):
    """Integer points: many exactly equal distances, so ties decide the neighbours."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 5, size=(n, d)).astype(float)
    queries = rng.integers(0, 5, size=(37, d)) + 0.5 * rng.integers(0, 2, size=(37, d))
    return X, rng.integers(0, n_classes, n), queries.astype(float)


def to_dask(X, y, chunks):
    return da.from_array(X, chunks=(chunks, -1)), da.from_array(y, chunks=(chunks,))


def assert_same(ours, theirs):
    """Equal values and dtypes: bit for bit, not approximately."""
    assert isinstance(ours, np.ndarray), type(ours)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


# --- the pure pieces, on NumPy ----------------------------------------------------------


@pytest.mark.parametrize("d", [2, 5, 12])
def test_partition_search_and_tree_merge_equal_one_search(d):
    rng = np.random.default_rng(d)
    X = rng.integers(0, 3, size=(200, d)).astype(float)
    Q = rng.integers(0, 3, size=(30, d)).astype(float)
    bounds = [0, 3, 50, 51, 120, 200]
    for k in (1, 4, 9):
        method = "kd_tree" if d <= 7 else "brute"
        parts = [
            knn_training.prepare_partition(X[a:b], np.arange(a, b) % 3, algorithm=method,
                                           metric="euclidean", p=2)
            for a, b in itertools.pairwise(bounds)
        ]
        partial_lists = [
            knn_queries.search_partition(Q, part, k, a, method=method, metric="euclidean",
                                         p=2, n_jobs=1)
            for part, a in zip(parts, bounds, strict=False)
        ]
        top = knn_queries.tree_reduce(
            partial_lists, lambda a, b, k=k: knn_queries.merge_topk(a, b, k)
        )
        distances, indices = kneighbors_search(Q, X, k)
        np.testing.assert_array_equal(top.indices, indices)
        np.testing.assert_array_equal(top.distances, distances)
        np.testing.assert_array_equal(top.codes, indices % 3)


def test_drop_self_follows_leave_one_out():
    X = np.repeat(np.arange(10.0)[:, None], 3, axis=0)  # triplicates: self may drop out
    distances, indices = kneighbors_search(X, X, 4, algorithm="brute")
    top = knn_queries.drop_self(Neighbors(distances, indices, None), 0)
    expected = kneighbors_leave_one_out(X, 3, algorithm="brute")
    np.testing.assert_array_equal(top.indices, expected[1])
    np.testing.assert_array_equal(top.distances, expected[0])


def test_tree_reduce_is_pairwise():
    calls = []

    def combine(a, b):
        calls.append((a, b))
        return f"({a}{b})"

    assert knn_queries.tree_reduce(list("abcde"), combine) == "(((ab)(cd))e)"
    assert len(calls) == 4


# --- parity with the in-memory estimators, on real workers ------------------------------


@pytest.mark.parametrize("chunking", list(CHUNKINGS))
def test_classifier_equals_in_memory_with_ties(dask_client, chunking):
    X, y, Q = grid_data()
    Xd, yd = to_dask(X, y, CHUNKINGS[chunking])
    Qd = da.from_array(Q, chunks=(10, -1))
    for k, weights in ((5, "uniform"), (8, "distance")):
        ref = KNeighborsClassifier(k, weights=weights).fit(X, y)
        model = KNeighborsClassifier(k, weights=weights).fit(Xd, yd)
        assert model.n_samples_fit_ == 240 and model.n_features_in_ == 2
        np.testing.assert_array_equal(model.classes_, ref.classes_)
        dist, ind = model.kneighbors(Qd)
        loo_dist, loo_ind = model.kneighbors(None, n_neighbors=3)
        computed = dask.compute(dist, ind, model.predict(Qd), model.predict_proba(Qd),
                                loo_dist, loo_ind)
        expected = (*ref.kneighbors(Q), ref.predict(Q), ref.predict_proba(Q),
                    *ref.kneighbors(None, n_neighbors=3))
        for ours, theirs in zip(computed, expected, strict=True):
            assert_same(ours, theirs)


@pytest.mark.parametrize(
    ("d", "dtype", "algorithm"),
    [(5, np.float64, "auto"), (20, np.float64, "auto"), (6, np.float32, "brute"),
     (3, np.float64, "kd_tree")],
)
def test_classifier_equals_in_memory_on_random_data(dask_client, d, dtype, algorithm):
    rng = np.random.default_rng(d)
    X, Q = rng.normal(size=(300, d)).astype(dtype), rng.normal(size=(40, d)).astype(dtype)
    y = np.array(["a", "b", "c"])[rng.integers(0, 3, 300)]
    Xd, yd = to_dask(X, y, (11, 150, 139))
    ref = KNeighborsClassifier(7, algorithm=algorithm).fit(X, y)
    model = KNeighborsClassifier(7, algorithm=algorithm).fit(Xd, yd)
    dist, ind = model.kneighbors(Q)  # NumPy queries: NumPy answers
    ref_dist, ref_ind = ref.kneighbors(Q)
    assert_same(dist, ref_dist)
    assert_same(ind, ref_ind)
    assert_same(model.predict(Q), ref.predict(Q))


@pytest.mark.parametrize("chunking", ["uneven", "smaller than k"])
def test_density_equals_in_memory(dask_client, chunking):
    X, y, Q = grid_data(seed=1, d=3)
    Xd, yd = to_dask(X, y, CHUNKINGS[chunking])
    Qd = da.from_array(Q, chunks=(20, -1))
    ref = KNeighborsDensity(6).fit(X, y)
    model = KNeighborsDensity(6).fit(Xd, yd)
    assert_same(model.class_count_, ref.class_count_)
    assert_same(model.class_prior_, ref.class_prior_)
    methods = ("score_samples", "class_log_density", "predict_proba")
    computed = dask.compute(*[getattr(model, name)(Qd) for name in methods],
                            *[getattr(model, name)(None) for name in methods])
    expected = [getattr(ref, name)(Q) for name in methods]
    expected += [getattr(ref, name)(None) for name in methods]
    for ours, theirs in zip(computed, expected, strict=True):
        assert_same(ours, theirs)
    assert model.score(Q) == ref.score(Q)


def test_density_without_labels(dask_client):
    X, _, Q = grid_data(seed=2, d=2)
    model = KNeighborsDensity(4, metric="manhattan").fit(da.from_array(X, chunks=50))
    assert not hasattr(model, "classes_")
    ref = KNeighborsDensity(4, metric="manhattan").fit(X)
    assert_same(model.score_samples(Q), ref.score_samples(Q))


# --- what comes back, and when --------------------------------------------------------


def test_dask_queries_give_lazy_dask_arrays(dask_client):
    X, y, Q = grid_data()
    Qd = da.from_array(Q, chunks=(16, -1))
    model = KNeighborsClassifier(5).fit(*to_dask(X, y, 60))
    for result in (model.predict(Qd), model.predict_proba(Qd), *model.kneighbors(Qd),
                   model.kneighbors(None)[1]):
        assert isinstance(result, da.Array)
        assert result.chunks[0] in ((16, 16, 5), (60,) * 4)
    assert model.predict(Qd).dtype == y.dtype
    # A NumPy-fitted model answers Dask queries blockwise, lazily, with the same values.
    ref = KNeighborsClassifier(5).fit(X, y)
    lazy = ref.predict_proba(Qd)
    assert isinstance(lazy, da.Array)
    assert_same(lazy.compute(), ref.predict_proba(Q))
    assert_same(ref.kneighbors(Qd, return_distance=False).compute(),
                ref.kneighbors(Q, return_distance=False))
    density = KNeighborsDensity(5).fit(X, y)
    assert_same(density.class_log_density(Qd).compute(), density.class_log_density(Q))


def test_dask_fitted_model_clones_and_refits_in_memory(dask_client):
    X, y, Q = grid_data()
    model = KNeighborsClassifier(3, weights="distance").fit(*to_dask(X, y, 100))
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert not hasattr(twin, "classes_")
    model.fit(X, y)  # back to memory: no Dask handle left
    assert not hasattr(model, "_dask_training")
    assert isinstance(model.predict(Q), np.ndarray)


def test_columns_in_several_chunks_are_joined(dask_client):
    X, y, Q = grid_data(d=4)
    Xd = da.from_array(X, chunks=(100, 2))
    model = KNeighborsClassifier(4).fit(Xd, da.from_array(y, chunks=70))
    ref = KNeighborsClassifier(4).fit(X, y)
    assert_same(model.predict(da.from_array(Q, chunks=(10, 3))).compute(), ref.predict(Q))


def test_bad_input_raises_clear_errors(dask_client):
    X, y, _ = grid_data()
    Xd, yd = to_dask(X, y, 100)
    with pytest.raises(ValueError, match="n_neighbors=241"):
        KNeighborsClassifier(241).fit(Xd, yd)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        KNeighborsClassifier(3).fit(Xd[Xd[:, 0] > 1], yd)
    with pytest.raises(ValueError, match="NaN"):
        KNeighborsClassifier(3).fit(da.from_array(np.where(X > 3, np.nan, X), chunks=50), y)
    with pytest.raises(ValueError, match="Unknown label type"):
        KNeighborsClassifier(3).fit(Xd, da.from_array(np.linspace(0, 1, 240), chunks=100))
    model = KNeighborsClassifier(3).fit(Xd, yd)
    with pytest.raises(ValueError, match="3 features"):
        model.predict(da.zeros((5, 3), chunks=2))
    with pytest.raises(ValueError, match="3 features"):
        model.predict(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="metric"):
        KNeighborsDensity(3, metric="cosine").fit(Xd)


def test_missing_dask_names_the_extra(monkeypatch):
    X = da.zeros((10, 2), chunks=5)  # made before Dask "disappears"
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(ImportError, match=r"scratchlearn\[dask\]"):
        KNeighborsClassifier(3).fit(X, np.zeros(10))


def test_core_install_never_imports_dask():
    code = (
        "import sys, numpy as np; from scratchlearn import KNeighborsClassifier;"
        "m = KNeighborsClassifier(1).fit(np.eye(3), [0, 1, 2]); m.predict(np.eye(3));"
        "assert 'dask' not in sys.modules, 'dask imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --- memory: the data stay on the workers -----------------------------------------------


def test_client_never_holds_the_training_data(dask_client):
    n, d = 1_000_000, 16  # 128 MB of float64, made on the workers
    rng = da.random.default_rng(0)
    X = rng.random((n, d), chunks=(125_000, d))
    y = (X[:, 0] > 0.5).astype(np.int64)
    queries = np.random.default_rng(1).random((20, d))
    tracemalloc.start()
    try:
        model = KNeighborsClassifier(5).fit(X, y)
        predicted = model.predict(queries)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"client peak {peak / 2**20:.1f} MiB for 128 MB of data"
    assert predicted.shape == (20,)
    assert np.mean(predicted == (queries[:, 0] > 0.5)) >= 0.8
    assert len(model._dask_training.partitions) == 8


def test_fit_and_predict_with_a_worker_memory_limit_below_the_data_size(tmp_path):
    """Two workers with 192 MiB each hold 256 MB of training data between them. The limit
    also counts the worker process itself (~200 MiB of imports), so pausing and killing on
    process memory are off here; the limit drives spilling: each worker keeps at most half
    its limit of data in memory and spills the rest to disk."""
    import distributed

    n, d, chunk = 500_000, 64, 15_625  # 256 MB in 8 MB chunks
    config = {
        "distributed.worker.memory.target": 0.5,
        "distributed.worker.memory.spill": False,
        "distributed.worker.memory.pause": False,
        "distributed.worker.memory.terminate": False,
    }
    with (
        dask.config.set(config),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, memory_limit="192MiB",
            dashboard_address=None, local_directory=tmp_path,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        X = da.random.default_rng(2).random((n, d), chunks=(chunk, d))
        y = (X[:, 0] > 0.5).astype(np.int64)
        queries = np.random.default_rng(3).random((10, d))
        model = KNeighborsClassifier(3).fit(X, y)
        predicted = model.predict(queries)
        spilled = client.run(lambda dask_worker: dask_worker.data.spilled_total.disk)
        workers = client.scheduler_info()["workers"]
    assert predicted.shape == (10,)
    assert len(workers) == 2  # none was lost
    assert sum(spilled.values()) > 0  # the data did not fit in memory: some is on disk
