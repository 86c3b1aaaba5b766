"""k-nearest neighbours on a data set larger than any one worker's memory limit.

A local Dask cluster of three worker processes, each with a memory limit, makes the training
set on the workers (it never exists on this machine's client process), fits a
KNeighborsClassifier on it (the partitions stay where they were made), predicts and scores
test queries, then prints the time of each step and each worker's peak memory.

    .venv/bin/python examples/dask_knn.py

The label is y = 1[x₀ + x₁ > 1] on uniform data, so the nearest neighbours should score
close to 1. ``main`` takes smaller sizes for a quick run (the tests call it so).
"""

from __future__ import annotations

import resource
import time

import dask.array as da
import numpy as np
from dask.utils import format_bytes, parse_bytes
from distributed import Client, LocalCluster

from scratchlearn import KNeighborsClassifier


def _peak_rss() -> int:
    """This process's peak resident memory in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _labels(X):
    return (X[:, 0] + X[:, 1] > 1).astype(np.int64)


def main(
    n_samples: int = 13_500_000,
    n_features: int = 16,
    n_queries: int = 200,
    n_neighbors: int = 15,
    chunk_rows: int = 500_000,
    n_workers: int = 3,
    memory_limit: str = "1.5GiB",
) -> dict:
    """Fit and score on a cluster; return the numbers it prints."""
    data_bytes = n_samples * n_features * 8
    with (
        LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                     memory_limit=memory_limit, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        limit = parse_bytes(memory_limit)
        print(f"{n_workers} workers, memory limit {format_bytes(limit)} each; training set "
              f"{n_samples:,} x {n_features} float64 = {format_bytes(data_bytes)} "
              f"({data_bytes / limit:.2f} times one worker's limit), made on the workers")
        rng = da.random.default_rng(0)
        X = rng.random((n_samples, n_features), chunks=(chunk_rows, n_features))
        y = _labels(X)
        queries = np.random.default_rng(1).random((n_queries, n_features))
        truth = _labels(queries)

        start = time.perf_counter()
        model = KNeighborsClassifier(n_neighbors=n_neighbors).fit(X, y)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        predicted = model.predict(queries)
        predict_s = time.perf_counter() - start
        accuracy = float(np.mean(predicted == truth))

        peaks = client.run(_peak_rss)
        print(f"fit (make the data, persist {len(X.chunks[0])} partitions): {fit_s:.1f} s")
        print(f"predict {n_queries} queries: {predict_s:.1f} s, accuracy {accuracy:.3f}")
        for worker, peak in sorted(peaks.items()):
            print(f"  worker {worker}: peak memory {format_bytes(peak)}")
        print(f"  client: peak memory {format_bytes(_peak_rss())}")
        return {"fit_s": fit_s, "predict_s": predict_s, "accuracy": accuracy,
                "worker_peaks": peaks, "data_bytes": data_bytes, "memory_limit": limit}


if __name__ == "__main__":
    main()
