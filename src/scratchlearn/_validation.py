"""Checks at the boundary: parameters, arrays, labels and sample weights.

Array checks reuse scikit-learn's ``validate_data`` so that ``n_features_in_``, NaN/inf and
dimension errors behave exactly as in scikit-learn; this module adds the parameter checks
whose messages name the parameter, the value and what to do, and the constraints
(:class:`Integer`, :class:`Real`, :class:`Options`, ...) that each estimator declares for
its parameters.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets


def check_int_param(value: Any, name: str, *, min_value: int = 1) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` naming ``name`` and the value."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {min_value}, got {value!r}.")
    if value < min_value:
        raise ValueError(f"{name} must be an integer >= {min_value}, got {value!r}.")
    return int(value)


def check_n_jobs(n_jobs: Any) -> int | None:
    """``None`` (every core), a positive number of threads, or −1, −2, … (all but |n|−1)."""
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0
    ):
        raise ValueError(
            f"n_jobs must be None or -1 (every core) or a positive number of threads, "
            f"got {n_jobs!r}."
        )
    return n_jobs


def check_option(value: Any, name: str, options: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``options``, else raise a ``ValueError`` listing them."""
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        choices = ", ".join(repr(option) for option in options)
        raise ValueError(f"{name} must be one of {choices}, got {value!r}.")
    return value


def check_n_neighbors(n_neighbors: Any, n_samples: int, *, name: str = "n_neighbors") -> int:
    """Check ``1 <= n_neighbors <= n_samples`` for a search over ``n_samples`` points."""
    n_neighbors = check_int_param(n_neighbors, name, min_value=1)
    if n_neighbors > n_samples:
        raise ValueError(
            f"{name}={n_neighbors} is larger than the {n_samples} training samples that can "
            f"be neighbours (n_samples = {n_samples}); use {name} <= {n_samples} or fit on "
            "more data."
        )
    return n_neighbors


def encode_labels(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(classes_, y_encoded)`` with ``classes_`` sorted and codes in ``0..C-1``."""
    classes, y_encoded = np.unique(y, return_inverse=True)
    return classes, y_encoded.reshape(-1)


def check_float_param(
    value: Any,
    name: str,
    *,
    min_value: float,
    max_value: float | None = None,
    include_min: bool = True,
    include_max: bool = True,
) -> float:
    """Return ``value`` as a finite float within the bounds, or raise a ``ValueError``.

    The message names ``name``, the value and the allowed interval, e.g.
    ``learning_rate must be a finite number in (0, inf), got -1``.
    """
    high = np.inf if max_value is None else max_value
    interval = f"{'[' if include_min else '('}{min_value:g}, {high:g}"
    interval += "]" if include_max and max_value is not None else ")"
    message = f"{name} must be a finite number in {interval}, got {value!r}."
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(message)
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(message)
    if value < min_value or (value == min_value and not include_min):
        raise ValueError(message)
    if max_value is not None and (value > max_value or (value == max_value and not include_max)):
        raise ValueError(message)
    return value


def check_class_labels(
    y: np.ndarray, *, estimator: str, min_classes: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Classification targets → ``(classes_, codes)``, with at least ``min_classes`` classes.

    Continuous targets raise scikit-learn's "Unknown label type" error (its public
    ``check_classification_targets``); labels that mix strings with numbers (or None), which
    cannot be sorted into ``classes_``, raise a ``ValueError`` naming the types found; too
    few classes raise a ``ValueError`` that names the estimator and the class found.
    """
    _check_label_types(y, estimator)
    check_classification_targets(y)
    classes, codes = encode_labels(y)
    if len(classes) < min_classes:
        raise ValueError(
            f"{estimator} needs samples of at least {min_classes} classes in y; got "
            f"{len(classes)} class ({classes[0]!r})."
        )
    return classes, codes


def _check_label_types(y: Any, estimator: str) -> None:
    """Refuse object labels that mix strings with other types (ints, floats, None)."""
    # A typed array holds one kind of label: skipping its scan only saves time.
    if isinstance(y, np.ndarray) and y.dtype != object:  # pragma: no mutate (speed only)
        return
    types = set(map(type, np.ravel(np.asarray(y, dtype=object))))
    strings = [issubclass(kind, str) for kind in types]
    if any(strings) and not all(strings):
        names = ", ".join(sorted(kind.__name__ for kind in types))
        raise ValueError(
            f"{estimator}: y mixes strings with other label types ({names}); "
            "labels must be all strings or all numbers, since they are sorted into classes_. "
            "Convert them first, e.g. y = np.asarray(y).astype(str)."
        )


def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray | None:
    """``sample_weight`` as a float64 array of shape (n_samples,), or None when None.

    A scalar is the same weight for every sample. Raises ``ValueError`` for the wrong
    shape, non-finite or negative weights, or weights that are all zero.
    """
    if sample_weight is None:
        return None
    s = np.asarray(sample_weight, dtype=np.float64)
    if s.ndim == 0:
        s = np.full(n_samples, float(s))
    if s.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), like y, got shape {s.shape}."
        )
    if not np.all(np.isfinite(s)):
        raise ValueError("sample_weight must be finite, got NaN or infinity.")
    if np.any(s < 0):
        raise ValueError(f"Negative values in sample_weight are not allowed: min {s.min():g}.")
    if not s.sum() > 0:
        raise ValueError("sample_weight must have a positive sum, got all zeros.")
    return s


# --- parameter constraints, declared once per estimator ----------------------------------
#
# Each estimator maps every parameter to one of these (``_parameter_constraints``) and
# checks them all in one place (``ScratchEstimator._validate_params``), before any work.


@dataclass(frozen=True)
class Integer:
    """An integer ≥ ``low`` (not a bool); None too when ``none``."""

    low: int = 1
    none: bool = False

    def check(self, value: Any, name: str) -> None:
        if not (value is None and self.none):
            check_int_param(value, name, min_value=self.low)


@dataclass(frozen=True)
class Real:
    """A finite number between ``low`` and ``high`` (None: unbounded above), each end
    included or not."""

    low: float
    high: float | None = None
    include_low: bool = True
    include_high: bool = True

    def check(self, value: Any, name: str) -> None:
        check_float_param(
            value, name, min_value=self.low, max_value=self.high,
            include_min=self.include_low, include_max=self.include_high,
        )


@dataclass(frozen=True)
class Options:
    """One of the strings ``values``; None too when ``none``, any callable when
    ``callables``."""

    values: tuple[str, ...]
    none: bool = False
    callables: bool = False

    def check(self, value: Any, name: str) -> None:
        if (value is None and self.none) or (self.callables and callable(value)):
            return
        if not (self.none or self.callables):
            check_option(value, name, self.values)
            return
        if not isinstance(value, str) or value not in self.values:
            choices = ", ".join(repr(option) for option in self.values)
            extra = ", None" if self.none else ""
            extra += " or a callable" if self.callables else ""
            raise ValueError(f"{name} must be one of {choices}{extra}, got {value!r}.")


@dataclass(frozen=True)
class Mapping:
    """A dict (its keys checked by the estimator), or None."""

    def check(self, value: Any, name: str) -> None:
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"{name} must be a dict or None, got {value!r}.")


@dataclass(frozen=True)
class ClassWeight:
    """``class_weight``: None, ``"balanced"``, or a dict {label: weight} of finite,
    non-negative numbers (its labels are matched to the classes at fit)."""

    def check(self, value: Any, name: str) -> None:
        if value is None or (isinstance(value, str) and value == "balanced"):
            return
        if isinstance(value, dict) and all(_is_weight(w) for w in value.values()):
            return
        raise ValueError(
            f"{name} must be None, 'balanced' or a dict {{label: weight}} of finite, "
            f"non-negative weights, got {value!r}."
        )


def _is_weight(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool | np.bool_)
        and bool(np.isfinite(value))
        and value >= 0
    )


@dataclass(frozen=True)
class Boolean:
    """True or False (NumPy's booleans too)."""

    def check(self, value: Any, name: str) -> None:
        if not isinstance(value, bool | np.bool_):
            raise ValueError(f"{name} must be True or False, got {value!r}.")


@dataclass(frozen=True)
class CallableOrNone:
    """A callable, or None."""

    def check(self, value: Any, name: str) -> None:
        if value is not None and not callable(value):
            raise ValueError(f"{name} must be callable or None, got {value!r}.")


@dataclass(frozen=True)
class Threads:
    """``n_jobs``: None, a positive number of threads, or −1, −2, … (all but |n|−1)."""

    def check(self, value: Any, name: str) -> None:
        check_n_jobs(value)


@dataclass(frozen=True)
class Seed:
    """What ``sklearn.utils.check_random_state`` takes: None, an int or a RandomState."""

    def check(self, value: Any, name: str) -> None:
        try:
            check_random_state(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be None, an integer or a numpy.random.RandomState, got "
                f"{value!r}."
            ) from None


def class_weight_vector(
    class_weight: Any, classes: np.ndarray, counts: np.ndarray, totals: np.ndarray
) -> np.ndarray:
    """One weight per class, as scikit-learn's ``compute_class_weight`` gives them.

    ``"balanced"``: n / (n_classes · count_c), from the per-class ``counts`` (each
    estimator says which: plain counts for ``RidgeClassifier``'s convention, sums of
    ``sample_weight`` for ``LogisticRegression``'s), n their sum; a dict: its value for
    each class found in it (scikit-learn's lookup, which tries ``int(label)`` first), 1
    for the others; None: all 1. ``totals`` (the sum of ``sample_weight`` in each class)
    must leave a positive total weight.

    Raises
    ------
    ValueError
        For a dict whose labels are not classes of y (when some class is missing from
        it), for ``"balanced"`` with a class of no weight, or when the weights then sum to 0.
    """
    from sklearn.utils.class_weight import compute_class_weight

    counts = np.asarray(counts, dtype=np.float64)
    if class_weight == "balanced" and not np.all(counts > 0):
        empty = classes[np.flatnonzero(~(counts > 0))].tolist()
        raise ValueError(
            f"class_weight='balanced' needs weight in every class; the classes {empty} have "
            "none (their sample_weight sums to 0). Pass class_weight as a dict instead."
        )
    # compute_class_weight counts y by its sample weights: one "sample" per class, weighted
    # by the class's count, is exactly the counts given.
    weights = compute_class_weight(class_weight, classes=classes, y=classes, sample_weight=counts)
    weights = np.asarray(weights, dtype=np.float64)
    if not float(weights @ np.asarray(totals, dtype=np.float64)) > 0:
        raise ValueError(
            f"class_weight={class_weight!r} leaves every sample a weight of 0 (classes "
            f"{classes.tolist()}); give some class a positive weight."
        )
    return weights


def weigh_classes(
    class_weight: Any, classes: np.ndarray, codes: np.ndarray,
    sample_weight: np.ndarray | None, *, by_sample_weight: bool,
) -> np.ndarray | None:
    """``sample_weight`` multiplied by each sample's class weight (:func:`class_weight_vector`),
    or ``sample_weight`` itself when ``class_weight`` is None. ``by_sample_weight``: whether
    ``"balanced"`` counts the classes by their sample weights (``LogisticRegression``) or
    by their samples (``RidgeClassifier``)."""
    if class_weight is None:
        return sample_weight
    C = len(classes)
    counted = np.bincount(codes, minlength=C).astype(np.float64)
    totals = counted if sample_weight is None else np.bincount(codes, sample_weight, C)
    per_class = class_weight_vector(
        class_weight, classes, totals if by_sample_weight else counted, totals
    )
    weights = per_class[codes]
    return weights if sample_weight is None else sample_weight * weights
