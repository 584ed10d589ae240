"""Compiled func and Dfun: every form, bit for bit against Python, errors, iflag, GIL, threads.

The compiled callbacks are those of tests/compiled/callbacks.c, built once per module
with the machine's C compiler (conftest.py's ``lib``; the forms leastsq takes them in are
helpers/compiled.py's).  Their Python twins below do the same arithmetic in the
same order, and call the same libm ``exp`` (through ``math.exp``; NumPy's own vectorised
``exp`` may differ in the last bit), so a fit through compiled code must give exactly
the bits, call counts and ``ier`` of the fit through Python.
"""

import ctypes
import gc
import math
import re
import sys
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from helpers.compiled import (
    DOUBLE_P,
    INT_P,
    SIGNATURE_WITH_USER_DATA,
    SIGNATURE_WITHOUT_USER_DATA,
    WITH_USER_DATA,
    WITHOUT_USER_DATA,
    X0,
    CountedData,
    M,
    RendezvousData,
    capsule,
    decay_row,
)

from minpack import leastsq

# What the callbacks without user data see (the C static data, and a constant of the
# numba cfuncs), and, different, what the callbacks that carry user data are given.
STATIC_DATA = decay_row(0)
USER_DATA = decay_row(1)

# ---- the Python twins ------------------------------------------------------------------


def decay_twin(p, data):
    """callbacks.c's decay, operation for operation."""
    a, k, c = p.tolist()
    m = data.size // 2
    t, y = data[:m].tolist(), data[m:].tolist()
    return np.array([a * math.exp(-k * ti) + c - yi for ti, yi in zip(t, y, strict=True)])


def decay_jacobian_twin(p, data):
    """callbacks.c's decay_jacobian, as an (m, n) array."""
    a, k, _ = p.tolist()
    rows = []
    for t in data[: data.size // 2].tolist():
        e = math.exp(-k * t)
        rows.append((e, -a * t * e, 1.0))
    return np.array(rows)


def python_fit(data, with_dfun):
    """The reference: the same fit with the Python twins."""
    return leastsq(
        decay_twin, X0, args=(data,), Dfun=decay_jacobian_twin if with_dfun else None,
        full_output=True,
    )  # fmt: skip


def bits(array):
    return np.asarray(array, dtype=np.float64).view(np.uint64)


def assert_same_fit(got, expected):
    """Two full_output results are identical: every float bit, every count, ier and mesg."""
    x, cov_x, info, mesg, ier = got
    np.testing.assert_array_equal(bits(x), bits(expected[0]))
    if expected[1] is None:
        assert cov_x is None
    else:
        np.testing.assert_array_equal(bits(cov_x), bits(expected[1]))
    assert info.keys() == expected[2].keys()
    for key, value in expected[2].items():
        if key in ("nfev", "njev"):
            assert info[key] == value, key
        elif key == "ipvt":
            np.testing.assert_array_equal(info[key], value)
        else:
            np.testing.assert_array_equal(bits(info[key]), bits(value), err_msg=key)
    assert (mesg, ier) == (expected[3], expected[4])


# ---- handing C functions to leastsq ----------------------------------------------------

FLOAT_P = ctypes.POINTER(ctypes.c_float)
EXPECTED_SIGNATURES = re.escape(
    "expected void (int m, int n, const double *x, double *out, int *iflag, "
    "void *user_data) or void (int m, int n, const double *x, double *out, int *iflag)"
)


@pytest.fixture(scope="module")
def lib(lib):
    """conftest.py's library, its C static data set to STATIC_DATA."""
    lib.cdll.set_static_data(STATIC_DATA.ctypes.data)  # STATIC_DATA lives as long
    return lib


@pytest.fixture(scope="module")
def numba_cfuncs():
    """The decay model as numba cfuncs: {(kind, signature): cfunc}.

    kind is "residual" or "jacobian"; signature is "reads-user-data" (6 arguments, the
    data through user_data: the ``decay`` of docs/guide/compiled.md) or "no-user-data"
    (5 arguments, STATIC_DATA).  numba compiles math.exp to libm's exp.
    """
    numba = pytest.importorskip("numba")
    from numba import carray, types

    arguments = (
        types.intc, types.intc, types.CPointer(types.double), types.CPointer(types.double),
        types.CPointer(types.intc),
    )  # fmt: skip
    with_data = types.void(*arguments, types.voidptr)
    without_data = types.void(*arguments)

    @numba.njit
    def residuals(x, fvec, t, y):
        for i in range(t.size):
            fvec[i] = x[0] * math.exp(-x[1] * t[i]) + x[2] - y[i]

    @numba.njit
    def jacobian(x, columns, t):  # columns[j, i] is fjac[i + j*m]: column-major m x n
        for i in range(t.size):
            e = math.exp(-x[1] * t[i])
            columns[0, i] = e
            columns[1, i] = -x[0] * t[i] * e
            columns[2, i] = 1.0

    @numba.cfunc(with_data)
    def residual_reads(m, n, x, fvec, iflag, user_data):
        data = carray(user_data, (2, m), dtype=np.float64)
        residuals(carray(x, (n,)), carray(fvec, (m,)), data[0], data[1])

    @numba.cfunc(without_data)
    def residual_without(m, n, x, fvec, iflag):
        residuals(carray(x, (n,)), carray(fvec, (m,)), STATIC_DATA[:m], STATIC_DATA[m:])

    @numba.cfunc(with_data)
    def jacobian_reads(m, n, x, fjac, iflag, user_data):
        data = carray(user_data, (2, m), dtype=np.float64)
        jacobian(carray(x, (n,)), carray(fjac, (n, m)), data[0])

    @numba.cfunc(without_data)
    def jacobian_without(m, n, x, fjac, iflag):
        jacobian(carray(x, (n,)), carray(fjac, (n, m)), STATIC_DATA[:m])

    return {
        ("residual", "reads-user-data"): residual_reads,
        ("residual", "no-user-data"): residual_without,
        ("jacobian", "reads-user-data"): jacobian_reads,
        ("jacobian", "no-user-data"): jacobian_without,
    }


FORMS = [
    "ctypes-pointer",
    "PyCapsule",
    "LowLevelCallable",
    "numba-cfunc",
    "numba-cfunc-in-LowLevelCallable",
]
SIGNATURES = ["6-arg-signature", "5-arg-signature"]


def compiled_callback(lib, request, form, kind, signature):
    """The decay residual or jacobian as ``form``: (callback, the data it computes on).

    A 6-argument callback reads USER_DATA through its user data: a PyCapsule's context,
    else a scipy.LowLevelCallable's user_data.  A bare ctypes pointer or numba cfunc
    carries no user data (leastsq refuses to call a 6-argument one with NULL: see
    test_a_callback_taking_user_data_given_none_is_a_type_error_before_any_call), so
    its 6-argument form is given USER_DATA in a LowLevelCallable, as leastsq's message
    says to.  5-argument callbacks read STATIC_DATA.
    """
    with_data = signature == "6-arg-signature"
    c_name = {"residual": "decay", "jacobian": "decay_jacobian"}[kind]
    c_name += "" if with_data else "_static"
    prototype = WITH_USER_DATA if with_data else WITHOUT_USER_DATA
    context = USER_DATA.ctypes.data if with_data else None
    seen = USER_DATA if with_data else STATIC_DATA
    if form == "PyCapsule":
        text = SIGNATURE_WITH_USER_DATA if with_data else SIGNATURE_WITHOUT_USER_DATA
        return capsule(lib.address(c_name), text, context), seen
    if form in ("ctypes-pointer", "numba-cfunc") and not with_data:
        if form == "ctypes-pointer":
            return prototype(lib.address(c_name)), STATIC_DATA
        return request.getfixturevalue("numba_cfuncs")[kind, "no-user-data"], STATIC_DATA
    scipy = pytest.importorskip("scipy")
    user_data = ctypes.c_void_p(context) if with_data else None
    if form in ("ctypes-pointer", "LowLevelCallable"):
        return scipy.LowLevelCallable(prototype(lib.address(c_name)), user_data), seen
    cfunc = request.getfixturevalue("numba_cfuncs")[
        kind, "reads-user-data" if with_data else "no-user-data"
    ]
    return scipy.LowLevelCallable(cfunc.ctypes, user_data), seen


# ---- each form, bit for bit against the Python twin ------------------------------------


@pytest.mark.parametrize("signature", SIGNATURES)
@pytest.mark.parametrize("form", FORMS)
def test_compiled_func_fits_exactly_as_its_python_twin(lib, request, form, signature):
    func, data = compiled_callback(lib, request, form, "residual", signature)
    got = leastsq(func, X0, m=M, full_output=True)
    assert_same_fit(got, python_fit(data, with_dfun=False))
    assert got[4] in (1, 2, 3, 4)


@pytest.mark.parametrize(
    "combination",
    ["compiled-func-compiled-Dfun", "compiled-func-python-Dfun", "python-func-compiled-Dfun"],
)
@pytest.mark.parametrize("signature", SIGNATURES)
@pytest.mark.parametrize("form", FORMS)
def test_compiled_dfun_fits_exactly_as_its_python_twin(lib, request, form, signature, combination):
    func, data = compiled_callback(lib, request, form, "residual", signature)
    dfun, _ = compiled_callback(lib, request, form, "jacobian", signature)
    if combination == "compiled-func-python-Dfun":
        got = leastsq(func, X0, args=(data,), Dfun=decay_jacobian_twin, m=M, full_output=True)
    elif combination == "python-func-compiled-Dfun":
        got = leastsq(decay_twin, X0, args=(data,), Dfun=dfun, full_output=True)
    else:
        got = leastsq(func, X0, Dfun=dfun, m=M, full_output=True)
    assert_same_fit(got, python_fit(data, with_dfun=True))
    assert got[2]["njev"] > 0


@pytest.mark.parametrize(
    "signature",
    [
        "void (int, int, double *, double *, int *, void *)",
        "void(int,int,const double*,double*,int*,void*)",
        "void  ( int ,int , const  double * , double*,int *,void * )",
        "void (int, int, const double *, double *, int *)",
        "void(int,int,double*,double*,int*)",
    ],
    ids=["canonical", "compact-with-const", "odd-spacing", "five-with-const", "five-compact"],
)
def test_capsule_names_are_read_without_const_and_spacing(lib, signature):
    with_data = signature.count(",") == 5
    c_name = "decay" if with_data else "decay_static"
    func = capsule(lib.address(c_name), signature, USER_DATA.ctypes.data if with_data else None)
    got = leastsq(func, X0, m=M, full_output=True)
    assert_same_fit(got, python_fit(USER_DATA if with_data else STATIC_DATA, with_dfun=False))


def record_a_marker(lib):
    """Make record_user_data's last user data a marker (not NULL) and return it."""
    marker = STATIC_DATA.ctypes.data
    func = capsule(lib.address("record_user_data"), SIGNATURE_WITH_USER_DATA, marker)
    assert leastsq(func, X0, m=M, full_output=True)[4] == -1
    assert lib.cdll.seen_user_data() == marker
    return marker


@pytest.mark.parametrize(
    "form", ["ctypes-pointer", "PyCapsule", "PyCapsule-without-context", "LowLevelCallable",
             "LowLevelCallable-without-user-data"],
)  # fmt: skip
def test_user_data_is_the_context_and_none_is_a_type_error(lib, form):
    address = lib.address("record_user_data")
    context = USER_DATA.ctypes.data
    if form == "ctypes-pointer":
        func, expected = WITH_USER_DATA(address), None
    elif form == "PyCapsule":
        func, expected = capsule(address, SIGNATURE_WITH_USER_DATA, context), context
    elif form == "PyCapsule-without-context":
        func, expected = capsule(address, SIGNATURE_WITH_USER_DATA), None
    else:
        scipy = pytest.importorskip("scipy")
        with_user_data = form == "LowLevelCallable"
        user_data = ctypes.c_void_p(context) if with_user_data else None
        func = scipy.LowLevelCallable(WITH_USER_DATA(address), user_data)
        expected = context if with_user_data else None
    if expected is None:  # it would be called with NULL: refused, and never called
        marker = record_a_marker(lib)
        with pytest.raises(TypeError, match="takes void \\*user_data"):
            leastsq(func, X0, m=M, full_output=True)
        assert lib.cdll.seen_user_data() == marker
        return
    x, cov_x, info, mesg, ier = leastsq(func, X0, m=M, full_output=True)
    assert ier == -1  # record_user_data stops the fit at its first call
    assert lib.cdll.seen_user_data() == expected


NO_USER_DATA = [
    "numba-cfunc", "ctypes-pointer", "PyCapsule-without-context",
    "LowLevelCallable-without-user-data",
]  # fmt: skip


def without_user_data(lib, request, form, role):
    """A func or Dfun of the signature with ``void *user_data``, in ``form``, given none.

    The numba cfuncs are the docs' ``decay`` (docs/guide/compiled.md) (and its Jacobian): they read
    ``carray(user_data, ...)``, so a call with NULL would crash the test process.  The C
    functions are callbacks.c's counted ones, which count a call with NULL in
    ``calls_without_user_data`` (and then read the static data).
    """
    if form == "numba-cfunc":
        kind = "residual" if role == "func" else "jacobian"
        return request.getfixturevalue("numba_cfuncs")[kind, "reads-user-data"]
    address = lib.address("counted_decay" if role == "func" else "counted_decay_jacobian")
    if form == "ctypes-pointer":
        return WITH_USER_DATA(address)
    if form == "PyCapsule-without-context":
        return capsule(address, SIGNATURE_WITH_USER_DATA)
    scipy = pytest.importorskip("scipy")
    return scipy.LowLevelCallable(WITH_USER_DATA(address))


@pytest.mark.parametrize("role", ["func", "Dfun"])
@pytest.mark.parametrize("form", NO_USER_DATA)
def test_a_callback_taking_user_data_given_none_is_a_type_error_before_any_call(
    lib, request, form, role
):
    # Each of these used to be called with user_data = NULL: the numba cfunc then read
    # through a null pointer and crashed the process.
    bad = without_user_data(lib, request, form, role)
    counted = CountedData(USER_DATA.ctypes.data, 0, 0, 0)  # the func beside a bad Dfun
    func, dfun = (bad, None) if role == "func" else (
        lib.capsule("counted_decay", ctypes.addressof(counted)), bad
    )  # fmt: skip
    before = lib.calls_without_user_data()
    expected = rf"^compiled {role} takes void \*user_data, but no user data was given"
    for full_output in (False, True):
        with pytest.raises(TypeError, match=expected):
            leastsq(func, X0, Dfun=dfun, m=M, full_output=full_output)
    assert counted.calls == 0
    assert lib.calls_without_user_data() == before


def test_ctypes_callback_written_in_python_works_with_the_gil_released(lib):
    # A CFUNCTYPE wrapping a Python function is a ctypes function pointer too: leastsq
    # releases the GIL, and ctypes takes it back around each call.
    def residuals(m, n, x, fvec, iflag):
        out = np.ctypeslib.as_array(fvec, (m,))
        out[:] = decay_twin(np.ctypeslib.as_array(x, (n,)).copy(), USER_DATA)

    func = WITHOUT_USER_DATA(residuals)
    got = leastsq(func, X0, m=M, full_output=True)
    assert_same_fit(got, python_fit(USER_DATA, with_dfun=False))


# ---- errors ----------------------------------------------------------------------------


def _bad_capsule(name):
    def make(lib, counted):
        return capsule(lib.address("counted_decay"), name, ctypes.addressof(counted))

    return make


def _bad_ctypes(restype, *argtypes):
    def make(lib, counted):
        return ctypes.CFUNCTYPE(restype, *argtypes)(lib.address("counted_decay"))

    return make


def _cdll_function(lib, counted):
    return lib.cdll.counted_decay  # argtypes None, restype c_int: ctypes' defaults


def _bad_low_level_callable(lib, counted):
    scipy = pytest.importorskip("scipy")
    prototype = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)
    return scipy.LowLevelCallable(
        prototype(lib.address("counted_decay")), ctypes.c_void_p(ctypes.addressof(counted))
    )


def _bad_numba_cfunc(lib, counted):
    numba = pytest.importorskip("numba")
    from numba import types

    @numba.cfunc(types.void(types.int64, types.int64, types.voidptr, types.voidptr,
                            types.voidptr, types.voidptr))  # fmt: skip
    def wrong(m, n, x, fvec, iflag, user_data):  # never called: it has no counter
        pass

    return wrong


WRONG = {
    "capsule-double(double)": _bad_capsule("double (double)"),
    "capsule-unnamed": _bad_capsule(None),
    "capsule-returning-int": _bad_capsule("int (int, int, double *, double *, int *, void *)"),
    "capsule-double-user-data": _bad_capsule(
        "void (int, int, double *, double *, int *, double *)"
    ),
    "capsule-fortran-style": _bad_capsule("void (int *, int *, double *, double *, int *)"),
    "ctypes-float-x": _bad_ctypes(
        None, ctypes.c_int, ctypes.c_int, FLOAT_P, DOUBLE_P, INT_P, ctypes.c_void_p
    ),
    "ctypes-restype-int": _bad_ctypes(
        ctypes.c_int, ctypes.c_int, ctypes.c_int, DOUBLE_P, DOUBLE_P, INT_P, ctypes.c_void_p
    ),
    "ctypes-too-few-arguments": _bad_ctypes(None, ctypes.c_int, ctypes.c_int, DOUBLE_P),
    "ctypes-cdll-defaults": _cdll_function,
    "LowLevelCallable-double(double)": _bad_low_level_callable,
    "numba-cfunc-int64": _bad_numba_cfunc,
}


@pytest.mark.parametrize("role", ["func", "Dfun"])
@pytest.mark.parametrize("wrong", WRONG.values(), ids=WRONG.keys())
def test_wrong_signature_raises_type_error_before_any_call(lib, role, wrong):
    counted = CountedData(USER_DATA.ctypes.data, 0, 0, 0)
    bad = wrong(lib, counted)
    good = lib.capsule("counted_decay", ctypes.addressof(counted))
    before = lib.calls_without_user_data()
    func, dfun = (bad, None) if role == "func" else (good, bad)
    expected = rf"^compiled {role} has signature .*; {EXPECTED_SIGNATURES}$"
    with pytest.raises(TypeError, match=expected):
        leastsq(func, X0, Dfun=dfun, m=M)
    assert counted.calls == 0
    assert lib.calls_without_user_data() == before


def test_wrong_dfun_signature_raises_before_a_python_func_is_called(lib):
    calls = []

    def func(p):
        calls.append(1)
        return decay_twin(p, STATIC_DATA)

    dfun = capsule(lib.address("counted_decay_jacobian"), "double (double)")
    with pytest.raises(TypeError, match=r"^compiled Dfun has signature 'double \(double\)'"):
        leastsq(func, X0, Dfun=dfun)
    assert calls == []


def test_compiled_func_without_m_raises_type_error(lib):
    counted = CountedData(USER_DATA.ctypes.data, 0, 0, 0)
    with pytest.raises(TypeError, match=r"^m \(the number of residuals\) is required"):
        leastsq(lib.capsule("counted_decay", ctypes.addressof(counted)), X0)
    assert counted.calls == 0


@pytest.mark.parametrize("m", [M - 1, M + 1], ids=["m=n_residuals-1", "m=n_residuals+1"])
def test_m_contradicting_a_python_func_raises_type_error(m):
    with pytest.raises(TypeError, match=rf"^m={m}, but func returned {M} residuals at x0$"):
        leastsq(decay_twin, X0, args=(USER_DATA,), m=m)


def test_m_agreeing_with_a_python_func_changes_nothing():
    got = leastsq(decay_twin, X0, args=(USER_DATA,), m=M, full_output=True)
    assert_same_fit(got, python_fit(USER_DATA, with_dfun=False))


@pytest.mark.parametrize("m", [2, 0, -1], ids=["m=2", "m=0", "m=-1"])
def test_compiled_func_with_m_below_n_raises_type_error(lib, m):
    counted = CountedData(USER_DATA.ctypes.data, 0, 0, 0)
    with pytest.raises(TypeError, match=rf"^Improper input: .*N=3 must not exceed .*M={m}$"):
        leastsq(lib.capsule("counted_decay", ctypes.addressof(counted)), X0, m=m)
    assert counted.calls == 0


# ---- a negative iflag stops the fit ----------------------------------------------------

STOPS = {
    "lmdif-func-stops": ("compiled", None, "func"),
    "lmder-func-stops": ("compiled", "compiled", "func"),
    "lmder-Dfun-stops": ("compiled", "compiled", "Dfun"),
    "lmder-func-stops-python-Dfun": ("compiled", "python", "func"),
    "lmder-Dfun-stops-python-func": ("python", "compiled", "Dfun"),
}


def stopped_fit(lib, case, stop_at, stop_with, **options):
    """Run a fit whose func or Dfun sets iflag = stop_with on its stop_at-th call."""
    func_kind, dfun_kind, stopper = STOPS[case]
    residual_count = CountedData(USER_DATA.ctypes.data, 0, 0, 0)
    jacobian_count = CountedData(USER_DATA.ctypes.data, 0, 0, 0)
    stopping = residual_count if stopper == "func" else jacobian_count
    stopping.stop_at, stopping.stop_with = stop_at, stop_with
    func = lib.capsule("counted_decay", ctypes.addressof(residual_count))
    dfun = lib.capsule("counted_decay_jacobian", ctypes.addressof(jacobian_count))
    all_compiled = "python" not in (func_kind, dfun_kind)
    result = leastsq(
        decay_twin if func_kind == "python" else func, X0,
        args=() if all_compiled else (USER_DATA,),  # args reach Python callbacks only
        Dfun={None: None, "python": decay_jacobian_twin, "compiled": dfun}[dfun_kind],
        m=M, **options,
    )  # fmt: skip
    return result, stopping


@pytest.mark.parametrize("stop_at", [1, 4], ids=["at-call-1", "at-call-4"])
@pytest.mark.parametrize("case", STOPS)
def test_negative_iflag_stops_the_fit_with_full_output(lib, case, stop_at):
    (x, cov_x, info, mesg, ier), stopping = stopped_fit(lib, case, stop_at, -3, full_output=True)
    assert ier == -3
    assert mesg == "The fit was stopped by func or Dfun, which set iflag = -3."
    assert cov_x is None
    assert stopping.calls == stop_at  # MINPACK made no further call
    if stop_at == 1 and STOPS[case][2] == "func":
        np.testing.assert_array_equal(x, X0)


@pytest.mark.parametrize("stop_with", [-3, -7], ids=["iflag=-3", "iflag=-7"])
@pytest.mark.parametrize("case", STOPS)
def test_negative_iflag_warns_without_full_output(lib, case, stop_with):
    message = f"The fit was stopped by func or Dfun, which set iflag = {stop_with}."
    with pytest.warns(RuntimeWarning, match=f"^{re.escape(message)}$"):
        result, stopping = stopped_fit(lib, case, 3, stop_with)
    x, ier = result
    assert ier == stop_with
    assert x.shape == X0.shape
    assert stopping.calls == 3


# ---- the GIL ---------------------------------------------------------------------------


def run_in_threads(functions):
    """Run each function in its own thread; their results, or re-raise the first error."""
    results = [None] * len(functions)
    errors = []

    def run(i):
        try:
            results[i] = functions[i]()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(functions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    if errors:
        raise errors[0]
    return results


def rendezvous_fits(lib, dfun_kind, timeout):
    """Two fits in two threads whose residuals meet on their first call."""
    arrived = ctypes.c_int(0)
    datasets = [decay_row(10), decay_row(11)]
    meetings = [
        RendezvousData(data.ctypes.data, ctypes.pointer(arrived), 2, 0, timeout, 0)
        for data in datasets
    ]

    def fit(data, meeting):
        func = lib.capsule("rendezvous_decay", ctypes.addressof(meeting))
        dfun = {
            None: None,
            "compiled": lib.capsule("decay_jacobian", data.ctypes.data),
            "python": decay_jacobian_twin,
        }[dfun_kind]
        args = (data,) if dfun_kind == "python" else ()  # args reach Python callbacks only
        return leastsq(func, X0, args=args, Dfun=dfun, m=M, full_output=True)

    results = run_in_threads(
        [
            lambda d=data, g=meeting: fit(d, g)
            for data, meeting in zip(datasets, meetings, strict=True)
        ]
    )
    for result, data in zip(results, datasets, strict=True):
        assert_same_fit(result, python_fit(data, with_dfun=dfun_kind is not None))
    return [meeting.saw_all for meeting in meetings]


@pytest.mark.parametrize("dfun_kind", [None, "compiled"], ids=["lmdif", "lmder"])
def test_compiled_fits_run_minpack_without_the_gil(lib, dfun_kind):
    # Each residual waits, on its first call, up to 10 s inside MINPACK for the other
    # fit's first call; if MINPACK held the GIL, the other could not get there.
    assert rendezvous_fits(lib, dfun_kind, timeout=10.0) == [1, 1]


@pytest.mark.skipif(
    not getattr(sys, "_is_gil_enabled", lambda: True)(),
    reason="the GIL-held path blocks other threads only when there is a GIL",
)
def test_mixed_compiled_and_python_callbacks_hold_the_gil(lib):
    # The negative control of the test above: with a Python Dfun, MINPACK runs with the
    # GIL held, so the first residual to arrive waits its 0.3 s alone, and only the
    # second sees both.  The fits still give the Python twin's results.
    assert sorted(rendezvous_fits(lib, "python", timeout=0.3)) == [0, 1]


# ---- threads ---------------------------------------------------------------------------


def capsule_fit(lib, data, with_dfun):
    func = lib.capsule("decay", data.ctypes.data)
    dfun = lib.capsule("decay_jacobian", data.ctypes.data) if with_dfun else None
    return leastsq(func, X0, Dfun=dfun, m=M, full_output=True)


@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_concurrent_compiled_fits_equal_serial_fits(lib, with_dfun):
    threads, fits_per_thread = 8, 50
    datasets = [decay_row(100 + seed) for seed in range(threads * fits_per_thread)]
    serial = [capsule_fit(lib, data, with_dfun) for data in datasets]
    assert len({result[0].tobytes() for result in serial}) == len(datasets)  # all different
    start = threading.Barrier(threads, timeout=60)

    def worker(first):
        start.wait()
        return [capsule_fit(lib, data, with_dfun) for data in datasets[first::threads]]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        per_thread = list(pool.map(worker, range(threads)))
    for first, results in enumerate(per_thread):
        for result, expected in zip(results, serial[first::threads], strict=True):
            assert_same_fit(result, expected)


@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_compiled_fit_nested_in_a_python_func(lib, with_dfun):
    inner_data = decay_row(7)
    inner_expected = capsule_fit(lib, inner_data, with_dfun)
    inner_results = []

    def func(p, data):
        inner_results.append(capsule_fit(lib, inner_data, with_dfun))
        return decay_twin(p, data)

    dfun = decay_jacobian_twin if with_dfun else None
    nested = leastsq(func, X0, args=(USER_DATA,), Dfun=dfun, full_output=True)
    assert_same_fit(nested, python_fit(USER_DATA, with_dfun))
    assert len(inner_results) == nested[2]["nfev"]
    for result in inner_results:
        assert_same_fit(result, inner_expected)


def test_compiled_fits_nested_in_python_funcs_in_threads(lib):
    def outer(seed):
        inner_data = decay_row(200 + seed)
        inner_results = []

        def func(p, data):
            inner_results.append(capsule_fit(lib, inner_data, with_dfun=True))
            return decay_twin(p, data)

        result = leastsq(func, X0, args=(decay_row(300 + seed),), full_output=True)
        return result, inner_results, capsule_fit(lib, inner_data, with_dfun=True)

    seeds = range(4)
    for seed, (result, inners, inner_expected) in zip(
        seeds, run_in_threads([lambda s=seed: outer(s) for seed in seeds]), strict=True
    ):
        assert_same_fit(result, python_fit(decay_row(300 + seed), with_dfun=False))
        assert len(inners) == result[2]["nfev"]
        for inner in inners:
            assert_same_fit(inner, inner_expected)


@pytest.mark.skipif(
    getattr(sys, "_is_gil_enabled", lambda: True)(),
    reason="needs a free-threaded CPython (3.13t/3.14t)",
)
def test_free_threaded_concurrent_python_and_compiled_fits_equal_serial_fits(lib):
    datasets = [decay_row(500 + seed) for seed in range(64)]

    def run(i):
        data = datasets[i]
        if i % 4 == 0:
            return python_fit(data, with_dfun=False)
        if i % 4 == 1:
            return python_fit(data, with_dfun=True)
        if i % 4 == 2:
            return capsule_fit(lib, data, with_dfun=i % 8 == 2)
        func = lib.capsule("decay", data.ctypes.data)  # mixed: compiled func, Python Dfun
        return leastsq(func, X0, args=(data,), Dfun=decay_jacobian_twin, m=M, full_output=True)

    serial = [run(i) for i in range(len(datasets))]
    start = threading.Barrier(8, timeout=60)

    def worker(first):
        start.wait()
        return [run(i) for i in range(first, len(datasets), 8)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        per_thread = list(pool.map(worker, range(8)))
    for first, results in enumerate(per_thread):
        for result, expected in zip(results, serial[first::8], strict=True):
            assert_same_fit(result, expected)


@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_args_with_only_compiled_callbacks_raise_type_error(lib, with_dfun):
    counted = CountedData(USER_DATA.ctypes.data, 0, 0, 0)
    func = lib.capsule("counted_decay", ctypes.addressof(counted))
    dfun = lib.capsule("decay_jacobian", USER_DATA.ctypes.data) if with_dfun else None
    with pytest.raises(TypeError, match="args are passed to Python callbacks only"):
        leastsq(func, X0, args=(1.0,), Dfun=dfun, m=M)
    assert counted.calls == 0


def test_m_must_be_an_integer_not_a_bool(lib):
    counted = CountedData(USER_DATA.ctypes.data, 0, 0, 0)
    with pytest.raises(TypeError, match="m must be an integer, not True"):
        leastsq(lib.capsule("counted_decay", ctypes.addressof(counted)), X0, m=True)
    assert counted.calls == 0


def test_a_ctypes_callback_is_freed_as_soon_as_its_caller_drops_it():
    # Reading its address with ctypes.cast would put it in a reference cycle, freed only by
    # the garbage collector: with what it holds (here a marker; in practice, data).
    class Marker:
        pass

    marker = Marker()
    alive = weakref.ref(marker)

    def residuals(m, n, x, fvec, iflag, held=marker):
        for i in range(m):
            fvec[i] = x[0] - i

    func = WITHOUT_USER_DATA(residuals)
    del marker, residuals
    enabled = gc.isenabled()
    gc.disable()
    try:
        x, ier = leastsq(func, [0.0], m=3)
        assert ier in (1, 2, 3, 4)
        del func
        assert alive() is None
    finally:
        if enabled:
            gc.enable()
