"""What the experiments share about their settings."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

#: Settings that change how a run looks, not what it computes; left out of metrics.json.
DISPLAY_ONLY = ("show_progress",)


def config_metrics(config: Any) -> dict:
    """A task's ``Config`` as metrics: every setting that shapes the results."""
    return {key: value for key, value in asdict(config).items() if key not in DISPLAY_ONLY}
