"""tests/compiled's C callbacks, loaded with ctypes, in the forms that leastsq takes.

Used by the robustness tests (issue 8: test_load.py, test_interrupt.py, test_memory.py),
also in the child processes that two of them start, which load the library that the
parent built (``Library(path)``).  The decay callbacks read one problem's data, m values
t then m values y, through ``user_data``: each fit here gets its own data that way,
never the process-wide static data (not for concurrent fits).
"""

import ctypes
from pathlib import Path

import numpy as np
from c_library import build_shared_library

COMPILED = Path(__file__).parent / "compiled"
SOURCES = [COMPILED / "callbacks.c", COMPILED / "batch_callbacks.c"]

# The decay model of callbacks.c: x[0]·exp(-x[1]·t) + x[2] - y at m points.
T = np.linspace(0.0, 4.0, 40)
M = T.size
X0 = np.array([1.0, 1.0, 0.0])

DOUBLE_P = ctypes.POINTER(ctypes.c_double)
INT_P = ctypes.POINTER(ctypes.c_int)
CALLBACK = ctypes.CFUNCTYPE(
    None, ctypes.c_int, ctypes.c_int, DOUBLE_P, DOUBLE_P, INT_P, ctypes.c_void_p
)
_capsule_new = ctypes.PYFUNCTYPE(
    ctypes.py_object, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p
)(("PyCapsule_New", ctypes.pythonapi))
_capsule_set_context = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.c_void_p)(
    ("PyCapsule_SetContext", ctypes.pythonapi)
)
# A capsule keeps a pointer to its name, not a copy: this one lives as long as the module.
_SIGNATURE = b"void (int, int, double *, double *, int *, void *)"


class CountedData(ctypes.Structure):
    """callbacks.c's counted_data: counted_decay's user data (one per fit)."""

    _fields_ = [
        ("data", ctypes.c_void_p),
        ("calls", ctypes.c_int),
        ("stop_at", ctypes.c_int),
        ("stop_with", ctypes.c_int),
    ]


class Library:
    """callbacks.c and batch_callbacks.c, built into one shared library and loaded."""

    def __init__(self, path):
        self.path = str(path)
        self.cdll = ctypes.CDLL(self.path)
        self.cdll.seen_user_data.restype = ctypes.c_void_p
        self.cdll.reset_meeting.argtypes = [ctypes.c_double]
        self.cdll.reset_meeting.restype = None
        self.cdll.set_sleepy_nanoseconds.argtypes = [ctypes.c_long]
        self.cdll.set_sleepy_nanoseconds.restype = None
        self.cdll.sleepy_call_count.restype = ctypes.c_long

    def address(self, name):
        return ctypes.cast(getattr(self.cdll, name), ctypes.c_void_p).value

    def ctypes(self, name):
        """C function ``name`` as a ctypes function pointer (it passes NULL user data)."""
        return CALLBACK(self.address(name))

    def capsule(self, name, context=None):
        """C function ``name`` in a PyCapsule whose context (the user data) is ``context``."""
        made = _capsule_new(self.address(name), _SIGNATURE, None)
        if context is not None:
            _capsule_set_context(made, context)
        return made


def build(tmp_path_factory):
    """Build both C files into one library (skips without a C compiler) and load it."""
    return Library(build_shared_library(tmp_path_factory, SOURCES, "robustness_callbacks.so"))


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
