"""Linear models, side by side: scratchlearn against scikit-learn at the same objective.

Run with ``python benchmarks/bench_linear.py`` (unset ``OPENBLAS_CORETYPE`` and
``OPENBLAS_L2_SIZE`` first, as for the other benchmarks). Each case fits both libraries in
alternation (A B A B ...) in one process, after one warm-up fit each, and reports the
median seconds of each and their ratio (ours / peer, below 1 is faster; also the ratio of
the fastest fits), so that a noisy machine moves both alike. Cases marked "1 thread(s)"
limit BLAS and OpenMP to one thread for both libraries (``threadpoolctl``), which compares
the work done rather than how well each uses the cores. Both fits minimise the same
objective with the same stopping rule, and the objective each one reached is reported
beside its time:

- softmax regression: J = mean cross-entropy + (α/2)‖W‖² with α = 1/(C·N), which is
  ``LogisticRegression(C)``'s objective; both stop at max |∂J/∂θ| ≤ tol (L-BFGS-B ``gtol``);
- least squares: J = Σ_n ‖t_n − W x_n − b‖² + α‖W‖² on ±1 targets, which is
  ``RidgeClassifier(alpha)``'s; both solve it directly.

``HuberClassifier`` has no peer with its objective; it is timed against the fits a
practitioner would weigh it against, each with its defaults: ``RidgeClassifier`` (the
squared loss, solved directly) and ``SGDClassifier(loss="modified_huber")`` (a Huber-like
loss, by stochastic gradient), on the digits (10 classes) and on 100,000 × 50 (two
classes). The objective reported is Huber's J (ε = 1) of each fit's coefficients, which
ours minimises (certified within ``tol``) and the peers do not.

These are not tests: nothing asserts a time.
"""

from __future__ import annotations

import contextlib
import statistics
import time

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import LogisticRegression, RidgeClassifier, SGDClassifier
from threadpoolctl import threadpool_limits

from scratchlearn import HuberClassifier, LeastSquaresClassifier, SoftmaxRegression
from scratchlearn._math.least_squares import signed_targets
from scratchlearn._math.losses import huber_loss, least_squares_loss, softmax_cross_entropy

N_SAMPLES, N_FEATURES, N_CLASSES = 100_000, 100, 10


def make_data(dtype=np.float64, n_redundant: int = 0, seed: int = 0):
    """Seeded 10-class data, 100,000 × 100 (30 informative features)."""
    X, y = make_classification(
        n_samples=N_SAMPLES,
        n_features=N_FEATURES,
        n_informative=30,
        n_redundant=n_redundant,
        n_classes=N_CLASSES,
        random_state=seed,
    )
    return X.astype(dtype), y


def compare(
    fit_ours, fit_peer, repeats: int, threads: int | None = None
) -> tuple[list[float], list[float], object, object]:
    """Alternate the two fits; return the seconds of each fit and the last models.

    ``threads``: when given, BLAS and OpenMP are limited to that many threads for both.
    """
    limit = threadpool_limits(limits=threads) if threads else contextlib.nullcontext()
    with limit:
        return _alternate(fit_ours, fit_peer, repeats)


def _alternate(fit_ours, fit_peer, repeats: int):
    """One warm-up fit each, then ``repeats`` timed fits of each in turn."""
    ours, peer = fit_ours(), fit_peer()  # warm-up
    t_ours, t_peer = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        ours = fit_ours()
        t_ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        peer = fit_peer()
        t_peer.append(time.perf_counter() - start)
    return t_ours, t_peer, ours, peer


def softmax_objective(model, X, y, alpha: float) -> float:
    """J(W, b) of a fitted multinomial model (either library's), in float64."""
    W, b = np.asarray(model.coef_, np.float64), np.asarray(model.intercept_, np.float64)
    codes = np.searchsorted(model.classes_, y)
    return softmax_cross_entropy(W, b, np.asarray(X, np.float64), codes, alpha)[0]


def least_squares_objective(model, X, y, alpha: float) -> float:
    """Σ‖t − W x − b‖² + α‖W‖² of a fitted ±1-target model (either library's)."""
    W = np.atleast_2d(np.asarray(model.coef_, np.float64))
    b = np.ravel(np.asarray(model.intercept_, np.float64))
    Y = signed_targets(np.searchsorted(model.classes_, y), len(model.classes_))
    return least_squares_loss(W, b, np.asarray(X, np.float64), Y, alpha)[0]


def _row(case, X, t_ours, peer_name, t_peer, j_ours, j_peer, threads) -> dict:
    """One case's result, with the medians, the best times and both objectives."""
    return {
        "case": case + ("" if threads is None else f", {threads} thread(s)"),
        "shape": X.shape,
        "dtype": str(X.dtype),
        "ours_s": statistics.median(t_ours),
        "ours_best_s": min(t_ours),
        "peer": peer_name,
        "peer_s": statistics.median(t_peer),
        "peer_best_s": min(t_peer),
        "ratio": statistics.median(t_ours) / statistics.median(t_peer),
        "ratio_best": min(t_ours) / min(t_peer),
        "ours_objective": float(j_ours),
        "peer_objective": float(j_peer),
    }


def softmax_case(
    dtype, repeats: int, C: float = 1.0, tol: float = 1e-4, threads: int | None = None
) -> dict:
    """``SoftmaxRegression(alpha=1/(C·N))`` against ``LogisticRegression(C)``, same tol."""
    X, y = make_data(dtype)
    alpha = 1.0 / (C * len(X))
    t_ours, t_peer, ours, peer = compare(
        lambda: SoftmaxRegression("lbfgs", alpha=alpha, tol=tol, max_iter=1000).fit(X, y),
        lambda: LogisticRegression(C=C, tol=tol, max_iter=1000).fit(X, y),
        repeats,
        threads,
    )
    return _row(
        f"SoftmaxRegression(lbfgs), C={C:g}, tol={tol:g}, {N_CLASSES} classes",
        X,
        t_ours,
        "LogisticRegression(lbfgs)",
        t_peer,
        softmax_objective(ours, X, y, alpha),
        softmax_objective(peer, X, y, alpha),
        threads,
    )


def least_squares_case(
    repeats: int, alpha: float, n_redundant: int = 0, threads: int | None = None
) -> dict:
    """``LeastSquaresClassifier(alpha)`` against ``RidgeClassifier(alpha)`` (1e-10 for 0)."""
    X, y = make_data(np.float64, n_redundant=n_redundant)
    t_ours, t_peer, ours, peer = compare(
        lambda: LeastSquaresClassifier(alpha=alpha).fit(X, y),
        lambda: RidgeClassifier(alpha=max(alpha, 1e-10)).fit(X, y),
        repeats,
        threads,
    )
    peer_name = f"RidgeClassifier(alpha={max(alpha, 1e-10):g})"
    rank = "rank-deficient X" if n_redundant else "full-rank X"
    return _row(
        f"LeastSquaresClassifier(alpha={alpha:g}), {N_CLASSES} classes, {rank}",
        X,
        t_ours,
        peer_name,
        t_peer,
        least_squares_objective(ours, X, y, alpha),
        least_squares_objective(peer, X, y, alpha),
        threads,
    )


def huber_objective(model, X, y, epsilon: float = 1.0) -> float:
    """Σ_n Σ_k ρ_ε(t_nk − w_k·x_n − b_k) of a fitted ±1-target (or one-vs-rest) model."""
    W = np.atleast_2d(np.asarray(model.coef_, np.float64))
    b = np.ravel(np.asarray(model.intercept_, np.float64))
    Y = signed_targets(np.searchsorted(model.classes_, y), len(model.classes_))
    return huber_loss(W, b, np.asarray(X, np.float64), Y, epsilon)[0]


def huber_cases(repeats: int) -> list[dict]:
    """``HuberClassifier()`` against ``RidgeClassifier()`` and ``SGDClassifier(loss=
    "modified_huber")``, all three in alternation, on the digits and on 100,000 × 50."""
    rows = []
    digits = load_digits(return_X_y=True)
    large = make_classification(n_samples=100_000, n_features=50, random_state=0)
    for name, (X, y) in [("digits, 10 classes", digits), ("2 classes", large)]:
        fits = {
            "HuberClassifier()": lambda X=X, y=y: HuberClassifier().fit(X, y),
            "RidgeClassifier()": lambda X=X, y=y: RidgeClassifier().fit(X, y),
            'SGDClassifier(loss="modified_huber")': lambda X=X, y=y: SGDClassifier(
                loss="modified_huber", random_state=0).fit(X, y),
        }  # fmt: skip
        times, models = _alternate_all(fits, repeats)
        ours = "HuberClassifier()"
        for peer in list(fits)[1:]:
            rows.append(_row(
                f"HuberClassifier(), {name}", X, times[ours], peer, times[peer],
                huber_objective(models[ours], X, y), huber_objective(models[peer], X, y), None,
            ))  # fmt: skip
    return rows


def _alternate_all(fits: dict, repeats: int) -> tuple[dict, dict]:
    """One warm-up fit each, then ``repeats`` rounds of every fit in turn: the seconds of
    each fit and the last models, by name."""
    models = {name: fit() for name, fit in fits.items()}  # warm-up
    times = {name: [] for name in fits}
    for _ in range(repeats):
        for name, fit in fits.items():
            start = time.perf_counter()
            models[name] = fit()
            times[name].append(time.perf_counter() - start)
    return times, models


def linear_cases(repeats: int = 3) -> list[dict]:
    """Time every case; one dict per case.

    Keys: ``case``, ``shape``, ``dtype``, ``ours_s`` and ``peer_s`` (median seconds per
    fit), ``ours_best_s`` and ``peer_best_s`` (the fastest fit), ``peer``, ``ratio``
    (ours / peer, of the medians), ``ratio_best`` (of the fastest fits) and the objective
    each fit reached, ``ours_objective`` and ``peer_objective``.
    """
    return [
        softmax_case(np.float64, repeats),
        softmax_case(np.float64, repeats, threads=1),
        softmax_case(np.float32, repeats),
        least_squares_case(repeats, alpha=0.0),
        least_squares_case(repeats, alpha=1.0),
        least_squares_case(repeats, alpha=1.0, threads=1),
        # Two redundant features: the Gram matrix is singular, so the QR route runs.
        least_squares_case(repeats, alpha=1.0, n_redundant=2),
        *huber_cases(max(repeats, 5)),
    ]


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--huber", action="store_true", help="only the HuberClassifier cases")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    rows = huber_cases(args.repeats) if args.huber else linear_cases(args.repeats)
    print("| case | shape | dtype | ours (s) | peer | peer (s) | ours / peer | best / best "
          "| objective (ours) | objective (peer) |")  # fmt: skip
    print("|---|---|---|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['case']} | {r['shape'][0]:,} x {r['shape'][1]} | {r['dtype']} "
            f"| {r['ours_s']:.3f} | {r['peer']} | {r['peer_s']:.3f} | {r['ratio']:.2f} "
            f"| {r['ratio_best']:.2f} "
            f"| {r['ours_objective']:.10g} | {r['peer_objective']:.10g} |"
        )


if __name__ == "__main__":
    main()
