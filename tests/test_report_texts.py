"""The text files the report shapes from each task's results (``report.texts``), and the
files the CLI writes beside each task's metrics (``report.task_files``)."""

from __future__ import annotations

import re

import pytest
from sklearn.metrics import classification_report

from scratchlearn.report import task_files
from scratchlearn.report.texts import side_by_side


def _columns(text: str, width: int) -> tuple[list[str], list[str]]:
    """The left and right blocks of a side-by-side text whose right block starts at ``width``."""
    lines = text.splitlines()
    return [line[:width].rstrip() for line in lines], [line[width:] for line in lines]


def test_side_by_side_keeps_both_blocks_in_their_columns():
    left, right = "a\nbbbbb\n  c", "x\ny\nz\nlast"
    text = side_by_side("Left", left, "Right title", right)
    assert text.endswith("\n") and not text.endswith("\n\n")
    width = len("bbbbb") + 4  # the widest left line, then four spaces
    got_left, got_right = _columns(text, width)
    assert got_left == ["Left", "", "a", "bbbbb", "  c", ""]  # padded to the longer block
    assert got_right == ["Right title", "", "x", "y", "z", "last"]
    assert all(line == line.rstrip() for line in text.splitlines())


def test_side_by_side_with_a_longer_left_block():
    text = side_by_side("L", "1\n2\n3", "R", "only")
    got_left, got_right = _columns(text, len("L") + 4)
    assert got_left == ["L", "", "1", "2", "3"]
    assert got_right == ["R", "", "only", "", ""]


def test_task1_report_is_scikit_learns_for_both_classifiers(task1_results):
    text = task_files("task1", task1_results)["classification_report.txt"]
    y_test, k = task1_results["data"]["y_test"], task1_results["metrics"]["chosen_k"]["k"]
    ours = classification_report(y_test, task1_results["y_pred"], digits=3)
    theirs = classification_report(y_test, task1_results["y_pred_sklearn"], digits=3)
    title = f"scratchlearn KNeighborsClassifier, k = {k}"
    width = max(len(line) for line in [title, *ours.splitlines()]) + 4
    got_left, got_right = _columns(text, width)
    assert got_left[: len(ours.splitlines()) + 2] == [title, "", *ours.splitlines()]
    assert got_right[: len(theirs.splitlines()) + 2] == [
        f"scikit-learn KNeighborsClassifier, k = {k}", "", *theirs.splitlines()
    ]


def _fields(line: str) -> list[str]:
    """A table row's cells: columns are at least two spaces apart (a blank cell vanishes)."""
    return re.split(r"\s{2,}", line.strip())


def _close(shown: str, value: float) -> bool:
    """``shown`` is ``value`` printed with as many decimals as it has."""
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    return abs(float(shown) - value) <= 0.5 * 10**-decimals + 1e-12


def test_task2_table_has_a_row_per_scale_with_its_numbers(task2_results):
    metrics = task2_results["metrics"]
    lines = task_files("task2", task2_results)["outlier_sweep.txt"].splitlines()
    start = next(i for i, line in enumerate(lines) if set(line) == {"-"})
    header, rows = _fields(lines[start - 1]), lines[start + 2 :]  # after the "none" row
    assert header[:3] == ["scale", "outlier", "LS sign"] and header[-1] == "LR margin"
    sheet = dict(zip(metrics["sheet"]["scales"], metrics["sheet"]["accuracy_rint"], strict=True))
    sweeps = zip(
        metrics["outlier_sweep"],
        metrics["outlier_sweep_huber"],
        metrics["outlier_sweep_logistic"],
        strict=True,
    )
    assert len(rows) == len(metrics["outlier_sweep"])
    for line, (ls, huber, lr) in zip(rows, sweeps, strict=True):
        cells = _fields(line)
        assert float(cells[0]) == ls["scale"]
        assert cells[1] == f"({ls['outlier'][0]:g}, {ls['outlier'][1]:g})"
        expected = [ls["accuracy"], ls["accuracy_rint"]]
        expected += [sheet[ls["scale"]]] if ls["scale"] in sheet else []  # else a blank cell
        expected += [ls["angle_degrees"], ls["outlier_leverage"], huber["accuracy"],
                     huber["accuracy_rint"], huber["angle_degrees"], huber["outlier_weight"],
                     lr["accuracy"], lr["angle_degrees"], lr["outlier_margin"]]  # fmt: skip
        assert len(cells[2:]) == len(expected), line
        assert all(_close(shown, value) for shown, value in zip(cells[2:], expected, strict=True))


def test_task3_table_has_a_row_per_solver_with_its_numbers(task3_results):
    metrics = task3_results["metrics"]
    text = task_files("task3", task3_results)["optimizers.txt"]
    rows = {line.split()[0]: line for line in text.splitlines() if line and line.split()[0]
            in {row["name"] for row in metrics["optimizers"]}}  # fmt: skip
    assert list(rows) == [row["name"] for row in metrics["optimizers"]]
    for row in metrics["optimizers"]:
        cells = rows[row["name"]].split()
        # Only the solver's own settings: the shared ones are in the objective's line.
        shown = {k for k in row["settings"] if f"{k}=" in rows[row["name"]]}
        assert shown == set(row["settings"]) - {"alpha", "max_iter", "tol", "random_state"}
        iterations, loss, gap, accuracy, seconds = cells[-5:]
        assert int(iterations) == row["iterations"]
        assert _close(loss, row["train_loss"]) and _close(accuracy, row["test_accuracy"])
        assert float(gap) == pytest.approx(row["gap_to_minimum"], rel=5.1e-3, abs=1e-300)
        assert _close(seconds, row["seconds"])
    assert f"J* = {metrics['objective']['minimum']:.6f}" in text
    for key in ("summed", "averaged"):
        assert f"train loss {metrics['sheet_run'][key]['train_loss']:.4f}" in text


def test_task_files_are_the_texts_and_the_explorer_data(task_results):
    expected = {
        "task1": {"classification_report.txt", "explorer.json"},
        "task2": {"outlier_sweep.txt", "explorer.json"},
        "task3": {"optimizers.txt", "explorer.json"},
    }
    assert {task: set(task_files(task, r)) for task, r in task_results.items()} == expected
    assert task_files("not_a_task", task_results["task1"]) == {}
