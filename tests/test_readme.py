"""The README's library examples run, and say what they compute.

Every ```python block runs, in order, in one namespace. A line that is an expression with a
comment starting with a number or True/False (``clf.score(X, y)  # 0.97, ...``) is a claim:
the expression must give that value, to the decimals written.
"""

import ast
import io
import re
import tokenize
import warnings
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
CLAIM = re.compile(r"#\s*(True|False|[-+]?\d+(?:\.(\d+))?)\b")


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def claims(block: str) -> dict[int, re.Match]:
    """The claiming comments of ``block``, by line number."""
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(block).readline):
        if token.type == tokenize.COMMENT and (match := CLAIM.match(token.string)):
            found[token.start[0]] = match
    return found


def check_claim(value, match: re.Match, source: str) -> None:
    text, decimals = match.group(1), match.group(2)
    if text in ("True", "False"):
        assert bool(value) is (text == "True"), source
    else:
        tolerance = 0.5 * 10.0 ** -len(decimals or "")
        assert float(value) == pytest.approx(float(text), abs=tolerance), source


def run_block(block: str, namespace: dict) -> int:
    """Run ``block`` statement by statement, checking each claim; return how many."""
    found = claims(block)
    checked = 0
    for statement in ast.parse(block).body:
        source = ast.get_source_segment(block, statement)
        match = found.get(statement.end_lineno)
        if isinstance(statement, ast.Expr) and match:
            value = eval(compile(ast.Expression(statement.value), str(README), "eval"), namespace)
            check_claim(value, match, source)
            checked += 1
        else:
            exec(compile(ast.Module([statement], []), str(README), "exec"), namespace)
    return checked


def test_readme_examples_run_and_match_their_comments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples save model files
    blocks = python_blocks()
    assert len(blocks) >= 2
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an example that warns (e.g. no convergence) is wrong
        checked = sum(run_block(block, namespace) for block in blocks)
    assert checked >= 5  # the scores and the model file's round trip
    # The saved and loaded model answers as the fitted one.
    same, model = namespace["same"], namespace["model"]
    assert type(same) is type(model) and same.get_params() == model.get_params()
    np.testing.assert_array_equal(
        same.predict_proba(namespace["X_test"]), model.predict_proba(namespace["X_test"])
    )


def test_a_wrong_claim_is_caught():
    block = "x = 0.5\nx + 0.47  # 0.97\nx  # 0.6\n"
    with pytest.raises(AssertionError, match=r"^x(\s|$)"):
        run_block(block, {})
