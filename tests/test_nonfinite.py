"""NaN and infinity: no fit reports success with them (docs/guide/robustness.md).

At x0 they stop the fit at once (ier 9); in a Jacobian, Dfun's or a forward
difference's, they stop it at the current iterate (ier 10); at a trial point MINPACK
itself rejects the step, and that is left exactly as MINPACK does it.
"""

import ctypes

import numpy as np
import pytest
from helpers.compiled import FORTRAN_FCN, WITH_USER_DATA, WITHOUT_USER_DATA

import minpack

P = ctypes.POINTER
INT, DOUBLE = ctypes.c_int, ctypes.c_double

AT_X0 = "func returned NaN or infinity at x0: the fit did not start."
IN_JACOBIAN = (
    "The Jacobian at x contains NaN or infinity (from Dfun, or from func at a\n"
    "  point of the forward differences): the fit stopped at x, the last iterate."
)
T = np.linspace(0.0, 1.0, 8)
X0 = np.array([1.0, 1.0])


def line(p):
    return p[0] * T + p[1] - (2.0 * T + 1.0)


def line_jacobian(p):
    return np.column_stack([T, np.ones_like(T)])


def bits(array):
    return np.asarray(array, dtype=np.float64).view(np.uint64)


BAD_VALUES = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}


# --- At x0 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_VALUES.values(), ids=BAD_VALUES)
@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_non_finite_residuals_at_x0_stop_the_fit_with_ier_9(bad, with_dfun, capfd):
    jacobian_calls = []

    def func(p):
        values = line(p)
        values[3] = bad
        return values

    def dfun(p):
        jacobian_calls.append(p)
        return line_jacobian(p)

    x, cov_x, info, mesg, ier = minpack.leastsq(
        func, X0, Dfun=dfun if with_dfun else None, full_output=True
    )
    assert (ier, mesg, cov_x, info["nfev"]) == (9, AT_X0, None, 1)
    assert info.get("njev", 0) == 0 and jacobian_calls == []
    np.testing.assert_array_equal(bits(x), bits(X0))
    np.testing.assert_array_equal(bits(info["fvec"]), bits(func(X0)))  # func(x0), as it was
    with pytest.warns(RuntimeWarning, match="^func returned NaN or infinity at x0"):
        x, ier = minpack.leastsq(func, X0, Dfun=dfun if with_dfun else None)
    assert ier == 9
    np.testing.assert_array_equal(x, X0)
    assert capfd.readouterr() == ("", "")


def nan_at_x0(m, n, x, fvec, iflag):
    for i in range(m):
        fvec[i] = 1.0
    fvec[m - 1] = np.nan


@pytest.mark.parametrize("with_callback", [False, True], ids=["gil-released", "with-callback"])
def test_compiled_func_with_nan_at_x0_stops_with_ier_9(with_callback):
    # Without a callback MINPACK runs without the GIL: the rules are applied in C there too.
    reported = []
    func = WITHOUT_USER_DATA(nan_at_x0)
    callback = (lambda x, fnorm, nfev: reported.append(nfev)) if with_callback else None
    x, cov_x, info, mesg, ier = minpack.leastsq(func, X0, m=4, full_output=True, callback=callback)
    assert (ier, mesg, info["nfev"]) == (9, AT_X0, 1)
    np.testing.assert_array_equal(x, X0)
    assert reported == []  # the fit never started an iteration


def test_curve_fit_reports_a_nan_model_at_p0_as_optimal_parameters_not_found():
    def model(t, a, b):
        return np.where(t > 0.5, np.nan, a * t + b)

    with pytest.raises(RuntimeError, match=f"^Optimal parameters not found: {AT_X0}$"):
        minpack.curve_fit(model, T, 2.0 * T + 1.0, p0=[1.0, 1.0])


# --- In the Jacobian --------------------------------------------------------------------------


def walled(p):
    # Defined for p[0] <= 1 only, while the best fit is at p[0] = 2: the fit walks up to
    # the wall until a forward difference steps over it.
    with np.errstate(invalid="ignore"):
        return np.array([p[0] - 2.0 + 0.0 * np.sqrt(1.0 - p[0]), p[1] - 3.0, 0.1 * (p[0] + p[1])])


def test_nan_forward_difference_stops_at_the_iterate_with_ier_10():
    seen = []

    def func(p):
        seen.append(p.copy())
        return walled(p)

    x, cov_x, info, mesg, ier = minpack.leastsq(func, [0.0, 0.0], full_output=True)
    assert (ier, mesg, cov_x) == (10, IN_JACOBIAN, None)
    assert len(seen) > 20  # it stopped after many iterations, not at the start
    # The last call was the forward difference in the first variable, at the iterate x
    # plus a step in x[0] only; the call before it was at x itself, the accepted trial point.
    np.testing.assert_array_equal(bits(x), bits(seen[-2]))
    assert seen[-1][0] > 1.0 >= x[0] and seen[-1][1] == x[1]
    # Not lmdif's moved x: MINPACK's own x is put back.
    np.testing.assert_array_equal(bits(info["fvec"]), bits(walled(x)))
    assert np.isfinite(x).all() and np.isfinite(info["fvec"]).all()


def test_nan_forward_difference_at_x0_returns_x0_itself():
    def one_sided(p):
        with np.errstate(invalid="ignore"):
            return np.array([np.sqrt(1.0 - p[0]) - 0.5, p[0] - 0.3])

    x, cov_x, info, mesg, ier = minpack.leastsq(one_sided, [1.0], full_output=True)
    assert (ier, info["nfev"]) == (10, 2)
    np.testing.assert_array_equal(bits(x), bits([1.0]))


@pytest.mark.parametrize("bad", BAD_VALUES.values(), ids=BAD_VALUES)
@pytest.mark.parametrize("col_deriv", [False, True], ids=["row-major", "col-deriv"])
def test_non_finite_dfun_stops_at_the_point_it_was_given_with_ier_10(bad, col_deriv):
    given = []

    def dfun(p):
        given.append(p.copy())
        jacobian = line_jacobian(p)
        if len(given) == 2:
            jacobian[5, 1] = bad
        return jacobian.T if col_deriv else jacobian

    x, cov_x, info, mesg, ier = minpack.leastsq(
        lambda p: line(p) ** 3, [0.0, 0.0], Dfun=dfun, col_deriv=col_deriv, full_output=True
    )
    assert (ier, mesg, info["njev"], cov_x) == (10, IN_JACOBIAN, 2, None)
    np.testing.assert_array_equal(bits(x), bits(given[-1]))
    np.testing.assert_array_equal(bits(info["fvec"]), bits(line(x) ** 3))


def test_compiled_dfun_with_nan_stops_with_ier_10():
    def residuals(m, n, x, fvec, iflag):
        for i in range(m):
            fvec[i] = x[0] * T[i] + x[1] - (2.0 * T[i] + 1.0)

    def jacobian(m, n, x, fjac, iflag):
        for i in range(m):
            fjac[i], fjac[i + m] = T[i], 1.0
        fjac[m + 2] = np.inf

    func, dfun = WITHOUT_USER_DATA(residuals), WITHOUT_USER_DATA(jacobian)
    x, cov_x, info, mesg, ier = minpack.leastsq(func, X0, Dfun=dfun, m=T.size, full_output=True)
    assert (ier, info["njev"], info["nfev"]) == (10, 1, 1)
    np.testing.assert_array_equal(x, X0)


# --- At trial points: MINPACK's own rejection, unchanged ----------------------------------------

TIMES = np.linspace(0.0, 10.0, 40)
TWO_DECAYS = 3.0 * np.exp(-0.5 * TIMES) + np.exp(-2.0 * TIMES)


def two_decays(p):
    # From this start a trial step overflows both exponentials: inf - inf is NaN.
    with np.errstate(over="ignore", invalid="ignore"):
        return p[0] * np.exp(-p[1] * TIMES) - p[2] * np.exp(-p[3] * TIMES) - TWO_DECAYS


TWO_DECAYS_START = np.array([10.0, 1.0, 10.0, 1.0])


def raw_lmdif(func, x0, m):
    """Run MINPACK's lmdif itself (minpack.capi, no rules applied) with leastsq's defaults."""
    n = len(x0)
    x = np.array(x0, dtype=np.float64)
    vectors = {name: np.zeros(size) for name, size in
               [("fvec", m), ("fjac", m * n), ("diag", n), ("qtf", n), ("wa1", n), ("wa2", n),
                ("wa3", n), ("wa4", m)]}  # fmt: skip
    ipvt = np.zeros(n, dtype=np.intc)
    info, nfev = INT(), INT()

    @FORTRAN_FCN
    def fcn(m_, n_, x_, fvec_, iflag_):
        values = func(np.ctypeslib.as_array(x_, (n,)).copy())
        np.ctypeslib.as_array(fvec_, (m,))[:] = values

    def pointer(array):
        return array.ctypes.data_as(P(DOUBLE))

    lmdif = ctypes.CFUNCTYPE(None, FORTRAN_FCN, *[ctypes.c_void_p] * 23)(
        minpack.capi_address("lmdif")
    )
    lmdif(
        fcn, ctypes.byref(INT(m)), ctypes.byref(INT(n)), pointer(x), pointer(vectors["fvec"]),
        ctypes.byref(DOUBLE(1.49012e-08)), ctypes.byref(DOUBLE(1.49012e-08)),
        ctypes.byref(DOUBLE(0.0)), ctypes.byref(INT(200 * (n + 1))),
        ctypes.byref(DOUBLE(np.finfo(np.float64).eps)), pointer(vectors["diag"]),
        ctypes.byref(INT(1)), ctypes.byref(DOUBLE(100.0)), ctypes.byref(INT(0)),
        ctypes.byref(info), ctypes.byref(nfev), pointer(vectors["fjac"]), ctypes.byref(INT(m)),
        ipvt.ctypes.data_as(P(INT)), pointer(vectors["qtf"]), pointer(vectors["wa1"]),
        pointer(vectors["wa2"]), pointer(vectors["wa3"]), pointer(vectors["wa4"]),
    )  # fmt: skip
    return x, nfev.value, info.value


def test_nan_at_a_trial_point_is_minpacks_own_rejection_bit_for_bit():
    values = []

    def func(p):
        values.append(two_decays(p))
        return values[-1]

    x, cov_x, info, mesg, ier = minpack.leastsq(func, TWO_DECAYS_START, full_output=True)
    assert any(np.isnan(v).any() for v in values)  # the case this test is about
    assert ier in (1, 2, 3, 4)
    raw_x, raw_nfev, raw_info = raw_lmdif(two_decays, TWO_DECAYS_START, TIMES.size)
    np.testing.assert_array_equal(bits(x), bits(raw_x))
    assert (info["nfev"], ier) == (raw_nfev, raw_info)


def test_a_trial_point_that_overflowed_is_never_passed_to_func():
    # r = a*p - c with a tiny slope a: the steps grow until x + p overflows.  Such a trial
    # counts as an evaluation with NaN residuals, which MINPACK rejects; func, which would
    # answer zeros there (SciPy then reports success at x = inf), never sees it.
    seen = []

    def func(p):
        seen.append(p.copy())
        if not np.isfinite(p).all():
            return np.zeros(2)
        return np.array([1e-299 * p[0] - 1e10] * 2)

    x, cov_x, info, mesg, ier = minpack.leastsq(func, [1e302], full_output=True, maxfev=100)
    assert all(np.isfinite(p).all() for p in seen)
    assert info["nfev"] > len(seen)  # some trial points were not passed on
    assert ier in (1, 2, 3, 4) and np.isfinite(x).all() and np.isfinite(info["fvec"]).all()


# --- In batches -------------------------------------------------------------------------------


def linear_row(p, row):
    return p[0] * T + p[1] - row


def linear_row_c(m, n, x, fvec, iflag, user_data):
    row = ctypes.cast(user_data, P(DOUBLE))
    for i in range(m):
        fvec[i] = x[0] * T[i] + x[1] - row[i]


@pytest.mark.parametrize("kind", ["python", "compiled"])
def test_a_nan_data_row_stops_only_its_problem_with_ier_9(kind):
    rows = np.array([2.0 * T + 1.0 + k for k in range(5)])
    rows[2, 4] = np.nan
    func = linear_row if kind == "python" else WITH_USER_DATA(linear_row_c)
    m = None if kind == "python" else T.size
    result = minpack.leastsq_batch(func, X0, data=rows, m=m, workers=2)
    assert list(result.ier[[0, 1, 3, 4]]) == [2, 2, 2, 2] or result.success[[0, 1, 3, 4]].all()
    assert result.ier[2] == 9 and not result.success[2] and result.nfev[2] == 1
    np.testing.assert_array_equal(result.x[2], X0)
    assert np.isnan(result.cov_x[2]).all() and np.isnan(result.fnorm[2])
    assert result.message(9) == AT_X0
    for k in (0, 1, 3, 4):
        x, ier = minpack.leastsq(linear_row, X0, args=(rows[k],))
        np.testing.assert_array_equal(bits(result.x[k]), bits(x))
        assert result.ier[k] == ier


def walled_c(m, n, x, fvec, iflag):
    values = walled(np.ctypeslib.as_array(x, (n,)).copy())
    for i in range(m):
        fvec[i] = values[i]


def test_a_compiled_batch_stops_at_the_iterate_like_leastsq_with_ier_10():
    result = minpack.leastsq_batch(WITHOUT_USER_DATA(walled_c), np.zeros((3, 2)), m=3, workers=2)
    x, cov_x, info, mesg, ier = minpack.leastsq(walled, [0.0, 0.0], full_output=True)
    assert ier == 10
    assert list(result.ier) == [10, 10, 10]
    np.testing.assert_array_equal(bits(result.x), bits(np.tile(x, (3, 1))))
    assert list(result.nfev) == [info["nfev"]] * 3


def test_variances_beyond_the_largest_double_are_infinite_without_a_warning():
    # A linear problem whose second column is 1e-170: inv(R) holds 1e170, whose square
    # overflows.  The fit succeeds; cov_x says inf there, with no NaN and no warning.
    a = np.array([[1.0, 0.0], [0.0, 1e-170], [0.0, 0.0]])
    b = np.array([1.0, 1e-170, 0.0])
    x, cov_x, info, mesg, ier = minpack.leastsq(
        lambda p: a @ p - b, [0.0, 0.0], Dfun=lambda p: a, full_output=True
    )
    assert ier in (1, 2, 3, 4)
    assert np.isinf(cov_x[1, 1]) and not np.isnan(cov_x).any()
    assert cov_x[0, 0] == 1.0 and cov_x[0, 1] == cov_x[1, 0] == 0.0
    usual = np.array([[2.0, 1.0], [0.0, 3.0], [0.5, 0.5]])
    x, cov_x, info, mesg, ier = minpack.leastsq(
        lambda p: usual @ p, [1.0, 1.0], Dfun=lambda p: usual, full_output=True
    )
    np.testing.assert_allclose(cov_x, np.linalg.inv(usual.T @ usual), rtol=1e-14)


def from_bits(bits):
    return np.array([bits], dtype=np.uint64).view(np.float64)[0]


NON_FINITE_PATTERNS = {
    "nan": np.nan, "-nan": -np.nan, "inf": np.inf, "-inf": -np.inf,
    "signalling-nan": from_bits(0x7FF0000000000001), "nan-payload": from_bits(0xFFFFFFFFFFFFFFFF),
}  # fmt: skip
FINITE_EXTREMES = {
    "max": np.finfo(np.float64).max, "-max": -np.finfo(np.float64).max,
    "smallest-subnormal": 5e-324, "tiny": np.finfo(np.float64).tiny, "-zero": -0.0,
}  # fmt: skip


@pytest.mark.parametrize("value", NON_FINITE_PATTERNS.values(), ids=NON_FINITE_PATTERNS)
@pytest.mark.parametrize("position", [0, 7, 12])
def test_every_non_finite_pattern_at_any_position_is_caught(value, position):
    # The C check reads the exponent bits of each value (vectorised): every position of a
    # vector, and every NaN and infinity pattern, must count.
    def func(p):
        values = np.linspace(1.0, 2.0, 13) * p[0]
        values[position] = value
        return values

    x, cov_x, info, mesg, ier = minpack.leastsq(func, [1.0], full_output=True)
    assert ier == 9


@pytest.mark.parametrize("value", FINITE_EXTREMES.values(), ids=FINITE_EXTREMES)
def test_finite_extremes_are_not_mistaken_for_non_finite(value):
    def func(p):
        values = np.linspace(1.0, 2.0, 13) * (p[0] - 3.0)
        values[5] = value
        return values

    x, cov_x, info, mesg, ier = minpack.leastsq(func, [1.0], full_output=True)
    assert ier in (1, 2, 3, 4)
