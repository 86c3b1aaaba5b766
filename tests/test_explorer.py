"""The explorer's data (each task's ``explorer.json``, computed by the experiment and shaped
by the report) against independent recomputation, and the page that embeds it
(``explorer.html`` beside ``plotly.min.js``)."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatch
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from scratchlearn.datasets import make_blobs_with_outlier
from scratchlearn.experiments import task2
from scratchlearn.experiments.task1 import plane_grid
from scratchlearn.linear_model import SoftmaxRegression
from scratchlearn.report.explorer import (
    explorer_json,
    load_explorer_data,
    render_explorer,
    task_explorer,
)
from scratchlearn.report.explorer._data import boundary_segment, rounded
from scratchlearn.report.explorer._schema import Task1Explorer, Task2Explorer, Task3Explorer

ROUNDING = 5e-4 + 1e-12  # values on the grid are rounded to 3 decimals


def _array(nested) -> np.ndarray:
    """Nested lists with None (for −∞) as a float array."""
    return np.array([[-np.inf if v is None else v for v in row] for row in nested], float)


# --- Task 1 -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def t1(task1_results):
    return task_explorer("task1", task1_results)


def test_task1_explorer_follows_its_schema_and_covers_every_sheet_k(
    t1, task1_results, task1_config, check_schema
):
    check_schema(t1, Task1Explorer)
    ks = [row["k"] for row in t1["by_k"]]
    n_train = task1_results["metrics"]["dataset"]["n_train"]
    assert len(ks) >= 40 and ks == sorted(set(ks))
    assert ks[0] == 1 and ks[-1] == n_train == t1["n_train"]
    assert set(task1_config.k_values) <= set(ks) and task1_config.n_neighbors in ks
    assert t1["sheet_k_values"] == list(task1_config.k_values)
    # Log-spaced: every k up to 10, then no gap wider than a factor 1.25.
    assert ks[:10] == list(range(1, 11))
    assert max(b / a for a, b in pairwise(ks[9:])) < 1.25
    # The experiment's plane, at the explorer's resolution.
    data = task1_results["data"]
    xx, yy, _ = plane_grid(
        np.vstack([data["X_train"], data["X_test"]]), task1_config.explorer_resolution
    )
    np.testing.assert_allclose(t1["grid"]["x"], xx[0], atol=ROUNDING)
    np.testing.assert_allclose(t1["grid"]["y"], yy[:, 0], atol=ROUNDING)
    for row in t1["by_k"]:
        assert np.shape(row["proba"]) == xx.shape


def test_task1_sheet_ks_repeat_the_sweep_and_the_cross_validation(t1, task1_results):
    by_k = {row["k"]: row for row in t1["by_k"]}
    for row in task1_results["metrics"]["k_sweep"]:
        assert by_k[row["k"]]["test_accuracy"] == row["accuracy"]
        assert by_k[row["k"]]["train_accuracy"] == row["train_accuracy"]
    for row in task1_results["metrics"]["cross_validation"]["rows"]:
        assert by_k[row["k"]]["cv_accuracy"] == row["mean_accuracy"]


def test_task1_explorer_matches_scikit_learn(t1, task1_results, task1_config):
    data = task1_results["data"]
    X_train, y_train, X_test, y_test = (data[k] for k in ("X_train", "y_train", "X_test", "y_test"))
    xx, _, grid = plane_grid(np.vstack([X_train, X_test]), task1_config.explorer_resolution)
    by_k = {row["k"]: row for row in t1["by_k"]}
    sheet = set(task1_config.k_values)
    extra = [k for k in by_k if k not in sheet]
    folds = StratifiedKFold(task1_config.cv_folds, shuffle=True, random_state=0)
    # Sheet ks, ks added by the explorer (small, middle, beyond a fold's size) and N_train.
    for k in [1, 16, extra[0], extra[len(extra) // 2], extra[-2], len(X_train)]:
        row = by_k[k]
        reference = KNeighborsClassifier(n_neighbors=k).fit(X_train, y_train)
        assert row["test_accuracy"] == pytest.approx(reference.score(X_test, y_test), abs=1e-12)
        assert row["train_accuracy"] == pytest.approx(reference.score(X_train, y_train), abs=1e-12)
        proba = reference.predict_proba(grid)[:, 1].reshape(xx.shape)
        np.testing.assert_allclose(np.array(row["proba"]), proba, atol=ROUNDING)
        class1 = proba > 0.5
        regions = sum(ndimage.label(mask)[1] for mask in (class1, ~class1))
        assert row["n_regions"] == regions, k
        if k <= t1["cv_max_k"]:
            model = KNeighborsClassifier(n_neighbors=k)
            scores = cross_val_score(model, X_train, y_train, cv=folds)
            assert row["cv_accuracy"] == pytest.approx(np.mean(scores), abs=1e-12)
        else:
            assert row["cv_accuracy"] is None
    assert t1["cv_max_k"] == min(len(train) for train, _ in folds.split(X_train, y_train))


def test_task1_densities_match_their_formula(t1, task1_results, task1_config):
    data = task1_results["data"]
    X_train, y_train = data["X_train"], data["y_train"]
    _, _, grid = plane_grid(
        np.vstack([X_train, data["X_test"]]), task1_config.explorer_resolution
    )
    assert [row["k"] for row in t1["density"]] == list(task1_config.density_k_values)
    metrics = {row["k"]: row for row in task1_results["metrics"]["density"]}
    n = len(X_train)
    for row in t1["density"]:
        k = row["k"]
        distances, indices = NearestNeighbors(n_neighbors=k).fit(X_train).kneighbors(grid)
        log_volume = np.log(np.pi * distances[:, -1] ** 2)  # a disc in the plane
        expected = np.log(k) - np.log(n) - log_volume
        np.testing.assert_allclose(_array(row["log_density"]).ravel(), expected, atol=ROUNDING)
        for label, nested in row["class_log_density"].items():
            k_c = np.sum(y_train[indices] == int(label), axis=1)
            n_c = np.sum(y_train == int(label))
            with np.errstate(divide="ignore"):
                expected_c = np.log(k_c) - np.log(n_c) - log_volume
            got = _array(nested).ravel()
            assert np.array_equal(np.isinf(got), np.isinf(expected_c))
            finite = np.isfinite(expected_c)
            np.testing.assert_allclose(got[finite], expected_c[finite], atol=ROUNDING)
        assert row["mean_log_density_test"] == metrics[k]["mean_log_density_test"]


# --- Task 2 -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def t2(task2_results):
    return task_explorer("task2", task2_results)


def test_task2_explorer_follows_its_schema_and_covers_the_sheet(t2, task2_config, check_schema):
    check_schema(t2, Task2Explorer)
    scales = [row["scale"] for row in t2["by_scale"]]
    assert len(scales) >= 25 and scales == sorted(set(scales))
    assert scales[0] == 1 and scales[-1] == 64
    assert set(task2.SHEET_SCALES) <= set(scales) and set(task2_config.scales) <= set(scales)
    assert np.max(np.array(scales[1:]) / np.array(scales[:-1])) < 1.2


def test_task2_sweep_scales_repeat_the_sweep(t2, task2_results):
    by_scale = {row["scale"]: row for row in t2["by_scale"]}
    metrics = task2_results["metrics"]
    sweeps = zip(
        metrics["outlier_sweep"],
        metrics["outlier_sweep_huber"],
        metrics["outlier_sweep_logistic"],
        strict=True,
    )
    for ls, huber, logistic in sweeps:
        row = by_scale[ls["scale"]]["estimators"]
        for name, fit in (("least_squares", ls), ("huber", huber), ("logistic", logistic)):
            assert row[name]["accuracy"] == fit["accuracy"]
            assert row[name]["coef"] == fit["coef"]
            assert row[name]["accuracy_rint"] == fit.get("accuracy_rint")
    # The sheet's printed accuracies (its rint rule) at its scales.
    for scale, accuracy in zip(task2.SHEET_SCALES, task2.SHEET_ACCURACY, strict=True):
        assert by_scale[scale]["estimators"]["least_squares"]["accuracy_rint"] == accuracy


def test_task2_explorer_matches_independent_fits(t2, task2_config):
    by_scale = {row["scale"]: row for row in t2["by_scale"]}
    added = [s for s in by_scale if s not in task2_config.scales]
    for scale in [2, added[0], added[len(added) // 2], added[-1]]:
        row = by_scale[scale]
        X, X_test, y, y_test, _, _ = make_blobs_with_outlier(0.2, scale, 500, 0)
        np.testing.assert_allclose(row["outlier"], scale * np.array([1, 1.75]))
        # Least squares on the ±1 targets, by numpy.
        design = np.column_stack([np.ones(len(X)), X])
        w = np.linalg.lstsq(design, y.astype(float), rcond=None)[0]
        f = w[0] + X_test @ w[1:]
        ls = row["estimators"]["least_squares"]
        assert ls["accuracy"] == pytest.approx(np.mean(np.where(f >= 0, 1, -1) == y_test))
        assert ls["accuracy_rint"] == pytest.approx(np.mean(np.rint(f) == y_test))
        np.testing.assert_allclose(ls["coef"], w[1:], atol=1e-8)
        # Logistic regression: scikit-learn's, C = 1.
        reference = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(X, y)
        logistic = row["estimators"]["logistic"]
        assert logistic["accuracy"] == pytest.approx(reference.score(X_test, y_test))
        assert logistic["accuracy_rint"] is None
        # Every drawn boundary lies on its line, inside the box.
        (a, b), (c, d) = t2["box"]
        for fit in row["estimators"].values():
            assert fit["segment"] is not None
            xs, ys = np.array(fit["segment"])
            residual = fit["intercept"] + fit["coef"][0] * xs + fit["coef"][1] * ys
            assert np.max(np.abs(residual)) < 1e-3 * (1 + np.abs(fit["coef"]).sum())
            assert np.all((a - 1e-3 <= xs) & (xs <= b + 1e-3) & (c - 1e-3 <= ys) & (ys <= d + 1e-3))


# --- Task 3 -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def t3(task3_results):
    return task_explorer("task3", task3_results)


def test_task3_explorer_follows_its_schema(t3, task3_results, task3_config, check_schema):
    check_schema(t3, Task3Explorer)
    assert list(t3["solvers"]) == list(task3_config.solvers)
    assert t3["objective_minimum"] == task3_results["f_star"]
    for name, solver in t3["solvers"].items():
        rates = [run["learning_rate"] for run in solver["runs"]]
        if "learning_rate" in task3_config.solvers[name]:
            assert len(rates) == len(task3_config.explorer_rate_factors) >= 5
            assert rates == sorted(rates)
            assert rates[solver["study_index"]] == task3_config.solvers[name]["learning_rate"]
        else:
            assert rates == [None]


def test_task3_study_runs_are_the_experiments_own(t3, task3_results):
    rows = {row["name"]: row for row in task3_results["metrics"]["optimizers"]}
    for name, solver in t3["solvers"].items():
        run = solver["runs"][solver["study_index"]]
        curve = task3_results["curves"][name]
        np.testing.assert_allclose(run["loss"], curve["loss"], atol=5e-7)
        np.testing.assert_allclose(run["seconds"], curve["seconds"], atol=5e-6)
        assert run["test_accuracy"] == rows[name]["test_accuracy"]
        assert run["final_loss"] == rows[name]["train_loss"]
        assert run["iterations"] == rows[name]["iterations"] == len(run["loss"]) - 1
        assert len(run["seconds"]) == len(run["loss"])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 300 steps
def test_task3_other_rates_match_a_refit_and_the_objective(t3, task3_config):
    from scratchlearn.datasets import load_digits_split

    X_train, X_test, y_train, y_test = load_digits_split(0.25, 0)
    alpha = 1.0 / (task3_config.C * len(X_train))
    solver = t3["solvers"]["gd"]
    run = solver["runs"][0]  # the smallest rate, not the study's
    model = SoftmaxRegression(
        "gd", learning_rate=run["learning_rate"], alpha=alpha,
        max_iter=task3_config.max_iter, tol=task3_config.tol,
    ).fit(X_train, y_train)
    np.testing.assert_allclose(run["loss"], model.loss_curve_, atol=5e-7)
    assert run["test_accuracy"] == pytest.approx(model.score(X_test, y_test))
    # J at the final weights, by numpy: mean cross-entropy + α/2‖W‖².
    logits = X_train @ model.coef_.T + model.intercept_
    log_p = logits - np.log(np.sum(np.exp(logits - logits.max(1, keepdims=True)), 1))[:, None]
    log_p -= logits.max(1, keepdims=True)
    classes = np.searchsorted(model.classes_, y_train)
    J = -np.mean(log_p[np.arange(len(y_train)), classes]) + alpha / 2 * np.sum(model.coef_**2)
    assert run["final_loss"] == pytest.approx(J, rel=1e-9)


# --- the files and the page ------------------------------------------------------------------


def test_each_task_writes_its_explorer_json(results_dir, task_results):
    found = load_explorer_data(results_dir)
    assert list(found) == list(task_results)
    for task, results in task_results.items():
        text = (results_dir / task / "explorer.json").read_text(encoding="utf-8")
        assert text == explorer_json(task_explorer(task, results))
        assert json.loads(text) == found[task]


def test_sizes_stay_small(results_dir):
    sizes = {task: (results_dir / task / "explorer.json").stat().st_size for task in
             ("task1", "task2", "task3")}
    assert sizes["task1"] < 3_000_000
    assert sizes["task2"] < 200_000
    assert sizes["task3"] < 500_000
    assert (results_dir / "explorer.html").stat().st_size < 4_000_000
    total = sum(p.stat().st_size for p in (results_dir / "latest").resolve().rglob("*")
                if p.is_file())
    assert total < 25_000_000


def test_the_page_embeds_the_data_and_loads_nothing_else(results_dir):
    page = results_dir / "explorer.html"
    assert page.is_symlink() and (results_dir / "plotly.min.js").is_symlink()
    html = page.read_text(encoding="utf-8")
    block = re.search(
        r'<script type="application/json" id="explorer-data">(.*?)</script>', html, re.S
    )
    assert block is not None
    assert json.loads(block.group(1)) == load_explorer_data(results_dir)
    assert re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", html) == ["plotly.min.js"]
    assert "fetch(" not in html and "http://" not in html and "https://" not in html
    assert (results_dir / "plotly.min.js").read_text(encoding="utf-8").startswith("/**")


# --- the shaping helpers ----------------------------------------------------------------------


def test_rounded_keeps_the_shape_and_writes_none_for_what_json_cannot_hold():
    values = np.array([[0.12345, -np.inf], [np.nan, 2.0005]])
    assert rounded(values) == [[0.123, None], [None, np.round(2.0005, 3)]]
    assert rounded(values[0], 1) == [0.1, None]
    assert json.loads(json.dumps(rounded(values), allow_nan=False))


@pytest.mark.parametrize(
    ("coef", "intercept", "expected"),
    [
        ((1.0, -1.0), 0.0, [[0.0, 1.0], [0.0, 1.0]]),  # x2 = x1, leaves by the top
        ((0.0, 1.0), -0.5, [[0.0, 2.0], [0.5, 0.5]]),  # horizontal
        ((1.0, 0.0), -1.5, [[1.5, 1.5], [0.0, 1.0]]),  # vertical
        ((0.0, 1.0), -5.0, None),  # above the box
        ((1.0, 1.0), 0.0, None),  # touches one corner only
    ],
)
def test_boundary_segment_in_a_box(coef, intercept, expected):
    assert boundary_segment(coef, intercept, [[0.0, 2.0], [0.0, 1.0]]) == expected


def test_boundary_segment_runs_from_edge_to_edge_on_the_line():
    rng = np.random.default_rng(0)
    box = [[-1.0, 2.0], [-0.5, 1.5]]
    (a, b), (c, d) = box
    corners = np.array([[a, c], [a, d], [b, c], [b, d]])
    found = 0
    for _ in range(200):
        coef, intercept = rng.normal(size=2), float(rng.normal())
        segment = boundary_segment(coef, intercept, box)
        signs = np.sign(corners @ coef + intercept)
        if signs.min() < 0 < signs.max():  # the corners lie on both sides: it crosses the box
            found += 1
            xs, ys = np.array(segment)
            np.testing.assert_allclose(intercept + coef[0] * xs + coef[1] * ys, 0, atol=1e-3)
            on_edge = np.isclose(xs, a, atol=1e-4) | np.isclose(xs, b, atol=1e-4)
            on_edge |= np.isclose(ys, c, atol=1e-4) | np.isclose(ys, d, atol=1e-4)
            assert on_edge.all() and (xs[0], ys[0]) != (xs[1], ys[1])
        else:
            assert segment is None
    assert found > 50


def test_the_page_inlines_its_style_and_script_and_says_when_it_is_empty():
    from scratchlearn.report import explorer

    folder = Path(explorer.__file__).parent / "templates"
    empty = render_explorer({})
    assert "This run has no task with explorer data." in empty
    for name in ("explorer.css", "explorer.js"):
        assert (folder / name).read_text(encoding="utf-8") in empty
    assert "<section" not in empty and "{{" not in empty and "{%" not in empty
    one = render_explorer({"task2": {"by_scale": []}})
    assert re.findall(r'<section id="(\w+)">', one) == ["task2"]


def test_every_template_and_page_file_is_package_data():
    """A wheel ships them: each file in a templates folder matches a package-data pattern."""
    import tomllib

    import scratchlearn

    root = Path(scratchlearn.__file__).parent
    project = Path(scratchlearn.__file__).parents[2] / "pyproject.toml"
    patterns = tomllib.loads(project.read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]
    folders = sorted(root.rglob("templates"))
    assert folders
    for folder in folders:
        package = ".".join(folder.parent.relative_to(root.parent).parts)
        for path in folder.iterdir():
            relative = path.relative_to(folder.parent).as_posix()
            assert any(fnmatch(relative, p) for p in patterns.get(package, [])), relative


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_explorer_json_refuses_what_strict_json_cannot_hold(value):
    # The page parses the file with JSON.parse, which has no NaN or Infinity: writing one
    # must fail the run (before the switch), not break the page later.
    with pytest.raises(ValueError):
        explorer_json({"by_k": [{"proba": [[0.5, value]]}]})
