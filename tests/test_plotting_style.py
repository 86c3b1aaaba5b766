"""Plotting applies its style to its own figures only: importing it or drawing with it leaves
matplotlib's backend and global settings (``rcParams``) as the program or notebook had them.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from scratchlearn.plotting import FIGURES
from scratchlearn.plotting._style import CLASS_COLORS, STYLE, scatter_classes, subplots

# A user's own settings, all unlike the style's, so that a leak either way shows.
USER_SETTINGS = {"font.size": 7.0, "axes.titlesize": 20.0, "figure.dpi": 50.0, "savefig.dpi": 30.0}


def raw_settings() -> dict:
    # ``rcParams.items()`` would choose a backend while reading the "backend" entry.
    return dict(dict.items(mpl.rcParams))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])  # IHDR: width, height


IMPORT_PROBE = """
import io, json, sys
import matplotlib
import numpy as np
from matplotlib import rcsetup

def raw(rc):
    return dict(dict.items(rc))

before = raw(matplotlib.rcParams)
import scratchlearn.plotting
from scratchlearn.plotting.task1 import scatter_figure
imported = raw(matplotlib.rcParams)
figure = scatter_figure(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0, 1]), "two points")
figure.savefig(io.BytesIO(), format="png")
drawn = raw(matplotlib.rcParams)
default = raw(matplotlib.rcParamsDefault)
json.dump({
    "changed_by_import": sorted(k for k in before if imported[k] != before[k]),
    "changed_by_figure": sorted(k for k in before if drawn[k] != before[k]),
    "not_default": sorted(k for k in default if k != "backend" and drawn[k] != default[k]),
    # Still matplotlib's "choose one when first needed": no backend was selected.
    "backend_chosen": drawn["backend"] is not rcsetup._auto_backend_sentinel,
    "backend": matplotlib.get_backend(),
}, sys.stdout)
"""


def run_probe(tmp_path, **env: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY")}
    # An empty config folder and working folder: no matplotlibrc but matplotlib's own.
    environment |= {"MPLCONFIGDIR": str(tmp_path), **env}
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_import_and_figures_leave_settings_at_the_defaults_and_choose_no_backend(tmp_path):
    found = run_probe(tmp_path)
    assert found["changed_by_import"] == []
    assert found["changed_by_figure"] == []
    assert found["not_default"] == []
    assert found["backend_chosen"] is False
    assert found["backend"] == "agg"  # headless, matplotlib picks Agg itself when asked


def test_import_keeps_the_backend_the_user_chose(tmp_path):
    assert run_probe(tmp_path, MPLBACKEND="pdf")["backend"] == "pdf"


@pytest.mark.parametrize("task", ["task1", "task2", "task3"])
def test_task_figures_have_the_style_and_leave_the_settings_alone(task, task_results):
    results = task_results[task]
    open_in_pyplot = plt.get_fignums()
    with mpl.rc_context(USER_SETTINGS):
        before = raw_settings()
        figures = FIGURES[task](results)
        assert raw_settings() == before
        # pyplot keeps none of them: nothing to close, a notebook shows only what it displays.
        assert plt.get_fignums() == open_in_pyplot
        for stem, figure in figures.items():
            assert isinstance(figure, Figure), stem
            assert figure.dpi == STYLE["figure.dpi"], stem
        titles = [ax.title.get_fontsize() for f in figures.values() for ax in f.axes]
        assert STYLE["axes.titlesize"] in titles and USER_SETTINGS["axes.titlesize"] not in titles
        # Saving: the style's savefig.dpi, read by matplotlib only then, not the user's.
        stem, figure = next(iter(figures.items()))
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        expected = tuple(round(size * STYLE["savefig.dpi"]) for size in figure.get_size_inches())
        assert png_size(buffer.getvalue()) == expected, stem
        ticks = [t for ax in figure.axes for t in ax.get_xticklabels() + ax.get_yticklabels()]
        assert ticks and {t.get_fontsize() for t in ticks} == {STYLE["font.size"]}, stem
        assert raw_settings() == before


def test_scatter_classes_draws_each_class_in_its_colour_in_label_order():
    X = np.arange(10.0).reshape(5, 2)
    y = np.array(["b", "a", "b", "a", "b"])
    _, ax = subplots(figsize=(2, 2))
    scatter_classes(ax, X, y, alpha=0.4, label_prefix="group")
    assert [c.get_label() for c in ax.collections] == ["group a", "group b"]
    for collection, label, colour in zip(ax.collections, "ab", CLASS_COLORS, strict=True):
        np.testing.assert_array_equal(collection.get_offsets(), X[y == label])
        np.testing.assert_allclose(collection.get_facecolor(), [to_rgba(colour, 0.4)])
