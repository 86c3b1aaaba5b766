"""The public docstrings are contracts, and their examples are true.

- Every example (``>>>``) in the docstrings of the public classes, functions and modules
  runs and shows what it prints (doctest), so a wrong example fails here, not only in a
  reader's hands.
- numpydoc's validation, with the checks ``make docs`` enforces (``docs/conf.py``'s
  ``numpydoc_validation_checks``), passes for every public class, function and method:
  every parameter documented with its type and description, returns and sections in order.
  The build fails on the same checks; this finds them without a build.
- Every public class and function has an Examples section, and every class a See Also
  (its scikit-learn peer, where it has one).
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import runpy
from pathlib import Path

import pytest

import scratchlearn

ROOT = Path(__file__).resolve().parents[1]
#: The public modules by name, whose functions and classes have API pages.
MODULES = ["scratchlearn.optim", "scratchlearn.gradcheck", "scratchlearn.datasets",
           "scratchlearn.exceptions"]


def _public_objects() -> dict[str, object]:
    """Every object with an API page, by its documented name: the package's names, their
    public methods (not those inherited from scikit-learn), and the public modules'
    classes and functions."""
    objects: dict[str, object] = {}
    for name in scratchlearn.__all__:
        if name.startswith("_") or name == "exceptions":
            continue
        obj = getattr(scratchlearn, name)
        objects[f"scratchlearn.{name}"] = obj
        if inspect.isclass(obj):
            for attr, value in inspect.getmembers(obj, callable):
                if not attr.startswith("_") and (
                        getattr(value, "__module__", "") or "").startswith("scratchlearn"):
                    objects[f"scratchlearn.{name}.{attr}"] = value
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        # A module's __all__, where it has one, is its API (as for the docs' autosummary);
        # otherwise the classes and functions it defines.
        names = getattr(module, "__all__", None) or [
            attr for attr, value in vars(module).items()
            if getattr(value, "__module__", None) == module_name]
        for attr in names:
            value = getattr(module, attr)
            if not attr.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value)):
                objects[f"{module_name}.{attr}"] = value
    return objects


OBJECTS = _public_objects()
#: The modules that define them, whose docstrings' examples are run.
DEFINING_MODULES = sorted({inspect.getmodule(obj).__name__ for obj in OBJECTS.values()}
                          | {"scratchlearn", *MODULES})


def test_the_public_objects_are_found():
    assert {"scratchlearn.KNeighborsClassifier", "scratchlearn.KNeighborsClassifier.fit",
            "scratchlearn.NearestNeighbors.kneighbors", "scratchlearn.save",
            "scratchlearn.optim.descend", "scratchlearn.exceptions.InconsistentVersionWarning",
            } <= set(OBJECTS)
    assert "scratchlearn.KNeighborsClassifier.get_params" not in OBJECTS  # scikit-learn's


@pytest.mark.parametrize("module_name", DEFINING_MODULES)
def test_docstring_examples_run_and_print_what_they_show(module_name):
    module = importlib.import_module(module_name)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder().find(module):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0  # the failures are printed above


def _validation_checks() -> set[str]:
    from numpydoc.validate import get_validation_checks

    conf = runpy.run_path(str(ROOT / "docs" / "conf.py"))
    return get_validation_checks(conf["numpydoc_validation_checks"])


def test_every_public_docstring_passes_numpydoc_validation():
    validate = pytest.importorskip("numpydoc.validate", reason="the docs extra (make docs)")
    checks = _validation_checks()
    assert {"PR01", "PR02", "PR07", "RT01"} <= checks  # the parameters and returns
    problems = {name: [f"{code} {message}" for code, message in validate.validate(name)["errors"]
                       if code in checks]
                for name in OBJECTS}
    assert {name: errors for name, errors in problems.items() if errors} == {}


def test_every_public_class_and_function_has_examples_and_classes_a_see_also():
    validate = pytest.importorskip("numpydoc.validate", reason="the docs extra (make docs)")
    missing = []
    for name, obj in OBJECTS.items():
        if not (inspect.isclass(obj) or name.count(".") == 1 or name.rsplit(".", 1)[0] in MODULES):
            continue  # a method
        codes = {code for code, _ in validate.validate(name)["errors"]}
        missing += [f"{name}: no Examples"] if "EX01" in codes else []
        missing += [f"{name}: no See Also"] if inspect.isclass(obj) and "SA01" in codes else []
    assert missing == []
