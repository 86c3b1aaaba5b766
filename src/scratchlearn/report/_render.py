"""One rendering of the templates, for Markdown or for HTML, and Markdown → HTML.

The templates are Markdown; the few HTML-only pieces (figures, tables, folded text) are
macros in ``templates/_blocks.j2`` that print differently when ``target`` is ``"html"``. The
HTML rendering is converted by markdown-it-py, then its quote markers become
``<span class="num" data-source=... data-path=...>`` and its labels ``<span class="label">``.
In the HTML rendering every value read from the results is inert (``_inert``) until the
page is HTML: the templates' text is the only markup.
"""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markdown_it import MarkdownIt

from ..experiments._schema.task1 import prediction_figure_stem
from ._inert import inert, original, restore
from ._quote import Record, fmt_cell, label, plain

_MD = MarkdownIt("commonmark", {"html": True})


def _mark(value: Any) -> str:
    """Every ``{{ ... }}`` prints between markers, so a test can tell template text apart."""
    return f"\x0e{value}\x0f"


def flatten(value: Any) -> str:
    """A setting as one table cell."""
    if isinstance(value, list | tuple):
        return ", ".join(flatten(v) for v in value)
    if isinstance(value, dict):
        if all(isinstance(v, dict) for v in value.values()):  # e.g. settings per solver
            return "; ".join(f"{k}: {flatten(v) or 'defaults'}" for k, v in value.items())
        return ", ".join(f"{k} = {flatten(v)}" for k, v in value.items())
    return fmt_cell(value, "g") if isinstance(value, float) else str(value)


def settings_rows(config: dict[str, Any]) -> list[list[str]]:
    """The rows of a settings table: each setting that has a value, as one cell."""
    # A function of its own, not a lambda in ``_environment``: that runs once, at import.
    return [[key, flatten(value)] for key, value in config.items() if value is not None]


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("scratchlearn.report", "templates"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_mark,
        extensions=["jinja2.ext.do"],
    )
    environment.filters["cell"] = fmt_cell
    environment.filters["settings"] = settings_rows
    return environment


_ENVIRONMENT = _environment()


class Rendering:
    """Renders templates for one ``target``, recording quotes and numbering figures."""

    def __init__(self, out_dir: Path, target: str):
        self.out_dir, self.target = out_dir, target
        self.record = Record()
        self.figures: dict[str, int] = {}

    def _figure_number(self, src: str) -> int:
        return self.figures.setdefault(src, len(self.figures) + 1)

    def _inline(self, text: str) -> str:
        """Inline Markdown (code spans) inside the HTML-only pieces."""
        return _MD.renderInline(text) if self.target == "html" else text

    def value(self, value: Any) -> Any:
        """A value read from the results, as the templates get it: inert for HTML."""
        return inert(value) if self.target == "html" else value

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "target": self.target,
            "label": label,
            "plain": plain,
            "inline": self._inline,
            "exists": lambda rel: (self.out_dir / original(rel)).is_file(),
            "read": lambda rel: self.value(
                (self.out_dir / original(rel)).read_text(encoding="utf-8").strip()
            ),
            "fence": code_fence,
            "figure_number": self._figure_number,
            "prediction_figure_stem": prediction_figure_stem,
            **extra,
        }

    def module(self, name: str, **extra: Any):
        """The template ``name`` rendered as a module: ``str()`` is its text, and its
        macros (e.g. ``differences``) render with the same context."""
        return _ENVIRONMENT.get_template(name).make_module(self.context(**extra))

    def render(self, name: str, **extra: Any) -> str:
        return _ENVIRONMENT.get_template(name).render(self.context(**extra))


def code_fence(text: str) -> str:
    """A run of backticks longer than any in ``text`` (at least three; inert ones counted, as
    the check for unquoted numbers reads them): a code block fenced by it holds ``text``."""
    longest = max((len(run) for run in re.findall("`+", original(text))), default=0)
    return "`" * max(3, longest + 1)


def tidy(markdown: str) -> str:
    """At most one blank line in a row, no trailing spaces, one final newline."""
    markdown = re.sub(r"[ \t]+\n", "\n", markdown)
    return re.sub(r"\n{3,}", "\n\n", markdown).strip("\n") + "\n"


def to_html(markdown: str, record: Record) -> str:
    """The HTML rendering's Markdown as HTML, quotes and labels as spans."""
    body = _MD.render(re.sub("[\x0e\x0f]", "", markdown))

    def span(index: int, text: str) -> str:
        quote = record.quotes[index]
        return (
            f'<span class="num" data-source="{html_lib.escape(quote.source)}" '
            f'data-path="{html_lib.escape(quote.path)}">{text}</span>'
        )

    body = re.sub("\x05([^\x06]*)\x06", r'<span class="label">\1</span>', body)
    body = plain(body, span)
    body = re.sub(
        r"<p><strong>(Question|Answer)\.</strong>",
        lambda m: f'<p class="{m.group(1).lower()}">{m.group(0)[3:]}',
        body,
    )
    return restore(body)  # the values, inert until now, as escaped text
