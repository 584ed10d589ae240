"""Compiled ``func`` and ``Dfun``: recognising them and checking their C signature.

A compiled callback is called by the fit engine as::

    void f(int m, int n, const double *x, double *out, int *iflag, void *user_data)
    void f(int m, int n, const double *x, double *out, int *iflag)

where ``out`` is ``fvec`` (m values) for ``func`` and ``fjac`` (column-major m-by-n,
leading dimension m) for ``Dfun``; setting ``*iflag`` negative stops the fit.  It
may come as a ``scipy.LowLevelCallable`` (recognised without importing SciPy, and
read through its public ``function``, ``user_data`` and ``signature``), a PyCapsule
whose name is its signature (SciPy's convention), a ctypes function pointer, or a
numba ``cfunc`` (through its public ``ctypes`` and ``address``).
"""

from __future__ import annotations

import ctypes
import functools
import re
import types

from minpack._minpack import CompiledCallback, capsule_parts, read_compiled

# The accepted signatures, written as _canonical() writes them, and whether each
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

# Every ctypes function pointer type (made by ctypes.CFUNCTYPE, PYFUNCTYPE, or numba's
# cfunc) derives from one base class, which ctypes documents but names only privately:
# take it from a type that the public factory makes.
_CFUNCTION_POINTER = ctypes.CFUNCTYPE(None).__mro__[1]
_VOID_POINTER = ctypes.c_void_p

# Types that are Python code for certain (a lookup of ``ctypes`` on them would be slow).
PYTHON_CALLABLES = frozenset(
    {types.FunctionType, types.MethodType, types.BuiltinFunctionType, functools.partial}
)


def _c_type(text: str) -> str:
    """Write one C type canonically: ``double *``, ``int``."""
    stars = text.count("*")
    base = " ".join(text.replace("*", " ").split())
    return f"{base} {'*' * stars}" if stars else base


# Signatures already recognised, and whether each takes user data: a callback is usually
# passed fit after fit, and its signature is parsed once.
_RECOGNISED: dict[str | None, bool] = {}


def takes_user_data(signature: str | None, name: str) -> bool:
    """Return whether ``signature`` ends in ``void *user_data``; ``TypeError`` if not accepted."""
    known = _RECOGNISED.get(signature)
    if known is not None:
        return known
    canonical = None
    if signature:
        text = re.sub(r"\bconst\b", " ", signature)
        result, _, arguments = text.partition("(")
        types_ = arguments.rpartition(")")[0].split(",")
        canonical = f"{_c_type(result)} ({', '.join(_c_type(t) for t in types_)})"
    if canonical not in SIGNATURES:
        raise TypeError(f"compiled {name} has signature {signature!r}; expected {EXPECTED}")
    if len(_RECOGNISED) < 256:  # bounded: signatures are few, but they come from users
        _RECOGNISED[signature] = SIGNATURES[canonical]
    return SIGNATURES[canonical]


def is_ctypes_function(callback: object) -> bool:
    """Whether ``callback`` is a ctypes function pointer."""
    return isinstance(callback, _CFUNCTION_POINTER)


def _ctypes_signature(function: object) -> str | None:
    """Write a ctypes function pointer's signature from its argtypes and restype."""
    argtypes = getattr(function, "argtypes", None)
    if getattr(function, "restype", None) is not None or argtypes is None:
        return None
    return f"void ({', '.join(_CTYPES_NAMES.get(a, repr(a)) for a in argtypes)})"


def _ctypes_address(function: object) -> int:
    """Read a ctypes function pointer's address in place.

    ctypes.cast would tie the pointer into a reference cycle, keeping it (and what it
    holds) alive until the next garbage collection.
    """
    return ctypes.c_void_p.from_buffer(function).value or 0  # type: ignore[arg-type]


def _pointer_value(user_data: object, name: str) -> int:
    """Return the address that a LowLevelCallable's ``user_data`` stands for."""
    if user_data is None:
        return 0
    if type(user_data).__name__ == "PyCapsule":
        return capsule_parts(user_data)[0]
    if isinstance(user_data, ctypes.c_void_p):
        return user_data.value or 0
    try:  # any other ctypes pointer or array
        return ctypes.cast(user_data, ctypes.c_void_p).value or 0  # type: ignore[arg-type]
    except (ctypes.ArgumentError, TypeError):
        raise TypeError(
            f"the user_data of compiled {name} must be a ctypes pointer or a PyCapsule, "
            f"not {type(user_data).__name__}"
        ) from None


def _from_low_level_callable(callback: object, name: str) -> tuple[int, int, str | None]:
    """Read a ``scipy.LowLevelCallable`` through its public attributes."""
    function = callback.function  # type: ignore[attr-defined]
    signature = callback.signature  # type: ignore[attr-defined]
    if type(function).__name__ == "PyCapsule":
        address = capsule_parts(function)[0]
    elif isinstance(function, _CFUNCTION_POINTER):
        address = _ctypes_address(function)
    else:
        raise TypeError(
            f"compiled {name}: a LowLevelCallable of a {type(function).__name__} is not "
            "supported (a PyCapsule or a ctypes function pointer is)"
        )
    return address, _pointer_value(callback.user_data, name), signature  # type: ignore[attr-defined]


def _is_low_level_callable(callback: object) -> bool:
    """Whether ``callback`` is a ``scipy.LowLevelCallable``, without importing SciPy."""
    kind = type(callback)
    return kind.__name__ == "LowLevelCallable" and kind.__module__.startswith("scipy")


def require_user_data(code: object, name: str) -> None:
    """Raise ``TypeError`` for compiled code that takes user data but has none to take.

    Called with NULL it would read through a null pointer and crash the process.
    """
    if isinstance(code, CompiledCallback) and code.with_user_data and not code.user_data:
        raise TypeError(
            f"compiled {name} takes void *user_data, but no user data was given: it would be "
            f"called with NULL. Give the data with scipy.LowLevelCallable({name}, user_data) "
            "(for a numba cfunc: scipy.LowLevelCallable(cfunc.ctypes, "
            "ctypes.c_void_p(array.ctypes.data))) or as a PyCapsule's context; leastsq_batch "
            "passes each row of data instead. A function that needs no data can take the "
            "signature without user_data."
        )


def read_compiled_fast(callback: object) -> CompiledCallback | None:
    """Read, in C, a capsule or LowLevelCallable of a signature accepted before; else None.

    None says nothing about ``callback``: `compiled` then reads and checks it.
    """
    return read_compiled(callback, _RECOGNISED, _CFUNCTION_POINTER, _VOID_POINTER)


def compiled(callback: object, name: str, user_data: int | None = None) -> CompiledCallback | None:
    """Return ``callback`` as compiled code, or None when it is a Python callable.

    ``user_data``, when given, replaces the callback's own user data.  Raises
    ``TypeError`` naming ``name`` (``func`` or ``Dfun``) when it is compiled code of
    another signature.
    """
    if type(callback) in PYTHON_CALLABLES:  # the common case, answered at once
        return None
    code = read_compiled_fast(callback)
    if code is not None:
        if user_data is None:
            return code
        return CompiledCallback(code.address, user_data, code.with_user_data)
    if isinstance(callback, CompiledCallback):
        address, own_data, with_data = (
            callback.address, callback.user_data, callback.with_user_data
        )  # fmt: skip
    else:
        found = _read(callback, name)
        if found is None:
            return None
        address, own_data, signature = found
        with_data = takes_user_data(signature, name)
    return CompiledCallback(address, own_data if user_data is None else user_data, with_data)


def _read(callback: object, name: str) -> tuple[int, int, str | None] | None:
    """Read a compiled callback's address, user data and signature (None for Python)."""
    if _is_low_level_callable(callback):
        return _from_low_level_callable(callback, name)
    if type(callback).__name__ == "PyCapsule":
        address, signature, context = capsule_parts(callback)
        return address, context, signature
    if isinstance(callback, _CFUNCTION_POINTER):
        return _ctypes_address(callback), 0, _ctypes_signature(callback)
    numba_ctypes = getattr(callback, "ctypes", None)  # a numba cfunc
    numba_address = getattr(callback, "address", None)
    if isinstance(numba_ctypes, _CFUNCTION_POINTER) and isinstance(numba_address, int):
        return numba_address, 0, _ctypes_signature(numba_ctypes)
    return None
