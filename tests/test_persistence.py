"""Model files (``scratchlearn.save`` / ``scratchlearn.load``) and versioned pickles.

A saved model loads with the same parameters, the same fitted arrays (values and dtypes)
and the same answers, for every public estimator and fit option; ``load`` refuses
anything else with a ValueError and never runs code from the file.
"""

from __future__ import annotations

import copy
import inspect
import io
import json
import os
import pathlib
import pickle
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial import KDTree
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import scratchlearn
from scratchlearn import (
    HuberClassifier,
    KNeighborsClassifier,
    KNeighborsDensity,
    LeastSquaresClassifier,
    NearestNeighbors,
    SoftmaxRegression,
    _persistence,
    _versioning,
    load,
    save,
)
from scratchlearn.exceptions import InconsistentVersionWarning

# --- data and the fitted models -------------------------------------------------------


def make_data(kind: str, labels: str | None, seed: int = 0, n_classes: int = 3):
    """Training and query sets: X as dense float64/float32, CSR or a DataFrame; y as
    int, str or object labels (None: no labels)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, 90)
    X = rng.normal(size=(90, 3)) + y[:, None]
    Q = rng.normal(size=(25, 3)) + 1
    Q[:3] = X[:3]  # exact matches: distance 0, ties
    if kind in ("csr", "csr_array"):
        X[rng.random(X.shape) < 0.5] = 0
        Q[rng.random(Q.shape) < 0.5] = 0
        make = sp.csr_matrix if kind == "csr" else sp.csr_array
        X, Q = make(X), make(Q)
    elif kind == "float32":
        X, Q = X.astype(np.float32), Q.astype(np.float32)
    elif kind == "frame":
        X, Q = pd.DataFrame(X, columns=["a", "b", "c"]), pd.DataFrame(Q, columns=["a", "b", "c"])
    if labels == "str":
        y = np.array(["ant", "bee", "cat", "dog"])[y]
    elif labels == "object":
        y = np.array(["ant", "bee", "cat", "dog"], dtype=object)[y]
    elif labels is None:
        y = None
    return X, y, Q


@dataclass
class Case:
    id: str
    make: Callable[[], BaseEstimator]
    data: str = "dense"
    labels: str | None = "int"
    n_classes: int = 3
    fit_kwargs: dict = field(default_factory=dict)

    def fit(self):
        X, y, Q = make_data(self.data, self.labels, n_classes=self.n_classes)
        kwargs = {
            name: value(X) if callable(value) else value for name, value in self.fit_kwargs.items()
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # short runs of the iterative solvers
            model = self.make().fit(X, y, **kwargs) if y is not None else self.make().fit(X)
        return model, X, y, Q


def sample_weights(X):
    return np.random.default_rng(3).uniform(0.2, 3, X.shape[0])


def _knn_cases(cls, prefix):
    cases = []
    for algorithm in ("auto", "brute", "kd_tree"):
        for metric, p in (("euclidean", 2), ("manhattan", 2), ("chebyshev", 2),
                          ("minkowski", 3), ("minkowski", np.inf)):
            cases.append(Case(
                f"{prefix}-{algorithm}-{metric}-p{p}",
                lambda a=algorithm, m=metric, p=p: cls(4, algorithm=a, metric=m, p=p),
            ))
    cases += [
        Case(f"{prefix}-float32-kd_tree", lambda: cls(3, algorithm="kd_tree"), data="float32"),
        Case(f"{prefix}-float32-brute", lambda: cls(3, algorithm="brute"), data="float32"),
        Case(f"{prefix}-csr-auto", lambda: cls(5), data="csr"),
        Case(f"{prefix}-csr_array-brute", lambda: cls(5, algorithm="brute"), data="csr_array"),
        Case(f"{prefix}-str-labels", lambda: cls(3), labels="str"),
        Case(f"{prefix}-dataframe-object-labels", lambda: cls(3), data="frame", labels="object"),
        Case(f"{prefix}-k1-l1-alias", lambda: cls(1, metric="l1", n_jobs=1)),
    ]
    return cases


CASES: dict[type, list[Case]] = {
    KNeighborsClassifier: [
        *_knn_cases(KNeighborsClassifier, "knn"),
        Case("knn-distance-weights", lambda: KNeighborsClassifier(5, weights="distance")),
        Case("knn-brute-sqeuclidean",
             lambda: KNeighborsClassifier(4, algorithm="brute", metric="sqeuclidean")),
        Case("knn-auto-cosine", lambda: KNeighborsClassifier(4, metric="cosine")),
        Case("knn-csr-sq", lambda: KNeighborsClassifier(4, metric="sqeuclidean"), data="csr"),
        Case("knn-one-class", lambda: KNeighborsClassifier(2), n_classes=1),
    ],
    KNeighborsDensity: [
        *_knn_cases(KNeighborsDensity, "density"),
        *(Case(f"density-unlabelled-{a}", lambda a=a: KNeighborsDensity(4, algorithm=a),
               labels=None) for a in ("auto", "brute", "kd_tree")),
        Case("density-unlabelled-csr", lambda: KNeighborsDensity(4), data="csr", labels=None),
        Case("density-unlabelled-float32", lambda: KNeighborsDensity(4), data="float32",
             labels=None),
    ],
    NearestNeighbors: [
        Case("nn-auto", lambda: NearestNeighbors(n_neighbors=4, radius=0.8), labels=None),
        Case("nn-csr-cosine", lambda: NearestNeighbors(n_neighbors=3, metric="cosine"),
             data="csr", labels=None),
        Case("nn-weighted-minkowski", lambda: NearestNeighbors(
            metric_params={"p": 3, "w": [1.0, 2.0, 0.5]}), labels=None),
    ],
    LeastSquaresClassifier: [
        Case("lsq-binary", LeastSquaresClassifier, n_classes=2),
        Case("lsq-multiclass", LeastSquaresClassifier),
        Case("lsq-ridge-no-intercept",
             lambda: LeastSquaresClassifier(alpha=0.5, fit_intercept=False)),
        Case("lsq-sample-weight", LeastSquaresClassifier,
             fit_kwargs={"sample_weight": sample_weights}),
        Case("lsq-float32", LeastSquaresClassifier, data="float32"),
        Case("lsq-str-labels", LeastSquaresClassifier, labels="str", n_classes=2),
        Case("lsq-dataframe", LeastSquaresClassifier, data="frame", labels="object"),
    ],
    HuberClassifier: [
        Case("huber-binary", HuberClassifier, n_classes=2),
        Case("huber-multiclass", lambda: HuberClassifier(epsilon=0.5, alpha=0.1)),
        Case("huber-sample-weight", HuberClassifier, fit_kwargs={"sample_weight": sample_weights}),
        Case("huber-float32", HuberClassifier, data="float32", n_classes=2),
        Case("huber-max-iter-1", lambda: HuberClassifier(max_iter=1, fit_intercept=False)),
        Case("huber-dataframe", HuberClassifier, data="frame", labels="str"),
    ],
    SoftmaxRegression: [
        *(Case(f"softmax-{solver}", lambda s=solver: SoftmaxRegression(
            s, learning_rate=0.05, max_iter=15, random_state=0))
          for solver in ("lbfgs", "gd", "sgd", "momentum", "nesterov", "adam")),
        Case("softmax-binary", lambda: SoftmaxRegression(alpha=0.01), n_classes=2),
        Case("softmax-float32", lambda: SoftmaxRegression(max_iter=20), data="float32"),
        Case("softmax-sgd-batch", lambda: SoftmaxRegression(
            "sgd", batch_size=16, max_iter=5, random_state=3, tol=0.0), labels="str"),
        Case("softmax-dataframe", lambda: SoftmaxRegression(max_iter=20), data="frame",
             labels="object"),
    ],
}
if "sample_weight" in inspect.signature(SoftmaxRegression.fit).parameters:
    CASES[SoftmaxRegression].append(Case(
        "softmax-sample-weight", lambda: SoftmaxRegression(max_iter=20),
        fit_kwargs={"sample_weight": sample_weights},
    ))
ALL_CASES = [case for cases in CASES.values() for case in cases]

# Every query method of the estimators; X=None is leave-one-out for the kNN ones.
METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function",
           "score_samples", "class_log_density", "kneighbors")


def public_estimators() -> set[type]:
    found = {getattr(scratchlearn, name) for name in scratchlearn.__all__}
    return {obj for obj in found if inspect.isclass(obj) and issubclass(obj, BaseEstimator)}


def test_cases_cover_every_public_estimator():
    assert set(CASES) == public_estimators() == set(_persistence.ESTIMATORS.values())
    assert all(CASES.values())


# --- comparing models ---------------------------------------------------------------


def assert_same_value(a, b, name):
    assert type(a) is type(b), name
    if isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, strict=True, err_msg=name)
    elif sp.issparse(a):
        assert a.shape == b.shape, name
        for part in ("data", "indices", "indptr"):
            np.testing.assert_array_equal(getattr(a, part), getattr(b, part), strict=True)
    elif isinstance(a, KDTree):
        for part in ("data", "indices", "maxes", "mins"):
            np.testing.assert_array_equal(getattr(a, part), getattr(b, part), strict=True)
        assert (a.leafsize, a.m, a.n) == (b.leafsize, b.m, b.n)
    else:
        assert a == b, name


def assert_same_state(a, b):
    """Same class, parameters and fitted attributes (arrays equal with their dtypes)."""
    assert type(a) is type(b)
    assert a.get_params() == b.get_params()
    assert vars(a).keys() == vars(b).keys()
    for name, value in vars(a).items():
        assert_same_value(value, vars(b)[name], name)


def outcome(call):
    """The result of ``call()``, or the type and message of what it raised."""
    try:
        return ("returned", call())
    except (ValueError, AttributeError, NotFittedError) as error:
        return ("raised", type(error), str(error))


def assert_same_result(x, y, method):
    if isinstance(x, tuple):  # kneighbors: (distances, indices)
        assert isinstance(y, tuple) and len(x) == len(y), method
        for a, b in zip(x, y, strict=True):
            np.testing.assert_array_equal(a, b, strict=True, err_msg=method)
    else:
        np.testing.assert_array_equal(x, y, strict=True, err_msg=method)


def assert_same_answers(a, b, Q):
    """Every query method gives identical arrays (or the same error), on Q and, for the
    kNN estimators, leave-one-out (X=None)."""
    compared = 0
    neighbors = isinstance(a, scratchlearn.neighbors._base.NeighborsBase)
    for method in METHODS:
        if not hasattr(a, method):
            continue
        for X in [Q, None] if neighbors else [Q]:
            left = outcome(lambda m=method, X=X: getattr(a, m)(X))
            right = outcome(lambda m=method, X=X: getattr(b, m)(X))
            assert left[0] == right[0], (method, left, right)
            if left[0] == "raised":
                assert left[1:] == right[1:], method
            else:
                assert_same_result(left[1], right[1], method)
                compared += 1
    assert compared >= 2


# --- round trips ----------------------------------------------------------------------


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case.id)
def test_round_trip_keeps_parameters_attributes_and_answers(case, tmp_path):
    model, X, y, Q = case.fit()
    path = save(model, tmp_path / "model.npz")
    assert path == tmp_path / "model.npz"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary file left
    loaded = load(path)
    assert_same_state(model, loaded)
    assert_same_answers(model, loaded, Q)
    # Saving the loaded model writes the same bytes: nothing is lost or reordered.
    save(loaded, tmp_path / "again.npz")
    assert (tmp_path / "again.npz").read_bytes() == path.read_bytes()
    # The loaded model refits like a new one.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kwargs = {k: v(X) if callable(v) else v for k, v in case.fit_kwargs.items()}
        refit = loaded.fit(X, y, **kwargs) if y is not None else loaded.fit(X)
        fresh = clone(model).fit(X, y, **kwargs) if y is not None else clone(model).fit(X)
    assert_same_answers(fresh, refit, Q)


@pytest.mark.parametrize("cls", sorted(CASES, key=lambda cls: cls.__name__))
def test_unfitted_estimators_round_trip(cls, tmp_path):
    model = CASES[cls][-1].make()
    loaded = load(save(model, tmp_path / "unfitted.npz"))
    assert type(loaded) is cls
    assert loaded.get_params() == model.get_params()
    assert vars(loaded) == vars(model)
    with pytest.raises(NotFittedError):
        check_is_fitted(loaded)


def test_numpy_scalar_parameters_are_saved_as_json_numbers(tmp_path):
    model = KNeighborsClassifier(np.int64(3), p=np.float64(2.5), metric="minkowski")
    loaded = load(save(model, tmp_path / "m.npz"))
    assert loaded.get_params() == model.get_params()
    assert type(loaded.n_neighbors) is int


def test_numpy_scalar_attributes_load_as_the_same_numpy_scalars(tmp_path):
    # Fitted attributes computed with NumPy are often NumPy scalars (np.int64 from a sum).
    X, y, Q = make_data("dense", "int")
    model = SoftmaxRegression().fit(X, y)
    model.n_iter_ = np.sum(np.ones(model.n_iter_, dtype=np.int64))
    assert type(model.n_iter_) is np.int64
    loaded = load(save(model, tmp_path / "m.npz"))
    assert_same_state(model, loaded)  # the same value and the same type
    assert_same_answers(model, loaded, Q)


# --- what save refuses ------------------------------------------------------------------


def test_save_refuses_parameters_that_are_not_json(tmp_path):
    with pytest.raises(ValueError, match="callback"):
        save(SoftmaxRegression(callback=print), tmp_path / "m.npz")
    with pytest.raises(ValueError, match="random_state"):
        save(SoftmaxRegression(random_state=np.random.RandomState(0)), tmp_path / "m.npz")
    assert not any(tmp_path.iterdir())


def test_save_refuses_other_classes_and_unknown_state(tmp_path):
    class Mine(KNeighborsClassifier):
        pass

    with pytest.raises(ValueError, match="scratchlearn's own estimators"):
        save(Mine(), tmp_path / "m.npz")
    with pytest.raises(ValueError, match="scratchlearn's own estimators"):
        save(clone, tmp_path / "m.npz")
    X, y, _ = make_data("dense", "int")
    model = LeastSquaresClassifier().fit(X, y)
    model.extra_ = 1
    with pytest.raises(ValueError, match=r"\['extra_'\]"):
        save(model, tmp_path / "m.npz")
    del model.extra_
    model.classes_ = np.array([1, "a", 2], dtype=object)
    with pytest.raises(ValueError, match="classes_ is an object array holding a int"):
        save(model, tmp_path / "m.npz")
    assert not any(tmp_path.iterdir())


def test_a_failed_save_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    X, y, Q = make_data("dense", "int")
    old = KNeighborsClassifier(3).fit(X, y)
    path = save(old, tmp_path / "model.npz")
    before = path.read_bytes()
    calls = []

    def failing_write(member, array, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real_write(member, array, **kwargs)

    real_write = np.lib.format.write_array
    monkeypatch.setattr(np.lib.format, "write_array", failing_write)
    with pytest.raises(OSError, match="No space"):
        save(KNeighborsClassifier(5).fit(X, y), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    assert_same_answers(old, load(path), Q)


# --- what load refuses ------------------------------------------------------------------


@pytest.fixture
def model_file(tmp_path):
    X, y, _ = make_data("dense", "str")
    return save(KNeighborsDensity(3, algorithm="kd_tree").fit(X, y), tmp_path / "model.npz")


def members_of(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def npy_bytes(array, allow_pickle=False) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def write_zip(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def rewrite(path, header=None, **arrays):
    """Rewrite a model file with header fields replaced (None: removed) and members
    replaced (arrays; None: removed); valid zip and CRCs, so only ``load``'s checks act."""
    members = members_of(path)
    text = json.loads(str(np.lib.format.read_array(io.BytesIO(members["header.npy"]))))
    for key, value in (header or {}).items():
        target, *keys = key.split(".")
        node = text
        for part in [target, *keys][:-1]:
            node = node[part]
        if value is None:
            node.pop([target, *keys][-1])
        else:
            node[[target, *keys][-1]] = value
    members["header.npy"] = npy_bytes(np.array(json.dumps(text)))
    for name, array in arrays.items():
        if array is None:
            members.pop(f"{name}.npy")
        else:
            members[f"{name}.npy"] = npy_bytes(array, allow_pickle=array.dtype == object)
    return write_zip(path, members)


def test_refuses_a_real_pickle(model_file, tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(load(model_file)))
    with pytest.raises(ValueError, match=r"is a pickle.*never unpickles"):
        load(path)


class TouchOnUnpickle:
    """Unpickling this object creates the file ``target``: a stand-in for any code."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.target),))


def test_a_crafted_pickle_is_refused_without_running(tmp_path):
    payload = pickle.dumps(TouchOnUnpickle(tmp_path / "control"))
    pickle.loads(payload)  # the payload is live: unpickling it runs the code
    assert (tmp_path / "control").exists()
    for protocol in (0, 2, 5):
        target = tmp_path / f"pwned-{protocol}"
        path = tmp_path / f"model-{protocol}.npz"
        path.write_bytes(pickle.dumps(TouchOnUnpickle(target), protocol=protocol))
        with pytest.raises(ValueError, match="not a scratchlearn model file"):
            load(path)
        assert not target.exists()


def test_an_object_array_member_is_refused_without_running(model_file, tmp_path):
    control = np.array([TouchOnUnpickle(tmp_path / "control")], dtype=object)
    np.savez(tmp_path / "control.npz", evil=control)
    np.load(tmp_path / "control.npz", allow_pickle=True)["evil"]  # live payload
    assert (tmp_path / "control").exists()
    target = tmp_path / "pwned"
    evil = np.array([TouchOnUnpickle(target)], dtype=object)
    # As an attribute of a valid model file, as an extra member, and in a plain .npz.
    rewrite(model_file, classes_=evil)
    with pytest.raises(ValueError, match="object array"):
        load(model_file)
    np.savez(tmp_path / "plain.npz", header=np.array("{}"), classes_=evil)
    with pytest.raises(ValueError, match="object array"):
        load(tmp_path / "plain.npz")
    np.savez_compressed(tmp_path / "compressed.npz", header=np.array("{}"), classes_=evil)
    with pytest.raises(ValueError, match="compressed"):
        load(tmp_path / "compressed.npz")
    assert not target.exists()


@pytest.mark.parametrize("name", [
    "sklearn.linear_model.LogisticRegression", "os.system", "builtins.eval",
    "KNeighborsClassifier", "scratchlearn._persistence.ModelFileError",
    "scratchlearn.neighbors._base.NeighborsBase", 42, None,
])
def test_refuses_a_foreign_class(model_file, name):
    rewrite(model_file, header={"estimator": name})
    with pytest.raises(ValueError, match=r"not one of scratchlearn's estimators"):
        load(model_file)


def test_refuses_a_newer_format_version(model_file):
    rewrite(model_file, header={"format_version": _persistence.FORMAT_VERSION + 1,
                                "scratchlearn_version": "99.0"})
    with pytest.raises(ValueError, match=r"format version 2 \(by scratchlearn 99.0\).*Upgrade"):
        load(model_file)


@pytest.mark.parametrize("version", [0, -1, "1", 1.0, True, None])
def test_refuses_an_invalid_format_version(model_file, version):
    rewrite(model_file, header={"format_version": version})
    with pytest.raises(ValueError, match="invalid format_version"):
        load(model_file)


def test_refuses_truncated_files_at_every_length(model_file, tmp_path):
    data = model_file.read_bytes()
    path = tmp_path / "cut.npz"
    for length in [*range(0, len(data), 37), len(data) - 1]:
        path.write_bytes(data[:length])
        with pytest.raises(ValueError, match=r"scratchlearn\.load"):
            load(path)


def test_refuses_files_that_are_not_model_files(tmp_path):
    cases = {
        "empty": b"",
        "text": b"hello, world\n",
        "npy": npy_bytes(np.arange(3.0)),
        "gzip": b"\x1f\x8b\x08\x00garbage",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    write_zip(tmp_path / "other-zip", {"hello.txt": b"hi"})
    write_zip(tmp_path / "empty-zip", {})
    np.savez(tmp_path / "other.npz", a=np.arange(3))
    np.savez(tmp_path / "other-header.npz", header=np.array('{"format": "other"}'))
    np.savez(tmp_path / "list-header.npz", header=np.array("[1, 2]"))
    np.savez(tmp_path / "array-header.npz", header=np.arange(3))
    np.savez(tmp_path / "bad-json.npz", header=np.array("{not json"))
    np.savez(tmp_path / "deep-json.npz", header=np.array("[" * 100_000))
    expected = {
        "empty": "is empty", "text": "not a zip", "npy": "NumPy .npy", "gzip": "not a zip",
        "other-zip": "no header.npy", "empty-zip": "empty zip", "other.npz": "no header.npy",
        "other-header.npz": "not a scratchlearn model file",
        "list-header.npz": "not a scratchlearn model file",
        "array-header.npz": "not a string", "bad-json.npz": "not valid JSON",
        "deep-json.npz": "not valid JSON",
    }
    for name, message in expected.items():
        with pytest.raises(ValueError, match=message):
            load(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


def test_refuses_wrong_attributes(model_file):
    """Each change to a valid file (with valid CRCs) that fit could not have produced."""
    original = model_file.read_bytes()
    n, d = 90, 3
    bad = {
        "_fit_X as float16": ({}, {"_fit_X": np.zeros((n, d), np.float16)}, "dtype float16"),
        "_fit_X as complex": ({}, {"_fit_X": np.zeros((n, d), complex)}, "dtype complex"),
        "_fit_X big-endian": ({}, {"_fit_X": np.zeros((n, d), ">f8")}, "dtype >f8"),
        "_fit_X short": ({}, {"_fit_X": np.zeros((n - 1, d))}, r"shape \(89, 3\)"),
        "_fit_X 1-D": ({}, {"_fit_X": np.zeros(n)}, r"shape \(90,\)"),
        "_fit_X NaN": ({}, {"_fit_X": np.full((n, d), np.nan)}, "NaN"),
        "_fit_X structured": ({}, {"_fit_X": np.zeros(n, "f8,f8")}, "unsupported dtype"),
        "codes out of range": ({}, {"_y": np.full(n, 7)}, "outside 0"),
        "negative codes": ({}, {"_y": np.full(n, -1)}, "outside 0"),
        "codes as floats": ({}, {"_y": np.zeros(n)}, "dtype float64"),
        "classes unsorted": ({}, {"classes_": np.array(["cat", "bee", "ant"])}, "sorted"),
        "classes 2-D": ({}, {"classes_": np.array([["a", "b", "c"]])}, "1-D"),
        "class counts": ({}, {"class_count_": np.array([90, 0, 0])}, "does not count"),
        "prior above 1": ({}, {"class_prior_": np.array([2.0, 0, 0])},
                          r"class_prior_ is not class_count_ / n_samples_fit_"),
        "missing member": ({}, {"_y": None}, "missing member"),
        "extra member": ({}, {"spare": np.zeros(2)}, "belong to no attribute"),
        "unknown attribute": ({"attributes.evil_": {"kind": "json", "value": 1}}, {},
                              r"\['evil_'\]"),
        "missing attribute": ({"attributes.n_samples_fit_": None}, {}, "missing"),
        "attribute as list": ({"attributes.n_samples_fit_": {"kind": "json", "value": [1]}},
                              {}, "holds list"),
        "wrong sample count": (
            {"attributes.n_samples_fit_": {"kind": "json", "value": 89}}, {}, r"shape"),
        "unknown kind": ({"attributes._fit_X": {"kind": "pickle", "member": "_fit_X"}}, {},
                         "unknown kind 'pickle'"),
        "unknown metric": (
            {"attributes.effective_metric_": {"kind": "json", "value": "evil"}}, {}, "one of"),
        "metric mismatch": (
            {"attributes.effective_metric_": {"kind": "json", "value": "manhattan"}}, {},
            "give 'euclidean'"),
        "unknown parameter": ({"params.evil": 1}, {}, r"no parameters \['evil'\]"),
        "bad parameter": ({"params.n_neighbors": "many"}, {}, "n_neighbors must be"),
        "k above n": ({"params.n_neighbors": 1000}, {}, "n_neighbors=1000"),
        "density with cosine": ({"params.metric": "cosine"}, {}, "got metric='cosine'"),
        "params not an object": ({"params": [1]}, {}, "'params' is not an object"),
        "header not an object": ({"attributes": "x"}, {}, "'attributes' is not an object"),
    }
    for name, (header, arrays, message) in bad.items():
        model_file.write_bytes(original)
        rewrite(model_file, header=header, **arrays)
        with pytest.raises(ValueError, match=message) as raised:
            load(model_file)
        assert "scratchlearn.load" in str(raised.value), name


def test_refuses_wrong_linear_and_sparse_attributes(tmp_path):
    X, y, _ = make_data("dense", "int")
    linear = save(SoftmaxRegression(max_iter=30).fit(X, y), tmp_path / "softmax.npz")
    original = linear.read_bytes()
    for arrays, message in (
        ({"coef_": np.zeros((2, 3))}, r"shape \(2, 3\); expected \(3, 3\)"),
        ({"intercept_": np.zeros(3, np.float32)}, "dtype float32; expected float64"),
        ({"loss_curve_": np.zeros((2, 2))}, "shape"),
        ({"classes_": np.array([0])}, "at least 2"),
        ({"classes_": np.array([0.0, np.nan, 1.0])}, "NaN"),
    ):
        linear.write_bytes(original)
        rewrite(linear, **arrays)
        with pytest.raises(ValueError, match=message):
            load(linear)
    linear.write_bytes(original)
    rewrite(linear, header={"params.solver": "magic"})
    with pytest.raises(ValueError, match="solver must be one of"):
        load(linear)

    X, y, _ = make_data("csr", "int")
    sparse = save(KNeighborsClassifier(3).fit(X, y), tmp_path / "sparse.npz")
    original = sparse.read_bytes()
    indptr = X.indptr.copy()
    indptr[5] = 10_000
    for header, arrays, message in (
        ({}, {"_fit_X.indptr": indptr}, "indptr|index pointer"),
        ({}, {"_fit_X.indices": X.indices.astype(np.float64)}, "CSR"),
        ({}, {"_fit_X.indptr": X.indptr[:-1]}, "inconsistent shapes"),
        ({"attributes._fit_X.shape": [90]}, {}, "not a valid CSR"),
    ):
        sparse.write_bytes(original)
        rewrite(sparse, header=header, **arrays)
        with pytest.raises(ValueError, match=message):
            load(sparse)


# --- members as numpy and fit write them ---------------------------------------------------


@pytest.mark.parametrize("cls", [KNeighborsClassifier, KNeighborsDensity])
def test_a_model_fitted_on_an_all_zero_sparse_matrix_round_trips(cls, tmp_path):
    """No stored values: _fit_X.data and _fit_X.indices are empty members."""
    X, y = sp.csr_matrix((12, 4)), np.arange(12) % 3
    Q = sp.csr_matrix(np.eye(3, 4))
    model = cls(3).fit(X, y)
    path = save(model, tmp_path / "zeros.npz")
    assert len(members_of(path)["_fit_X.data.npy"]) == len(npy_bytes(np.zeros(0)))
    loaded = load(path)
    assert_same_state(model, loaded)
    assert_same_answers(model, loaded, Q)


def test_members_in_npy_format_2_load(model_file):
    """numpy writes format 2.0 when a header outgrows 1.0's (or when asked): both load."""
    before = load(model_file)
    members = {name: np.lib.format.read_array(io.BytesIO(data))
               for name, data in members_of(model_file).items()}
    rewritten = {}
    for name, array in members.items():
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array, version=(2, 0))
        assert buffer.getvalue()[6:8] == b"\x02\x00"
        rewritten[name] = buffer.getvalue()
    write_zip(model_file, rewritten)
    assert_same_state(before, load(model_file))


def test_feature_names_must_be_strings(tmp_path):
    X, y, _ = make_data("frame", "int")
    path = save(LeastSquaresClassifier().fit(X, y), tmp_path / "model.npz")
    original = path.read_bytes()
    numbers = (np.arange(3), np.array([0.5, 1.5, 2.5]), np.array([True, False, True]))
    for names in (*numbers, np.zeros(0)):  # no strings, whatever its length
        path.write_bytes(original)
        rewrite(path, header={"attributes.feature_names_in_.kind": "array"},
                feature_names_in_=names)
        with pytest.raises(ValueError, match="feature_names_in_ must be an array of strings"):
            load(path)
    path.write_bytes(original)
    rewrite(path, feature_names_in_=np.arange(3))
    with pytest.raises(ValueError, match="feature_names_in_ does not hold strings"):
        load(path)


# --- fitted values: finite, and related as fit relates them ------------------------------

#: Every float attribute that fit sets, per estimator (classes_ aside: float labels are
#: checked as labels).
FLOAT_ATTRIBUTES = {
    KNeighborsClassifier: ("_fit_X",),
    KNeighborsDensity: ("_fit_X", "class_prior_"),
    LeastSquaresClassifier: ("coef_", "intercept_"),
    HuberClassifier: ("coef_", "intercept_", "weights_"),
    SoftmaxRegression: ("coef_", "intercept_", "loss_curve_"),
}
CASES_BY_ID = {case.id: case for case in ALL_CASES}
#: One fit per estimator and training-set kind, each with every attribute of FLOAT_ATTRIBUTES.
FLOAT_CASES = ("knn-auto-euclidean-p2", "knn-csr-auto", "density-str-labels",
               "density-csr-auto", "lsq-multiclass", "huber-multiclass", "softmax-gd")


@pytest.mark.parametrize("case", [cases[0] for cases in CASES.values()], ids=lambda c: c.id)
def test_a_model_file_stores_what_the_estimator_declares(case):
    # Each estimator declares its fitted attributes once (``_fitted``): a fit sets only
    # those, and a model file stores the declared ones that are not derived.
    model, *_ = case.fit()
    declared = type(model)._fitted
    params = set(model.get_params(deep=False))
    assert set(vars(model)) - params <= set(declared.names)
    assert set(_persistence.fitted_state(model)) <= set(declared.stored)


@pytest.mark.parametrize("case_id", FLOAT_CASES)
def test_the_float_attributes_listed_are_all_there_are(case_id):
    model, *_ = CASES_BY_ID[case_id].fit()
    state = _persistence.fitted_state(model)
    floats = {name for name, value in state.items()
              if (isinstance(value, np.ndarray) or sp.issparse(value))
              and value.dtype.kind == "f" and name != "classes_"}
    assert floats == set(FLOAT_ATTRIBUTES[type(model)])


def with_value(array, value):
    """A copy of ``array`` (dense or CSR) with its first stored value set to ``value``."""
    array = array.copy()
    (array.data if sp.issparse(array) else array.reshape(-1))[0] = value
    return array


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(("case_id", "name"), [
    (case_id, name) for case_id in FLOAT_CASES
    for name in FLOAT_ATTRIBUTES[type(CASES_BY_ID[case_id].make())]
])
def test_non_finite_attributes_are_refused_by_save_and_load(case_id, name, value, tmp_path):
    model, *_ = CASES_BY_ID[case_id].fit()
    path = save(model, tmp_path / "model.npz")
    bad = with_value(getattr(model, name), value)
    setattr(model, name, bad)
    with pytest.raises(ValueError, match=rf"cannot save \w+: \w+ attribute {name} ") as raised:
        save(model, tmp_path / "bad.npz")
    if name in ("coef_", "intercept_"):  # a diverged float32 fit can leave infinite weights
        assert "refit" in str(raised.value)
    assert not (tmp_path / "bad.npz").exists()
    if sp.issparse(bad):
        rewrite(path, **{f"{name}.data": bad.data})
    else:
        rewrite(path, **{name: bad})
    with pytest.raises(ValueError, match=rf"scratchlearn\.load: .* attribute {name} "):
        load(path)


def fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


@pytest.mark.parametrize(("learning_rate", "alpha", "last"), [(1e7, 1.0, np.inf),
                                                              (1e300, 0.0, np.nan)])
def test_a_diverged_fit_saves_and_loads(learning_rate, alpha, last, tmp_path):
    """The one non-finite value fit leaves: a diverged fit stops at its first non-finite
    loss, the last entry of loss_curve_ (its weights, the last finite ones, are kept)."""
    X, y, Q = make_data("dense", "int")
    model = fit_quietly(SoftmaxRegression("gd", learning_rate=learning_rate, alpha=alpha,
                                          max_iter=50), X, y)
    np.testing.assert_array_equal(model.loss_curve_[-1], last)
    assert np.all(np.isfinite(model.loss_curve_[:-1])) and np.all(np.isfinite(model.coef_))
    loaded = load(save(model, tmp_path / "diverged.npz"))
    assert_same_state(model, loaded)
    assert_same_answers(model, loaded, Q)


def test_attributes_that_contradict_each_other_are_refused(tmp_path):
    X, y, _ = make_data("dense", "str")
    density = save(KNeighborsDensity(3).fit(X, y), tmp_path / "density.npz")
    prior = load(density).class_prior_
    huber = save(fit_quietly(HuberClassifier(epsilon=0.5), X, y), tmp_path / "huber.npz")
    softmax = save(SoftmaxRegression(max_iter=20).fit(X, y), tmp_path / "softmax.npz")
    n_iter = load(softmax).n_iter_
    classifier = save(KNeighborsClassifier(3).fit(X, y), tmp_path / "knn.npz")
    cases = {
        "prior one ulp off": (density, {}, {"class_prior_": np.nextafter(prior, 1)},
                              "class_prior_ is not class_count_ / n_samples_fit_"),
        "prior of other counts": (density, {}, {"class_prior_": np.full(3, 1 / 3)},
                                  "class_prior_ is not class_count_ / n_samples_fit_"),
        "class without samples": (classifier, {}, {"classes_": np.array(["a", "b", "c", "d"])},
                                  "classes_ holds a class that no training sample"),
        "density class without samples": (
            density, {}, {"classes_": np.array(["a", "b", "c", "d"]),
                          "class_count_": np.array([30, 30, 30, 0])},
            "classes_ holds a class that no training sample"),
        "weight above 1": (huber, {}, {"weights_": np.full((90, 3), 1.5)},
                           r"weights_ holds values outside \[0.0, 1.0\]"),
        "negative weight": (huber, {}, {"weights_": np.full((90, 3), -0.5)},
                            r"weights_ holds values outside \[0.0, 1.0\]"),
        "huber without iterations": (huber, {"attributes.n_iter_.value": 0}, {},
                                     "n_iter_ must be an integer >= 1"),
        "curve longer than n_iter_": (
            softmax, {"attributes.n_iter_.value": n_iter - 1}, {},
            rf"loss_curve_ has shape \({n_iter + 1},\); expected \({n_iter},\)"),
        "curve shorter than n_iter_": (
            softmax, {"attributes.n_iter_.value": n_iter + 1}, {},
            rf"loss_curve_ has shape \({n_iter + 1},\); expected \({n_iter + 2},\)"),
    }
    for name, (path, header, arrays, message) in cases.items():
        original = path.read_bytes()
        rewrite(path, header=header, **arrays)
        with pytest.raises(ValueError, match=message) as raised:
            load(path)
        assert str(raised.value).startswith(f"scratchlearn.load: {str(path)!r}"), name
        path.write_bytes(original)


def test_a_member_declaring_more_data_than_it_holds_is_refused_before_reading(model_file):
    """A .npy header may claim any shape; load compares it with the member's size before
    reading, so a small file cannot make it allocate terabytes."""
    members = members_of(model_file)
    header = b"{'descr': '<i8', 'fortran_order': False, 'shape': (1000000000000000,), }"
    header = header.ljust(117) + b"\n"
    members["_y.npy"] = np.lib.format.magic(1, 0) + len(header).to_bytes(2, "little") + header
    write_zip(model_file, members)
    with pytest.raises(ValueError, match=r"declares shape \(1000000000000000,\)"):
        load(model_file)


@pytest.mark.parametrize("npy_header", [
    b"{'descr': '<f8', 'fortran_order': False, 'shape': (3,",  # numpy's tokenize fallback
    b"{'descr': 'f8,(', 'fortran_order': False, 'shape': (3,), }",  # ast in np.dtype()
    b"{'descr': 'O', 'fortran_order': False, 'shape': (3,), }",
    b"{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }",
    b"{'descr': '<f8', 'fortran_order': 'yes', 'shape': (3,), }",
    b"__import__('os').system('touch pwned')",
])
def test_damaged_npy_headers_are_value_errors(model_file, npy_header):
    members = members_of(model_file)
    header = npy_header.ljust(117) + b"\n"
    members["_y.npy"] = np.lib.format.magic(1, 0) + len(header).to_bytes(2, "little") + header
    write_zip(model_file, members)
    with pytest.raises(ValueError, match=r"scratchlearn\.load"):
        load(model_file)
    assert not pathlib.Path("pwned").exists()


# --- fuzzing: only ValueError, whatever the bytes ------------------------------------------


def _fuzz_source() -> bytes:
    """A small valid model file (30 training rows, string labels, a KD-tree)."""
    X, y, _ = make_data("dense", "str")
    model = KNeighborsClassifier(3, algorithm="kd_tree").fit(X[:30], y[:30])
    with tempfile.TemporaryDirectory() as folder:
        return save(model, pathlib.Path(folder) / "m.npz").read_bytes()


FUZZ_SOURCE = _fuzz_source()
FUZZ_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

mutation = st.tuples(
    st.sampled_from(["flip", "delete", "insert", "truncate", "set"]),
    st.floats(0, 1, exclude_max=True),
    st.integers(0, 255),
)


def mutate(data: bytes, mutations) -> bytes:
    data = bytearray(data)
    for op, where, value in mutations:
        if not data:
            break
        i = int(where * len(data))
        if op == "flip":
            data[i] ^= 1 << (value % 8)
        elif op == "delete":
            del data[i : i + 1 + value % 16]
        elif op == "insert":
            data[i:i] = bytes([value]) * (1 + value % 5)
        elif op == "set":
            data[i] = value
        else:
            del data[i:]
    return bytes(data)


def assert_only_value_errors(path):
    try:
        model = load(path)
    except ValueError as error:
        assert "scratchlearn.load" in str(error)
    else:  # a change the format does not cover (a zip timestamp, say): a model still
        assert isinstance(model, KNeighborsClassifier)


@FUZZ_SETTINGS
@given(mutations=st.lists(mutation, min_size=1, max_size=4))
def test_fuzz_mutated_bytes_give_only_value_errors(mutations, tmp_path):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(mutate(FUZZ_SOURCE, mutations))
    assert_only_value_errors(path)


FUZZ_MEMBERS = members_of(io.BytesIO(FUZZ_SOURCE))


@FUZZ_SETTINGS
@given(
    member=st.sampled_from(sorted(FUZZ_MEMBERS)),
    mutations=st.lists(mutation, min_size=1, max_size=3),
    head=st.booleans(),
)
def test_fuzz_mutated_members_with_valid_checksums_give_only_value_errors(
    member, mutations, head, tmp_path
):
    """Past the CRC-32 checks: damaged .npy headers, JSON and array contents."""
    data = FUZZ_MEMBERS[member]
    if head:  # most of the structure is in the first bytes: the .npy header and the JSON
        data = mutate(data[:200], mutations) + data[200:]
    else:
        data = mutate(data, mutations)
    path = write_zip(tmp_path / "fuzz.npz", {**FUZZ_MEMBERS, member: data})
    assert_only_value_errors(path)


# --- pickles ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", [cases[0] for cases in CASES.values()], ids=lambda c: c.id)
def test_pickles_record_the_version_and_round_trip(case):
    model, _, _, Q = case.fit()
    state = model.__getstate__()
    assert state["_scratchlearn_version"] == scratchlearn.__version__
    assert "_sklearn_version" not in state
    assert "_scratchlearn_version" not in vars(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = pickle.loads(pickle.dumps(model))
        twin = copy.deepcopy(model)
    assert "_scratchlearn_version" not in vars(loaded)
    assert_same_state(model, loaded)
    assert_same_state(model, twin)
    assert_same_answers(model, loaded, Q)


def test_unpickling_another_version_warns(monkeypatch):
    X, y, Q = make_data("dense", "int")
    model = HuberClassifier().fit(X, y)
    monkeypatch.setattr(scratchlearn._version, "__version__", "0.0.1-old")
    old = pickle.dumps(model)
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning) as record:
        loaded = pickle.loads(old)
    [warning] = record
    assert warning.message.estimator_name == "HuberClassifier"
    assert warning.message.original_scratchlearn_version == "0.0.1-old"
    assert warning.message.current_scratchlearn_version == scratchlearn.__version__
    assert "from scratchlearn version 0.0.1-old when using version" in str(warning.message)
    assert issubclass(InconsistentVersionWarning, UserWarning)
    # It points at the line that unpickled (mutmut's wrappers, under `make mutation`, add a
    # frame of their own between that line and the warning).
    assert warning.filename == __file__ or "MUTANT_UNDER_TEST" in os.environ
    np.testing.assert_array_equal(loaded.predict(Q), model.predict(Q))


def test_unpickling_a_pickle_without_a_version_warns(monkeypatch):
    X, y, _ = make_data("dense", "int")
    model = KNeighborsClassifier(3).fit(X, y)
    monkeypatch.setattr(_versioning.VersionedPickleMixin, "__getstate__",
                        lambda self: dict(vars(self)))  # as pickles made before versions
    old = pickle.dumps(model)
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning, match="unknown"):
        pickle.loads(old)


# --- Dask-fitted kNN models -------------------------------------------------------------


@pytest.mark.parametrize("cls", [KNeighborsClassifier, KNeighborsDensity])
def test_dask_fitted_model_saves_its_training_data(dask_client, cls, tmp_path):
    import dask.array as da

    X, y, Q = make_data("dense", "str")
    model = cls(4).fit(da.from_array(X, chunks=(17, -1)), da.from_array(y, chunks=17))
    in_memory = cls(4).fit(X, y)
    loaded = load(save(model, tmp_path / "dask.npz"))
    assert "_dask_training" in vars(model)  # saving changed nothing
    assert_same_state(in_memory, loaded)  # the in-memory model, with its KD-tree
    assert_same_answers(in_memory, loaded, Q)
    for method in ("predict_proba", "kneighbors"):
        np.testing.assert_array_equal(getattr(loaded, method)(Q), getattr(model, method)(Q))
    # Pickling gathers the data too: no handle to the cluster is left in the pickle.
    data = pickle.dumps(model)
    assert b"dask" not in data and b"distributed" not in data
    assert_same_state(in_memory, pickle.loads(data))
