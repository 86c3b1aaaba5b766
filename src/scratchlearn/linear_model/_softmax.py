"""Softmax (multinomial logistic) regression trained by the optimisers in ``scratchlearn.optim``."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar, NamedTuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._dask import Spec
from .._estimator import FittedState, check_dask_features
from .._math.least_squares import blas_libraries, blas_threads
from .._math.params import unpack
from .._math.softmax import log_softmax, softmax
from .._math.softmax_objective import all_logits, softmax_objective
from .._validation import (
    Boolean,
    CallableOrNone,
    ClassWeight,
    Integer,
    Options,
    Real,
    Seed,
    check_class_labels,
    check_sample_weight,
    weigh_classes,
)
from ._base import LinearClassifier
from ._solvers import SOLVERS, minimise

# BLAS always runs on one thread here: starting and spin-waiting OpenBLAS threads costs more
# than a small product (20× slower on a busy 2-core box), and on large data the loss is
# spread over threads by blocks of rows instead (``softmax_cross_entropy``), which keeps
# each block's logits in cache and needs no BLAS barrier per product. Below this many
# multiply-adds per X·Wᵀ product, one thread in all is faster.
_SINGLE_THREAD_BELOW = 2**24


class SoftmaxRegression(LinearClassifier):
    """Softmax (multinomial logistic) regression, trained by one of six optimisers.

    A linear model with one logit per class, turned into probabilities by a softmax::

        g_c = θ_c · x + b_c,    p_c = exp(g_c) / Σ_j exp(g_j)

    It predicts argmax_c p_c, and ``fit`` minimises the mean cross-entropy plus an L2
    penalty on the weights (not on the biases), with sample weights s_n (default 1)
    summing to S::

        J(W, b) = (1/S) Σ_n s_n (−log p_{y_n}(x_n)) + (α/2) ‖W‖²_F

    With α = 1/(C·S) this is scikit-learn's ``LogisticRegression(C)`` objective, so
    ``solver="lbfgs"`` reproduces its probabilities. Two classes keep one row of weights,
    as logistic regression does.

    Read more in the :doc:`user guide </softmax>`.

    Parameters
    ----------
    solver : {"lbfgs", "gd", "sgd", "momentum", "nesterov", "adam"}, default="lbfgs"
        The optimiser: "lbfgs" is SciPy's L-BFGS-B; "gd" full-batch gradient descent;
        "sgd" mini-batch gradient descent; "momentum", "nesterov" and "adam" those update
        rules, on the full batch unless ``batch_size`` is given
        (:mod:`scratchlearn.optim`).
    learning_rate : float, default=0.1
        Step size η > 0 of the first-order solvers; ignored by "lbfgs". Adam's steps are
        about η per coordinate whatever the scale, so it wants smaller values (1e-3 to
        1e-1).
    max_iter : int, default=1000
        Maximum number of iterations: steps for the full-batch solvers, epochs for
        mini-batches, L-BFGS iterations for "lbfgs".
    batch_size : int or None, default=None
        Mini-batch size. None means min(200, n_samples) for "sgd" and the full batch for
        "momentum", "nesterov" and "adam"; "gd" and "lbfgs" always use the full batch.
    alpha : float, default=0.0
        L2 penalty α >= 0 on the weights.
    tol : float, default=1e-4
        Stop once ``max(abs(∇J)) <= tol`` on the full objective, for every solver; the
        fit has converged exactly when this holds at the returned weights.
    momentum : float, default=0.9
        The momentum μ in [0, 1) of "momentum" and "nesterov".
    random_state : int, RandomState instance or None, default=None
        Seeds the per-epoch shuffles of the mini-batches.
    callback : callable or None, default=None
        Called as ``callback(iteration, loss)`` after each iteration, with the objective J
        reached; for example to time iterations or log progress.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``: a dict {label: weight}
        (classes it leaves out weigh 1), "balanced", or None for 1 each, as
        ``LogisticRegression`` defines them ("balanced" counts sample weights).
    warm_start : bool, default=False
        Whether to start from the previous fit's ``coef_`` and ``intercept_`` instead of
        zeros, as ``LogisticRegression(warm_start=True)`` does; ``coef_init`` and
        ``intercept_init`` given to ``fit`` take precedence. They must have the shape this
        data needs (the same numbers of classes and features).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels, the columns of ``predict_proba``.
    coef_ : ndarray of shape (n_classes, n_features), or (1, n_features) for two classes
        Weights θ_c, one row per class (one row w for two classes, the logit of
        ``classes_[1]``); float32 when X was float32, else float64, as in scikit-learn.
    intercept_ : ndarray of shape (n_classes,), or (1,) for two classes
        Biases b_c, of the dtype of ``coef_``.
    n_iter_ : int
        Iterations run (epochs for mini-batches).
    loss_curve_ : ndarray of shape (`n_iter_` + 1,)
        J at the initial weights, then after each iteration.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when X was a pandas or Dask DataFrame
        whose column names are all strings.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The scikit-learn estimator with this model.
    scratchlearn.optim : The update rules and the stopping rule the solvers share.
    LeastSquaresClassifier : A linear classifier fitted by least squares.

    Notes
    -----
    Where ``LogisticRegression`` differs: the penalty is α, which does not scale with the
    sample weights (α = 1/(C·S) is the same fit); there are first-order solvers besides
    L-BFGS, all with one stopping rule, and ``fit`` warns with a ``ConvergenceWarning``
    exactly when it does not hold; the sheet's summed gradient with learning rate η is
    ``learning_rate=N·η`` here. The gradient and its derivation are in :doc:`/softmax`,
    the solvers and "converged" in :doc:`/optimizers`. Sparse X is used as CSR, never
    made dense; Dask arrays are fitted with the sums on the workers (:doc:`/dask`).

    Examples
    --------
    >>> from scratchlearn import SoftmaxRegression
    >>> from scratchlearn.datasets import load_digits_split
    >>> X_train, X_test, y_train, y_test = load_digits_split()
    >>> model = SoftmaxRegression(alpha=1 / len(X_train)).fit(X_train, y_train)
    >>> round(model.score(X_test, y_test), 3)
    0.96
    >>> model.predict_proba(X_test[:1]).round(2)
    array([[0., 0., 1., 0., 0., 0., 0., 0., 0., 0.]])
    """

    _fitted = FittedState(("n_features_in_", "feature_names_in_", "classes_", "coef_",
                           "intercept_", "n_iter_", "loss_curve_"))
    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "solver": Options(SOLVERS),
        "learning_rate": Real(0, include_low=False),
        "max_iter": Integer(1),
        "batch_size": Integer(1, none=True),
        "alpha": Real(0),
        "tol": Real(0),
        "momentum": Real(0, 1, include_high=False),
        "random_state": Seed(),
        "callback": CallableOrNone(),
        "class_weight": ClassWeight(),
        "warm_start": Boolean(),
    }

    def __init__(
        self,
        solver: str = "lbfgs",
        *,
        learning_rate: float = 0.1,
        max_iter: int = 1000,
        batch_size: int | None = None,
        alpha: float = 0.0,
        tol: float = 1e-4,
        momentum: float = 0.9,
        random_state=None,
        callback: Callable[[int, float], None] | None = None,
        class_weight=None,
        warm_start: bool = False,
    ):
        self.solver = solver
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.alpha = alpha
        self.tol = tol
        self.momentum = momentum
        self.random_state = random_state
        self.callback = callback
        self.class_weight = class_weight
        self.warm_start = warm_start

    def fit(
        self, X, y, sample_weight=None, coef_init=None, intercept_init=None
    ) -> SoftmaxRegression:
        """Minimise J(W, b) on (X, y) with ``solver``, from zeros or the given start.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 gives float32 coefficients, and a SciPy sparse matrix
            is used as CSR. Or a Dask array or DataFrame chunked along the samples: each
            iteration then sums the loss and gradient over the chunks on the workers.
        y : array-like of shape (n_samples,)
            Labels of any type, at least two distinct. A Dask y (or Dask weights) with an
            in-memory X fits on Dask too, X sent to the workers as one chunk.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative, finite weights s_n with a positive sum; J is then their weighted
            mean, so scaling every weight by the same factor changes nothing. A Dask
            array chunked like X, or a NumPy array, for Dask X.
        coef_init : array-like of shape (n_rows, n_features), default=None
            Initial weights, with n_rows = n_classes, or 1 for two classes (as ``coef_``);
            when None, the previous ``coef_`` with ``warm_start``, else zeros.
        intercept_init : array-like of shape (n_rows,), default=None
            Initial biases; when None, the previous ``intercept_`` with ``warm_start``,
            else zeros.

        Returns
        -------
        self : SoftmaxRegression
            The fitted classifier.

        Raises
        ------
        ValueError
            If a parameter is invalid, naming it; if y has fewer than two classes, is
            continuous or mixes strings with numbers; if ``sample_weight`` has the wrong
            shape, NaN, infinite or negative values, or a zero sum; if ``class_weight``
            does not fit the classes of y; if ``coef_init`` or ``intercept_init`` has the
            wrong shape or non-finite values, or ``warm_start`` would start from
            coefficients of another shape. A refused fit leaves the model as it was.

        Warns
        -----
        ConvergenceWarning
            Exactly when the fit has not converged: ``max(abs(∇J)) > tol`` at the
            returned weights (``max_iter`` ran out, or L-BFGS stalled at float64's
            limit), or the iterates stopped being finite.
        """
        self._validate_params()
        with self._refit() as before:
            self._fit(X, y, sample_weight, coef_init, intercept_init, before)
        return self

    def _fit(self, X, y, sample_weight, coef_init, intercept_init, before) -> None:
        if self._dask_input(X, y, sample_weight):
            problem = self._dask_problem(X, y, sample_weight)
        else:
            problem = self._in_memory_problem(X, y, sample_weight)
        objective, epoch, N, D, K, dtype = problem
        rng = check_random_state(self.random_state)
        theta0 = np.zeros(K * (D + 1))
        W0, b0 = unpack(theta0, K)  # views: writing them writes θ₀
        start = self._warm_start(before, K, D)
        if start is not None:  # the previous fit's coefficients (as LogisticRegression's)
            W0[:], b0[:] = start
        if coef_init is not None:  # given explicitly: it takes precedence
            W0[:] = _check_init(coef_init, "coef_init", (K, D))
        if intercept_init is not None:
            b0[:] = _check_init(intercept_init, "intercept_init", (K,))
        with blas_libraries().limit(limits=1):
            result = minimise(
                self.solver, objective, theta0, n_samples=N, rng=rng, epoch=epoch, dtype=dtype,
                learning_rate=self.learning_rate, momentum=self.momentum,
                batch_size=self.batch_size, max_iter=self.max_iter, tol=self.tol,
                callback=self.callback,
            )
        # The solvers work in float64; the fitted weights take X's precision, as in
        # scikit-learn, and they stay finite in it (a divergence keeps the last finite ones).
        coef, intercept = unpack(result.theta, K)
        self.coef_, self.intercept_ = coef.astype(dtype), intercept.astype(dtype)
        self.n_iter_ = int(result.n_iter)
        self.loss_curve_ = np.asarray(result.loss_curve)  # Python floats: float64
        if not result.converged:  # the one rule of ``optim``: max |∇J(θ)| ≤ tol, all finite
            if result.diverged:
                advice = "Lower learning_rate."
            elif self.n_iter_ >= self.max_iter:
                advice = "Increase max_iter, or adjust learning_rate."
            else:
                advice = "Raise tol."
            warnings.warn(
                f"SoftmaxRegression(solver={self.solver!r}) did not converge after "
                f"{self.n_iter_} iterations (max_iter={self.max_iter}): {result.message}. "
                f"{advice}",
                ConvergenceWarning,
                stacklevel=3,  # _fit, fit, the caller
            )

    def _in_memory_problem(self, X, y, sample_weight) -> _Problem:
        """The objective on in-memory data (``classes_`` set on the way)."""
        # float32 stays float32: the products with X then run in single precision. Sparse X
        # is used as CSR, never made dense.
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], accept_sparse="csr")
        self.classes_, codes = check_class_labels(y, estimator="SoftmaxRegression", min_classes=2)
        weights = weigh_classes(
            self.class_weight, self.classes_, codes, check_sample_weight(sample_weight, len(y)),
            by_sample_weight=True,  # LogisticRegression's "balanced": sums of sample_weight
        )
        N, D = X.shape
        mean_weight = None if weights is None else float(weights.sum()) / N  # S/N
        K = 1 if len(self.classes_) == 2 else len(self.classes_)  # free rows (docstring)
        codes = np.asarray(codes, dtype=np.intp)  # the one-hot Y, as class codes
        # The loss's blocks of rows run on as many threads as BLAS would have used
        # (OPENBLAS_NUM_THREADS and the like are respected), each block's BLAS on one.
        n_threads = blas_threads()
        if N * D * K < _SINGLE_THREAD_BELOW:  # pragma: no mutate (threads: speed only)
            n_threads = 1

        def objective(theta, rows=None):
            if weights is None:
                X_, y_ = (X, codes) if rows is None else (X[rows], codes[rows])
                return softmax_objective(theta, X_, y_, K, self.alpha, n_threads=n_threads)
            if rows is None:
                return softmax_objective(theta, X, codes, K, self.alpha, sample_weight=weights)
            # A batch's weighted sum over |B|·S/N: unbiased for the full weighted mean.
            return softmax_objective(
                theta, X[rows], codes[rows], K, self.alpha, sample_weight=weights[rows],
                weight_total=len(rows) * mean_weight,
            )  # fmt: skip

        return _Problem(objective, None, N, D, K, X.dtype)

    def _dask_problem(self, X, y, sample_weight) -> _Problem:
        """The objective on data persisted on the Dask workers (``_dask.softmax``), with
        one ``compute`` per evaluation (or per epoch of mini-batches)."""
        from .._dask.rows import LabelledRows
        from .._dask.softmax import SoftmaxProblem

        data = LabelledRows.persist(X, y, sample_weight, estimator="SoftmaxRegression",
                                    class_weight=self.class_weight, balanced_by_weight=True)
        check_dask_features(self, X, reset=True)  # a Dask DataFrame's names, as pandas'
        self.classes_, self.n_features_in_ = data.classes, data.n_features
        problem = SoftmaxProblem(data, float(self.alpha))
        return _Problem(problem.objective, problem.epoch, data.n_samples, data.n_features,
                        problem.K, data.dtype)

    def predict_log_proba(self, X) -> np.ndarray:
        """Compute log p(c | x) = g_c − logsumexp(g), finite even where p underflows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples; or a Dask array, chunked along the samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns in ``classes_`` order; a lazy Dask array when X is one.
        """
        check_is_fitted(self)
        return self._answer(X, _log_probabilities, Spec((len(self.classes_),), np.float64))

    def predict_proba(self, X) -> np.ndarray:
        """Compute the class probabilities p(c | x) = softmax(g)_c.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples; or a Dask array, chunked along the samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in ``classes_`` order; each row sums to 1. A lazy Dask array when X
            is one.
        """
        check_is_fitted(self)
        return self._answer(X, _probabilities, Spec((len(self.classes_),), np.float64))

    def predict(self, X) -> np.ndarray:
        """Predict the class with the largest logit (equivalently, probability).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples; or a Dask array, chunked along the samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The predicted labels; a lazy Dask array when X is one.
        """
        check_is_fitted(self)
        return self._answer(X, partial(_predictions, classes=self.classes_),
                            Spec((), self.classes_.dtype))


class _Problem(NamedTuple):
    """What a solver needs of the training data: J(θ[, rows]) and ∇J, the Dask epoch rule
    (None in memory), and the sizes and dtype of the model."""

    objective: Callable
    epoch: Callable | None
    n_samples: int
    n_features: int
    n_rows: int  # K, the free rows of W
    dtype: np.dtype


def _log_probabilities(G: np.ndarray) -> np.ndarray:
    return log_softmax(all_logits(G))


def _probabilities(G: np.ndarray) -> np.ndarray:
    return softmax(all_logits(G))


def _predictions(G: np.ndarray, *, classes: np.ndarray) -> np.ndarray:
    return classes[np.argmax(all_logits(G), axis=1)]


def _check_init(value, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """An initial value as a finite float array of exactly ``shape``."""
    array = np.asarray(value, dtype=float)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got non-finite values.")
    return array
