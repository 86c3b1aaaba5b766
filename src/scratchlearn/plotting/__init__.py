"""Results → matplotlib figures, one module per task. No computation lives here beyond
what a plot needs to draw; each ``taskN_figures(results)`` returns ``{file stem: Figure}``."""

from .task1 import task1_figures
from .task2 import task2_figures
from .task3 import task3_figures

#: Task name → function from that task's results to its figures.
FIGURES = {"task1": task1_figures, "task2": task2_figures, "task3": task3_figures}

__all__ = ["FIGURES", "task1_figures", "task2_figures", "task3_figures"]
