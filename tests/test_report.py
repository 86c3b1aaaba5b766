"""The report: every number in its prose is a metric, every section and figure is there.

The checks read the written files (``report.html``, ``report.md``, ``metrics.json``) and do
not trust the code that wrote them: a number typed into the prose by hand fails them.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import FileSystemLoader, UndefinedError

from scratchlearn.experiments import TASKS
from scratchlearn.report import ReportError, _render, build_document, write_report
from scratchlearn.report._quote import RUN, format_number, resolve

# A number as prose prints it: not part of a name (x1, task1, k_sweep) and not a formula.
MINUS = "\N{MINUS SIGN}"
NUMBER = re.compile(
    rf"(?<![\w.])[{MINUS}-]?(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?(?:e[{MINUS}+-]?\d+)?(?!\w)"
)
RUN_INFO = {"total_seconds": 12.34, "task_seconds": {name: 1.5 for name in TASKS}}


@pytest.fixture(scope="module")
def out(tmp_path_factory, results_dir):
    """The CLI's results (conftest.py), copied, with the report rebuilt from them and known
    run times (``RUN_INFO``), which the checks below read as the run's metrics."""
    copy = tmp_path_factory.mktemp("report") / "results"
    shutil.copytree(results_dir / "latest", copy, ignore=shutil.ignore_patterns("report.*"))
    write_report(copy, **RUN_INFO)
    return copy


def metrics_of(out: Path) -> dict[str, dict]:
    docs = {
        p.parent.name: json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*/metrics.json")
    }
    docs[RUN] = RUN_INFO
    return docs


class ProseParser(HTMLParser):
    """Collects each prose element of the page (paragraphs, list items, headings, captions):
    its quoted numbers and its other numbers. Labels (section, figure and task numbers) and
    code are not prose; table cells and preformatted text are data."""

    PROSE_TAGS = frozenset({"p", "li", "h1", "h2", "h3", "h4", "caption", "figcaption"})

    def __init__(self):
        super().__init__()
        self.items: list[dict] = []
        self.in_main = False
        self.depth = 0  # inside a prose element
        self.quote: dict | None = None
        self.in_code = 0
        self.spans: list[str] = []  # the class of each open span

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "main":
            self.in_main = True
        elif self.in_main and tag in self.PROSE_TAGS:
            if not self.depth:
                self.items.append({"quotes": [], "free": [], "text": ""})
            self.depth += 1
        elif self.depth and tag == "span":
            self.spans.append("num" if "num" in classes else "label" if "label" in classes else "")
            if "num" in classes:
                self.quote = {
                    "source": attrs["data-source"],
                    "path": attrs["data-path"],
                    "text": "",
                }
        elif self.depth and tag == "code":
            self.in_code += 1

    def handle_endtag(self, tag):
        if tag == "main":
            self.in_main = False
        elif self.depth and tag == "span" and self.spans:
            if self.spans.pop() == "num":
                self.items[-1]["quotes"].append(self.quote)
                self.quote = None
        elif self.depth and tag == "code":
            self.in_code -= 1
        elif self.depth and tag in self.PROSE_TAGS:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            return
        self.items[-1]["text"] += data
        if self.quote is not None:
            self.quote["text"] += data
        elif not self.in_code and "label" not in self.spans:
            self.items[-1]["free"].extend(NUMBER.findall(data))


def parse_prose(html: str) -> list[dict]:
    parser = ProseParser()
    parser.feed(html)
    return parser.items


def as_float(text: str) -> float:
    return float(text.replace(MINUS, "-").replace(",", ""))


def check_numbers(out: Path) -> list[str]:
    """Problems with the numbers in the page's prose; empty when every number is a metric."""
    docs = metrics_of(out)
    problems = []
    items = parse_prose((out / "report.html").read_text(encoding="utf-8"))
    for item in items:
        for number in item["free"]:
            problems.append(f"number {number!r} not quoted from a metric in: {item['text']!r}")
        for quote in item["quotes"]:
            _, value = resolve(docs[quote["source"]], quote["path"])
            text = quote["text"]
            # Printed value must be the metric rounded: within half a unit of its last digit.
            mantissa = text.split("e")[0] if "e" in text else text
            decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
            scale = 10 ** int(text.split("e")[1].replace(MINUS, "-")) if "e" in text else 1
            if abs(as_float(text) - float(value)) > 0.5 * 10**-decimals * scale + 1e-12:
                problems.append(f"{quote['path']}: prose says {text}, metrics say {value}")
    return problems


def test_prose_was_found_and_quotes_numbers(out):
    items = parse_prose((out / "report.html").read_text(encoding="utf-8"))
    assert len(items) > 10
    assert sum(len(item["quotes"]) for item in items) > 30


def test_every_number_in_the_prose_equals_the_metric(out):
    assert check_numbers(out) == []


def test_record_matches_metrics_json(out):
    docs = metrics_of(out)
    record = build_document(out, **RUN_INFO).quotes
    assert record
    for quote in record:
        pointer, value = resolve(docs[quote.source], quote.path)
        assert pointer == quote.path and value == quote.value, quote.path
        assert quote.text == format_number(quote.value, quote.fmt)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def labels_of(html: str) -> set[str]:
    """Section, figure and task numbers: structure, exempt from the quote rule."""
    return set(re.findall(r'<span class="label">([^<]*)</span>', html))


def test_markdown_prose_numbers_are_all_in_the_record(out):
    record = {quote.text for quote in build_document(out, **RUN_INFO).quotes}
    labels = {n for label in labels_of(read(out / "report.html")) for n in NUMBER.findall(label)}
    markdown = (out / "report.md").read_text(encoding="utf-8")
    checked, in_code = 0, False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.strip() or line.lstrip().startswith(("|", "<", "![", "```")):
            continue
        checked += 1
        for number in NUMBER.findall(re.sub(r"`[^`]*`", "", line)):
            assert number in record or number in labels, f"{number} in {line!r}"
    assert checked > 50


def test_a_typed_in_number_is_caught(out, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    html = (copy / "report.html").read_text(encoding="utf-8")
    first = re.search(r'<span class="num"[^>]*>([^<]+)</span>', html)
    tampered = html[: first.start()] + "0.123" + html[first.end() :]
    (copy / "report.html").write_text(tampered, encoding="utf-8")
    assert any("0.123" in problem for problem in check_numbers(copy))
    wrong_value = re.sub(r'(<span class="num"[^>]*>)0\.97(</span>)', r"\g<1>0.91\2", html)
    assert wrong_value != html
    (copy / "report.html").write_text(wrong_value, encoding="utf-8")
    assert any("prose says 0.91" in problem for problem in check_numbers(copy))


def test_a_changed_metric_changes_the_page(out, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(out / "task1", copy / "task1")
    metrics = json.loads((copy / "task1" / "metrics.json").read_text(encoding="utf-8"))
    metrics["chosen_k"]["accuracy"] = 0.123456
    (copy / "task1" / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    write_report(copy)
    html = (copy / "report.html").read_text(encoding="utf-8")
    assert 'data-path="/chosen_k/accuracy">0.12<' in html
    assert check_numbers(copy) == []


@pytest.fixture
def templates(tmp_path, monkeypatch):
    """A copy of the templates that the report then reads: a test may type into it."""
    folder = tmp_path / "templates"
    shutil.copytree(Path(_render.__file__).parent / "templates", folder)
    monkeypatch.setattr(_render._ENVIRONMENT, "loader", FileSystemLoader(folder))
    monkeypatch.setattr(_render._ENVIRONMENT, "cache", None)
    return folder


@pytest.mark.parametrize(
    "old, new",
    [
        ("**Answer.** Small k follows", "**Answer.** The best k is 16. Small k follows"),
        ('"Training set."', '"Training set of 900 points."'),  # a caption
        ('"1.3", "The k sweep"', '"1.3", "The k sweep, 1 to 900"'),  # a title
    ],
    ids=["sentence", "caption", "title"],
)
def test_a_number_typed_into_a_template_fails_the_report(out, tmp_path, templates, old, new):
    source = (templates / "task1.md.j2").read_text(encoding="utf-8")
    assert old in source
    (templates / "task1.md.j2").write_text(source.replace(old, new, 1), encoding="utf-8")
    shutil.copytree(out / "task1", tmp_path / "results" / "task1")
    with pytest.raises(ReportError, match=r"^the task1 section failed: ValueError: a number not"):
        write_report(tmp_path / "results")
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["task1"]


def section_ids(tasks) -> list[str]:
    return [*tasks, "differences", "settings"]


def test_html_and_markdown_have_every_section(out):
    html = (out / "report.html").read_text(encoding="utf-8")
    markdown = (out / "report.md").read_text(encoding="utf-8")
    headings = build_document(out, **RUN_INFO).headings
    assert [id for id, level, _ in headings if level == 2] == section_ids(list(TASKS))
    assert len(headings) > len(TASKS) + 10  # the tasks' subsections
    for id, _, title in headings:
        assert f'<a id="{id}"></a>' in html and f'href="#{id}"' in html
        assert f'<a id="{id}"></a>' in markdown and f"(#{id})" in markdown
        assert title in markdown
    for title in ("Where this report differs from the sheet", "Settings, versions and time"):
        assert title in html and title in markdown
    for library in ("numpy", "scipy", "scikit-learn", "matplotlib", "python", "scratchlearn"):
        assert f"<td>{library}</td>" in html and f"| {library} |" in markdown
    assert "12.3" in html and "12.3" in markdown  # the total time passed in
    # The explorer (another page of the run) is linked exactly when it is there.
    assert ('href="explorer.html"' in html) == (out / "explorer.html").is_file()


def test_contents_and_settings_of_both_renderings(out):
    # Built here, not read from the fixture's files: what this test checks is its own call.
    document = build_document(out, **RUN_INFO)
    # The contents are a navigation landmark in HTML; Markdown has no such element.
    assert document.html_body.count('<nav class="toc"') == 1
    assert "<nav" not in document.markdown and document.markdown.count("Contents") == 1
    # Each task's settings table lists every setting that has a value, as it has it.
    for name, metrics in metrics_of(out).items():
        for key, value in metrics.get("config", {}).items():
            if isinstance(value, int | str):  # bool too
                assert f"| {key} | {value} |" in document.markdown, (name, key)


def test_negative_numbers_take_a_minus_sign():
    assert format_number(-1.25, ".2f") == MINUS + format(1.25, ".2f")
    assert format_number(2.5e-7, ".1e") == format(2.5e-7, ".1e").replace("-", MINUS)
    assert "-" not in format_number(-2.5e-7, ".1e")


def test_paths_are_resolved_to_json_pointers():
    # RFC 6901: "~" is written "~0" and "/" in a key "~1"; negative indices count from the end.
    document = {"a/b": {"~c": [10, 20, 30]}}
    assert resolve(document, "a~1b/~0c/-1") == ("/a~1b/~0c/2", 30)
    assert resolve(document, "/a~1b/~0c/0") == ("/a~1b/~0c/0", 10)
    with pytest.raises(KeyError, match="a/b"):
        resolve(document, "a/b")


def test_the_explorer_is_linked_when_it_exists(out, tmp_path):
    shutil.copytree(out / "task1", tmp_path / "task1")
    (tmp_path / "explorer.html").write_text("<!DOCTYPE html>", encoding="utf-8")
    write_report(tmp_path)
    assert '<a href="explorer.html">' in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "](explorer.html)" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_task1_answers_the_sheet(out):
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "How does the decision boundary change with k?" in html
    assert "What happens if k equals the number of training samples?" in html
    metrics = json.loads((out / "task1" / "metrics.json").read_text())
    answer = metrics["k_equals_n_train"]
    assert f"predicts class <code>{answer['majority_class']}</code> everywhere" in html
    assert f'data-path="/k_equals_n_train/test_accuracy">{answer["test_accuracy"]:.2f}<' in html


ITEM = r"<li><strong>(.*?)\.</strong>(.*?)</li>"


def differences(out: Path) -> dict[str, list[tuple[str, str]]]:
    """The items of "Where this report differs from the sheet": task title → (item title,
    what the page says "Here"), as HTML."""
    html = (out / "report.html").read_text(encoding="utf-8")
    section = html[html.index('<a id="differences">') : html.index('<a id="settings">')]
    blocks = re.findall(
        r'<p><strong><span class="label">[^<]*</span> ([^<]*)</strong></p>\s*<ul>(.*?)</ul>',
        section,
        re.DOTALL,
    )
    return {
        title: [
            (name, text.split("Here:", 1)[1])
            for name, text in re.findall(
                r"<li><strong>(.*?)\.</strong>(.*?)</li>", items, re.DOTALL
            )
        ]
        for title, items in blocks
    }


def test_one_difference_item_per_task1_defect(out):
    task1_items = differences(out)["k-nearest neighbours on two moons"]
    titles = [title for title, _ in task1_items]
    assert titles == [
        "k = N_train",
        "Decision-boundary plots",
        "predict_probs",
        "&quot;p(c)&quot;",
        "p(x_n|c)",
        "Speed",
        "Not reproducible",
    ]
    assert all('class="num"' in here for title, here in task1_items if title != "Not reproducible")


# READING.md's defects of Tasks 2 and 3 (the rounding, the fit, the explanation; the gradient,
# its sum, the unfinished routine): one item each, each with measured numbers.
@pytest.mark.parametrize(
    "task, title, count",
    [
        ("task2", "least squares and one outlier", 3),
        ("task3", "softmax regression and its optimisers", 3),
    ],
)
def test_one_difference_item_per_defect_of_tasks_2_and_3(out, task, title, count):
    if task not in TASKS:
        pytest.skip(f"{task} is not part of this checkout")
    items = differences(out)[title]
    assert len(items) == count
    assert all('class="num"' in here for _, here in items)


def image_links(out: Path) -> list[str]:
    html = (out / "report.html").read_text(encoding="utf-8")
    markdown = (out / "report.md").read_text(encoding="utf-8")
    return re.findall(r'<img src="([^"]+)"', html) + re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)


def test_image_links_are_relative_and_resolve(out):
    links = image_links(out)
    assert len(links) >= 12
    for link in links:
        assert not link.startswith(("/", "http:", "https:", "file:")), link
        assert (out / link).is_file(), link
    for task in TASKS:
        shown = {link for link in links if link.startswith(f"{task}/")}
        assert shown, f"no figure of {task} in the report"


def test_report_with_task1_only(tmp_path, out):
    shutil.copytree(out / "task1", tmp_path / "task1")
    write_report(tmp_path)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert 'id="task1"' in html and 'id="task2"' not in html and 'id="task3"' not in html
    assert "## Task 1" in markdown and "## Task 2" not in markdown
    assert "explorer.html" not in html and "explorer.html" not in markdown
    assert check_numbers(tmp_path) == []
    assert all((tmp_path / link).is_file() for link in image_links(tmp_path))
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


@pytest.mark.parametrize(
    "text, cause",
    # A key the template needs and the results lack: StrictUndefined fails the section.
    [('{"unexpected": 1}', UndefinedError), ("[1, 2]", TypeError), ('{"k_sweep": ', ValueError)],
    ids=["other-keys", "not-an-object", "truncated"],
)
def test_results_it_cannot_read_fail_the_report_naming_the_task(tmp_path, out, text, cause):
    shutil.copytree(out / "task1", tmp_path / "task1")
    (tmp_path / "task2").mkdir()
    (tmp_path / "task2" / "metrics.json").write_text(text)
    with pytest.raises(ReportError, match=r"^the task2 section failed: ") as caught:
        write_report(tmp_path)
    assert caught.value.task == "task2" and isinstance(caught.value.__cause__, cause)
    # No page at all rather than a page with a note where the section should be.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["task1", "task2"]


def test_empty_folder_gives_a_valid_report(tmp_path):
    path = write_report(tmp_path)
    assert path == tmp_path / "report.html"
    assert "Settings, versions and time" in path.read_text(encoding="utf-8")
