"""The report: the written results of a run → ``report.html`` and ``report.md``.

The report reads only what the run wrote (``<out>/<task>/metrics.json`` and the figures), so
it can be rebuilt from a results folder at any time. Each task contributes a section built by
its own module (:mod:`.task1`, :mod:`.task2`, :mod:`.task3`); a task's section appears only
when its ``metrics.json`` exists. Every number in the generated prose is a
:class:`~._model.Quote` of a metric, so tests can check it against ``metrics.json``.

The report is built strictly: a section that cannot be built (a bug in report code, or a
``metrics.json`` it does not understand) raises :class:`ReportError` and no page is written,
so a defect fails the run instead of shipping a page with a note in place of a section.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import json
import os
import platform
import re
import tempfile
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from . import task1, task2, task3
from ._model import (
    RUN,
    DefectList,
    Document,
    Figure,
    FigureRow,
    Math,
    Metrics,
    Prose,
    Section,
    Table,
    TaskReport,
    prose,
)
from ._render import render_html, render_markdown
from ._util import fmt_cell

#: Task name → section builder ``(out_dir, metrics, run) -> TaskReport``, in the sheet's order.
SECTIONS: dict[str, Callable[[Path, dict, Metrics], TaskReport]] = {
    "task1": task1.build,
    "task2": task2.build,
    "task3": task3.build,
}
LIBRARIES = ("numpy", "scipy", "scikit-learn", "matplotlib", "jinja2", "scratchlearn")
TITLE = "Exercise Sheet 2: Binary Classification, reproduced and corrected"
# Per-k decision-region files duplicate the grid figure; the report shows the grid only.
_NOT_IN_GALLERY = re.compile(r"decision_regions_k\d+$")


class ReportError(Exception):
    """A task's section could not be built; raised from the error that stopped it."""

    def __init__(self, task: str, error: BaseException):
        self.task = task
        # Results carried over from an older scratchlearn are the likely cause outside tests.
        super().__init__(
            f"the {task} section failed: {type(error).__name__}: {error} (if its results "
            f"come from an older scratchlearn, rerun it: scratchlearn run {task})"
        )


def task_folders(out_dir: Path) -> dict[str, Path]:
    """Tasks with a ``metrics.json`` in ``out_dir``: known ones in the sheet's order first."""
    found = {p.parent.name: p.parent for p in sorted(out_dir.glob("*/metrics.json"))}
    found = {name: path for name, path in found.items() if not name.startswith(".")}
    ordered = [name for name in SECTIONS if name in found]
    ordered += [name for name in found if name not in SECTIONS]
    return {name: found[name] for name in ordered}


def build_document(
    out_dir: Path,
    *,
    total_seconds: float | None = None,
    task_seconds: Mapping[str, float] | None = None,
) -> Document:
    """The report's content, from the results in ``out_dir``.

    ``total_seconds`` and ``task_seconds`` are measured by the caller: timings vary from run
    to run, so they are not part of ``metrics.json``. Raises :class:`ReportError` when a
    task's section cannot be built.
    """
    out_dir = Path(out_dir)
    run_info: dict[str, Any] = {}
    if total_seconds is not None:
        run_info["total_seconds"] = float(total_seconds)
    if task_seconds:
        run_info["task_seconds"] = {name: float(s) for name, s in task_seconds.items()}
    run = Metrics(RUN, run_info)

    reports: list[TaskReport] = []
    all_metrics: dict[str, dict] = {}
    for name, folder in task_folders(out_dir).items():
        try:
            metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        except ValueError as error:  # e.g. a truncated file
            raise ReportError(name, error) from error
        if isinstance(metrics, dict):
            all_metrics[name] = metrics
        reports.append(_task_report(out_dir, name, metrics, run))

    sections = [report.section for report in reports]
    defect_lists = [
        DefectList(report.section.title, report.defects) for report in reports if report.defects
    ]
    if defect_lists:
        sections.append(
            Section(
                "differences",
                "Where this report differs from the sheet",
                [
                    Prose(
                        [
                            "One item per defect of the sheet, each with what this run "
                            "measured instead."
                        ]
                    ),
                    *defect_lists,
                ],
            )
        )
    models = _models_section(out_dir, list(task_folders(out_dir)))
    if models is not None:
        sections.append(models)
    sections.append(_settings_section(all_metrics, run))
    intro = [_intro(reports)]
    return Document(TITLE, intro, sections)


def _task_report(out_dir: Path, name: str, metrics: Any, run: Metrics) -> TaskReport:
    builder = SECTIONS.get(name)
    if builder is None:  # a task without a section of its own (a plug-in): its figures only
        title = f"Task {name[4:]}" if name.startswith("task") else name
        report = TaskReport(name, Section(name, title, []))
    else:
        # Every error, not a chosen few: each is a defect to fix, not a page to ship.
        try:
            if not isinstance(metrics, dict):
                raise TypeError(f"{name}/metrics.json is not a JSON object")
            report = builder(out_dir, metrics, run)
        except Exception as error:
            raise ReportError(name, error) from error
    _add_gallery(out_dir, name, report.section)
    return report


def _referenced(section: Section) -> set[str]:
    found = set()
    for block in section.blocks:
        if isinstance(block, Figure):
            found.add(block.src)
        elif isinstance(block, FigureRow):
            found.update(figure.src for figure in block.figures)
    for subsection in section.subsections:
        found |= _referenced(subsection)
    return found


def _add_gallery(out_dir: Path, task: str, section: Section) -> None:
    """Figures the run wrote that the section does not show yet, so none goes missing."""
    shown = _referenced(section)
    extra = [
        Figure(f"{task}/{png.name}", png.stem.replace("_", " ").capitalize() + ".")
        for png in sorted((out_dir / task).glob("*.png"))
        if f"{task}/{png.name}" not in shown and not _NOT_IN_GALLERY.match(png.stem)
    ]
    if extra:
        section.subsections.append(
            Section(f"{task}-more-figures", "More figures from this task", list(extra))
        )


def _intro(reports: list[TaskReport]) -> Prose:
    # Titles without their "Task N:" prefix, so the intro holds no unquoted number.
    names = "; ".join(report.section.title.split(": ", 1)[-1] for report in reports)
    return Prose(
        [
            "This page answers the exercise sheet from the results of one run of "
            "scratchlearn (here: "
            + (names or "no task yet")
            + "). Every number in the text is read from the "
            "metrics.json files next to this page; the figures are the PNG files beside them."
        ]
    )


def library_versions() -> dict[str, str]:
    """Versions of Python and the main libraries, as installed."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _flatten(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_flatten(v) for v in value)
    if isinstance(value, dict):
        if all(isinstance(v, dict) for v in value.values()):  # e.g. settings per solver
            return "; ".join(f"{k}: {_flatten(v) or 'defaults'}" for k, v in value.items())
        return ", ".join(f"{k} = {_flatten(v)}" for k, v in value.items())
    return fmt_cell(value, "g") if isinstance(value, float) else str(value)


def _models_section(out_dir: Path, tasks: list[str]) -> Section | None:
    """Where ``run --save-models`` put the models and how to load one; None if it did not."""
    saved = [
        f"{task}/models/{path.name}"
        for task in tasks
        for path in sorted((out_dir / task / "models").glob("*.npz"))
    ]
    if not saved:
        return None
    folders = list(dict.fromkeys(path.rsplit("/", 1)[0] + "/" for path in saved))
    parts: list = ["This run saved its fitted models, one file per model, in "]
    for i, folder in enumerate(folders):
        parts += [(" and " if i == len(folders) - 1 else ", ") if i else "", Math(folder)]
    parts += [
        "; from the folder of this report, load one with ",
        Math(f'scratchlearn.load("{saved[0]}")'),
        ".",
    ]
    return Section("models", "Saved models", [Prose(parts)])


def _settings_section(all_metrics: dict[str, dict], run: Metrics) -> Section:
    blocks: list = []
    if run.has("total_seconds"):
        timing = prose("The run took {total} s in all", total=run.q(".1f", "total_seconds"))
        parts = list(timing.parts)
        per_task = run.get("task_seconds") if run.has("task_seconds") else {}
        if per_task:
            parts.append(" (")
            for i, name in enumerate(per_task):
                parts.append(f"{'; ' if i else ''}{name}: ")
                parts.append(run.q(".1f", "task_seconds", name))
                parts.append(" s")
            parts.append(")")
        parts.append(", figures included.")
        blocks.append(Prose(parts))
    versions = library_versions()
    blocks.append(
        Table(
            ["library", "version"],
            [[name, versions[name]] for name in versions],
            caption="Versions used for this report.",
            numeric=False,
            compact=True,
        )
    )
    for name, metrics in all_metrics.items():
        config = metrics.get("config")
        if not isinstance(config, dict):
            continue
        rows = [[key, _flatten(value)] for key, value in config.items() if value is not None]
        title = f"Task {name[4:]}" if name.startswith("task") else name
        blocks.append(
            Table(
                ["setting", "value"],
                rows,
                caption=f"{title}: settings of this run (config in {name}/metrics.json).",
                numeric=False,
                compact=True,
            )
        )
    return Section("settings", "Settings, versions and time", blocks)


def _figure_numbers(document: Document) -> dict[str, int]:
    numbers: dict[str, int] = {}

    def visit(section: Section) -> None:
        for block in section.blocks:
            figures = block.figures if isinstance(block, FigureRow) else [block]
            for figure in figures:
                if isinstance(figure, Figure) and figure.src not in numbers:
                    numbers[figure.src] = len(numbers) + 1
        for subsection in section.subsections:
            visit(subsection)

    for section in document.sections:
        visit(section)
    return numbers


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


#: Name prefix of the HTML ``<meta>`` tags (and Markdown comments) recording the metrics.
METRICS_META = "scratchlearn-metrics-"


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
    from .. import __version__

    html = render_html(document, version=__version__, figures=_figure_numbers(document))
    names = {name: html_lib.escape(name) for name in digests}
    html = html.replace(
        "</head>",
        "".join(
            f'<meta name="{METRICS_META}{names[n]}" content="sha256:{d}">\n'
            for n, d in digests.items()
        )
        + "</head>",
        1,
    )
    markdown = render_markdown(document) + "".join(
        f"<!-- {METRICS_META}{names[n]} sha256:{d} -->\n" for n, d in digests.items()
    )
    _write_atomic(out_dir / "report.md", markdown)
    _write_atomic(out_dir / "report.html", html)
    return out_dir / "report.html"


__all__ = [
    "METRICS_META",
    "SECTIONS",
    "ReportError",
    "build_document",
    "library_versions",
    "metrics_digests",
    "write_report",
]
