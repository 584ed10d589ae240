"""Run lmfit's ``leastsq`` method on minpack: `use_in_lmfit` and `lmfit_leastsq`.

lmfit's ``Minimizer.leastsq`` (behind ``lmfit.minimize(..., method="leastsq")``,
``Model.fit`` and ``conf_interval``) calls SciPy's ``leastsq`` through the module
attribute ``lmfit.minimizer.scipy_leastsq``, looked up at each fit, always with
``full_output=1``.  Replacing that attribute with `lmfit_leastsq` runs those fits on
netlib's Fortran ``lmdif``/``lmder``; `use_in_lmfit` does it for the length of a
``with`` block.

Why not ``minpack.leastsq`` itself: lmfit counts the calls of its residual itself
(``MinimizerResult.nfev``, the ``iter`` passed to ``iter_cb``, the ``max_nfev``
limit), and starts that count at -2 to discount the two evaluations at ``x0`` that
SciPy's ``leastsq`` makes before MINPACK's own first one.  ``minpack.leastsq`` makes
no such evaluations, so assigned as it is, lmfit would under-count by 2: ``nfev``
two below MINPACK's, ``iter_cb`` numbering shifted, ``max_nfev`` two calls late.
`lmfit_leastsq` takes the -2 back when ``func`` is an lmfit ``Minimizer``'s residual,
so that every evaluation gets the number it gets on SciPy.

lmfit is imported only by `use_in_lmfit` (never by ``import minpack``).
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from types import ModuleType
from typing import Any

from minpack._leastsq import leastsq

__all__ = ["lmfit_leastsq", "use_in_lmfit"]

# lmfit's Minimizer.leastsq starts its count of residual calls at -2 ("correct for
# 'pre-fit' initialization/checks"): SciPy's leastsq calls func at x0 three times, one
# of them MINPACK's own first evaluation (docs/migrating.md).  lmfit's
# iter_cb sees the two extra ones as iterations -1 and 0.
_SCIPY_EXTRA_CALLS = 2

# The name under which lmfit.minimizer imports scipy.optimize.leastsq and calls it.
_ATTRIBUTE = "scipy_leastsq"


def _undo_scipy_correction(func: Callable[..., Any]) -> None:
    """Give back to lmfit's count of calls the 2 that it subtracted for SciPy.

    Only when ``func`` is a method of an lmfit ``Minimizer`` (its residual: lmfit
    passes ``self.__residual``) whose ``result.nfev`` is still at -2, where
    ``Minimizer.leastsq`` leaves it just before it calls ``leastsq``; anything else is
    left alone.  Public names only: ``lmfit.minimizer.Minimizer``, a bound method's
    ``__self__``, and ``MinimizerResult.nfev``.  lmfit need not be imported: if
    ``lmfit.minimizer`` is not in `sys.modules`, ``func`` cannot be one of its residuals.
    """
    module = sys.modules.get("lmfit.minimizer")
    minimizer_class = getattr(module, "Minimizer", None)
    if not isinstance(minimizer_class, type):
        return
    owner = getattr(func, "__self__", None)
    if not isinstance(owner, minimizer_class):
        return
    result: Any = getattr(owner, "result", None)
    if getattr(result, "nfev", None) == -_SCIPY_EXTRA_CALLS:
        result.nfev = 0


def lmfit_leastsq(func: Callable[..., Any], x0: Any, *args: Any, **kwargs: Any) -> Any:
    """`minpack.leastsq` as lmfit's ``Minimizer.leastsq`` expects SciPy's ``leastsq``.

    The arguments and return values are those of `minpack.leastsq`, and so of
    ``scipy.optimize.leastsq``.  When ``func`` is the residual of an lmfit
    ``Minimizer`` at the start of a fit, its count of calls is first raised by the
    2 that lmfit subtracts for SciPy's two extra evaluations at ``x0``, which
    minpack does not make: ``MinimizerResult.nfev``, the iteration number passed to
    ``iter_cb`` and the ``max_nfev`` limit then count the same evaluations as on
    SciPy.  Any other ``func`` is passed on untouched.

    This is what `use_in_lmfit` installs.  To run every lmfit fit of a program on
    minpack, assign it once::

        import lmfit.minimizer, minpack
        lmfit.minimizer.scipy_leastsq = minpack.lmfit_leastsq

    Parameters
    ----------
    func : callable
        The residual function, as for `minpack.leastsq`.
    x0 : array_like
        The starting estimate.
    *args, **kwargs
        The other arguments of `minpack.leastsq`.

    Returns
    -------
    Any
        What `minpack.leastsq` returns: ``(x, cov_x, infodict, mesg, ier)`` with
        ``full_output``, which lmfit always sets.

    Raises
    ------
    Exception
        What `minpack.leastsq` raises.

    See Also
    --------
    use_in_lmfit : Install this function in lmfit for a ``with`` block.
    minpack.leastsq : The function called.

    Examples
    --------
    Any other ``func`` is `minpack.leastsq`'s:

    >>> from minpack import lmfit_leastsq
    >>> x, cov_x, infodict, mesg, ier = lmfit_leastsq(lambda p: p - 3.0, [0.0], full_output=True)
    >>> x, ier, infodict["nfev"]
    (array([3.]), 2, 5)
    """
    _undo_scipy_correction(func)
    return leastsq(func, x0, *args, **kwargs)


class _Installation:
    """How many `use_in_lmfit` blocks are open, and what they replaced."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.replaced: Any = None


_INSTALLATION = _Installation()


def _lmfit_minimizer() -> ModuleType:
    """Import ``lmfit.minimizer``; raise if lmfit is missing or calls leastsq otherwise."""
    try:
        # import_module, not an import statement: typed (lmfit has no annotations), and
        # mypy need not find lmfit.
        module = importlib.import_module("lmfit.minimizer")
    except ImportError as exc:
        raise ImportError(
            f"minpack.use_in_lmfit needs lmfit ({exc}); install it with: pip install lmfit"
        ) from exc
    if not callable(getattr(module, _ATTRIBUTE, None)):
        version = getattr(sys.modules.get("lmfit"), "__version__", "?")
        raise RuntimeError(
            f"lmfit {version} does not call leastsq through lmfit.minimizer.{_ATTRIBUTE}, "
            "which minpack.use_in_lmfit replaces (tested with lmfit 1.3)"
        )
    return module


@contextmanager
def _installed(module: ModuleType) -> Iterator[None]:
    """Put `lmfit_leastsq` in ``module.scipy_leastsq`` while any such block is open."""
    installation = _INSTALLATION
    with installation.lock:
        if installation.depth == 0:
            installation.replaced = getattr(module, _ATTRIBUTE)
            setattr(module, _ATTRIBUTE, lmfit_leastsq)
        installation.depth += 1
    try:
        yield
    finally:
        with installation.lock:
            installation.depth -= 1
            if installation.depth == 0:
                setattr(module, _ATTRIBUTE, installation.replaced)
                installation.replaced = None


def use_in_lmfit() -> AbstractContextManager[None]:
    """Run lmfit's ``leastsq`` fits on minpack inside a ``with`` block.

    Inside the block, ``lmfit.minimize(..., method="leastsq")``, ``Minimizer.leastsq``,
    ``Model.fit`` with the default ``method="leastsq"`` and ``conf_interval`` call
    `lmfit_leastsq`, that is `minpack.leastsq` (netlib's Fortran ``lmdif``, or
    ``lmder`` when lmfit is given a ``Dfun``: a keyword of ``lmfit.minimize``, an
    entry of ``Model.fit``'s ``fit_kws``), instead of
    ``scipy.optimize.leastsq``.  lmfit's other methods are not affected.  On exit,
    by an exception too, the block puts back what it replaced.

    With lmfit's default ``epsfcn=1e-10`` (or a ``Dfun``), both engines take the
    same steps: the fitted values, ``nfev``, ``ier`` and messages are SciPy's to the
    last bit; the uncertainties and correlations agree to rounding (SciPy inverts
    ``R`` with LAPACK's ``trtri``, minpack with its own C of the same arithmetic).
    An ``epsfcn`` below 2.22044604926e-16, Fortran MINPACK's machine precision
    (``epsfcn=None`` too), makes the two take forward-difference steps ~2e-12 apart:
    they then agree to the solver's accuracy.

    Returns
    -------
    contextlib.AbstractContextManager
        A context manager, used once, whose ``__enter__`` returns None.

    Raises
    ------
    ImportError
        If lmfit is not installed (``pip install lmfit``); raised by the call,
        before the block.
    RuntimeError
        If ``lmfit.minimizer`` has no ``scipy_leastsq`` to replace (an lmfit
        that calls SciPy otherwise).

    See Also
    --------
    lmfit_leastsq : What the block installs; assign it to install it for good.

    Notes
    -----
    This replaces the module attribute ``lmfit.minimizer.scipy_leastsq``, which
    every thread shares: while a block is open in one thread, fits started in any
    thread run on minpack.  A fit reads the attribute when it starts and keeps that
    engine to its end.  Blocks nest, and may overlap in several threads: the first
    to open installs `lmfit_leastsq`, the last to close puts back what the first
    found.  Assigning ``lmfit.minimizer.scipy_leastsq`` yourself while a block is
    open is undone when the last block closes.

    lmfit counts the evaluations of its residual, and discounts the two extra
    evaluations at ``x0`` that SciPy's ``leastsq`` makes and minpack's does not;
    `lmfit_leastsq` corrects for that, so ``nfev`` and the iteration numbers passed
    to ``iter_cb`` are those of a fit on SciPy.  The only evaluations that differ
    are SciPy's two extra ones: ``iter_cb`` is called with ``iter`` -1 and 0 on
    SciPy, never on minpack, and the user's residual is called two fewer times.

    Examples
    --------
    >>> import numpy as np
    >>> import lmfit
    >>> import minpack
    >>> t = np.linspace(0.0, 4.0, 50)
    >>> y = 2.5 * np.exp(-1.3 * t) + 0.5
    >>> params = lmfit.Parameters()
    >>> _ = params.add_many(("a", 1.0), ("b", 1.0), ("c", 0.0))
    >>> def residual(p):
    ...     return p["a"] * np.exp(-p["b"] * t) + p["c"] - y
    >>> with minpack.use_in_lmfit():
    ...     result = lmfit.minimize(residual, params, method="leastsq")
    >>> result.success, round(result.params["b"].value, 6)
    (True, 1.3)
    """
    return _installed(_lmfit_minimizer())
