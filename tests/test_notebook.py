"""The notebook runs from top to bottom, so it never rots."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "exercise_sheet_2.ipynb"


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # jupyter_client's own warnings
def test_notebook_executes_and_shows_figures(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # After every cell, the backend is still the notebook's own: the library chose none.
    probe = "import matplotlib\nprint('backend after the notebook:', matplotlib.get_backend())"
    notebook.cells.append(nbformat.v4.new_code_cell(probe))
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # anything it writes stays there
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.output_type == "error"]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) >= 5
    text = "".join(output.get("text", "") for output in outputs)
    assert "k =  16: test accuracy 0.99" in text
    assert "Traceback" not in text
    # "inline" (matplotlib >= 3.9) or "module://matplotlib_inline.backend_inline"; not "agg".
    assert re.search(r"backend after the notebook: \S*inline\b", text), text
