"""Bad input gets a clear TypeError/ValueError naming the argument, and no noise."""

import numpy as np
import pytest

from minpack import leastsq

T = np.linspace(0.0, 1.0, 8)


def line(p):
    return p[0] * T + p[1] - (2.0 * T + 1.0)


def line_jacobian(p):
    return np.column_stack([T, np.ones_like(T)])


BAD_FUNC_RESULTS = {
    "none": (None, TypeError, "func must return an array of real numbers"),
    "string": ("abc", TypeError, "func must return an array of real numbers"),
    "complex": (np.ones(8, complex), TypeError, "complex128"),
    "object": (np.array([1.0, "a"], dtype=object), TypeError, "dtype object"),
    "ragged": ([[1.0, 2.0], [3.0]], TypeError, "func must return an array of real numbers"),
    "two-d": (np.ones((8, 2)), TypeError, "1-D array of residuals, not shape (8, 2)"),
    "too-short": (np.ones(1), TypeError, "N=2 must not exceed func output vector length M=1"),
}


@pytest.mark.parametrize(
    ("result", "error", "text"), BAD_FUNC_RESULTS.values(), ids=BAD_FUNC_RESULTS.keys()
)
def test_bad_func_result_at_x0_is_rejected(result, error, text, capfd):
    with pytest.raises(error, match=_literal(text)):
        leastsq(lambda p: result, [1.0, 1.0])
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("result", "error", "text"),
    [*BAD_FUNC_RESULTS.values(), (np.ones(9), ValueError, "returned 9 residuals, but 8 at x0")],
    ids=[*BAD_FUNC_RESULTS.keys(), "length-changes"],
)
@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_bad_func_result_during_the_fit_is_rejected(result, error, text, with_dfun, capfd):
    if text.startswith("N=2"):  # a length change after x0 is reported as such
        error, text = ValueError, "returned 1 residuals, but 8 at x0"
    calls = []

    def func(p):
        calls.append(1)
        return line(p) if len(calls) < 3 else result

    with pytest.raises(error, match=_literal(text)):
        leastsq(func, [1.0, 1.0], Dfun=line_jacobian if with_dfun else None)
    assert len(calls) == 3
    assert capfd.readouterr() == ("", "")


BAD_JACOBIANS = {
    "transposed": (np.ones((2, 8)), "shape (8, 2) (m, n), not shape (2, 8)"),
    "flat": (np.ones(16), "not shape (16,)"),
    "complex": (np.ones((8, 2), complex), "complex128"),
    "none": (None, "Dfun must return an array of real numbers"),
    "string": ("j", "Dfun must return an array of real numbers"),
}


@pytest.mark.parametrize(("result", "text"), BAD_JACOBIANS.values(), ids=BAD_JACOBIANS.keys())
def test_bad_dfun_result_is_rejected(result, text, capfd):
    with pytest.raises(TypeError, match=_literal(text)):
        leastsq(line, [1.0, 1.0], Dfun=lambda p: result)
    assert capfd.readouterr() == ("", "")


def test_dfun_shape_with_col_deriv_is_n_by_m():
    with pytest.raises(TypeError, match=_literal("(2, 8) (n, m) with col_deriv=True")):
        leastsq(line, [1.0, 1.0], Dfun=line_jacobian, col_deriv=True)
    x, ier = leastsq(line, [1.0, 1.0], Dfun=lambda p: line_jacobian(p).T, col_deriv=True)
    np.testing.assert_allclose(x, [2.0, 1.0])


def test_one_variable_jacobian_may_be_one_dimensional():
    # SciPy accepts an (m,) Jacobian when n == 1; so do we.
    x, ier = leastsq(lambda p: p[0] * T - 3.0 * T, [1.0], Dfun=lambda p: T)
    np.testing.assert_allclose(x, [3.0])
    assert ier in (1, 2, 3, 4)


BAD_ARGUMENTS = {
    "x0-string": (dict(x0="ab"), TypeError, "x0 must be an array of real numbers"),
    "x0-complex": (dict(x0=[1j, 1.0]), TypeError, "x0 must be an array of real numbers"),
    "x0-ragged": (dict(x0=[[1.0], [1.0, 2.0]]), TypeError, "x0 must be an array"),
    "x0-nan": (dict(x0=[np.nan, 1.0]), ValueError, "x0 must be finite"),
    "x0-inf": (dict(x0=[np.inf, 1.0]), ValueError, "x0 must be finite"),
    "ftol-string": (dict(ftol="small"), TypeError, "ftol must be a real number"),
    "xtol-none": (dict(xtol=None), TypeError, "xtol must be a real number"),
    "gtol-list": (dict(gtol=[0.0]), TypeError, "gtol must be a real number"),
    "factor-string": (dict(factor="x"), TypeError, "factor must be a real number"),
    "epsfcn-string": (dict(epsfcn="x"), TypeError, "epsfcn must be a real number"),
    "maxfev-float": (dict(maxfev=1e4), TypeError, "maxfev must be an integer"),
    "maxfev-huge": (dict(maxfev=2**31), ValueError, "maxfev=2147483648 is larger"),
    "maxfev-bool": (dict(maxfev=True), TypeError, "maxfev must be an integer, not True"),
    "diag-length": (dict(diag=[1.0, 2.0, 3.0]), ValueError, "diag must have one entry"),
    "diag-string": (dict(diag="ab"), TypeError, "diag must be an array of real numbers"),
}


@pytest.mark.parametrize(
    ("kwargs", "error", "text"), BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys()
)
def test_bad_argument_is_rejected_before_any_call(kwargs, error, text, capfd):
    calls = []

    def func(p):
        calls.append(1)
        return line(p)

    kwargs = {"x0": [1.0, 1.0], **kwargs}
    with pytest.raises(error, match=_literal(text)):
        leastsq(func, **kwargs)
    assert calls == []
    assert capfd.readouterr() == ("", "")


IMPROPER_INPUTS = {
    "ftol-negative": (dict(ftol=-1.0), "ftol=-1.0 is negative."),
    "xtol-negative": (dict(xtol=-1.0), "xtol=-1.0 is negative."),
    "gtol-negative": (dict(gtol=-1.0), "gtol=-1.0 is negative."),
    "factor-zero": (dict(factor=0.0), "factor=0.0 is not positive."),
    "factor-negative": (dict(factor=-3), "factor=-3.0 is not positive."),
    "maxfev-negative": (dict(maxfev=-1), "maxfev=-1 is not positive (0 asks for the default)."),
    "diag-zero": (dict(diag=[1.0, 0.0]), "diag has an entry that is not positive."),
    "diag-negative": (dict(diag=[1.0, -2.0]), "diag has an entry that is not positive."),
}


@pytest.mark.parametrize(("kwargs", "reason"), IMPROPER_INPUTS.values(), ids=IMPROPER_INPUTS)
def test_values_minpack_rejects_give_ier_0_as_in_scipy_naming_the_option(kwargs, reason):
    # SciPy's message is "Improper input parameters."; ours goes on to name the option.
    text = f"Improper input parameters. {reason}"
    with pytest.raises(TypeError, match=f"^{_literal(text)}$"):
        leastsq(line, [1.0, 1.0], **kwargs)
    x, cov_x, info, mesg, ier = leastsq(line, [1.0, 1.0], full_output=True, **kwargs)
    assert ier == 0
    assert mesg == text
    assert cov_x is None
    np.testing.assert_array_equal(x, [1.0, 1.0])


NOT_A_NUMBER = {
    "factor-nan": (dict(factor=np.nan), "factor must be finite, not nan"),
    "factor-inf": (dict(factor=np.inf), "factor must be finite, not inf"),
    "epsfcn-nan": (dict(epsfcn=np.nan), "epsfcn must be finite, not nan"),
    "epsfcn-inf": (dict(epsfcn=np.inf), "epsfcn must be finite, not inf"),
    "diag-nan": (dict(diag=[1.0, np.nan]), "diag must be finite"),
    "diag-inf": (dict(diag=[np.inf, 1.0]), "diag must be finite"),
}


@pytest.mark.parametrize(("kwargs", "text"), NOT_A_NUMBER.values(), ids=NOT_A_NUMBER)
def test_options_that_cannot_mean_anything_are_value_errors(kwargs, text, capfd):
    # MINPACK's checks compare with <, which NaN passes: SciPy runs such fits.
    calls = []

    def func(p):
        calls.append(1)
        return line(p)

    with pytest.raises(ValueError, match=_literal(text)):
        leastsq(func, [1.0, 1.0], **kwargs)
    assert calls == []
    assert capfd.readouterr() == ("", "")


def test_infinite_tolerances_are_allowed_and_stop_at_the_first_iterate():
    # An infinite tolerance is a meaningful request: anything is close enough.
    x, cov_x, info, mesg, ier = leastsq(line, [1.0, 1.0], ftol=np.inf, full_output=True)
    assert ier == 1
    assert info["nfev"] == 4  # x0, a forward-difference Jacobian, one trial step


@pytest.mark.parametrize("n", [1, 2, 5])
def test_maxfev_is_limited_so_that_minpacks_count_cannot_overflow(n):
    # lmdif tests nfev >= maxfev after each trial point; a Jacobian adds n before that.
    limit = 2**31 - 1 - n
    with pytest.raises(
        ValueError, match=f"maxfev={limit + 1} is larger than MINPACK's limit {limit}"
    ):
        leastsq(lambda p: np.tile(p, 2), np.ones(n), maxfev=limit + 1)
    x, ier = leastsq(lambda p: np.tile(p, 2) - 1.0, np.zeros(n), maxfev=limit)
    np.testing.assert_allclose(x, np.ones(n))


def _literal(text):
    """A regular expression that matches text literally."""
    import re

    return re.escape(text)


@pytest.mark.parametrize("role", ["func", "Dfun", "callback"])
@pytest.mark.parametrize("value", [12345, "residuals", np.ones(3)], ids=["int", "str", "array"])
def test_something_not_callable_is_a_type_error_naming_it(role, value, capfd):
    kwargs = {"func": line, role: value}
    func = kwargs.pop("func")
    with pytest.raises(TypeError, match=f"^{role} must be callable"):
        leastsq(func, [1.0, 1.0], **kwargs)
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_empty_x0_is_improper_input_as_on_scipy(with_dfun):
    calls = []

    def func(p):
        calls.append(p.shape)
        return np.arange(4.0)

    dfun = (lambda p: np.zeros((4, 0))) if with_dfun else None
    with pytest.raises(TypeError, match=r"^Improper input parameters\. x0 is empty\.$"):
        leastsq(func, [], Dfun=dfun)
    x, cov_x, info, mesg, ier = leastsq(func, np.empty((0, 3)), Dfun=dfun, full_output=True)
    assert (ier, cov_x, mesg) == (0, None, "Improper input parameters. x0 is empty.")
    assert x.shape == (0,) and calls == [(0,), (0,)]  # func(x0) is fvec, MINPACK never ran
    np.testing.assert_array_equal(info["fvec"], np.arange(4.0))
    assert info["nfev"] == 0 and info.get("njev", 0) == 0
    assert info["fjac"].shape == (0, 4) and info["ipvt"].shape == info["qtf"].shape == (0,)
