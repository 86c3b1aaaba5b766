"""The README's and the Dask page's Python snippets run as scripts (issue 19).

``tests/test_readme.py`` runs the README's examples in this process and checks their
numbers; here each snippet is pasted into a file and run by a new Python in an empty
folder, as a reader would run it. That is where a snippet that starts processes fails:
Dask's ``LocalCluster`` starts its workers by *spawn*, which imports the script again in
each of them, so the snippet must do its work under ``if __name__ == "__main__":``.

A snippet that uses names an earlier snippet of the same page defines (the README's model
file example uses the softmax model) runs after the snippets it continues. Two documented
substitutions keep it cheap: the Dask page's sizes are divided by 100 (``SMALLER``), and
its remote scheduler ``tcp://HOST:8786`` is the test session's cluster.
"""

from __future__ import annotations

import ast
import builtins
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("README.md", "docs/dask.rst")
#: Sizes of the Dask page's LocalCluster snippet and what the test uses: 2,000,000 × 64
#: float32 is 512 MB, too much for the suite; 20,000 rows in 8 chunks run the same code.
SMALLER = {"2_000_000": "20_000", "250_000": "2_500", "10_000": "1_000"}
HOST = "tcp://HOST:8786"
MARKDOWN = re.compile(r"^```(?:python|py)\n(.*?)^```", flags=re.S | re.M)
RST = re.compile(r"^\.\. code(?:-block)?:: (?:python|py)\n((?:[ \t]*\n|   .*\n)+)", flags=re.M)


def snippets(page: str) -> list[str]:
    """The page's Python code blocks, in order."""
    text = (ROOT / page).read_text(encoding="utf-8")
    if page.endswith(".md"):
        return MARKDOWN.findall(text)
    return [textwrap.dedent(block).strip() + "\n" for block in RST.findall(text)]


def free_names(source: str) -> set[str]:
    """Names the code reads but never binds (nor are builtins)."""
    bound, read = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return read - bound - set(dir(builtins))


def script(blocks: list[str], i: int) -> str:
    """Snippet ``i`` as a reader would run it: after the earlier snippets it continues."""
    start = i
    while free_names("\n".join(blocks[start:i + 1])):
        assert start > 0, f"snippet {i} reads names no earlier snippet defines: " + ", ".join(
            sorted(free_names("\n".join(blocks[: i + 1]))))
        start -= 1
    return "\n".join(blocks[start:i + 1])


def scaled(source: str, host: str) -> str:
    for size, small in SMALLER.items():
        source = re.sub(rf"(?<![\d_]){size}(?![\d_])", small, source)
    return source.replace(HOST, host)


def cases(remote: bool) -> list:
    """(page, snippet index) of the snippets that connect to a remote scheduler, or not."""
    return [pytest.param(page, i, id=f"{page}-{i}") for page in PAGES
            for i, block in enumerate(snippets(page)) if (HOST in block) is remote]


def run_script(page: str, index: int, folder: Path, host: str = "") -> None:
    source = script(snippets(page), index)
    path = folder / "snippet.py"
    path.write_text(scaled(source, host), encoding="utf-8")
    done = subprocess.run([sys.executable, str(path)], cwd=folder, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, f"{page}, snippet {index}:\n{source}\n{done.stderr[-3000:]}"


def test_every_page_has_its_snippets_and_substitutions():
    assert len(snippets("README.md")) >= 3
    dask_page = "\n".join(snippets("docs/dask.rst"))
    assert "LocalCluster(" in dask_page and cases(remote=True)
    for size in SMALLER:  # a snippet whose sizes changed needs SMALLER changed with it
        assert re.search(rf"(?<![\d_]){size}(?![\d_])", dask_page), size


@pytest.mark.parametrize(("page", "index"), cases(remote=False))
def test_snippet_runs_as_a_script(page, index, tmp_path):
    run_script(page, index, tmp_path)


@pytest.mark.parametrize(("page", "index"), cases(remote=True))
def test_remote_cluster_snippet_runs_as_a_script(page, index, tmp_path, dask_client):
    # The session's cluster stands in for the scheduler on HOST.
    run_script(page, index, tmp_path, host=dask_client.scheduler.address)
