"""The report's building blocks: sections made of prose, tables, figures and text.

Every number in the prose is a :class:`Quote`: the metric's JSON Pointer, its value and the
format it is printed with. A report therefore carries its own record of what it quotes, which
the tests compare with ``metrics.json`` (see :func:`quotes`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Source name of numbers measured by the CLI around the run (times), not by a task.
RUN = "run"
MINUS = "\N{MINUS SIGN}"  # typographic minus in printed numbers


def format_number(value: Any, fmt: str) -> str:
    """``format(value, fmt)`` with a typographic minus; the one formatter of quoted numbers."""
    return format(value, fmt).replace("-", MINUS)


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


@dataclass(frozen=True)
class Math:
    """A formula or name printed as code, e.g. ``p(c=1|x)``; its digits are not quotes."""

    text: str


Part = str | Quote | Math


@dataclass
class Prose:
    """One paragraph (or list item) of generated text."""

    parts: list[Part]
    kind: str = "p"

    @property
    def quotes(self) -> list[Quote]:
        return [part for part in self.parts if isinstance(part, Quote)]

    def plain(self) -> str:
        """The text as a reader sees it (formulas included)."""
        return "".join(part if isinstance(part, str) else part.text for part in self.parts)


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""
    numeric: bool = True  # right-align the columns after the first ``left_columns``
    left_columns: int = 1
    groups: list[tuple[str, int]] | None = None  # a header row above: (label, columns spanned)
    compact: bool = False  # small tables flow side by side in the page


@dataclass
class Figure:
    src: str  # relative to the report, e.g. "task1/k_sweep.png"
    caption: str
    wide: bool = False


@dataclass
class FigureRow:
    """Figures shown side by side."""

    figures: list[Figure]


@dataclass
class Text:
    """Preformatted text, e.g. a classification report."""

    text: str
    caption: str = ""


@dataclass
class Bullets:
    items: list[Prose]


@dataclass
class Defect:
    """One item of "Where this report differs from the sheet"."""

    title: str
    sheet: Prose
    here: Prose


@dataclass
class DefectList:
    """The differences from the sheet for one task."""

    heading: str
    defects: list[Defect]


Block = Prose | Table | Figure | FigureRow | Text | Bullets | DefectList


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)


@dataclass
class TaskReport:
    """What a task contributes: its section, and its items for the differences section."""

    task: str
    section: Section
    defects: list[Defect] = field(default_factory=list)


_POINTER_ESCAPES = (("~", "~0"), ("/", "~1"))


def pointer(*keys: str | int) -> str:
    """JSON Pointer (RFC 6901) to ``keys``."""
    escaped = []
    for key in keys:
        text = str(key)
        for raw, escape in _POINTER_ESCAPES:
            text = text.replace(raw, escape)
        escaped.append(text)
    return "/" + "/".join(escaped)


def resolve(document: Any, path: str) -> Any:
    """The value at JSON Pointer ``path`` in ``document``; KeyError naming the path if absent."""
    value = document
    for token in path.split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        try:
            value = value[int(key)] if isinstance(value, list) else value[key]
        except (KeyError, IndexError, ValueError, TypeError):
            raise KeyError(f"no {path!r} in the metrics") from None
    return value


class Metrics:
    """Read access to one source of numbers, handing out :class:`Quote` objects."""

    def __init__(self, source: str, document: Mapping[str, Any]):
        self.source = source
        self.document = document

    def get(self, *keys: str | int) -> Any:
        return resolve(self.document, pointer(*keys))

    def has(self, *keys: str | int) -> bool:
        try:
            self.get(*keys)
        except KeyError:
            return False
        return True

    def q(self, fmt: str, *keys: str | int) -> Quote:
        """Quote the value at ``keys`` with format ``fmt``."""
        return Quote(self.source, pointer(*keys), self.get(*keys), fmt)


_FIELD = re.compile(r"\{(\w+)\}|`([^`]+)`")


def prose(template: str, kind: str = "p", **quotes: Quote) -> Prose:
    """Build prose from ``template``: ``{name}`` takes a quote, ```...``` marks a formula.

    Numbers must come in as quotes; tests reject any other number in the text.
    """
    parts: list[Part] = []
    position = 0
    for match in _FIELD.finditer(template):
        if match.start() > position:
            parts.append(template[position : match.start()])
        if match.group(1) is not None:
            parts.append(quotes[match.group(1)])
        else:
            parts.append(Math(match.group(2)))
        position = match.end()
    if position < len(template):
        parts.append(template[position:])
    return Prose(parts, kind)


def join(*pieces: Prose | str, kind: str = "p") -> Prose:
    """Concatenate prose pieces (strings are plain text) into one paragraph of ``kind``."""
    parts: list[Part] = []
    for piece in pieces:
        parts.extend([piece] if isinstance(piece, str) else piece.parts)
    return Prose(parts, kind)


def series(items: list[Prose], last: str = "and") -> Prose:
    """``a, b and c`` from prose pieces."""
    pieces: list[Prose | str] = []
    for i, item in enumerate(items):
        if i:
            pieces.append(f" {last} " if i == len(items) - 1 else ", ")
        pieces.append(item)
    return join(*pieces)


def walk_prose(blocks: list[Block]) -> Iterator[Prose]:
    for block in blocks:
        if isinstance(block, Prose):
            yield block
        elif isinstance(block, Bullets):
            yield from block.items
        elif isinstance(block, DefectList):
            for defect in block.defects:
                yield defect.sheet
                yield defect.here


def section_prose(section: Section) -> Iterator[Prose]:
    """All prose of ``section`` and its subsections, in reading order."""
    yield from walk_prose(section.blocks)
    for subsection in section.subsections:
        yield from section_prose(subsection)


def quotes(reports: list[TaskReport]) -> list[Quote]:
    """Every number quoted in the prose of ``reports`` (sections and differences)."""
    found: list[Quote] = []
    for report in reports:
        for prose_block in all_prose(report):
            found.extend(prose_block.quotes)
    return found


def all_prose(report: TaskReport) -> Iterator[Prose]:
    yield from section_prose(report.section)
    for defect in report.defects:
        yield defect.sheet
        yield defect.here


@dataclass
class Document:
    """The whole report: an introduction and the sections, in reading order."""

    title: str
    intro: list[Prose]
    sections: list[Section]

    def prose(self) -> Iterator[Prose]:
        yield from self.intro
        for section in self.sections:
            yield from section_prose(section)

    def quotes(self) -> list[Quote]:
        """Every number quoted in the prose: the machine-checkable record."""
        return [quote for block in self.prose() for quote in block.quotes]
