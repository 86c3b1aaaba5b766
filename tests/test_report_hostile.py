"""No folder name, label, setting, file name or text file can become markup in report.html.

The same results are reported twice, with hostile strings (HTML, a closing ``</script>``,
attribute breakouts, Markdown links, images, emphasis and code fences) and with plain
words in the same places (``_hostile_report``). Parsed with ``html.parser``, both pages
must have the same elements with the same attributes: nothing in the page comes from a
value but text. Each hostile string must be on the page as that text.
"""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from _hostile_report import BENIGN, HOSTILE, hostile_results


class Structure(HTMLParser):
    """Every element (its tag and attribute names), every attribute value, and the text."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, tuple[str, ...]]] = []
        self.values: list[str] = []
        self.text: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, tuple(name for name, _ in attrs)))
        self.values += [value or "" for _, value in attrs]

    def handle_endtag(self, tag):
        self.elements.append(("/" + tag, ()))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def pages(results_dir, tmp_path_factory) -> dict[str, Path]:
    return {
        name: hostile_results(results_dir, tmp_path_factory.mktemp(name), strings)
        for name, strings in (("hostile", HOSTILE), ("benign", BENIGN))
    }


def test_hostile_values_add_no_element_or_attribute(pages):
    hostile = Structure((pages["hostile"] / "report.html").read_text(encoding="utf-8"))
    benign = Structure((pages["benign"] / "report.html").read_text(encoding="utf-8"))
    assert hostile.elements == benign.elements
    assert not [value for value in hostile.values if "javascript:" in value.lower()[:11]]
    tags = {tag for tag, _ in hostile.elements}
    assert not tags & {"script", "svg", "iframe", "b"}
    text = "".join(hostile.text)
    for key, value in HOSTILE.items():
        if key != "folder":  # not a task: not on the page
            assert value in text, key
    assert HOSTILE["folder"] not in text and "alert(&quot;folder" not in text


def test_only_the_known_tasks_are_sections(pages):
    benign = (pages["benign"] / "report.html").read_text(encoding="utf-8")
    assert BENIGN["folder"] not in benign
    assert '"><svg' not in (pages["hostile"] / "report.html").read_text(encoding="utf-8")


def test_a_text_file_with_code_fences_is_shown_whole(results_dir, tmp_path):
    """A folded text file whose lines hold backtick fences and numbers stays one code block
    in both renderings: no line of it closes the block, so nothing of it is prose, and a
    line that reads like the page's placeholder for its contents stays as written."""
    from scratchlearn.report import write_report

    out = tmp_path / "results"
    shutil.copytree(results_dir / "latest", out, ignore=shutil.ignore_patterns("report.*"))
    text = "````\nprecision 0.97\n```\n# not a heading 12\n<!-- contents -->\n``````"
    (out / "task1" / "classification_report.txt").write_text(text + "\n", encoding="utf-8")
    write_report(out)
    page = Structure((out / "report.html").read_text(encoding="utf-8"))
    assert text in "".join(page.text)
    assert ("h1", ()) in page.elements and page.elements.count(("h1", ())) == 1
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert f"```````\n{text}\n```````\n" in markdown
