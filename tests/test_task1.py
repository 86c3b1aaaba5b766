"""The Task 1 experiment: the sheet's numbers, corrected answers, and deterministic output."""

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier as SklearnKNN
from sklearn.neighbors import NearestNeighbors

from scratchlearn._output import metrics_json
from scratchlearn.experiments import task1
from scratchlearn.experiments._schema.task1 import (
    Task1ExplorerResults,
    Task1Metrics,
    Task1Results,
    prediction_figure_stem,
)

SHEET_ACCURACY = [.94, .96, .94, .95, .99, .97, .97, .95, .94, .80]  # fmt: skip
SHEET_RSS = [6, 4, 6, 5, 1, 3, 3, 5, 6, 20]


@pytest.fixture
def results(task1_results):
    return task1_results  # run once per session (conftest.py)


def test_k_sweep_reproduces_the_sheet(results):
    sweep = results["metrics"]["k_sweep"]
    assert [row["k"] for row in sweep] == [2**i for i in range(10)] + [900]
    assert [row["accuracy"] for row in sweep[:-1]] == pytest.approx(SHEET_ACCURACY)
    assert [row["rss"] for row in sweep[:-1]] == SHEET_RSS


def test_k_equal_to_n_train_is_the_majority_class(results):
    answer = results["metrics"]["k_equals_n_train"]
    assert answer["majority_class"] == 0
    assert answer["predicts_only_majority_on_grid"] is True
    assert answer["test_accuracy"] == pytest.approx(0.47)
    assert answer["train_accuracy"] == pytest.approx(453 / 900)
    assert results["decision_regions"][-1]["proba"] == pytest.approx(447 / 900)


def test_chosen_k_reports_match_sklearn_and_the_sheet(results, task1_config):
    metrics = results["metrics"]
    assert metrics["chosen_k"]["k"] == task1_config.n_neighbors
    assert metrics["chosen_k"]["accuracy"] == pytest.approx(0.97)
    assert metrics["chosen_k"]["predictions_equal_sklearn"] is True
    assert metrics["chosen_k"]["predict_proba"]["shape"] == [100, 2]
    assert metrics["classification_report"] == metrics["classification_report_sklearn"]
    report = metrics["classification_report"]
    assert report["0"]["precision"] == pytest.approx(0.96, abs=0.005)
    assert report["0"]["recall"] == pytest.approx(0.98, abs=0.005)
    assert report["1"]["precision"] == pytest.approx(0.98, abs=0.005)
    assert report["1"]["recall"] == pytest.approx(0.96, abs=0.005)
    np.testing.assert_array_equal(results["y_pred_sklearn"], results["y_pred"])


def test_class_priors_are_class_frequencies(results):
    assert results["metrics"]["class_priors"] == pytest.approx({"0": 453 / 900, "1": 447 / 900})


def test_density_results_have_the_grid_shape(results, task1_config):
    n = task1_config.grid_resolution
    for density in results["densities"]:
        assert density["log_density"].shape == (n, n)
        assert density["class_log_density"].shape == (n, n, 2)
        assert np.all(np.isfinite(density["log_density"]))
    assert [d["k"] for d in results["metrics"]["density"]] == [2, 4, 8, 16, 32]


def test_metrics_are_the_same_bytes_on_every_run():
    # Coarse grids and few explorer ks: every step of the run, at a fraction of its cost.
    small = task1.Config(grid_resolution=8, explorer_min_ks=4, explorer_resolution=8,
                         show_progress=False)  # fmt: skip
    first, second = task1.run(small), task1.run(small)
    assert metrics_json(first["metrics"]) == metrics_json(second["metrics"])


def test_cross_validation_matches_sklearn_and_picks_the_best_mean(results):
    cv = results["metrics"]["cross_validation"]
    X_train, y_train = results["data"]["X_train"], results["data"]["y_train"]
    folds = StratifiedKFold(cv["folds"], shuffle=True, random_state=0)
    for row in cv["rows"][::3]:
        reference = cross_val_score(SklearnKNN(n_neighbors=row["k"]), X_train, y_train, cv=folds)
        assert row["mean_accuracy"] == pytest.approx(reference.mean())
        assert row["std_accuracy"] == pytest.approx(reference.std())
    means = [row["mean_accuracy"] for row in cv["rows"]]
    assert cv["best_k"] == cv["rows"][int(np.argmax(means))]["k"]
    assert cv["best_k_cv_accuracy"] == pytest.approx(max(means))
    test_accuracy = {row["k"]: row["accuracy"] for row in results["metrics"]["k_sweep"]}
    assert cv["best_k_test_accuracy"] == test_accuracy[cv["best_k"]]


def test_results_follow_the_documented_schema(results, check_schema):
    assert set(results) == set(Task1Results.__annotations__)
    check_schema(results["metrics"], Task1Metrics)
    check_schema(results["explorer"], Task1ExplorerResults)


def test_prediction_figure_follows_the_chosen_k():
    assert prediction_figure_stem(5) == "predictions_k5"
    assert prediction_figure_stem(7) == "predictions_k7"


def test_derived_facts_match_a_recomputation_from_the_sweeps(results):
    metrics = results["metrics"]
    summary, n_train = metrics["summary"], metrics["dataset"]["n_train"]
    inner = [row for row in metrics["k_sweep"] if row["k"] < n_train]
    best = inner[int(np.argmax([row["accuracy"] for row in inner]))]  # ties: the smallest k
    assert summary["best_test"] == {"k": best["k"], "accuracy": best["accuracy"]}

    # Smooth from k: walk down from the largest k below N_train while there are ≤ 2 regions.
    stats = [row for row in metrics["decision_region_stats"] if row["k"] < n_train]
    smooth = None
    for row in reversed(stats):
        if row["n_regions"] > 2:
            break
        smooth = row
    expected = None if smooth is None else {"k": smooth["k"], "n_regions": smooth["n_regions"]}
    assert summary["smooth_from"] == expected
    assert expected is not None and expected["n_regions"] <= 2

    density = metrics["density"]
    i = int(np.argmax([row["mean_log_density_test"] for row in density]))
    assert summary["density_best_test"] == {
        "k": density[i]["k"],
        "mean_log_density_test": density[i]["mean_log_density_test"],
    }
    loo = [row["bayes_accuracy_train_loo"] for row in density]
    assert summary["density_loo_accuracy_rises"] is bool(loo[-1] > loo[0])

    checks = metrics["density_checks"]
    errors = [c["mixture_identity_max_abs_log_error_grid"] for c in checks]
    j = int(np.argmax(errors))
    assert summary["density_worst_check"] == {"k": checks[j]["k"], "max_abs_log_error": errors[j]}
    finite = [c["log_density_finite_grid"] and c["log_density_finite_train_loo"] for c in checks]
    assert summary["density_all_finite"] is all(finite)


def test_figure_grids_hold_each_points_own_values(results, task1_config):
    # Point (i, j) of every figure grid is (xx[i, j], yy[i, j]): its class-1 probability is
    # scikit-learn's there, and its log-density the formula log K − log N − log(π r_K²) with
    # r_K from scikit-learn's neighbours (a mirrored or transposed grid fails here).
    xx, yy = results["grid"]["xx"], results["grid"]["yy"]
    points = np.column_stack([xx.ravel(), yy.ravel()])
    X_train, y_train = results["data"]["X_train"], results["data"]["y_train"]
    assert xx[0, 0] < xx[0, -1] and yy[0, 0] < yy[-1, 0]  # x along columns, y along rows
    for region in results["decision_regions"]:
        reference = SklearnKNN(n_neighbors=region["k"]).fit(X_train, y_train)
        expected = reference.predict_proba(points)[:, 1].reshape(xx.shape)
        np.testing.assert_allclose(region["proba"], expected, atol=1e-12)
    for density in results["densities"]:
        k = density["k"]
        r_k = NearestNeighbors(n_neighbors=k).fit(X_train).kneighbors(points)[0][:, -1]
        expected = np.log(k) - np.log(len(X_train)) - np.log(np.pi * r_k**2)
        np.testing.assert_allclose(density["log_density"], expected.reshape(xx.shape), rtol=1e-9)
