"""The documentation site that ``make docs`` builds into ``docs/_build/html``.

These tests read the built site; they do not build it (a build runs the gallery, about a
minute). ``make test`` runs ``make docs`` before pytest, so in CI they check the site of
the commit under test; run alone, they fail, not skip, when the site is missing: build it
with ``make docs`` first.

- Every public name has its API page, every example its gallery page with its figures.
- Nothing is fetched from the network at read time: no page loads a script, stylesheet,
  font, image or frame from another host, and no stylesheet imports one.
- In headless Chromium (the browser of the report's test, ``tests/_browser.py``) the index,
  an API page, a gallery page and a page of maths load with no console error and request
  only ``file://`` URLs (anything else is aborted and fails the test), MathJax typesets
  the maths from the site's own copy, and the search page finds ``KNeighborsClassifier``
  from the built files alone.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from _browser import CHROMIUM, FLAGS

import scratchlearn

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "docs" / "_build" / "html"
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
MODULES = ["scratchlearn.optim", "scratchlearn.gradcheck", "scratchlearn.datasets",
           "scratchlearn.exceptions"]
#: An address on another host: http(s)://, or protocol-relative //host.
REMOTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


@pytest.fixture(scope="module")
def site() -> Path:
    # Not a skip: CI builds the site first (`make test` runs `make docs`).
    assert (SITE / "index.html").is_file(), f"no site in {SITE}: run `make docs` first"
    return SITE


class _Resources(HTMLParser):
    """The URLs a page makes the browser load (not the links it only points to)."""

    LOADED = frozenset({("script", "src"), ("img", "src"), ("iframe", "src"),
                        ("source", "src"), ("video", "src"), ("audio", "src"),
                        ("embed", "src"), ("object", "data"), ("link", "href")})

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and not {"stylesheet", "preload", "icon", "modulepreload",
                                  "prefetch", "preconnect"} & set(
                                      (attrs.get("rel") or "").lower().split()):
            return  # rel="next", "prev", "search": links, not loads
        self.urls += [attrs[name] for t, name in self.LOADED if t == tag and attrs.get(name)]


def loaded_urls(page: Path) -> list[str]:
    parser = _Resources()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.urls


def test_every_public_name_and_module_has_an_api_page(site):
    public = [name for name in scratchlearn.__all__
              if not name.startswith("_") and name != "exceptions"]
    assert "KNeighborsClassifier" in public
    missing = [name for name in public
               if not (site / "generated" / f"scratchlearn.{name}.html").is_file()]
    missing += [module for module in ["scratchlearn", *MODULES]
                if not (site / "generated" / f"{module}.html").is_file()]
    assert missing == []
    page = (site / "generated" / "scratchlearn.KNeighborsClassifier.html").read_text()
    assert 'id="scratchlearn.KNeighborsClassifier.predict_proba"' in page


def test_every_example_has_a_gallery_page_with_its_figures(site):
    for script in EXAMPLES:
        page = site / "auto_examples" / f"{script.stem}.html"
        assert page.is_file(), script.name
        images = [url for url in loaded_urls(page) if url.endswith(".png")]
        assert all((page.parent / url).is_file() for url in images), script.name
        if script.stem.startswith("plot_"):
            assert any("sphx_glr_" in url for url in images), f"{script.name}: no figure"


def test_no_page_or_stylesheet_loads_anything_from_another_host(site):
    remote = {}
    for page in site.rglob("*.html"):
        urls = [url for url in loaded_urls(page) if REMOTE.match(url)]
        if urls:
            remote[str(page.relative_to(site))] = urls
    for sheet in site.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        urls = re.findall(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""", text)
        urls = [url for url in urls if REMOTE.match(url)]
        if urls:
            remote[str(sheet.relative_to(site))] = urls
    assert remote == {}


def test_the_search_index_is_a_local_file(site):
    index = site / "searchindex.js"
    assert index.is_file() and "KNeighborsClassifier" in index.read_text(encoding="utf-8")
    assert "searchindex.js" in (site / "search.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "chromium is missing: run `make test` (it installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def visit(browser, url: str, ready: str | None = None) -> dict:
    """Open ``url`` in a fresh context that aborts every request but ``file://`` ones; wait
    for ``ready`` (a CSS selector) if given; return what the page logged and requested."""
    record = {"errors": [], "requests": [], "blocked": []}
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.route(re.compile(r"^(?!file:)"), lambda route: (
            record["blocked"].append(route.request.url), route.abort()))
        page = context.new_page()
        page.on("console", lambda message: message.type == "error"
                and record["errors"].append(message.text))
        page.on("pageerror", lambda error: record["errors"].append(str(error)))
        page.on("request", lambda request: record["requests"].append(request.url))
        page.on("requestfailed", lambda request: record["errors"].append(
            f"failed: {request.url}"))
        page.goto(url, wait_until="load")
        if ready:
            page.wait_for_selector(ready, timeout=30_000)
        page.wait_for_timeout(300)  # late scripts (the theme's, MathJax's) have run
        record["images"] = page.evaluate(
            "() => Array.from(document.images, (img) => img.complete && img.naturalWidth > 0)")
        record["page"] = page.evaluate("""() => ({
            title: document.title,
            maths: document.querySelectorAll("mjx-container").length,
            results: Array.from(document.querySelectorAll("#search-results ul.search li a"),
                                (a) => a.getAttribute("href")),
        })""")
    finally:
        context.close()
    return record


PAGES = {
    "index": ("index.html", None),
    "api": ("generated/scratchlearn.KNeighborsClassifier.html", None),
    "gallery": ("auto_examples/plot_decision_regions.html", None),
    "maths": ("softmax.html", "mjx-container"),
}


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_offline_in_chromium(site, browser, name):
    path, ready = PAGES[name]
    record = visit(browser, (site / path).as_uri(), ready)
    assert record["errors"] == []
    assert record["blocked"] == []
    assert record["requests"] and all(url.startswith("file://") for url in record["requests"])
    assert all(record["images"])  # every image loaded
    assert "scratchlearn" in record["page"]["title"]
    if name == "gallery":
        assert len(record["images"]) >= 2  # the example's figures
    if name == "maths":
        assert record["page"]["maths"] >= 5  # MathJax typeset the equations, offline


def test_search_finds_the_classifier_offline(site, browser):
    url = (site / "search.html").as_uri() + "?q=KNeighborsClassifier"
    record = visit(browser, url, ready="#search-results ul.search li a")
    assert record["errors"] == [] and record["blocked"] == []
    assert "generated/scratchlearn.KNeighborsClassifier.html" in record["page"]["results"]
