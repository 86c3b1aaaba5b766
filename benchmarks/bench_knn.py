"""Exact kNN, side by side: scratchlearn against scikit-learn (and FAISS when installed).

Run with ``make bench``. Each case times both libraries in alternation (A B A B ...) in one
process and reports the median time of each and their ratio, so that a noisy machine moves
both alike. These are not tests: nothing asserts a time.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from sklearn.neighbors import KNeighborsClassifier as SklearnKNN

from scratchlearn import KNeighborsClassifier

try:
    import faiss
except ImportError:  # optional: pip install '.[bench]'
    faiss = None

CASES = [  # name, n_train, n_queries, n_features, k
    ("sheet moons", 900, 100, 2, 5),
    ("moons grid, large k", 900, 22_500, 2, 256),
    ("2-D, 20k", 20_000, 5_000, 2, 16),
    ("digits-like, 64-D", 5_000, 2_000, 64, 10),
    ("128-D, 20k", 20_000, 2_000, 128, 10),
]


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def compare(fn_a, fn_b, repeats=5):
    """Alternate A and B; return the median seconds of each."""
    fn_a(), fn_b()  # warm-up
    a, b = [], []
    for _ in range(repeats):
        a += timed(fn_a, 1)
        b += timed(fn_b, 1)
    return statistics.median(a), statistics.median(b)


def bench_case(n_train: int, n_queries: int, d: int, k: int, rng) -> list[float]:
    """Median seconds of each library on one shape, and the speed-ups."""
    X, Q = rng.normal(size=(n_train, d)), rng.normal(size=(n_queries, d))
    y = rng.integers(0, 2, n_train)
    ours = KNeighborsClassifier(n_neighbors=k).fit(X, y)
    theirs = SklearnKNN(n_neighbors=k).fit(X, y)
    t_ours, t_sklearn = compare(lambda: ours.kneighbors(Q), lambda: theirs.kneighbors(Q))
    row = [t_ours, t_sklearn, t_sklearn / t_ours]
    if faiss is not None:
        index = faiss.IndexFlatL2(d)
        index.add(X.astype(np.float32))
        Q32 = Q.astype(np.float32)
        t_ours, t_faiss = compare(lambda: ours.kneighbors(Q), lambda: index.search(Q32, k))
        row += [t_faiss, t_faiss / t_ours]
    return row


def main() -> None:
    rng = np.random.default_rng(0)
    header = (
        "| case | train x queries x features, k | scratchlearn s | scikit-learn s "
        "| speed-up vs sklearn |"
    )
    if faiss is not None:
        header += " FAISS (float32) s | speed-up vs FAISS |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name, n_train, n_queries, d, k in CASES:
        row = bench_case(n_train, n_queries, d, k, rng)
        cells = [
            name,
            f"{n_train} x {n_queries} x {d}, k={k}",
            f"{row[0]:.4f}",
            f"{row[1]:.4f}",
            f"{row[2]:.2f}x",
        ]
        if faiss is not None:
            cells += [f"{row[3]:.4f}", f"{row[4]:.2f}x"]
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
