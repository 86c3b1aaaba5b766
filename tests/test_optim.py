"""Update rules against hand-worked steps and textbook forms; the loops on known problems."""

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der

from scratchlearn import optim


def quadratic(A, b):
    """J(θ) = ½ θᵀAθ − bᵀθ, minimised at A⁻¹b."""
    return lambda theta: (float(0.5 * theta @ A @ theta - b @ theta), A @ theta - b)


def test_gd_step():
    theta, _ = optim.gd_step(np.array([1.0, 2.0]), np.array([0.5, -1.0]), {}, learning_rate=0.1)
    np.testing.assert_allclose(theta, [0.95, 2.1])


def test_momentum_two_steps_by_hand():
    theta, state = np.array([1.0]), {}
    theta, state = optim.momentum_step(theta, np.array([2.0]), state, learning_rate=0.1)
    np.testing.assert_allclose(theta, [0.8])  # v = −0.2
    theta, state = optim.momentum_step(theta, np.array([1.0]), state, learning_rate=0.1)
    np.testing.assert_allclose(state["velocity"], [0.9 * -0.2 - 0.1])
    np.testing.assert_allclose(theta, [0.8 - 0.28])


def test_nesterov_tracks_the_look_ahead_point_of_the_classical_form():
    # Classical Nesterov: v ← μv − η∇J(φ + μv), φ ← φ + v. Our θ is φ + μv.
    rng = np.random.default_rng(0)
    M = rng.normal(size=(4, 4))
    fun = quadratic(M @ M.T + np.eye(4), rng.normal(size=4))
    eta, mu = 0.05, 0.9
    phi, v = rng.normal(size=4), np.zeros(4)
    theta, state = phi.copy(), {}
    for _ in range(25):
        v = mu * v - eta * fun(phi + mu * v)[1]
        phi = phi + v
        theta, state = optim.nesterov_step(
            theta, fun(theta)[1], state, learning_rate=eta, momentum=mu
        )
        np.testing.assert_allclose(theta, phi + mu * v, rtol=1e-12, atol=1e-12)


def test_adam_first_step_is_eta_times_the_sign():
    # After one step m̂ = g and ŝ = g², so the step is η g / (|g| + ε).
    g = np.array([3.0, -1e-3, 0.0])
    theta, state = optim.adam_step(np.zeros(3), g, {}, learning_rate=0.01)
    np.testing.assert_allclose(theta, -0.01 * g / (np.abs(g) + 1e-8))
    assert state["t"] == 1


def test_adam_matches_a_plain_loop():
    rng = np.random.default_rng(1)
    grads = rng.normal(size=(5, 3))
    theta, state = np.ones(3), {}
    m, s, expected = np.zeros(3), np.zeros(3), np.ones(3)
    for t, g in enumerate(grads, start=1):
        theta, state = optim.adam_step(theta, g, state, learning_rate=0.1)
        m = 0.9 * m + 0.1 * g
        s = 0.999 * s + 0.001 * g * g
        expected = expected - 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(s / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(theta, expected, rtol=1e-12)


def test_minibatches_partition_every_epoch_differently():
    rng = np.random.RandomState(0)
    first, second = optim.minibatches(10, 4, rng), optim.minibatches(10, 4, rng)
    assert [len(batch) for batch in first] == [4, 4, 2]
    np.testing.assert_array_equal(np.sort(np.concatenate(first)), np.arange(10))
    assert not np.array_equal(np.concatenate(first), np.concatenate(second))
    again = optim.minibatches(10, 4, np.random.RandomState(0))
    np.testing.assert_array_equal(np.concatenate(again), np.concatenate(first))


@pytest.mark.parametrize("name", ["gd", "momentum", "nesterov", "adam"])
def test_descend_solves_a_quadratic(name):
    A, b = np.diag([1.0, 4.0]), np.array([1.0, -2.0])
    hyper = {"learning_rate": 0.02 if name == "adam" else 0.2}
    result = optim.descend(
        quadratic(A, b), np.zeros(2), optim.UPDATE_RULES[name], max_iter=5000, tol=1e-8, **hyper
    )
    assert result.converged and not result.diverged
    np.testing.assert_allclose(result.theta, [1.0, -0.5], atol=1e-6)
    assert result.grad_max <= 1e-8
    assert len(result.loss_curve) == result.n_iter + 1
    assert result.n_iter < 5000


def test_descend_stops_at_max_iter_and_reports_it():
    result = optim.descend(
        quadratic(np.eye(2), np.ones(2)), np.zeros(2), optim.gd_step,
        max_iter=3, tol=1e-12, learning_rate=0.1,
    )  # fmt: skip
    assert not result.converged and result.n_iter == 3
    assert len(result.loss_curve) == 4
    assert "> tol" in result.message


def test_descend_reports_divergence_without_warnings():
    # θ ← θ − η·θ with η = 3 multiplies θ by −2 each step: it overflows after ~1000 steps.
    result = optim.descend(
        quadratic(np.eye(1), np.zeros(1)), np.ones(1), optim.gd_step,
        max_iter=5000, tol=1e-8, learning_rate=3.0,
    )  # fmt: skip
    assert result.diverged and not result.converged
    assert np.all(np.isfinite(result.theta))  # the last finite iterate is kept
    assert "finite" in result.message


def test_descend_with_minibatches_uses_batch_gradients():
    # J(θ) = (1/N) Σ_n ½(θ − a_n)², minimised at mean(a); batches see only their a_n.
    a = np.arange(8.0)

    def batch_fun(theta, rows):
        return float(np.mean(0.5 * (theta[0] - a[rows]) ** 2)), np.array(
            [np.mean(theta[0] - a[rows])]
        )

    calls = []
    result = optim.descend(
        lambda theta: batch_fun(theta, np.arange(8)), np.zeros(1), optim.gd_step,
        max_iter=200, tol=1e-6, batch_fun=batch_fun, n_samples=8, batch_size=8,
        rng=np.random.RandomState(0), callback=lambda i, loss: calls.append(i),
        learning_rate=0.5,
    )  # fmt: skip
    np.testing.assert_allclose(result.theta, [3.5], atol=1e-5)
    assert calls == list(range(1, result.n_iter + 1))


def test_lbfgs_minimises_rosenbrock():
    result = optim.lbfgs(
        lambda x: (rosen(x), rosen_der(x)), np.array([-1.2, 1.0, 0.5]), max_iter=500, tol=1e-9
    )
    assert result.converged
    np.testing.assert_allclose(result.theta, np.ones(3), atol=1e-5)
    assert len(result.loss_curve) == result.n_iter + 1
    assert result.loss_curve[-1] < result.loss_curve[0]


def test_lbfgs_evaluates_each_point_once():
    # The value at θ₀ is shared with SciPy's first evaluation, and the final gradient with
    # its last one: no point is evaluated twice.
    A = np.diag([1.0, 10.0, 100.0])
    seen = []

    def quadratic(theta):
        seen.append(theta.copy())
        return 0.5 * theta @ A @ theta - theta.sum(), A @ theta - 1.0

    result = optim.lbfgs(quadratic, np.zeros(3), max_iter=100, tol=1e-10)
    assert result.converged
    np.testing.assert_allclose(result.theta, 1.0 / np.diag(A), rtol=1e-8)
    distinct = {point.tobytes() for point in seen}
    assert len(distinct) == len(seen)
    assert result.loss_curve[0] == 0.0
    assert result.grad_max <= 1e-10


# --- one meaning of "converged" for every solver ------------------------------------------


def logistic_problem(seed=0, n=80, d=3, alpha=0.05):
    """Mean logistic loss with an L2 penalty: smooth, strongly convex, with its gradient."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=(n, d)), np.ones(n)])
    t = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(float)

    def fun(theta):
        z = X @ theta
        loss = np.mean(np.logaddexp(0.0, z) - t * z) + 0.5 * alpha * theta @ theta
        p = 0.5 * (1.0 + np.tanh(0.5 * z))  # σ(z) without overflow
        return float(loss), X.T @ (p - t) / n + alpha * theta

    return fun, d + 1


def run_solver(name, fun, n_params, max_iter, tol):
    theta0 = np.zeros(n_params)
    if name == "lbfgs":
        return optim.lbfgs(fun, theta0, max_iter=max_iter, tol=tol)
    hyper = {"learning_rate": 0.05 if name == "adam" else 1.0}
    return optim.descend(fun, theta0, optim.UPDATE_RULES[name], max_iter=max_iter, tol=tol,
                         **hyper)  # fmt: skip


@pytest.mark.parametrize("name", ["gd", "momentum", "nesterov", "adam", "lbfgs"])
@pytest.mark.parametrize("max_iter, tol", [(1, 1e-6), (5, 1e-6), (3000, 1e-6), (3000, 1e-15)])
def test_converged_means_the_gradient_at_the_returned_point_is_within_tol(name, max_iter, tol):
    # For every solver: grad_max is max |∇J| recomputed at the returned θ, and converged is
    # exactly grad_max <= tol. (The first-order rules need no decrease of J and can reach
    # 1e-15; L-BFGS's line search needs one, which float64 cannot show that close.)
    fun, n_params = logistic_problem()
    result = run_solver(name, fun, n_params, max_iter, tol)
    assert not result.diverged
    recomputed = np.max(np.abs(fun(result.theta)[1]))
    assert result.grad_max == pytest.approx(recomputed, rel=1e-12, abs=1e-300)
    assert result.converged == (recomputed <= tol)
    assert result.n_iter <= max_iter
    if tol == 1e-15 and name == "lbfgs":
        assert not result.converged and "> tol" in result.message
    if max_iter == 3000 and tol == 1e-6:
        assert result.converged and result.n_iter < max_iter


def test_lbfgs_stopped_by_scipy_above_tol_is_not_converged():
    # SciPy reports success when J stops decreasing (its ftol test), even with the gradient
    # above gtol; that is not convergence here.
    fun, n_params = logistic_problem(1)
    result = optim.lbfgs(fun, np.zeros(n_params), max_iter=10_000, tol=1e-17)
    assert result.n_iter < 10_000 and not result.converged and not result.diverged
    assert result.grad_max > 1e-17
    assert "float64" in result.message


def test_lbfgs_reports_divergence():
    # J = −Σθ³ is unbounded below: the line search runs off to θ where J = −inf.
    result = optim.lbfgs(
        lambda theta: (float(-np.sum(theta**3)), -3 * theta**2), np.ones(2), max_iter=200, tol=1e-6
    )
    assert result.diverged and not result.converged
    assert "finite" in result.message


def test_lbfgs_grad_max_on_rosenbrock_is_recomputed_at_theta():
    result = optim.lbfgs(lambda x: (rosen(x), rosen_der(x)), np.array([-1.2, 1.0]), max_iter=7,
                         tol=1e-12)  # fmt: skip
    assert not result.converged and result.n_iter == 7
    assert result.grad_max == np.max(np.abs(rosen_der(result.theta)))
    assert "max_iter" in result.message


def test_descend_flags_one_overflowing_coordinate_while_the_loss_stays_finite():
    # J depends on θ₀ only, but the (made-up) gradient drives θ₁ past the float64 range:
    # θ₁ = 0 − 1·(−1e308) = 1e308, then 2e308 = inf. J stays finite throughout.
    def fun(theta):
        return float(0.5 * theta[0] ** 2), np.array([theta[0], -1e308])

    result = optim.descend(fun, np.array([1.0, 0.0]), optim.gd_step, max_iter=50, tol=1e-8,
                           learning_rate=1.0)  # fmt: skip
    assert result.diverged and not result.converged
    assert result.n_iter == 1  # the second step overflowed; the first iterate is kept
    np.testing.assert_array_equal(result.theta, [0.0, 1e308])
    assert all(np.isfinite(result.loss_curve))
    assert "finite" in result.message


# --- the stopping rule, the messages and the contract with `fun`, exactly ------------------


def test_converged_includes_a_gradient_exactly_at_tol():
    assert optim.converged(False, 0.25, 0.25)
    assert not optim.converged(False, np.nextafter(0.25, 1.0), 0.25)
    assert not optim.converged(True, 0.0, 0.25)
    assert not optim.converged(False, np.nan, 0.25)


def test_descend_stops_before_stepping_when_the_gradient_is_exactly_tol():
    # J(θ) = tol·θ has ∇J = tol everywhere: the first test already holds.
    tol = 0.125
    result = optim.descend(lambda theta: (float(tol * theta[0]), np.array([tol])), np.ones(1),
                           optim.gd_step, max_iter=10, tol=tol, learning_rate=1.0)  # fmt: skip
    assert result.converged and result.n_iter == 0
    np.testing.assert_array_equal(result.theta, [1.0])
    assert result.message == "max |gradient| = 0.125 <= tol = 0.125"


@pytest.mark.parametrize("solver", ["descend", "lbfgs"])
def test_fun_always_receives_float64_theta(solver):
    # θ₀ given as integers is converted once, before the first evaluation.
    seen = []

    def fun(theta):
        seen.append(theta.dtype)
        return quadratic(np.eye(2), np.ones(2))(theta)

    theta0 = np.array([3, -2])
    if solver == "descend":
        result = optim.descend(fun, theta0, optim.gd_step, max_iter=0, tol=1e-8,
                               learning_rate=0.5)  # fmt: skip
    else:
        result = optim.lbfgs(fun, theta0, max_iter=20, tol=1e-8)
    assert seen and all(dtype == np.float64 for dtype in seen)
    assert result.theta.dtype == np.float64
    np.testing.assert_array_equal(theta0, [3, -2])  # the caller's array is left alone


def test_descend_callback_receives_each_iterations_loss():
    calls = []
    result = optim.descend(
        quadratic(np.diag([1.0, 3.0]), np.ones(2)), np.zeros(2), optim.gd_step,
        max_iter=6, tol=1e-12, callback=lambda i, loss: calls.append((i, loss)),
        learning_rate=0.1,
    )  # fmt: skip
    assert calls == list(enumerate(result.loss_curve))[1:]
    assert result.message == f"max |gradient| = {result.grad_max:.3g} > tol = 1e-12"


def test_descend_with_minibatch_momentum_matches_a_plain_loop():
    # The update rule's state (the velocity) carries over from batch to batch and epoch to
    # epoch; a plain loop over the same permutations is the reference.
    rng = np.random.RandomState(3)
    a = rng.normal(size=(10, 2))

    def batch_fun(theta, rows):
        return float(np.mean(0.5 * np.sum((theta - a[rows]) ** 2, axis=1))), np.mean(
            theta - a[rows], axis=0)

    result = optim.descend(
        lambda theta: batch_fun(theta, np.arange(10)), np.zeros(2), optim.momentum_step,
        max_iter=4, tol=1e-12, batch_fun=batch_fun, n_samples=10, batch_size=3,
        rng=np.random.RandomState(7), learning_rate=0.2, momentum=0.8,
    )  # fmt: skip
    theta, velocity, draw = np.zeros(2), np.zeros(2), np.random.RandomState(7)
    for _ in range(4):
        for rows in optim.minibatches(10, 3, draw):
            velocity = 0.8 * velocity - 0.2 * batch_fun(theta, rows)[1]
            theta = theta + velocity
    np.testing.assert_allclose(result.theta, theta, rtol=1e-12)


def test_descend_with_a_non_finite_loss_and_a_zero_gradient_has_diverged():
    # After one step J is +inf while the (made-up) gradient is 0: not converged.
    def fun(theta):
        return (1.0, np.ones(1)) if theta[0] == 0.0 else (np.inf, np.zeros(1))

    result = optim.descend(fun, np.zeros(1), optim.gd_step, max_iter=5, tol=1e-3,
                           learning_rate=1.0)  # fmt: skip
    assert result.diverged and not result.converged and result.grad_max == 0.0
    assert result.message == (
        "the loss or the parameters stopped being finite (the learning rate is too large)")


def test_descend_with_adam_minibatches_diverges_without_invalid_value_warnings():
    # η = 1000 sends θ to −999 in the first batch; the next batch's gradient overflows to
    # −inf, and Adam's m/√v is then inf/inf. pytest turns RuntimeWarnings into errors.
    def batch_fun(theta, rows):
        return float(np.sum(np.cosh(theta))), np.sinh(theta)

    result = optim.descend(
        lambda theta: batch_fun(theta, None), np.ones(1), optim.adam_step, max_iter=5,
        tol=1e-8, batch_fun=batch_fun, n_samples=4, batch_size=1,
        rng=np.random.RandomState(0), learning_rate=1000.0,
    )  # fmt: skip
    assert result.diverged and not result.converged


def test_lbfgs_with_a_non_finite_loss_and_a_zero_gradient_has_diverged():
    result = optim.lbfgs(lambda theta: (np.inf, np.zeros_like(theta)), np.ones(2), max_iter=10,
                         tol=1e-6)  # fmt: skip
    assert result.diverged and not result.converged and result.grad_max == 0.0
    assert result.message == "L-BFGS-B: the loss or the parameters stopped being finite"


def test_lbfgs_converged_message():
    result = optim.lbfgs(quadratic(np.diag([1.0, 2.0]), np.ones(2)), np.zeros(2), max_iter=50,
                         tol=1e-6)  # fmt: skip
    assert result.converged
    assert result.message == f"L-BFGS-B: max |gradient| = {result.grad_max:.3g} <= tol = 1e-06"


FLOOR = (": J no longer decreases at this precision (float64, or float32 for float32 input), "
         "so tol is below what the arithmetic resolves for this objective")


def test_lbfgs_on_a_kink_stops_abnormally_and_says_why():
    # J = Σ|θ| is not differentiable at its minimum: the gradient never gets small, the line
    # search finally fails, and SciPy stops with "ABNORMAL".
    def fun(theta):
        return float(np.sum(np.abs(theta))), np.sign(theta)

    result = optim.lbfgs(fun, np.ones(2), max_iter=100, tol=1e-6)
    assert not result.converged and not result.diverged and result.n_iter < 100
    assert "ABNORMAL" in result.message.upper()
    assert result.message.endswith(FLOOR)


def test_lbfgs_other_scipy_stops_get_no_precision_explanation(monkeypatch):
    # SciPy's limit on function evaluations is neither ABNORMAL nor REDUCTION.
    from scipy.optimize import OptimizeResult as ScipyResult

    message = "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT"
    monkeypatch.setattr(optim._lbfgs, "minimize", lambda fun, x0, **kw: ScipyResult(
        x=np.array(x0, dtype=float), nit=3, message=message))
    result = optim.lbfgs(quadratic(np.eye(2), np.ones(2)), np.zeros(2), max_iter=100, tol=1e-6)
    assert result.message == (f"L-BFGS-B: SciPy stopped ({message}) with max |gradient| = 1 > "
                              "tol = 1e-06")


@pytest.mark.parametrize("gradient", [
    lambda theta: 0.5 / np.sqrt(theta),  # NaN where J is, too
    lambda theta: 0.5 / np.sqrt(np.abs(theta)),  # finite where J is NaN
])  # fmt: skip
def test_lbfgs_says_when_the_line_search_left_the_domain_of_j(gradient):
    # J = Σ√θ is NaN for θ < 0, where the line search steps. NumPy's invalid-value warnings
    # there are not shown (pytest turns RuntimeWarnings into errors), and the message names
    # the cause rather than the precision of the arithmetic.
    result = optim.lbfgs(lambda theta: (float(np.sum(np.sqrt(theta))), gradient(theta)),
                         np.ones(2), max_iter=50, tol=1e-6)  # fmt: skip
    assert not result.converged and not result.diverged
    assert np.all(result.theta >= 0) and np.isfinite(result.loss_curve[-1])
    assert result.message.startswith("L-BFGS-B: SciPy stopped (")
    assert result.message.endswith(
        ": the line search met points where J or its gradient is not finite (outside J's "
        "domain, or overflowing); start nearer the minimum or rescale the problem")
    assert "precision" not in result.message
