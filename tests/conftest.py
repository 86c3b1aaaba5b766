"""Shared fixtures.

Each experiment runs once per test session (``task1_results``, ...), and the results folder
the CLI writes from them (``results_dir``) is made once: the modules that test an
experiment, its figures or the report read the same results. They must not change them; a
test that needs to, changes a ``copy.deepcopy``. The Dask tests share one cluster
(``dask_client``).

Under pytest-xdist (``make test`` runs ``pytest -n auto``) the tests that read the
experiments' results run on one worker, and the Dask tests on one worker (the groups
"experiments" and "dask"), so that each experiment, the results folder and the cluster are
made once in the session, not once per worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

# --- pytest-xdist: tests that share a costly fixture run on one worker ---------------------

GROUPS = {
    "experiments": {"task1_results", "task2_results", "task3_results", "task_results",
                    "results_dir"},
    "dask": {"dask_client"},
}


def pytest_configure(config: pytest.Config) -> None:
    # xdist declares it too; here for runs without xdist (-p no:xdist)
    config.addinivalue_line("markers", "xdist_group(name): run on one pytest-xdist worker")


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        for group, needs in GROUPS.items():
            if fixtures & needs:
                item.add_marker(pytest.mark.xdist_group(group))
                break
    yield  # the other plugins: xdist reads the groups, -k deselects
    if getattr(config, "workerinput", None) is not None:
        _write_groups(config, items)


# The groups are xdist_group marks, as for xdist's --dist loadgroup, used here by default
# (with -n and no --dist, or --dist load or loadgroup). xdist passes the marks to its
# scheduler inside the tests' ids, which pytest 9.2 no longer lets a plugin change
# (pytest-xdist issue 1386: the tests run ungrouped, with no warning), so the workers write
# the groups to a file instead, and the scheduler reads them from it.


def _groups_file(config: pytest.Config) -> str:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return workerinput["scratchlearn_groups"]
    return os.path.join(tempfile.gettempdir(), f"scratchlearn-xdist-groups-{os.getpid()}.json")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    node.workerinput["scratchlearn_groups"] = _groups_file(node.config)


def _write_groups(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a worker: each grouped test's id and group, before the worker reports what it
    collected (so before the scheduler starts)."""
    groups = {}
    for item in items:
        marks = {mark.args[0] for mark in item.iter_markers("xdist_group") if mark.args}
        if marks:
            groups[item.nodeid] = "_".join(sorted(marks))
    path = _groups_file(config)
    partial = f"{path}.{os.getpid()}"
    with open(partial, "w", encoding="utf-8") as file:
        json.dump(groups, file)
    os.replace(partial, path)  # every worker writes the same groups


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None  # another distribution was asked for
    from xdist.scheduler import LoadGroupScheduling

    class FileGroupScheduling(LoadGroupScheduling):
        # Called once every worker has collected (and so written the groups).
        def _split_scope(self, nodeid: str) -> str:
            if not hasattr(self, "groups"):
                with open(_groups_file(config), encoding="utf-8") as file:
                    self.groups = json.load(file)
            return self.groups.get(nodeid) or super()._split_scope(nodeid)

    return FileGroupScheduling(config, log)


def pytest_unconfigure(config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is None:
        Path(_groups_file(config)).unlink(missing_ok=True)


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


class _SharedCluster:
    """The Dask tests' cluster: started by the first of them, closed once the tests that
    follow in the same run of modules need it no more (an idle cluster still costs CPU)."""

    def __init__(self):
        self.stack: contextlib.ExitStack | None = None
        self.client = None

    def get(self):
        if self.stack is None:
            import distributed

            with contextlib.ExitStack() as stack:
                # Under `make mutation` (mutation/report.py) the workers are threads of the
                # test process: the mutant under test runs in them too, and mutmut sees which
                # tests reach the code that Dask runs.
                threads = os.environ.get("SCRATCHLEARN_TEST_CLUSTER") == "threads"
                cluster = stack.enter_context(distributed.LocalCluster(
                    n_workers=2, threads_per_worker=1, processes=not threads,
                    dashboard_address=":0", memory_limit="2GiB",
                ))  # fmt: skip
                self.client = stack.enter_context(distributed.Client(cluster))
                self.stack = stack.pop_all()
        return self.client

    def close(self):
        if self.stack is not None:
            self.stack.close()
            self.stack = self.client = None


_CLUSTER = _SharedCluster()


@pytest.fixture(scope="module")  # modules keep data on it in module-scoped fixtures
def dask_client():
    """A real two-process Dask cluster on this machine, shared by the Dask tests (the dev
    extra installs Dask, so a missing install fails here rather than skipping)."""
    return _CLUSTER.get()


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if nextitem is None or (getattr(nextitem, "module", None) is not getattr(item, "module", None)
                            and "dask_client" not in nextitem.fixturenames):
        _CLUSTER.close()


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
