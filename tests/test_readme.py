"""The README's library examples run, and say what they compute."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_examples_run_and_match_their_comments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples save model files
    blocks = python_blocks()
    assert len(blocks) >= 2
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an example that warns (e.g. no convergence) is wrong
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
    # The numbers the comments promise.
    moons = namespace["load_moons_split"]()
    assert namespace["clf"].score(moons[1], moons[3]) == pytest.approx(0.97)
    assert namespace["model"].score(namespace["X_test"], namespace["y_test"]) == pytest.approx(
        0.96, abs=0.005
    )
    # The saved and loaded model answers as the fitted one.
    same, model = namespace["same"], namespace["model"]
    assert type(same) is type(model) and same.get_params() == model.get_params()
    np.testing.assert_array_equal(
        same.predict_proba(namespace["X_test"]), model.predict_proba(namespace["X_test"])
    )
