"""Start-up and parallel model selection, side by side with scikit-learn (issue 19).

Run by ``bench_knn.py`` (``make bench``), which stores what it returns in ``results.json``;
``python bench_startup.py`` prints the same alone. Nothing asserts a time.

- **Start-up.** A fresh virtual environment gets scratchlearn from this checkout with
  ``pip install`` (which compiles the search kernel, as every install does), then a new
  process makes its first kNN predictions, float64 and float32, and exits; its wall time,
  from the interpreter's start, is the *first process after a fresh install*. More new
  processes follow (*a later process*), in alternation with a process that does the same
  with scikit-learn's ``KNeighborsClassifier`` in the same environment. Targets: ≤ 3 s and
  ≤ 1.5 s.
- **GridSearchCV.** ``GridSearchCV(KNeighborsClassifier(), GRID, cv=3, n_jobs=2)`` on
  ``load_digits``, ours and scikit-learn's in alternation in one process after one warm-up
  call each (the joblib workers started and their imports done): medians, and the median of
  the per-round ratios. Target: ours ≤ 1.5 × scikit-learn's. The first call of each in a
  fresh process (*cold*) is timed once, in its own process.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The grid of the GridSearchCV case: 16 candidates × 3 folds = 48 fits.
GRID = {"n_neighbors": [1, 3, 5, 7, 9, 11, 13, 15], "weights": ["uniform", "distance"]}

#: A new process's first predictions (float64 then float32); ``{module}`` picks the library.
FIRST_PREDICTIONS = """
import time
start = time.perf_counter()
import numpy as np
from {module} import KNeighborsClassifier
imported = time.perf_counter()
rng = np.random.default_rng(0)
for dtype in (np.float64, np.float32):
    X = rng.normal(size=(2000, 16)).astype(dtype)
    KNeighborsClassifier().fit(X, X[:, 0] > 0).predict(X[:200])
print(imported - start, time.perf_counter() - imported)
"""

#: One GridSearchCV in a fresh process: the cold case.
COLD_GRID_SEARCH = """
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from {module} import KNeighborsClassifier
X, y = load_digits(return_X_y=True)
GridSearchCV(KNeighborsClassifier(), {grid!r}, cv=3, n_jobs=2).fit(X, y)
"""


def _timed_process(python: Path | str, code: str) -> tuple[float, str]:
    """Wall time of a new process running ``code`` (interpreter start included), and its
    output."""
    start = time.perf_counter()
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                         check=True, cwd=tempfile.gettempdir())
    return time.perf_counter() - start, out.stdout


def startup(repeats: int = 5) -> dict:
    """First predictions in a new process: right after a fresh install, and later."""
    with tempfile.TemporaryDirectory(prefix="scratchlearn-startup-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = venv / "bin" / "python"
        start = time.perf_counter()
        pip = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check",
                              str(ROOT)], capture_output=True, text=True)
        if pip.returncode:
            raise RuntimeError(f"pip install failed:\n{pip.stdout[-3000:]}{pip.stderr[-3000:]}")
        install_s = time.perf_counter() - start
        ours = FIRST_PREDICTIONS.format(module="scratchlearn")
        theirs = FIRST_PREDICTIONS.format(module="sklearn.neighbors")
        first_s, first_out = _timed_process(python, ours)
        later = {"scratchlearn": [], "scikit-learn": []}
        for _ in range(repeats):
            later["scratchlearn"].append(_timed_process(python, ours)[0])
            later["scikit-learn"].append(_timed_process(python, theirs)[0])
    import_s, predict_s = map(float, first_out.split())
    return {
        "install_s": install_s,
        "first_process_s": first_s,
        "first_process_import_s": import_s,
        "first_process_predictions_s": predict_s,
        "later_process_s": {lib: statistics.median(t) for lib, t in later.items()},
        "later_process_runs_s": later,
        "targets_s": {"first_process": 3.0, "later_process": 1.5},
    }


def grid_search(repeats: int = 5) -> dict:
    """GridSearchCV(KNeighborsClassifier(), GRID, cv=3, n_jobs=2) on digits: warm, ours ÷
    scikit-learn's, and each one's cold call in a fresh process."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KNeighborsClassifier as TheirKNN

    from scratchlearn import KNeighborsClassifier as OurKNN

    X, y = load_digits(return_X_y=True)
    estimators = {"scratchlearn": OurKNN, "scikit-learn": TheirKNN}

    def run(estimator):
        start = time.perf_counter()
        search = GridSearchCV(estimator(), GRID, cv=3, n_jobs=2).fit(X, y)
        return time.perf_counter() - start, search.best_params_

    best = {lib: run(est)[1] for lib, est in estimators.items()}  # warm-up: workers, imports
    times = {lib: [] for lib in estimators}
    for _ in range(repeats):
        for lib, est in estimators.items():
            times[lib].append(run(est)[0])
    ratio = statistics.median(a / b for a, b in zip(times["scratchlearn"], times["scikit-learn"],
                                                    strict=True))
    cold = {lib: _timed_process(sys.executable, COLD_GRID_SEARCH.format(module=module,
                                                                        grid=GRID))[0]
            for lib, module in (("scratchlearn", "scratchlearn"),
                                ("scikit-learn", "sklearn.neighbors"))}
    return {
        "grid": GRID, "cv": 3, "n_jobs": 2, "repeats": repeats, "seconds": times,
        "median_s": {lib: statistics.median(t) for lib, t in times.items()},
        "ratio": ratio, "target_ratio": 1.5, "cold_s": cold,
        "same_best_params": best["scratchlearn"] == best["scikit-learn"],
    }


def summary(startup_row: dict, grid_row: dict) -> str:
    later = startup_row["later_process_s"]
    med, cold = grid_row["median_s"], grid_row["cold_s"]
    return "\n".join([
        f"start-up: pip install {startup_row['install_s']:.0f} s (compiles the kernel); "
        f"first kNN predictions (float64, float32) in the first process after it "
        f"{startup_row['first_process_s']:.2f} s (target 3 s; import "
        f"{startup_row['first_process_import_s']:.2f} s, predictions "
        f"{startup_row['first_process_predictions_s']:.2f} s), in a later process "
        f"{later['scratchlearn']:.2f} s (target 1.5 s; scikit-learn's "
        f"{later['scikit-learn']:.2f} s)",
        f"GridSearchCV(KNeighborsClassifier(), {len(GRID['n_neighbors']) * 2} candidates, "
        f"cv=3, n_jobs=2) on digits, warm: ours {med['scratchlearn']:.2f} s, scikit-learn "
        f"{med['scikit-learn']:.2f} s, ratio {grid_row['ratio']:.2f} (target 1.5); cold "
        f"(fresh process): ours {cold['scratchlearn']:.1f} s, scikit-learn "
        f"{cold['scikit-learn']:.1f} s; same best parameters: {grid_row['same_best_params']}",
    ])


def main() -> tuple[dict, dict]:
    startup_row, grid_row = startup(), grid_search()
    print(summary(startup_row, grid_row), flush=True)
    return startup_row, grid_row


if __name__ == "__main__":
    main()
