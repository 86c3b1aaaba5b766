"""
k-nearest neighbours on a Dask cluster
======================================

A ``LocalCluster`` of two worker processes makes the training set on the workers (it never
exists in this process), fits a ``KNeighborsClassifier`` on it (the partitions stay where
they were made), then predicts and scores queries, and prints each step's time and each
worker's peak memory. The answers are those of the same estimator in memory, ties
included: every query is searched against every partition with the in-memory kernel and
the partial lists are merged.

The workers are separate processes, started by ``multiprocessing``'s *spawn*, which
imports this script again in each of them: so the work runs under
``if __name__ == "__main__":``. Run it with ``.venv/bin/python examples/dask_knn.py``;
it needs the ``dask`` extra (``pip install 'scratchlearn[dask]'``).
"""

# %%
# The fit, as a function
# ----------------------
# The label is y = 1[x₀ + x₁ > 1] on uniform data, so the nearest neighbours should score
# close to 1. ``main`` takes the sizes as arguments: the defaults run in seconds; with
# ``main(n_samples=13_500_000, n_workers=3, memory_limit="1.5GiB")`` the training set
# (1.6 GiB) is larger than any one worker's memory limit, and the fit still works, since
# no partition ever has to move.
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
    n_samples: int = 400_000,
    n_features: int = 16,
    n_queries: int = 200,
    n_neighbors: int = 15,
    chunk_rows: int = 100_000,
    n_workers: int = 2,
    memory_limit: str = "1GiB",
) -> dict:
    """Fit and score on a local cluster; return the numbers it prints."""
    data_bytes = n_samples * n_features * 8
    with (
        LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                     memory_limit=memory_limit, dashboard_address=":0") as cluster,
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
        predicted = model.predict(queries)  # NumPy queries get a NumPy answer
        predict_s = time.perf_counter() - start
        accuracy = float(np.mean(predicted == truth))

        peaks = client.run(_peak_rss)
        print(f"fit (make the data, persist {len(X.chunks[0])} partitions): {fit_s:.1f} s")
        print(f"predict {n_queries} queries: {predict_s:.1f} s, accuracy {accuracy:.3f}")
        for number, peak in enumerate(sorted(peaks.values()), start=1):
            print(f"  worker {number}: peak memory {format_bytes(peak)}")
        print(f"  client: peak memory {format_bytes(_peak_rss())}")
        return {"fit_s": fit_s, "predict_s": predict_s, "accuracy": accuracy,
                "worker_peaks": peaks, "data_bytes": data_bytes, "memory_limit": limit}


# %%
# Run it
# ------
# Only the process that runs the script as a program does the work; the workers, which
# import it again, skip this block.
if __name__ == "__main__":
    main()
