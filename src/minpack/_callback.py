"""Trampolines between MINPACK's ``fcn`` callbacks and the user's Python functions.

MINPACK calls ``fcn`` with pointers into its own memory.  The trampolines here
keep the user away from that memory: the user gets a private copy of ``x``, the
returned values are validated before they are copied into MINPACK's buffers,
and an exception raised by the user is captured (so that f2py neither prints
it nor ``longjmp``s over the Fortran frames) and makes MINPACK stop at once by
returning a negative ``iflag``.  ``leastsq`` re-raises it after MINPACK returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

# Returned to MINPACK as the new iflag: any negative value stops lmdif/lmder.
STOP = -1


def _describe(value: object) -> str:
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
            f"{name} must return an array of real numbers, not {_describe(value)}"
        ) from exc
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must return an array of real numbers, not {_describe(array)}")
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


class Residual:
    """Evaluate the user's ``func`` for MINPACK and check what it returns.

    Parameters
    ----------
    func : callable
        The user's residual function, called as ``func(x, *args)``.
    args : tuple
        Extra arguments for ``func``.
    fvec0 : ndarray
        ``func`` evaluated at ``x0`` (a private float64 copy).  MINPACK's first
        call is at ``x0``, so it is answered from here instead of calling
        ``func`` a second time.
    """

    __slots__ = ("args", "error", "func", "fvec0", "m")

    def __init__(self, func: Callable[..., object], args: tuple[Any, ...], fvec0: FloatArray):
        self.func = func
        self.args = args
        self.m = fvec0.shape[0]
        self.fvec0: FloatArray | None = fvec0
        self.error: BaseException | None = None

    def evaluate(self, x: FloatArray, fvec: FloatArray) -> None:
        """Write ``func(copy of x)`` into ``fvec`` (MINPACK's buffer)."""
        if self.fvec0 is not None:
            fvec[:] = self.fvec0
            self.fvec0 = None
            return
        values = residual_vector(self.func(x.copy(), *self.args), "func")
        if values.shape[0] != self.m:
            raise ValueError(
                f"func returned {values.shape[0]} residuals, but {self.m} at x0: "
                "the number of residuals must not change during the fit"
            )
        fvec[:] = values

    def lmdif_fcn(self, x: FloatArray, fvec: FloatArray, iflag: int) -> int | None:
        """MINPACK's ``fcn`` for lmdif: fill ``fvec``, or capture the error and stop."""
        try:
            self.evaluate(x, fvec)
        except BaseException as exc:  # noqa: BLE001 - re-raised unchanged by leastsq
            self.error = exc
            return STOP
        return None


class ResidualAndJacobian(Residual):
    """Evaluate ``func`` and the user's Jacobian ``Dfun`` for lmder.

    Parameters
    ----------
    func, args, fvec0
        As for `Residual`.
    jac : callable
        The user's ``Dfun``, called as ``Dfun(x, *args)``.
    col_deriv : bool
        Whether ``Dfun`` returns the transposed Jacobian, shape ``(n, m)``.
    n : int
        The number of variables.
    """

    __slots__ = ("col_deriv", "jac", "jac_shape")

    def __init__(
        self,
        func: Callable[..., object],
        args: tuple[Any, ...],
        fvec0: FloatArray,
        jac: Callable[..., object],
        col_deriv: bool,
        n: int,
    ):
        super().__init__(func, args, fvec0)
        self.jac = jac
        self.col_deriv = col_deriv
        self.jac_shape = (n, self.m) if col_deriv else (self.m, n)

    def jacobian(self, x: FloatArray, fjac: FloatArray) -> None:
        """Write ``Dfun(copy of x)`` into ``fjac`` (column-major m-by-n)."""
        value = as_real_array(self.jac(x.copy(), *self.args), "Dfun")
        if value.shape != self.jac_shape:
            # A single row or column is unambiguous as a 1-D array (SciPy accepts it too).
            if value.ndim != 1 or value.size != fjac.size or 1 not in self.jac_shape:
                layout = "(n, m) with col_deriv=True" if self.col_deriv else "(m, n)"
                raise TypeError(
                    f"Dfun must return an array of shape {self.jac_shape} {layout}, "
                    f"not shape {value.shape}"
                )
            value = value.reshape(self.jac_shape)
        fjac[...] = value.T if self.col_deriv else value

    def lmder_fcn(
        self, x: FloatArray, fvec: FloatArray, fjac: FloatArray, iflag: int
    ) -> int | None:
        """MINPACK's ``fcn`` for lmder: ``iflag`` 1 fills ``fvec``, 2 fills ``fjac``."""
        try:
            if iflag == 2:
                self.jacobian(x, fjac)
            else:
                self.evaluate(x, fvec)
        except BaseException as exc:  # noqa: BLE001 - re-raised unchanged by leastsq
            self.error = exc
            return STOP
        return None
