"""report.html in a real headless Chromium: loads cleanly, every figure shows.

Needs Debian's ``chromium`` (``make test`` installs it when missing) and the ``playwright``
Python package, which drives that browser; Playwright's own browser download is not used.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from scratchlearn._output import write_task_outputs
from scratchlearn.experiments import TASKS
from scratchlearn.plotting import FIGURES
from scratchlearn.report import write_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless as root, with no network: no sandbox, no GPU, nothing that phones home.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _config(module):
    names = {field.name for field in dataclasses.fields(module.Config)}
    small = {"show_progress": False, "grid_resolution": 40}
    return module.Config(**{k: v for k, v in small.items() if k in names})


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    for name, module in TASKS.items():
        results = module.run(_config(module))
        write_task_outputs(
            out, name, results["metrics"], FIGURES[name](results), results.get("texts")
        )
    return write_report(out, total_seconds=1.0, strict=True)


def test_report_loads_in_chromium_with_every_image(report, tmp_path):
    # Not a skip: CI must run this, and `make test` installs the browser.
    assert Path(CHROMIUM).exists(), "chromium is missing: run `make test` (it installs it)"
    messages, page_errors, failed = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: messages.append((m.type, m.text)))
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on("requestfailed", lambda request: failed.append(request.url))
            page.goto(report.as_uri(), wait_until="load")
            images = page.evaluate(
                """() => Array.from(document.images, (img) => ({
                    src: img.getAttribute("src"),
                    complete: img.complete,
                    width: img.naturalWidth,
                }))"""
            )
            headings = page.evaluate(
                "() => Array.from(document.querySelectorAll('h2'), (h) => h.textContent)"
            )
            toc_targets = page.evaluate(
                """() => Array.from(document.querySelectorAll('nav a'),
                    (a) => document.getElementById(a.getAttribute('href').slice(1)) !== null)"""
            )
            screenshot = tmp_path / "report.png"
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()

    assert [m for m in messages if m[0] == "error"] == []
    assert page_errors == [] and failed == []
    assert len(images) >= 6
    assert [img for img in images if not img["complete"] or img["width"] == 0] == []
    for name in TASKS:
        assert any(img["src"].startswith(f"{name}/") for img in images), name
    assert "Where this report differs from the sheet" in headings
    assert toc_targets and all(toc_targets)
    assert screenshot.stat().st_size > 50_000
