"""The rules for leastsq's arguments, in one place: conversion, validation and defaults.

``x0`` and the options (tolerances, maxfev, epsfcn, factor, diag) are converted and
checked here, as are the sizes of a fit, and the defaults of ``maxfev`` and ``epsfcn``
are applied here: `leastsq`, `leastsq_batch`, `curve_fit` and ``minpack.dask`` all
take them from this module.  Every error names the argument it is about.

SciPy's answers where SciPy answers.  What SciPy passes on to MINPACK and MINPACK
rejects (an empty ``x0``, negative tolerances, ``maxfev < 0``, ``factor <= 0``,
``diag`` entries ``<= 0``) keeps SciPy's contract: ``ier`` 0, improper input, with a
message that names what was rejected (`improper_input`).  A NaN tolerance runs, as on
SciPy: MINPACK's tests compare with ``<=``, so that test never passes and the fit ends
by another one.  What would make MINPACK compute garbage (a NaN or infinite
``factor``, ``epsfcn`` or ``diag``, a count its 32-bit integers cannot hold) is a
``ValueError`` naming the option before anything runs.
"""

from __future__ import annotations

import math
import operator
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from minpack._memory import UNCHECKED_BYTES, check_allocation
from minpack._minpack import all_finite

FloatArray = NDArray[np.float64]

# MINPACK counts in Fortran default INTEGERs: 32 bits.
FORTRAN_INT_MAX = 2**31 - 1
# m*n <= FORTRAN_INT_MAX with m >= n.
_MAX_VARIABLES = math.isqrt(FORTRAN_INT_MAX)
_FLOAT64 = np.dtype(np.float64)
FLOAT64_EPS = float(np.finfo(np.float64).eps)
# Arrays this small are copied without asking check_allocation.
_SMALL = UNCHECKED_BYTES // 8
# Fits with fewer Jacobian entries than this are too small for check_allocation to look at.
UNCHECKED_VALUES = UNCHECKED_BYTES // 24


def as_float(value: object, name: str) -> float:
    """Convert a tolerance-like argument to float, or raise ``TypeError`` naming it."""
    if type(value) is float:  # the common case, without a call to float()
        return value
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, not {value!r}") from None


def _finite(value: object, name: str) -> float:
    """Convert to float and reject NaN and infinity."""
    if type(value) is float and value - value == 0.0:  # finite: the common case, at once
        return value
    number = as_float(value, name)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, not {number!r}")
    return number


def as_fortran_int(value: object, name: str, limit: int = FORTRAN_INT_MAX) -> int:
    """Convert an integer argument that MINPACK receives as a 32-bit INTEGER."""
    if type(value) is int and value <= limit:
        return value
    if isinstance(value, bool):  # an int to operator.index, but never meant as a count
        raise TypeError(f"{name} must be an integer, not {value!r}")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {value!r}") from None
    if number > limit:
        raise ValueError(f"{name}={number} is larger than MINPACK's limit {limit}")
    return number


def real_input(value: object, name: str, not_numbers: type[Exception] = TypeError) -> NDArray[Any]:
    """Return ``value`` as an array of real numbers, without copying, or raise naming it.

    The one converter of array arguments; every message reads "``name`` must be an array
    of real numbers", then why.  Complex values are a ``TypeError`` (NumPy would drop
    the imaginary part, with a warning).  Values that are not numbers (ragged lists,
    strings, objects) raise ``not_numbers``: ``TypeError`` for leastsq's own arguments,
    ``ValueError`` where SciPy raises one (``curve_fit``'s data), in which case an
    object array that holds numbers is converted, as SciPy converts it.
    """
    unreal = f"{name} must be an array of real numbers"
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise not_numbers(f"{unreal}: {exc}") from None
    kind = array.dtype.kind
    if kind in "biuf":
        return array
    if kind == "c":
        raise TypeError(f"{unreal}, not complex (dtype {array.dtype})")
    if not_numbers is TypeError:
        raise TypeError(f"{unreal}, not dtype {array.dtype}")
    try:
        return array.astype(np.float64)
    except (TypeError, ValueError) as exc:  # strings, objects that are not numbers
        raise not_numbers(f"{unreal}: {exc}") from None


def real_array(value: object, name: str) -> FloatArray:
    """Return ``value`` as a new float64 array of its shape, or raise ``TypeError`` naming it."""
    if type(value) is np.ndarray and value.dtype is _FLOAT64 and value.size < _SMALL:
        return value.copy()  # the common case, without conversions
    array = real_input(value, name)
    check_allocation(8 * array.size, name)
    return array.astype(np.float64, order="C")


def _scale_factors(diag: object, n: int) -> FloatArray | None:
    """Return the user's ``diag`` as n finite float64 scale factors, or None."""
    if diag is None:
        return None
    given = real_input(diag, "diag")
    if given.size != n:  # before the copy: a broadcast view may be larger than memory
        raise ValueError(f"diag must have one entry per variable (n={n}), not {given.size}")
    scale = given.astype(np.float64).reshape(-1)
    if not all_finite(scale):
        raise ValueError("diag must be finite; it contains NaN or infinity")
    return scale


class Settings(NamedTuple):
    """leastsq's options, checked: what every fit of a batch shares.

    The fit engine reads the fields by position (minpack/engine.c): keep the order.
    """

    ftol: float
    xtol: float
    gtol: float
    maxfev: int  # 0: MINPACK's default for the routine (see `maxfev_for`)
    epsfcn: float | None  # None: the machine epsilon of func's dtype
    factor: float
    diag: FloatArray | None  # None: MINPACK scales the variables itself
    col_deriv: bool


# leastsq's defaults (SciPy's), the very objects of its signature: a call that leaves the
# options alone is recognised by identity and shares one checked Settings.
FTOL = XTOL = 1.49012e-08
GTOL = 0.0
MAXFEV = 0
FACTOR = 100
_DEFAULTS = Settings(FTOL, XTOL, GTOL, MAXFEV, None, float(FACTOR), None, False)


def check_settings(
    ftol: object,
    xtol: object,
    gtol: object,
    maxfev: object,
    epsfcn: object,
    factor: object,
    diag: object,
    col_deriv: bool,
    n: int,
) -> Settings:
    """Check leastsq's options for a problem of n variables (TypeError/ValueError naming them).

    ``maxfev`` is limited so that MINPACK's count of evaluations cannot overflow: lmdif
    tests it after each trial point, by when a Jacobian may have added n evaluations.
    """
    if (
        ftol is FTOL
        and xtol is XTOL
        and gtol is GTOL
        and maxfev is MAXFEV
        and epsfcn is None
        and factor is FACTOR
        and diag is None
        and not col_deriv
    ):
        return _DEFAULTS
    return Settings(
        as_float(ftol, "ftol"),
        as_float(xtol, "xtol"),
        as_float(gtol, "gtol"),
        as_fortran_int(maxfev, "maxfev", FORTRAN_INT_MAX - n),
        None if epsfcn is None else _finite(epsfcn, "epsfcn"),
        _finite(factor, "factor"),
        _scale_factors(diag, n),
        col_deriv,
    )


def improper_input(settings: Settings, maxfev: int, n: int = 1) -> str:
    """Name the option for which MINPACK answered ``info`` 0 (its own checks, in its order)."""
    if n == 0:
        return "x0 is empty."
    for name in ("ftol", "xtol", "gtol"):
        value = getattr(settings, name)
        if value < 0:
            return f"{name}={value!r} is negative."
    if maxfev <= 0:
        return f"maxfev={maxfev} is not positive (0 asks for the default)."
    if settings.factor <= 0:
        return f"factor={settings.factor!r} is not positive."
    if settings.diag is not None and not (settings.diag > 0).all():
        return "diag has an entry that is not positive."
    return "MINPACK rejected the sizes."  # never: leastsq checks m and n itself


def maxfev_for(settings: Settings, n: int, with_jacobian: bool) -> int:
    """Return the limit on evaluations that MINPACK gets: ``maxfev``, or its default.

    0 asks for SciPy's defaults: ``200*(n+1)`` for lmdif, ``100*(n+1)`` for lmder.
    """
    if settings.maxfev:
        return settings.maxfev
    return (100 if with_jacobian else 200) * (n + 1)


def initial_point(x0: object) -> FloatArray:
    """Flatten ``x0`` into a private float64 vector, as MINPACK's ``x``."""
    if isinstance(x0, np.ndarray):
        if type(x0) is np.ndarray and x0.dtype is _FLOAT64 and 0 < x0.size <= _MAX_VARIABLES:
            x = x0.flatten()  # a copy, never the caller's x0
        else:
            x = _general_point(x0)
    elif isinstance(x0, tuple | list) and 0 < len(x0) <= _MAX_VARIABLES:
        try:
            x = np.asarray(x0)  # a new array: nothing else can reach it
        except (TypeError, ValueError):  # ragged: the general rules say what is wrong
            x = _general_point(x0)
        if x.dtype is not _FLOAT64 or x.ndim != 1:  # not just floats: the general rules
            x = _general_point(x0)
    else:
        x = _general_point(x0)
    if not all_finite(x):
        raise ValueError("x0 must be finite; it contains NaN or infinity")
    return x


def _general_point(x0: object) -> FloatArray:
    """Convert any other ``x0``: real numbers of any shape, flattened, copied.

    An empty ``x0`` is converted too: MINPACK answers it with ``info`` 0, as SciPy does.
    """
    given = real_input(x0, "x0")
    if given.size > _MAX_VARIABLES:  # before the copy: a broadcast view costs nothing
        raise ValueError(
            f"x0 has {given.size} elements; MINPACK's limit is m*n <= {FORTRAN_INT_MAX} "
            f"with m >= n, so n <= {_MAX_VARIABLES}"
        )
    return given.astype(np.float64).reshape(-1)


def check_not_empty(n: int) -> None:
    """Raise unless there is at least one variable (batches: SciPy has none to follow)."""
    if n == 0:
        raise TypeError("Improper input: x0 is empty; leastsq needs at least one variable")


def residual_count(m: object) -> int:
    """Return ``m``, which a compiled func requires (it cannot be called to find out)."""
    if m is None:
        raise TypeError(
            "m (the number of residuals) is required with a compiled func, "
            "which cannot be called to find out"
        )
    return as_fortran_int(m, "m")


def check_sizes(n: int, m: int) -> None:
    """Raise unless MINPACK can fit m residuals in n variables in this machine's memory."""
    if n > m:
        raise TypeError(
            f"Improper input: func input vector length N={n} must not exceed "
            f"func output vector length M={m}"
        )
    if n and m > FORTRAN_INT_MAX // n:
        raise ValueError(f"m*n = {m}*{n} is larger than MINPACK's limit {FORTRAN_INT_MAX}")
    if m * n >= UNCHECKED_VALUES:
        check_allocation(fit_buffer_bytes(m, n), f"a fit of m={m} residuals in n={n} variables")


def fit_buffer_bytes(m: int, n: int) -> int:
    """Return the bytes of MINPACK's arrays for one fit: fvec, wa4, fjac, and 6 of length n."""
    return 8 * (m * (n + 2) + 6 * n + n * n)


def check_no_args(args: tuple[Any, ...]) -> None:
    """Raise when args are given but no Python callback would receive them."""
    if args:
        raise TypeError(
            "args are passed to Python callbacks only; a compiled func (and Dfun) "
            "gets its data through user_data"
        )
