"""What each estimator's fitted state must look like: the per-estimator schema checks.

``check_state`` reads every stored attribute of a model file (and of a model being saved)
and checks its dtype, shape and values, and the relations ``fit`` guarantees between them,
for the estimator class named; an attribute it does not read is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._search import METRICS, PRECOMPUTED
from ..linear_model import HuberClassifier, LeastSquaresClassifier, SoftmaxRegression
from ..neighbors import KNeighborsClassifier, KNeighborsDensity, NearestNeighbors
from .format import (
    FLOAT,
    FLOAT64,
    FORMAT_VERSION,
    INT,
    ModelFileError,
    is_int,
    is_str_objects,
    plain_dtype,
)


class _Attributes:
    """Reads the fitted attributes, checking each; ``done`` refuses any left unread."""

    def __init__(self, cls: type, state: dict[str, Any], where: str):
        self.cls, self.state, self.where, self.read = cls.__name__, state, where, set()

    def fail(self, name: str, problem: str) -> ModelFileError:
        return ModelFileError(f"{self.where}: {self.cls} attribute {name} {problem}")

    def has(self, name: str) -> bool:
        return name in self.state

    def get(self, name: str) -> Any:
        if name not in self.state:
            raise self.fail(name, "is missing: a fitted model has it.")
        self.read.add(name)
        return self.state[name]

    def integer(self, name: str, min_value: int) -> int:
        value = self.get(name)
        if not is_int(value) or value < min_value:
            raise self.fail(name, f"must be an integer >= {min_value}, got {value!r}.")
        return int(value)

    def option(self, name: str, options: tuple[str, ...]) -> str:
        value = self.get(name)
        if not isinstance(value, str) or value not in options:
            raise self.fail(name, f"must be one of {options}, got {value!r}.")
        return value

    def array(self, name: str, dtypes: tuple[np.dtype, ...], shape: tuple) -> np.ndarray:
        """An ndarray of one of ``dtypes`` and ``shape`` (None: any length on that axis)."""
        value = self.get(name)
        if not isinstance(value, np.ndarray):
            raise self.fail(name, f"must be an array, got {type(value).__name__}.")
        if value.dtype not in dtypes:
            allowed = ", ".join(str(dtype) for dtype in dtypes)
            raise self.fail(name, f"has dtype {value.dtype}; expected {allowed}.")
        self.check_shape(name, value.shape, shape)
        return value

    def check_shape(self, name: str, found: tuple, expected: tuple) -> None:
        if len(found) != len(expected) or any(
            want is not None and size != want for size, want in zip(found, expected, strict=False)
        ):
            shown = tuple("any" if want is None else want for want in expected)
            raise self.fail(name, f"has shape {found}; expected {shown}.")

    def labels(self, name: str, min_classes: int) -> np.ndarray:
        """``classes_``: sorted distinct labels (booleans, numbers, or strings)."""
        value = self.get(name)
        if not isinstance(value, np.ndarray) or value.ndim != 1:
            raise self.fail(name, "must be a 1-D array.")
        if not (plain_dtype(value.dtype) or is_str_objects(value)):
            raise self.fail(name, f"has dtype {value.dtype}; expected labels.")
        if len(value) < min_classes:
            raise self.fail(name, f"holds {len(value)} classes; at least {min_classes} needed.")
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise self.fail(name, "holds NaN or infinity.")
        if len(value) > 1 and not np.all(value[1:] > value[:-1]):
            raise self.fail(name, "is not sorted and distinct, as fit makes it.")
        return value

    def codes(self, name: str, n_samples: int, n_classes: int) -> np.ndarray:
        """Class codes 0 … n_classes − 1, one per training sample."""
        codes = self.array(name, INT, (n_samples,))
        if codes.size and (codes.min() < 0 or codes.max() >= n_classes):
            raise self.fail(name, f"holds class codes outside 0 … {n_classes - 1}.")
        return codes

    def feature_names(self, n_features: int) -> None:
        if not self.has("feature_names_in_"):
            return
        names = self.get("feature_names_in_")
        if not isinstance(names, np.ndarray) or not (
            names.dtype.kind == "U" or is_str_objects(names)
        ):
            raise self.fail("feature_names_in_", "must be an array of strings.")
        self.check_shape("feature_names_in_", names.shape, (n_features,))

    def training_matrix(self, name: str, shape: tuple[int, int]) -> None:
        value = self.get(name)
        if sp.issparse(value):
            if value.format != "csr" or value.dtype not in FLOAT:
                raise self.fail(name, f"is a {value.format} matrix of {value.dtype}.")
            self.check_shape(name, value.shape, shape)
            self.finite(name, value.data)
        else:
            self.finite(name, self.array(name, FLOAT, shape))

    # --- values: what fit's arithmetic guarantees ---

    def finite(self, name: str, values: np.ndarray, cause: str = "") -> np.ndarray:
        """Refuse NaN and infinity: a model with them answers NaN (or one class) silently.
        ``cause``: how a fit could have left them, said when saving."""
        bad = np.count_nonzero(~np.isfinite(values))
        if bad:
            advice = f" {cause}" if cause and self.where.startswith("cannot save") else ""
            raise self.fail(
                name, f"holds NaN or infinity ({bad} of {values.size} values), so the model "
                f"cannot answer.{advice}"
            )
        return values

    def within(self, name: str, values: np.ndarray, low: float, high: float) -> None:
        """Every value in [low, high] (NaN is not)."""
        if not np.all((values >= low) & (values <= high)):
            raise self.fail(name, f"holds values outside [{low}, {high}] (or NaN).")

    def done(self) -> None:
        unknown = sorted(set(self.state) - self.read)
        if unknown and self.where.startswith("cannot save"):
            raise ModelFileError(
                f"{self.where}: it has fitted attributes {unknown} that the model file format "
                f"(version {FORMAT_VERSION}) does not describe. If the estimator gained them, "
                "describe them in scratchlearn._persistence.schema."
            )
        if unknown:
            raise ModelFileError(
                f"{self.where}: {self.cls} has no fitted attributes {unknown} (the file was "
                "written by another scratchlearn version, or edited)."
            )


def check_state(cls: type, state: dict[str, Any], where: str) -> None:
    """Check fitted attributes against what ``cls.fit`` produces; raise ModelFileError."""
    attributes = _Attributes(cls, state, where)
    _SCHEMAS[cls](cls, attributes)
    attributes.done()


def _check_neighbors(cls: type, a: _Attributes) -> None:
    n_features = a.integer("n_features_in_", 1)
    n_samples = a.integer("n_samples_fit_", 1)
    a.option("effective_metric_", (*METRICS, PRECOMPUTED))
    a.feature_names(n_features)
    a.training_matrix("_fit_X", (n_samples, n_features))
    labelled = ("classes_", "_y", "class_count_", "class_prior_")
    # NearestNeighbors has no labels: any labelled attribute is then refused as unknown.
    if cls is KNeighborsClassifier or (
        cls is KNeighborsDensity and any(a.has(name) for name in labelled)
    ):
        classes = a.labels("classes_", 1)
        codes = a.codes("_y", n_samples, len(classes))
        counted = np.bincount(codes, minlength=len(classes))
        if not np.all(counted):  # fit takes classes_ from y
            raise a.fail("classes_", "holds a class that no training sample (_y) has.")
        if cls is KNeighborsDensity:
            count = a.array("class_count_", INT, (len(classes),))
            if not np.array_equal(count, counted):
                raise a.fail("class_count_", "does not count the classes of _y.")
            prior = a.array("class_prior_", FLOAT64, (len(classes),))
            # Bit for bit what fit computes, N_c / N in float64 (so never NaN or infinity).
            if not np.array_equal(prior, count / n_samples):
                raise a.fail("class_prior_", "is not class_count_ / n_samples_fit_.")


def _check_linear(cls: type, a: _Attributes) -> None:
    classes = a.labels("classes_", 2)
    n_features = a.integer("n_features_in_", 1)
    a.feature_names(n_features)
    n_rows = 1 if len(classes) == 2 else len(classes)
    cause = (
        "A fit keeps its weights finite in X's dtype (a diverged one keeps its last finite "
        "weights), so they were changed after fit: refit the model."
    )
    coef = a.finite("coef_", a.array("coef_", FLOAT, (n_rows, n_features)), cause)
    a.finite("intercept_", a.array("intercept_", (coef.dtype,), (n_rows,)), cause)
    if cls is HuberClassifier:
        a.integer("n_iter_", 1)  # the least-squares start counts as the first
        weights = a.array("weights_", FLOAT64, (None, n_rows))
        a.within("weights_", weights, 0.0, 1.0)  # min(1, ε/|r|)
    if cls is SoftmaxRegression:
        n_iter = a.integer("n_iter_", 0)
        curve = a.array("loss_curve_", FLOAT64, (n_iter + 1,))  # J(θ₀), then each iteration
        # A diverged fit stops at its first non-finite J, kept as the last entry.
        a.finite("loss_curve_", curve[:-1])


#: Each estimator's schema check.
_SCHEMAS = {
    KNeighborsClassifier: _check_neighbors,
    KNeighborsDensity: _check_neighbors,
    NearestNeighbors: _check_neighbors,
    LeastSquaresClassifier: _check_linear,
    HuberClassifier: _check_linear,
    SoftmaxRegression: _check_linear,
}
