"""The rules for what the user's ``func`` and ``Dfun`` return.

MINPACK calls its ``fcn`` with pointers into its own memory.  The user never
sees that memory: ``func`` gets a fresh copy of ``x`` on every call, what it
returns is validated before it is copied into MINPACK's buffers, and an
exception it raises is captured and makes MINPACK stop at once; the fit engine
raises it unchanged after MINPACK returns.

The per-call work is done in C (``minpack/evaluation.c``): a value that is
already a float64 array of the right shape is copied directly; anything else
comes here, to `check_residuals` and `check_jacobian` (which the C looks up by
name), which convert it or raise the error the user sees.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
_FLOAT64 = np.dtype(np.float64)
_FLOAT64_EPS = float(np.finfo(np.float64).eps)


def describe(value: object) -> str:
    """Name a returned object for an error message without printing large data."""
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    return f"an object of type {type(value).__name__}"


def as_real_array(value: object, name: str) -> FloatArray:
    """Convert what ``name`` returned to float64, or raise ``TypeError``."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:  # e.g. ragged nested sequences
        raise TypeError(
            f"{name} must return an array of real numbers, not {describe(value)}"
        ) from exc
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must return an array of real numbers, not {describe(array)}")
    return array.astype(np.float64, copy=False)


def residual_vector(value: object, name: str) -> FloatArray:
    """Validate a residual vector returned by ``func``: real, and 0-D or 1-D."""
    array = as_real_array(value, name)
    if array.ndim > 1:
        raise TypeError(f"{name} must return a 1-D array of residuals, not shape {array.shape}")
    return array.reshape(-1)


def epsfcn_dtype(value: object) -> np.dtype[Any]:
    """Return the dtype whose machine epsilon is ``epsfcn``'s default (SciPy's choice)."""
    dtype = np.asarray(value).dtype
    return dtype if np.issubdtype(dtype, np.inexact) else np.dtype(np.float64)


def check_residuals(value: object, m: int) -> FloatArray:
    """Return ``func``'s result as m contiguous float64 residuals, or raise."""
    values = residual_vector(value, "func")
    if values.shape[0] != m:
        raise ValueError(
            f"func returned {values.shape[0]} residuals, but {m} at x0: "
            "the number of residuals must not change during the fit"
        )
    return np.ascontiguousarray(values)


def check_jacobian(value: object, m: int, n: int, col_deriv: bool) -> FloatArray:
    """Return ``Dfun``'s result as a contiguous float64 array of its shape, or raise."""
    expected = (n, m) if col_deriv else (m, n)
    array = as_real_array(value, "Dfun")
    if array.shape != expected:
        # A single row or column is unambiguous as a 1-D array (SciPy accepts it too).
        if array.ndim != 1 or array.size != m * n or 1 not in expected:
            layout = "(n, m) with col_deriv=True" if col_deriv else "(m, n)"
            raise TypeError(
                f"Dfun must return an array of shape {expected} {layout}, not shape {array.shape}"
            )
        array = array.reshape(expected)
    return np.ascontiguousarray(array)


def first_residuals(first: Any) -> tuple[FloatArray, bool, float]:
    """Return ``func(x0)`` as a float64 vector, whether it was a scalar, and eps.

    eps is the machine epsilon of the returned dtype: ``epsfcn``'s default.  The vector
    is ``func``'s own array when it already is one (no copy): the fit engine copies it
    into MINPACK's buffer before anything else can run.
    """
    if type(first) is np.ndarray and first.dtype is _FLOAT64 and first.ndim == 1:
        return first, False, _FLOAT64_EPS  # the usual case: the engine takes any strides
    values = residual_vector(first, "func")
    return values, np.ndim(first) == 0, float(np.finfo(epsfcn_dtype(first)).eps)


def _round_shape(jacobian: bool, col_deriv: bool) -> str:
    """Name the shape a vectorized func (or Dfun) returns, for error messages."""
    if not jacobian:
        return "(k, m)"
    return "(k, n, m) with col_deriv=True" if col_deriv else "(k, m, n)"


def residual_width(value: object) -> int:
    """Return m from a vectorized func's answer for one point, shape (1, m), or raise."""
    array = as_real_array(value, "vectorized func")
    if array.ndim != 2 or array.shape[0] != 1:
        raise TypeError(
            "vectorized func must return an array of shape (k, m) for the k points of a "
            f"round; for k = 1 it returned shape {array.shape}"
        )
    return int(array.shape[1])


def check_round(
    value: object, rows: int, m: int, n: int, jacobian: bool, col_deriv: bool
) -> FloatArray:
    """Return a vectorized func's or Dfun's answer for a round of ``rows`` points, or raise.

    ``func(X, D, *args)`` returns (rows, m) residuals; ``Dfun`` returns (rows, m, n), or
    (rows, n, m) with ``col_deriv``.  The result is a C-contiguous float64 copy of it.
    """
    name = "vectorized Dfun" if jacobian else "vectorized func"
    expected: tuple[int, ...] = (rows, m)
    if jacobian:
        expected = (rows, n, m) if col_deriv else (rows, m, n)
    array = as_real_array(value, name)
    if array.shape != expected:
        raise TypeError(
            f"{name} must return an array of shape {_round_shape(jacobian, col_deriv)} = "
            f"{expected} for the k = {rows} points of a round, not shape {array.shape}"
        )
    return np.ascontiguousarray(array, dtype=np.float64)
