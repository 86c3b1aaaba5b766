"""Rendering a :class:`Document` as HTML (one Jinja2 template) and as Markdown."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ._model import (
    Bullets,
    DefectList,
    Document,
    Figure,
    FigureRow,
    Math,
    Prose,
    Quote,
    Section,
    Table,
    Text,
)


def _kind(block: object) -> str:
    return type(block).__name__.lower()


def _part_kind(part: object) -> str:
    if isinstance(part, Quote):
        return "quote"
    if isinstance(part, Math):
        return "math"
    return "text"


def render_html(document: Document, **context: object) -> str:
    """The page, from ``templates/report.html.j2``."""
    environment = Environment(
        loader=PackageLoader("scratchlearn.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["kind"] = _kind
    environment.filters["part_kind"] = _part_kind
    template = environment.get_template("report.html.j2")
    return template.render(document=document, **context)


def _md_inline(prose: Prose) -> str:
    out = []
    for part in prose.parts:
        if isinstance(part, Quote):
            out.append(part.text)
        elif isinstance(part, Math):
            out.append(f"`{part.text}`")
        else:
            out.append(part)
    return "".join(out)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _md_block(block: object) -> list[str]:
    if isinstance(block, Prose):
        text = _md_inline(block)
        if block.kind == "question":
            return [f"**Question.** *{text}*", ""]
        if block.kind == "answer":
            return [f"**Answer.** {text}", ""]
        return [text, ""]
    if isinstance(block, Bullets):
        return [f"- {_md_inline(item)}" for item in block.items] + [""]
    if isinstance(block, Table):
        align = [
            "---:" if block.numeric and i >= block.left_columns else "---"
            for i in range(len(block.headers))
        ]
        headers = list(block.headers)
        if block.groups:  # Markdown has one header row: prefix each header with its group
            labels = [label for label, span in block.groups for _ in range(span)]
            headers = [f"{g} {h}".strip() for g, h in zip(labels, headers, strict=True)]
        lines = [
            "| " + " | ".join(_md_cell(h) for h in headers) + " |",
            "|" + "|".join(align) + "|",
        ]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
        if block.caption:
            lines += ["", f"*{block.caption}*"]
        return [*lines, ""]
    if isinstance(block, Figure):
        return [f"![{block.caption}]({block.src})", "", f"*{block.caption}*", ""]
    if isinstance(block, FigureRow):
        lines = []
        for figure in block.figures:
            lines += _md_block(figure)
        return lines
    if isinstance(block, Text):
        lines = ["```", block.text.rstrip("\n"), "```", ""]
        if block.caption:
            lines += [f"*{block.caption}*", ""]
        return lines
    if isinstance(block, DefectList):
        lines = [f"**{block.heading}**", ""]
        for defect in block.defects:
            lines.append(
                f"- **{defect.title}.** The sheet: {_md_inline(defect.sheet)} "
                f"Here: {_md_inline(defect.here)}"
            )
        return [*lines, ""]
    raise TypeError(f"cannot render {type(block).__name__}")


def _md_section(section: Section, level: int) -> list[str]:
    # Explicit anchors: the contents links must not depend on a host's heading ids.
    lines = [f'<a id="{section.id}"></a>', "", f"{'#' * level} {section.title}", ""]
    for block in section.blocks:
        lines += _md_block(block)
    for subsection in section.subsections:
        lines += _md_section(subsection, level + 1)
    return lines


def render_markdown(document: Document) -> str:
    """The same content as Markdown, with the same relative figure links."""
    lines = [f"# {document.title}", ""]
    for prose in document.intro:
        lines += _md_block(prose)
    lines += ["## Contents", ""]
    for section in document.sections:
        lines.append(f"- [{section.title}](#{section.id})")
        for subsection in section.subsections:
            lines.append(f"  - [{subsection.title}](#{subsection.id})")
    lines.append("")
    for section in document.sections:
        lines += _md_section(section, 2)
    return "\n".join(lines).rstrip("\n") + "\n"
