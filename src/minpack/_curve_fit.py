"""``curve_fit``: SciPy's unbounded Levenberg-Marquardt curve fit, on Fortran MINPACK."""

from __future__ import annotations

import inspect
import sys
import warnings
from collections.abc import Callable
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import NDArray

from minpack._callback import describe
from minpack._inputs import real_input
from minpack._leastsq import leastsq
from minpack._minpack import all_finite, magnitudes_within

FloatArray = NDArray[np.float64]

# curve_fit's default bounds: this very object, so that the usual call is recognised by
# identity before any array is built.
_UNBOUNDED: tuple[float, float] = (-np.inf, np.inf)
_SUCCESS = (1, 2, 3, 4)
# Residuals below this square and sum (m < 2**31 of them) without overflow.
_SQUARES_FIT = 1e149
_NAN_POLICIES = (None, "raise", "omit")
_LEVENBERG_MARQUARDT_ONLY = (
    "minpack.curve_fit implements the Levenberg-Marquardt path of scipy.optimize.curve_fit "
    "only (method='lm', no bounds); use scipy.optimize.curve_fit for "
)
_COVARIANCE_UNKNOWN = "Covariance of the parameters could not be estimated"


class OptimizeWarning(UserWarning):
    """Issued by `curve_fit` when the covariance of the parameters cannot be estimated.

    minpack's own class, not ``scipy.optimize.OptimizeWarning`` (this package does not
    depend on SciPy): filter it by this name.
    """


def _signature(f: Callable[..., Any]) -> inspect.Signature:
    """Return ``f``'s signature without evaluating its annotations."""
    if sys.version_info >= (3, 14):  # pragma: no cover - annotations became lazy in 3.14
        import annotationlib

        return inspect.signature(f, annotation_format=annotationlib.Format.FORWARDREF)
    return inspect.signature(f)


def _parameter_count(f: Callable[..., Any]) -> int:
    """Count the fit parameters of ``f(x, p1, p2, ...)``: its positional parameters but x."""
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    count = sum(p.kind in positional for p in _signature(f).parameters.values())
    if count < 2:
        raise ValueError("Unable to determine number of fit parameters.")
    return count - 1


def _require_unbounded(bounds: Any) -> None:
    """Raise ``ValueError`` unless ``bounds`` leaves every parameter free.

    ``bounds`` is ``(lb, ub)``, each a scalar or one value per parameter, or an object
    with ``lb`` and ``ub`` attributes such as ``scipy.optimize.Bounds``.  Free means
    ``lb`` all ``-inf`` and ``ub`` all ``inf``; as in SciPy, their lengths are then not
    checked.
    """
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lower, upper = bounds.lb, bounds.ub
    else:
        try:
            lower, upper = bounds
        except (TypeError, ValueError):
            raise ValueError(
                f"bounds must be a pair (lb, ub) or a Bounds object, not {bounds!r}"
            ) from None
    for limit, free in ((lower, -np.inf), (upper, np.inf)):
        if np.any(np.asarray(limit, dtype=float) != free):
            raise ValueError(_LEVENBERG_MARQUARDT_ONLY + "bounded problems.")


def _check_method(method: str | None, jac: object) -> None:
    """Raise ``ValueError`` unless ``method`` and ``jac`` select the Levenberg-Marquardt path."""
    if method in ("trf", "dogbox"):
        raise ValueError(_LEVENBERG_MARQUARDT_ONLY + f"method={method!r}.")
    if method not in (None, "lm"):
        raise ValueError(f"method must be 'lm' (or None), not {method!r}")
    if isinstance(jac, str):
        raise ValueError(
            _LEVENBERG_MARQUARDT_ONLY + f"jac={jac!r}; here jac is a callable, or None "
            "for MINPACK's forward differences."
        )
    if jac is not None and not callable(jac):
        raise TypeError(f"jac must be a callable or None, not {jac!r}")


def serves_curve_fit(bounds: Any, method: Any, jac: Any) -> bool:
    """Whether `curve_fit` serves a call with these (else it raises ``ValueError``).

    The unbounded Levenberg-Marquardt path: ``bounds`` None (not given) or free,
    ``method`` None or ``'lm'``, ``jac`` None or a callable.
    """
    if method not in (None, "lm") or isinstance(jac, str):
        return False
    if bounds is None or bounds is _UNBOUNDED:
        return True
    try:
        _require_unbounded(bounds)
    except (ValueError, TypeError):
        return False
    return True


def _finite(array: FloatArray) -> bool:
    """Whether a float64 array holds no NaN or infinity."""
    if array.ndim == 1 and array.flags.c_contiguous:
        return all_finite(array)  # in C, without a temporary array
    return bool(np.isfinite(array).all())


def _float_data(values: Any, check_finite: bool, name: str) -> FloatArray:
    """Convert data to a float64 array, rejecting NaN and infinity if ``check_finite``.

    Complex data is a ``TypeError``: SciPy drops the imaginary part with a warning.
    """
    given = real_input(values, name, ValueError)  # once: a list is converted a single time
    array: FloatArray = given if given.dtype == np.float64 else given.astype(np.float64)
    if check_finite and not _finite(array):
        raise ValueError("array must not contain infs or NaNs")
    return array


def _has_nan(values: Any) -> bool:
    """Whether ``values`` holds a NaN (only float or object arrays can)."""
    array = np.asarray(values)
    if array.size == 0:
        return False
    if array.dtype.kind in "fc":
        return bool(np.isnan(array).any())
    if array.dtype == object:
        return any(isinstance(v, (float, complex, np.number)) and np.isnan(v) for v in array.flat)
    return False


def _omit_nans(
    xdata: Any, ydata: FloatArray, sigma: Any
) -> tuple[Any, FloatArray, NDArray[Any] | None]:
    """Drop the data points where ``xdata`` or ``ydata`` holds a NaN, and their sigma.

    A point is a column ``xdata[..., i]`` (with k predictors, xdata is k-by-M) and
    ``ydata[i]``; a 1-D sigma loses entry i, a 2-D one row and column i.
    """
    bad_x = np.isnan(xdata)
    if bad_x.ndim > 1:
        bad_x = bad_x.any(axis=tuple(range(bad_x.ndim - 1)))
    keep = ~(bad_x | np.isnan(ydata))
    xdata, ydata = xdata[..., keep], ydata[keep]
    if sigma is None:
        return xdata, ydata, None
    sigma = np.asarray(sigma)
    if sigma.ndim == 1 and sigma.size == keep.size:
        sigma = sigma[keep]
    elif sigma.ndim == 2:  # a covariance matrix
        sigma = sigma[keep][:, keep]
    return xdata, ydata, sigma


def _whitening(sigma: Any, m: int) -> tuple[FloatArray | None, FloatArray | None]:
    """Return ``(weights, inverse_factor)`` for ``sigma``; at most one is not None.

    A scalar or M values of sigma are standard deviations: the residuals are multiplied
    by ``weights = 1/sigma``.  An M-by-M sigma is the covariance ``C = L L.T`` of the data:
    the residuals are multiplied by ``inverse_factor = inv(L)``, so that their sum of
    squares is ``r.T inv(C) r``.  The inverse is computed once, for all evaluations.
    """
    if sigma is None:
        return None, None
    sigma = real_input(sigma, "sigma")
    if sigma.shape == (m,) and sigma.dtype == np.float64 and sigma.flags.c_contiguous:
        if magnitudes_within(sigma, 0.0, np.inf):  # the usual case, tested in C
            return 1.0 / sigma, None
    if not np.isfinite(sigma).all():
        raise ValueError("`sigma` must be finite.")
    if sigma.size == 1 or sigma.shape == (m,):
        if not sigma.all():  # an infinite weight: no fit could mean anything
            raise ValueError("`sigma` must not contain zeros: they are standard deviations.")
        return 1.0 / sigma, None
    if sigma.shape != (m, m):
        raise ValueError("`sigma` has incorrect shape.")
    covariance = np.asarray(sigma, float)
    try:
        factor = np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError as error:
        raise ValueError("`sigma` must be positive definite.") from error
    return None, np.asarray(np.linalg.inv(factor), dtype=np.float64)


def _mismatch(name: str, value: object, expected: str, error: Exception) -> Exception:
    """Return the error for what ``f`` or ``jac`` returned when it cannot meet the data.

    The arithmetic that met it is curve_fit's own (``f - ydata``, the weights), so its
    NumPy message would name no argument; the user's own exceptions never come here.
    """
    kind = TypeError if isinstance(error, TypeError) else ValueError
    return kind(f"{name} returned {describe(value)}; expected {expected}")


def _residuals(
    f: Callable[..., Any],
    xdata: Any,
    ydata: FloatArray,
    weights: FloatArray | None,
    inverse_factor: FloatArray | None,
) -> Callable[[FloatArray], Any]:
    """Return ``leastsq``'s func: the weighted difference between model and data."""
    expected = f"{ydata.size} values, one per data point"

    if inverse_factor is not None:

        def correlated(params: FloatArray) -> Any:
            model = f(xdata, *params)
            try:
                difference = model - ydata
                if difference.dtype != np.float64 or _finite(difference):
                    return inverse_factor @ difference
                # The zeros of inv(L) times infinity: NaN, which the fit rejects, not a warning.
                with np.errstate(invalid="ignore", over="ignore"):
                    return inverse_factor @ difference
            except (TypeError, ValueError) as error:
                raise _mismatch("f", model, expected, error) from error

        return correlated
    if weights is not None:

        def weighted(params: FloatArray) -> Any:
            model = f(xdata, *params)
            try:
                return weights * (model - ydata)
            except (TypeError, ValueError) as error:
                raise _mismatch("f", model, expected, error) from error

        return weighted

    def plain(params: FloatArray) -> Any:
        model = f(xdata, *params)
        try:
            return model - ydata
        except (TypeError, ValueError) as error:
            raise _mismatch("f", model, expected, error) from error

    return plain


def _jacobian(
    jac: Callable[..., Any],
    xdata: Any,
    weights: FloatArray | None,
    inverse_factor: FloatArray | None,
) -> Callable[[FloatArray], Any]:
    """Return ``leastsq``'s Dfun: ``jac``'s rows weighted as `_residuals` weights residuals."""
    expected = "one row per data point"
    if inverse_factor is not None:

        def correlated(params: FloatArray) -> Any:
            value = jac(xdata, *params)
            try:
                return inverse_factor @ np.asarray(value)
            except (TypeError, ValueError) as error:
                raise _mismatch("jac", value, expected, error) from error

        return correlated
    if weights is not None:
        row_weights = weights[:, np.newaxis] if weights.ndim == 1 else weights

        def weighted(params: FloatArray) -> Any:
            value = jac(xdata, *params)
            try:
                return row_weights * np.asarray(value)
            except (TypeError, ValueError) as error:
                raise _mismatch("jac", value, expected, error) from error

        return weighted

    def plain(params: FloatArray) -> Any:
        return jac(xdata, *params)

    return plain


def _parameter_covariance(
    cov_x: FloatArray | None, fvec: Any, n: int, absolute_sigma: bool
) -> FloatArray:
    """Scale ``leastsq``'s ``cov_x`` into ``pcov``; ``inf`` and a warning when impossible.

    Without `absolute_sigma` the residual variance is estimated from the fit:
    ``pcov = cov_x * sum(fvec**2) / (M - N)``, which needs ``M > N``.
    """
    if cov_x is None or (not _finite(cov_x.reshape(-1)) and np.isnan(cov_x).any()):
        pcov: FloatArray = np.full((n, n), np.inf)
    elif absolute_sigma:
        return cov_x
    else:
        m = np.size(fvec)
        if m > n:
            # The sum of squares as np.sum(fvec**2) computes it (pairwise), without its
            # wrapper's overhead: the same bits as SciPy's.
            # -1.0: no lower bound
            if type(fvec) is np.ndarray and magnitudes_within(fvec, -1.0, _SQUARES_FIT):
                scaled: FloatArray = cov_x * (np.add.reduce(fvec * fvec, axis=None) / (m - n))
                return scaled
            # Residuals this large may overflow the sum of squares: inf, or NaN where cov_x
            # has zeros, which is a covariance that could not be estimated.
            with np.errstate(over="ignore", invalid="ignore"):
                scaled = cov_x * (np.add.reduce(fvec * fvec, axis=None) / (m - n))
            if not np.isnan(scaled).any():
                return scaled
        pcov = np.full_like(cov_x, np.inf)
    warnings.warn(_COVARIANCE_UNKNOWN, OptimizeWarning, stacklevel=3)
    return pcov


@overload
def curve_fit(
    f: Callable[..., Any],
    xdata: Any,
    ydata: Any,
    p0: Any = ...,
    sigma: Any = ...,
    absolute_sigma: bool = ...,
    check_finite: bool | None = ...,
    bounds: Any = ...,
    method: str | None = ...,
    jac: Callable[..., Any] | None = ...,
    *,
    full_output: Literal[False] = ...,
    nan_policy: Literal["raise", "omit"] | None = ...,
    **kwargs: Any,
) -> tuple[FloatArray, FloatArray]: ...


@overload
def curve_fit(
    f: Callable[..., Any],
    xdata: Any,
    ydata: Any,
    p0: Any = ...,
    sigma: Any = ...,
    absolute_sigma: bool = ...,
    check_finite: bool | None = ...,
    bounds: Any = ...,
    method: str | None = ...,
    jac: Callable[..., Any] | None = ...,
    *,
    full_output: Literal[True],
    nan_policy: Literal["raise", "omit"] | None = ...,
    **kwargs: Any,
) -> tuple[FloatArray, FloatArray, dict[str, Any], str, int]: ...


@overload
def curve_fit(
    f: Callable[..., Any],
    xdata: Any,
    ydata: Any,
    p0: Any = ...,
    sigma: Any = ...,
    absolute_sigma: bool = ...,
    check_finite: bool | None = ...,
    bounds: Any = ...,
    method: str | None = ...,
    jac: Callable[..., Any] | None = ...,
    *,
    full_output: bool,
    nan_policy: Literal["raise", "omit"] | None = ...,
    **kwargs: Any,
) -> tuple[FloatArray, FloatArray] | tuple[FloatArray, FloatArray, dict[str, Any], str, int]: ...


def curve_fit(
    f: Callable[..., Any],
    xdata: Any,
    ydata: Any,
    p0: Any = None,
    sigma: Any = None,
    absolute_sigma: bool = False,
    check_finite: bool | None = None,
    bounds: Any = _UNBOUNDED,
    method: str | None = None,
    jac: Callable[..., Any] | None = None,
    *,
    full_output: bool = False,
    nan_policy: str | None = None,
    **kwargs: Any,
) -> tuple[FloatArray, FloatArray] | tuple[FloatArray, FloatArray, dict[str, Any], str, int]:
    """Fit a model function to data by nonlinear least squares, with MINPACK.

    A drop-in replacement for `scipy.optimize.curve_fit` on its Levenberg-Marquardt
    path (``method='lm'``, no bounds): the parameters ``p`` that minimise the sum of
    squares of ``f(xdata, *p) - ydata``, weighted by `sigma`, are found by
    `minpack.leastsq`, that is by the original Fortran MINPACK ``lmdif`` (no `jac`)
    or ``lmder``.

    Parameters
    ----------
    f : callable
        The model, ``f(xdata, p1, ..., pN)``, returning M values.  A Python callable:
        compiled residual functions are fitted with `minpack.leastsq` directly.
    xdata : object
        The independent variable, passed to ``f`` as it is, except that a list, tuple
        or array is first converted to a float64 array (and checked with
        `check_finite`).  Typically M values, or k-by-M for k predictors.
    ydata : array_like
        The M observations; converted to a float64 array.
    p0 : array_like, optional
        The starting values of the N parameters.  None means all ones, N being the
        number of positional parameters of ``f`` after ``xdata`` (a `ValueError` when
        that cannot be told).
    sigma : None, scalar, array_like of shape (M,) or (M, M), optional
        The uncertainty of `ydata`.  A scalar or M values are standard deviations:
        each residual is divided by its own (``chisq = sum((r / sigma)**2)``).  An
        M-by-M array is the covariance matrix ``C`` of the errors
        (``chisq = r.T @ inv(C) @ r``); it must be positive definite.  None weighs all
        points alike.
    absolute_sigma : bool, optional
        Whether `sigma` is in the units of `ydata`, so that `pcov` is ``inv(J.T J)`` of
        the weighted Jacobian as it is.  If False, only the relative sizes of `sigma`
        matter: `pcov` is scaled by the reduced chi-square ``chisq(popt) / (M - N)``.
    check_finite : bool, optional
        Raise a `ValueError` when `xdata` (if an array) or `ydata` holds NaN or
        infinity.  Default: True without `nan_policy`, False with it.
    bounds : 2-tuple or Bounds, optional
        Only unbounded problems are solved here: bounds that leave every parameter
        free (``-inf`` to ``inf``, the default) are accepted, anything else is a
        `ValueError`.
    method : {None, 'lm'}, optional
        Levenberg-Marquardt, the only method here (the default of SciPy's function
        for unbounded problems); 'trf' and 'dogbox' are a `ValueError`.
    jac : callable, optional
        ``jac(xdata, p1, ..., pN)`` returns the Jacobian of ``f`` with respect to the
        parameters, shape (M, N); it is weighted by `sigma` as the residuals are.
        None: MINPACK estimates it by forward differences.
    full_output : bool, optional
        Also return `infodict`, `mesg` and `ier`.  Keyword-only.
    nan_policy : {None, 'raise', 'omit'}, optional
        What to do with NaN in `xdata` or `ydata`: None leaves them to `check_finite`
        (or to the fit), 'raise' raises a `ValueError`, 'omit' drops those data points
        (and their entries of `sigma`) before fitting.  Keyword-only.
    **kwargs
        Passed to `minpack.leastsq`: ``ftol``, ``xtol``, ``gtol``, ``maxfev``,
        ``epsfcn``, ``factor``, ``diag``, ``col_deriv`` and its keyword-only
        extensions.  ``args`` is not accepted.

    Returns
    -------
    popt : ndarray, shape (N,)
        The parameters that minimise the weighted sum of squares.
    pcov : ndarray, shape (N, N)
        The estimated covariance of `popt` (see `absolute_sigma`); its diagonal holds
        the variances, ``np.sqrt(np.diag(pcov))`` the standard errors.  Filled with
        ``inf`` when it cannot be estimated: a singular Jacobian at the solution, or
        ``M <= N`` without `absolute_sigma`.
    infodict : dict
        `minpack.leastsq`'s: ``nfev``, ``njev`` (with `jac`), ``fvec`` (the weighted
        residuals at `popt`), ``fjac``, ``ipvt``, ``qtf``.  Only with `full_output`.
    mesg : str
        What ``ier`` means.  Only with `full_output`.
    ier : int
        MINPACK's success code, 1 to 4.  Only with `full_output`.

    Raises
    ------
    ValueError
        If the data hold NaN or infinity (see `check_finite`, `nan_policy`), `ydata`
        is empty, `sigma` has the wrong shape or is not positive definite, the number
        of parameters cannot be told, ``args`` is given, or bounds, `method` or a
        string `jac` ask for what only SciPy's other methods do.
    TypeError
        If there are more parameters than data points.
    RuntimeError
        If the fit fails (``ier`` not 1 to 4): ``"Optimal parameters not found: "``
        followed by `minpack.leastsq`'s message.

    Warns
    -----
    OptimizeWarning
        When `pcov` cannot be estimated (it is then all ``inf``).

    See Also
    --------
    minpack.leastsq : The least-squares solver underneath.
    scipy.optimize.curve_fit : The function this one reproduces.

    Notes
    -----
    `popt` is what `minpack.leastsq` finds for the residuals ``f(xdata, *p) - ydata``
    multiplied by ``1/sigma``, or by ``inv(L)`` where ``L`` is the Cholesky factor of a
    covariance `sigma`; `pcov` is its ``cov_x`` scaled as described above, exactly as
    SciPy scales it.  ``f`` is called once at ``p0``; its result is MINPACK's first
    evaluation.

    Against SciPy's function: with `jac`, or with ``epsfcn >= 2.22044604926e-16``
    passed on, both take the same steps and `popt` is the same to the last bit (a 2-D
    `sigma` without `jac` excepted: its whitening rounds differently).  Without them
    the forward-difference steps differ by about 2e-12 relative (Fortran MINPACK's
    machine precision is that constant, SciPy's C port uses ``finfo(float).eps``),
    so the results agree to the solver's accuracy.  Where SciPy fails, this function
    works: a scalar `sigma` with `jac`, and ``p0=None`` with ``Bounds(-inf, inf)``.
    A string `jac` is a `ValueError` (SciPy: `TypeError`), and an unknown
    `nan_policy` is refused even when `check_finite` is True.

    Examples
    --------
    SciPy's example, with one import changed:

    >>> import numpy as np
    >>> from minpack import curve_fit
    >>> def func(x, a, b, c):
    ...     return a * np.exp(-b * x) + c
    >>> xdata = np.linspace(0, 4, 50)
    >>> rng = np.random.default_rng(4)
    >>> ydata = func(xdata, 2.5, 1.3, 0.5) + 0.2 * rng.normal(size=xdata.size)
    >>> popt, pcov = curve_fit(func, xdata, ydata)
    >>> popt.round(2)
    array([2.52, 1.3 , 0.48])
    >>> np.sqrt(np.diag(pcov)).round(2)  # the standard errors
    array([0.12, 0.14, 0.06])

    Bounds belong to SciPy's other methods:

    >>> curve_fit(func, xdata, ydata, bounds=(0, [3.0, 1.0, 0.5]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: minpack.curve_fit implements the Levenberg-Marquardt path of ...
    """
    if p0 is None:
        n = _parameter_count(f)
        p0 = np.ones(n)
    else:
        p0 = np.atleast_1d(real_input(p0, "p0"))
        n = p0.size
        if n == 0:
            raise TypeError("p0 is empty; curve_fit needs at least one parameter")
        if not _finite(p0 if p0.dtype == np.float64 else p0.astype(np.float64)):
            raise ValueError("p0 must be finite; it contains NaN or infinity")
    if bounds is not _UNBOUNDED:
        _require_unbounded(bounds)
    _check_method(method, jac)
    if nan_policy not in _NAN_POLICIES:
        if nan_policy == "propagate":
            raise ValueError("`nan_policy='propagate'` is not supported by this function.")
        raise ValueError("nan_policy must be one of {None, 'raise', 'omit'}")
    if check_finite is None:
        check_finite = nan_policy is None

    ydata = _float_data(ydata, check_finite, "ydata")
    if isinstance(xdata, (list, tuple, np.ndarray)):
        xdata = _float_data(xdata, check_finite, "xdata")
    if ydata.size == 0:
        raise ValueError("`ydata` must not be empty!")
    if nan_policy is not None and not check_finite:
        x_nan, y_nan = _has_nan(xdata), _has_nan(ydata)
        if (x_nan or y_nan) and nan_policy == "raise":
            raise ValueError("The input contains nan values")
        if x_nan or y_nan:
            xdata, ydata, sigma = _omit_nans(xdata, ydata, sigma)

    weights, inverse_factor = _whitening(sigma, ydata.size)
    func = _residuals(f, xdata, ydata, weights, inverse_factor)
    dfun = None if jac is None else _jacobian(jac, xdata, weights, inverse_factor)
    if "args" in kwargs:
        raise ValueError("'args' is not a supported keyword argument.")
    if ydata.size != 1 and n > ydata.size:
        raise TypeError(
            f"The number of func parameters={n} must not exceed the number of "
            f"data points={ydata.size}"
        )

    popt, cov_x, infodict, mesg, ier = leastsq(func, p0, Dfun=dfun, full_output=True, **kwargs)
    if ier not in _SUCCESS:
        raise RuntimeError("Optimal parameters not found: " + mesg)
    pcov = _parameter_covariance(cov_x, infodict["fvec"], n, absolute_sigma)
    if full_output:
        return popt, pcov, infodict, mesg, ier
    return popt, pcov
