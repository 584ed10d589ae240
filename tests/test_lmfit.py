"""lmfit on minpack: ``minpack.use_in_lmfit`` against lmfit on ``scipy.optimize.leastsq``.

Each test runs the same lmfit fit twice: on SciPy's ``leastsq`` (lmfit's own), then inside
``minpack.use_in_lmfit()``, and compares the results.

How close they must be:

* lmfit's ``leastsq`` passes ``epsfcn=1e-10`` by default, above both engines' machine
  precision (numpy's eps for SciPy's C port, 2.22044604926e-16 for Fortran MINPACK), so both
  take the same forward-difference steps and do the same arithmetic (see
  ``test_scipy_oracle.py``): the fitted values, ``chisqr``, ``nfev``, ``ier``, the messages
  and the flags are equal, compared with ``==``.  The same with a ``Dfun``.
* The uncertainties and correlations come from ``cov_x``, which SciPy computes with LAPACK's
  ``trtri`` and minpack with ``numpy.linalg.solve`` from the same ``R``: they differ by
  rounding, hence `COVARIANCE_RTOL`.
* With an ``epsfcn`` below 2.22044604926e-16 the two take different steps and agree only to
  the solver's accuracy: `test_epsfcn_below_fortran_precision_agrees_to_solver_accuracy`.

lmfit counts its residual calls itself and starts at -2 for SciPy's two extra evaluations
at ``x0``, which minpack does not make; ``use_in_lmfit`` takes that correction back, so
``nfev`` and the ``iter`` numbers that ``iter_cb`` receives are equal on both engines (SciPy
alone also calls ``iter_cb`` with ``iter`` -1 and 0 for its extra evaluations).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import nist_strd as ns
from helpers.decay import NOISY, T

import minpack

lmfit = pytest.importorskip("lmfit")
lmfit_minimizer = pytest.importorskip("lmfit.minimizer")
lmfit_models = pytest.importorskip("lmfit.models")
scipy_optimize = pytest.importorskip("scipy.optimize")

# Uncertainties, correlations and covariances: SciPy inverts R with LAPACK's trtri, minpack
# with numpy.linalg.solve; both are backward stable, so they differ by rounding (observed
# <= 8e-15 relative here, on the ill-conditioned NIST problems).  1e-10 as in
# test_scipy_oracle.py: far above rounding, far below any real difference.
COVARIANCE_RTOL = 1e-10

# Fortran MINPACK's machine precision dpmpar(1), a 12-digit DATA constant.
FORTRAN_EPSMCH = 2.22044604926e-16


# --- The fits --------------------------------------------------------------------------------


def decay_params(**bounds: float) -> Any:
    """Start a*exp(-b*t) + c at (1, 1, 0); ``bounds`` such as ``b_min=0.0``."""
    params = lmfit.Parameters()
    for name, value in (("a", 1.0), ("b", 1.0), ("c", 0.0)):
        low, high = bounds.get(f"{name}_min", -np.inf), bounds.get(f"{name}_max", np.inf)
        params.add(name, value, min=low, max=high)
    return params


def decay_residual(params: Any, t: np.ndarray, y: np.ndarray) -> np.ndarray:
    a, b, c = params["a"].value, params["b"].value, params["c"].value
    return a * np.exp(-b * t) + c - y


def decay_jacobian(params: Any, t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d residual / d (a, b, c), shape (m, 3)."""
    a, b = params["a"].value, params["b"].value
    e = np.exp(-b * t)
    return np.column_stack([e, -a * t * e, np.ones_like(t)])


def decay_jacobian_by_rows(params: Any, t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The same, shape (3, m), for ``col_deriv=1``."""
    return np.ascontiguousarray(decay_jacobian(params, t, y).T)


def gaussian_data() -> tuple[np.ndarray, np.ndarray]:
    """A Gaussian peak (amplitude 8, center 5.3, sigma 0.7) on a slope, with noise."""
    x = np.linspace(0.0, 10.0, 201)
    peak = 8.0 / (0.7 * np.sqrt(2 * np.pi)) * np.exp(-((x - 5.3) ** 2) / (2 * 0.7**2))
    y = peak + 0.3 + 0.05 * x + 0.1 * np.random.default_rng(1).standard_normal(x.size)
    return x, y


def gaussian_model() -> tuple[Any, Any]:
    model = lmfit_models.GaussianModel() + lmfit_models.LinearModel()
    params = model.make_params(amplitude=5.0, center=5.0, sigma=1.0, slope=0.0, intercept=0.0)
    params["sigma"].min = 0.0  # a bounded parameter: lmfit's internal transformation
    return model, params


def on_both(fit: Callable[[], Any]) -> tuple[Any, Any]:
    """Run ``fit`` on SciPy's leastsq, then on minpack's; return both results."""
    assert lmfit_minimizer.scipy_leastsq is scipy_optimize.leastsq
    on_scipy = fit()
    with minpack.use_in_lmfit():
        assert lmfit_minimizer.scipy_leastsq is minpack.lmfit_leastsq
        on_minpack = fit()
    assert lmfit_minimizer.scipy_leastsq is scipy_optimize.leastsq
    return on_scipy, on_minpack


# Compared exactly; the statistics (ndata ... bic) are missing from aborted fits.
EXACT_ATTRIBUTES = (
    "nfev", "ier", "lmdif_message", "message", "success", "aborted", "errorbars",
    "nvarys", "ndata", "nfree", "chisqr", "redchi", "aic", "bic", "residual",
)  # fmt: skip


def assert_same_fit(scipy_result: Any, minpack_result: Any) -> None:
    """Equal values, flags and counts; uncertainties and correlations to rounding.

    Exact comparisons use np.testing.assert_equal, for which NaN equals NaN (nan_policy
    'propagate').  An aborted fit has no statistics: both then lack the same attributes.
    """
    for attr in EXACT_ATTRIBUTES:
        missing = object()
        expected = getattr(scipy_result, attr, missing)
        found = getattr(minpack_result, attr, missing)
        if expected is missing or found is missing:
            assert expected is found, attr
        else:
            np.testing.assert_equal(found, expected, err_msg=attr)
    assert list(minpack_result.params) == list(scipy_result.params)
    for name, expected_param in scipy_result.params.items():
        found_param = minpack_result.params[name]
        np.testing.assert_equal(found_param.value, expected_param.value, err_msg=name)
        if expected_param.stderr is None:
            assert found_param.stderr is None, name
        else:
            np.testing.assert_allclose(
                found_param.stderr, expected_param.stderr, rtol=COVARIANCE_RTOL, err_msg=name
            )
        if expected_param.correl is None:
            assert found_param.correl is None, name
        else:
            assert found_param.correl.keys() == expected_param.correl.keys(), name
            for other, correl in expected_param.correl.items():
                np.testing.assert_allclose(
                    found_param.correl[other], correl, rtol=COVARIANCE_RTOL, err_msg=name
                )
    if scipy_result.covar is None:
        assert minpack_result.covar is None
    else:
        np.testing.assert_allclose(minpack_result.covar, scipy_result.covar, rtol=COVARIANCE_RTOL)


# --- Same results on both engines ----------------------------------------------------------


def test_minimize_on_noisy_decay_gives_scipys_fit() -> None:
    def fit() -> Any:
        return lmfit.minimize(decay_residual, decay_params(), args=(T, NOISY), method="leastsq")

    on_scipy, on_minpack = on_both(fit)
    assert_same_fit(on_scipy, on_minpack)
    assert on_minpack.success and on_minpack.errorbars
    np.testing.assert_allclose(
        [on_minpack.params[n].value for n in "abc"], [2.5, 1.3, 0.5], rtol=0.05
    )


def test_minimizer_object_with_bounds_gives_scipys_fit() -> None:
    def fit() -> Any:
        minimizer = lmfit.Minimizer(
            decay_residual, decay_params(b_min=0.0, a_max=10.0), fcn_args=(T, NOISY)
        )
        return minimizer.leastsq()

    assert_same_fit(*on_both(fit))


@pytest.mark.parametrize("fit_kws", [{}, {"ftol": 1e-12, "xtol": 1e-12}, {"epsfcn": 1e-12}])
def test_leastsq_options_in_fit_kws_give_scipys_fit(fit_kws: dict[str, float]) -> None:
    def fit() -> Any:
        return lmfit.minimize(
            decay_residual, decay_params(), args=(T, NOISY), method="leastsq", **fit_kws
        )

    on_scipy, on_minpack = on_both(fit)
    assert_same_fit(on_scipy, on_minpack)
    for option, value in fit_kws.items():
        assert on_minpack.call_kws[option] == value  # it reached leastsq


def test_epsfcn_at_fortran_precision_gives_scipys_fit_to_the_last_bit() -> None:
    def fit() -> Any:
        return lmfit.minimize(
            decay_residual, decay_params(), args=(T, NOISY), method="leastsq",
            epsfcn=FORTRAN_EPSMCH,
        )  # fmt: skip

    assert_same_fit(*on_both(fit))


@pytest.mark.parametrize("epsfcn", [1e-20, None])  # None: leastsq's default, machine precision
def test_epsfcn_below_fortran_precision_agrees_to_solver_accuracy(epsfcn: float | None) -> None:
    # Below 2.22044604926e-16 the step is sqrt(machine precision)*|x_j| on both engines, and
    # the two precisions differ by ~2e-12 relative: the trajectories drift apart by rounding.
    def fit() -> Any:
        return lmfit.minimize(
            decay_residual, decay_params(), args=(T, NOISY), method="leastsq", epsfcn=epsfcn
        )

    on_scipy, on_minpack = on_both(fit)
    assert on_scipy.success and on_minpack.success
    values = {n: (on_scipy.params[n].value, on_minpack.params[n].value) for n in "abc"}
    # the difference docs/guide/other-clients.md documents
    assert any(s != m for s, m in values.values())
    for name, (on_s, on_m) in values.items():
        # ftol = xtol = 1.5e-8 (lmfit's defaults) fix the values to about that relative
        # accuracy (observed: 2e-10 apart); 1e-7 leaves room, and is far below the stderr.
        np.testing.assert_allclose(on_m, on_s, rtol=1e-7)
        # The stderr come from a forward-difference Jacobian at slightly different points,
        # accurate to about sqrt(eps) = 1.5e-8 (observed: 1e-8 apart).
        np.testing.assert_allclose(
            on_minpack.params[name].stderr, on_scipy.params[name].stderr, rtol=1e-5
        )


@pytest.mark.parametrize(
    ("jacobian", "col_deriv"), [(decay_jacobian, 0), (decay_jacobian_by_rows, 1)]
)
def test_dfun_both_layouts_gives_scipys_fit(
    jacobian: Callable[..., np.ndarray], col_deriv: int
) -> None:
    jacobian_calls = []

    def counted(*args: Any) -> np.ndarray:
        jacobian_calls.append(None)
        return jacobian(*args)

    def fit() -> Any:
        jacobian_calls.clear()
        result = lmfit.minimize(
            decay_residual, decay_params(b_min=0.0), args=(T, NOISY), method="leastsq",
            Dfun=counted, col_deriv=col_deriv,
        )  # fmt: skip
        return result, len(jacobian_calls)

    (on_scipy, scipy_njev), (on_minpack, minpack_njev) = on_both(fit)
    assert_same_fit(on_scipy, on_minpack)
    assert on_minpack.success
    # SciPy also calls Dfun once at x0 to check its shape (docs/migrating.md: "calls of
    # Dfun at x0").
    assert minpack_njev == scipy_njev - 1


def test_model_fit_of_gaussian_peak_gives_scipys_fit() -> None:
    x, y = gaussian_data()

    def fit() -> Any:
        model, params = gaussian_model()
        return model.fit(y, params, x=x)

    on_scipy, on_minpack = on_both(fit)
    assert_same_fit(on_scipy, on_minpack)
    np.testing.assert_array_equal(on_minpack.best_fit, on_scipy.best_fit)
    assert on_minpack.success
    np.testing.assert_allclose(on_minpack.params["center"].value, 5.3, atol=0.05)


def test_model_fit_with_dfun_in_fit_kws_gives_scipys_fit() -> None:
    # Model.fit passes fit_kws on to leastsq; Dfun(params, data, weights, **independent_vars)
    # returns the Jacobian of lmfit's residual (data - model) * weights.
    def model_jacobian(params: Any, data: Any, weights: Any, t: np.ndarray) -> np.ndarray:
        return -decay_jacobian(params, t, data)

    def decay(t: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
        return a * np.exp(-b * t) + c

    def fit() -> Any:
        model = lmfit.Model(decay)
        return model.fit(
            NOISY, model.make_params(a=1.0, b=1.0, c=0.0), t=T,
            fit_kws={"Dfun": model_jacobian},
        )  # fmt: skip

    on_scipy, on_minpack = on_both(fit)
    assert_same_fit(on_scipy, on_minpack)
    assert on_minpack.success


# From start 1, with lmfit's forward differences (epsfcn=1e-10), MGH09 crawls off along a
# valley (b2 to -3.5e5) until lmfit's max_nfev, 2000*(n+1) = 10,000 evaluations, aborts it:
# the same 10,000 evaluations on both engines.  With the Jacobian, or from start 2, it reaches
# the certified values.
MGH09_RUNS_AWAY = ("MGH09", 1, False)
NIST_CASES = [("Misra1a", 1), ("Thurber", 1), ("MGH09", 1), ("MGH09", 2)]


@pytest.mark.parametrize("use_jacobian", [False, True])
@pytest.mark.parametrize(("name", "start"), NIST_CASES)
def test_nist_strd_problems_give_scipys_fit(name: str, start: int, use_jacobian: bool) -> None:
    data = ns.load(name)
    model = ns.MODELS[name]
    jacobian = ns.JACOBIANS[name] if use_jacobian else None
    names = data.parameter_names

    def vector(params: Any) -> np.ndarray:
        return np.array([params[n].value for n in names])

    def residual(params: Any) -> np.ndarray:
        return data.y - model(vector(params), data.x)

    def residual_jacobian(params: Any) -> np.ndarray:
        assert jacobian is not None
        return -jacobian(vector(params), data.x)

    def fit() -> Any:
        params = lmfit.Parameters()
        for n, value in zip(names, data.start(start), strict=True):
            params.add(n, value)
        return lmfit.minimize(
            residual, params, method="leastsq", ftol=1e-15, xtol=1e-15,
            Dfun=residual_jacobian if use_jacobian else None,
        )  # fmt: skip

    on_scipy, on_minpack = on_both(fit)
    assert_same_fit(on_scipy, on_minpack)
    if (name, start, use_jacobian) == MGH09_RUNS_AWAY:
        assert on_minpack.aborted and on_minpack.nfev == 10_000
    else:
        # lmfit on minpack finds NIST's certified values (NIST's criterion: LRE > 4).
        np.testing.assert_allclose(vector(on_minpack.params), data.certified, rtol=1e-4)


def test_conf_interval_gives_scipys_intervals() -> None:
    # conf_interval refits with each parameter held fixed: many Minimizer.leastsq calls.
    def fit() -> Any:
        minimizer = lmfit.Minimizer(decay_residual, decay_params(), fcn_args=(T, NOISY))
        result = minimizer.leastsq()
        return result, lmfit.conf_interval(minimizer, result, sigmas=[1, 2])

    (on_scipy, scipy_ci), (on_minpack, minpack_ci) = on_both(fit)
    assert_same_fit(on_scipy, on_minpack)
    assert minpack_ci.keys() == scipy_ci.keys()
    for name, intervals in scipy_ci.items():
        # The bounds are roots (brentq) of a probability computed from refitted chisqr
        # values, which are equal on both: the same numbers.
        assert minpack_ci[name] == intervals, name


# --- Counting evaluations ------------------------------------------------------------------


def test_nfev_counts_the_same_evaluations_on_both_engines() -> None:
    calls: list[None] = []

    def counted(params: Any, t: np.ndarray, y: np.ndarray) -> np.ndarray:
        calls.append(None)
        return decay_residual(params, t, y)

    def fit() -> Any:
        calls.clear()
        result = lmfit.minimize(counted, decay_params(), args=(T, NOISY), method="leastsq")
        return result, len(calls)

    (on_scipy, scipy_calls), (on_minpack, minpack_calls) = on_both(fit)
    assert on_minpack.nfev == on_scipy.nfev
    # nfev is MINPACK's count; lmfit evaluates the residual once more at the solution.
    assert minpack_calls == on_minpack.nfev + 1
    # SciPy also evaluates it twice more at x0, outside its nfev.
    assert scipy_calls == on_scipy.nfev + 1 + 2


def test_plain_minpack_leastsq_in_lmfit_would_undercount_nfev_by_two(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Why use_in_lmfit installs lmfit_leastsq, not minpack.leastsq: lmfit starts its count
    # at -2 for SciPy's extra evaluations.
    def fit() -> Any:
        return lmfit.minimize(decay_residual, decay_params(), args=(T, NOISY), method="leastsq")

    with minpack.use_in_lmfit():
        with_correction = fit()
    monkeypatch.setattr(lmfit_minimizer, "scipy_leastsq", minpack.leastsq)
    without_correction = fit()
    assert without_correction.nfev == with_correction.nfev - 2
    assert without_correction.params["b"].value == with_correction.params["b"].value


def test_iter_cb_sees_the_same_iterations_on_both_engines() -> None:
    def fit() -> Any:
        seen: list[tuple[int, list[float]]] = []

        def iter_cb(params: Any, iteration: int, residual: Any, *args: Any) -> bool:
            seen.append((iteration, [params[n].value for n in "abc"]))
            return False

        lmfit.minimize(
            decay_residual, decay_params(), args=(T, NOISY), method="leastsq", iter_cb=iter_cb
        )
        return seen

    on_scipy, on_minpack = on_both(fit)
    # SciPy's two extra evaluations at x0 come first, numbered -1 and 0.
    assert [iteration for iteration, _ in on_scipy[:3]] == [-1, 0, 1]
    assert on_scipy[0][1] == on_scipy[1][1] == on_scipy[2][1] == [1.0, 1.0, 0.0]
    assert on_minpack == on_scipy[2:]


@pytest.mark.parametrize("abort_at", [1, 2, 4, 5, 9, 12])
def test_iter_cb_abort_stops_both_engines_at_the_same_evaluation(abort_at: int) -> None:
    # 1 is the evaluation at x0, 2-4 the first forward differences, 5 the first trial step.
    def fit() -> Any:
        def iter_cb(params: Any, iteration: int, residual: Any, *args: Any) -> bool:
            return iteration == abort_at

        return lmfit.minimize(
            decay_residual, decay_params(), args=(T, NOISY), method="leastsq", iter_cb=iter_cb
        )

    on_scipy, on_minpack = on_both(fit)
    assert on_minpack.aborted and on_scipy.aborted
    assert not on_minpack.success
    assert on_minpack.ier == -1
    assert on_minpack.nfev == abort_at
    assert_same_fit(on_scipy, on_minpack)


@pytest.mark.parametrize("max_nfev", [3, 10, 15])
def test_max_nfev_stops_both_engines_at_the_same_evaluation(max_nfev: int) -> None:
    def fit() -> Any:
        return lmfit.minimize(
            decay_residual, decay_params(), args=(T, NOISY), method="leastsq", max_nfev=max_nfev
        )

    on_scipy, on_minpack = on_both(fit)
    assert on_minpack.aborted and not on_minpack.success
    assert_same_fit(on_scipy, on_minpack)


# --- nan_policy ----------------------------------------------------------------------------


def noisy_with_nans() -> np.ndarray:
    y = NOISY.copy()
    y[[3, 17, 40]] = np.nan
    return y


def test_nan_policy_omit_in_minimize_gives_scipys_fit() -> None:
    y = noisy_with_nans()

    def fit() -> Any:
        return lmfit.minimize(
            decay_residual, decay_params(), args=(T, y), method="leastsq", nan_policy="omit"
        )

    on_scipy, on_minpack = on_both(fit)
    assert_same_fit(on_scipy, on_minpack)
    assert on_minpack.success and on_minpack.ndata == T.size - 3


def test_nan_policy_omit_in_model_fit_gives_scipys_fit() -> None:
    x, y = gaussian_data()
    y[[10, 100, 150]] = np.nan

    def fit() -> Any:
        model, params = gaussian_model()
        return model.fit(y, params, x=x, nan_policy="omit")

    on_scipy, on_minpack = on_both(fit)
    assert_same_fit(on_scipy, on_minpack)
    assert on_minpack.success and on_minpack.ndata == x.size - 3


def test_nan_policy_raise_raises_scipys_error_and_restores_lmfit() -> None:
    y = noisy_with_nans()

    def fit() -> str:
        # lmfit sets np.seterr(all="ignore") for the fit and does not restore it when the
        # residual raises: errstate keeps that from leaking into later tests.
        with np.errstate(), pytest.raises(ValueError, match="NaN values detected") as info:
            lmfit.minimize(decay_residual, decay_params(), args=(T, y), method="leastsq")
        return str(info.value)

    on_scipy, on_minpack = on_both(fit)  # on_both checks the attribute is restored
    assert on_minpack == on_scipy


def test_nan_policy_propagate_reports_a_nan_start_as_a_failure() -> None:
    y = noisy_with_nans()

    def fit() -> Any:
        return lmfit.minimize(
            decay_residual, decay_params(), args=(T, y), method="leastsq", nan_policy="propagate"
        )

    on_scipy, on_minpack = on_both(fit)
    # The residuals are NaN at x0.  SciPy's MINPACK reports ier 4, a success, there; minpack
    # stops at once with ier 9 (docs/guide/robustness.md): lmfit counts it a failure.
    assert on_scipy.ier == 4 and on_scipy.success
    assert on_minpack.ier == 9 and not on_minpack.success
    assert on_minpack.lmdif_message == "func returned NaN or infinity at x0: the fit did not start."
    assert not on_minpack.errorbars
    for result in (on_scipy, on_minpack):
        assert [result.params[n].value for n in "abc"] == [1.0, 1.0, 0.0]


# --- Installing and restoring ----------------------------------------------------------------


def test_attribute_is_restored_after_the_block() -> None:
    original = lmfit_minimizer.scipy_leastsq
    assert original is scipy_optimize.leastsq
    with minpack.use_in_lmfit() as entered:
        assert entered is None
        assert lmfit_minimizer.scipy_leastsq is minpack.lmfit_leastsq
    assert lmfit_minimizer.scipy_leastsq is original


def test_attribute_is_restored_after_an_exception_in_the_block() -> None:
    with pytest.raises(KeyError, match="inside"), minpack.use_in_lmfit():
        raise KeyError("inside")
    assert lmfit_minimizer.scipy_leastsq is scipy_optimize.leastsq


def test_exception_in_the_residual_propagates_and_restores() -> None:
    class StopError(Exception):
        pass

    def failing(params: Any) -> np.ndarray:
        raise StopError("from the residual")

    with np.errstate(), pytest.raises(StopError, match="from the residual"):  # see the 'raise' test
        with minpack.use_in_lmfit():
            lmfit.minimize(failing, decay_params(), method="leastsq")
    assert lmfit_minimizer.scipy_leastsq is scipy_optimize.leastsq


def test_nested_blocks_restore_when_the_outermost_exits() -> None:
    with minpack.use_in_lmfit():
        with minpack.use_in_lmfit():
            assert lmfit_minimizer.scipy_leastsq is minpack.lmfit_leastsq
        assert lmfit_minimizer.scipy_leastsq is minpack.lmfit_leastsq
        inner_done = lmfit.minimize(decay_residual, decay_params(), args=(T, NOISY))
    assert lmfit_minimizer.scipy_leastsq is scipy_optimize.leastsq
    assert inner_done.success


def test_blocks_overlapping_in_two_threads_restore_when_the_last_exits() -> None:
    # Thread A opens, B opens, A closes (B's block still needs minpack), B closes.
    a_open, b_open, a_closed = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, Any] = {}
    errors: list[BaseException] = []

    def thread_a() -> None:
        try:
            with minpack.use_in_lmfit():
                a_open.set()
                assert b_open.wait(10)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            a_closed.set()

    def thread_b() -> None:
        try:
            assert a_open.wait(10)
            with minpack.use_in_lmfit():
                b_open.set()
                assert a_closed.wait(10)
                seen["after A closed"] = lmfit_minimizer.scipy_leastsq
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert seen["after A closed"] is minpack.lmfit_leastsq
    assert lmfit_minimizer.scipy_leastsq is scipy_optimize.leastsq


def test_what_was_installed_before_is_what_is_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    def someone_elses_leastsq(*args: Any, **kwargs: Any) -> Any:
        return scipy_optimize.leastsq(*args, **kwargs)

    monkeypatch.setattr(lmfit_minimizer, "scipy_leastsq", someone_elses_leastsq)
    with minpack.use_in_lmfit():
        assert lmfit_minimizer.scipy_leastsq is minpack.lmfit_leastsq
    assert lmfit_minimizer.scipy_leastsq is someone_elses_leastsq


def test_lmfit_leastsq_installed_for_good_gives_scipys_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fit() -> Any:
        return lmfit.minimize(decay_residual, decay_params(), args=(T, NOISY), method="leastsq")

    on_scipy = fit()
    monkeypatch.setattr(lmfit_minimizer, "scipy_leastsq", minpack.lmfit_leastsq)
    assert_same_fit(on_scipy, fit())


def test_lmfit_leastsq_is_minpack_leastsq_for_other_callers() -> None:
    def residuals(p: np.ndarray) -> np.ndarray:
        return p[0] * np.exp(-p[1] * T) + p[2] - NOISY

    x, cov_x, infodict, mesg, ier = minpack.lmfit_leastsq(residuals, [1.0, 1.0, 0.0], (), None, 1)
    x_, cov_x_, infodict_, mesg_, ier_ = minpack.leastsq(residuals, [1.0, 1.0, 0.0], full_output=1)
    np.testing.assert_array_equal(x, x_)
    np.testing.assert_array_equal(cov_x, cov_x_)
    assert infodict["nfev"] == infodict_["nfev"]
    assert (mesg, ier) == (mesg_, ier_)


def test_missing_lmfit_is_an_import_error_naming_pip_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "lmfit.minimizer", None)  # what import finds: no module
    with pytest.raises(ImportError, match=r"pip install lmfit"):
        minpack.use_in_lmfit()  # the call raises, before any block


def test_lmfit_without_scipy_leastsq_attribute_is_a_runtime_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(lmfit_minimizer, "scipy_leastsq")
    with pytest.raises(RuntimeError, match=r"lmfit\.minimizer\.scipy_leastsq"):
        minpack.use_in_lmfit()
    assert not hasattr(lmfit_minimizer, "scipy_leastsq")  # nothing installed


def test_importing_minpack_does_not_import_lmfit() -> None:
    code = "import sys, minpack; minpack.use_in_lmfit; assert 'lmfit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("limits", [None, ((0.05, 0.15), (1.0, 3.0))], ids=["auto", "limits"])
def test_conf_interval2d_runs_on_minpack_as_on_scipy(limits):
    # With every parameter fixed lmfit calls leastsq(f, [], full_output=1): minpack answers
    # ier 0 as SciPy does, and the grid of probabilities is SciPy's, bit for bit.
    x = np.linspace(0.3, 10, 100)
    y = 1 / (0.1 * x) + 2 + 0.1 * np.random.default_rng(1).standard_normal(x.size)
    params = lmfit.Parameters()
    params.add_many(("a", 0.1), ("b", 1.0))

    def residual(p):
        return 1 / (p["a"] * x) + p["b"] - y

    grids = {}
    for engine in ("minpack", "scipy"):
        minimizer = lmfit.Minimizer(residual, params)
        if engine == "minpack":
            with minpack.use_in_lmfit():
                fitted = minimizer.leastsq()
                grids[engine] = lmfit.conf_interval2d(
                    minimizer, fitted, "a", "b", 10, 10, limits=limits
                )
        else:
            fitted = minimizer.leastsq()
            grids[engine] = lmfit.conf_interval2d(
                minimizer, fitted, "a", "b", 10, 10, limits=limits
            )
    for ours, theirs in zip(grids["minpack"], grids["scipy"], strict=True):
        assert np.isfinite(ours).all()
        # lmfit's epsfcn=1e-10: both engines take the same steps (docs/guide/other-clients.md).
        np.testing.assert_array_equal(ours, theirs)
