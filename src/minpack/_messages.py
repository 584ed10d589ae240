"""What each ``ier`` (MINPACK's ``info``) means, worded as SciPy words it."""

from __future__ import annotations

from minpack._inputs import Settings, improper_input
from minpack._minpack import NONFINITE_AT_X0, NONFINITE_JACOBIAN

# ier values with which leastsq reports a solution (cov_x is computed for these).
SUCCESS = frozenset({1, 2, 3, 4})
# ier values that leastsq warns about when full_output is false, besides the
# negative ones: a compiled func or Dfun stopped the fit by setting iflag < 0.
# NONFINITE_AT_X0 and NONFINITE_JACOBIAN (9 and 10) are this package's own: the
# non-finite rules stopped the fit (docs/guide/robustness.md).
FAILURE = frozenset({5, 6, 7, 8, NONFINITE_AT_X0, NONFINITE_JACOBIAN})
# MINPACK's info for improper input; leastsq raises TypeError for it.
IMPROPER_INPUT = 0
# What leastsq says when its iteration callback stopped the fit (ier is then -1).
STOPPED_BY_CALLBACK = "The fit was stopped by the callback, which returned True."


def message(ier: int, settings: Settings, maxfev: int, n: int = 1) -> str:
    """Return SciPy's message for ``ier``, with the options filled in.

    For ier 0 SciPy's sentence is followed by what MINPACK rejected (an empty ``x0``,
    n = 0, or an option).
    """
    ftol, xtol, gtol = settings.ftol, settings.xtol, settings.gtol
    if ier < 0:
        return f"The fit was stopped by func or Dfun, which set iflag = {ier}."
    if ier == 0:
        return f"Improper input parameters. {improper_input(settings, maxfev, n)}"
    if ier == 1:
        return (
            "Both actual and predicted relative reductions in the sum of squares\n"
            f"  are at most {ftol:f}"
        )
    if ier == 2:
        return f"The relative error between two consecutive iterates is at most {xtol:f}"
    if ier == 3:
        return (
            "Both actual and predicted relative reductions in the sum of squares\n"
            f"  are at most {ftol:f} and the relative error between two consecutive "
            f"iterates is at \n  most {xtol:f}"
        )
    if ier == 4:
        return (
            "The cosine of the angle between func(x) and any column of the\n"
            f"  Jacobian is at most {gtol:f} in absolute value"
        )
    if ier == 5:
        return f"Number of calls to function has reached maxfev = {maxfev}."
    if ier == 6:
        return (
            f"ftol={ftol:f} is too small, no further reduction in the sum of squares\n"
            "  is possible."
        )
    if ier == 7:
        return (
            f"xtol={xtol:f} is too small, no further improvement in the approximate\n"
            "  solution is possible."
        )
    if ier == 8:
        return (
            f"gtol={gtol:f} is too small, func(x) is orthogonal to the columns of\n"
            "  the Jacobian to machine precision."
        )
    if ier == NONFINITE_AT_X0:
        return "func returned NaN or infinity at x0: the fit did not start."
    if ier == NONFINITE_JACOBIAN:
        return (
            "The Jacobian at x contains NaN or infinity (from Dfun, or from func at a\n"
            "  point of the forward differences): the fit stopped at x, the last iterate."
        )
    raise ValueError(f"ier must be negative or an integer from 0 to 10, not {ier!r}")
