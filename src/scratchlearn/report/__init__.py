"""The report: the written results of a run → ``report.html`` and ``report.md``.

The report reads only what the run wrote (``<out>/<task>/metrics.json`` and the figures), so
it can be rebuilt from a results folder at any time. The words are Jinja templates in
``templates/``, written in Markdown: ``page.md.j2`` lays out the page and each task has its
own section template (``task1.md.j2``, ...), whose ``differences`` macro gives its items of
"Where this report differs from the sheet". A number in the text is a template call,
``{{ q("k_sweep/0/accuracy", ".2f") }}``, that records a :class:`~._quote.Quote` and prints
it; a number typed into a template fails the report. The same templates give the Markdown
and, converted by markdown-it-py, the HTML (``report.html.j2`` is its frame).

Beside its metrics, each task's folder holds files the report shapes from the task's results
when the CLI writes them (:func:`task_files`): the text tables (``texts``) and what the
explorer page shows (``explorer.json``, see ``explorer``).

The report is built strictly: a section that cannot be built (a bug in a template, or a
``metrics.json`` it does not understand) raises :class:`ReportError` and no page is written.

**What becomes markup.** Only the known tasks (``experiments.TASK_NAMES``) become sections;
any other folder under the results is not read. In the HTML page only the templates' own
text becomes markup: their Markdown and their few HTML pieces (``_blocks.j2``: figures,
tables, folded text, anchors). Everything the templates print from the results folder
(metrics.json strings and keys, such as labels, settings, solver names or classification
reports; the text files folded in; file names of figures and models; and the run's
times and versions) enters the HTML rendering inert: each character that Markdown or
HTML could read as syntax is a private-use stand-in (``_inert``), so neither the
templates nor markdown-it can parse any of it, wherever it is printed. Once markdown-it
has made the page, each stand-in becomes its character, HTML-escaped. Escaping each value
for its context instead (HTML here, Markdown there, a code span elsewhere) would be one
rule per place a template prints, which a new template could forget; this is one rule at
the entrance. ``report.md`` is the Markdown source, with the values as they were read.
"""

from __future__ import annotations

import functools
import hashlib
import html as html_lib
import json
import os
import platform
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .._version import __version__
from ..experiments import TASK_NAMES
from ._inert import original
from ._quote import EXPRESSION, RUN, Quote, plain, unquoted_numbers
from ._render import _ENVIRONMENT, Rendering, tidy, to_html
from .explorer import DATA_FILE, explorer_json, task_explorer
from .texts import TEXTS

LIBRARIES = ("numpy", "scipy", "scikit-learn", "matplotlib", "jinja2", "scratchlearn")
# Per-k decision-region files duplicate the grid figure; the report shows the grid only.
_NOT_IN_GALLERY = re.compile(r"decision_regions_k\d+$")
_HEADING = re.compile(r'^<a id="([^"]+)"></a>\n\n(#{2,3}) (.+)$', re.MULTILINE)


def _headings(markdown: str) -> list[re.Match]:
    """The section headings (each after its anchor) of a rendering, markers kept but for
    the expression markers."""
    return list(_HEADING.finditer(EXPRESSION.sub("", markdown)))


#: Name prefix of the HTML ``<meta>`` tags (and Markdown comments) recording the metrics.
METRICS_META = "scratchlearn-metrics-"


class ReportError(Exception):
    """A task's section could not be built; raised from the error that stopped it."""

    def __init__(self, task: str, error: BaseException):
        self.task = task
        # Results carried over from an older scratchlearn are the likely cause outside tests.
        super().__init__(
            f"the {task} section failed: {type(error).__name__}: {error} (if its results "
            f"come from an older scratchlearn, rerun it: scratchlearn run {task})"
        )


@dataclass
class TaskText:
    """A task's rendered section, its title and its items for the differences section."""

    task: str
    number: str  # e.g. "Task 1:", a label
    title: str
    section: str
    differences: str = ""


def _template_section(rendering: Rendering, task: str, metrics: Any, run: dict) -> TaskText:
    if not isinstance(metrics, dict):
        raise TypeError(f"{task}/metrics.json is not a JSON object")
    module = rendering.module(
        f"{task}.md.j2",
        task=task,
        m=metrics,
        q=rendering.record.quoter(task, metrics),
        run=run,
        run_q=rendering.record.quoter(RUN, run),
    )
    heading = _headings(str(module))[0]
    number, title = heading.group(3).split("\x06", 1)
    return TaskText(
        task, plain(number + "\x06"), title.strip(), str(module), str(module.differences())
    )


#: Task name → section builder ``(rendering, task, metrics, run) -> TaskText``, in the
#: sheet's order: one per task the CLI runs.
SECTIONS: dict[str, Callable[..., TaskText]] = {name: _template_section for name in TASK_NAMES}


def task_folders(out_dir: Path) -> dict[str, Path]:
    """The known tasks (``SECTIONS``) with a ``metrics.json`` in ``out_dir``, in the sheet's
    order; any other folder is not the report's."""
    folders = {name: out_dir / name for name in SECTIONS}
    return {name: folder for name, folder in folders.items() if (folder / "metrics.json").is_file()}


def task_files(task: str, results: Mapping[str, Any]) -> dict[str, str]:
    """The files shaped from a task's results, name → text: its text tables and its
    ``explorer.json``; none for a task the report has no view of."""
    files = TEXTS[task](results) if task in TEXTS else {}
    explorer = task_explorer(task, results)
    if explorer is not None:
        files[DATA_FILE] = explorer_json(explorer)
    return files


def library_versions() -> dict[str, str]:
    """Versions of Python and the main libraries, as installed."""
    return dict(_installed_versions())


@functools.cache  # reading the installed metadata takes 10 ms; it does not change in a process
def _installed_versions() -> tuple[tuple[str, str], ...]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return tuple(versions.items())


@dataclass
class Document:
    """The report, rendered: Markdown, the HTML body, and the record of what they quote."""

    markdown: str
    html_body: str
    quotes: list[Quote]
    traced: str  # the Markdown with its markers: quotes, labels, template expressions
    headings: list[tuple[str, int, str]] = field(default_factory=list)  # (id, level, title)


def _task_text(rendering: Rendering, out_dir: Path, name: str, metrics: Any, run: dict):
    # Every error, not a chosen few: each is a defect to fix, not a page to ship.
    try:
        text = SECTIONS[name](rendering, name, metrics, run)
        problems = unquoted_numbers(original(text.section + text.differences))
        if problems:
            raise ValueError("a number not quoted from a metric: " + problems[0])
    except Exception as error:
        raise ReportError(name, error) from error
    shown = {original(src) for src in rendering.figures}
    extra = [
        f"{name}/{png.name}"
        for png in sorted((out_dir / name).glob("*.png"))
        if f"{name}/{png.name}" not in shown and not _NOT_IN_GALLERY.match(png.stem)
    ]
    if extra:  # file names are values too
        figures = rendering.value(extra)
        text.section += rendering.render("_gallery.md.j2", task=name, figures=figures)
    return text


def _contents(page: str) -> str:
    lines = ["## Contents", ""]
    for match in _headings(page):
        indent = "  " * (len(match.group(2)) - 2)
        lines.append(f"{indent}- [{match.group(3)}](#{match.group(1)})")
    return "\n".join(lines) + "\n"


def _render_page(out_dir: Path, target: str, documents: dict[str, Any], run: dict) -> Rendering:
    rendering = Rendering(out_dir, target)
    # What the templates get from the results folder, inert in the HTML rendering.
    documents, run = rendering.value(documents), rendering.value(run)
    tasks = [_task_text(rendering, out_dir, n, d, run) for n, d in documents.items()]
    saved = [
        f"{task}/models/{path.name}"
        for task in documents
        for path in sorted((out_dir / task / "models").glob("*.npz"))
    ]
    model_folders = list(dict.fromkeys(path.rsplit("/", 1)[0] + "/" for path in saved))
    configs = {
        name: d["config"]
        for name, d in documents.items()
        if isinstance(d, dict) and isinstance(d.get("config"), dict)
    }
    page = rendering.render(
        "page.md.j2",
        tasks=tasks,
        run=run,
        run_q=rendering.record.quoter(RUN, run),
        saved=rendering.value(saved),
        model_folders=rendering.value(model_folders),
        configs=configs,
        versions=rendering.value(library_versions()),
        explorer=(out_dir / "explorer.html").is_file(),
    )
    problems = unquoted_numbers(original(page))
    if problems:
        raise ValueError("the page has a number not quoted from a metric: " + problems[0])
    contents = _contents(page)
    if target == "html":
        contents = f'<nav class="toc" aria-label="Contents">\n\n{contents}\n</nav>\n'
    rendering.page = page.replace("<!-- contents -->", contents, 1)
    return rendering


def build_document(
    out_dir: Path,
    *,
    total_seconds: float | None = None,
    task_seconds: Mapping[str, float] | None = None,
) -> Document:
    """The report, from the results in ``out_dir``.

    ``total_seconds`` and ``task_seconds`` are measured by the caller: timings vary from run
    to run, so they are not part of ``metrics.json``. Raises :class:`ReportError` when a
    task's section cannot be built.
    """
    out_dir = Path(out_dir)
    run: dict[str, Any] = {}
    if total_seconds is not None:
        run["total_seconds"] = float(total_seconds)
    if task_seconds:
        run["task_seconds"] = {name: float(s) for name, s in task_seconds.items()}
    documents: dict[str, Any] = {}
    for name, folder in task_folders(out_dir).items():
        try:
            documents[name] = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        except ValueError as error:  # e.g. a truncated file
            raise ReportError(name, error) from error
    markdown = _render_page(out_dir, "md", documents, run)
    html = _render_page(out_dir, "html", documents, run)
    headings = [(m.group(1), len(m.group(2)), plain(m.group(3))) for m in _headings(markdown.page)]
    return Document(
        tidy(plain(markdown.page)),
        to_html(html.page, html.record),
        markdown.record.quotes,
        markdown.page,
        headings,
    )


def _write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, then rename it into place."""
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}-", delete=False
    )
    try:
        with handle:
            handle.write(text)
        os.chmod(handle.name, 0o644)  # readable like the other results
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def metrics_digests(out_dir: Path | str) -> dict[str, str]:
    """SHA-256 of each task's ``metrics.json`` in ``out_dir``, as the report records them."""
    return {
        name: hashlib.sha256((folder / "metrics.json").read_bytes()).hexdigest()
        for name, folder in task_folders(Path(out_dir)).items()
    }


def write_report(
    out_dir: Path | str,
    *,
    total_seconds: float | None = None,
    task_seconds: Mapping[str, float] | None = None,
) -> Path:
    """Write ``report.html`` and ``report.md`` into ``out_dir``; return the HTML path.

    Both record the SHA-256 of each ``metrics.json`` they describe (``<meta
    name="scratchlearn-metrics-TASK" content="sha256:...">`` in the HTML, a comment at the end
    of the Markdown), so a reader can check that the report matches the files beside it.
    Raises :class:`ReportError`, writing nothing, when a task's section cannot be built.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    digests = metrics_digests(out_dir)
    document = build_document(out_dir, total_seconds=total_seconds, task_seconds=task_seconds)
    if metrics_digests(out_dir) != digests:  # the record must be of the files read
        raise ValueError(f"metrics.json files in {out_dir} changed while the report was built")
    names = {name: html_lib.escape(name) for name in digests}
    html = _ENVIRONMENT.get_template("report.html.j2").render(
        title=document.markdown.split("\n", 1)[0][2:],
        body=document.html_body,
        version=__version__,
        digests=digests,
        names=names,
    )
    markdown = document.markdown + "".join(
        f"<!-- {METRICS_META}{names[n]} sha256:{d} -->\n" for n, d in digests.items()
    )
    _write_atomic(out_dir / "report.md", markdown)
    _write_atomic(out_dir / "report.html", re.sub("[\x0e\x0f]", "", html))
    return out_dir / "report.html"


__all__ = [
    "METRICS_META",
    "SECTIONS",
    "ReportError",
    "build_document",
    "library_versions",
    "metrics_digests",
    "task_files",
    "write_report",
]
