"""Each row of the "Every difference, measured" table of docs/migrating.md, measured on both sides.

If a SciPy release changes one of these behaviours, the test says which row of
the table to update.  Compared against SciPy >= 1.15 (the C translation).
"""

import numpy as np
import pytest
from helpers.decay import CLEAN, P0, jacobian, residuals

import minpack

scipy_optimize = pytest.importorskip("scipy.optimize")


def decay(p):
    return residuals(p, CLEAN)


def decay_jacobian(p):
    return jacobian(p, CLEAN)


def _counted(function):
    """Wrap a function so that it records a copy of every x it is called with."""
    seen = []

    def counted(p):
        seen.append(np.array(p, copy=True))
        return function(p)

    counted.seen = seen
    return counted


def test_calls_at_x0_row():
    counts = {}
    for name, leastsq in [("scipy", scipy_optimize.leastsq), ("minpack", minpack.leastsq)]:
        func = _counted(decay)
        nfev = leastsq(func, P0, full_output=True)[2]["nfev"]
        at_x0 = sum(np.array_equal(p, P0) for p in func.seen)
        func, jac = _counted(decay), _counted(decay_jacobian)
        njev = leastsq(func, P0, Dfun=jac, full_output=True)[2]["njev"]
        jac_at_x0 = sum(np.array_equal(p, P0) for p in jac.seen)
        counts[name] = (at_x0, nfev, jac_at_x0, len(jac.seen), njev)
    assert counts["scipy"] == (3, 25, 2, 7, 6)
    assert counts["minpack"] == (1, 25, 1, 6, 6)


def test_func_writing_to_x_row():
    def vandal(p):
        value = decay(p)
        p[:] = 0.0
        return value

    with pytest.warns(RuntimeWarning, match="maxfev"):
        x, ier = scipy_optimize.leastsq(vandal, P0)
    assert ier == 5
    np.testing.assert_array_equal(x, [0.0, 0.0, 0.0])
    x, ier = minpack.leastsq(vandal, P0)
    assert ier in (1, 2, 3, 4)
    np.testing.assert_allclose(x, [2.5, 1.3, 0.5])


def test_same_output_buffer_row():
    buffer = np.empty_like(CLEAN)

    def in_place(p):
        buffer[:] = decay(p)
        return buffer

    x, ier = scipy_optimize.leastsq(in_place, P0)
    np.testing.assert_array_equal(x, P0)
    x, ier = minpack.leastsq(in_place, P0)
    np.testing.assert_allclose(x, [2.5, 1.3, 0.5])


def test_two_dimensional_result_row(capfd):
    with pytest.raises(Exception, match="not a proper array of floats") as caught:
        scipy_optimize.leastsq(lambda p: np.ones((50, 2)), P0)
    assert not isinstance(caught.value, TypeError | ValueError)
    assert capfd.readouterr().err != ""
    with pytest.raises(TypeError, match="func must return a 1-D array"):
        minpack.leastsq(lambda p: np.ones((50, 2)), P0)
    assert capfd.readouterr().err == ""


def test_diag_of_wrong_length_row():
    x, ier = scipy_optimize.leastsq(decay, P0, diag=[1.0, 1.0, 1.0, 1.0])
    assert ier in (1, 2, 3, 4)
    with pytest.raises(ValueError, match="diag"):
        minpack.leastsq(decay, P0, diag=[1.0, 1.0, 1.0, 1.0])


def test_non_finite_x0_row():
    x, ier = scipy_optimize.leastsq(lambda p: np.ones(3) * p.sum(), [np.nan, 1.0])
    assert ier == 4
    assert np.isnan(x[0])
    with pytest.raises(ValueError, match="x0 must be finite"):
        minpack.leastsq(lambda p: np.ones(3) * p.sum(), [np.nan, 1.0])


@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_empty_x0_row(with_dfun):
    # lmfit's conf_interval2d fixes every parameter and calls leastsq(f, [], full_output=1):
    # SciPy answers ier 0 with its outputs, and raises TypeError only without full_output.
    dfun = (lambda p: np.zeros((3, 0))) if with_dfun else None
    answers = {}
    for name, leastsq in [("scipy", scipy_optimize.leastsq), ("minpack", minpack.leastsq)]:
        with pytest.raises(TypeError, match=r"^Improper input parameters\."):
            leastsq(lambda p: np.ones(3), [], Dfun=dfun)
        answers[name] = leastsq(lambda p: np.arange(3.0), [], Dfun=dfun, full_output=1)
    for (x, cov_x, info, mesg, ier), ours in zip(
        [answers["scipy"]], [answers["minpack"]], strict=True
    ):
        x_, cov_x_, info_, mesg_, ier_ = ours
        assert (ier_, cov_x_) == (ier, cov_x) == (0, None)
        assert x_.shape == x.shape == (0,) and x_.dtype == x.dtype
        assert mesg.startswith("Improper input parameters.") and mesg_.startswith(mesg)
        assert info_.keys() == info.keys()
        for key in info:
            got, expected = np.asarray(info_[key]), np.asarray(info[key])
            assert got.shape == expected.shape, key
            assert got.dtype == expected.dtype, key
            np.testing.assert_array_equal(got, expected, err_msg=key)


def test_huge_maxfev_row():
    with pytest.raises(OverflowError):
        scipy_optimize.leastsq(decay, P0, maxfev=2**31)
    with pytest.raises(ValueError, match="maxfev"):
        minpack.leastsq(decay, P0, maxfev=2**31)


def test_nan_residuals_at_x0_row():
    def nan_residuals(p):
        return decay(p) * np.nan

    x, cov_x, info, mesg, ier = scipy_optimize.leastsq(nan_residuals, P0, full_output=True)
    assert ier == 4  # "success", at x0, with NaN residuals
    np.testing.assert_array_equal(x, P0)
    assert np.isnan(info["fvec"]).all()
    x, cov_x, info, mesg, ier = minpack.leastsq(nan_residuals, P0, full_output=True)
    assert (ier, info["nfev"], cov_x) == (9, 1, None)
    assert mesg == "func returned NaN or infinity at x0: the fit did not start."
    np.testing.assert_array_equal(x, P0)


def one_sided(p):
    # Defined for p <= 1 only: the forward difference at p = 1 steps out of the domain.
    with np.errstate(invalid="ignore"):
        return np.array([np.sqrt(1.0 - p[0]) - 0.5, p[0] - 0.3])


def test_nan_jacobian_row():
    for Dfun in (None, lambda p: np.array([[np.nan], [1.0]])):  # noqa: N806 - SciPy's name
        start = [1.0] if Dfun is None else [0.5]
        x, cov_x, info, mesg, ier = scipy_optimize.leastsq(
            one_sided, start, Dfun=Dfun, full_output=True
        )
        assert ier == 4 and np.isnan(cov_x).all()  # "success", with a NaN covariance
        x, cov_x, info, mesg, ier = minpack.leastsq(one_sided, start, Dfun=Dfun, full_output=True)
        assert (ier, cov_x) == (10, None)
        np.testing.assert_array_equal(x, start)  # the iterate, not the forward-difference point


@pytest.mark.parametrize("option", ["ftol", "xtol", "gtol"])
def test_nan_tolerance_row(option):
    # A NaN tolerance passes MINPACK's checks, and the test that reads it never passes:
    # the fit ends by another test, on both sides.
    x, cov_x, info, mesg, ier = scipy_optimize.leastsq(
        decay, P0, full_output=True, **{option: np.nan}
    )
    x_, cov_x_, info_, mesg_, ier_ = minpack.leastsq(
        decay, P0, full_output=True, **{option: np.nan}
    )
    assert ier_ == ier == {"xtol": 4}.get(option, 2)
    assert mesg_ == mesg
    np.testing.assert_allclose(x_, x, rtol=1e-9)  # the C port differs in the last bits


@pytest.mark.parametrize("option", ["factor", "epsfcn"])
def test_nan_factor_or_epsfcn_row(option):
    x, cov_x, info, mesg, ier = scipy_optimize.leastsq(
        decay, P0, full_output=True, **{option: np.nan}
    )
    # SciPy runs the fit: a NaN factor makes every step bound NaN and exhausts maxfev
    # where it started; a NaN epsfcn leaves the step to C's max(NaN, eps).
    assert ier == {"factor": 5}.get(option, 2)
    with pytest.raises(ValueError, match=option):
        minpack.leastsq(decay, P0, **{option: np.nan})


def test_overflowed_trial_point_row():
    # The steps of r = a*p - c with a tiny slope grow until x + p overflows; this func
    # answers zeros for a non-finite x.
    def func(p):
        if not np.isfinite(p).all():
            return np.zeros(2)
        return np.array([1e-299 * p[0] - 1e10] * 2)

    with pytest.warns(RuntimeWarning, match="overflow"):  # SciPy's cov_x overflows, and says so
        x, cov_x, info, mesg, ier = scipy_optimize.leastsq(
            func, [1e302], full_output=True, maxfev=100
        )
    assert ier in (1, 2, 3, 4) and np.isinf(x).all()  # "success" at x = inf
    x, cov_x, info, mesg, ier = minpack.leastsq(func, [1e302], full_output=True, maxfev=100)
    assert ier in (1, 2, 3, 4) and np.isfinite(x).all()


def test_improper_input_message_row():
    with pytest.raises(TypeError, match=r"^Improper input parameters\.$"):
        scipy_optimize.leastsq(decay, P0, factor=-1.0)
    with pytest.raises(
        TypeError, match=r"^Improper input parameters\. factor=-1\.0 is not positive\.$"
    ):
        minpack.leastsq(decay, P0, factor=-1.0)
