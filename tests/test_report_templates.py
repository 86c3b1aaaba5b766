"""Every sentence of the report is written once, in one template.

The report's Markdown is rendered with markers around everything a template prints with
``{{ ... }}`` (and around quotes and labels), so each sentence of the page can be traced back:
its words that a template wrote as text become a pattern, its values (quoted numbers, names
read from the results, text of another template) become wildcards, and the pattern must
match one line of exactly one template file, which is what ``git grep`` on the sentence with
its values blanked out would find.
"""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path

import pytest

from scratchlearn.experiments import TASKS
from scratchlearn.report import _render, build_document

TEMPLATES = {
    path.name: path.read_text(encoding="utf-8").splitlines()
    for path in (Path(_render.__file__).parent / "templates").glob("*.j2")
}
HOLE = "\x00"  # a quote or a label, in the annotated text
RUN_INFO = {"total_seconds": 12.34, "task_seconds": {name: 1.5 for name in TASKS}}


@pytest.fixture(scope="module")
def traced(tmp_path_factory, results_dir) -> str:
    copy = tmp_path_factory.mktemp("templates") / "results"
    shutil.copytree(results_dir / "latest", copy, ignore=shutil.ignore_patterns("report.*"))
    (copy / "task1" / "models").mkdir(exist_ok=True)  # the saved-models section too
    (copy / "task1" / "models" / "knn.npz").write_bytes(b"")
    (copy / "task1" / "extra_figure.png").write_bytes(b"")  # and the gallery
    return build_document(copy, **RUN_INFO).traced


def annotate(line: str) -> list[tuple[str, tuple[int, ...]]]:
    """Each character of ``line`` as printed, with the ``{{ ... }}`` it was printed by (the
    path of nested expressions, ``()`` for template text); a quote or a label is one
    ``HOLE``."""
    out, path, skip, count = [], (), None, 0
    for char in line:
        if skip:
            if char == skip:
                out.append((HOLE, path))
                skip = None
        elif char == "\x0e":
            count += 1
            path = (*path, count)
        elif char == "\x0f":
            path = path[:-1]
        elif char in "\x02\x05":
            skip = "\x04" if char == "\x02" else "\x06"
        else:
            out.append((char, path))
    return out


def prose_lines(traced: str) -> list[list[tuple[str, int]]]:
    lines, in_code = [], False
    for line in traced.splitlines():
        chars = annotate(line)
        text = "".join(char for char, _ in chars).strip()
        if text.startswith("```"):
            in_code = not in_code
            continue
        if in_code or not text or text.startswith(("|", "<", "![")):
            continue
        if re.match(r"^(- |\s*- )\[.*\]\(#[\w-]+\)$", text) or text == "## Contents":
            continue  # the contents: the headings again, listed by the code
        lines.append(chars)
    return lines


def sentences(chars: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    text = "".join(char for char, _ in chars)
    cuts = [0, *(m.end() for m in re.finditer(r"(?<=[.?!])\s+(?=\S)", text)), len(text)]
    return [chars[a:b] for a, b in itertools.pairwise(cuts)]


def pattern(sentence: list[tuple[str, int]]) -> re.Pattern | None:
    """The sentence as its template wrote it: text at its own depth, wildcards for the rest."""
    paths = [path for char, path in sentence if char.isalnum()]
    if not paths:
        return None
    own = min(paths, key=len)  # the expression (or template text) that wrote the sentence
    parts: list[str] = []
    for char, path in sentence:
        literal = path == own and char != HOLE
        if literal:
            parts.append(re.escape(char))
        elif not parts or parts[-1] != ".*?":
            parts.append(".*?")
    while parts and parts[0] in (".*?", re.escape(" "), " ", "\\ "):
        parts.pop(0)
    while parts and parts[-1] in (".*?", re.escape(" "), " ", "\\ "):
        parts.pop()
    if not parts:
        return None
    body = "".join(parts)
    # Whole words: "The data" is not the start of "The data and its outlier"; a sentence
    # may be followed by another within one caption.
    end = "" if body.endswith(("\\.", "\\?", "!")) else r"(?![ \t]*\w)"
    return re.compile(r"(?<!\w)(?<!\w )" + body + end)


def templates_with(regex: re.Pattern) -> list[str]:
    return [name for name, lines in TEMPLATES.items() if any(map(regex.search, lines))]


def test_each_sentence_of_the_page_is_in_exactly_one_template(traced):
    checked, problems = 0, []
    for line in prose_lines(traced):
        for sentence in sentences(line):
            regex = pattern(sentence)
            if regex is None:
                continue
            checked += 1
            found = templates_with(regex)
            if len(found) != 1:
                text = "".join(c for c, _ in sentence).replace(HOLE, "…")
                problems.append(f"{text!r} is in {found or 'no template'}")
    assert problems == []
    assert checked > 100


def test_the_tracing_finds_a_sentence_written_twice():
    # Guard against a check that passes by finding nothing: the same words in two files fail.
    words = "One item per defect of the sheet, each with what this run measured instead."
    regex = pattern([(char, ()) for char in words])
    assert templates_with(regex) == ["page.md.j2"]
    TEMPLATES["copy.md.j2"] = [words]
    try:
        assert sorted(templates_with(regex)) == ["copy.md.j2", "page.md.j2"]
    finally:
        del TEMPLATES["copy.md.j2"]
    assert templates_with(pattern([(char, ()) for char in "Not written anywhere."])) == []
