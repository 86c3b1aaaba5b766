"""The sheet's tasks as experiments: ``run(config) -> results``.

Results are plain dicts of numbers and arrays; ``results["metrics"]`` is the JSON-ready part.
Plotting and the report only read them.

``TASK_NAMES`` needs no import of the experiments; ``TASKS`` (name → module) imports them on
first use, so the command line can check its arguments before loading scikit-learn.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any

#: The tasks, in the sheet's order.
TASK_NAMES = ("task1", "task2", "task3")


def __getattr__(name: str) -> Any:
    if name == "TASKS":
        tasks: dict[str, ModuleType] = {
            task: import_module(f".{task}", __name__) for task in TASK_NAMES
        }
        globals()["TASKS"] = tasks
        return tasks
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TASKS", "TASK_NAMES"]
