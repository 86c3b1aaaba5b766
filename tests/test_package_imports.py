"""The package's lazy public names (PEP 562) and the kernel's guard against plain Python.

``import scratchlearn`` loads no estimator: each public name is imported on first use and then
cached in the module. The tests remove a cached name first, so that the lookup really goes
through the module's ``__getattr__``.
"""

from __future__ import annotations

import sys

import pytest

import scratchlearn
import scratchlearn.experiments as experiments
from scratchlearn._search import _compiled


@pytest.mark.parametrize("name", sorted(set(scratchlearn._LAZY)))
def test_a_public_name_is_the_object_its_submodule_defines(monkeypatch, name):
    monkeypatch.delattr(scratchlearn, name, raising=False)  # not cached: __getattr__ runs
    value = getattr(scratchlearn, name)
    submodule = sys.modules[f"scratchlearn{scratchlearn._LAZY[name]}"]
    assert value is getattr(submodule, name)
    assert getattr(scratchlearn, name) is value  # and it is the same on the next lookup


def test_exceptions_is_the_exceptions_module(monkeypatch):
    import scratchlearn.exceptions

    monkeypatch.delattr(scratchlearn, "exceptions")
    assert scratchlearn.exceptions is sys.modules["scratchlearn.exceptions"]


def test_an_unknown_name_raises_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="no_such_estimator"):
        scratchlearn.no_such_estimator  # noqa: B018
    with pytest.raises(AttributeError, match="no_such_table"):
        experiments.no_such_table  # noqa: B018
    assert not hasattr(scratchlearn, "kneighborsclassifier")


def test_dir_lists_every_public_name_before_it_is_loaded(monkeypatch):
    for name in scratchlearn._LAZY:
        monkeypatch.delattr(scratchlearn, name, raising=False)
    listed = dir(scratchlearn)
    assert set(scratchlearn.__all__) <= set(listed)
    assert "__version__" in listed and listed == sorted(listed)


def test_tasks_maps_each_task_name_to_its_experiment(monkeypatch):
    monkeypatch.delattr(experiments, "TASKS", raising=False)
    tasks = experiments.TASKS
    assert list(tasks) == list(experiments.TASK_NAMES)
    for name, module in tasks.items():
        assert module is sys.modules[f"scratchlearn.experiments.{name}"]
        assert callable(module.run)


def test_the_kernel_refuses_plain_python_unless_asked(monkeypatch):
    monkeypatch.delenv(_compiled.PURE_PYTHON, raising=False)
    with pytest.raises(ImportError, match=rf"_topk.*{_compiled.PURE_PYTHON}=1"):
        _compiled.refuse_plain_python("_topk")
    monkeypatch.setenv(_compiled.PURE_PYTHON, "0")
    with pytest.raises(ImportError):
        _compiled.refuse_plain_python("_topk")
    monkeypatch.setenv(_compiled.PURE_PYTHON, "1")
    assert _compiled.refuse_plain_python("_topk") is None
