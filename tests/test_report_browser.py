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
