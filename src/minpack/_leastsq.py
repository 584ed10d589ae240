"""``leastsq``: SciPy's contract, run on the original Fortran MINPACK."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from minpack._engine import fit
from minpack._inputs import (
    FACTOR,
    FTOL,
    GTOL,
    MAXFEV,
    XTOL,
    FloatArray,
    check_settings,
    initial_point,
    maxfev_for,
)
from minpack._messages import (
    FAILURE,
    IMPROPER_INPUT,
    STOPPED_BY_CALLBACK,
    SUCCESS,
    message,
)


def leastsq(
    func: Callable[..., Any],
    x0: Any,
    args: Any = (),
    Dfun: Callable[..., Any] | None = None,  # noqa: N803 - SciPy's name
    full_output: bool | int = False,
    col_deriv: bool | int = False,
    ftol: float = FTOL,
    xtol: float = XTOL,
    gtol: float = GTOL,
    maxfev: int = MAXFEV,
    epsfcn: float | None = None,
    factor: float = FACTOR,
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
    x = initial_point(x0)
    if not isinstance(args, tuple):
        args = (args,)
    settings = check_settings(
        ftol, xtol, gtol, maxfev, epsfcn, factor, diag, bool(col_deriv), x.shape[0]
    )
    limit = maxfev_for(settings, x.shape[0], Dfun is not None)
    result, scalar_residual = fit(
        func, x, args, Dfun, settings, limit, m, bool(full_output), callback
    )
    info = result.info
    if not full_output and info in SUCCESS:
        return x, info  # the usual case: no message is needed
    if result.stopped_by_callback:
        text = STOPPED_BY_CALLBACK
    else:
        text = message(info, settings, limit, x.shape[0])
    if not full_output:
        if info in FAILURE or (info < 0 and not result.stopped_by_callback):
            warnings.warn(text, RuntimeWarning, stacklevel=2)
        elif info == IMPROPER_INPUT:
            raise TypeError(text)
        return x, info

    # SciPy hands back a scalar residual as a scalar.
    infodict: dict[str, Any] = {
        "fvec": result.fvec[0] if scalar_residual else result.fvec,
        "nfev": result.nfev,
    }
    if result.njev is not None:
        infodict["njev"] = result.njev
    infodict.update(fjac=result.fjac, ipvt=result.ipvt, qtf=result.qtf)
    return x, result.cov_x, infodict, text, info
