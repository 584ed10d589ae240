"""minpack.use_in_scipy: every client of scipy.optimize.leastsq and curve_fit on minpack."""

import threading
import warnings

import numpy as np
import pytest
from helpers.decay import NOISY, P0, T, residuals

import minpack
from minpack import _leastsq

scipy_optimize = pytest.importorskip("scipy.optimize")
SCIPY_LEASTSQ = scipy_optimize.leastsq
SCIPY_CURVE_FIT = scipy_optimize.curve_fit
SCIPY_LEAST_SQUARES = scipy_optimize.least_squares


def model(t, a, b, c):
    return a * np.exp(-b * t) + c


@pytest.fixture
def fits_on_minpack(monkeypatch):
    """Count the fits that reach minpack's engine (every leastsq and curve_fit fit does)."""
    count = [0]
    engine = _leastsq.fit

    def counting(*args, **kwargs):
        count[0] += 1
        return engine(*args, **kwargs)

    monkeypatch.setattr(_leastsq, "fit", counting)
    return count


@pytest.fixture(autouse=True)
def scipy_is_restored():
    yield
    assert scipy_optimize.leastsq is SCIPY_LEASTSQ
    assert scipy_optimize.curve_fit is SCIPY_CURVE_FIT
    assert scipy_optimize.least_squares is SCIPY_LEAST_SQUARES


def test_inside_the_block_scipy_optimize_runs_on_minpack(fits_on_minpack):
    with minpack.use_in_scipy() as handle:
        assert handle.active
        assert scipy_optimize.leastsq is minpack.leastsq
        from scipy.optimize import curve_fit, leastsq  # a later import sees minpack too

        assert leastsq is minpack.leastsq
        x, ier = leastsq(residuals, P0, args=(NOISY,))
        popt, pcov = curve_fit(model, T, NOISY, p0=P0)
    assert fits_on_minpack[0] == 2
    expected = minpack.leastsq(residuals, P0, args=(NOISY,))[0]
    np.testing.assert_array_equal(x, expected)
    np.testing.assert_array_equal(popt, minpack.curve_fit(model, T, NOISY, p0=P0)[0])
    assert not handle.active


def test_a_plain_call_lasts_until_undone(fits_on_minpack):
    handle = minpack.use_in_scipy()
    try:
        scipy_optimize.leastsq(residuals, P0, args=(NOISY,))
        assert fits_on_minpack[0] == 1
    finally:
        handle.undo()
    handle.undo()  # a second undo does nothing
    scipy_optimize.leastsq(residuals, P0, args=(NOISY,))
    assert fits_on_minpack[0] == 1  # SciPy's own again


def test_the_block_restores_scipy_after_an_exception():
    with pytest.raises(KeyError), minpack.use_in_scipy():
        raise KeyError("inside")


BOUNDED = {
    "bounds": dict(bounds=([0.0, 0.0, -1.0], [10.0, 10.0, 1.0])),
    "trf": dict(method="trf"),
    "dogbox": dict(method="dogbox"),
    "jac-string": dict(jac="3-point"),
}


def _outcome(curve_fit, **options):
    """What a curve_fit call gives: its arrays, or the type and text of what it raised."""
    try:
        return curve_fit(model, T, NOISY, p0=P0, **options)
    except Exception as error:  # noqa: BLE001 - compared below
        return type(error), str(error)


@pytest.mark.parametrize("options", BOUNDED.values(), ids=BOUNDED)
def test_curve_fit_calls_minpack_does_not_serve_go_to_scipy_unchanged(options, fits_on_minpack):
    expected = _outcome(SCIPY_CURVE_FIT, **options)
    with minpack.use_in_scipy():
        got = _outcome(scipy_optimize.curve_fit, **options)
    assert fits_on_minpack[0] == 0
    assert type(got[0]) is type(expected[0])
    for ours, theirs in zip(got, expected, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_curve_fit_with_bounds_given_positionally_goes_to_scipy(fits_on_minpack):
    bounds = ([0.0, 0.0, -1.0], [10.0, 10.0, 1.0])
    expected = SCIPY_CURVE_FIT(model, T, NOISY, P0, None, False, True, bounds)
    with minpack.use_in_scipy():
        got = scipy_optimize.curve_fit(model, T, NOISY, P0, None, False, True, bounds)
    assert fits_on_minpack[0] == 0
    np.testing.assert_array_equal(got[0], expected[0])


def test_curve_fit_with_free_bounds_and_lm_runs_on_minpack(fits_on_minpack):
    with minpack.use_in_scipy():
        popt, _ = scipy_optimize.curve_fit(
            model, T, NOISY, p0=P0, bounds=(-np.inf, np.inf), method="lm"
        )
    assert fits_on_minpack[0] == 1
    np.testing.assert_allclose(popt, [2.5, 1.3, 0.5], atol=0.05)


def test_blocks_nest_and_the_last_to_close_restores(fits_on_minpack):
    outer = minpack.use_in_scipy()
    with minpack.use_in_scipy():
        assert scipy_optimize.leastsq is minpack.leastsq
    assert scipy_optimize.leastsq is minpack.leastsq  # the outer handle still holds
    outer.undo()


def test_every_thread_sees_minpack_while_a_block_is_open(fits_on_minpack):
    seen = []
    opened, checked = threading.Event(), threading.Event()

    def other_thread():
        opened.wait()
        seen.append(scipy_optimize.leastsq is minpack.leastsq)
        scipy_optimize.leastsq(residuals, P0, args=(NOISY,))
        checked.set()

    thread = threading.Thread(target=other_thread)
    thread.start()
    with minpack.use_in_scipy():
        opened.set()
        checked.wait(10)
    thread.join()
    assert seen == [True]
    assert fits_on_minpack[0] == 1


def test_astropy_levmarlsqfitter_runs_on_minpack(fits_on_minpack):
    models = pytest.importorskip("astropy.modeling.models")
    fitting = pytest.importorskip("astropy.modeling.fitting")
    x = np.linspace(-5.0, 5.0, 200)
    y = 3.0 * np.exp(-0.5 * ((x - 1.3) / 0.8) ** 2)
    y += np.random.default_rng(3).normal(0.0, 0.05, x.size)
    calls = {}
    fitted = {}
    for engine in ("scipy", "minpack"):
        fitter = fitting.LevMarLSQFitter()
        objective = fitter.objective_function
        counted = []

        def counting(*args, objective=objective, counted=counted, **kwargs):
            counted.append(1)
            return objective(*args, **kwargs)

        fitter.objective_function = counting
        start = models.Gaussian1D(amplitude=1.0, mean=0.0, stddev=1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            if engine == "minpack":
                with minpack.use_in_scipy():
                    fitted[engine] = fitter(start, x, y)
            else:
                fitted[engine] = fitter(start, x, y)
        calls[engine] = (len(counted), fitter.fit_info["nfev"], fitter.fit_info["ierr"])
    assert fits_on_minpack[0] == 1
    # SciPy evaluates the objective at x0 twice more than MINPACK asks for, minpack does
    # not (astropy itself evaluates it once more after the fit, on both).
    extra = {engine: count - nfev for engine, (count, nfev, _) in calls.items()}
    assert extra["scipy"] == extra["minpack"] + 2
    assert calls["minpack"][2] in (1, 2, 3, 4)
    np.testing.assert_allclose(
        fitted["minpack"].parameters, fitted["scipy"].parameters, rtol=1e-7
    )  # the fits agree to the solver's accuracy (docs/migrating.md: default epsfcn)
    np.testing.assert_allclose(fitted["minpack"].parameters, [3.0, 1.3, 0.8], rtol=0.05)


def test_use_in_scipy_without_scipy_is_an_import_error(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "scipy.optimize", None)
    with pytest.raises(ImportError, match="pip install scipy"):
        minpack.use_in_scipy()


def test_least_squares_with_lm_runs_on_minpack_and_the_rest_on_scipy(fits_on_minpack):
    def decay(p):
        return residuals(p, NOISY)

    with minpack.use_in_scipy():
        lm = scipy_optimize.least_squares(decay, P0, method="lm")
        positional = scipy_optimize.least_squares(decay, P0, "2-point", (-np.inf, np.inf), "lm")
        default = scipy_optimize.least_squares(decay, P0)  # SciPy's default method, 'trf'
        trf = scipy_optimize.least_squares(decay, P0, method="trf")
    expected = minpack.least_squares(decay, P0)
    for ours in (lm, positional):
        np.testing.assert_array_equal(ours.x, expected.x)
        assert ours.nfev == expected.nfev and type(ours) is type(expected)
    for theirs in (default, trf):
        reference = SCIPY_LEAST_SQUARES(decay, P0, method="trf")
        np.testing.assert_array_equal(theirs.x, reference.x)
        assert type(theirs) is type(reference)
