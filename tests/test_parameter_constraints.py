"""Every parameter of every estimator is checked, by the constraint the estimator declares
for it: a bad value makes ``fit`` raise a ValueError that names the parameter and the
value, before any work (nothing fitted is set). Bad values are drawn from each constraint
(below its lower bound, above its upper bound, NaN, infinity, the wrong type)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from scratchlearn import (
    HuberClassifier,
    KNeighborsClassifier,
    KNeighborsDensity,
    LeastSquaresClassifier,
    NearestNeighbors,
    SoftmaxRegression,
)
from scratchlearn._validation import (
    Boolean,
    CallableOrNone,
    ClassWeight,
    Integer,
    Mapping,
    Options,
    Real,
    Seed,
    Threads,
)

ESTIMATORS = [
    HuberClassifier, KNeighborsClassifier, KNeighborsDensity, LeastSquaresClassifier,
    NearestNeighbors, SoftmaxRegression,
]
#: Parameters whose check depends on another one: the kNN ``p`` (for "minkowski" only).
CHECKED_TOGETHER = {"p"}


def bad_values(constraint) -> list:
    """Values that ``constraint`` refuses, from its own bounds and type."""
    if isinstance(constraint, Integer):
        values = [constraint.low - 1, constraint.low + 0.5, str(constraint.low), True]
        return values + ([] if constraint.none else [None])
    if isinstance(constraint, Real):
        values = [np.nan, np.inf, "1", True, None]
        if constraint.low is not None:
            values.append(constraint.low - 1.0)
            if not constraint.include_low:
                values.append(constraint.low)
        if constraint.high is not None:
            values.append(constraint.high + 1.0)
            if not constraint.include_high:
                values.append(constraint.high)
        return values
    if isinstance(constraint, Options):
        return ["nonsense", 3] + ([] if constraint.none else [None])
    if isinstance(constraint, ClassWeight):
        return ["nonsense", 3, [1.0, 2.0], {0: -1.0}, {0: np.nan}, {1: "2"}]
    if isinstance(constraint, Mapping):
        return ["p=3", 3, [("p", 3)]]
    if isinstance(constraint, Boolean):
        return ["yes", 1, None]
    if isinstance(constraint, CallableOrNone):
        return [3, "print"]
    if isinstance(constraint, Threads):
        return [0, 1.5, "2", True]
    if isinstance(constraint, Seed):
        return ["seed", 1.5]
    raise AssertionError(f"no bad values for {constraint!r}")


CASES = [
    pytest.param(cls, name, value, id=f"{cls.__name__}-{name}-{value!r}")
    for cls in ESTIMATORS
    for name, constraint in cls._parameter_constraints.items()
    for value in bad_values(constraint)
]


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_every_parameter_has_a_constraint(cls):
    params = set(cls().get_params())
    declared = set(cls._parameter_constraints)
    assert declared <= params
    assert params - declared <= CHECKED_TOGETHER


@pytest.mark.parametrize(("cls", "name", "value"), CASES)
def test_a_bad_value_names_the_parameter_and_the_value(cls, name, value):
    X, y = np.arange(24.0).reshape(12, 2), np.arange(12) % 2
    model = cls(**{name: value})
    with pytest.raises(ValueError) as raised:
        model.fit(X, y)
    message = str(raised.value)
    assert re.search(rf"\b{name}\b", message), message
    assert repr(value) in message, message
    constraint = cls._parameter_constraints[name]
    if isinstance(constraint, Options):  # and says what to choose from
        assert all(repr(option) in message for option in constraint.values), message
    assert not hasattr(model, "n_features_in_")  # refused before any work


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_the_defaults_pass_their_constraints(cls):
    cls()._validate_params()
