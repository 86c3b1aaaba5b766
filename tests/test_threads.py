"""The search uses no more threads than the process is given (issue 19): threadpoolctl's
limits, a joblib worker's share of the cores, the CPU affinity; and the thread count never
changes an answer."""

import os
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from scratchlearn import KNeighborsClassifier, _search
from scratchlearn._search import brute, threads

CORES = threads.available_cores()


def parallel_case():
    """Enough query × training pairs for the search to start its thread pool."""
    rng = np.random.default_rng(0)
    Q, X = rng.normal(size=(2048, 8)), rng.normal(size=(1024, 8))
    assert len(Q) * len(X) >= brute.PARALLEL_MIN_PAIRS
    return Q, X


@pytest.fixture
def pools(monkeypatch):
    """The worker count of every thread pool the search starts."""
    started = []

    class Recording(ThreadPoolExecutor):
        def __init__(self, max_workers=None, *args, **kwargs):
            started.append(max_workers)
            super().__init__(max_workers, *args, **kwargs)

    monkeypatch.setattr(brute, "ThreadPoolExecutor", Recording)
    return started


def test_threadpool_limits_bound_the_search(pools):
    Q, X = parallel_case()
    expected = _search.kneighbors_search(Q, X, 5, algorithm="brute", n_jobs=1)
    with threadpool_limits(limits=1):
        assert _search.effective_n_jobs(None) == 1
        got = _search.kneighbors_search(Q, X, 5, algorithm="brute")
    assert pools == []  # one thread: no pool at all
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(got[0], expected[0])
    if CORES >= 2:  # without a limit, the same search does use the cores
        _search.kneighbors_search(Q, X, 5, algorithm="brute")
        assert pools and max(pools) == _search.effective_n_jobs(None) >= 2


def test_an_explicit_n_jobs_is_kept_under_a_limit():
    with threadpool_limits(limits=1):
        assert _search.effective_n_jobs(3) == 3
        assert _search.effective_n_jobs(-1) == CORES  # every core the process may use


def test_estimators_follow_the_limit(pools):
    Q, X = parallel_case()
    model = KNeighborsClassifier(n_neighbors=3, algorithm="brute").fit(X, np.arange(len(X)) % 3)
    with threadpool_limits(limits=1):
        model.predict(Q)
    assert pools == []


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
@pytest.mark.skipif(CORES < 2, reason="needs two cores to restrict to one")
def test_cpu_affinity_is_what_counts_not_the_machine():
    # sched_setaffinity(0, ...) binds this thread only; the pool's threads would inherit it.
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(before)})
        assert os.cpu_count() >= 2
        assert _search.effective_n_jobs(None) == 1
        assert _search.effective_n_jobs(-1) == 1
        assert _search.effective_n_jobs(-2) == 1  # never below one thread
    finally:
        os.sched_setaffinity(0, before)


def test_joblib_workers_share_the_cores():
    # loky gives each of the n_jobs=2 workers cpu_count // 2 threads through OMP_NUM_THREADS,
    # OPENBLAS_NUM_THREADS and the like; the search in a worker follows that share, where
    # it used to take every core in every worker.
    share = max(1, joblib.cpu_count() // 2)
    with joblib.parallel_config(backend="loky", n_jobs=2):
        got = joblib.Parallel()(
            joblib.delayed(_search.effective_n_jobs)(n_jobs) for n_jobs in (None, None, -1)
        )
    assert got[:2] == [min(share, CORES)] * 2
    assert got[2] == CORES


def test_answers_do_not_depend_on_the_thread_count():
    Q, X = parallel_case()
    Q32, X32 = Q.astype(np.float32), X.astype(np.float32)
    for Qx, Xx in ((Q, X), (Q32, X32)):
        runs = [_search.kneighbors_search(Qx, Xx, 7, algorithm="brute", n_jobs=n)
                for n in (1, 2, 3, None)]
        with threadpool_limits(limits=1):
            runs.append(_search.kneighbors_search(Qx, Xx, 7, algorithm="brute"))
        for distances, indices in runs[1:]:
            np.testing.assert_array_equal(indices, runs[0][1])
            np.testing.assert_array_equal(distances, runs[0][0])
