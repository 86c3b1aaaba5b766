"""The gallery's scripts run as users run them: ``python examples/NAME.py``.

``make docs`` executes them too (sphinx-gallery), but a broken example should fail the
tests, not only the documentation build. Each runs in a fresh process, from an empty
folder (an example may write only to its own temporary files), with matplotlib's
non-interactive backend; it must exit 0 with no Python warning on stderr (Dask's log lines,
such as a worker slow to stop on a busy machine, are allowed). The Dask example runs there
as a program, so its workers are really spawned and import the script again behind its
``if __name__ == "__main__":``.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
#: Generous against a busy machine; each takes a few seconds (CONTRIBUTING.md).
TIMEOUT_S = 180
#: A line as ``warnings`` prints it: "path:line: SomeWarning: message".
PYTHON_WARNING = re.compile(r"^\S+:\d+: \w*Warning: .*$", re.MULTILINE)


def run_example(script: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, str(script)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT_S, check=False)


def test_the_gallery_has_six_examples_in_sphinx_gallery_form():
    assert len(SCRIPTS) >= 6
    assert (EXAMPLES / "README.rst").is_file()  # sphinx-gallery's page header
    for script in SCRIPTS:
        doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
        assert doc, f"{script.name}: no docstring"
        title, underline, *_ = doc.splitlines()
        assert re.fullmatch(r"=+", underline) and len(underline) >= len(title), script.name
        assert "# %%" in script.read_text(encoding="utf-8"), f"{script.name}: no cells"


def _dask_scores_on_two_workers(stdout: str) -> None:
    """The Dask example's numbers: a good accuracy, and one peak per worker process (so
    two workers really ran)."""
    accuracy = float(re.search(r"accuracy (\d\.\d+)", stdout).group(1))
    assert accuracy >= 0.9
    assert len(re.findall(r"worker \d+: peak memory", stdout)) == 2


#: What some examples must print, beyond running cleanly.
OUTPUT_CHECKS = {"dask_knn": _dask_scores_on_two_workers}


@pytest.mark.parametrize("script", SCRIPTS, ids=[path.stem for path in SCRIPTS])
def test_example_runs_cleanly(script, tmp_path):
    done = run_example(script, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not PYTHON_WARNING.findall(done.stderr), done.stderr[-3000:]
    assert done.stdout.strip(), f"{script.name} printed nothing"
    assert list(tmp_path.iterdir()) == []  # it cleaned up after itself
    OUTPUT_CHECKS.get(script.stem, lambda stdout: None)(done.stdout)
