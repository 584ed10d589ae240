"""``minpack.curve_fit`` against ``scipy.optimize.curve_fit`` (SciPy >= 1.15) as the oracle.

SciPy's ``curve_fit`` runs ``scipy.optimize.leastsq`` (the C translation of MINPACK) on the
unbounded Levenberg-Marquardt path; ours runs ``minpack.leastsq`` (the Fortran).  How close
the results must be depends on whether the two do the same arithmetic:

* With a ``jac``, or with ``epsfcn = FORTRAN_EPSMCH`` forwarded to ``leastsq``, both engines
  take the same steps: ``popt`` agrees to the last bit (asked: ``POPT_RTOL``) and ``pcov``
  differs only in how ``inv(R)`` is computed (asked: ``PCOV_RTOL``).
* With no ``jac`` and the default ``epsfcn`` our ``lmdif`` differences with Fortran MINPACK's
  machine precision ``dpmpar(1) = 2.22044604926e-16``, SciPy's with ``finfo(float).eps``: the
  steps differ by ~2e-12 relative and the two fits stop at different points of the same
  minimum.  That case is pinned down twice: ours equals SciPy given ``epsfcn=FORTRAN_EPSMCH``
  to the last bit, and agrees with SciPy's default to the solver's accuracy
  (`assert_same_minimum`).
* A 2-D ``sigma`` is whitened with the inverse of its Cholesky factor here and with a
  triangular solve in SciPy: the residuals differ by rounding, which the forward differences
  amplify, so without a ``jac`` that case too agrees to the solver's accuracy only.
"""

from __future__ import annotations

import functools
import inspect
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import nist_strd as ns

import minpack

scipy_optimize = pytest.importorskip("scipy.optimize")

# Fortran MINPACK's dpmpar(1): forwarded as epsfcn, it gives SciPy's lmdif the forward-
# difference step sqrt(FORTRAN_EPSMCH)*|x_j| that ours takes with the default epsfcn.
FORTRAN_EPSMCH = 2.22044604926e-16
SAME_STEP = {"epsfcn": FORTRAN_EPSMCH}

# Same arithmetic on both sides: popt is bit for bit the same (measured on every case here);
# 1e-10 rather than equality, so that a harmless reordering in a later SciPy does not fail.
POPT_RTOL = 1e-10
# pcov = cov_x * s_sq with the same s_sq; cov_x is inv(R) inv(R).T from the same R, inverted
# by LAPACK's trtri in SciPy and by numpy.linalg.inv here.  Measured elementwise relative
# differences: at most 2e-14 (Hahn1 with jac), so 1e-8 elementwise leaves a wide margin.
PCOV_RTOL = 1e-8

# Not the same arithmetic (see the module docstring): both fits stop where the relative
# reduction of the sum of squares falls below ftol, i.e. within about sqrt(ftol * (M - N))
# standard errors of the minimum, so they may be twice that apart.  Measured: at most 0.55 of
# this bound (Bennett5).
DEFAULT_FTOL = 1.49012e-08
# Their pcov comes from the last forward-difference Jacobian, taken at those slightly
# different points with slightly different steps: standard errors agree to 1e-3 relative
# (measured: at most 3.7e-4, Bennett5; the ill-conditioned Lanczos sets 1e-4).
STANDARD_ERROR_RTOL = 1e-3


# --- SciPy's documented example -----------------------------------------------------------


def func(x, a, b, c):
    return a * np.exp(-b * x) + c


def func_jacobian(x, a, b, c):
    e = np.exp(-b * x)
    return np.column_stack([e, -a * x * e, np.ones_like(x)])


XDATA = np.linspace(0, 4, 50)
YDATA = func(XDATA, 2.5, 1.3, 0.5) + 0.2 * np.random.default_rng(0).normal(size=XDATA.size)
SIGMA = 0.1 + 0.3 * np.random.default_rng(1).random(XDATA.size)
_A = np.random.default_rng(2).normal(size=(XDATA.size, XDATA.size))
COVARIANCE = np.diag(SIGMA**2) + 0.01 * (_A @ _A.T) / XDATA.size  # correlated errors
NANS = np.arange(XDATA.size) % 7 == 3


# --- calling and comparing ----------------------------------------------------------------


def fit_both(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """(minpack's result, SciPy's result) of the same curve_fit call."""
    return minpack.curve_fit(*args, **kwargs), scipy_optimize.curve_fit(*args, **kwargs)


def outcome(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, str]:
    """The exception a call raises, as (type name, message)."""
    with pytest.raises(Exception) as caught:
        function(*args, **kwargs)
    return type(caught.value).__name__, str(caught.value)


def assert_same_fit(ours: tuple[Any, ...], theirs: tuple[Any, ...]) -> None:
    """Same arithmetic on both sides: popt and pcov to POPT_RTOL and PCOV_RTOL."""
    np.testing.assert_allclose(ours[0], theirs[0], rtol=POPT_RTOL, atol=0, err_msg="popt")
    np.testing.assert_allclose(ours[1], theirs[1], rtol=PCOV_RTOL, atol=0, err_msg="pcov")


def assert_same_minimum(ours: tuple[Any, ...], theirs: tuple[Any, ...], m: int) -> None:
    """Different arithmetic: the same minimum to the solver's accuracy (see the bounds above)."""
    n = theirs[0].size
    standard_errors = np.sqrt(np.diag(theirs[1]))
    distance = np.abs(ours[0] - theirs[0]) / standard_errors
    assert distance.max() <= 2 * np.sqrt(DEFAULT_FTOL * (m - n)), distance
    np.testing.assert_allclose(
        np.sqrt(np.diag(ours[1])), standard_errors, rtol=STANDARD_ERROR_RTOL, err_msg="errors"
    )


# --- the signature and the warning class --------------------------------------------------


def test_signature_is_scipys() -> None:
    ours = inspect.signature(minpack.curve_fit).parameters
    theirs = inspect.signature(scipy_optimize.curve_fit).parameters
    assert list(ours) == list(theirs)
    for name, parameter in theirs.items():
        assert ours[name].kind == parameter.kind, name
        assert ours[name].default == parameter.default, name


def test_optimize_warning_is_minpacks_own_user_warning() -> None:
    assert issubclass(minpack.OptimizeWarning, UserWarning)
    assert not issubclass(minpack.OptimizeWarning, scipy_optimize.OptimizeWarning)
    assert not issubclass(scipy_optimize.OptimizeWarning, minpack.OptimizeWarning)
    assert "OptimizeWarning" in minpack.__all__
    assert "curve_fit" in minpack.__all__


# --- the documented example ---------------------------------------------------------------


def test_docstring_example_matches_scipy_given_the_same_difference_step() -> None:
    assert_same_fit(*fit_both(func, XDATA, YDATA, **SAME_STEP))


def test_docstring_example_default_is_scipy_with_fortran_machine_epsilon() -> None:
    ours = minpack.curve_fit(func, XDATA, YDATA)
    theirs = scipy_optimize.curve_fit(func, XDATA, YDATA, **SAME_STEP)
    assert_same_fit(ours, theirs)


def test_docstring_example_default_reaches_scipys_minimum() -> None:
    assert_same_minimum(*fit_both(func, XDATA, YDATA), XDATA.size)


def test_docstring_example_with_jac_matches_scipy() -> None:
    assert_same_fit(*fit_both(func, XDATA, YDATA, jac=func_jacobian))


def test_docstring_bounded_example_raises_value_error_naming_levenberg_marquardt() -> None:
    with pytest.raises(ValueError, match=r"Levenberg-Marquardt path .* only"):
        minpack.curve_fit(func, XDATA, YDATA, bounds=(0, [3.0, 1.0, 0.5]))


# --- bounds and method --------------------------------------------------------------------

FREE_BOUNDS = {
    "scalars": (-np.inf, np.inf),
    "arrays": ([-np.inf] * 3, np.full(3, np.inf)),
    "Bounds(-inf, inf)": "Bounds",
}


@pytest.mark.parametrize("bounds", list(FREE_BOUNDS.values()), ids=list(FREE_BOUNDS))
def test_bounds_leaving_every_parameter_free_are_accepted(bounds: Any) -> None:
    if bounds == "Bounds":
        bounds = scipy_optimize.Bounds(-np.inf, np.inf)
    free = minpack.curve_fit(func, XDATA, YDATA, bounds=bounds)
    plain = minpack.curve_fit(func, XDATA, YDATA)
    np.testing.assert_array_equal(free[0], plain[0])
    np.testing.assert_array_equal(free[1], plain[1])


def test_free_bounds_object_without_p0_counts_parameters_where_scipy_fails() -> None:
    # SciPy takes p0 from the scalar bounds of Bounds(-inf, inf): one parameter, for a
    # three-parameter func (a TypeError from the call); ours counts func's parameters.
    free = scipy_optimize.Bounds(-np.inf, np.inf)
    assert minpack.curve_fit(func, XDATA, YDATA, bounds=free)[0].shape == (3,)
    assert outcome(scipy_optimize.curve_fit, func, XDATA, YDATA, bounds=free)[0] == "TypeError"


FINITE_BOUNDS = {
    "lower scalar": (0.0, np.inf),
    "upper scalar": (-np.inf, 10.0),
    "one entry": ([-np.inf, -np.inf, 0.0], np.inf),
    "Bounds object": "Bounds",
}


@pytest.mark.parametrize("bounds", list(FINITE_BOUNDS.values()), ids=list(FINITE_BOUNDS))
@pytest.mark.parametrize("method", [None, "lm"], ids=["method None", "method lm"])
def test_finite_bounds_raise_value_error(bounds: Any, method: str | None) -> None:
    if bounds == "Bounds":
        bounds = scipy_optimize.Bounds([0.0, 0.0, 0.0], [3.0, 1.0, 0.5])
    with pytest.raises(ValueError, match=r"Levenberg-Marquardt path .* only .*bounded problems"):
        minpack.curve_fit(func, XDATA, YDATA, bounds=bounds, method=method)


def test_bounds_that_are_not_a_pair_raise_value_error() -> None:
    with pytest.raises(ValueError, match=r"bounds must be a pair \(lb, ub\)"):
        minpack.curve_fit(func, XDATA, YDATA, bounds=(0.0, 1.0, 2.0))


@pytest.mark.parametrize("method", ["trf", "dogbox"])
def test_methods_trf_and_dogbox_raise_value_error(method: str) -> None:
    with pytest.raises(ValueError, match=rf"Levenberg-Marquardt path .* only .*'{method}'"):
        minpack.curve_fit(func, XDATA, YDATA, method=method)


def test_unknown_method_raises_value_error_like_scipy() -> None:
    assert outcome(minpack.curve_fit, func, XDATA, YDATA, method="newton")[0] == "ValueError"
    assert outcome(scipy_optimize.curve_fit, func, XDATA, YDATA, method="newton")[0] == (
        "ValueError"
    )


def test_method_lm_is_the_default() -> None:
    lm = minpack.curve_fit(func, XDATA, YDATA, method="lm")
    default = minpack.curve_fit(func, XDATA, YDATA)
    np.testing.assert_array_equal(lm[0], default[0])


@pytest.mark.parametrize("scheme", ["2-point", "3-point", "cs"])
def test_string_jac_raises_value_error(scheme: str) -> None:
    # SciPy's lm path passes the string to leastsq as Dfun: a TypeError ("not callable").
    with pytest.raises(ValueError, match=r"Levenberg-Marquardt path .* only .*jac="):
        minpack.curve_fit(func, XDATA, YDATA, jac=scheme)
    assert outcome(scipy_optimize.curve_fit, func, XDATA, YDATA, jac=scheme)[0] == "TypeError"


def test_jac_that_is_not_callable_raises_type_error() -> None:
    with pytest.raises(TypeError, match="jac must be a callable or None"):
        minpack.curve_fit(func, XDATA, YDATA, jac=np.ones((50, 3)))


# --- sigma and absolute_sigma -------------------------------------------------------------

ENGINES = {"same step": SAME_STEP, "jac": {"jac": func_jacobian}}


@pytest.mark.parametrize("engine", list(ENGINES.values()), ids=list(ENGINES))
@pytest.mark.parametrize("absolute_sigma", [False, True], ids=["relative", "absolute_sigma"])
def test_1d_sigma_matches_scipy(engine: dict[str, Any], absolute_sigma: bool) -> None:
    assert_same_fit(
        *fit_both(func, XDATA, YDATA, sigma=SIGMA, absolute_sigma=absolute_sigma, **engine)
    )


@pytest.mark.parametrize("absolute_sigma", [False, True], ids=["relative", "absolute_sigma"])
def test_scalar_sigma_matches_scipy(absolute_sigma: bool) -> None:
    assert_same_fit(
        *fit_both(func, XDATA, YDATA, sigma=0.3, absolute_sigma=absolute_sigma, **SAME_STEP)
    )


def test_scalar_sigma_with_jac_is_constant_1d_sigma() -> None:
    # SciPy fails here ("expected square matrix": it whitens the Jacobian by a triangular
    # solve with the 0-d sigma); ours weights it as for M equal values.
    scalar = minpack.curve_fit(func, XDATA, YDATA, sigma=0.3, jac=func_jacobian)
    constant = minpack.curve_fit(func, XDATA, YDATA, sigma=np.full(50, 0.3), jac=func_jacobian)
    np.testing.assert_array_equal(scalar[0], constant[0])
    np.testing.assert_array_equal(scalar[1], constant[1])
    theirs = outcome(scipy_optimize.curve_fit, func, XDATA, YDATA, sigma=0.3, jac=func_jacobian)
    assert theirs == ("ValueError", "expected square matrix")


@pytest.mark.parametrize("absolute_sigma", [False, True], ids=["relative", "absolute_sigma"])
def test_2d_sigma_with_jac_matches_scipy(absolute_sigma: bool) -> None:
    # Whitening differs in rounding only (inv(L) @ r here, a triangular solve in SciPy); with
    # an analytic Jacobian nothing amplifies it: popt measured within 2e-16, pcov 1e-14.
    assert_same_fit(
        *fit_both(
            func, XDATA, YDATA, sigma=COVARIANCE, absolute_sigma=absolute_sigma, jac=func_jacobian
        )
    )


@pytest.mark.parametrize("absolute_sigma", [False, True], ids=["relative", "absolute_sigma"])
def test_2d_sigma_without_jac_reaches_scipys_minimum(absolute_sigma: bool) -> None:
    # Forward differences amplify the whitening's rounding differences (a relative step of
    # 1.5e-8 turns 1e-16 in the residuals into 1e-8 in the Jacobian): solver accuracy only.
    ours, theirs = fit_both(
        func, XDATA, YDATA, sigma=COVARIANCE, absolute_sigma=absolute_sigma, **SAME_STEP
    )
    assert_same_minimum(ours, theirs, XDATA.size)


@pytest.mark.parametrize("engine", list(ENGINES.values()), ids=list(ENGINES))
def test_diagonal_covariance_fits_exactly_as_its_1d_sigma(engine: dict[str, Any]) -> None:
    diagonal = minpack.curve_fit(func, XDATA, YDATA, sigma=np.diag(SIGMA**2), **engine)
    one_d = minpack.curve_fit(func, XDATA, YDATA, sigma=SIGMA, **engine)
    np.testing.assert_array_equal(diagonal[0], one_d[0])
    np.testing.assert_array_equal(diagonal[1], one_d[1])


def test_absolute_sigma_false_scales_pcov_by_the_reduced_chi_square() -> None:
    popt, relative, info, _, _ = minpack.curve_fit(
        func, XDATA, YDATA, sigma=SIGMA, full_output=True
    )
    absolute = minpack.curve_fit(func, XDATA, YDATA, sigma=SIGMA, absolute_sigma=True)[1]
    reduced_chi_square = np.sum(info["fvec"] ** 2) / (XDATA.size - popt.size)
    np.testing.assert_array_equal(relative, absolute * reduced_chi_square)
    np.testing.assert_allclose(info["fvec"], (func(XDATA, *popt) - YDATA) / SIGMA, rtol=1e-12)


SIGMA_ERRORS = {
    "not positive definite": -np.eye(50),
    "NaN in the covariance": np.full((50, 50), np.nan),
    "wrong 1-D length": np.ones(3),
    "wrong 2-D shape": np.eye(49),
}


@pytest.mark.parametrize("sigma", list(SIGMA_ERRORS.values()), ids=list(SIGMA_ERRORS))
def test_bad_sigma_raises_value_error_like_scipy(sigma: np.ndarray) -> None:
    ours = outcome(minpack.curve_fit, func, XDATA, YDATA, sigma=sigma)
    theirs = outcome(scipy_optimize.curve_fit, func, XDATA, YDATA, sigma=sigma)
    assert ours[0] == theirs[0] == "ValueError"
    if np.isnan(sigma).any():  # SciPy: "array must not contain infs or NaNs", naming nothing
        assert ours[1] == "`sigma` must be finite."
    else:
        assert ours == theirs


@pytest.mark.parametrize(
    "sigma", [np.zeros(50), np.where(np.arange(50) == 7, 0.0, 1.0), 0.0, np.inf],
    ids=["zeros", "one zero", "scalar zero", "infinite"],
)  # fmt: skip
def test_sigma_with_zeros_or_infinity_is_a_value_error(sigma: Any) -> None:
    # SciPy divides by it (a RuntimeWarning) and fits with infinite or zero weights.
    with pytest.raises(ValueError, match="`sigma` must"):
        minpack.curve_fit(func, XDATA, YDATA, sigma=sigma)


# --- NaN handling: check_finite and nan_policy --------------------------------------------

NON_FINITE = {
    "NaN in ydata": (XDATA, np.where(NANS, np.nan, YDATA)),
    "inf in ydata": (XDATA, np.where(NANS, np.inf, YDATA)),
    "NaN in xdata": (np.where(NANS, np.nan, XDATA), YDATA),
    "inf in xdata list": (list(np.where(NANS, np.inf, XDATA)), YDATA),
}


@pytest.mark.parametrize("data", list(NON_FINITE.values()), ids=list(NON_FINITE))
def test_check_finite_rejects_non_finite_data_like_scipy(data: tuple[Any, Any]) -> None:
    ours = outcome(minpack.curve_fit, func, *data)
    assert ours == outcome(scipy_optimize.curve_fit, func, *data)
    assert ours == ("ValueError", "array must not contain infs or NaNs")


def test_check_finite_false_passes_infinite_xdata_to_f_like_scipy() -> None:
    # exp(-b*inf) = 0: the model is c there, a finite residual.
    xdata = np.where(NANS, np.inf, XDATA)
    assert_same_fit(*fit_both(func, xdata, YDATA, check_finite=False, **SAME_STEP))


NAN_DATA = {
    "ydata": (XDATA, np.where(NANS, np.nan, YDATA)),
    "xdata": (np.where(NANS, np.nan, XDATA), YDATA),
    "both": (np.where(NANS, np.nan, XDATA), np.where(np.roll(NANS, 1), np.nan, YDATA)),
}
NAN_SIGMA = {"no sigma": None, "1-D sigma": SIGMA, "2-D sigma": COVARIANCE}


@pytest.mark.parametrize("sigma", list(NAN_SIGMA.values()), ids=list(NAN_SIGMA))
@pytest.mark.parametrize("data", list(NAN_DATA.values()), ids=[f"NaN in {k}" for k in NAN_DATA])
def test_nan_policy_omit_matches_scipy(data: tuple[Any, Any], sigma: Any) -> None:
    assert_same_fit(*fit_both(func, *data, sigma=sigma, nan_policy="omit", jac=func_jacobian))


def test_nan_policy_omit_fits_exactly_the_remaining_points() -> None:
    omitted = minpack.curve_fit(
        func, XDATA, np.where(NANS, np.nan, YDATA), sigma=COVARIANCE, nan_policy="omit"
    )
    keep = ~NANS
    remaining = minpack.curve_fit(func, XDATA[keep], YDATA[keep], sigma=COVARIANCE[keep][:, keep])
    np.testing.assert_array_equal(omitted[0], remaining[0])
    np.testing.assert_array_equal(omitted[1], remaining[1])


def test_nan_policy_omit_with_2d_xdata_drops_columns_like_scipy() -> None:
    def plane(x, a, b, c):
        return a * x[0] + b * x[1] + c

    xdata = np.vstack([XDATA, XDATA**2])
    xdata[1, NANS] = np.nan
    assert_same_fit(*fit_both(plane, xdata, YDATA, nan_policy="omit", **SAME_STEP))


@pytest.mark.parametrize("data", list(NAN_DATA.values()), ids=[f"NaN in {k}" for k in NAN_DATA])
def test_nan_policy_raise_rejects_nan_like_scipy(data: tuple[Any, Any]) -> None:
    ours = outcome(minpack.curve_fit, func, *data, nan_policy="raise")
    assert ours == outcome(scipy_optimize.curve_fit, func, *data, nan_policy="raise")
    assert ours == ("ValueError", "The input contains nan values")


def test_nan_policy_turns_check_finite_off_like_scipy() -> None:
    # Infinity is not NaN: with a nan_policy it is not rejected.
    xdata = np.where(NANS, np.inf, XDATA)
    assert_same_fit(*fit_both(func, xdata, YDATA, nan_policy="raise", **SAME_STEP))


def test_nan_policy_with_check_finite_true_checks_finiteness_like_scipy() -> None:
    ydata = np.where(NANS, np.nan, YDATA)
    ours = outcome(minpack.curve_fit, func, XDATA, ydata, nan_policy="omit", check_finite=True)
    theirs = outcome(
        scipy_optimize.curve_fit, func, XDATA, ydata, nan_policy="omit", check_finite=True
    )
    assert ours == theirs == ("ValueError", "array must not contain infs or NaNs")


def test_nan_policy_propagate_is_refused_like_scipy() -> None:
    ours = outcome(minpack.curve_fit, func, XDATA, YDATA, nan_policy="propagate")
    assert ours == outcome(scipy_optimize.curve_fit, func, XDATA, YDATA, nan_policy="propagate")


def test_unknown_nan_policy_raises_value_error_even_with_check_finite() -> None:
    ours = outcome(minpack.curve_fit, func, XDATA, YDATA, nan_policy="skip")
    assert ours == outcome(scipy_optimize.curve_fit, func, XDATA, YDATA, nan_policy="skip")
    # SciPy checks nan_policy only when check_finite is False; ours always.
    with pytest.raises(ValueError, match="nan_policy must be one of"):
        minpack.curve_fit(func, XDATA, YDATA, nan_policy="skip", check_finite=True)
    scipy_optimize.curve_fit(func, XDATA, YDATA, nan_policy="skip", check_finite=True)


# --- xdata, ydata and p0 ------------------------------------------------------------------


def test_xdata_of_any_type_reaches_f_unchanged_like_scipy() -> None:
    class Grid:
        t = XDATA

    grid = Grid()
    seen = []

    def model(x, a, b, c):
        seen.append(x)
        return func(x.t, a, b, c)

    assert_same_fit(*fit_both(model, grid, YDATA, **SAME_STEP))
    assert all(x is grid for x in seen)


def test_xdata_and_ydata_lists_become_float64_arrays_like_scipy() -> None:
    seen = []

    def line(x, a, b):
        seen.append(x)
        return a * x + b

    xdata, ydata = list(range(10)), [2 * i + 1 for i in range(10)]
    assert_same_fit(*fit_both(line, xdata, ydata, **SAME_STEP))
    assert all(type(x) is np.ndarray and x.dtype == np.float64 for x in seen)


def test_p0_defaults_to_ones_from_the_signature_like_scipy() -> None:
    starts = []

    def model(x, a, b, c):
        starts.append((a, b, c))
        return func(x, a, b, c)

    ours, theirs = fit_both(model, XDATA, YDATA, **SAME_STEP)
    assert starts[0] == (1.0, 1.0, 1.0)
    assert all(type(p) is np.float64 for p in starts[0])  # unpacked from an array, as SciPy
    assert_same_fit(ours, theirs)


class Model:
    def bound(self, x, a, b):
        return a * x + b


def _with_default(x, a, b=2.0):
    return a * x + b


def _keyword_only(x, a, b, *, scale=1.0):
    return scale * (a * x + b)


PARAMETER_COUNTS = {
    "default counts": _with_default,
    "keyword-only ignored": _keyword_only,
    "bound method": Model().bound,
    "partial": functools.partial(lambda x, a, b, c: a * x + b + c, c=0.0),
}


@pytest.mark.parametrize("model", list(PARAMETER_COUNTS.values()), ids=list(PARAMETER_COUNTS))
def test_p0_count_from_signature_like_scipy(model: Callable[..., Any]) -> None:
    ours, theirs = fit_both(model, XDATA, 3 * XDATA + 2, **SAME_STEP)
    assert ours[0].shape == theirs[0].shape
    np.testing.assert_allclose(ours[0], theirs[0], rtol=POPT_RTOL)


@pytest.mark.parametrize(
    "model",
    [lambda x, *p: x, lambda x: x, lambda *args: args[0]],
    ids=["varargs", "x only", "only varargs"],
)
def test_p0_that_cannot_be_told_raises_value_error_like_scipy(model: Callable[..., Any]) -> None:
    ours = outcome(minpack.curve_fit, model, XDATA, YDATA)
    assert ours == outcome(scipy_optimize.curve_fit, model, XDATA, YDATA)
    assert ours == ("ValueError", "Unable to determine number of fit parameters.")


def test_explicit_p0_is_used_like_scipy() -> None:
    assert_same_fit(*fit_both(func, XDATA, YDATA, p0=[2.0, 1.0, 0.0], **SAME_STEP))


# --- full_output, failures and the covariance ---------------------------------------------


def test_full_output_matches_scipy() -> None:
    ours, theirs = fit_both(func, XDATA, YDATA, full_output=True, jac=func_jacobian)
    assert len(ours) == len(theirs) == 5
    assert_same_fit(ours, theirs)
    info, their_info = ours[2], theirs[2]
    assert list(info) == list(their_info)
    assert ours[3:] == theirs[3:]  # mesg, ier
    assert (info["nfev"], info["njev"]) == (their_info["nfev"], their_info["njev"])
    np.testing.assert_array_equal(info["ipvt"], their_info["ipvt"])
    for key in ("fvec", "fjac", "qtf"):
        scale = np.max(np.abs(their_info[key]))
        np.testing.assert_allclose(info[key], their_info[key], rtol=1e-10, atol=1e-10 * scale)


def test_short_output_is_popt_and_pcov() -> None:
    result = minpack.curve_fit(func, XDATA, YDATA)
    assert isinstance(result, tuple) and len(result) == 2
    popt, pcov = result
    assert popt.shape == (3,) and popt.dtype == np.float64
    assert pcov.shape == (3, 3) and pcov.dtype == np.float64


FAILURES = {"maxfev reached": {"maxfev": 5}, "improper input": {"ftol": -1.0}}


@pytest.mark.parametrize("options", list(FAILURES.values()), ids=list(FAILURES))
def test_failed_fit_raises_runtime_error_with_scipys_message(options: dict[str, Any]) -> None:
    ours = outcome(minpack.curve_fit, func, XDATA, YDATA, **options)
    theirs = outcome(scipy_optimize.curve_fit, func, XDATA, YDATA, **options)
    assert ours[0] == theirs[0] == "RuntimeError"
    assert ours[1].startswith("Optimal parameters not found: ")
    if "ftol" in options:  # SciPy's "Improper input parameters.", then the option's name
        assert ours[1] == f"{theirs[1]} ftol=-1.0 is negative."
    else:
        assert ours == theirs


def test_pcov_is_inf_with_optimize_warning_when_points_equal_parameters() -> None:
    x, y = XDATA[:3], YDATA[:3]
    with pytest.warns(minpack.OptimizeWarning, match="could not be estimated") as ours_caught:
        ours = minpack.curve_fit(func, x, y, **SAME_STEP)
    with pytest.warns(scipy_optimize.OptimizeWarning, match="could not be estimated"):
        theirs = scipy_optimize.curve_fit(func, x, y, **SAME_STEP)
    assert [w.category for w in ours_caught] == [minpack.OptimizeWarning]
    assert issubclass(ours_caught[0].category, UserWarning)
    assert ours_caught[0].filename == __file__  # stacklevel: the caller's line
    np.testing.assert_array_equal(ours[1], np.full((3, 3), np.inf))
    np.testing.assert_array_equal(theirs[1], np.full((3, 3), np.inf))
    np.testing.assert_allclose(ours[0], theirs[0], rtol=POPT_RTOL)


def test_scipys_warning_filters_do_not_silence_ours() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy_optimize.OptimizeWarning)
        with pytest.warns(minpack.OptimizeWarning):
            minpack.curve_fit(func, XDATA[:3], YDATA[:3])


def test_absolute_sigma_keeps_pcov_when_points_equal_parameters_like_scipy() -> None:
    ours, theirs = fit_both(
        func, XDATA[:3], YDATA[:3], absolute_sigma=True, jac=func_jacobian
    )  # no warning: filterwarnings=error would fail the test
    assert np.isfinite(ours[1]).all()
    assert_same_fit(ours, theirs)


def test_singular_jacobian_gives_inf_pcov_and_warning_like_scipy() -> None:
    def unused_parameter(x, a, b):
        return a * x

    with pytest.warns(minpack.OptimizeWarning):
        ours = minpack.curve_fit(unused_parameter, XDATA, YDATA, **SAME_STEP)
    with pytest.warns(scipy_optimize.OptimizeWarning):
        theirs = scipy_optimize.curve_fit(unused_parameter, XDATA, YDATA, **SAME_STEP)
    np.testing.assert_array_equal(ours[1], np.full((2, 2), np.inf))
    np.testing.assert_array_equal(theirs[1], np.full((2, 2), np.inf))
    np.testing.assert_allclose(ours[0], theirs[0], rtol=POPT_RTOL)


# --- argument errors and keyword arguments for leastsq ------------------------------------

ARGUMENT_ERRORS = {
    "args keyword": ((func, XDATA, YDATA), {"args": (1.0,)}),
    "more parameters than points": ((func, XDATA[:2], YDATA[:2]), {}),
    "empty ydata": ((func, XDATA, []), {}),
    "Dfun keyword twice": ((func, XDATA, YDATA), {"Dfun": func_jacobian}),
}


@pytest.mark.parametrize("call", list(ARGUMENT_ERRORS.values()), ids=list(ARGUMENT_ERRORS))
def test_argument_errors_like_scipy(call: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
    args, kwargs = call
    ours = outcome(minpack.curve_fit, *args, **kwargs)
    theirs = outcome(scipy_optimize.curve_fit, *args, **kwargs)
    assert ours[0] == theirs[0]
    if "Dfun" not in kwargs:  # there the message names each side's leastsq
        assert ours[1] == theirs[1]


def _jacobian_columns(x, a, b, c):
    return func_jacobian(x, a, b, c).T.copy()


LEASTSQ_OPTIONS = {
    "ftol xtol": {"ftol": 1e-12, "xtol": 1e-12, **SAME_STEP},
    "maxfev": {"maxfev": 1000, **SAME_STEP},
    "factor diag": {"factor": 1.0, "diag": [1.0, 2.0, 3.0], **SAME_STEP},
    "epsfcn": {"epsfcn": 1e-10},
    "col_deriv": {"jac": _jacobian_columns, "col_deriv": True},
}


@pytest.mark.parametrize("options", list(LEASTSQ_OPTIONS.values()), ids=list(LEASTSQ_OPTIONS))
def test_keyword_arguments_reach_leastsq_like_scipy(options: dict[str, Any]) -> None:
    ours, theirs = fit_both(func, XDATA, YDATA, full_output=True, **options)
    assert_same_fit(ours, theirs)
    assert ours[2]["nfev"] == theirs[2]["nfev"]


def test_keyword_only_extensions_of_leastsq_pass_through() -> None:
    seen = []

    def callback(x, fnorm, nfev):
        seen.append(x.shape)

    minpack.curve_fit(func, XDATA, YDATA, callback=callback)
    assert seen and set(seen) == {(3,)}


def test_f_is_called_once_at_p0() -> None:
    # SciPy calls it at p0 twice (its memoizer spares a third call); minpack.leastsq's first
    # evaluation is MINPACK's first call.
    calls = []

    def model(x, a, b, c):
        calls.append((a, b, c))
        return func(x, a, b, c)

    minpack.curve_fit(model, XDATA, YDATA, p0=[1.0, 1.0, 0.0])
    assert calls.count((1.0, 1.0, 0.0)) == 1


# --- the NIST StRD problems, from start 2 -------------------------------------------------


def nist_problem(name: str) -> tuple[Callable[..., Any], Any, np.ndarray, np.ndarray]:
    """(f, xdata, ydata, p0) for NIST set ``name``: its model as curve_fit calls it."""
    dataset = ns.load(name)
    model = ns.MODELS[name]

    def f(x, *b):
        return model(np.array(b), x)

    return f, dataset.x, ns.response(dataset), dataset.start(2)


def nist_jacobian(name: str) -> Callable[..., Any]:
    jacobian = ns.JACOBIANS[name]

    def jac(x, *b):
        return jacobian(np.array(b), x)

    return jac


@pytest.mark.parametrize("name", ns.NAMES)
def test_nist_start2_matches_scipy_given_the_same_difference_step(name: str) -> None:
    f, x, y, p0 = nist_problem(name)
    assert_same_fit(*fit_both(f, x, y, p0=p0, **SAME_STEP))


@pytest.mark.parametrize("name", sorted(ns.JACOBIANS))
def test_nist_start2_with_jac_matches_scipy(name: str) -> None:
    f, x, y, p0 = nist_problem(name)
    assert_same_fit(*fit_both(f, x, y, p0=p0, jac=nist_jacobian(name)))


@pytest.mark.parametrize("name", ns.NAMES)
def test_nist_start2_default_is_scipy_with_fortran_machine_epsilon(name: str) -> None:
    f, x, y, p0 = nist_problem(name)
    ours = minpack.curve_fit(f, x, y, p0=p0, full_output=True)
    theirs = scipy_optimize.curve_fit(f, x, y, p0=p0, full_output=True, **SAME_STEP)
    assert_same_fit(ours, theirs)
    assert (ours[2]["nfev"], ours[4]) == (theirs[2]["nfev"], theirs[4])


@pytest.mark.parametrize("name", ns.NAMES)
def test_nist_start2_default_reaches_scipys_minimum(name: str) -> None:
    f, x, y, p0 = nist_problem(name)
    assert_same_minimum(*fit_both(f, x, y, p0=p0), np.size(y))


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        (
            dict(ydata=YDATA.astype(complex)),
            TypeError,
            "ydata must be an array of real numbers, not complex",
        ),
        (dict(xdata=XDATA + 1j), TypeError, "xdata must be an array of real numbers, not complex"),
        (dict(ydata=["a"] * 50), ValueError, "ydata must be an array of real numbers"),
        (dict(p0=[1.0, np.nan, 0.0]), ValueError, "p0 must be finite"),
        (dict(p0=["a", "b", "c"]), TypeError, "p0 must be an array of real numbers"),
        (dict(p0=[]), TypeError, "p0 is empty"),
    ],
    ids=["complex ydata", "complex xdata", "string ydata", "NaN p0", "string p0", "empty p0"],
)
def test_bad_data_and_p0_are_errors_naming_them(kwargs: Any, error: Any, text: str) -> None:
    # SciPy drops an imaginary part with a ComplexWarning, and names x0 for p0.
    arguments = {"xdata": XDATA, "ydata": YDATA, **kwargs}
    with pytest.raises(error, match=re.escape(text)):
        minpack.curve_fit(func, **arguments)


@pytest.mark.parametrize("sigma", [None, SIGMA, np.diag(SIGMA**2)], ids=["none", "1-D", "2-D"])
def test_a_model_of_the_wrong_length_is_a_value_error_naming_f(sigma: Any) -> None:
    # SciPy lets NumPy's broadcasting error through, which names no argument.
    def short(x: Any, a: float, b: float, c: float) -> Any:
        return func(x, a, b, c)[:-1]

    with pytest.raises(
        ValueError, match=r"^f returned an array of dtype float64 and shape \(49,\)"
    ):
        minpack.curve_fit(short, XDATA, YDATA, sigma=sigma)


def test_residuals_too_large_to_square_give_an_infinite_pcov_and_optimize_warning() -> None:
    # The sum of squares overflows: SciPy multiplies cov_x by inf (RuntimeWarnings, NaN where
    # cov_x is 0); here pcov is inf, with the warning for a covariance that cannot be estimated.
    # A model that is huge at p0 only: the fit ends there, with those residuals.
    calls = []

    def huge_at_first(x: Any, a: float) -> Any:
        calls.append(a)
        values = np.array([2.0 * a - 1.0, 3.0 * a + 0.5])
        return values * 1e300 if len(calls) == 1 else values

    with pytest.warns(minpack.OptimizeWarning, match="could not be estimated"):
        popt, pcov = minpack.curve_fit(huge_at_first, [0.0, 1.0], [1.0, 2.0], p0=[0.5])
    assert np.isfinite(popt).all()
    np.testing.assert_array_equal(pcov, [[np.inf]])
