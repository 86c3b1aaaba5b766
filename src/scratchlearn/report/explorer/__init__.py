"""``explorer.html``: sliders over the settings of the three tasks, from the run's own values.

The experiments compute what the page shows (``results["explorer"]``); :func:`task_explorer`
shapes a task's for the page (``_data``: rounded, nested lists, as ``_schema`` documents) and
the CLI writes it as ``explorer.json`` in the task's folder. :func:`write_explorer` embeds
those files in the page (a ``<script type="application/json">`` block, so that it works from
``file://``, where browsers refuse to ``fetch`` local files) and writes plotly's bundled
``plotly.min.js`` beside it, the one file the page loads.

The page is the Jinja template ``templates/explorer.html.j2``, with a section per task
(``templates/task1.html.j2``, ...); its style (``explorer.css``) and script (``explorer.js``)
are inlined when it is built. The script only looks values up and hands them to
``Plotly.react``; it computes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from ...experiments import TASK_NAMES
from ._data import EXPLORERS

EXPLORER_HTML = "explorer.html"
PLOTLY_JS = "plotly.min.js"
DATA_FILE = "explorer.json"

_ENVIRONMENT = Environment(
    loader=PackageLoader(__name__, "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def task_explorer(task: str, results: Mapping[str, Any]) -> dict | None:
    """What the page shows for ``task``, shaped from its results (``explorer.json``'s
    content); None for a task without a section on the page."""
    return EXPLORERS[task](results) if task in EXPLORERS else None


def explorer_json(explorer: dict) -> str:
    """A task's explorer data as compact JSON (strict: no NaN or infinity)."""
    return json.dumps(explorer, allow_nan=False, separators=(",", ":"))


def load_explorer_data(out_dir: Path) -> dict[str, dict]:
    """Every task's ``explorer.json`` found in ``out_dir``, by task name, in task order."""
    found = {}
    for task in TASK_NAMES:
        path = Path(out_dir) / task / DATA_FILE
        if path.is_file():
            found[task] = json.loads(path.read_bytes())  # JSON: its encoding detected
    return found


def _static(name: str) -> Markup:
    """A file of ``templates/`` as it is (not a template), to inline in the page."""
    source, _, _ = _ENVIRONMENT.loader.get_source(_ENVIRONMENT, name)
    return Markup(source)


def render_explorer(data: dict[str, dict]) -> str:
    """The page for ``data`` (task name → explorer data)."""
    # "<" escaped inside strings: the JSON cannot close its <script> element.
    payload = json.dumps(data, allow_nan=False, separators=(",", ":")).replace("<", "\\u003c")
    return _ENVIRONMENT.get_template("explorer.html.j2").render(
        tasks=[task for task in data if task in EXPLORERS],
        data=Markup(payload),
        css=_static("explorer.css"),
        js=_static("explorer.js"),
    )


def write_explorer(out_dir: Path) -> Path:
    """Write ``explorer.html`` and ``plotly.min.js`` into ``out_dir`` (a generation folder),
    from the ``explorer.json`` of each task there. Returns the page's path."""
    from plotly.offline import get_plotlyjs

    out_dir = Path(out_dir)
    page = out_dir / EXPLORER_HTML
    (out_dir / PLOTLY_JS).write_text(get_plotlyjs(), encoding="utf-8")
    page.write_text(render_explorer(load_explorer_data(out_dir)), encoding="utf-8")
    return page


__all__ = [
    "DATA_FILE",
    "EXPLORERS",
    "EXPLORER_HTML",
    "PLOTLY_JS",
    "explorer_json",
    "load_explorer_data",
    "render_explorer",
    "task_explorer",
    "write_explorer",
]
