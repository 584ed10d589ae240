"""``least_squares``: SciPy's ``least_squares(method='lm')`` as SciPy 1.14 ran it, on Fortran.

SciPy <= 1.14 served ``method='lm'`` with MINPACK's own ``lmdif`` (finite differences,
``epsfcn = diff_step**2``) or ``lmder`` (a callable ``jac``), then evaluated the
Jacobian at the solution for ``res.jac``: by its own 3-point central differences, or
``jac``.  This module does the same on netlib's Fortran, through the fit engine that
`leastsq` runs, so that ``x``, ``cost``, ``fun``, ``jac``, ``nfev``, ``njev`` and
``status`` are SciPy 1.14.1's to the last bit.  Only ``method='lm'`` is implemented.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from minpack._compiled import PYTHON_CALLABLES, compiled
from minpack._engine import fit
from minpack._inputs import FloatArray, as_fortran_int, check_settings
from minpack._messages import message
from minpack._minpack import CompiledCallback, central_differences, jacobian_of

__all__ = ["LeastSquaresResult", "least_squares"]

EPS = float(np.finfo(np.float64).eps)
IMPLEMENTED_LOSSES = ("linear", "huber", "soft_l1", "cauchy", "arctan")
FINITE_DIFFERENCES = ("2-point", "3-point", "cs")

# SciPy's statuses and messages, and this package's own for the stops SciPy does not make.
TERMINATION_MESSAGES = {
    -2: "Stopped because `callback` function raised `StopIteration` or returned `True`",
    -1: "Improper input parameters status returned from `leastsq`",
    0: "The maximum number of function evaluations is exceeded.",
    1: "`gtol` termination condition is satisfied.",
    2: "`ftol` termination condition is satisfied.",
    3: "`xtol` termination condition is satisfied.",
    4: "Both `ftol` and `xtol` termination conditions are satisfied.",
}
# MINPACK's info -> status, as SciPy maps it; info 6-8 ("tolerance too small", where
# SciPy 1.14 raises KeyError) and this package's 9 and 10 become negative statuses.
FROM_MINPACK = {0: -1, 1: 2, 2: 3, 3: 4, 4: 1, 5: 0}
STOPPED_BY_ITERATION_FLAG = -3  # a compiled fun or jac set iflag < 0
_LEVENBERG_MARQUARDT_ONLY = (
    "minpack.least_squares implements the Levenberg-Marquardt method (method='lm') only"
)


class LeastSquaresResult(dict[str, Any]):
    """The result of `least_squares`: a dict whose keys are also attributes.

    It has the fields of ``scipy.optimize.OptimizeResult`` that SciPy's
    ``least_squares`` returns (``x``, ``cost``, ``fun``, ``jac``, ``grad``,
    ``optimality``, ``active_mask``, ``nfev``, ``njev``, ``status``, ``message``,
    ``success``), and behaves as that class does, without importing SciPy.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as error:
            raise AttributeError(name) from error

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError as error:
            raise AttributeError(name) from error

    def __dir__(self) -> list[str]:
        return list(self.keys())

    def __repr__(self) -> str:
        if not self:
            return f"{type(self).__name__}()"
        width = max(len(key) for key in self) + 1
        return "\n".join(f"{key.rjust(width)}: {value!r}" for key, value in self.items())


def _status_of(info: int, stopped_by_callback: bool) -> tuple[int, str]:
    """Return the status and message for MINPACK's ``info`` (or the engine's 9 and 10)."""
    if stopped_by_callback:
        return -2, TERMINATION_MESSAGES[-2]
    if info in FROM_MINPACK:
        status = FROM_MINPACK[info]
        return status, TERMINATION_MESSAGES[status]
    if info < 0:
        return (
            STOPPED_BY_ITERATION_FLAG,
            f"The fit was stopped by fun or jac, which set iflag = {info}.",
        )
    # 6, 7, 8: tolerances too small for the machine; 9, 10: NaN or infinity (leastsq's).
    text = message(info, _NO_SETTINGS, 0).replace("func", "fun").replace("Dfun", "jac")
    return -info, text.replace("\n ", "")


_NO_SETTINGS = check_settings(EPS, EPS, EPS, 0, None, 100.0, None, False, 1)


def _check_tolerances(ftol: Any, xtol: Any, gtol: Any) -> tuple[float, float, float]:
    """SciPy's check: None is 0, below machine epsilon warns, and ``lm`` needs them all."""
    values = []
    for value, name in ((ftol, "ftol"), (xtol, "xtol"), (gtol, "gtol")):
        if value is None:
            value = 0
        elif value < EPS:
            warnings.warn(
                f"Setting `{name}` below the machine epsilon ({EPS:.2e}) effectively "
                "disables the corresponding termination condition.",
                stacklevel=3,
            )
        values.append(value)
    if min(values) < EPS:
        raise ValueError(
            f"All tolerances must be higher than machine epsilon ({EPS:.2e}) for method 'lm'."
        )
    return float(values[0]), float(values[1]), float(values[2])


def _scale(x_scale: Any, x0: FloatArray) -> FloatArray | None:
    """Return MINPACK's ``diag`` for ``x_scale``: 1/x_scale, or None for ``'jac'``."""
    if isinstance(x_scale, str) and x_scale == "jac":
        return None
    try:
        scale = np.asarray(x_scale, dtype=float)
        valid = bool(np.all(np.isfinite(scale)) and np.all(scale > 0))
    except (ValueError, TypeError):
        valid = False
    if not valid:
        raise ValueError("`x_scale` must be 'jac' or array_like with positive numbers.")
    if scale.ndim == 0:
        scale = np.resize(scale, x0.shape)
    if scale.shape != x0.shape:
        raise ValueError("Inconsistent shapes between `x_scale` and `x0`.")
    return np.ascontiguousarray(1 / scale)


def _check_bounds(bounds: Any, n: int) -> None:
    """Raise unless ``bounds`` leaves every variable free (``lm`` has no bounds)."""
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):  # scipy.optimize.Bounds
        lower, upper = bounds.lb, bounds.ub
    else:
        try:
            count = len(bounds)
        except TypeError:
            count = 0
        if count != 2:
            raise ValueError("`bounds` must contain 2 elements.")
        lower, upper = bounds
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    if not (np.all(lower == -np.inf) and np.all(upper == np.inf)):
        raise ValueError("Method 'lm' doesn't support bounds.")


def _dense_only(jacobian: Any) -> None:
    """Raise for a sparse matrix or a LinearOperator (recognised without importing SciPy)."""
    module = type(jacobian).__module__ or ""
    if module.startswith("scipy.sparse"):
        raise ValueError("method='lm' works only with dense Jacobian matrices.")


def _three_point_jacobian(fun: Callable[[FloatArray], Any], x: FloatArray) -> FloatArray:
    """Return the Jacobian at x by central differences, as SciPy 1.14's approx_derivative.

    Its default 3-point scheme: a relative step of EPS**(1/3) (EPS of float32 when the
    residuals are float32), ``h = |rstep * sign(x) * max(1, |x|)|`` with sign(0) = 1; for
    each j, ``f(x - h_j e_j)`` then ``f(x + h_j e_j)``, and their difference over
    ``(x_j + h_j) - (x_j - h_j)``.  The function is evaluated there, uncounted, as on SciPy.
    """
    f0 = np.atleast_1d(fun(x))
    eps = np.finfo(np.float64).eps
    if np.issubdtype(f0.dtype, np.inexact) and f0.dtype.itemsize < 8:
        eps = np.finfo(f0.dtype).eps
    rstep = eps ** (1 / 3)
    sign = (x >= 0).astype(float) * 2 - 1
    # The central scheme steps both ways: SciPy makes its step positive.
    h = np.abs(rstep * sign * np.maximum(1.0, np.abs(x)))
    transposed: Any = np.empty((x.size, f0.size))
    steps = np.diag(h)
    for j in range(x.size):
        x1 = x - steps[j]
        x2 = x + steps[j]
        dx = x2[j] - x1[j]
        f1 = np.atleast_1d(fun(x1))
        f2 = np.atleast_1d(fun(x2))
        transposed[j] = (f2 - f1) / dx
    if f0.size == 1:
        transposed = np.ravel(transposed)
    return np.atleast_2d(transposed.T)


def _compiled_jacobian(code: CompiledCallback, x: FloatArray, m: int) -> FloatArray:
    """`_three_point_jacobian` of a compiled fun, computed in C with the same arithmetic."""
    rstep = np.finfo(np.float64).eps ** (1 / 3)
    sign = (x >= 0).astype(float) * 2 - 1
    h = np.ascontiguousarray(np.abs(rstep * sign * np.maximum(1.0, np.abs(x))))
    return central_differences(code, np.ascontiguousarray(x), h, m)


def _iteration_callback(callback: Callable[..., Any]) -> Callable[[FloatArray, float, int], bool]:
    """Adapt ``callback`` to the engine's: SciPy's two signatures, and its two ways to stop.

    ``callback(intermediate_result)`` (that one parameter name) gets a `LeastSquaresResult`
    with ``x``, ``cost``, ``nfev`` and ``nit``; any other signature gets ``x``.  Returning
    True or raising ``StopIteration`` stops the fit with status -2, as SciPy does.
    """
    try:
        parameters = set(inspect.signature(callback).parameters)
    except (TypeError, ValueError):
        parameters = set()
    with_result = parameters == {"intermediate_result"}
    iterations = [0]

    def iteration(x: FloatArray, fnorm: float, nfev: int) -> bool:
        iterations[0] += 1
        try:
            if with_result:
                result = LeastSquaresResult(x=x, cost=0.5 * fnorm**2, nfev=nfev, nit=iterations[0])
                answer = callback(intermediate_result=result)
            else:
                answer = callback(x)
        except StopIteration:
            return True
        return answer is True or (isinstance(answer, np.bool_) and bool(answer))

    return iteration


def least_squares(
    fun: Callable[..., Any],
    x0: Any,
    jac: Any = "2-point",
    bounds: Any = (-np.inf, np.inf),
    method: str = "lm",
    ftol: float | None = 1e-8,
    xtol: float | None = 1e-8,
    gtol: float | None = 1e-8,
    x_scale: Any = 1.0,
    loss: Any = "linear",
    f_scale: float = 1.0,
    diff_step: Any = None,
    tr_solver: str | None = None,
    tr_options: Any = None,
    jac_sparsity: Any = None,
    max_nfev: int | None = None,
    verbose: int = 0,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    callback: Callable[..., Any] | None = None,
    workers: Any = None,
    *,
    m: int | None = None,
) -> LeastSquaresResult:
    """Solve a nonlinear least-squares problem with MINPACK's Levenberg-Marquardt.

    ``scipy.optimize.least_squares(..., method='lm')`` as SciPy 1.14.1 ran it, on
    netlib's Fortran ``lmdif`` and ``lmder``: for the same problem, ``x``, ``cost``,
    ``fun``, ``jac``, ``nfev``, ``njev`` and ``status`` are SciPy 1.14.1's, bit for bit.
    Only ``method='lm'`` is implemented, and it is the default here (SciPy's default is
    ``'trf'``); any other method is a ``ValueError``.

    Parameters
    ----------
    fun : callable or compiled function
        ``fun(x, *args, **kwargs)`` returns the m residuals at x (n values), m >= n.  It
        may also be compiled code, as `leastsq`'s ``func`` (then `m` is required).
    x0 : array_like, shape (n,) or float
        The starting point.
    jac : {'2-point', '3-point', 'cs', callable}, optional
        ``'2-point'`` (default): MINPACK's forward differences (``lmdif``).  ``'3-point'``
        and ``'cs'`` warn that they work as ``'2-point'`` for ``lm``, as SciPy does.  A
        callable ``jac(x, *args, **kwargs)`` returns the (m, n) Jacobian (``lmder``); it
        may be compiled code as `leastsq`'s ``Dfun``.
    bounds : 2-tuple of array_like or Bounds, optional
        Only ``(-inf, inf)``: any bound is a ``ValueError`` (``lm`` has none).
    method : {'lm'}, optional
        ``'lm'``, the default.
    ftol, xtol, gtol : float, optional
        MINPACK's tolerances; each must be at least machine epsilon.  Default 1e-8.
    x_scale : array_like or 'jac', optional
        The characteristic scale of each variable: MINPACK's ``diag`` is ``1/x_scale``
        (default 1.0); ``'jac'`` lets MINPACK scale from the Jacobian's column norms.
    loss : str, optional
        ``'linear'`` only (``lm`` minimizes the plain sum of squares).
    f_scale : float, optional
        Accepted and ignored (it acts on non-linear losses).
    diff_step : float, optional
        The relative step of the forward differences: MINPACK's ``epsfcn`` is
        ``diff_step**2``; None (default) means machine epsilon.
    tr_solver : {None, 'exact', 'lsmr'}, optional
        Accepted and ignored (``trf`` and ``dogbox`` only).
    tr_options : dict, optional
        Accepted and ignored.
    jac_sparsity : None, optional
        Must be None (``lm`` works with dense Jacobians).
    max_nfev : int, optional
        The most evaluations of ``fun``, those of the finite differences included;
        default ``100*n*(n+1)`` with finite differences, ``100*n`` with a callable jac.
    verbose : {0, 1, 2}, optional
        1 and 2 print the termination message and a summary at the end.
    args, kwargs : tuple and dict, optional
        Extra arguments of ``fun`` and ``jac``.
    callback : callable, optional
        Called at every iteration, as `leastsq`'s iteration callback is (SciPy >= 1.16
        ignores it for ``lm``, with a warning): ``callback(intermediate_result)`` (by that
        parameter name) gets ``x``, ``cost``, ``nfev`` and ``nit``, any other signature
        gets ``x``.  Returning True or raising ``StopIteration`` stops the fit with status
        -2.
    workers : optional
        Accepted for SciPy >= 1.16's signature.  It has no effect: the finite
        differences run inside MINPACK, in Fortran.
    m : int, optional
        The number of residuals; required with a compiled ``fun``.  Keyword-only.

    Returns
    -------
    LeastSquaresResult
        ``x``, ``cost`` (half the sum of squares), ``fun`` (the residuals), ``jac`` (at x:
        ``jac(x)``, or central differences as SciPy 1.14 computes them, those evaluations
        not counted), ``grad`` (``jac.T @ fun``), ``optimality`` (its largest magnitude),
        ``active_mask`` (zeros), ``nfev``, ``njev`` (None with finite differences),
        ``status``, ``message`` and ``success`` (``status > 0``).  Status: SciPy's -1 to 4
        and -2 for the callback; besides, -3 when a compiled fun or jac set ``iflag``
        negative, -6 to -8 when a tolerance is too small for the machine (MINPACK's info
        6-8), -9 when a compiled fun returned NaN or infinity at x0 and -10 when the
        Jacobian does at an iterate (`leastsq`'s rules for non-finite values).

    Raises
    ------
    ValueError
        For another method, bounds, a non-linear loss, ``jac_sparsity``, a sparse or
        LinearOperator Jacobian, m < n, tolerances below machine epsilon, non-finite
        residuals at x0, and the other errors of SciPy's ``least_squares``.

    Examples
    --------
    >>> import numpy as np
    >>> from minpack import least_squares
    >>> t = np.linspace(0.0, 4.0, 50)
    >>> y = 2.5 * np.exp(-1.3 * t) + 0.5
    >>> def fun(p):
    ...     return p[0] * np.exp(-p[1] * t) + p[2] - y
    >>> res = least_squares(fun, [1.0, 1.0, 0.0])
    >>> res.x.round(6), res.status, res.success, res.nfev, res.njev
    (array([2.5, 1.3, 0.5]), 3, True, 25, None)

    Other methods are SciPy's:

    >>> least_squares(fun, [1.0, 1.0, 0.0], method="trf")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: minpack.least_squares implements the Levenberg-Marquardt ... only, not method='trf'
    """
    if method != "lm":
        raise ValueError(f"{_LEVENBERG_MARQUARDT_ONLY}, not method={method!r}")
    compiled_fun = None if type(fun) in PYTHON_CALLABLES else compiled(fun, "fun")
    compiled_jac = None if isinstance(jac, str) else compiled(jac, "jac")
    if not (isinstance(jac, str) and jac in FINITE_DIFFERENCES) and not callable(jac):
        if compiled_jac is None:
            raise ValueError("`jac` must be '2-point', '3-point', 'cs' or callable.")
    if tr_solver not in (None, "exact", "lsmr"):
        raise ValueError("`tr_solver` must be None, 'exact' or 'lsmr'.")
    if not callable(loss) and loss not in IMPLEMENTED_LOSSES:
        raise ValueError(
            f"`loss` must be one of {dict.fromkeys(IMPLEMENTED_LOSSES).keys()} or a callable."
        )
    if loss != "linear":
        raise ValueError("method='lm' supports only 'linear' loss function.")
    if verbose not in (0, 1, 2):
        raise ValueError("`verbose` must be in [0, 1, 2].")
    if np.iscomplexobj(x0):
        raise ValueError("`x0` must be real.")
    x = np.atleast_1d(x0).astype(float)
    if x.ndim > 1:
        raise ValueError("`x0` must have at most 1 dimension.")
    n = x.size
    _check_bounds(bounds, n)
    if max_nfev is not None:
        max_nfev = as_fortran_int(max_nfev, "max_nfev")
        if max_nfev <= 0:
            raise ValueError("`max_nfev` must be None or positive integer.")
    diag = _scale(x_scale, x)
    ftol, xtol, gtol = _check_tolerances(ftol, xtol, gtol)
    if not isinstance(args, tuple):
        args = (args,)
    extra = dict(kwargs or {})
    python_fun = fun if not extra else functools.partial(fun, **extra)
    wrapped_fun: Any = compiled_fun if compiled_fun is not None else python_fun

    f0 = None
    if compiled_fun is None:
        f0 = np.atleast_1d(python_fun(x.copy(), *args))
        if f0.ndim != 1:
            raise ValueError(f"`fun` must return at most 1-d array_like. f0.shape: {f0.shape}")
        if not np.all(np.isfinite(f0)):
            raise ValueError("Residuals are not finite in the initial point.")
        m_found = f0.size
    else:
        m_found = m if m is not None else 0
    if compiled_fun is None and m_found < n:
        raise ValueError(
            "Method 'lm' doesn't work when the number of residuals is less than the "
            "number of variables."
        )
    initial_cost = None if f0 is None else 0.5 * np.dot(f0, f0)

    dfun: Any = None
    if callable(jac) or compiled_jac is not None:
        if compiled_jac is not None:
            dfun = compiled_jac
        else:
            python_jac = jac if not extra else functools.partial(jac, **extra)
            j0 = python_jac(x.copy(), *args)
            _dense_only(j0)
            j0 = np.atleast_2d(j0)
            if j0.shape != (m_found, n) and compiled_fun is None:
                raise ValueError(
                    f"The return value of `jac` has wrong shape: expected {(m_found, n)}, "
                    f"actual {j0.shape}."
                )

            def dfun(p: FloatArray, *more: Any) -> Any:
                return np.atleast_2d(python_jac(p, *more))
    else:
        if jac_sparsity is not None:
            raise ValueError("method='lm' does not support `jac_sparsity`.")
        if jac != "2-point":
            warnings.warn(
                f"jac='{jac}' works equivalently to '2-point' for method='lm'.", stacklevel=2
            )
    if dfun is None:
        epsfcn = EPS if diff_step is None else float(np.asarray(diff_step, dtype=float) ** 2)
        limit = 100 * n * (n + 1) if max_nfev is None else max_nfev
    else:
        epsfcn = None
        limit = 100 * n if max_nfev is None else max_nfev
    settings = check_settings(ftol, xtol, gtol, limit, epsfcn, 100.0, diag, False, n)
    iteration = None if callback is None else _iteration_callback(callback)
    result, _ = fit(
        wrapped_fun, x, args, dfun, settings, limit, m, 1, iteration, None, f0
    )  # fmt: skip
    del f0

    f = result.fvec
    if isinstance(dfun, CompiledCallback):
        jacobian = jacobian_of(dfun, np.ascontiguousarray(result.x), f.size)
    elif dfun is not None:
        jacobian = dfun(result.x.copy(), *args)
    elif isinstance(wrapped_fun, CompiledCallback):
        jacobian = _compiled_jacobian(wrapped_fun, result.x, f.size)
    else:
        jacobian = _three_point_jacobian(lambda p: python_fun(p, *args), result.x.copy())
    cost = 0.5 * np.dot(f, f)
    grad = jacobian.T.dot(f)
    status, text = _status_of(result.info, result.stopped_by_callback)
    answer = LeastSquaresResult(
        x=result.x,
        cost=cost,
        fun=f,
        jac=jacobian,
        grad=grad,
        optimality=np.linalg.norm(grad, ord=np.inf),
        active_mask=np.zeros_like(x, dtype=int),
        nfev=result.nfev,
        njev=result.njev,
        status=status,
    )
    answer.message = text
    answer.success = status > 0
    if verbose >= 1:
        print(answer.message)
        initial = "" if initial_cost is None else f", initial cost {initial_cost:.4e}"
        print(
            f"Function evaluations {answer.nfev}{initial}, final cost {answer.cost:.4e}, "
            f"first-order optimality {answer.optimality:.2e}."
        )
    return answer
