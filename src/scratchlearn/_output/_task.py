"""One task's folder: ``metrics.json`` (deterministic JSON), figures, text files, models."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # matplotlib is imported when figures are written: --out is checked first
    from matplotlib.figure import Figure

UTF8 = "utf-8"  # pragma: no mutate (codec names are case-insensitive)


def _jsonable(value):
    """``json`` hook for NumPy scalars and arrays."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def metrics_json(metrics: dict) -> str:
    """Deterministic JSON: sorted keys, fixed indentation, no NaN."""
    return json.dumps(metrics, default=_jsonable, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_task_outputs(
    out_dir: Path,
    task: str,
    metrics: dict,
    figures: dict[str, Figure],
    texts: dict[str, str] | None = None,
    models: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``metrics.json``, one PNG per figure, the text files and, with ``models``, one
    ``models/<name>.npz`` per fitted estimator (:func:`scratchlearn.save`) to a new folder
    ``out_dir/task``.

    The folder must not exist (``FileExistsError``): it is written inside a run's own staging
    generation, which nobody reads until it is complete. On failure the folder is removed.
    Returns the task folder. Figures are closed once written.
    """
    import matplotlib.pyplot as plt

    folder = Path(out_dir) / task
    made = False
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir()
        made = True
        (folder / "metrics.json").write_text(metrics_json(metrics), encoding=UTF8)
        for name, text in (texts or {}).items():
            (folder / name).write_text(text, encoding=UTF8)
        for stem, figure in figures.items():
            # Fixed metadata so the same run gives the same bytes.
            figure.savefig(folder / f"{stem}.png", metadata={"Software": None})
            plt.close(figure)
        if models:
            from .. import save  # the safe .npz format; imported late: it is optional here

            (folder / "models").mkdir()
            for name, estimator in models.items():
                save(estimator, folder / "models" / f"{name}.npz")
    except BaseException:
        if made:
            shutil.rmtree(folder, ignore_errors=True)
        for figure in figures.values():
            plt.close(figure)
        raise
    return folder
