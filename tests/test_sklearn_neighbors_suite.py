"""scikit-learn's own kNN tests, run against scratchlearn's estimators.

The module ``sklearn/neighbors/tests/test_neighbors.py`` of the installed scikit-learn is
loaded with its global ``neighbors`` (``from sklearn import neighbors``) replaced by a copy
of ``sklearn.neighbors`` whose ``KNeighborsClassifier`` and ``NearestNeighbors`` are
scratchlearn's. The copy is in place while the module is imported, so the classes and the
instances in its ``pytest.mark.parametrize`` lists are ours too, and the tests reach it at
call time through the same global.

**The cases.** Every test function whose code (its body or its parametrize lists; not its
comments) names ``KNeighborsClassifier``, with every parametrization, each dtype of
scikit-learn's ``global_dtype`` fixture (float32 and float64); where a test is
parametrized over several estimators, only its ``KNeighborsClassifier`` cases. A case
passes, or is skipped with the reason in :data:`SKIPPED` (a deliberate, documented
difference); at least 90% must run (``test_at_least_90_percent_of_the_cases_run``, which
prints the count: 174 cases, 162 run, 12 skipped, with scikit-learn 1.9.1).

Two adjustments keep the tests' intent: they choose between k and a radius with
``issubclass(cls, KNeighborsMixin)``, which counts our estimators as k-neighbours ones
here; and ``test_precomputed_dense`` also runs scikit-learn's radius regressors, whose
RuntimeWarning our configuration would turn into an error (:data:`EXTRA_MARKS`).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import itertools
import textwrap
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn
import sklearn.neighbors
from sklearn.base import BaseEstimator

import scratchlearn
from scratchlearn.neighbors._base import NeighborsBase

OURS = {
    "KNeighborsClassifier": scratchlearn.KNeighborsClassifier,
    "NearestNeighbors": scratchlearn.NearestNeighbors,
}
SUITE = Path(sklearn.__file__).parent / "neighbors" / "tests" / "test_neighbors.py"

#: Why a case is skipped: test name → (which of its cases, as a predicate on their
#: parameters, the reason). Each reason is a deliberate difference documented in the class
#: docstring of KNeighborsClassifier.
SKIPPED: dict[str, tuple] = {
    "test_neigh_predictions_algorithm_agnosticity": (
        lambda params: params["metric"] == "DM_euclidean",
        "DistanceMetric objects as metric: scikit-learn's test skips them for classifiers "
        "(its own classifier refuses them), and ours refuses them too (a documented "
        "difference: pass a metric name or a callable)",
    ),
}

#: Marks added to a test: scikit-learn's own regressors (which the test also runs) warn
#: where our configuration turns RuntimeWarnings into errors.
EXTRA_MARKS = {
    "test_precomputed_dense": [
        pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
    ],
}


def _load_suite() -> types.ModuleType:
    """scikit-learn's test module, imported with our classes in its ``neighbors``."""
    proxy = types.ModuleType("sklearn.neighbors")
    proxy.__dict__.update(vars(sklearn.neighbors))
    proxy.__dict__.update(OURS)
    spec = importlib.util.spec_from_file_location("_sklearn_test_neighbors_on_ours", SUITE)
    module = importlib.util.module_from_spec(spec)
    real = sklearn.neighbors
    sklearn.neighbors = proxy  # what `from sklearn import neighbors` reads
    try:
        with warnings.catch_warnings():  # its marks registered by scikit-learn's conftest
            warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
            spec.loader.exec_module(module)
    finally:
        sklearn.neighbors = real
    # The tests ask ``issubclass(cls, KNeighborsMixin)`` to choose between k and a radius;
    # our estimators are k-neighbours estimators.
    module.KNeighborsMixin = (module.KNeighborsMixin, NeighborsBase)
    return module


def _names_the_classifier(function) -> bool:
    """Whether the test's code (decorators included, comments not) names the classifier."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return any(
        (isinstance(node, ast.Attribute) and node.attr == "KNeighborsClassifier")
        or (isinstance(node, ast.Name) and node.id == "KNeighborsClassifier")
        for node in ast.walk(tree)
    )


def _is_other_estimator(value) -> bool:
    """A parametrized value that is another estimator (a class or an instance) than ours."""
    ours = OURS["KNeighborsClassifier"]
    if value is ours or isinstance(value, ours):
        return False
    return (isinstance(value, type) and issubclass(value, BaseEstimator)) or isinstance(
        value, BaseEstimator
    )


def _values(mark) -> list:
    """A parametrize mark's values, each a tuple of the arguments' values."""
    names = mark.args[0]
    n_names = len(names.split(",")) if isinstance(names, str) else len(names)
    rows = []
    for value in mark.args[1]:
        value = value.values if hasattr(value, "values") and hasattr(value, "marks") else value
        rows.append(tuple(value) if n_names > 1 else (value,))
    return rows


def _argnames(mark) -> list[str]:
    names = mark.args[0]
    names = names.split(",") if isinstance(names, str) else names
    return [name.strip() for name in names]


def _classifier_marks(function) -> list:
    """The test's marks, parametrize lists restricted to the classifier's cases (and marks
    of scikit-learn's own conftest, such as ``thread_unsafe``, left out)."""
    marks = []
    for mark in getattr(function, "pytestmark", []):
        if mark.name == "parametrize":
            kept = [v for v in _values(mark) if not any(map(_is_other_estimator, v))]
            names = _argnames(mark)
            marks.append(pytest.mark.parametrize(
                ",".join(names), kept if len(names) > 1 else [v[0] for v in kept]
            ).mark)
        elif mark.name in ("filterwarnings", "skipif"):
            marks.append(mark)
    return marks


def _skip_reason(name: str, params: dict) -> str | None:
    if name in SKIPPED:
        applies, reason = SKIPPED[name]
        if applies(params):
            return reason
    return None


def _as_our_case(name: str, function):
    @functools.wraps(function)
    def case(*args, **kwargs):
        reason = _skip_reason(name, kwargs)
        if reason:
            pytest.skip(reason)
        return function(*args, **kwargs)

    case.pytestmark = _classifier_marks(function) + [
        mark.mark for mark in EXTRA_MARKS.get(name, [])
    ]
    return case


_SUITE = _load_suite()
CASES_BY_TEST = {
    name: function
    for name, function in vars(_SUITE).items()
    if name.startswith("test_") and callable(function) and _names_the_classifier(function)
}
globals().update({name: _as_our_case(name, f) for name, f in CASES_BY_TEST.items()})


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def global_dtype(request):
    """scikit-learn's fixture, with float32 always on."""
    return request.param


def _cases() -> list[tuple[str, dict]]:
    """Every (test, parameters) case collected above, as pytest expands them."""
    cases = []
    for name, function in CASES_BY_TEST.items():
        grids = [[{}]]
        for mark in _classifier_marks(function):
            if mark.name == "parametrize":
                names = _argnames(mark)
                grids.append([dict(zip(names, v, strict=True)) for v in _values(mark)])
        if "global_dtype" in inspect.signature(function).parameters:
            grids.append([{"global_dtype": np.float32}, {"global_dtype": np.float64}])
        for combo in itertools.product(*grids):
            cases.append((name, {k: v for part in combo for k, v in part.items()}))
    return cases


def test_the_suite_reaches_our_classes():
    # At call time, through the module global...
    assert _SUITE.neighbors.KNeighborsClassifier is OURS["KNeighborsClassifier"]
    assert _SUITE.neighbors.NearestNeighbors is OURS["NearestNeighbors"]
    # ...and at import time: the instances in parametrize lists are ours.
    loocv = next(mark for mark in _SUITE.test_neighbor_classifiers_loocv.pytestmark
                 if mark.name == "parametrize" and mark.args[0] == "nn_model")
    assert isinstance(loocv.args[1][0], OURS["KNeighborsClassifier"])
    assert sklearn.neighbors.KNeighborsClassifier is not OURS["KNeighborsClassifier"]


def test_at_least_90_percent_of_the_cases_run():
    cases = _cases()
    skipped = [(name, reason) for name, params in cases
               if (reason := _skip_reason(name, params))]
    print(f"\nscikit-learn's test_neighbors.py on scratchlearn: {len(cases)} cases use "
          f"KNeighborsClassifier, {len(cases) - len(skipped)} run, {len(skipped)} skipped")
    for reason in sorted({reason for _, reason in skipped}):
        count = sum(r == reason for _, r in skipped)
        print(f"  {count} skipped: {reason}")
    assert len(cases) >= 100
    assert len(skipped) <= 0.1 * len(cases)
