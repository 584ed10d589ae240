"""``leastsq``: SciPy's contract, run on the original Fortran MINPACK."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minpack import _minpack
from minpack._callback import (
    FloatArray,
    check_jacobian,
    check_residuals,
    epsfcn_dtype,
    residual_vector,
)
from minpack._compiled import PYTHON_CALLABLES, Compiled, compiled
from minpack._covariance import covariance_from_qr
from minpack._memory import UNCHECKED_BYTES, check_allocation
from minpack._messages import (
    FAILURE,
    IMPROPER_INPUT,
    STOPPED_BY_CALLBACK,
    SUCCESS,
    message,
)
from minpack._options import (
    FORTRAN_INT_MAX,
    Settings,
    as_fortran_int,
    check_settings,
    real_input,
)
from minpack._trampoline import Fit, all_finite, lmder_fcn, lmdif_fcn

# diag=None lets MINPACK scale the variables itself (mode 1); a given diag is
# used as the scale factors (mode 2).
_MODE_AUTOMATIC_SCALING = 1
_MODE_USER_SCALING = 2
# MINPACK's nprint: without a callback fcn is never called with iflag=0; with one, at
# every iteration (and once more before returning).
_NO_PRINTING = 0
_EVERY_ITERATION = 1
_FLOAT64 = np.dtype(np.float64)
# m*n <= FORTRAN_INT_MAX with m >= n.
_MAX_VARIABLES = math.isqrt(FORTRAN_INT_MAX)
# Fits with fewer Jacobian entries than this are too small for check_allocation to look at.
_UNCHECKED_VALUES = UNCHECKED_BYTES // 24
_FLOAT64_EPS = float(np.finfo(np.float64).eps)


def _first_residuals(first: Any, n: int) -> tuple[FloatArray, bool, float]:
    """Return a private float64 copy of ``func(x0)``, whether it was a scalar, and eps.

    eps is the machine epsilon of the returned dtype: ``epsfcn``'s default.  A fit too
    large for MINPACK or for memory is refused before the copy.  The copy is made even
    when ``func`` kept no reference to its result: nothing in the language tells that
    (reference counts differ between interpreters), and func may reuse its buffer.
    """
    if type(first) is np.ndarray and first.dtype is _FLOAT64 and first.ndim == 1:
        if first.shape[0] * n >= _UNCHECKED_VALUES:
            check_large_fit(first.shape[0], n)
        return first.copy(), False, _FLOAT64_EPS  # the usual case, without conversions
    values = residual_vector(first, "func")
    if values.shape[0] * n >= _UNCHECKED_VALUES:
        check_large_fit(values.shape[0], n)
    return np.array(values), np.ndim(first) == 0, float(np.finfo(epsfcn_dtype(first)).eps)


def _initial_point(x0: object) -> FloatArray:
    """Flatten ``x0`` into a private float64 vector, as MINPACK's ``x``."""
    if type(x0) is np.ndarray and x0.dtype is _FLOAT64 and 0 < x0.size <= _MAX_VARIABLES:
        x = x0.flatten()  # the common case in one step: a copy, never the caller's x0
    else:
        given = real_input(x0, "x0")
        if given.size == 0:
            raise TypeError("Improper input: x0 is empty; leastsq needs at least one variable")
        if given.size > _MAX_VARIABLES:  # before the copy: a broadcast view costs nothing
            raise ValueError(
                f"x0 has {given.size} elements; MINPACK's limit is m*n <= {FORTRAN_INT_MAX} "
                f"with m >= n, so n <= {_MAX_VARIABLES}"
            )
        x = given.astype(np.float64).reshape(-1)
    if not all_finite(x):
        raise ValueError("x0 must be finite; it contains NaN or infinity")
    return x


def compiled_or_callable(function: object, name: str, user_data: int | None) -> Compiled | None:
    """Return ``function`` as compiled code, or None for a Python callable; else TypeError."""
    code = compiled(function, name, user_data)
    if code is None and not callable(function):
        raise TypeError(f"{name} must be callable or a compiled function, not {function!r}")
    return code


def compiled_residual_count(m: object) -> int:
    """Return ``m``, which a compiled func requires (it cannot be called to find out)."""
    if m is None:
        raise TypeError(
            "m (the number of residuals) is required with a compiled func, "
            "which cannot be called to find out"
        )
    return as_fortran_int(m, "m")


def check_sizes(n: int, m: int) -> None:
    """Raise unless MINPACK can fit m residuals in n variables."""
    if n > m:
        raise TypeError(
            f"Improper input: func input vector length N={n} must not exceed "
            f"func output vector length M={m}"
        )
    if m > FORTRAN_INT_MAX // n:
        raise ValueError(f"m*n = {m}*{n} is larger than MINPACK's limit {FORTRAN_INT_MAX}")


def fit_buffer_bytes(m: int, n: int) -> int:
    """Return the bytes of MINPACK's arrays for one fit: fvec, wa4, fjac, and 6 of length n."""
    return 8 * (m * (n + 2) + 6 * n)


def check_large_fit(m: int, n: int) -> None:
    """Raise unless MINPACK can fit m residuals in n variables in this machine's memory."""
    check_sizes(n, m)
    check_allocation(fit_buffer_bytes(m, n), f"a fit of m={m} residuals in n={n} variables")


def check_no_args(args: tuple[Any, ...]) -> None:
    """Raise when args are given but no Python callback would receive them."""
    if args:
        raise TypeError(
            "args are passed to Python callbacks only; a compiled func (and Dfun) "
            "gets its data through user_data"
        )


# What one run of lmdif or lmder gave, before leastsq shapes it SciPy's way: x, fvec
# (a scalar when func returned one), fjac (m-by-n, Fortran order), info, nfev, njev
# (None for lmdif), ipvt (1-based, as MINPACK leaves it), qtf, the maxfev applied, and
# whether the iteration callback stopped the fit (info is then -1).
# A plain tuple: this is on every fit's path, and a NamedTuple costs a Python call.
Outcome = tuple[
    FloatArray, Any, FloatArray, int, int, "int | None", NDArray[np.intc], FloatArray, int, bool
]


def minimize(
    func: Callable[..., Any],
    x: FloatArray,
    args: tuple[Any, ...],
    Dfun: Callable[..., Any] | None,  # noqa: N803 - SciPy's name
    settings: Settings,
    m: int | None,
    user_data: int | None = None,
    callback: Callable[[FloatArray, float, int], object] | None = None,
) -> Outcome:
    """Run lmdif (no Dfun) or lmder on one problem from x, a private float64 vector.

    Everything of leastsq between checking the arguments and shaping the outputs:
    the evaluation at x0, the callbacks, and re-raising what they raised.
    ``user_data``, when given, replaces the user data of compiled callbacks;
    ``callback`` is leastsq's iteration callback.
    """
    n = x.shape[0]
    ftol, xtol, gtol, maxfev, step, factor, diag, col_deriv = settings
    if diag is None:
        scale, mode = np.zeros(n), _MODE_AUTOMATIC_SCALING  # MINPACK fills it in mode 1
    else:
        scale, mode = diag.copy(), _MODE_USER_SCALING  # MINPACK's diag is in and out

    compiled_func = (
        None if type(func) in PYTHON_CALLABLES else compiled_or_callable(func, "func", user_data)
    )
    compiled_jac = None if Dfun is None else compiled_or_callable(Dfun, "Dfun", user_data)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, not {callback!r}")
    if compiled_func is None:
        # The one evaluation at x0: it tells m and epsfcn's dtype, and it answers
        # MINPACK's own first call (see Fit in _trampoline.c).
        first = func(x.copy(), *args)
        fvec0, scalar_residual, epsilon = _first_residuals(first, n)
        del first  # keep no reference to the user's array during the fit
        if m is not None and as_fortran_int(m, "m") != fvec0.shape[0]:
            raise TypeError(f"m={m}, but func returned {fvec0.shape[0]} residuals at x0")
        m = fvec0.shape[0]
    else:
        m = compiled_residual_count(m)
        fvec0, scalar_residual, epsilon = None, False, _FLOAT64_EPS
        if m * n >= _UNCHECKED_VALUES:  # _first_residuals checks a Python func's fit
            check_large_fit(m, n)
    if n > m or m > FORTRAN_INT_MAX // n:
        check_sizes(n, m)
    # With only compiled callbacks, MINPACK runs with the GIL released.
    release_gil = (
        callback is None
        and compiled_func is not None
        and (Dfun is None or compiled_jac is not None)
    )
    nprint = _NO_PRINTING if callback is None else _EVERY_ITERATION
    if release_gil:
        check_no_args(args)
    func_code = None if compiled_func is None else compiled_func.description()
    if Dfun is None:
        if maxfev == 0:
            maxfev = 200 * (n + 1)
        fit = Fit(
            n, func, args, fvec0, check_residuals, None, None, False, func_code, None, callback
        )
        del fvec0  # the fit frees it once MINPACK's first call has used it
        x, fvec, info, nfev, fjac, ipvt, qtf = fit.run(
            _minpack.lmdif_nogil if release_gil else _minpack.lmdif, lmdif_fcn,
            m, x, ftol, xtol, gtol, maxfev,
            epsilon if step is None else step, scale, mode, factor, nprint,
        )  # fmt: skip
        njev = None
    else:
        if maxfev == 0:
            maxfev = 100 * (n + 1)
        jac_code = None if compiled_jac is None else compiled_jac.description()
        fit = Fit(
            n, func, args, fvec0, check_residuals, Dfun, check_jacobian, col_deriv, func_code,
            jac_code, callback,
        )  # fmt: skip
        del fvec0
        x, fvec, fjac, info, nfev, njev, ipvt, qtf = fit.run(
            _minpack.lmder_nogil if release_gil else _minpack.lmder, lmder_fcn,
            m, x, ftol, xtol, gtol, maxfev,
            scale, mode, factor, nprint,
        )  # fmt: skip

    if fit.error is not None:
        error, fit.error = fit.error, None
        try:
            raise error
        finally:
            del error  # the traceback holds this frame: break the cycle through it
    if fit.pending is not None:
        # MINPACK rejected the input before its first call: report func(x0), as SciPy does.
        fvec = fit.pending
    if fit.verdict:
        info = fit.verdict  # stopped by the non-finite rules (MINPACK's info is then -1)
    # SciPy hands back a scalar residual as a scalar.
    residuals = fvec[0] if scalar_residual else fvec
    return x, residuals, fjac, info, nfev, njev, ipvt, qtf, maxfev, bool(fit.stopped_by_callback)


def leastsq(
    func: Callable[..., Any],
    x0: Any,
    args: Any = (),
    Dfun: Callable[..., Any] | None = None,  # noqa: N803 - SciPy's name
    full_output: bool | int = False,
    col_deriv: bool | int = False,
    ftol: float = 1.49012e-08,
    xtol: float = 1.49012e-08,
    gtol: float = 0.0,
    maxfev: int = 0,
    epsfcn: float | None = None,
    factor: float = 100,
    diag: Any = None,
    *,
    m: int | None = None,
    callback: Callable[[FloatArray, float, int], object] | None = None,
) -> Any:
    """Minimize the sum of squares of a set of equations with MINPACK.

    A drop-in replacement for `scipy.optimize.leastsq` that runs the original
    Fortran MINPACK routines ``lmdif`` (no ``Dfun``) and ``lmder`` (with
    ``Dfun``)::

        x = arg min(sum(func(y)**2, axis=0))
                 y

    Parameters
    ----------
    func : callable or compiled function
        ``func(x, *args)`` returns the ``m`` residuals at ``x`` (``n`` values),
        with ``m >= n``.  It receives its own copy of ``x`` on each call.  It may
        also be compiled code: a ``scipy.LowLevelCallable``, a PyCapsule named by
        its signature, a ctypes function pointer or a numba ``cfunc`` of C
        signature ``void (int m, int n, const double *x, double *fvec,
        int *iflag[, void *user_data])``; then `m` is required, and setting
        ``*iflag`` negative stops the fit with that ``ier``.
    x0 : array_like
        The starting estimate; flattened to 1-D (a scalar gives ``n = 1``).
    args : tuple, optional
        Extra arguments to ``func`` and ``Dfun``; a non-tuple is wrapped as ``(args,)``.
    Dfun : callable, optional
        ``Dfun(x, *args)`` returns the Jacobian of ``func``, shape ``(m, n)``
        (or ``(n, m)`` with `col_deriv`).  Without it the Jacobian is estimated
        by forward differences.  Compiled code as for ``func`` writes ``fjac``
        column-major, leading dimension ``m`` (`col_deriv` does not apply).
        With compiled ``func`` and ``Dfun`` MINPACK runs with the GIL released.
    full_output : bool, optional
        Return all optional outputs, not just ``x`` and ``ier``.
    col_deriv : bool, optional
        Whether ``Dfun`` returns the derivatives down the columns, shape ``(n, m)``.
    ftol : float, optional
        Relative error desired in the sum of squares.
    xtol : float, optional
        Relative error desired in the approximate solution.
    gtol : float, optional
        Orthogonality desired between the residuals and the Jacobian's columns.
    maxfev : int, optional
        Maximum number of calls to ``func``.  0 means ``200*(n+1)`` without
        ``Dfun`` and ``100*(n+1)`` with it.
    epsfcn : float, optional
        Step length for the forward-difference Jacobian (the relative step is
        ``sqrt(epsfcn)``).  None means the machine epsilon of the dtype that
        ``func`` returns (float64 for integer results).
    factor : float, optional
        Determines the initial step bound ``factor * || diag * x||``, in the
        interval ``(0.1, 100)``.
    diag : sequence, optional
        ``n`` positive scale factors for the variables.  None lets MINPACK
        scale them from the Jacobian's column norms.
    m : int, optional
        The number of residuals.  Required when ``func`` is compiled code
        (which cannot be called to find out); with a Python ``func`` it is
        checked against what ``func`` returns.  Keyword-only.
    callback : callable, optional
        ``callback(x, fnorm, nfev)``, called at the start of every Levenberg-Marquardt
        iteration and once more with the final ``x`` (MINPACK's ``nprint``), with a copy
        of the current ``x``, the norm of its residuals and the evaluations so far.
        Returning True stops the fit there: ``ier`` is -1, with its own message and no
        warning.  What it raises propagates unchanged.  With a callback MINPACK runs
        with the GIL held, even for compiled ``func``.  Keyword-only.

    Returns
    -------
    x : ndarray, shape (n,)
        The solution (or the last iterate if the fit did not converge).
    cov_x : ndarray or None
        ``inv(J.T @ J)`` at the solution, or None when ``ier`` is not 1-4 or the
        Jacobian is singular.  Multiply by the residual variance to get the
        covariance of the estimate.  Only with `full_output`.
    infodict : dict
        Only with `full_output`: ``nfev`` (calls to ``func``), ``njev`` (calls
        to ``Dfun``, only when it is given), ``fvec`` (residuals at ``x``),
        ``fjac`` (MINPACK's factored Jacobian, shape ``(n, m)`` as SciPy returns
        it), ``ipvt`` (the 0-based column permutation), ``qtf`` (the first
        ``n`` elements of ``Q.T @ fvec``).
    mesg : str
        What ``ier`` means.  Only with `full_output`.
    ier : int
        1, 2, 3 or 4 when a solution was found; 5-8 otherwise, 9 when ``func``
        returned NaN or infinity at ``x0``, 10 when the Jacobian at the current
        iterate did, or the negative ``iflag`` with which a compiled ``func`` or
        ``Dfun`` stopped the fit (for all of these a `RuntimeWarning` is issued
        without `full_output`); 0 for improper input (a `TypeError` is raised
        without `full_output`).  No success comes with NaN or infinity in ``x``
        or ``fvec``.

    Raises
    ------
    TypeError
        If an argument, or what ``func`` or ``Dfun`` returns, has the wrong
        type or shape; if ``func``, ``Dfun`` or `callback` is not callable; if
        ``n > m``; if a compiled ``func`` or ``Dfun`` has another signature, or
        `m` is missing for a compiled ``func`` or contradicts a Python one.
    ValueError
        If ``x0`` or ``diag`` is not finite, ``diag`` has the wrong length,
        ``ftol``, ``xtol`` or ``gtol`` is NaN, ``factor`` or ``epsfcn`` is not
        finite, ``func`` changes the number of residuals, or a size exceeds
        MINPACK's 32-bit integers (``m*n``, ``m``, ``maxfev > 2**31-1-n``).
    MemoryError
        If the fit needs more memory than this machine has (memory and swap).
    Exception
        Whatever ``func``, ``Dfun`` or `callback` raised, unchanged; MINPACK
        stops at once.

    See Also
    --------
    scipy.optimize.leastsq : The function this one reproduces.

    Examples
    --------
    >>> import numpy as np
    >>> from minpack import leastsq
    >>> def residuals(p):
    ...     return np.array([p[0] - 1.0, 10.0 * (p[1] - p[0] ** 2)])
    >>> x, ier = leastsq(residuals, [-1.2, 1.0])
    >>> np.allclose(x, [1.0, 1.0]), ier in (1, 2, 3, 4)
    (True, True)
    """
    x = _initial_point(x0)
    if not isinstance(args, tuple):
        args = (args,)
    settings = check_settings(
        ftol, xtol, gtol, maxfev, epsfcn, factor, diag, bool(col_deriv), x.shape[0]
    )
    x, fvec, fjac, info, nfev, njev, ipvt, qtf, maxfev, callback_stop = minimize(
        func, x, args, Dfun, settings, m, None, callback
    )
    text = STOPPED_BY_CALLBACK if callback_stop else message(info, settings, maxfev)
    if not full_output:
        if info in FAILURE or (info < 0 and not callback_stop):
            warnings.warn(text, RuntimeWarning, stacklevel=2)
        elif info == IMPROPER_INPUT:
            raise TypeError(text)
        return x, info

    ipvt -= 1  # MINPACK's permutation is 1-based; SciPy >= 1.15 returns it 0-based
    cov_x = covariance_from_qr(fjac, ipvt) if info in SUCCESS else None
    infodict: dict[str, Any] = {"fvec": fvec, "nfev": nfev}
    if njev is not None:
        infodict["njev"] = njev
    infodict.update(fjac=fjac.T, ipvt=ipvt, qtf=qtf)
    return x, cov_x, infodict, text, info
