"""Exact kNN, side by side: scratchlearn's ``NearestNeighbors`` against scikit-learn's,
scikit-learn-intelex's (Intel's oneDAL), FAISS's ``IndexFlatL2`` and, in 2-D, SciPy's
cKDTree; then start-up after a fresh install and GridSearchCV(n_jobs=2)
(``bench_startup.py``).

Run with ``make bench`` (which unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for this
process only: on the development machine they force an older, slower BLAS kernel). Each case
builds the arrays once, fits every library on them, then times ``kneighbors`` (or the
library's search) in alternation (A B C A B C ...) in one process, and reports medians and
ratios, so that a noisy machine moves every library alike. Every library's neighbours are
compared with ours (``same_neighbours``). Peak memory is measured in a separate, untimed
search per library, in a fresh process (``peak_extra_rss``). The load average before and
after each case is recorded with it. Nothing asserts a time.

``--knn-only`` runs the kNN cases and the growth plot and keeps the other sections of
``results.json`` as they were.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_info

import scratchlearn
from scratchlearn import KNeighborsClassifier

try:
    import faiss
except ImportError:  # optional: pip install '.[bench]'
    faiss = None
try:  # scikit-learn-intelex: Intel's oneDAL behind scikit-learn's interface
    from sklearnex.neighbors import NearestNeighbors as OneDALNearestNeighbors
except ImportError:  # optional: pip install '.[bench]'
    OneDALNearestNeighbors = None

HERE = Path(__file__).parent
#: name, n_train, n_queries, n_features, k; float32 data, as users feed a kNN search.
CASES = [
    ("64-D", 100_000, 2_000, 64, 5),
    ("64-D, more queries", 200_000, 5_000, 64, 5),
    ("64-D, few queries", 1_000_000, 100, 64, 5),
    ("784-D (MNIST-sized)", 60_000, 2_000, 784, 5),
    ("64-D, k = 100", 200_000, 2_000, 64, 100),
    ("2-D (tree)", 1_000_000, 10_000, 2, 5),
]
#: The growth plot: 2,000 queries, d = 64, k = 5, against n.
#: The tree-versus-brute sweep behind ``algorithm="auto"``: 100,000 points, 2,000 queries, k = 10.
TREE_SWEEP_FEATURES = (2, 4, 5, 6, 7, 8, 12)
GROWTH_N = [12_500, 25_000, 50_000, 100_000, 200_000, 400_000]


def peak_extra_rss(case_index: int, library: str) -> float:
    """Extra peak memory (MB) of one search, measured in a fresh process.

    The child builds the case's arrays and fits the library, resets the kernel's peak-RSS
    counter (``/proc/self/clear_refs``), runs one search, and reports VmHWM minus the RSS
    before the search: what the search itself added above its inputs and fitted state.
    """
    out = subprocess.run(
        [sys.executable, __file__, "--memory-probe", str(case_index), library],
        capture_output=True, text=True, check=True, cwd=HERE,
    )
    return float(out.stdout.split()[-1])


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def _memory_probe(case_index: int, library: str) -> None:
    _, n_train, n_queries, d, k = CASES[case_index]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_train, d)).astype(np.float32)
    Q = rng.normal(size=(n_queries, d)).astype(np.float32)
    search = searchers(X, Q, k)[library]
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    before = _status_kb("VmRSS")
    search()
    print((_status_kb("VmHWM") - before) / 1024)


def alternate(fns: dict, repeats: int) -> dict[str, list[float]]:
    """Time each function ``repeats`` times, in turn, after one warm-up call each."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def searchers(X, Q, k: int) -> dict:
    """One search function per library, each fitted on the same float32 arrays; each
    returns (distances, indices), indices second."""
    ours = scratchlearn.NearestNeighbors(n_neighbors=k).fit(X)
    fns = {"scratchlearn": lambda: ours.kneighbors(Q)}
    # The peers' own choice of algorithm: a KD-tree in 2-D, brute force above 15 features.
    algorithm = "auto" if X.shape[1] <= 15 else "brute"
    theirs = NearestNeighbors(n_neighbors=k, algorithm=algorithm).fit(X)
    fns["scikit-learn"] = lambda: theirs.kneighbors(Q)
    if OneDALNearestNeighbors is not None:
        onedal = OneDALNearestNeighbors(n_neighbors=k, algorithm=algorithm).fit(X)
        fns["oneDAL"] = lambda: onedal.kneighbors(Q)
    if X.shape[1] <= 15:  # the low-dimensional peer is SciPy's tree
        tree = cKDTree(X)
        fns["cKDTree"] = lambda: tree.query(Q, k=k, workers=-1)
    elif faiss is not None:  # brute force only: far behind any tree in 2-D
        index = faiss.IndexFlatL2(X.shape[1])
        index.add(X)
        fns["FAISS"] = lambda: index.search(Q, k)
    return fns


def same_neighbours(X, Q, ours: np.ndarray, theirs: np.ndarray) -> dict:
    """How another library's neighbours compare with ours (indices, one row per query).

    ``identical_rows``: the share of queries whose index lists are identical. Where they
    differ, both lists' exact distances (float64, from X and Q) are sorted and compared:
    ``max_distance_gap`` is the largest difference relative to the query's k-th distance,
    0 when the lists differ only in the order or choice of tied points, about 1e-7 when a
    library's float32 rounding swapped near-ties, and large for a wrong neighbour.
    """
    differ = np.flatnonzero((ours != theirs).any(axis=1))
    gap = 0.0
    for rows in np.array_split(differ, max(1, len(differ) // 256)):  # bounded memory
        if rows.size == 0:
            continue
        q = Q[rows].astype(np.float64)[:, None, :]
        exact = [np.sort(np.sqrt(((X[idx[rows]].astype(np.float64) - q) ** 2).sum(-1)), axis=1)
                 for idx in (ours, theirs)]
        scale = np.maximum(exact[0][:, -1:], np.finfo(np.float64).tiny)
        gap = max(gap, float((np.abs(exact[0] - exact[1]) / scale).max()))
    return {"identical_rows": 1.0 - len(differ) / len(ours), "max_distance_gap": gap}


def onedal_path(search) -> str:
    """Run ``search`` once with scikit-learn-intelex's log on: "accelerated" when oneDAL ran
    it, "fallback" when it handed the call to scikit-learn's own code."""
    import logging

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("sklearnex")
    level, handlers, propagate = logger.level, logger.handlers, logger.propagate
    logger.setLevel(logging.INFO)
    logger.handlers, logger.propagate = [handler], False  # read it, print nothing
    try:
        search()
    finally:
        logger.setLevel(level)
        logger.handlers, logger.propagate = handlers, propagate
    said = " ".join(record.getMessage() for record in records)
    return "accelerated" if "running accelerated version" in said else "fallback"


def bench_case(name, n_train, n_queries, d, k, repeats, rng) -> dict:
    """Median seconds of every library on one case, the ratios, whether each found our
    neighbours, each one's peak memory, and the load average before and after."""
    load_before = os.getloadavg()
    X = rng.normal(size=(n_train, d)).astype(np.float32)
    Q = rng.normal(size=(n_queries, d)).astype(np.float32)
    fns = searchers(X, Q, k)
    found = {lib: np.asarray(fn()[1]) for lib, fn in fns.items()}
    same = {lib: same_neighbours(X, Q, found["scratchlearn"], idx)
            for lib, idx in found.items() if lib != "scratchlearn"}
    onedal = onedal_path(fns["oneDAL"]) if "oneDAL" in fns else None
    times = alternate(fns, repeats)
    medians = {lib: statistics.median(t) for lib, t in times.items()}
    # Each round ran every library once, back to back: the median of the per-round ratios
    # cancels most of the machine's drift between rounds.
    paired = {lib: statistics.median(a / b for a, b in zip(times["scratchlearn"], t, strict=True))
              for lib, t in times.items() if lib != "scratchlearn"}
    load_after = os.getloadavg()
    memory = {lib: peak_extra_rss(CASES.index((name, n_train, n_queries, d, k)), lib)
              for lib in fns}
    return {
        "case": name, "n_train": n_train, "n_queries": n_queries, "n_features": d, "k": k,
        "dtype": "float32", "repeats": repeats, "seconds": times, "median_s": medians,
        "ratio_vs": paired, "same_neighbours": same, "onedal_path": onedal,
        "load_average": {"before": load_before, "after": load_after},
        "peak_extra_rss_mb": memory,
    }


def bench_growth(repeats, rng) -> list[dict]:
    rows = []
    Q = rng.normal(size=(2_000, 64)).astype(np.float32)
    for n in GROWTH_N:
        X = rng.normal(size=(n, 64)).astype(np.float32)
        times = alternate(searchers(X, Q, 5), repeats)
        rows.append({"n_train": n, "median_s": {lib: statistics.median(t)
                                                for lib, t in times.items()}})
    return rows


def bench_tree_vs_brute(repeats, rng) -> list[dict]:
    """The rule of ``algorithm="auto"``: the dimension where brute force overtakes the tree."""
    rows = []
    for d in TREE_SWEEP_FEATURES:
        for dtype in (np.float32, np.float64):
            X = rng.normal(size=(100_000, d)).astype(dtype)
            Q = rng.normal(size=(2_000, d)).astype(dtype)
            y = np.arange(len(X)) % 2
            models = {a: KNeighborsClassifier(10, algorithm=a).fit(X, y)
                      for a in ("kd_tree", "brute")}
            times = alternate(
                {a: (lambda m=m, Q=Q: m.kneighbors(Q)) for a, m in models.items()}, repeats
            )
            rows.append({"n_features": d, "dtype": np.dtype(dtype).name, "median_s": {
                a: statistics.median(t) for a, t in times.items()}})
    return rows


def plot_growth(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    n = [row["n_train"] for row in rows]
    for lib, style in (("scratchlearn", "o-"), ("FAISS", "s--"), ("oneDAL", "d-."),
                       ("scikit-learn", "^:")):
        if lib in rows[0]["median_s"]:
            label = "oneDAL (scikit-learn-intelex)" if lib == "oneDAL" else lib
            ax.loglog(n, [row["median_s"][lib] for row in rows], style, label=label)
    ax.set_xticks(n, [f"{v / 1000:g}k" for v in n])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("training points n (d = 64, float32)")
    ax.set_ylabel("kneighbors time for 2,000 queries, k = 5 (s)")
    ax.set_title("Exact kNN search time against n (median, 2-core machine)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def machine() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    blas = [(i["internal_api"], i.get("architecture"), i["num_threads"])
            for i in threadpool_info() if i["user_api"] == "blas"]
    versions = {}
    for package in ("scikit-learn", "scikit-learn-intelex", "faiss-cpu", "scipy"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return {"processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "blas": blas, "versions": versions,
            "date": time.strftime("%Y-%m-%d")}


def agreement(row: dict) -> str:
    """Each peer's share of queries with our neighbours, and the distance gap where not."""
    cells = []
    for lib, same in row["same_neighbours"].items():
        cell = f"{lib} {100 * same['identical_rows']:.4g}%"
        if same["identical_rows"] < 1:
            cell += f" (gap {same['max_distance_gap']:.0e})"
        cells.append(cell)
    return ", ".join(cells)


def _time_cell(row: dict, lib: str, label: str = "") -> str:
    """A library's median time and our ratio to it, or "-" when it did not run."""
    if lib not in row["median_s"]:
        return "-"
    return f"{label}{row['median_s'][lib]:.3f} ({row['ratio_vs'][lib]:.2f})"


def markdown(case_rows: list[dict]) -> str:
    head = ("| case | train x queries x d, k | scratchlearn s | scikit-learn s (ours / it) "
            "| oneDAL s (ours / it) | peer s (ours / it) | same neighbours "
            "| extra peak RSS MB, ours / oneDAL / peer | load average |")
    # Times are medians; ratios are medians of the per-round ratios (``bench_case``).
    lines = [head, "|" + "---|" * 9]
    for r in case_rows:
        med, mem = r["median_s"], r["peak_extra_rss_mb"]
        peer = "FAISS" if "FAISS" in med else "cKDTree" if "cKDTree" in med else None

        memory = " / ".join(f"{mem[lib]:.0f}" if lib in mem else "-"
                            for lib in ("scratchlearn", "oneDAL", peer))
        load = r["load_average"]
        lines.append(
            f"| {r['case']} | {r['n_train']:,} x {r['n_queries']:,} x {r['n_features']}, "
            f"k={r['k']} | {med['scratchlearn']:.3f} | {_time_cell(r, 'scikit-learn')} | "
            f"{_time_cell(r, 'oneDAL')} | {_time_cell(r, peer, f'{peer}: ') if peer else '-'} | "
            f"{agreement(r)} | {memory} | {load['before'][0]:.1f} to {load['after'][0]:.1f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one repeat, no sweeps")
    parser.add_argument("--knn-only", action="store_true",
                        help="only the kNN cases and the growth plot; keep the rest of "
                             "results.json")
    parser.add_argument("--memory-probe", nargs=2, metavar=("CASE", "LIBRARY"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_probe:
        return _memory_probe(int(args.memory_probe[0]), args.memory_probe[1])
    repeats = 1 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    path = HERE / "results.json"
    kept = json.loads(path.read_text()) if args.knn_only and path.exists() else {}
    results = {**kept, "machine": machine(), "cases": []}
    print(f"load average {os.getloadavg()[0]:.1f}; " + ", ".join(
        f"{lib} {v}" for lib, v in results["machine"]["versions"].items()), flush=True)
    for case in CASES:
        results["cases"].append(bench_case(*case, repeats, rng))
        print(markdown(results["cases"][-1:]).splitlines()[-1], flush=True)
    if not args.quick:
        results["growth"] = bench_growth(max(1, repeats // 2), rng)
        plot_growth(results["growth"], HERE / "knn_speed.png")
    if not args.quick and not args.knn_only:
        results["tree_vs_brute"] = bench_tree_vs_brute(max(1, repeats // 2), rng)
    if args.knn_only:
        path.write_text(json.dumps(results, indent=1) + "\n")
        print()
        print(markdown(results["cases"]))
        return None
    try:
        from bench_linear import linear_cases
    except ImportError:
        linear_cases = None
    if linear_cases is not None:
        results["linear"] = linear_cases(repeats=max(1, min(3, repeats)))
    # Start-up after a fresh install, and GridSearchCV(n_jobs=2) against scikit-learn's.
    from bench_startup import grid_search, startup, summary

    results["startup"], results["grid_search"] = startup(repeats), grid_search(repeats)
    path.write_text(json.dumps(results, indent=1) + "\n")
    print()
    print(markdown(results["cases"]))
    for row in results.get("tree_vs_brute", []):
        s = row["median_s"]
        print(f"d={row['n_features']:>2} {row['dtype']}: kd_tree {s['kd_tree']:.3f} s, "
              f"brute {s['brute']:.3f} s")
    for row in results.get("linear", []):
        print(f"{row['case']} {row['shape']} {row['dtype']}: ours {row['ours_s']:.3f} s, "
              f"{row['peer']} {row['peer_s']:.3f} s, ratio {row['ratio']:.2f}")
    print(summary(results["startup"], results["grid_search"]))


if __name__ == "__main__":
    main()
