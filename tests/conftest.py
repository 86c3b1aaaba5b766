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


def _check_schema(value: Any, annotation: Any, path: str = "") -> None:
    """Assert that ``value`` has exactly the keys of the TypedDict ``annotation``, recursively
    (through lists, ``X | None`` and nested TypedDicts; ``dict[str, ...]`` is an open map)."""
    import numbers
    import types
    import typing

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if typing.is_typeddict(annotation):
        assert isinstance(value, dict), f"{path or '/'}: {type(value).__name__}, not a dict"
        hints = typing.get_type_hints(annotation)
        assert set(value) - set(hints) == set(), f"{path or '/'}: undocumented keys"
        assert set(hints) - set(value) == set(), f"{path or '/'}: missing keys"
        for key, hint in hints.items():
            _check_schema(value[key], hint, f"{path}/{key}")
    elif origin in (typing.Union, types.UnionType):
        if value is None:
            assert type(None) in args, f"{path}: None"
            return
        (hint,) = [arg for arg in args if arg is not type(None)]
        _check_schema(value, hint, path)
    elif origin is list:
        assert isinstance(value, list), f"{path}: {type(value).__name__}, not a list"
        for i, item in enumerate(value):
            _check_schema(item, args[0], f"{path}/{i}")
    elif origin is dict:
        assert isinstance(value, dict), f"{path}: {type(value).__name__}, not a dict"
    elif annotation is bool:
        assert isinstance(value, bool), f"{path}: {value!r} is not a bool"
    elif annotation is int:
        assert isinstance(value, numbers.Integral) and not isinstance(value, bool), path
    elif annotation is float:
        assert isinstance(value, numbers.Real) and not isinstance(value, bool), path
    elif annotation is str:
        assert isinstance(value, str), path


@pytest.fixture(scope="session")
def check_schema():
    """``check_schema(value, TypedDict)``: the documented keys, all of them and no others."""
    return _check_schema
