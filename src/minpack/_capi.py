"""MINPACK's entry points for other compiled code (C, Cython, numba): ``minpack.capi``.

Each entry is a PyCapsule named by its C signature (SciPy's convention):

``lmdif``, ``lmder``
    netlib's Fortran routines themselves: every argument by reference, arrays
    column-major, the callback as MINPACK calls it
    (``void fcn(int *m, int *n, double *x, double *fvec, int *iflag)``, and for
    lmder ``void fcn(int *m, int *n, double *x, double *fvec, double *fjac,
    int *ldfjac, int *iflag)``).
``lmdif_with_user_data``, ``lmder_with_user_data``
    The same routines for callbacks that take ``m`` and ``n`` by value and a
    ``void *user_data`` (the signatures of leastsq's compiled callbacks:
    ``void f(int m, int n, const double *x, double *out, int *iflag,
    void *user_data)``); the callback(s) and ``user_data`` come first, then
    lmdif's or lmder's own arguments from ``m`` on.  lmder_with_user_data takes
    two callbacks, for ``fvec`` and for ``fjac`` (leading dimension ``m``).

Calls run no Python and may be made without the GIL, from any thread.
"""

from __future__ import annotations

from types import MappingProxyType

from minpack._minpack import capi as _capsules
from minpack._minpack import capsule_parts

capi = MappingProxyType(dict(_capsules))


def capi_address(name: str) -> int:
    """Return the address of the C function ``minpack.capi[name]``.

    Parameters
    ----------
    name : str
        ``"lmdif"``, ``"lmder"``, ``"lmdif_with_user_data"`` or ``"lmder_with_user_data"``.

    Returns
    -------
    int
        The function's address, for ctypes, cffi or numba.

    Raises
    ------
    KeyError
        For any other name.

    Examples
    --------
    >>> import ctypes
    >>> import minpack
    >>> sorted(minpack.capi)
    ['lmder', 'lmder_with_user_data', 'lmdif', 'lmdif_with_user_data']
    >>> minpack.capi["lmdif"]  # doctest: +ELLIPSIS
    <capsule object "void (void (*)(int *, int *, double *, double *, int *), int *, ...)" at 0x...>

    The address as a ctypes function of netlib's ``lmdif`` (every argument by reference):

    >>> lmdif = ctypes.CFUNCTYPE(None)(minpack.capi_address("lmdif"))
    """
    return capsule_parts(capi[name])[0]
