"""Tasks that take no time, for the tests of the output folder (the CLI's transaction).

``install(patch)`` makes two tasks, ``fake_a`` and ``fake_b``, known to the command line in
this process; each run of one gives different metrics, so old and new results differ.

Run as a program, ``python tests/_fake_tasks.py SECONDS STARTED run fake_a --out DIR`` is
scratchlearn's program (``cli.main()``, its signal handling included) with the fakes
installed: each computes for SECONDS, asleep (a window for signals that costs no CPU), after
creating the file ``STARTED/<pid>``, which tells a test that the run is computing.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from scratchlearn import cli, experiments, report
from scratchlearn.experiments import TASKS
from scratchlearn.plotting import FIGURES

NAMES = ("fake_a", "fake_b")


@dataclass(frozen=True)
class FakeConfig:
    show_progress: bool = True


def fake_task(name: str, seconds: float = 0.0, started: Path | None = None) -> SimpleNamespace:
    calls = itertools.count(1)

    def run(config: FakeConfig) -> dict:
        n = next(calls)
        if started is not None:
            (started / str(os.getpid())).touch()
        # Short naps, as a computation runs Python: a signal that lands just before a nap
        # begins is handled when it ends (one long sleep would hold it back until its end).
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.01)
        return {"metrics": {"task": name, "run": n}}

    return SimpleNamespace(Config=FakeConfig, run=run)


def fake_figures(results: dict) -> dict[str, Figure]:
    figure = plt.figure(figsize=(1, 1), dpi=20)
    figure.add_subplot().plot([0, 1], [0, results["metrics"]["run"]])
    return {"line": figure}


def fake_section(rendering, task: str, metrics: dict, run: dict) -> report.TaskText:
    """The report's section of a fake task: a heading (the report shows known tasks only)."""
    return report.TaskText(task, "", task, f"## {task}\n")


def install(patch: pytest.MonkeyPatch, *, figures: bool = True, seconds: float = 0.0,
            started: Path | None = None) -> None:
    """Make ``fake_a`` and ``fake_b`` known to the CLI, with one small figure each or none."""
    patch.setattr(experiments, "TASK_NAMES", (*experiments.TASK_NAMES, *NAMES))
    for name in NAMES:
        patch.setitem(TASKS, name, fake_task(name, seconds, started))
        patch.setitem(FIGURES, name, fake_figures if figures else lambda results: {})
        patch.setitem(report.SECTIONS, name, fake_section)


if __name__ == "__main__":
    # Signals reach the run as they reach a program started from a shell: a disposition of
    # SIG_IGN and a blocked mask are inherited through fork and exec, and the test process
    # may hold either for a moment (libraries block SIGINT while they start helper processes).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    seconds, started = float(sys.argv.pop(1)), Path(sys.argv.pop(1))
    install(pytest.MonkeyPatch(), seconds=seconds, started=started)
    sys.exit(cli.main())
