"""Shared fixtures.

Each experiment runs once per test session (``task1_results``, ...): the modules that test
an experiment, its figures or the report read the same results. They must not change them;
a test that needs to, changes a ``copy.deepcopy``.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest


def _task(name: str) -> Any:
    # Imported when first needed: most test modules never load the experiments.
    from scratchlearn.experiments import TASKS

    return TASKS[name]


@pytest.fixture(scope="session")
def task1_config() -> Any:
    # A coarser plotting grid than the CLI's 150 × 150 (about a sixth of the time): the grid sets
    # only the resolution of the decision-region and density images and their checks.
    return _task("task1").Config(grid_resolution=40, show_progress=False)


@pytest.fixture(scope="session")
def task2_config() -> Any:
    return _task("task2").Config(show_progress=False)


@pytest.fixture(scope="session")
def task3_config() -> Any:
    return _task("task3").Config(show_progress=False)


@pytest.fixture(scope="session")
def task1_results(task1_config) -> dict:
    return _task("task1").run(task1_config)


@pytest.fixture(scope="session")
def task2_results(task2_config) -> dict:
    return _task("task2").run(task2_config)


@pytest.fixture(scope="session")
def task3_results(task3_config) -> dict:
    return _task("task3").run(task3_config)


@pytest.fixture(scope="session")
def task_results(task1_results, task2_results, task3_results) -> dict[str, dict]:
    """Every task's results, by task name."""
    return {"task1": task1_results, "task2": task2_results, "task3": task3_results}


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory, task_results) -> Path:
    """A results folder as ``scratchlearn run --out DIR --quiet`` writes it (the CLI's own
    code: figures, metrics, report, generations), made from the session's results so that no
    experiment runs again. Read-only: copy it to change anything."""
    from scratchlearn import cli
    from scratchlearn.experiments import TASKS

    out = tmp_path_factory.mktemp("cli") / "results"
    with pytest.MonkeyPatch.context() as patch:
        for name, results in task_results.items():
            done = SimpleNamespace(Config=TASKS[name].Config, run=lambda config, r=results: r)
            patch.setitem(TASKS, name, done)
        assert cli.main(["run", *task_results, "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="session")
def dask_client():
    """A real two-process Dask cluster on this machine, shared by the Dask tests (the dev
    extra installs Dask, so a missing install fails here rather than skipping)."""
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
            memory_limit="2GiB",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
