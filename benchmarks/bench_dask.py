"""The estimators on a Dask LocalCluster against the same estimators in memory.

Run by ``make bench`` after ``bench_knn.py``. Data that fits in memory, so that the
in-memory estimator is the reference: kNN ``predict`` and ``SoftmaxRegression(lbfgs).fit``
on a cluster of 1 and of 2 single-threaded worker processes, with the data persisted on the
workers first. Reports medians, the ratio to in memory, and the overhead per Dask task
(the extra time divided by the tasks of the kNN graph, or by the computes of the softmax
fit, one per objective evaluation). Nothing asserts a time.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import dask
import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

from scratchlearn import KNeighborsClassifier, SoftmaxRegression

N_TRAIN, N_QUERIES, N_FEATURES, CHUNK = 200_000, 2_000, 64, 25_000


def median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def n_tasks(collection) -> int:
    return len(dict(collection.__dask_graph__()))


def make_data(chunk: int):
    """The same seeded data as Dask arrays (made by the workers) and in memory."""
    rng = da.random.default_rng(0)
    dX = rng.standard_normal((N_TRAIN, N_FEATURES), chunks=(chunk, N_FEATURES),
                             dtype=np.float32)
    dy = (dX[:, 0] > 0).astype(int) + (dX[:, 1] > 0)
    dQ = rng.standard_normal((N_QUERIES, N_FEATURES), chunks=(N_QUERIES // 2, N_FEATURES),
                             dtype=np.float32)
    return dX, dy, dQ


def dask_cases(repeats: int = 3) -> list[dict]:
    with dask.config.set(scheduler="threads"):
        X, y, Q = dask.compute(*make_data(CHUNK))

    knn = KNeighborsClassifier(5).fit(X, y)
    t_knn = median_time(lambda: knn.predict(Q), repeats)
    X_soft, y_soft = X[:100_000], y[:100_000]
    t_soft = median_time(lambda: SoftmaxRegression().fit(X_soft, y_soft), repeats)

    rows = []
    for n_workers in (1, 2):
        with (
            LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster,
            Client(cluster),
        ):
            dX, dy, dQ = dask.persist(*make_data(CHUNK))
            dask_knn = KNeighborsClassifier(5).fit(dX, dy)
            lazy = dask_knn.predict(dQ)
            np.testing.assert_array_equal(lazy.compute(), knn.predict(Q))
            t = median_time(lambda lazy=lazy: dask.compute(lazy), repeats)
            rows.append(_row("kNN predict, 2 query chunks", n_workers, t, t_knn, n_tasks(lazy)))

            dXs, dys = dX[:100_000].persist(), dy[:100_000].persist()
            fitted = SoftmaxRegression().fit(dXs, dys)
            t = median_time(lambda dXs=dXs, dys=dys: SoftmaxRegression().fit(dXs, dys), repeats)
            # One compute per objective evaluation: count them as L-BFGS iterations + 1.
            rows.append(_row("SoftmaxRegression(lbfgs).fit", n_workers, t, t_soft,
                             fitted.n_iter_ + 1, "computes"))
    return rows


def _row(case: str, n_workers: int, t_dask: float, t_memory: float, units: int,
         unit: str = "tasks") -> dict:
    """Times, their ratio, and the extra time per task (kNN) or per compute (softmax)."""
    return {
        "case": case, "n_workers": n_workers, "dask_s": t_dask, "in_memory_s": t_memory,
        "ratio": t_dask / t_memory, "units": units, "unit": unit,
        "overhead_per_unit_ms": max(0.0, t_dask - t_memory) / units * 1e3,
    }


def main() -> None:
    print(f"{N_TRAIN:,} x {N_FEATURES} training points (float32), chunks of {CHUNK:,} rows")
    rows = dask_cases()
    results_path = Path(__file__).with_name("results.json")
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results["dask"] = rows
    results_path.write_text(json.dumps(results, indent=1) + "\n")
    for row in rows:
        print(f"{row['case']}, {row['n_workers']} worker(s): {row['dask_s']:.3f} s on Dask, "
              f"{row['in_memory_s']:.3f} s in memory, ratio {row['ratio']:.2f}, "
              f"{row['units']} {row['unit']}, {row['overhead_per_unit_ms']:.1f} ms extra per "
              f"{row['unit'][:-1]}")


if __name__ == "__main__":
    main()
