"""Property tests of ``minpack.leastsq`` (hypothesis).

(a) A full-rank, well-conditioned linear problem gives NumPy's least-squares solution
    and ``cov_x = inv(A.T @ A)``, within error bounds derived below from the problem.
(b) The caller's arrays (``x0``, ``args``, ``diag``) are never modified.
(c) On smooth problems lmdif (finite differences) and lmder (``Dfun``) agree to the
    accuracy their stopping tests promise.
(d) ``func`` gets a private copy of ``x`` on every call: a new array each time, never
    ``x0`` itself, never written to afterwards, and keeping it or scribbling on it
    changes nothing.

In CI (``CI`` set) the examples are derandomized, so that a run is reproducible.
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minpack

SUCCESS = (1, 2, 3, 4)
EPS = float(np.finfo(np.float64).eps)
FTOL = XTOL = 1.49012e-08  # leastsq's defaults
# The constants in the rounding-error bounds of Householder QR grow like m*n (<= 90 for
# the shapes drawn here): the derived bounds below are multiplied by this allowance.
ROUNDING_ALLOWANCE = 100.0

SETTINGS = settings(max_examples=150, deadline=None, derandomize=bool(os.environ.get("CI")))


def unit_floats() -> st.SearchStrategy[float]:
    # Multiples of 1/1000 in [-1, 1]: drawing from all floats would bring entries like
    # 1e-298, whose products underflow or whose cov_x overflows; that tests IEEE
    # arithmetic, not leastsq.
    return st.integers(-1000, 1000).map(lambda k: k / 1000.0)


def unit_arrays(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, shape, elements=unit_floats())


def orthonormal_columns(raw: np.ndarray) -> np.ndarray:
    # Q of any square matrix is orthogonal (a zero column just gives a trivial
    # reflection), so every draw is usable.
    q, _ = np.linalg.qr(raw)
    return q


# --- (a) linear problems ------------------------------------------------------------


@st.composite
def linear_problems(draw: st.DrawFn) -> dict[str, Any]:
    """A x ~ b with cond(A) <= 100, a known solution and a residual orthogonal to A."""
    n = draw(st.integers(1, 6))
    m = draw(st.integers(n, 15))
    q = orthonormal_columns(draw(unit_arrays((m, m))))
    v = orthonormal_columns(draw(unit_arrays((n, n))))
    kappa = draw(st.floats(1.0, 100.0))
    scale = 10.0 ** draw(st.floats(-1.0, 1.0))
    singular_values = scale * np.geomspace(1.0, 1.0 / kappa, n)
    matrix = (q[:, :n] * singular_values) @ v.T
    # The solution's components are kept away from 0 (|x_j| in [0.5, 2]): the forward
    # difference step is relative to |x_j| (see the bound in the test).
    magnitudes = draw(hnp.arrays(np.float64, n, elements=st.floats(0.5, 2.0)))
    signs = draw(hnp.arrays(np.float64, n, elements=st.sampled_from([-1.0, 1.0])))
    solution = magnitudes * signs
    # A residual in the orthogonal complement of range(A), up to as large as A x itself,
    # so that `solution` is exactly the least-squares solution.
    size = draw(st.floats(0.0, 1.0)) * np.linalg.norm(matrix @ solution)
    residual = q[:, n:] @ draw(unit_arrays((m - n,))) * size
    x0 = solution + draw(unit_arrays((n,)))
    return {"A": matrix, "b": matrix @ solution - residual, "x0": x0}


@SETTINGS
@given(problem=linear_problems(), use_dfun=st.booleans())
def test_linear_problem_equals_numpy_lstsq(problem: dict[str, Any], use_dfun: bool) -> None:
    matrix, b, x0 = problem["A"], problem["b"], problem["x0"]
    dfun = (lambda p: matrix) if use_dfun else None
    x, cov_x, info, _, ier = minpack.leastsq(
        lambda p: matrix @ p - b, x0, Dfun=dfun, full_output=True
    )
    assert ier in SUCCESS

    expected = np.linalg.lstsq(matrix, b, rcond=None)[0]
    singular_values = np.linalg.svd(matrix, compute_uv=False)
    norm_a, kappa = singular_values[0], singular_values[0] / singular_values[-1]
    residual = np.linalg.norm(matrix @ expected - b)

    # The Jacobian's relative error eps_j.  With Dfun it is exact.  Without, the
    # forward difference of a linear function has no truncation error, but
    #  - x_j + h rounds: the step actually taken is h (1 + O(eps |x_j| / h)) with
    #    h = sqrt(eps) |x_j|, a relative error of sqrt(eps) in the column, and
    #  - each f(x) carries a rounding error of about eps (||A|| ||x|| + ||b||), which the
    #    division by h turns into sqrt(eps) (||A|| ||x|| + ||b||) / |x_j|.
    if use_dfun:
        eps_j = EPS
    else:
        eps_j = (
            np.sqrt(EPS)
            * (norm_a * np.linalg.norm(expected) + np.linalg.norm(b))
            / (norm_a * np.min(np.abs(expected)))
        )
    # MINPACK converges to where J^T f(x) = 0 for its approximate J = A + E, that is
    # x - x_ls = -(J^T A)^-1 E^T r: at most eps_j kappa^2 ||r|| / ||A||.  Each Gauss-Newton
    # step from x0 leaves a fraction eps_j kappa of the distance, and solving with R
    # adds eps kappa ||x||.
    bound = eps_j * kappa * (
        kappa * residual / norm_a + np.linalg.norm(x0 - expected)
    ) + EPS * kappa * np.linalg.norm(expected)
    assert np.linalg.norm(x - expected) <= ROUNDING_ALLOWANCE * bound

    # cov_x = inv(J^T J): J^T J is A^T A perturbed by 2 eps_j ||A||^2 relative, and the
    # inverse multiplies that by cond(A^T A) = kappa^2.
    inverse = np.linalg.inv(matrix.T @ matrix)
    assert cov_x is not None
    error = np.linalg.norm(cov_x - inverse, 2) / np.linalg.norm(inverse, 2)
    assert error <= ROUNDING_ALLOWANCE * 2.0 * eps_j * kappa**2
    np.testing.assert_array_equal(cov_x, cov_x.T)  # symmetric by construction


# --- (b) the caller's arrays are left alone --------------------------------------------

T = np.linspace(0.0, 3.0, 12)


def exponential_model(p: np.ndarray, t: np.ndarray, y: np.ndarray) -> np.ndarray:
    # Trial steps can send p[1] far negative and exp to inf; MINPACK rejects such a
    # step and shrinks its trust region, so that must not warn.
    with np.errstate(over="ignore", invalid="ignore"):
        return p[0] * np.exp(-p[1] * t) + p[2] - y


def exponential_model_jac(p: np.ndarray, t: np.ndarray, y: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(-p[1] * t)
        return np.column_stack([e, -p[0] * t * e, np.ones_like(t)])


@SETTINGS
@given(
    x0=hnp.arrays(np.float64, 3, elements=st.floats(0.1, 3.0)),
    noise=unit_arrays((T.size,)),
    diag=st.none() | hnp.arrays(np.float64, 3, elements=st.floats(0.1, 10.0)),
    x0_shape=st.sampled_from([(3,), (3, 1), (1, 3)]),
    use_dfun=st.booleans(),
    full_output=st.booleans(),
    read_only=st.booleans(),
)
def test_inputs_are_never_mutated(
    x0: np.ndarray,
    noise: np.ndarray,
    diag: np.ndarray | None,
    x0_shape: tuple[int, ...],
    use_dfun: bool,
    full_output: bool,
    read_only: bool,
) -> None:
    t = T.copy()
    y = 2.0 * np.exp(-0.8 * t) + 0.3 + 0.01 * noise
    x0 = x0.reshape(x0_shape)
    inputs = {"x0": x0, "t": t, "y": y} | ({} if diag is None else {"diag": diag})
    for array in inputs.values():
        # Read-only inputs must be accepted, since nothing should write to them.
        array.flags.writeable = not read_only
    copies = {name: array.copy() for name, array in inputs.items()}

    with warnings.catch_warnings():
        # A draw that runs out of maxfev warns without full_output; that warning is
        # tested elsewhere, here only the inputs matter.
        warnings.simplefilter("ignore", RuntimeWarning)
        result = minpack.leastsq(
            exponential_model,
            x0,
            args=(t, y),
            Dfun=exponential_model_jac if use_dfun else None,
            full_output=full_output,
            diag=diag,
        )

    for name, array in inputs.items():
        np.testing.assert_array_equal(array, copies[name], err_msg=name)
        assert array.dtype == copies[name].dtype and array.shape == copies[name].shape
    returned = [result[0]] + ([result[1], *result[2].values()] if full_output else [])
    for value in returned:
        for array in inputs.values():
            assert not np.shares_memory(value, array)


# --- (c) lmdif and lmder agree ------------------------------------------------------------


@st.composite
def sums_of_exponentials(draw: st.DrawFn) -> dict[str, Any]:
    """f(p) = C exp(S p) - y: smooth, with data near a known p and a start near it."""
    n = draw(st.integers(1, 4))
    m = draw(st.integers(n + 1, 20))
    coefficients = draw(unit_arrays((m, n)))
    # S = I + 0.3 U (|U_ij| <= 1, n <= 4): diagonally dominant enough to keep the
    # model's dependence on every parameter, and with it the Jacobian's rank.
    mixing = np.eye(n) + 0.3 * draw(unit_arrays((n, n)))
    # Components away from 0, as in linear_problems: the forward-difference step is
    # relative to |p_j|.
    magnitudes = draw(hnp.arrays(np.float64, n, elements=st.floats(0.3, 1.0)))
    signs = draw(hnp.arrays(np.float64, n, elements=st.sampled_from([-1.0, 1.0])))
    truth = magnitudes * signs
    noise = draw(st.floats(0.0, 0.05)) * draw(unit_arrays((m,)))
    y = coefficients @ np.exp(mixing @ truth) + noise
    x0 = truth + 0.3 * draw(unit_arrays((n,)))

    # A trial step can be large (the first trust region is 100 ||D x0||), and exp then
    # overflows: MINPACK sees an inf or NaN sum of squares, rejects the step and shrinks
    # the trust region.  That is expected, so it must not warn.
    def func(p: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            return coefficients @ np.exp(mixing @ p) - y

    def jac(p: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            return (coefficients * np.exp(mixing @ p)) @ mixing

    def size(p: np.ndarray) -> float:
        """The size of the terms summed in func(p), which sets its rounding error."""
        return float(np.linalg.norm(np.abs(coefficients) @ np.exp(mixing @ p) + np.abs(y)))

    return {"func": func, "jac": jac, "size": size, "x0": x0}


@SETTINGS
@given(problem=sums_of_exponentials())
def test_finite_differences_and_dfun_reach_the_same_solution(problem: dict[str, Any]) -> None:
    func, jac, x0 = problem["func"], problem["jac"], problem["x0"]
    x_dif, _, _, _, ier_dif = minpack.leastsq(func, x0, full_output=True)
    x_der, _, _, _, ier_der = minpack.leastsq(func, x0, Dfun=jac, full_output=True)
    assume(ier_dif in SUCCESS and ier_der in SUCCESS)
    # The coefficients may be (nearly) dependent; the bound below uses cond(J) and
    # means nothing for a singular J.
    singular_values = np.linalg.svd(jac(x_der), compute_uv=False)
    assume(singular_values[-1] > 1e-6 * singular_values[0])

    norm_j, sigma_min = singular_values[0], singular_values[-1]
    kappa = norm_j / sigma_min
    residual = max(np.linalg.norm(func(x_dif)), np.linalg.norm(func(x_der)))
    # How far each run may stop from the minimizer of its own model:
    #  - ier 1 (ftol): the Gauss-Newton step p still possible gains at most ftol of the
    #    sum of squares, ||J p||^2 <= ftol ||f||^2, so ||p|| <= sqrt(ftol) ||f|| / sigma_min;
    #  - ier 2 (xtol): the last steps were at most xtol ||x||.
    stopping = np.sqrt(FTOL) * residual / sigma_min + XTOL * np.linalg.norm(x_der)
    # How far lmdif's minimizer is from lmder's: as in the linear test, its Jacobian has
    # a relative error eps_j of sqrt(eps) (rounding of x + h, and truncation h f''/2 with
    # h = sqrt(eps) |x_j| and f''/f' = O(1) here) plus sqrt(eps) size(f) / |x_j| (the
    # rounding of f divided by h).  That moves the point where J^T f = 0 by
    # eps_j kappa^2 ||f|| / ||J||, and the last steps leave eps_j kappa ||x||.
    # |x_j| is the smallest component the fits started from or reached: a start such as
    # x0 = [-1, -5.6e-17] (truth + 0.3 u can cancel) makes lmdif's step sqrt(eps) |x_j|
    # vanish in rounding, the Jacobian column comes out zero, and MINPACK stops at x0 (as
    # SciPy does); the bound must say that finite differences mean nothing there.
    smallest = min(np.min(np.abs(x0)), np.min(np.abs(x_dif)), np.min(np.abs(x_der)))
    assume(smallest > 0.0)  # for x_j = 0 exactly MINPACK steps by sqrt(eps), not 0
    eps_j = np.sqrt(EPS) * (1.0 + problem["size"](x_der) / (norm_j * smallest))
    model = eps_j * kappa * (kappa * residual / norm_j + np.linalg.norm(x_der))
    # Two independent stops, hence 2 * stopping; 10 for the O(1) constants above.  The
    # stopping term is the worst case the tests allow and is loose in practice: over 3000
    # draws the differences were at most 5e-4 of this bound (and 0.06 of 10 * model).
    assert np.linalg.norm(x_dif - x_der) <= 2.0 * stopping + 10.0 * model


# --- (d) func gets its own copy of x ---------------------------------------------------


class Recorder:
    """A residual function that keeps every x it is given, and a snapshot of it."""

    def __init__(self, func: Callable[..., np.ndarray], scribble: bool = False):
        self.func = func
        self.scribble = scribble
        self.received: list[np.ndarray] = []
        self.snapshots: list[np.ndarray] = []

    def __call__(self, x: np.ndarray, *args: Any) -> np.ndarray:
        self.received.append(x)
        self.snapshots.append(x.copy())
        value = self.func(x, *args)
        if self.scribble:
            x[...] = np.nan  # allowed: x is func's own copy
        return value


def fit(func: Callable[..., Any], x0: np.ndarray, jac: Callable[..., Any] | None, data: Any):
    return minpack.leastsq(func, x0, args=data, Dfun=jac, full_output=True, maxfev=400)


def assert_identical_fits(one: tuple[Any, ...], other: tuple[Any, ...]) -> None:
    x, cov_x, info, mesg, ier = one
    np.testing.assert_array_equal(x, other[0])
    assert (ier, mesg) == (other[4], other[3])
    assert (cov_x is None) == (other[1] is None)
    if cov_x is not None:
        np.testing.assert_array_equal(cov_x, other[1])
    assert list(info) == list(other[2])
    for key, value in info.items():
        np.testing.assert_array_equal(value, other[2][key], err_msg=key)


@SETTINGS
@given(
    x0=hnp.arrays(np.float64, 3, elements=st.floats(0.1, 3.0)),
    noise=unit_arrays((T.size,)),
    use_dfun=st.booleans(),
)
def test_func_gets_a_private_copy_of_x_on_every_call(
    x0: np.ndarray, noise: np.ndarray, use_dfun: bool
) -> None:
    data = (T, 2.0 * np.exp(-0.8 * T) + 0.3 + 0.01 * noise)
    jac = exponential_model_jac if use_dfun else None
    plain = fit(exponential_model, x0, jac, data)

    recorder = Recorder(exponential_model)
    jac_recorder = Recorder(exponential_model_jac) if use_dfun else None
    kept = fit(recorder, x0, jac_recorder, data)
    # Keeping references to every x changes nothing.
    assert_identical_fits(kept, plain)
    assert len(recorder.received) == kept[2]["nfev"]

    received = recorder.received + (jac_recorder.received if jac_recorder else [])
    snapshots = recorder.snapshots + (jac_recorder.snapshots if jac_recorder else [])
    for x, snapshot in zip(received, snapshots, strict=True):
        assert type(x) is np.ndarray and x.dtype == np.float64 and x.shape == (3,)
        # Nobody wrote to it after func returned.
        np.testing.assert_array_equal(x, snapshot)
        assert not np.shares_memory(x, x0)
        assert not np.shares_memory(x, kept[0])
    # A new array on every call: no two of them share memory.  They are all alive (kept
    # in the lists), so distinct buffers have distinct, non-overlapping addresses.
    spans = sorted(
        (x.__array_interface__["data"][0], x.__array_interface__["data"][0] + x.nbytes)
        for x in received
    )
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start

    # And func (and Dfun) may even write to their x without harm.
    scribbler = Recorder(exponential_model, scribble=True)
    jac_scribbler = Recorder(exponential_model_jac, scribble=True) if use_dfun else None
    assert_identical_fits(fit(scribbler, x0, jac_scribbler, data), plain)
