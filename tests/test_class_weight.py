"""class_weight: the linear models against scikit-learn's with the same class weights.

``LeastSquaresClassifier`` and ``HuberClassifier`` (ε large: least squares) follow
``RidgeClassifier(class_weight)``; ``SoftmaxRegression`` follows
``LogisticRegression(C, class_weight)`` at α = 1/(C·S), S the sum of the final weights
(``sample_weight`` times the class weights). Each class weight multiplies the samples'
weights, as scikit-learn's ``compute_sample_weight`` does.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

from scratchlearn import HuberClassifier, LeastSquaresClassifier, SoftmaxRegression, load, save


def problem(seed, n_classes=3, n_samples=150, labels=None, dtype=np.float64):
    """Unbalanced classes (about 1 : 2 : 4 …), some overlap, means away from 0."""
    rng = np.random.default_rng(seed)
    sizes = rng.permutation(np.arange(1, n_classes + 1) ** 2)
    codes = rng.permutation(np.repeat(np.arange(n_classes), sizes * n_samples // sizes.sum()))
    X = rng.normal(1.5, 1.0, size=(n_classes, 4))[codes] + rng.normal(size=(len(codes), 4))
    y = codes if labels is None else np.asarray(labels)[codes]
    return X.astype(dtype), y, rng


def weights_for(y, n_classes, kind):
    """A class_weight of each kind, keyed by the labels of y."""
    classes = np.unique(y)
    if kind == "balanced":
        return "balanced"
    if kind == "dict":
        weights = np.linspace(0.5, 3.0, n_classes)
        return {label: float(w) for label, w in zip(classes, weights, strict=True)}
    return {classes[0]: 4.0}  # "partial": the classes left out weigh 1


CASES = [  # string labels with the dicts, integers with the others
    (n_classes, kind, weighted, ["ant", "bee", "cat"] if kind == "dict" else None)
    for n_classes in (2, 3)
    for kind in ("balanced", "dict", "partial")
    for weighted in (False, True)
]


def case_id(case):
    n_classes, kind, weighted, labels = case
    return f"{n_classes}-{kind}-{'weighted' if weighted else 'plain'}-{'str' if labels else 'int'}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_least_squares_equals_ridge_classifier(case):
    n_classes, kind, weighted, labels = case
    sparse = weighted  # CSR X for half the cases (the reference is fitted on dense X)
    X, y, rng = problem(10 + n_classes, n_classes, labels=labels)
    s = rng.uniform(0.2, 3, len(y)) if weighted else None
    class_weight = weights_for(y, n_classes, kind)
    ridge = RidgeClassifier(alpha=0.5, class_weight=class_weight).fit(X, y, sample_weight=s)
    X_fit = sp.csr_matrix(X) if sparse else X
    ours = LeastSquaresClassifier(alpha=0.5, class_weight=class_weight).fit(X_fit, y, s)
    coef = np.atleast_2d(ridge.coef_)  # one row for two classes, as ours
    np.testing.assert_allclose(ours.coef_, coef, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.intercept_, np.ravel(ridge.intercept_), rtol=1e-9,
                               atol=1e-12)  # fmt: skip
    np.testing.assert_array_equal(ours.predict(X_fit), ridge.predict(X))
    # Huber's loss with every residual inside ε is least squares: the same fit.
    huber = HuberClassifier(epsilon=1e6, alpha=0.5, class_weight=class_weight)
    huber.fit(X_fit, y, sample_weight=s)
    np.testing.assert_allclose(huber.coef_, coef, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_softmax_equals_logistic_regression(case):
    n_classes, kind, weighted, labels = case
    X, y, rng = problem(20 + n_classes, n_classes, labels=labels)
    s = rng.uniform(0.2, 3, len(y)) if weighted else None
    class_weight = weights_for(y, n_classes, kind)
    C = 0.7
    logistic = LogisticRegression(C=C, class_weight=class_weight, tol=1e-12, max_iter=10_000)
    logistic.fit(X, y, sample_weight=s)
    # S: the weights the objective sums, LogisticRegression's class weights included (its
    # "balanced" counts each class by its sample weights).
    classes = np.unique(y)
    per_class = compute_class_weight(class_weight, classes=classes, y=y, sample_weight=s)
    S = float(np.sum((1.0 if s is None else s) * per_class[np.searchsorted(classes, y)]))
    ours = SoftmaxRegression(alpha=1 / (C * S), tol=1e-8, class_weight=class_weight)
    ours.fit(X, y, sample_weight=s)
    np.testing.assert_allclose(ours.predict_proba(X), logistic.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), logistic.predict(X))


@pytest.mark.parametrize("make", [LeastSquaresClassifier, HuberClassifier, SoftmaxRegression])
def test_class_weight_is_the_same_as_sample_weight(make):
    # The definition: each sample's weight multiplied by its class's (compute_sample_weight
    # for a dict), float32 data and CSR included.
    X, y, rng = problem(30, dtype=np.float32)
    s = rng.uniform(0.5, 2, len(y))
    class_weight = {0: 0.3, 1: 2.0, 2: 1.1}
    expected = s * compute_sample_weight(class_weight, y)
    for X_fit in (X, sp.csr_matrix(X)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            by_class = make(class_weight=class_weight).fit(X_fit, y, sample_weight=s)
            by_sample = make().fit(X_fit, y, sample_weight=expected)
        assert by_class.coef_.dtype == np.float32
        np.testing.assert_allclose(by_class.coef_, by_sample.coef_, rtol=1e-5, atol=1e-6)


def test_balanced_counts_samples_for_ridge_and_weights_for_logistic():
    # The peers differ, and each estimator here follows its own: with sample weights,
    # RidgeClassifier's "balanced" counts the samples of each class, LogisticRegression's
    # sums their weights.
    X, y, rng = problem(31, n_classes=2)
    s = np.where(y == 0, 5.0, 1.0) * rng.uniform(0.9, 1.1, len(y))
    ridge_like = LeastSquaresClassifier(class_weight="balanced").fit(X, y, sample_weight=s)
    counts = s * compute_sample_weight("balanced", y)
    np.testing.assert_allclose(
        ridge_like.coef_, LeastSquaresClassifier().fit(X, y, sample_weight=counts).coef_,
        rtol=1e-10,
    )
    logistic_like = SoftmaxRegression(alpha=0.01, class_weight="balanced", tol=1e-8)
    logistic_like.fit(X, y, sample_weight=s)
    sums = s * compute_class_weight("balanced", classes=np.unique(y), y=y, sample_weight=s)[y]
    plain = SoftmaxRegression(alpha=0.01, tol=1e-8).fit(X, y, sample_weight=sums)
    np.testing.assert_allclose(logistic_like.coef_, plain.coef_, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("make", [LeastSquaresClassifier, HuberClassifier, SoftmaxRegression])
def test_bad_class_weights_are_refused_and_the_model_is_kept(make):
    X, y, _ = problem(32)
    model = make().fit(X, y)
    coef = model.coef_.copy()
    bad = [
        ({5: 2.0, 7: 1.0}, "not in class_weight"),  # labels that are not classes (sklearn's)
        ({0: 0.0, 1: 0.0, 2: 0.0}, "class_weight"),  # every sample weighs 0
    ]
    for class_weight, words in bad:
        with pytest.raises(ValueError, match=words):
            model.set_params(class_weight=class_weight).fit(X[:, :3], y)
        # The refused fit leaves the previous model whole: its coefficients and its shape.
        np.testing.assert_array_equal(model.coef_, coef)
        assert model.n_features_in_ == 4


def test_balanced_refuses_a_class_without_weight_where_it_counts_weights():
    # LogisticRegression's "balanced" divides by each class's sum of sample weights: a class
    # whose samples all weigh 0 has no finite weight. (RidgeClassifier's counts samples.)
    X, y, _ = problem(36)
    s = np.where(y == 1, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"class_weight='balanced'.*\[1\]"):
        SoftmaxRegression(class_weight="balanced").fit(X, y, sample_weight=s)
    LeastSquaresClassifier(class_weight="balanced").fit(X, y, sample_weight=s)


def test_an_extra_label_in_a_complete_dict_is_ignored_as_in_scikit_learn():
    X, y, _ = problem(33)
    with_extra = {0: 1.0, 1: 2.0, 2: 3.0, 9: 5.0}
    ours = LeastSquaresClassifier(alpha=0.1, class_weight=with_extra).fit(X, y)
    ridge = RidgeClassifier(alpha=0.1, class_weight=with_extra).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ridge.coef_, rtol=1e-9)


def test_class_weight_on_dask_equals_in_memory(dask_client):
    import dask.array as da

    X, y, rng = problem(34, labels=["ant", "bee", "cat"])
    s = rng.uniform(0.5, 2, len(y))
    X_dask, y_dask = da.from_array(X, chunks=40), da.from_array(y, chunks=40)
    s_dask = da.from_array(s, chunks=40)
    class_weight = {"ant": 3.0, "cat": 0.5}
    local = LeastSquaresClassifier(class_weight=class_weight).fit(X, y, sample_weight=s)
    spread = LeastSquaresClassifier(class_weight=class_weight).fit(X_dask, y_dask, s_dask)
    np.testing.assert_allclose(spread.coef_, local.coef_, rtol=1e-9)
    # "balanced" by the classes' sums of sample weights, as in memory (a few iterations).
    params = {"alpha": 0.5, "tol": 1e-3, "class_weight": "balanced"}
    local = SoftmaxRegression(**params).fit(X, y, sample_weight=s)
    spread = SoftmaxRegression(**params).fit(X_dask, y_dask, sample_weight=s_dask)
    np.testing.assert_allclose(spread.loss_curve_, local.loss_curve_, rtol=1e-9)


@pytest.mark.parametrize(
    "class_weight, labels",
    [("balanced", "str"), ({"ant": 2.0, "bee": 0.5}, "str"), ({0: 2.0, 2: 0.5}, "int"),
     (None, "int")],
)  # fmt: skip
def test_model_files_keep_class_weight(class_weight, labels, tmp_path):
    # A dict keyed by numbers too (JSON keys are strings: it is stored as its items).
    X, y, _ = problem(35, labels=["ant", "bee", "cat"] if labels == "str" else None)
    for make in (LeastSquaresClassifier, HuberClassifier, SoftmaxRegression):
        model = make(class_weight=class_weight).fit(X, y)
        path = save(model, tmp_path / "model.npz")
        loaded = load(path)
        assert loaded.get_params() == model.get_params()
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        np.testing.assert_array_equal(loaded.fit(X, y).coef_, model.coef_)  # refits alike
        assert save(loaded, tmp_path / "again.npz").read_bytes() == path.read_bytes()


def test_a_model_file_with_malformed_class_weight_items_is_refused(tmp_path):
    X, y, _ = problem(36)
    path = save(LeastSquaresClassifier(class_weight={0: 2.0}).fit(X, y), tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as archive:
        members = {name: archive[name] for name in archive.files}
    header = json.loads(str(members["header"]))
    header["params"]["class_weight"] = {"__items__": [["not", "pairs", "at all"]]}
    members["header"] = np.array(json.dumps(header))
    np.savez(tmp_path / "bad.npz", **members)
    with pytest.raises(ValueError, match="class_weight"):
        load(tmp_path / "bad.npz")
