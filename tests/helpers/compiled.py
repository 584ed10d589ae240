"""Compiled callbacks for the tests: ctypes prototypes, PyCapsules, and tests/compiled's C.

The forms in which leastsq takes a compiled func or Dfun, written once:

- ``WITH_USER_DATA`` and ``WITHOUT_USER_DATA``: the ctypes prototypes of the two C
  signatures, ``void (int m, int n, const double *x, double *out, int *iflag[, void
  *user_data])``; ``SIGNATURE_WITH_USER_DATA`` and ``SIGNATURE_WITHOUT_USER_DATA``: the
  names a PyCapsule of each carries.
- ``capsule``: an address in a PyCapsule with a name and, as user data, a context;
  ``capsule_name`` reads a capsule's name back; ``address_of`` is a ctypes function's
  address.
- ``FORTRAN_FCN`` and ``FORTRAN_JAC_FCN``: the callbacks of MINPACK's own ``lmdif_`` and
  ``lmder_`` (``minpack.capi``), every argument by reference.

tests/compiled/callbacks.c and batch_callbacks.c (tests/compiled/README.md says what each
function does) are built with the machine's C compiler into one shared library by
``build`` (which skips the test without a compiler) and loaded as a ``Library``;
tests/conftest.py's ``lib`` fixture does that once per test module.  The child processes
that test_interrupt.py and test_memory.py start load the library their parent built with
``Library(path)``.  The decay callbacks read one problem's data, m values t then m values
y, through ``user_data`` (``decay_row`` makes one): each fit gets its own data that way,
never the process-wide static data of ``set_static_data`` (not for concurrent fits).

pytest is imported only when a library is built, so that tests/fuzz.py, which runs
outside pytest, can use the prototypes and capsules.
"""

import ctypes
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np

COMPILED = Path(__file__).resolve().parent.parent / "compiled"
SOURCES = [COMPILED / "callbacks.c", COMPILED / "batch_callbacks.c"]

# ---- the C signatures leastsq takes ----------------------------------------------------

DOUBLE_P = ctypes.POINTER(ctypes.c_double)
INT_P = ctypes.POINTER(ctypes.c_int)
WITH_USER_DATA = ctypes.CFUNCTYPE(
    None, ctypes.c_int, ctypes.c_int, DOUBLE_P, DOUBLE_P, INT_P, ctypes.c_void_p
)
WITHOUT_USER_DATA = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_int, DOUBLE_P, DOUBLE_P, INT_P)
SIGNATURE_WITH_USER_DATA = "void (int, int, double *, double *, int *, void *)"
SIGNATURE_WITHOUT_USER_DATA = "void (int, int, double *, double *, int *)"

# MINPACK's own fcn for lmdif_ and lmder_: m, n, x, fvec[, fjac, ldfjac], iflag.
FORTRAN_FCN = ctypes.CFUNCTYPE(None, INT_P, INT_P, DOUBLE_P, DOUBLE_P, INT_P)
FORTRAN_JAC_FCN = ctypes.CFUNCTYPE(None, INT_P, INT_P, DOUBLE_P, DOUBLE_P, DOUBLE_P, INT_P, INT_P)

# ---- PyCapsules ------------------------------------------------------------------------

_capsule_new = ctypes.PYFUNCTYPE(
    ctypes.py_object, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p
)(("PyCapsule_New", ctypes.pythonapi))
_capsule_set_context = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.c_void_p)(
    ("PyCapsule_SetContext", ctypes.pythonapi)
)
_capsule_get_name = ctypes.PYFUNCTYPE(ctypes.c_char_p, ctypes.py_object)(
    ("PyCapsule_GetName", ctypes.pythonapi)
)
# A PyCapsule keeps a pointer to its name, not a copy: the names live as long as the module.
_CAPSULE_NAMES = {}


def address_of(function):
    """The address of a ctypes function (pointer), as an int."""
    return ctypes.cast(function, ctypes.c_void_p).value


def capsule(address, signature, context=None):
    """A PyCapsule named ``signature`` holding ``address``, with ``context`` as user data.

    ``signature`` is a str, bytes or None (an unnamed capsule); ``context`` an address.
    """
    name = signature
    if signature is not None:
        encoded = signature.encode() if isinstance(signature, str) else signature
        name = _CAPSULE_NAMES.setdefault(signature, encoded)
    made = _capsule_new(address, name, None)
    if context is not None:
        _capsule_set_context(made, context)
    return made


def capsule_name(made):
    """The name of the PyCapsule ``made``, as bytes (None if it has none)."""
    return _capsule_get_name(made)


# ---- tests/compiled's callbacks --------------------------------------------------------


class CountedData(ctypes.Structure):
    """callbacks.c's counted_data: counted_decay's user data (one per fit)."""

    _fields_ = [
        ("data", ctypes.c_void_p),
        ("calls", ctypes.c_int),
        ("stop_at", ctypes.c_int),
        ("stop_with", ctypes.c_int),
    ]


class RendezvousData(ctypes.Structure):
    """callbacks.c's rendezvous_data: rendezvous_decay's user data (one per fit)."""

    _fields_ = [
        ("data", ctypes.c_void_p),
        ("arrived", INT_P),
        ("expected", ctypes.c_int),
        ("calls", ctypes.c_int),
        ("timeout", ctypes.c_double),
        ("saw_all", ctypes.c_int),
    ]


class Library:
    """callbacks.c and batch_callbacks.c, built into one shared library and loaded."""

    def __init__(self, path):
        self.path = str(path)
        self.cdll = ctypes.CDLL(self.path)
        self.cdll.set_static_data.argtypes = [ctypes.c_void_p]
        self.cdll.set_static_data.restype = None
        self.cdll.seen_user_data.argtypes = []
        self.cdll.seen_user_data.restype = ctypes.c_void_p
        self.cdll.counted_calls_without_user_data.argtypes = []
        self.cdll.counted_calls_without_user_data.restype = ctypes.c_int
        self.cdll.reset_meeting.argtypes = [ctypes.c_double]
        self.cdll.reset_meeting.restype = None
        self.cdll.set_sleepy_nanoseconds.argtypes = [ctypes.c_long]
        self.cdll.set_sleepy_nanoseconds.restype = None
        self.cdll.sleepy_call_count.restype = ctypes.c_long

    def address(self, name):
        """The address of C function ``name``."""
        return address_of(getattr(self.cdll, name))

    def ctypes(self, name):
        """C function ``name`` as a bare ctypes function pointer, without user data.

        leastsq refuses one whose signature takes user data (a TypeError, never a call
        with NULL); leastsq_batch gives it each row of its data.
        """
        return WITH_USER_DATA(self.address(name))

    def capsule(self, name, context=None):
        """C function ``name`` (which takes user data) as a capsule with ``context``."""
        return capsule(self.address(name), SIGNATURE_WITH_USER_DATA, context)

    def calls_without_user_data(self):
        """How many calls callbacks.c's counted callbacks got with NULL user data."""
        return self.cdll.counted_calls_without_user_data()


def compiler_or_skip():
    """$CC (or cc) as a command, or skip the test when there is no such compiler."""
    import pytest

    compiler = shlex.split(os.environ.get("CC", "cc"))
    if not compiler or shutil.which(compiler[0]) is None:
        pytest.skip(f"no C compiler ({' '.join(compiler)!r}) to build the test programs")
    return compiler


def build_shared_library(tmp_path_factory, sources, name):
    """Compile ``sources`` with $CC (or cc) into ``name``; skip when there is no compiler."""
    import pytest

    compiler = compiler_or_skip()
    path = tmp_path_factory.mktemp("compiled") / name
    # -ffp-contract=off: the callbacks must compute exactly what their Python twins do.
    command = [*compiler, "-O2", "-ffp-contract=off", "-shared", "-fPIC", *map(str, sources)]
    built = subprocess.run([*command, "-o", str(path), "-lm"], capture_output=True, text=True)
    if built.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{built.stderr}")
    return Path(path)


def build(tmp_path_factory):
    """Build both C files into one library (skips without a C compiler) and load it."""
    return Library(build_shared_library(tmp_path_factory, SOURCES, "callbacks.so"))


# ---- the decay model of callbacks.c: x[0]·exp(-x[1]·t) + x[2] - y at m points ----------

T = np.linspace(0.0, 4.0, 40)
M = T.size
X0 = np.array([1.0, 1.0, 0.0])


def decay_row(seed):
    """One problem's data for the decay callbacks: m values t, then m noisy values y."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform([1.0, 0.5, -1.0], [3.0, 2.0, 1.0])
    y = truth[0] * np.exp(-truth[1] * T) + truth[2] + 0.01 * rng.standard_normal(M)
    return np.concatenate([T, y])


def residuals(p, row):
    """The decay model in NumPy, on a data row (not bit for bit callbacks.c's decay)."""
    m = row.size // 2
    return p[0] * np.exp(-p[1] * row[:m]) + p[2] - row[m:]


def jacobian(p, row):
    """residuals' Jacobian, (m, n)."""
    t = row[: row.size // 2]
    e = np.exp(-p[1] * t)
    return np.column_stack([e, -p[0] * t * e, np.ones_like(t)])
