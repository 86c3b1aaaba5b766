"""report.html in a real headless Chromium: loads cleanly, every figure shows.

Needs Debian's ``chromium`` (``make test`` installs it when missing) and the ``playwright``
Python package, which drives that browser; Playwright's own browser download is not used.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _browser import CHROMIUM, FLAGS
from playwright.sync_api import sync_playwright

from scratchlearn.experiments import TASKS


@pytest.fixture
def report(results_dir) -> Path:
    """The page as users open it: ``DIR/report.html``, a link into the run's generation."""
    path = results_dir / "report.html"
    assert path.is_symlink()
    return path


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


def test_hostile_names_and_values_inject_nothing_in_chromium(results_dir, tmp_path):
    """A results folder with markup in a folder name, metric strings, a folded text file and
    file names (``_hostile_report``): in the browser no element of it exists (no script,
    svg or iframe, no image but the run's figures, no event handler) and no dialog opens."""
    from _hostile_report import HOSTILE, hostile_results

    report = hostile_results(results_dir, tmp_path, HOSTILE) / "report.html"
    dialogs = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(report.as_uri(), wait_until="load")
            page.wait_for_timeout(200)  # an onerror or onload would have fired by now
            found = page.evaluate(
                """() => ({
                    injected: document.querySelectorAll("script, svg, iframe").length,
                    images: Array.from(document.images, (img) => img.getAttribute("src")),
                    handlers: Array.from(document.querySelectorAll("*")).flatMap((element) =>
                        element.getAttributeNames().filter((name) => name.startsWith("on"))),
                    text: document.body.innerText,
                })"""
            )
        finally:
            browser.close()
    assert dialogs == []
    assert found["injected"] == 0 and found["handlers"] == []
    assert all(src.startswith(("task1/", "task2/", "task3/")) for src in found["images"])
    assert HOSTILE["label"] in found["text"] and HOSTILE["best"] in found["text"]
