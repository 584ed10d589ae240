"""One fit by the C engine: what `leastsq` and Python-callback batches share.

Between the checked arguments and the engine (``minpack._minpack.fit``, in
``minpack/engine.c``): recognising compiled callbacks, the evaluation at ``x0`` (it
tells ``m`` and ``epsfcn``'s default dtype, and it answers MINPACK's own first call),
and the rules on sizes and defaults from `minpack._inputs`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minpack._callback import FloatArray, first_residuals
from minpack._compiled import (
    PYTHON_CALLABLES,
    compiled,
    read_compiled_fast,
    require_user_data,
)
from minpack._inputs import (
    FLOAT64_EPS,
    FORTRAN_INT_MAX,
    UNCHECKED_VALUES,
    Settings,
    as_fortran_int,
    check_no_args,
    check_sizes,
    residual_count,
)
from minpack._minpack import CompiledCallback, FitResult
from minpack._minpack import fit as _fit


def compiled_or_callable(function: object, name: str, user_data: int | None) -> object:
    """Return ``function`` as a CompiledCallback, or itself when it is a Python callable."""
    code = compiled(function, name, user_data)
    if code is not None:
        return code
    if not callable(function):
        raise TypeError(f"{name} must be callable or a compiled function, not {function!r}")
    return function


def all_compiled(func: object, jac: object) -> bool:
    """Whether ``func`` and ``jac`` (None or as `compiled_or_callable` returns it) are compiled.

    MINPACK then runs without Python, and without the GIL.
    """
    return isinstance(func, CompiledCallback) and (jac is None or isinstance(jac, CompiledCallback))


def fit(
    func: Callable[..., Any],
    x: FloatArray,
    args: tuple[Any, ...],
    Dfun: Callable[..., Any] | None,  # noqa: N803 - SciPy's name
    settings: Settings,
    maxfev: int,
    m: int | None,
    full_output: int,
    callback: Callable[[FloatArray, float, int], object] | None = None,
    user_data: int | None = None,
    at_x0: Any = None,
) -> tuple[FitResult, bool]:
    """Run lmdif (no Dfun) or lmder on one problem from x, a private float64 vector.

    Returns the engine's FitResult (x is fitted in place) and whether ``func`` returned
    a scalar (SciPy then hands ``fvec`` back as one).  ``full_output`` 0 gives x and the
    counts, 1 everything of leastsq's full output, 2 ``fnorm`` and ``cov_x`` besides
    (what a batch keeps).  ``user_data``, when given, replaces the user data of compiled
    callbacks; ``callback`` is leastsq's iteration callback; ``at_x0``, when given, is
    what a Python ``func`` already returned at x (least_squares evaluates it first), which
    is then not evaluated again.  What a callback raised propagates unchanged.
    """
    n = x.shape[0]
    if type(func) in PYTHON_CALLABLES:
        code: object = func
    else:
        code = None if user_data is not None else read_compiled_fast(func)
        if code is None:
            code = compiled_or_callable(func, "func", user_data)
    jac = None if Dfun is None else compiled_or_callable(Dfun, "Dfun", user_data)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, not {callback!r}")
    if code is func:
        # The one evaluation at x0: it tells m and epsfcn's dtype, and the engine copies
        # it into MINPACK's fvec to answer MINPACK's first call.
        if at_x0 is None:
            at_x0 = func(x.copy(), *args)
        first, scalar, epsilon = first_residuals(at_x0)
        del at_x0
        if m is not None and as_fortran_int(m, "m") != first.shape[0]:
            raise TypeError(f"m={m}, but func returned {first.shape[0]} residuals at x0")
        m = first.shape[0]
    else:
        if type(m) is not int or m > FORTRAN_INT_MAX:
            m = residual_count(m)
        first, scalar, epsilon = None, False, FLOAT64_EPS
        if args and callback is None and all_compiled(code, jac):
            check_no_args(args)  # MINPACK runs without the GIL: no Python receives them
    if not 0 < n <= m < UNCHECKED_VALUES // n:  # the usual small fit passes at once
        check_sizes(n, m)
    # After the sizes, so that a fit too large is refused as such.
    if code is not func:
        require_user_data(code, "func")
    if jac is not Dfun:
        require_user_data(jac, "Dfun")
    step = epsilon if settings.epsfcn is None else settings.epsfcn
    # In a list that the engine empties once it has copied the values: no reference here
    # keeps func(x0), m values, alive during the fit.
    box = None if first is None else [first]
    del first
    result = _fit(code, jac, x, args, box, m, settings, maxfev, step, callback, full_output)
    return result, scalar
