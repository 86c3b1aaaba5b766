"""Quoted numbers, and the check that a rendered text holds no other number.

A template prints a metric with ``q("k_sweep/0/accuracy", ".2f")``: the call records a
:class:`Quote` (the metric's JSON Pointer, its value and its format) and prints the value
between markers. Before the markers are removed, :func:`unquoted_numbers` finds any number in
the prose that is not inside one: a number typed into a template fails the report.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ._inert import original

#: Source name of numbers measured by the CLI around the run (times), not by a task.
RUN = "run"
MINUS = "\N{MINUS SIGN}"  # typographic minus in printed numbers
# Markers, removed from the output: a quote (its index in the record, then its text), a
# label (section, figure and task numbers: structure, not results) and, around everything a
# template prints with {{ ... }}, an expression (tests trace each sentence to its template).
QUOTE = re.compile("\x02(\\d+)\x03([^\x04]*)\x04")
LABEL = re.compile("\x05([^\x06]*)\x06")
EXPRESSION = re.compile("[\x0e\x0f]")
# A number as prose prints it: not part of a name (x1, task1, k_sweep).
NUMBER = re.compile(
    rf"(?<![\w.])[{MINUS}-]?(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?(?:e[{MINUS}+-]?\d+)?(?!\w)"
)


def format_number(value: Any, fmt: str) -> str:
    """``format(value, fmt)`` with a typographic minus; the one formatter of quoted numbers."""
    return format(value, fmt).replace("-", MINUS)


def fmt_cell(value: Any, fmt: str) -> str:
    """A table cell: formatted number, or the value as text; missing values stay empty."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if fmt == "d" and isinstance(value, float):
        fmt = ".0f"
    return format_number(value, fmt)


@dataclass(frozen=True)
class Quote:
    """A number quoted from ``source`` (a task's metrics, or the run) at JSON Pointer ``path``."""

    source: str
    path: str
    value: Any
    fmt: str

    @property
    def text(self) -> str:
        return format_number(self.value, self.fmt)


def resolve(document: Any, path: str) -> tuple[str, Any]:
    """The canonical JSON Pointer of ``path`` (``a/0/b`` or ``/a/-1/b``: negative indices
    count from the end) and the value there; KeyError naming the path if absent."""
    value, tokens = document, []
    for token in path.strip("/").split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        try:
            if isinstance(value, list):
                index = int(key)
                value, key = value[index], str(index % len(value))
            else:
                value = value[key]
        except (KeyError, IndexError, ValueError, TypeError):
            raise KeyError(f"no {path!r} in the metrics") from None
        tokens.append(key.replace("~", "~0").replace("/", "~1"))
    return "/" + "/".join(tokens), value


class Record:
    """The quotes of one rendering, in reading order."""

    def __init__(self) -> None:
        self.quotes: list[Quote] = []

    def quoter(self, source: str, document: Any):
        """``q(path, fmt)`` for templates: quote the value at ``path`` of ``document``."""

        def q(path: str, fmt: str = "g") -> str:
            # A key in ``path`` may be an inert value (``_inert``): look it up as it was read.
            pointer, value = resolve(document, original(path))
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{source}: {pointer} is not a number: {value!r}")
            self.quotes.append(Quote(source, pointer, value, fmt))
            return f"\x02{len(self.quotes) - 1}\x03{self.quotes[-1].text}\x04"

        return q


def label(text: str) -> str:
    """A section, figure or task number: printed as it is, exempt from the quote rule."""
    return f"\x05{text}\x06"


def unquoted_numbers(markdown: str) -> list[str]:
    """``'number' in: line`` for each number of the prose outside a quote (code, tables and
    figure links are not prose)."""
    found, fence = [], ""  # the open code block's fence
    for line in EXPRESSION.sub("", markdown).splitlines():
        ticks = re.match("`{3,}", line)
        if fence:
            if ticks and len(ticks[0]) >= len(fence) and not line[ticks.end() :].strip():
                fence = ""  # a line of at least as many backticks closes it
            continue
        if ticks:
            fence = ticks[0]
            continue
        if line.lstrip().startswith(("|", "<", "![")):
            continue
        text = re.sub(r"`[^`]*`", "", LABEL.sub("", QUOTE.sub("", line)))
        found += [f"{number!r} in: {line!r}" for number in NUMBER.findall(text)]
    return found


def plain(text: str, render_quote=None) -> str:
    """``text`` without markers: each quote as its text, or as ``render_quote(quote index,
    text)``; labels as their text."""
    text = EXPRESSION.sub("", text)
    if render_quote is None:
        text = QUOTE.sub(r"\2", text)
    else:
        text = QUOTE.sub(lambda m: render_quote(int(m.group(1)), m.group(2)), text)
    return LABEL.sub(r"\1", text)
