"""The Task 3 experiment: the sheet's numbers, the solver study, the sweep and the figures."""

import json
import math
import warnings

import numpy as np
import pytest
from sklearn.exceptions import DataConversionWarning

from scratchlearn import SoftmaxRegression
from scratchlearn._math.losses import softmax_cross_entropy
from scratchlearn._output import metrics_json
from scratchlearn.experiments import TASKS, task3
from scratchlearn.experiments._rate_sweep import learning_rate_sweep, sweep_verdict
from scratchlearn.experiments._schema.task3 import (
    Task3ExplorerResults,
    Task3Metrics,
    Task3Results,
)
from scratchlearn.experiments._timed_fit import timed_fit
from scratchlearn.plotting import FIGURES, task3_figures

SMALL = task3.Config(
    sheet_iterations=40, max_iter=20, sweep_iterations=40, gradcheck_samples=20,
    show_progress=False,
)  # fmt: skip


@pytest.fixture
def results(task3_results):
    return task3_results  # run once per session (conftest.py)


def test_registered_with_the_cli():
    assert TASKS["task3"] is task3 and FIGURES["task3"] is task3_figures


def test_sheet_run_as_it_meant_it(results):
    sheet = results["metrics"]["sheet_run"]
    summed, averaged = sheet["summed"], sheet["averaged"]
    assert summed["learning_rate_on_mean_gradient"] == pytest.approx(0.01 * 1347)
    assert summed["iterations"] == averaged["iterations"] == 1000
    assert summed["train_loss"] == pytest.approx(0.011, abs=5e-4)
    assert summed["test_accuracy"] == pytest.approx(0.960, abs=1.5 / 450)  # ±1 test image
    assert averaged["train_loss"] == pytest.approx(2.40, abs=5e-3)
    assert averaged["test_accuracy"] == pytest.approx(0.31, abs=5e-3)


def test_every_solver_is_reported_and_the_best_reaches_096(results):
    metrics = results["metrics"]
    rows = metrics["optimizers"]
    assert [row["name"] for row in rows] == ["gd", "sgd", "momentum", "nesterov", "adam", "lbfgs"]
    for row in rows:
        assert set(row) >= {"name", "settings", "test_accuracy", "train_loss", "iterations",
                            "seconds"}  # fmt: skip
        assert row["settings"]["alpha"] == pytest.approx(1 / 1347)
        assert row["train_loss"] < 0.25 < math.log(10)  # well below the start, ln 10
        assert row["gap_to_minimum"] >= -1e-12
        assert row["test_accuracy"] > 0.95
    best = metrics["best_optimizer"]
    assert best["name"] == "lbfgs" and best["test_accuracy"] >= 0.96
    assert results["best"]["confusion"].sum() == 450
    assert np.trace(results["best"]["confusion"]) / 450 == pytest.approx(best["test_accuracy"])


def test_lbfgs_matches_sklearn_and_the_gradient_is_checked(results):
    reference = results["metrics"]["sklearn_reference"]
    assert reference["max_abs_proba_difference_test"] < 1e-4
    check = results["metrics"]["gradient_check"]
    assert check["relative_error_cross_entropy"] < 1e-7
    assert check["relative_error_cross_entropy_l2"] < 1e-7


def test_learning_rate_sweep_shows_every_regime(results):
    runs = results["metrics"]["learning_rate_sweep"]["runs"]
    for gradient in ("summed", "averaged"):
        verdicts = {run["verdict"] for run in runs if run["gradient"] == gradient}
        assert {"diverging", "too slow", "good"} <= verdicts
    by_rate = {(run["gradient"], run["learning_rate"]): run for run in runs}
    assert by_rate[("summed", 0.01)]["verdict"] == "oscillating"  # the sheet's rate, with α
    assert by_rate[("averaged", 100.0)]["verdict"] == "diverging"


@pytest.mark.parametrize(
    ("curve", "verdict"),
    [
        ([5.0, 3.0, 7.0], "diverging"),
        ([5.0, np.inf], "diverging"),
        ([5.0, 1.0, 0.5, 0.6], "oscillating"),
        ([5.0, 2.0, 1.002, 1.001], "good"),
        ([5.0, 3.0, 2.0, 1.5], "too slow"),
    ],
)
def test_sweep_verdict_rule(curve, verdict):
    # J* = 1 and good_gap = 0.01.
    assert sweep_verdict(np.array(curve), 1.0, 0.01) == verdict


def small_problem():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 4)), np.arange(30) % 3
    return X, y, rng.normal(size=(3, 4))  # W0: a start away from zero


def test_timed_fit_passes_its_fit_arguments_and_flags_convergence():
    X, y, W0 = small_problem()
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        short = timed_fit(SoftmaxRegression("gd", alpha=0.01, max_iter=3), X, y, coef_init=W0)
        full = timed_fit(SoftmaxRegression("lbfgs", alpha=0.01, tol=1e-6), X, y)
    assert not escaped  # the ConvergenceWarning is the flag, not shown
    start = softmax_cross_entropy(W0, np.zeros(3), X, y, 0.01)[0]
    assert short.model.loss_curve_[0] == pytest.approx(start, rel=1e-12)  # from coef_init
    assert not short.converged and full.converged
    for run in (short, full):
        assert len(run.seconds) == len(run.model.loss_curve_)
        assert run.seconds[0] == 0.0 and np.all(np.diff(run.seconds) >= 0)
        assert run.seconds[-1] <= run.total_seconds
        assert run.model.callback is None


def test_timed_fit_lets_other_warnings_reach_the_caller_as_if_not_there():
    X, y, _ = small_problem()
    column = y[:, None]  # scikit-learn warns: a column vector y

    def shown(fit):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit()
        return [(w.category, str(w.message), w.filename, w.lineno) for w in caught]

    direct = shown(lambda: SoftmaxRegression(alpha=0.01).fit(X, column))
    assert [category for category, *_ in direct] == [DataConversionWarning]
    assert shown(lambda: timed_fit(SoftmaxRegression(alpha=0.01), X, column)) == direct
    with warnings.catch_warnings():  # the caller's filters apply to them
        warnings.simplefilter("error", DataConversionWarning)
        with pytest.raises(DataConversionWarning):
            timed_fit(SoftmaxRegression(alpha=0.01), X, column)
        warnings.simplefilter("ignore", DataConversionWarning)
        with warnings.catch_warnings(record=True) as caught:
            timed_fit(SoftmaxRegression(alpha=0.01), X, column)
        assert not caught


def test_sweep_rows_of_a_run_that_overflowed_have_no_loss():
    X, y, W0 = small_problem()
    f_star = 0.5  # any J*: the gap is J − J*
    runs, curves = learning_rate_sweep(
        {"summed": (1e-3,), "averaged": (1e100,)}, 5, 1e-3, 0.01, f_star, W0, X, y, X, y
    )
    steady, overflowed = runs
    assert steady["final_train_loss"] == curves[0]["loss"][-1]
    assert steady["gap_to_minimum"] == pytest.approx(curves[0]["loss"][-1] - f_star)
    assert not np.isfinite(curves[1]["loss"][-1])
    assert overflowed["verdict"] == "diverging"
    assert overflowed["final_train_loss"] is None and overflowed["gap_to_minimum"] is None
    assert json.loads(metrics_json(runs)) == runs  # JSON without NaN or Infinity


def test_metrics_are_the_same_apart_from_seconds(check_schema):
    first, second = task3.run(SMALL), task3.run(SMALL)
    check_schema(first["metrics"], Task3Metrics)  # a run made here, not the session's

    def without_seconds(metrics):
        data = json.loads(metrics_json(metrics))
        for row in data["optimizers"]:
            assert row.pop("seconds") >= 0.0
        return data

    assert without_seconds(first["metrics"]) == without_seconds(second["metrics"])


def test_figures_and_outputs_are_written(results_dir):
    # results_dir: what `scratchlearn run` wrote from the session's results.
    folder = results_dir / "task3"
    assert {p.stem for p in folder.glob("*.png")} == {
        "loss_vs_iteration", "loss_vs_seconds", "learning_rate_sweep", "confusion_matrix",
        "weight_templates", "misclassified",
    }  # fmt: skip
    assert (folder / "metrics.json").exists()
    assert "lbfgs" in (folder / "optimizers.txt").read_text()


def test_results_follow_the_documented_schema(results, check_schema):
    assert set(results) == set(Task3Results.__annotations__)
    check_schema(results["metrics"], Task3Metrics)
    check_schema(results["explorer"], Task3ExplorerResults)


def test_derived_facts_match_a_recomputation_from_the_sweeps(results):
    metrics = results["metrics"]
    summary, rows = metrics["summary"], metrics["optimizers"]
    gaps = [row["gap_to_minimum"] for row in rows]
    assert summary["optimizers_by_gap"] == [int(i) for i in np.argsort(gaps, kind="stable")]
    accuracy = [row["test_accuracy"] for row in rows]
    assert summary["lowest_test_accuracy"] == int(np.argmin(accuracy))
    assert summary["highest_test_accuracy"] == int(np.argmax(accuracy))
    assert summary["test_accuracy_spread"] == pytest.approx(max(accuracy) - min(accuracy))
    best = rows[int(np.argmin([row["train_loss"] for row in rows]))]
    assert metrics["best_optimizer"]["name"] == best["name"]

    runs = metrics["learning_rate_sweep"]["runs"]
    for gradient in ("summed", "averaged"):
        mine = sorted(
            (run["learning_rate"], i) for i, run in enumerate(runs) if run["gradient"] == gradient
        )
        expected, seen = [], set()
        for _, i in mine:
            if runs[i]["verdict"] not in seen:
                seen.add(runs[i]["verdict"])
                expected.append({"verdict": runs[i]["verdict"], "index": i})
        assert metrics["learning_rate_sweep"]["first_verdicts"][gradient] == expected
        good = [i for _, i in mine if runs[i]["verdict"] == "good"]
        if good:
            assert summary["good_rate"][gradient] == good[0]
        else:
            assert gradient not in summary["good_rate"]
