"""Writing a task's outputs all at once: into a staging folder, then one rename.

A run that fails half-way leaves the previous outputs untouched and no partial folder.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


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
) -> Path:
    """Write ``metrics.json``, one PNG per figure and the text files to ``out_dir/task``.

    Returns the task folder. Figures are closed once written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / task
    staging = Path(tempfile.mkdtemp(prefix=f".{task}-staging-", dir=out_dir))
    staging.chmod(0o755)  # mkdtemp makes it private; the results are for everyone to read
    try:
        (staging / "metrics.json").write_text(metrics_json(metrics), encoding="utf-8")
        for name, text in (texts or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
        for stem, figure in figures.items():
            # Fixed metadata so the same run gives the same bytes.
            figure.savefig(staging / f"{stem}.png", metadata={"Software": None})
            plt.close(figure)
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{task}-old-", dir=out_dir))
            final.rename(old / task)
            staging.rename(final)
            shutil.rmtree(old)
        else:
            staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for figure in figures.values():
            plt.close(figure)
        raise
    return final
