"""Compiled ``func`` and ``Dfun``: recognising them and checking their C signature.

A compiled callback is called by MINPACK's trampoline as::

    void f(int m, int n, const double *x, double *out, int *iflag, void *user_data)
    void f(int m, int n, const double *x, double *out, int *iflag)

where ``out`` is ``fvec`` (m values) for ``func`` and ``fjac`` (column-major m-by-n,
leading dimension m) for ``Dfun``; setting ``*iflag`` negative stops the fit.  It
may come as a ``scipy.LowLevelCallable`` (recognised without importing SciPy), a
PyCapsule whose name is its signature (SciPy's convention), a ctypes function
pointer, or a numba ``cfunc``.
"""

from __future__ import annotations

import ctypes
import functools
import re
import types
from _ctypes import CFuncPtr
from dataclasses import dataclass

from minpack._trampoline import capsule_parts

# The accepted signatures, written as normalise() writes them, and whether each
# takes user data.
SIGNATURES = {
    "void (int, int, double *, double *, int *, void *)": True,
    "void (int, int, double *, double *, int *)": False,
}
EXPECTED = (
    "void (int m, int n, const double *x, double *out, int *iflag, void *user_data) "
    "or void (int m, int n, const double *x, double *out, int *iflag)"
)

_CTYPES_NAMES = {
    ctypes.c_int: "int",
    ctypes.POINTER(ctypes.c_double): "double *",
    ctypes.POINTER(ctypes.c_int): "int *",
    ctypes.c_void_p: "void *",
}


# Types that are Python code for certain (a lookup of ``ctypes`` on them would be slow).
PYTHON_CALLABLES = frozenset(
    {types.FunctionType, types.MethodType, types.BuiltinFunctionType, functools.partial}
)


@dataclass(frozen=True)
class Compiled:
    """A compiled callback: its address, its user data and whether it takes any."""

    address: int
    user_data: int
    with_user_data: bool

    def description(self) -> tuple[int, int, bool]:
        """Return the tuple that ``_trampoline.Fit`` takes."""
        return self.address, self.user_data, self.with_user_data


def _c_type(text: str) -> str:
    """Write one C type canonically: ``double *``, ``int``."""
    stars = text.count("*")
    base = " ".join(text.replace("*", " ").split())
    return f"{base} {'*' * stars}" if stars else base


def normalise(signature: str) -> str:
    """Write a C signature canonically: no ``const``, single spaces, ``type *``."""
    text = re.sub(r"\bconst\b", " ", signature)
    result, _, arguments = text.partition("(")
    types = arguments.rpartition(")")[0].split(",")
    return f"{_c_type(result)} ({', '.join(_c_type(t) for t in types)})"


def _checked(signature: str | None, name: str) -> bool:
    """Return whether ``signature`` takes user data; ``TypeError`` if it is not accepted."""
    canonical = normalise(signature) if signature else None
    if canonical not in SIGNATURES:
        raise TypeError(f"compiled {name} has signature {signature!r}; expected {EXPECTED}")
    return SIGNATURES[canonical]


def _from_capsule(capsule: object, name: str) -> Compiled:
    """Read a capsule named by its signature; its context is the user data."""
    address, signature, context = capsule_parts(capsule)
    return Compiled(address, context, _checked(signature, name))


def _from_ctypes(function: CFuncPtr, address: int, name: str) -> Compiled:
    """Read a ctypes function pointer's signature from its argtypes and restype."""
    argtypes = getattr(function, "argtypes", None)
    if function.restype is not None or argtypes is None:
        signature = None
    else:
        names = [_CTYPES_NAMES.get(argtype, repr(argtype)) for argtype in argtypes]
        signature = f"void ({', '.join(names)})"
    return Compiled(address, 0, _checked(signature, name))


def compiled(callback: object, name: str, user_data: int | None = None) -> Compiled | None:
    """Return ``callback`` as compiled code, or None when it is a Python callable.

    ``user_data``, when given, replaces the callback's own user data.  Raises
    ``TypeError`` naming ``name`` (``func`` or ``Dfun``) when it is compiled code of
    another signature.
    """
    if type(callback) in PYTHON_CALLABLES:  # the common case, answered at once
        return None
    code = _compiled(callback, name)
    if code is None or user_data is None:
        return code
    return Compiled(code.address, user_data, code.with_user_data)


def _compiled(callback: object, name: str) -> Compiled | None:
    """Read a compiled callback's address, user data and signature (None for Python)."""
    if isinstance(callback, tuple) and type(callback).__name__ == "LowLevelCallable":
        return _from_capsule(tuple.__getitem__(callback, 0), name)
    if type(callback).__name__ == "PyCapsule":
        return _from_capsule(callback, name)
    if isinstance(callback, CFuncPtr):
        # Read the pointer in place: ctypes.cast would tie callback into a reference cycle,
        # keeping it (and what it holds) alive until the next garbage collection.
        address = ctypes.c_void_p.from_buffer(callback).value or 0
        return _from_ctypes(callback, address, name)
    numba_ctypes = getattr(callback, "ctypes", None)  # a numba cfunc
    if isinstance(numba_ctypes, CFuncPtr) and isinstance(getattr(callback, "address", None), int):
        return _from_ctypes(numba_ctypes, callback.address, name)  # type: ignore[attr-defined]
    return None
