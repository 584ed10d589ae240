"""Put every client of SciPy's Levenberg-Marquardt on minpack: `use_in_scipy`.

Libraries such as astropy (``LevMarLSQFitter``, ``LMLSQFitter``), hyperspy, photutils or
pyFAI call ``scipy.optimize.leastsq``, ``curve_fit`` or ``least_squares`` themselves.
`use_in_scipy` replaces those public attributes of the ``scipy.optimize`` module, which
every attribute lookup (``optimize.leastsq(...)``) and every later ``from scipy.optimize
import leastsq`` reads, and puts SciPy's own back when the last user is done.

``leastsq`` becomes `minpack.leastsq`.  ``curve_fit`` and ``least_squares`` become
dispatchers: the calls that minpack serves (``curve_fit`` without bounds, ``method``
None or ``'lm'``, ``jac`` None or a callable; ``least_squares`` with ``method='lm'``)
run on minpack, every other call goes to SciPy's own function unchanged.  SciPy is
imported only by `use_in_scipy` (never by ``import minpack``).
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType, TracebackType
from typing import Any

from minpack._curve_fit import curve_fit as _minpack_curve_fit
from minpack._curve_fit import serves_curve_fit
from minpack._least_squares import least_squares as _minpack_least_squares
from minpack._leastsq import leastsq as _minpack_leastsq

__all__ = ["ScipyOnMinpack", "use_in_scipy"]


def _scipy_optimize() -> ModuleType:
    """Import ``scipy.optimize``; raise ``ImportError`` naming what to install."""
    try:
        return importlib.import_module("scipy.optimize")
    except ImportError as exc:
        raise ImportError(
            f"minpack.use_in_scipy needs SciPy ({exc}); install it with: pip install scipy"
        ) from exc


def _dispatching_curve_fit(scipy_curve_fit: Any) -> Any:
    """Return a ``curve_fit`` that runs on minpack what minpack serves, the rest on SciPy."""

    def curve_fit(f: Any, xdata: Any, ydata: Any, *args: Any, **kwargs: Any) -> Any:
        # SciPy's positional order: p0, sigma, absolute_sigma, check_finite, bounds,
        # method, jac; the rest is keyword-only.
        named = dict(
            zip(("p0", "sigma", "absolute_sigma", "check_finite", "bounds", "method", "jac"),
                args, strict=False),
            **kwargs,
        )  # fmt: skip
        if serves_curve_fit(named.get("bounds"), named.get("method"), named.get("jac")):
            return _minpack_curve_fit(f, xdata, ydata, *args, **kwargs)
        return scipy_curve_fit(f, xdata, ydata, *args, **kwargs)

    curve_fit.__doc__ = (
        "scipy.optimize.curve_fit, run on minpack (Fortran MINPACK) where minpack.curve_fit "
        "serves the call (no bounds, method None or 'lm', jac None or a callable), on SciPy's "
        "own curve_fit otherwise.  Installed by minpack.use_in_scipy()."
    )
    curve_fit.scipy_curve_fit = scipy_curve_fit  # type: ignore[attr-defined]
    return curve_fit


def _dispatching_least_squares(scipy_least_squares: Any) -> Any:
    """Return a ``least_squares`` that runs ``method='lm'`` on minpack, the rest on SciPy."""

    def least_squares(fun: Any, x0: Any, *args: Any, **kwargs: Any) -> Any:
        # SciPy's positional order: jac, bounds, method, ...
        method = args[2] if len(args) > 2 else kwargs.get("method", "trf")
        if method == "lm":
            return _minpack_least_squares(fun, x0, *args, **kwargs)
        return scipy_least_squares(fun, x0, *args, **kwargs)

    least_squares.__doc__ = (
        "scipy.optimize.least_squares, run on minpack (Fortran MINPACK, as SciPy 1.14 ran it) "
        "for method='lm', on SciPy's own least_squares for every other method and for "
        "calls that leave method at SciPy's default.  Installed by minpack.use_in_scipy()."
    )
    least_squares.scipy_least_squares = scipy_least_squares  # type: ignore[attr-defined]
    return least_squares


# The attributes of scipy.optimize that use_in_scipy replaces, and what with.
_REPLACEMENTS = {
    "leastsq": lambda original: _minpack_leastsq,
    "curve_fit": _dispatching_curve_fit,
    "least_squares": _dispatching_least_squares,
}


class _Installation:
    """How many `use_in_scipy` handles are active, and what the first one replaced."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.replaced: dict[str, Any] = {}

    def install(self, module: ModuleType) -> None:
        with self.lock:
            if self.depth == 0:
                self.replaced = {name: getattr(module, name) for name in _REPLACEMENTS}
                for name, replacement in _REPLACEMENTS.items():
                    setattr(module, name, replacement(self.replaced[name]))
            self.depth += 1

    def uninstall(self, module: ModuleType) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth == 0:
                for name, original in self.replaced.items():
                    setattr(module, name, original)
                self.replaced = {}


_INSTALLATION = _Installation()


class ScipyOnMinpack:
    """What `use_in_scipy` returns: active until `undo`, or the end of its ``with`` block.

    Attributes
    ----------
    active : bool
        Whether this handle still keeps SciPy's clients on minpack.

    Examples
    --------
    >>> import scipy.optimize
    >>> import minpack
    >>> handle = minpack.use_in_scipy()
    >>> handle.active, scipy.optimize.curve_fit is minpack.curve_fit
    (True, False)
    >>> scipy.optimize.leastsq is minpack.leastsq
    True
    >>> handle.undo()
    >>> handle.active, scipy.optimize.leastsq is minpack.leastsq
    (False, False)
    """

    def __init__(self) -> None:
        self._module = _scipy_optimize()
        self._lock = threading.Lock()
        _INSTALLATION.install(self._module)
        self._active = True

    @property
    def active(self) -> bool:
        """Whether this handle still keeps SciPy's clients on minpack."""
        return self._active

    def undo(self) -> None:
        """Give this handle's hold back; SciPy's own functions return with the last one.

        Calling it again does nothing.
        """
        with self._lock:
            if not self._active:
                return
            self._active = False
        _INSTALLATION.uninstall(self._module)

    def __enter__(self) -> ScipyOnMinpack:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.undo()


def use_in_scipy() -> ScipyOnMinpack:
    """Run ``scipy.optimize``'s Levenberg-Marquardt on minpack, for every client.

    From this call on, ``scipy.optimize.leastsq`` is `minpack.leastsq`;
    ``scipy.optimize.curve_fit`` runs on `minpack.curve_fit` whenever minpack serves
    the call (no bounds, ``method`` None or ``'lm'``, ``jac`` None or a callable), and
    ``scipy.optimize.least_squares`` on `minpack.least_squares` for ``method='lm'``;
    bounded fits, ``method='trf'`` or ``'dogbox'``, string ``jac`` for ``curve_fit``, and
    ``least_squares`` calls that leave ``method`` at SciPy's default go to SciPy's own
    functions, unchanged.  Every client that looks the functions up on
    ``scipy.optimize`` when it fits (astropy's ``LevMarLSQFitter`` does), or imports
    them after this call, runs on minpack, in every thread.

    Use it as a context manager, which puts SciPy's functions back at the end of the
    block (by an exception too), or as a plain call that lasts until the returned
    handle's ``undo()``.

    Returns
    -------
    ScipyOnMinpack
        The handle: a context manager, with ``undo()``.

    Raises
    ------
    ImportError
        If SciPy is not installed.

    See Also
    --------
    use_in_lmfit : The same for lmfit, which imports ``leastsq`` once, at its import.

    Notes
    -----
    Module attributes are shared by all threads: while any handle is active, fits
    started in any thread run on minpack.  Handles nest and may overlap in several
    threads: the first installs minpack, the last to be undone puts back what the first
    found.  A client that bound ``leastsq`` before (``from scipy.optimize import
    leastsq`` at its own import, as lmfit does) keeps SciPy's; for lmfit, use
    `use_in_lmfit`.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.optimize
    >>> import minpack
    >>> with minpack.use_in_scipy():
    ...     scipy.optimize.leastsq is minpack.leastsq
    True
    >>> scipy.optimize.leastsq is minpack.leastsq
    False
    """
    return ScipyOnMinpack()
