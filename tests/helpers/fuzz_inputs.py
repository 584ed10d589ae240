"""Hostile inputs for the fuzz targets of tests/fuzz.py: scripted callables and strategies.

A scripted func is a small well-behaved model whose k-th call may instead misbehave in
one of the ways listed in `RESULTS` (return None, a ragged list, NaN, a view of its
input, raise, ...).  It records what it received, so that the targets can check that
every x was finite, fresh and never changed behind its back.  The strategies draw
every argument of leastsq, leastsq_batch and curve_fit from good values mixed with
bad ones of every kind.
"""

from __future__ import annotations

import ctypes
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .compiled import WITH_USER_DATA, WITHOUT_USER_DATA, address_of, capsule


class FuzzError(Exception):
    """Raised by a scripted callable: it must come out of minpack as the same object."""


class FuzzBaseError(BaseException):
    """The same, for exceptions that are not Exceptions (like KeyboardInterrupt)."""


# --- The model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    """m residuals in n variables: linear, with a sine, or exponentials that overflow."""

    kind: str
    n: int
    m: int
    seed: int

    def _coefficients(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        a = rng.integers(-3, 4, (self.m, self.n)).astype(float)
        a[np.arange(self.n) % self.m, np.arange(self.n)] += 5.0  # full column rank, mostly
        return a, rng.uniform(-2.0, 2.0, self.m), rng.uniform(-1.0, 1.0, self.m)

    def residuals(self, x: np.ndarray, shift: float = 0.0) -> np.ndarray:
        a, y, t = self._coefficients()
        with np.errstate(all="ignore"):
            if self.kind == "linear":
                return a @ x - y - shift
            if self.kind == "sine":
                return a @ x + np.sin(x[np.arange(self.m) % self.n]) - y - shift
            return np.exp(t * (a @ x)) - np.exp(y) - shift  # overflows for large steps

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        a, y, t = self._coefficients()
        with np.errstate(all="ignore"):
            if self.kind == "linear":
                return a
            if self.kind == "sine":
                jac = a.copy()
                jac[np.arange(self.m), np.arange(self.m) % self.n] += np.cos(
                    x[np.arange(self.m) % self.n]
                )
                return jac
            return (t * np.exp(t * (a @ x)))[:, np.newaxis] * a


models = st.builds(
    Model,
    kind=st.sampled_from(["linear", "sine", "exp"]),
    n=st.integers(1, 4),
    m=st.integers(1, 9),
    seed=st.integers(0, 2**16),
).map(lambda model: Model(model.kind, model.n, max(model.m, model.n), model.seed))


# --- What a Python func or Dfun returns ---------------------------------------------------------

# Each kind turns the correct value (m residuals, or the m-by-n Jacobian in the layout asked
# for) into what the callable returns.  "raise" and "raise-base" raise instead.
RESULTS = (
    "ok", "list", "tuple", "float32", "int", "bool", "longdouble", "complex", "object-floats",
    "object-strings", "none", "string", "bytes", "dict", "ragged", "longer", "shorter",
    "empty", "column", "row", "scalar", "nan", "inf", "-inf", "huge", "input-view",
    "same-buffer", "kept-then-modified", "strided", "byteswapped", "readonly", "fortran",
    "masked", "matrix", "raise", "raise-base", "write-input",
)  # fmt: skip


class Mangler:
    """Applies one kind of RESULTS to a correct value; keeps what some kinds reuse."""

    def __init__(self) -> None:
        self.buffer: np.ndarray | None = None
        self.kept: list[np.ndarray] = []

    def __call__(self, kind: str, value: np.ndarray, x: np.ndarray, error: BaseException) -> Any:
        if kind == "raise" or kind == "raise-base":
            raise error
        if kind == "write-input":
            x[...] = np.nan  # allowed: x is the callable's own copy
            return value
        if kind in _SIMPLE:
            with np.errstate(all="ignore"):  # the callable's own casts: not minpack's warnings
                return _SIMPLE[kind](value)
        if kind == "input-view":
            return x[::-1] if x.size == value.size and value.ndim == 1 else x
        if kind == "same-buffer":
            if self.buffer is None or self.buffer.shape != value.shape:
                self.buffer = np.empty_like(value)
            self.buffer[...] = value
            return self.buffer
        if kind == "kept-then-modified":
            for earlier in self.kept:
                earlier[...] = 7.0  # changes an array returned by an earlier call
            returned = value.copy()
            self.kept.append(returned)
            return returned
        return value  # "ok"


def _strided(value: np.ndarray) -> np.ndarray:
    doubled = np.repeat(value, 2, axis=-1)
    return doubled[..., ::2]


def _masked(value: np.ndarray) -> np.ndarray:
    return np.ma.masked_array(value, mask=np.zeros(value.shape, dtype=bool))


def _matrix(value: np.ndarray) -> Any:
    with warnings.catch_warnings():  # the user's own deprecated choice: not minpack's warning
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.asmatrix(value)


_SIMPLE = {
    "list": lambda v: v.tolist(),
    "tuple": lambda v: tuple(v.tolist()) if v.ndim == 1 else tuple(map(tuple, v.tolist())),
    "float32": lambda v: v.astype(np.float32),
    "int": lambda v: np.nan_to_num(v).round().clip(-(10**6), 10**6).astype(np.int64),
    "bool": lambda v: v > 0,
    "longdouble": lambda v: v.astype(np.longdouble),
    "complex": lambda v: v.astype(complex),
    "object-floats": lambda v: v.astype(object),
    "object-strings": lambda v: np.array(["a"] * v.size, dtype=object).reshape(v.shape),
    "none": lambda v: None,
    "string": lambda v: "residuals",
    "bytes": lambda v: b"\x00\x01",
    "dict": lambda v: {"fvec": v},
    "ragged": lambda v: [[1.0], [2.0, 3.0]],
    "longer": lambda v: np.concatenate([v.reshape(-1), [1.0]]),
    "shorter": lambda v: v.reshape(-1)[:-1],
    "empty": lambda v: np.empty(0),
    "column": lambda v: v.reshape(-1, 1),
    "row": lambda v: v.reshape(1, -1),
    "scalar": lambda v: float(v.reshape(-1)[0]),
    "nan": lambda v: np.where(np.arange(v.size).reshape(v.shape) == 0, np.nan, v),
    "inf": lambda v: np.full_like(v, np.inf),
    "-inf": lambda v: np.where(np.arange(v.size).reshape(v.shape) == v.size - 1, -np.inf, v),
    "huge": lambda v: v * 1e300,
    "strided": _strided,
    "byteswapped": lambda v: v.astype(v.dtype.newbyteorder()),
    "readonly": lambda v: np.frombuffer(v.tobytes()).reshape(v.shape),
    "fortran": lambda v: np.asfortranarray(v),
    "masked": _masked,
    "matrix": lambda v: _matrix(v),
}


@dataclass
class Received:
    """What a scripted callable saw: every x (kept, and a copy), and what was wrong."""

    xs: list[np.ndarray] = field(default_factory=list)
    copies: list[np.ndarray] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def see(self, x: Any, n: int, name: str) -> None:
        """Record x, noting anything a callable should never be given.

        An empty x is given once, at an empty x0: its residuals are the fvec of SciPy's
        answer to it (ier 0, improper input).
        """
        shapes = ((n,), (0,))
        if not (isinstance(x, np.ndarray) and x.dtype == np.float64 and x.shape in shapes):
            self.problems.append(f"{name} got {type(x).__name__} {getattr(x, 'shape', '')}")
            return
        if not np.isfinite(x).all():
            self.problems.append(f"{name} got a non-finite x: {x!r}")
        if any(x is earlier or np.shares_memory(x, earlier) for earlier in self.xs):
            self.problems.append(f"{name} got an x it had been given before")
        self.xs.append(x)
        self.copies.append(x.copy())

    def check_unchanged(self) -> None:
        """Note any x that changed after the callable returned (a live view of solver memory)."""
        for kept, copy in zip(self.xs, self.copies, strict=True):
            if not np.array_equal(kept, copy, equal_nan=True):
                self.problems.append("an x changed after it was handed over")
                return


class Scripted:
    """A Python func or Dfun: the model, except that call k behaves as script[k]."""

    def __init__(
        self, model: Model, script: dict[int, str], role: str, received: Received,
        col_deriv: bool = False, extra_args: int = 0,
    ) -> None:  # fmt: skip
        self.model, self.script, self.role = model, script, role
        self.received, self.col_deriv, self.extra_args = received, col_deriv, extra_args
        self.calls = 0
        self.mangle = Mangler()
        self.error: BaseException | None = None

    def __call__(self, x: Any, *args: Any) -> Any:
        call, self.calls = self.calls, self.calls + 1
        self.received.see(x, self.model.n, self.role)
        kind = self.script.get(call, "ok")
        try:
            return self._answer(call, kind, x, args)
        except (Exception, FuzzBaseError) as error:  # whatever the user's code raises is its own
            self.error = error
            raise

    def _answer(self, call: int, kind: str, x: Any, args: tuple[Any, ...]) -> Any:
        if len(args) != self.extra_args:  # as Python raises for a function of fixed arity
            raise TypeError(f"{self.role} takes {self.extra_args} extra arguments")
        point = np.asarray(x, dtype=float).copy()
        with warnings.catch_warnings():  # a complex data row: the user's own conversion
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            shift = float(np.sum(args[0])) if args else 0.0
        if self.role == "func":
            value = self.model.residuals(point, shift)
        else:
            value = self.model.jacobian(point)
            value = value.T.copy() if self.col_deriv else value
        error_type = FuzzBaseError if kind == "raise-base" else FuzzError
        result = self.mangle(kind, value, x, error_type(f"{self.role} raised at call {call}"))
        if kind == "write-input":  # its own copy, changed by itself: not a fault
            self.received.copies[-1] = np.array(x, copy=True)
        return result

    def __repr__(self) -> str:
        return f"{self.role}({self.model}, script={self.script})"


def scripts(max_call: int = 12) -> st.SearchStrategy[dict[int, str]]:
    """Draw which calls misbehave, and how (mostly none, to reach the solver's inside)."""
    return st.one_of(
        st.just({}),
        st.dictionaries(st.integers(0, max_call), st.sampled_from(RESULTS), max_size=3),
    )


# --- Compiled callbacks (ctypes function pointers) -----------------------------------------------

P = ctypes.POINTER
# Compiled code that misbehaves only in ways its caller can see: a compiled callback can do
# anything its author wrote (write outside fvec, crash), which no library can check.
COMPILED_RESULTS = ("ok", "nan", "inf", "stop", "stop-at-once", "positive-iflag", "partial")


class CompiledScript:
    """A ctypes callback for func or Dfun (with or without user_data) following a script.

    ctypes runs it with the GIL, so it works in fits that release the GIL; it never
    raises (ctypes would print the exception), and records what it received.
    """

    def __init__(
        self, model: Model, script: dict[int, str], role: str, with_user_data: bool,
        stop_code: int,
    ) -> None:  # fmt: skip
        self.model, self.script, self.role = model, script, role
        self.stop_code = stop_code
        self.calls = 0
        self.problems: list[str] = []
        self.stops: list[int] = []
        if with_user_data:
            self.pointer: Any = WITH_USER_DATA(self._call)
        else:
            self.pointer = WITHOUT_USER_DATA(
                lambda m, n, x, out, iflag: self._call(m, n, x, out, iflag, None)
            )

    def _call(self, m: int, n: int, x: Any, out: Any, iflag: Any, user_data: Any) -> None:
        call, self.calls = self.calls, self.calls + 1
        if n != self.model.n:
            self.problems.append(f"compiled {self.role} got n={n}, not {self.model.n}")
            iflag[0] = -1
            return
        point = np.ctypeslib.as_array(x, (n,)).copy()
        if not np.isfinite(point).all():
            self.problems.append(f"compiled {self.role} got a non-finite x")
        shift = 0.0
        if user_data:
            shift = float(ctypes.cast(user_data, P(ctypes.c_double))[0])
        # m is the caller's: the model's rows, cut or repeated to m rows.
        rows = np.arange(m) % self.model.m
        if self.role == "func":
            value = self.model.residuals(point, shift)[rows]
        else:
            value = self.model.jacobian(point)[rows].reshape(-1, order="F")  # column-major
        kind = self.script.get(call, "ok")
        size = value.size
        target = np.ctypeslib.as_array(out, (size,))
        if kind == "stop-at-once":
            iflag[0] = self.stop_code
            self.stops.append(self.stop_code)
            return
        if kind == "nan":
            value = np.where(np.arange(size) == size // 2, np.nan, value)
        elif kind == "inf":
            value = np.full(size, np.inf)
        elif kind == "partial":
            value = value[: size // 2]
        target[: value.size] = value
        if kind == "stop":
            iflag[0] = self.stop_code
            self.stops.append(self.stop_code)
        elif kind == "positive-iflag":
            iflag[0] = 7  # MINPACK ignores positive values

    def __repr__(self) -> str:
        return f"compiled {self.role}({self.model}, script={self.script})"


def _wrong_prototype(restype: Any, *argtypes: Any) -> Any:
    """A ctypes function pointer of another signature; calling it would crash the fit."""

    def never(*args: Any) -> Any:
        raise AssertionError("a callback of the wrong signature was called")

    return ctypes.CFUNCTYPE(restype, *argtypes)(never)


WRONG_SIGNATURES = {
    "returns-int": lambda: _wrong_prototype(
        ctypes.c_int, ctypes.c_int, ctypes.c_int, P(ctypes.c_double), P(ctypes.c_double),
        P(ctypes.c_int),
    ),
    "double-m": lambda: _wrong_prototype(
        None, ctypes.c_double, ctypes.c_int, P(ctypes.c_double), P(ctypes.c_double),
        P(ctypes.c_int),
    ),
    "fortran-style": lambda: _wrong_prototype(
        None, P(ctypes.c_int), P(ctypes.c_int), P(ctypes.c_double), P(ctypes.c_double),
        P(ctypes.c_int),
    ),
    "too-few": lambda: _wrong_prototype(None, ctypes.c_int, ctypes.c_int, P(ctypes.c_double)),
    "too-many": lambda: _wrong_prototype(
        None, ctypes.c_int, ctypes.c_int, P(ctypes.c_double), P(ctypes.c_double),
        P(ctypes.c_int), ctypes.c_void_p, ctypes.c_void_p,
    ),
    "float-pointers": lambda: _wrong_prototype(
        None, ctypes.c_int, ctypes.c_int, P(ctypes.c_float), P(ctypes.c_float), P(ctypes.c_int)
    ),
    "unnamed-capsule": lambda: _capsule(None),
    "misnamed-capsule": lambda: _capsule(b"double (double)"),
    "an-int": lambda: 12345,
    "a-string": lambda: "void (int, int, double *, double *, int *)",
}  # fmt: skip


def _capsule(name: bytes | None) -> object:
    """A PyCapsule holding libm's cos under ``name``: never a valid residual function."""
    return capsule(address_of(ctypes.CDLL(None).cos), name)


# --- Arguments ---------------------------------------------------------------------------------

FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -1.0, 1e-300, 1e300, 1.49012e-08, 100.0]),
)
TOLERANCES = st.one_of(
    st.just(1.49012e-08), FLOATS, st.sampled_from([np.float32(1e-3), "x", None, [1e-8], 0])
)
MAXFEVS = st.one_of(
    st.just(0),
    st.integers(-5, 2000),
    st.sampled_from([2**31 - 8, 2**31 - 1, 2**31, 2**63, True, 1e4, np.int64(50), "10"]),
)
EPSFCNS = st.one_of(st.none(), FLOATS, st.sampled_from(["x", np.float16(1e-3)]))
FACTORS = st.one_of(st.just(100.0), FLOATS, st.sampled_from([0, -1, "x", None]))


def dtyped(values: np.ndarray, dtype: str) -> Any:
    """``values`` (float64) as the dtype or container named."""
    if dtype == "list":
        return values.tolist()
    if dtype == "object-strings":
        return np.array(["a"] * values.size, dtype=object).reshape(values.shape)
    if dtype == "int":
        return np.nan_to_num(values).round().clip(-(10**6), 10**6).astype(np.int64)
    if dtype == "bool":
        return values > 0
    with np.errstate(over="ignore"):  # 1e300 as float32 is inf, as wanted
        return values.astype(
            {"float64": np.float64, "float32": np.float32, "longdouble": np.longdouble,
             "complex": complex, "object": object}[dtype]
        )  # fmt: skip


DTYPES = st.sampled_from(
    ["float64", "float64", "float64", "list", "int", "bool", "float32", "longdouble", "complex",
     "object", "object-strings"]
)  # fmt: skip


@st.composite
def starting_points(draw: Any, n: int) -> Any:
    """x0 for n variables: mostly right, else NaN/inf, another shape, another dtype."""
    values = draw(st.lists(st.floats(-3.0, 3.0), min_size=n, max_size=n).map(np.array)).astype(
        np.float64
    )
    flaw = draw(st.sampled_from(["none", "none", "none", "nan", "inf", "shape", "empty", "huge"]))
    if flaw == "nan":
        values[0] = np.nan
    elif flaw == "inf":
        values[-1] = -np.inf
    elif flaw == "huge":
        values = values * 1e300
    elif flaw == "shape":
        values = values.reshape(draw(st.sampled_from([(1, n), (n, 1)])))
    elif flaw == "empty":
        values = np.empty(0)
    if n == 1 and draw(st.booleans()):
        return float(values.reshape(-1)[0]) if values.size else values
    return dtyped(values, draw(DTYPES))


@st.composite
def scale_factors(draw: Any, n: int) -> Any:
    """diag: None mostly, else positive, zeros, negatives, NaN, the wrong length, strings."""
    kind = draw(
        st.sampled_from(["none", "none", "good", "zero", "negative", "nan", "length", "string"])
    )
    if kind == "none":
        return None
    values = np.array(draw(st.lists(st.floats(0.1, 10.0), min_size=n, max_size=n)))
    if kind == "zero":
        values[0] = 0.0
    elif kind == "negative":
        values[-1] = -1.0
    elif kind == "nan":
        values[0] = np.nan
    elif kind == "length":
        values = np.ones(n + draw(st.sampled_from([-1, 1, 5])))
    elif kind == "string":
        return ["a"] * n
    return dtyped(values, draw(st.sampled_from(["float64", "list", "int", "float32"])))
