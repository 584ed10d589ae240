"""minpack.least_squares: SciPy's least_squares(method='lm') as SciPy 1.14 ran it.

Three kinds of test: SciPy's own tests of ``lm`` (its ``TestLM`` and the module's ``lm``
test), run against minpack.least_squares from the installed SciPy; the mapping onto
MINPACK (each option gives the fit leastsq gives with MINPACK's corresponding inputs,
bit for bit); and what this package adds (compiled callbacks, the iteration callback, the
non-finite rules).  Bit-for-bit agreement with SciPy 1.14.1 itself is
tests/test_least_squares_oracle.py, run where SciPy 1.14.1 is installed.
"""

import ctypes
import inspect
import warnings

import numpy as np
import pytest
from helpers.compiled import WITH_USER_DATA, X0, decay_row
from helpers.decay import NOISY, P0, T, jacobian, residuals

import minpack

EPS = np.finfo(float).eps


def decay(p):
    return residuals(p, NOISY)


def decay_jacobian(p):
    return jacobian(p, NOISY)


# ---- SciPy's own tests ------------------------------------------------------------------

scipy_tests = pytest.importorskip("scipy.optimize.tests.test_least_squares")
SCIPY_VERSION = __import__("scipy").__version__

# The tests of SciPy's suite whose expectation is not SciPy 1.14's lm, and why.
DIFFERENT_ON_PURPOSE = {
    "test_x_scale_options": (
        "calls least_squares without method: it tests SciPy's default method, 'trf'; "
        "minpack's default is 'lm', which does not put x exactly at 0"
    ),
    "test_callback_with_lm_method": (
        "SciPy >= 1.16 ignores callback for 'lm' (with a warning); minpack calls it at "
        "every iteration, as leastsq's, so the test's callback, which asserts False, raises"
    ),
}


@pytest.fixture
def scipy_tests_on_minpack(monkeypatch):
    monkeypatch.setattr(scipy_tests, "least_squares", minpack.least_squares)


@pytest.mark.usefixtures("scipy_tests_on_minpack")
class TestSciPysLMOnMinpack(scipy_tests.TestLM):
    """SciPy's TestLM, of the installed SciPy, run against minpack.least_squares."""

    __test__ = True


for _name, _reason in DIFFERENT_ON_PURPOSE.items():
    _method = getattr(scipy_tests.TestLM, _name, None)
    if _method is not None:
        setattr(
            TestSciPysLMOnMinpack,
            _name,
            pytest.mark.xfail(strict=True, reason=f"SciPy {SCIPY_VERSION}: {_reason}")(_method),
        )


@pytest.mark.usefixtures("scipy_tests_on_minpack")
def test_scipys_small_tolerances_for_lm():
    scipy_tests.test_small_tolerances_for_lm()


def test_scipys_lm_tests_were_found():
    names = [name for name in dir(TestSciPysLMOnMinpack) if name.startswith("test_")]
    assert len(names) >= 25, names


# ---- the signature and the result ----------------------------------------------------------


def test_the_signature_is_scipys_with_lm_as_the_default():
    parameters = inspect.signature(minpack.least_squares).parameters
    expected = [
        "fun", "x0", "jac", "bounds", "method", "ftol", "xtol", "gtol", "x_scale", "loss",
        "f_scale", "diff_step", "tr_solver", "tr_options", "jac_sparsity", "max_nfev",
        "verbose", "args", "kwargs", "callback", "workers", "m",
    ]  # fmt: skip
    assert list(parameters) == expected
    assert parameters["method"].default == "lm"
    assert parameters["x_scale"].default == 1.0
    assert parameters["m"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize("method", ["trf", "dogbox", "LM", None])
def test_any_other_method_is_a_value_error(method):
    with pytest.raises(ValueError, match=r"Levenberg-Marquardt method \(method='lm'\) only"):
        minpack.least_squares(decay, P0, method=method)


def test_the_result_is_an_optimize_result_compatible_dict():
    res = minpack.least_squares(decay, P0)
    fields = [
        "x", "cost", "fun", "jac", "grad", "optimality", "active_mask", "nfev", "njev",
        "status", "message", "success",
    ]  # fmt: skip
    assert list(res.keys()) == fields
    for field in fields:
        assert getattr(res, field) is res[field]
    assert res.success and res.status in (1, 2, 3, 4) and res.njev is None
    np.testing.assert_array_equal(res.active_mask, [0, 0, 0])
    assert res.cost == 0.5 * np.dot(res.fun, res.fun)
    np.testing.assert_array_equal(res.grad, res.jac.T.dot(res.fun))
    assert res.optimality == np.linalg.norm(res.grad, ord=np.inf)
    assert "cost" in repr(res) and "x" in dir(res)
    res.extra = 1
    assert res["extra"] == 1


# ---- the mapping onto MINPACK, against leastsq with the same inputs ------------------------


def leastsq_twin(func, Dfun=None, **options):  # noqa: N803 - SciPy's name
    """leastsq with least_squares' defaults for lm: tolerances 1e-8, diag = 1/x_scale."""
    n = P0.size
    settings = dict(ftol=1e-8, xtol=1e-8, gtol=1e-8, diag=np.ones(n))
    settings["maxfev"] = 100 * n if Dfun is not None else 100 * n * (n + 1)
    settings["epsfcn"] = None if Dfun is not None else EPS
    settings.update(options)
    return minpack.leastsq(func, P0, Dfun=Dfun, full_output=True, **settings)


OPTIONS = {
    "defaults": ({}, {}),
    "x_scale-array": (dict(x_scale=np.array([2.0, 0.5, 4.0])), dict(diag=[0.5, 2.0, 0.25])),
    "x_scale-jac": (dict(x_scale="jac"), dict(diag=None)),
    "diff_step": (dict(diff_step=1e-3), dict(epsfcn=1e-3**2)),
    "max_nfev": (dict(max_nfev=9), dict(maxfev=9)),
    "tolerances": (dict(ftol=1e-4, xtol=1e-3, gtol=1e-5), dict(ftol=1e-4, xtol=1e-3, gtol=1e-5)),
}


# diff_step is for finite differences only.
CASES = [
    pytest.param(given, inputs, with_jac, id=f"{name}-{'lmder' if with_jac else 'lmdif'}")
    for name, (given, inputs) in OPTIONS.items()
    for with_jac in (False, True)
    if not (with_jac and "diff_step" in given)
]


@pytest.mark.parametrize(("given", "minpack_inputs", "with_jac"), CASES)
def test_each_option_is_minpacks_input_as_scipy_114_made_it(given, minpack_inputs, with_jac):
    jac = decay_jacobian if with_jac else "2-point"
    res = minpack.least_squares(decay, P0, jac=jac, **given)
    x, cov_x, info, mesg, ier = leastsq_twin(
        decay, decay_jacobian if with_jac else None, **minpack_inputs
    )
    np.testing.assert_array_equal(res.x, x)
    np.testing.assert_array_equal(res.fun, info["fvec"])
    assert res.nfev == info["nfev"]
    assert res.njev == (info["njev"] if with_jac else None)
    assert res.status == {0: -1, 1: 2, 2: 3, 3: 4, 4: 1, 5: 0}[ier]


def test_the_jacobian_at_the_solution_is_jac_there():
    calls = []

    def counted_jacobian(p):
        calls.append(p.copy())
        return decay_jacobian(p)

    res = minpack.least_squares(decay, P0, jac=counted_jacobian)
    np.testing.assert_array_equal(res.jac, decay_jacobian(res.x))
    assert len(calls) == res.njev + 2  # SciPy 1.14 too: once at x0 (checked), once at x
    np.testing.assert_array_equal(calls[-1], res.x)


def test_the_jacobian_at_the_solution_is_3_point_central_differences():
    calls = []

    def counted(p):
        calls.append(p.copy())
        return decay(p)

    res = minpack.least_squares(counted, P0)
    assert len(calls) == res.nfev + 1 + 2 * P0.size  # f(x), then 2 per variable, uncounted
    x = res.x
    h = EPS ** (1 / 3) * np.maximum(1.0, np.abs(x))
    for j in range(x.size):
        low, high = x.copy(), x.copy()
        low[j], high[j] = x[j] - h[j], x[j] + h[j]
        np.testing.assert_array_equal(calls[-2 * (x.size - j)], low)
        np.testing.assert_array_equal(calls[-2 * (x.size - j) + 1], high)
        column = (decay(high) - decay(low)) / (high[j] - low[j])
        np.testing.assert_array_equal(res.jac[:, j], column)
    np.testing.assert_allclose(res.jac, decay_jacobian(x), rtol=1e-8, atol=1e-10)


def test_float32_residuals_take_float32s_step():
    def single(p):
        return decay(p).astype(np.float32)

    res = minpack.least_squares(single, P0)
    x = res.x
    h = np.finfo(np.float32).eps ** (1 / 3) * np.maximum(1.0, np.abs(x))
    low, high = x.copy(), x.copy()
    low[0], high[0] = x[0] - h[0], x[0] + h[0]
    column = (single(high) - single(low)) / (high[0] - low[0])
    np.testing.assert_array_equal(res.jac[:, 0], column)


@pytest.mark.parametrize("jac", ["3-point", "cs"])
def test_3_point_and_cs_warn_and_work_as_2_point(jac):
    with pytest.warns(UserWarning, match=f"jac='{jac}' works equivalently to '2-point'"):
        res = minpack.least_squares(decay, P0, jac=jac)
    plain = minpack.least_squares(decay, P0)
    np.testing.assert_array_equal(res.x, plain.x)
    assert res.nfev == plain.nfev


def test_the_sign_of_diff_step_does_not_matter():
    up = minpack.least_squares(decay, P0, diff_step=1e-4)
    down = minpack.least_squares(decay, P0, diff_step=-1e-4)
    np.testing.assert_array_equal(up.x, down.x)


def test_args_kwargs_and_workers_reach_fun_and_jac_or_change_nothing():
    def shifted(p, y, *, scale):
        return scale * (p[0] * np.exp(-p[1] * T) + p[2] - y)

    def shifted_jacobian(p, y, *, scale):
        return scale * jacobian(p, y)

    plain = minpack.least_squares(decay, P0, jac=decay_jacobian)
    res = minpack.least_squares(
        shifted, P0, jac=shifted_jacobian, args=(NOISY,), kwargs={"scale": 1.0}, workers=map
    )
    np.testing.assert_array_equal(res.x, plain.x)
    assert (res.nfev, res.njev) == (plain.nfev, plain.njev)


# ---- errors: SciPy's answers -----------------------------------------------------------------

ERRORS = {
    "bounds": (dict(bounds=(0.0, 10.0)), "doesn't support bounds"),
    "loss": (dict(loss="huber"), "supports only 'linear' loss"),
    "unknown-loss": (dict(loss="l2"), "`loss` must be one of"),
    "jac_sparsity": (dict(jac_sparsity=np.ones((50, 3))), "does not support `jac_sparsity`"),
    "jac-string": (dict(jac="4-point"), "`jac` must be '2-point'"),
    "tolerance": (dict(ftol=1e-17), "All tolerances must be higher than machine epsilon"),
    "max_nfev": (dict(max_nfev=0), "`max_nfev` must be None or positive integer"),
    "x_scale": (dict(x_scale=-1.0), "`x_scale` must be 'jac' or array_like"),
    "x_scale-shape": (dict(x_scale=[1.0, 2.0]), "Inconsistent shapes between `x_scale`"),
    "verbose": (dict(verbose=3), "`verbose` must be in"),
    "tr_solver": (dict(tr_solver="qr"), "`tr_solver` must be None"),
    "x0-complex": (dict(x0=[1j, 1.0, 0.0]), "`x0` must be real"),
    "x0-2d": (dict(x0=np.ones((3, 1))), "`x0` must have at most 1 dimension"),
}


@pytest.mark.parametrize(("options", "text"), ERRORS.values(), ids=ERRORS)
def test_bad_input_is_scipys_value_error(options, text):
    options = {"x0": P0, **options}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # SciPy warns below machine epsilon too
        with pytest.raises(ValueError, match=text):
            minpack.least_squares(decay, **options)


def test_m_less_than_n_and_non_finite_residuals_at_x0_are_value_errors():
    with pytest.raises(ValueError, match="less than the number of variables"):
        minpack.least_squares(lambda p: p[:2], P0)
    with pytest.raises(ValueError, match="Residuals are not finite in the initial point"):
        minpack.least_squares(lambda p: decay(p) * np.nan, P0)


def test_a_sparse_jacobian_is_a_value_error():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(ValueError, match="works only with dense Jacobian"):
        minpack.least_squares(decay, P0, jac=lambda p: sparse.csr_array(decay_jacobian(p)))


# ---- beyond SciPy: the iteration callback, compiled callbacks, non-finite values -----------


@pytest.mark.parametrize("stop", ["true", "stop-iteration"])
@pytest.mark.parametrize("signature", ["intermediate_result", "x"])
def test_the_callback_runs_at_every_iteration_and_may_stop_the_fit(signature, stop):
    seen = []

    def by_result(intermediate_result):
        seen.append(intermediate_result)
        if intermediate_result.nit == 3:
            if stop == "true":
                return True
            raise StopIteration

    def by_x(x):
        seen.append(x)
        if len(seen) == 3:
            if stop == "true":
                return True
            raise StopIteration

    res = minpack.least_squares(decay, P0, callback=by_result if signature != "x" else by_x)
    assert res.status == -2 and not res.success
    assert res.message.startswith("Stopped because `callback`")
    assert len(seen) == 3
    last = seen[-1] if signature == "x" else seen[-1].x
    np.testing.assert_array_equal(last, res.x)
    if signature != "x":
        assert [r.nit for r in seen] == [1, 2, 3] and seen[-1].nfev <= res.nfev


def test_a_callback_that_never_stops_changes_nothing():
    plain = minpack.least_squares(decay, P0)
    res = minpack.least_squares(decay, P0, callback=lambda x: None)
    np.testing.assert_array_equal(res.x, plain.x)
    assert res.nfev == plain.nfev and res.status == plain.status


def test_a_non_finite_jacobian_stops_at_the_iterate_with_status_minus_10():
    def one_sided(p):  # defined for p <= 1; the forward difference at p = 1 leaves it
        with np.errstate(invalid="ignore"):
            return np.array([np.sqrt(1.0 - p[0]) - 0.5, p[0] - 0.3])

    res = minpack.least_squares(one_sided, [1.0])
    assert (res.status, res.success) == (-10, False)
    assert "NaN or infinity" in res.message
    np.testing.assert_array_equal(res.x, [1.0])


@pytest.fixture
def compiled_decay(lib):
    row = decay_row(3)
    func = WITH_USER_DATA(lib.address("decay"))
    jac = WITH_USER_DATA(lib.address("decay_jacobian"))
    scipy = pytest.importorskip("scipy")
    data = ctypes.c_void_p(row.ctypes.data)
    return row, scipy.LowLevelCallable(func, data), scipy.LowLevelCallable(jac, data), func


@pytest.mark.parametrize("with_jac", [False, True], ids=["lmdif", "lmder"])
def test_compiled_fun_and_jac_fit_as_leastsq_does(compiled_decay, with_jac):
    row, fun, jac, raw = compiled_decay
    m = row.size // 2
    res = minpack.least_squares(fun, X0, jac=jac if with_jac else "2-point", m=m)
    n = X0.size
    x, cov_x, info, mesg, ier = minpack.leastsq(
        fun, X0, Dfun=jac if with_jac else None, full_output=True, m=m, ftol=1e-8, xtol=1e-8,
        gtol=1e-8, diag=np.ones(n), epsfcn=None if with_jac else EPS,
        maxfev=100 * n if with_jac else 100 * n * (n + 1),
    )  # fmt: skip
    np.testing.assert_array_equal(res.x, x)
    np.testing.assert_array_equal(res.fun, info["fvec"])
    assert res.nfev == info["nfev"] and res.success
    if with_jac:
        return
    # res.jac: the central differences of the compiled fun, computed in C, are the ones
    # the formula gives with the same C function called here.
    fvec = np.empty(m)
    flag = ctypes.c_int(1)

    def call(p):
        p = np.ascontiguousarray(p)
        raw(m, n, p.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            fvec.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), ctypes.byref(flag),
            row.ctypes.data)  # fmt: skip
        return fvec.copy()

    h = EPS ** (1 / 3) * np.maximum(1.0, np.abs(res.x))
    for j in range(n):
        low, high = res.x.copy(), res.x.copy()
        low[j], high[j] = res.x[j] - h[j], res.x[j] + h[j]
        np.testing.assert_array_equal(res.jac[:, j], (call(high) - call(low)) / (high[j] - low[j]))


def test_a_compiled_fun_needs_m(compiled_decay):
    row, fun, jac, raw = compiled_decay
    with pytest.raises(TypeError, match=r"\bm\b"):
        minpack.least_squares(fun, X0)
