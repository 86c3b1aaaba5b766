"""The sheet's tasks as experiments: ``run(config) -> results``.

Results are plain dicts of numbers and arrays; ``results["metrics"]`` is the JSON-ready part.
Plotting and the report only read them.
"""

from . import task1, task2, task3

#: Task name → experiment module, in the sheet's order.
TASKS = {"task1": task1, "task2": task2, "task3": task3}

__all__ = ["TASKS"]
