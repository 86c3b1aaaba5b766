"""The Task 2 data set and experiment: the sheet's numbers, the outlier study, the figures."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from scratchlearn._output import metrics_json
from scratchlearn.datasets import make_blobs_with_outlier
from scratchlearn.experiments import task2
from scratchlearn.experiments._schema.task2 import Task2ExplorerResults, Task2Metrics, Task2Results
from scratchlearn.plotting.task2 import task2_figures

SCALES = [1, 2, 4, 8, 16, 32, 64]


def sheet_make_data(noise=0.2, outlier=1):
    """The sheet's ``make_data``, verbatim but for the imports: the reference."""
    prng = np.random.RandomState(0)
    n = 500
    x0 = np.array([0, 0])[None, :] + noise * prng.randn(n, 2)
    y0 = np.ones(n)
    x1 = np.array([1, 1])[None, :] + noise * prng.randn(n, 2)
    y1 = -1 * np.ones(n)
    x = np.concatenate([x0, x1])
    y = np.concatenate([y0, y1]).astype(np.int32)
    xtrain, xtest, ytrain, ytest = train_test_split(
        x, y, test_size=0.1, shuffle=True, random_state=0
    )
    xplot, yplot = xtrain, ytrain
    outlier = outlier * np.array([1, 1.75])[None, :]
    youtlier = np.array([-1])
    xtrain = np.concatenate([xtrain, outlier])
    ytrain = np.concatenate([ytrain, youtlier])
    return xtrain, xtest, ytrain, ytest, xplot, yplot


@pytest.fixture
def results(task2_results):
    return task2_results  # run once per session (conftest.py)


# --- the data set ------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1, 8, 64])
def test_data_set_is_the_sheets_bit_for_bit(scale):
    ours = make_blobs_with_outlier(outlier=scale)
    sheet = sheet_make_data(outlier=scale)
    for a, b in zip(ours, sheet, strict=True):
        assert a.shape == b.shape
        assert a.tobytes() == b.astype(a.dtype).tobytes()
        np.testing.assert_array_equal(a, b)
    assert ours[0][-1].tolist() == [scale, 1.75 * scale]
    assert ours[2][-1] == -1


def test_data_set_is_the_same_but_for_the_outlier():
    a, b = make_blobs_with_outlier(outlier=1), make_blobs_with_outlier(outlier=64)
    np.testing.assert_array_equal(a[0][:-1], b[0][:-1])
    for x, z in zip(a[1:], b[1:], strict=True):
        np.testing.assert_array_equal(x, z)
    assert (len(a[0]), len(a[1])) == (901, 100)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"noise": -0.1}, "noise"),
        ({"n_per_class": 2}, "n_per_class"),
        ({"outlier": np.inf}, "outlier"),
    ],
)
def test_bad_data_arguments_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_blobs_with_outlier(**kwargs)


# --- the sheet's numbers -----------------------------------------------------------------


def test_sweep_reproduces_the_sheet_and_corrects_it(results):
    sweep = results["metrics"]["outlier_sweep"]
    assert [row["scale"] for row in sweep] == SCALES
    # The sheet's rint rule, its printed 0.95 0.95 0.95 0.85 and RSS 5 5 5 15 ...
    assert [row["accuracy_rint"] for row in sweep[:4]] == [0.95, 0.95, 0.95, 0.85]
    assert [row["rss_rint"] for row in sweep[:4]] == [5, 5, 5, 15]
    assert [row["n_rint_zero"] for row in sweep[:4]] == [5, 5, 5, 15]
    # ... and the sign rule on the same fits.
    assert [row["accuracy"] for row in sweep] == [1.0, 1.0, 1.0, 0.98, 0.93, 0.92, 0.92]
    assert [row["accuracy_rint"] for row in sweep[4:6]] == [0.67, 0.57]
    assert [row["rss"] for row in sweep] == [4 * round(100 * (1 - r["accuracy"])) for r in sweep]


def test_weights_are_the_reading_notes(results):
    sweep = results["metrics"]["outlier_sweep"]
    for row, expected in (
        (sweep[0], [0.9119, -0.9397, -0.8992]),
        (sweep[3], [0.7205, -1.5308, 0.0873]),
    ):
        np.testing.assert_allclose([row["intercept"], *row["coef"]], expected, atol=5e-5)


def test_the_outlier_rotates_least_squares_and_huber_less(results):
    metrics = results["metrics"]
    ls, hub = metrics["outlier_sweep"], metrics["outlier_sweep_huber"]
    baseline = metrics["baseline_no_outlier"]["least_squares"]["angle_degrees"]
    assert 130 < baseline < 140  # the blobs' perpendicular bisector is at 135°
    ls_angles = [row["angle_degrees"] for row in ls]
    assert np.all(np.diff(ls_angles) < 0)  # turns further with every doubling
    assert ls_angles[-1] < 65
    for a, b in zip(ls[1:], hub[1:], strict=True):
        assert abs(b["rotation_degrees"]) < abs(a["rotation_degrees"])
        assert b["accuracy"] >= a["accuracy"]
    # Huber caps the residual's pull, not the leverage: it still turns, more slowly.
    assert hub[-1]["rotation_degrees"] < -30
    assert [row["outlier_leverage"] for row in ls][-1] > 0.98
    assert all(row["outlier_weight"] < 0.02 for row in hub[-2:])


def test_logistic_regression_is_not_moved_by_a_point_on_its_correct_side(results):
    metrics = results["metrics"]
    ls, hub, lr = (
        metrics["outlier_sweep"],
        metrics["outlier_sweep_huber"],
        metrics["outlier_sweep_logistic"],
    )
    assert [row["scale"] for row in lr] == SCALES
    baseline = metrics["baseline_no_outlier"]["logistic"]
    assert baseline["accuracy"] == 1.0
    assert abs(baseline["angle_degrees"] - 135.0) < 0.1  # symmetric blobs: the bisector
    for a, b, c in zip(ls, hub, lr, strict=True):
        assert c["accuracy"] >= max(a["accuracy"], b["accuracy"])
        # The outlier is beyond the -1 blob: correctly classified, with a growing margin.
        assert c["outlier_margin"] > 8 * c["scale"]
        assert c["outlier_loss"] == pytest.approx(np.logaddexp(0, -c["outlier_margin"]))
        assert c["outlier_loss_gradient"] <= c["outlier_loss"] < 2e-4
        assert "accuracy_rint" not in c
    # At s = 1 its loss is 1.8e-4, a measurable pull; further out the loss underflows.
    assert 1e-4 < abs(lr[0]["rotation_degrees"]) < 1e-3
    assert lr[-1]["outlier_loss"] == 0.0 and lr[-1]["outlier_loss_gradient"] == 0.0
    # Beyond s = 1 the rotation is solver noise, and a million times below least squares'.
    assert all(abs(row["rotation_degrees"]) < 1e-5 for row in lr[1:])
    assert abs(lr[-1]["rotation_degrees"]) < 1e-6 * abs(ls[-1]["rotation_degrees"])
    assert ls[-1]["rotation_degrees"] < -70 and hub[-1]["rotation_degrees"] < -30


@pytest.mark.parametrize("scale", [1, 64])
def test_logistic_fit_equals_scikit_learns(results, scale):
    """Alpha = 1/(C·N) is LogisticRegression(C): the same weights, from another solver."""
    config = results["metrics"]["config"]
    row = results["metrics"]["outlier_sweep_logistic"][SCALES.index(scale)]
    X, _, y, _, _, _ = make_blobs_with_outlier(outlier=scale)
    assert row["alpha"] == pytest.approx(1 / (config["logistic_C"] * len(X)))
    reference = LogisticRegression(C=config["logistic_C"], tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(row["coef"], reference.coef_[0], atol=1e-4)
    np.testing.assert_allclose(row["intercept"], reference.intercept_[0], atol=1e-4)
    margin = -(X[-1] @ reference.coef_[0] + reference.intercept_[0])  # label -1
    assert row["outlier_margin"] == pytest.approx(margin, rel=1e-5)


def test_angle_and_rotation_definitions():
    assert task2.boundary_angle(np.array([-1.0, -1.0])) == pytest.approx(135.0)
    assert task2.boundary_angle(np.array([1.0, 0.0])) == pytest.approx(90.0)
    assert task2.boundary_angle(np.array([0.0, 2.0])) == pytest.approx(0.0)
    assert task2.rotation(np.array([0.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(90.0)
    assert task2.rotation(np.array([1.0, -1.0]), np.array([1.0, 0.0])) == pytest.approx(-45.0)
    np.testing.assert_array_equal(
        task2.rint_predictions(np.array([-0.6, -0.4, 0.49, 0.51])), [-1, 0, 0, 1]
    )


def test_leverage_is_the_hat_matrix_diagonal():
    X = np.random.default_rng(0).normal(size=(30, 2))
    A = np.column_stack([np.ones(30), X])
    np.testing.assert_allclose(task2.leverage(X), np.diag(A @ np.linalg.pinv(A)), atol=1e-12)


def test_metrics_are_json_and_the_same_bytes_on_every_run(results, task2_config):
    again = task2.run(task2_config)
    assert metrics_json(again["metrics"]) == metrics_json(results["metrics"])
    for key in ("scale", "accuracy", "rss", "accuracy_rint", "coef", "intercept"):
        assert key in results["metrics"]["outlier_sweep"][0]
        assert key in results["metrics"]["outlier_sweep_huber"][0]
    for key in ("scale", "accuracy", "coef", "intercept", "angle_degrees", "rotation_degrees"):
        assert key in results["metrics"]["outlier_sweep_logistic"][0]
    for name in ("huber", "logistic"):
        assert "angle_degrees" in results["metrics"]["baseline_no_outlier"][name]
    assert results["metrics"]["config"]["logistic_C"] == 1.0


# --- figures -----------------------------------------------------------------------------


def test_figures_keep_the_blobs_readable(results):
    figures = task2_figures(results)
    try:
        assert set(figures) == {
            "data_by_scale",
            "boundaries_least_squares",
            "boundaries_huber",
            "boundaries_overlay",
            "accuracy_vs_scale",
            "rint_explained",
            "fit_vs_scale",
        }
        (legend_star,) = [
            handle
            for handle in figures["data_by_scale"].legends[0].legend_handles
            if handle.get_label() == "outlier"
        ]
        # Plane panels stay zoomed on the blobs; the far outliers get an arrow instead.
        for stem in ("data_by_scale", "boundaries_least_squares", "boundaries_huber"):
            panels = figures[stem].axes[:7]
            for ax in panels:
                assert ax.get_xlim()[1] - ax.get_xlim()[0] < 5
            arrows = [sum("outlier at" in t.get_text() for t in ax.texts) for ax in panels]
            assert arrows[0] == 0 and all(n == 1 for n in arrows[1:])
            for ax in panels[1:]:  # each arrow's label is in view
                (label,) = [t for t in ax.texts if "outlier at" in t.get_text()]
                x, y = label.get_position()
                assert ax.get_xlim()[0] < x < ax.get_xlim()[1]
                assert ax.get_ylim()[0] < y < ax.get_ylim()[1]
            # In view, the outlier is a star in the colours of the legend's outlier.
            (star,) = [c for c in panels[0].collections if c.get_label().startswith("outlier")]
            np.testing.assert_allclose(star.get_facecolor(), [to_rgba(legend_star.get_mfc())])
            np.testing.assert_allclose(star.get_edgecolor(), [to_rgba(legend_star.get_mec())])
        overlay = figures["boundaries_overlay"].axes
        assert len(overlay) == 3  # least squares, Huber, logistic regression
        for ax in overlay:
            assert len(ax.get_legend().get_texts()) == len(SCALES) + 1
        angle_panel = figures["fit_vs_scale"].axes[0]
        assert "logistic regression" in [t.get_text() for t in angle_panel.get_legend().texts]
    finally:
        for figure in figures.values():
            plt.close(figure)


def test_results_follow_the_documented_schema(results, check_schema):
    assert set(results) == set(Task2Results.__annotations__)
    check_schema(results["metrics"], Task2Metrics)
    check_schema(results["explorer"], Task2ExplorerResults)


def test_derived_facts_match_a_recomputation_from_the_sweeps(results):
    metrics = results["metrics"]
    summary, ls = metrics["summary"], metrics["outlier_sweep"]
    accuracy = np.array([row["accuracy"] for row in ls])
    scales = np.array([row["scale"] for row in ls])
    worst = int(np.lexsort((-scales, accuracy))[0])  # lowest accuracy, ties: the largest s
    assert summary["least_squares_worst"] == {
        "index": worst, "scale": ls[worst]["scale"], "accuracy": ls[worst]["accuracy"]
    }  # fmt: skip
    printed = [i for i, s in enumerate(scales) if s in metrics["sheet"]["scales"]]
    assert summary["last_sheet_scale"] == printed[-1]
    assert ls[summary["last_sheet_scale"]]["scale"] == max(metrics["sheet"]["scales"])

    lr = metrics["outlier_sweep_logistic"]
    lr_accuracy = [row["accuracy"] for row in lr]
    low = int(np.argmin(lr_accuracy))  # ties: the smallest s
    assert summary["logistic_lowest"] == {
        "index": low, "scale": lr[low]["scale"], "accuracy": lr_accuracy[low]
    }  # fmt: skip
    assert summary["logistic_accuracy_constant"] is (len(set(lr_accuracy)) == 1)
