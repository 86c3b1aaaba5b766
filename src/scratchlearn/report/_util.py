"""Small helpers shared by the task sections."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ._model import MINUS, Figure


def figure_if_exists(
    out_dir: Path, task: str, stem: str, caption: str, *, wide: bool = False
) -> Figure | None:
    """The figure ``<task>/<stem>.png`` if the run wrote it; the report links only real files."""
    if (out_dir / task / f"{stem}.png").is_file():
        return Figure(f"{task}/{stem}.png", caption, wide)
    return None


def fmt_cell(value: Any, fmt: str) -> str:
    """A table cell: formatted number, or the value as text; missing values stay empty."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if fmt == "d" and isinstance(value, float):
        fmt = ".0f"
    return format(value, fmt).replace("-", MINUS)
