"""SciPy's defaults, outputs, messages and warnings, checked without SciPy."""

import numpy as np
import pytest
from helpers.decay import P0
from helpers.decay import jacobian as decay_jacobian
from helpers.decay import residuals as decay

from minpack import leastsq


def rosenbrock(p):
    return np.array([10.0 * (p[1] - p[0] ** 2), 1.0 - p[0]])


def power(p):
    # Gauss-Newton shrinks p by 10% per iteration: progress never stalls, so only
    # maxfev ends the fit.
    return p**10


def test_default_maxfev_is_200_times_n_plus_1_without_dfun():
    x, cov, info, mesg, ier = leastsq(power, [1.0, 1.0], full_output=True)
    assert ier == 5
    assert mesg == "Number of calls to function has reached maxfev = 600."
    # MINPACK checks maxfev after each trial step, not inside the Jacobian's n evaluations.
    assert 600 <= info["nfev"] <= 600 + 2


def test_default_maxfev_is_100_times_n_plus_1_with_dfun():
    x, cov, info, mesg, ier = leastsq(power, [1.0], Dfun=lambda p: 10 * p.reshape(1, 1) ** 9,
                                      full_output=True)  # fmt: skip
    assert ier == 5
    assert mesg == "Number of calls to function has reached maxfev = 200."
    assert info["nfev"] == 200


def test_failure_without_full_output_warns_and_returns():
    with pytest.warns(RuntimeWarning, match="maxfev = 9"):
        x, ier = leastsq(decay, P0, maxfev=9)
    assert ier == 5


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_default_epsfcn_is_the_epsilon_of_funcs_dtype(dtype):
    def typed(p):
        return decay(p).astype(dtype)

    default = leastsq(typed, P0, full_output=True)
    explicit = leastsq(typed, P0, epsfcn=float(np.finfo(dtype).eps), full_output=True)
    np.testing.assert_array_equal(default[0], explicit[0])
    assert default[2]["nfev"] == explicit[2]["nfev"]
    with_float64_step = leastsq(typed, P0, epsfcn=float(np.finfo(np.float64).eps),
                                full_output=True)  # fmt: skip
    assert not np.array_equal(default[0], with_float64_step[0])


def test_longdouble_residuals_step_as_float64():
    # epsfcn defaults to longdouble's epsilon, but MINPACK never steps by less than
    # sqrt of its own (float64) epsilon, so the fit equals the float64 one.
    def typed(p):
        return decay(p).astype(np.longdouble)

    default = leastsq(typed, P0, full_output=True)
    explicit = leastsq(typed, P0, epsfcn=float(np.finfo(np.longdouble).eps), full_output=True)
    as_float64 = leastsq(decay, P0, full_output=True)
    np.testing.assert_array_equal(default[0], explicit[0])
    np.testing.assert_array_equal(default[0], as_float64[0])


def test_integer_residuals_use_float64_epsilon():
    def rounded(p):
        return np.round(100 * decay(p)).astype(np.int64)

    default = leastsq(rounded, P0, full_output=True)
    explicit = leastsq(rounded, P0, epsfcn=float(np.finfo(np.float64).eps), full_output=True)
    np.testing.assert_array_equal(default[0], explicit[0])
    assert default[4] == explicit[4]


def test_given_diag_is_used_as_the_scale():
    automatic = leastsq(decay, P0, full_output=True)
    scaled = leastsq(decay, P0, diag=[1e4, 1e-4, 1.0], full_output=True)
    assert automatic[4] in (1, 2, 3, 4) and scaled[4] in (1, 2, 3, 4)
    # Strong scaling changes MINPACK's path (more evaluations), not the solution.
    assert scaled[2]["nfev"] > automatic[2]["nfev"]
    np.testing.assert_allclose(scaled[0], automatic[0], rtol=1e-6)


def test_full_output_structure_without_dfun():
    x, cov_x, info, mesg, ier = leastsq(decay, P0, full_output=True)
    assert ier in (1, 2, 3, 4)
    assert list(info) == ["fvec", "nfev", "fjac", "ipvt", "qtf"]
    assert x.shape == (3,) and x.dtype == np.float64
    assert cov_x.shape == (3, 3)
    np.testing.assert_array_equal(cov_x, cov_x.T)
    assert info["fvec"].shape == (50,)
    np.testing.assert_array_equal(info["fvec"], decay(x))
    assert info["fjac"].shape == (3, 50)
    assert info["ipvt"].dtype == np.int32
    assert sorted(info["ipvt"]) == [0, 1, 2]
    assert info["qtf"].shape == (3,)
    assert type(info["nfev"]) is int and type(ier) is int
    assert isinstance(mesg, str)


def test_full_output_structure_with_dfun():
    x, cov_x, info, mesg, ier = leastsq(decay, P0, Dfun=decay_jacobian, full_output=True)
    assert ier in (1, 2, 3, 4)
    assert list(info) == ["fvec", "nfev", "njev", "fjac", "ipvt", "qtf"]
    assert type(info["njev"]) is int and info["njev"] >= 1


def test_cov_x_is_inverse_of_jtj_at_the_solution():
    x, cov_x, *_ = leastsq(decay, P0, Dfun=decay_jacobian, full_output=True)
    jac = decay_jacobian(x)
    # MINPACK's QR is of the Jacobian at the start of the last iteration, not at the
    # final x: here the last step moves x by ~1e-6 relative, and cov_x with it.
    np.testing.assert_allclose(cov_x, np.linalg.inv(jac.T @ jac), rtol=1e-4)


def test_cov_x_is_none_for_a_singular_jacobian():
    # the second variable does not enter the residuals: R has a zero diagonal
    x, cov_x, info, mesg, ier = leastsq(lambda p: np.array([p[0] - 1.0, 2 * p[0] - 2.0]),
                                        [0.0, 5.0], full_output=True)  # fmt: skip
    assert ier in (1, 2, 3, 4)
    assert cov_x is None


def test_cov_x_is_none_when_the_fit_failed():
    x, cov_x, info, mesg, ier = leastsq(decay, P0, maxfev=3, full_output=True)
    assert ier == 5
    assert cov_x is None


MESSAGES = {
    1: "Both actual and predicted relative reductions in the sum of squares\n"
    "  are at most 0.000000",
    2: "The relative error between two consecutive iterates is at most 0.000000",
    4: "The cosine of the angle between func(x) and any column of the\n"
    "  Jacobian is at most 0.000000 in absolute value",
}


def test_messages_are_scipys():
    linear = leastsq(lambda p: np.array([p[0] - 1.0, p[0] + 1.0]), [3.0], full_output=True)
    assert (linear[3], linear[4]) in [(text, ier) for ier, text in MESSAGES.items()]
    exact = leastsq(lambda p: np.array([p[0], p[0]]), [0.0], full_output=True)
    assert exact[4] == 4 and exact[3] == MESSAGES[4]


def test_no_warning_on_success():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, ier = leastsq(decay, P0)
    assert ier in (1, 2, 3, 4)


def test_scalar_x0_gives_one_variable():
    x, ier = leastsq(lambda p: np.array([p[0] - 2.0, p[0] - 4.0]), 0.0)
    assert x.shape == (1,)
    np.testing.assert_allclose(x, [3.0])


def test_scalar_residual_counts_as_one():
    x, ier = leastsq(lambda p: p[0] - 5.0, [0.0])
    np.testing.assert_allclose(x, [5.0])


def test_improper_input_reports_func_at_x0_as_fvec():
    x, cov_x, info, mesg, ier = leastsq(lambda p: p - 3.0, [1.0, 2.0], ftol=-1.0,
                                        full_output=True)  # fmt: skip
    assert ier == 0
    np.testing.assert_array_equal(info["fvec"], [-2.0, -1.0])
    assert info["nfev"] == 0


def test_scalar_residual_comes_back_as_a_scalar_like_scipy():
    x, cov_x, info, mesg, ier = leastsq(lambda p: 2.0 * (p[0] - 3.0) ** 2 + 1.0, 0.0,
                                        full_output=True)  # fmt: skip
    assert type(info["fvec"]) is np.float64
    assert info["fvec"] == pytest.approx(1.0)
