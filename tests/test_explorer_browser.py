"""explorer.html in a real headless Chromium, over file://: each slider and picker, moved with
real input events, shows the run's values for its setting (from each task's explorer.json).

Needs Debian's ``chromium`` and the ``playwright`` package, as ``test_report_browser.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _browser import CHROMIUM, FLAGS
from playwright.sync_api import Page, sync_playwright

TRACES = """(id) => document.getElementById(id).data.map((t) => ({
    name: t.name, type: t.type, x: t.x === undefined ? null : t.x,
    y: t.y === undefined ? null : t.y, z: t.z === undefined ? null : t.z}))"""


@pytest.fixture(scope="module")
def data(results_dir) -> dict[str, dict]:
    return {
        task: json.loads((results_dir / task / "explorer.json").read_text(encoding="utf-8"))
        for task in ("task1", "task2", "task3")
    }


@pytest.fixture(scope="module")
def browser_page(results_dir):
    """The page as users open it, with everything it logged and requested."""
    assert Path(CHROMIUM).exists(), "chromium is missing: run `make test` (it installs it)"
    log = {"console": [], "errors": [], "requests": [], "failed": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: log["console"].append((m.type, m.text)))
            page.on("pageerror", lambda error: log["errors"].append(str(error)))
            page.on("request", lambda request: log["requests"].append(request.url))
            page.on("requestfailed", lambda request: log["failed"].append(request.url))
            page.goto((results_dir / "explorer.html").as_uri(), wait_until="load")
            yield page, log
        finally:
            browser.close()


def _shown(page: Page, element_id: str) -> str:
    return page.inner_text(f"#{element_id}").strip()


def _number(page: Page, element_id: str, expected: float | None, digits: int) -> None:
    """The element shows ``expected`` to ``digits`` decimals ("n/a" for None)."""
    shown = _shown(page, element_id)
    if expected is None:
        assert shown == "n/a", element_id
    else:
        assert abs(float(shown.split()[0].rstrip("°")) - expected) <= 0.5 * 10**-digits + 1e-9, (
            element_id,
            shown,
            expected,
        )


def _traces(page: Page, element_id: str) -> list[dict]:
    return page.evaluate(TRACES, element_id)


def _slider(page: Page, element_id: str) -> int:
    return int(page.eval_on_selector(f"#{element_id}", "(e) => e.value"))


def _press(page: Page, element_id: str, *keys: str) -> None:
    page.focus(f"#{element_id}")
    for key in keys:
        page.keyboard.press(key)


def test_task1_k_slider_and_points_toggle(browser_page, data):
    page, _ = browser_page
    d = data["task1"]
    by_k = d["by_k"]

    def check(index: int) -> None:
        row = by_k[index]
        assert _slider(page, "t1-k") == index
        assert _shown(page, "t1-k-value").split()[0] == str(row["k"])
        _number(page, "t1-test", row["test_accuracy"], 3)
        _number(page, "t1-train", row["train_accuracy"], 3)
        _number(page, "t1-cv", row["cv_accuracy"], 3)
        assert _shown(page, "t1-regions") == str(row["n_regions"])
        heat = _traces(page, "t1-plot")[0]
        assert heat["type"] == "heatmap" and heat["z"] == row["proba"]
        assert heat["x"] == d["grid"]["x"] and heat["y"] == d["grid"]["y"]

    start = next(i for i, row in enumerate(by_k) if row["k"] == d["chosen_k"])
    check(start)
    _press(page, "t1-k", "ArrowRight", "ArrowRight")
    check(start + 2)
    _press(page, "t1-k", "Home")
    check(0)
    _press(page, "t1-k", "End")
    check(len(by_k) - 1)
    assert by_k[-1]["cv_accuracy"] is None and _shown(page, "t1-cv") == "n/a"
    _press(page, "t1-k", *["ArrowLeft"] * 9)  # a k the explorer added to the sheet's
    check(len(by_k) - 10)

    def points(trace_list: list[dict]) -> tuple[set, int]:
        scatter = [t for t in trace_list if t["type"] == "scatter"]
        return {t["name"].split(",")[0] for t in scatter}, sum(len(t["x"]) for t in scatter)

    assert points(_traces(page, "t1-plot")) == ({"training"}, len(d["points"]["train"]["x1"]))
    page.click("#t1-show-test")
    assert points(_traces(page, "t1-plot")) == ({"test"}, len(d["points"]["test"]["x1"]))
    test_traces = [t for t in _traces(page, "t1-plot") if t["type"] == "scatter"]
    shown = sorted((x, y) for t in test_traces for x, y in zip(t["x"], t["y"], strict=True))
    test = d["points"]["test"]
    assert shown == sorted(zip(test["x1"], test["x2"], strict=True))
    check(len(by_k) - 10)  # the toggle keeps the k
    page.click("#t1-show-train")
    assert points(_traces(page, "t1-plot"))[0] == {"training"}


def test_task1_density_slider(browser_page, data):
    page, _ = browser_page
    density = data["task1"]["density"]
    for index in range(len(density)):
        if index:
            _press(page, "t1-dk", "ArrowRight")
        row = density[index]
        assert _slider(page, "t1-dk") == index
        assert _shown(page, "t1-dk-value") == str(row["k"])
        _number(page, "t1-dmean", row["mean_log_density_test"], 3)
        heatmaps = _traces(page, "t1-density")
        assert [t["z"] for t in heatmaps] == [
            row["log_density"],
            *row["class_log_density"].values(),
        ]


def test_task2_scale_slider(browser_page, data):
    page, _ = browser_page
    d = data["task2"]
    sheet = dict(zip(d["sheet_scales"], d["sheet_accuracy_rint"], strict=True))

    def check(index: int) -> None:
        row = d["by_scale"][index]
        assert _slider(page, "t2-scale") == index
        assert float(_shown(page, "t2-scale-value").split()[0]) == row["scale"]
        traces = {t["name"]: t for t in _traces(page, "t2-plot")}
        names = {"least_squares": "least squares", "huber": "Huber",
                 "logistic": "logistic regression"}
        for key, short in (("least_squares", "ls"), ("huber", "huber"), ("logistic", "logistic")):
            fit = row["estimators"][key]
            assert [traces[names[key]]["x"], traces[names[key]]["y"]] == fit["segment"]
            _number(page, f"t2-{short}-sign", fit["accuracy"], 2)
            _number(page, f"t2-{short}-angle", fit["angle_degrees"], 1)
            if key != "logistic":
                _number(page, f"t2-{short}-rint", fit["accuracy_rint"], 2)
        outlier = next(t for t in traces.values() if t["name"].startswith("outlier"))
        assert (outlier["x"] == [row["outlier"][0]]) == row["outlier_in_plot"]
        if row["scale"] in sheet:
            _number(page, "t2-sheet", sheet[row["scale"]], 2)
        else:
            assert _shown(page, "t2-sheet") == "not printed"

    start = next(i for i, row in enumerate(d["by_scale"]) if row["scale"] == max(sheet))
    check(start)
    _press(page, "t2-scale", "Home")
    check(0)
    _press(page, "t2-scale", "ArrowRight")
    check(1)
    _press(page, "t2-scale", "End")
    check(len(d["by_scale"]) - 1)
    _press(page, "t2-scale", "ArrowLeft", "ArrowLeft", "ArrowLeft")
    check(len(d["by_scale"]) - 4)


def test_task3_solver_picker_and_rate_slider(browser_page, data):
    page, _ = browser_page
    d = data["task3"]
    _number(page, "t3-fstar", d["objective_minimum"], 5)

    def check(name: str, index: int) -> None:
        run = d["solvers"][name]["runs"][index]
        assert page.eval_on_selector("#t3-solver", "(e) => e.value") == name
        assert _slider(page, "t3-rate") == index
        _number(page, "t3-accuracy", run["test_accuracy"], 4)
        _number(page, "t3-loss", run["final_loss"], 5)
        assert _shown(page, "t3-iterations").split()[0] == str(run["iterations"])
        bold = [t for t in _traces(page, "t3-plot") if t["name"].startswith(f"{name}, ")]
        assert [t["y"] for t in bold] == [run["loss"], run["loss"]]
        assert bold[1]["x"] == run["seconds"]

    first = next(iter(d["solvers"]))
    check(first, d["solvers"][first]["study_index"])
    page.select_option("#t3-solver", "adam")
    adam = d["solvers"]["adam"]
    check("adam", adam["study_index"])
    _press(page, "t3-rate", "ArrowLeft")
    check("adam", adam["study_index"] - 1)
    _press(page, "t3-rate", "End")
    check("adam", len(adam["runs"]) - 1)
    page.select_option("#t3-solver", "momentum")
    check("momentum", d["solvers"]["momentum"]["study_index"])
    _press(page, "t3-rate", "ArrowRight", "ArrowRight")
    check("momentum", d["solvers"]["momentum"]["study_index"] + 2)
    page.select_option("#t3-solver", "lbfgs")
    check("lbfgs", 0)
    assert page.eval_on_selector("#t3-rate", "(e) => e.disabled")


def test_no_console_errors_and_nothing_but_local_files(browser_page, tmp_path):
    page, log = browser_page
    page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
    assert [m for m in log["console"] if m[0] in ("error", "warning")] == []
    assert log["errors"] == [] and log["failed"] == []
    assert log["requests"] and all(url.startswith("file://") for url in log["requests"])
    assert any(url.endswith("/plotly.min.js") for url in log["requests"])
