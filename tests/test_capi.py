"""minpack.capi: MINPACK's entry points for other compiled code give leastsq's results."""

import ctypes

import numpy as np
import pytest
from helpers.compiled import FORTRAN_FCN, FORTRAN_JAC_FCN, WITH_USER_DATA, capsule_name

import minpack

P = ctypes.POINTER
INT, DOUBLE = ctypes.c_int, ctypes.c_double
T = np.linspace(0.0, 4.0, 50)
Y = 2.5 * np.exp(-1.3 * T) + 0.5 + 0.02 * np.random.default_rng(3).standard_normal(50)
X0 = np.array([1.0, 1.0, 0.0])
M, N = T.size, X0.size
# leastsq's defaults, as MINPACK receives them.
FTOL = XTOL = 1.49012e-08
EPSFCN = float(np.finfo(np.float64).eps)


def decay(p):
    return p[0] * np.exp(-p[1] * T) + p[2] - Y


def decay_jacobian(p):
    e = np.exp(-p[1] * T)
    return np.column_stack([e, -p[0] * T * e, np.ones_like(T)])


class Workspace:
    """The arrays lmdif/lmder take, as ctypes pointers, with leastsq's default settings."""

    def __init__(self):
        self.x = X0.copy()
        self.arrays = {
            name: np.zeros(size)
            for name, size in [("fvec", M), ("fjac", M * N), ("diag", N), ("qtf", N),
                               ("wa1", N), ("wa2", N), ("wa3", N), ("wa4", M)]
        }  # fmt: skip
        self.ipvt = np.zeros(N, dtype=np.intc)
        self.info, self.nfev, self.njev = INT(), INT(), INT()

    def pointer(self, name):
        array = self.x if name == "x" else self.arrays[name]
        return array.ctypes.data_as(P(DOUBLE))

    def lmdif_tail(self):
        """lmdif's arguments from m on."""
        return [
            ctypes.byref(INT(M)), ctypes.byref(INT(N)), self.pointer("x"), self.pointer("fvec"),
            ctypes.byref(DOUBLE(FTOL)), ctypes.byref(DOUBLE(XTOL)), ctypes.byref(DOUBLE(0.0)),
            ctypes.byref(INT(200 * (N + 1))), ctypes.byref(DOUBLE(EPSFCN)), self.pointer("diag"),
            ctypes.byref(INT(1)), ctypes.byref(DOUBLE(100.0)), ctypes.byref(INT(0)),
            ctypes.byref(self.info), ctypes.byref(self.nfev), self.pointer("fjac"),
            ctypes.byref(INT(M)), self.ipvt.ctypes.data_as(P(INT)), self.pointer("qtf"),
            self.pointer("wa1"), self.pointer("wa2"), self.pointer("wa3"), self.pointer("wa4"),
        ]  # fmt: skip

    def lmder_tail(self):
        """lmder's arguments from m on."""
        return [
            ctypes.byref(INT(M)), ctypes.byref(INT(N)), self.pointer("x"), self.pointer("fvec"),
            self.pointer("fjac"), ctypes.byref(INT(M)), ctypes.byref(DOUBLE(FTOL)),
            ctypes.byref(DOUBLE(XTOL)), ctypes.byref(DOUBLE(0.0)),
            ctypes.byref(INT(100 * (N + 1))), self.pointer("diag"), ctypes.byref(INT(1)),
            ctypes.byref(DOUBLE(100.0)), ctypes.byref(INT(0)), ctypes.byref(self.info),
            ctypes.byref(self.nfev), ctypes.byref(self.njev), self.ipvt.ctypes.data_as(P(INT)),
            self.pointer("qtf"), self.pointer("wa1"), self.pointer("wa2"), self.pointer("wa3"),
            self.pointer("wa4"),
        ]  # fmt: skip


def _function(name, restype, *argtypes):
    """minpack.capi[name] as a ctypes function of the given prototype."""
    return ctypes.CFUNCTYPE(restype, *argtypes)(minpack.capi_address(name))


def _expected(**kwargs):
    x, cov_x, info, mesg, ier = minpack.leastsq(decay, X0, full_output=True, **kwargs)
    return x, info["nfev"], info.get("njev"), ier


def test_capsules_are_named_by_their_signatures():
    assert set(minpack.capi) == {"lmdif", "lmder", "lmdif_with_user_data", "lmder_with_user_data"}
    for name, capsule in minpack.capi.items():
        signature = capsule_name(capsule).decode()
        assert signature.startswith("void (void (*)(")
        assert minpack.capi_address(name) != 0
    with pytest.raises(TypeError):
        minpack.capi["lmdif"] = None  # read-only


def test_raw_lmdif_gives_leastsqs_result():
    @FORTRAN_FCN
    def fcn(m, n, x, fvec, iflag):
        values = decay(np.ctypeslib.as_array(x, (n[0],)).copy())
        np.ctypeslib.as_array(fvec, (m[0],))[:] = values

    work = Workspace()
    _function("lmdif", None, FORTRAN_FCN, *[ctypes.c_void_p] * 23)(fcn, *work.lmdif_tail())
    x, nfev, _, ier = _expected()
    np.testing.assert_array_equal(work.x, x)
    assert (work.nfev.value, work.info.value) == (nfev, ier)


def test_raw_lmder_gives_leastsqs_result():
    @FORTRAN_JAC_FCN
    def fcn(m, n, x, fvec, fjac, ldfjac, iflag):
        p = np.ctypeslib.as_array(x, (n[0],)).copy()
        if iflag[0] == 2:
            out = np.ctypeslib.as_array(fjac, (n[0] * ldfjac[0],)).reshape(n[0], ldfjac[0])
            out[:, : m[0]] = decay_jacobian(p).T  # column-major m x n
        else:
            np.ctypeslib.as_array(fvec, (m[0],))[:] = decay(p)

    work = Workspace()
    _function("lmder", None, FORTRAN_JAC_FCN, *[ctypes.c_void_p] * 23)(fcn, *work.lmder_tail())
    x, nfev, njev, ier = _expected(Dfun=decay_jacobian)
    np.testing.assert_array_equal(work.x, x)
    assert (work.nfev.value, work.njev.value, work.info.value) == (nfev, njev, ier)


def _user_data_callbacks(seen_user_data):
    """Residual and Jacobian callbacks that record the user data they receive."""

    @WITH_USER_DATA
    def residual(m, n, x, fvec, iflag, user_data):
        seen_user_data.add(user_data)
        np.ctypeslib.as_array(fvec, (m,))[:] = decay(np.ctypeslib.as_array(x, (n,)).copy())

    @WITH_USER_DATA
    def jacobian(m, n, x, fjac, iflag, user_data):
        seen_user_data.add(user_data)
        out = np.ctypeslib.as_array(fjac, (m * n,)).reshape(n, m)
        out[:] = decay_jacobian(np.ctypeslib.as_array(x, (n,)).copy()).T

    return residual, jacobian


def test_lmdif_with_user_data_gives_leastsqs_result():
    seen = set()
    residual, _ = _user_data_callbacks(seen)
    work = Workspace()
    lmdif = _function("lmdif_with_user_data", None, WITH_USER_DATA, *[ctypes.c_void_p] * 24)
    lmdif(residual, 12345, *work.lmdif_tail())
    x, nfev, _, ier = _expected()
    np.testing.assert_array_equal(work.x, x)
    assert (work.nfev.value, work.info.value) == (nfev, ier)
    assert seen == {12345}


def test_lmder_with_user_data_gives_leastsqs_result():
    seen = set()
    residual, jacobian = _user_data_callbacks(seen)
    work = Workspace()
    lmder = _function(
        "lmder_with_user_data", None, WITH_USER_DATA, WITH_USER_DATA, *[ctypes.c_void_p] * 24
    )
    lmder(residual, jacobian, 777, *work.lmder_tail())
    x, nfev, njev, ier = _expected(Dfun=decay_jacobian)
    np.testing.assert_array_equal(work.x, x)
    assert (work.nfev.value, work.njev.value, work.info.value) == (nfev, njev, ier)
    assert seen == {777}


def test_numba_njit_loop_calls_lmdif_through_capi():
    numba = pytest.importorskip("numba")
    scipy = pytest.importorskip("scipy")
    from numba import carray, types

    signature = types.void(types.intc, types.intc, types.CPointer(types.double),
                           types.CPointer(types.double), types.CPointer(types.intc),
                           types.voidptr)  # fmt: skip

    @numba.cfunc(signature)
    def residual(m, n, x, fvec, iflag, user_data):
        data = carray(user_data, (2, m), dtype=np.float64)  # rows t and y
        for i in range(m):
            fvec[i] = x[0] * np.exp(-x[1] * data[0, i]) + x[2] - data[1, i]

    lmdif = _function("lmdif_with_user_data", None, ctypes.c_void_p, *[ctypes.c_void_p] * 24)
    residual_address = residual.address

    @numba.njit
    def fit_all(datasets, x0):
        """Fit every (t, y) data set from x0 with leastsq's defaults, in compiled code."""
        k, _, m = datasets.shape
        n = x0.size
        found, ier = np.empty((k, n)), np.empty(k, dtype=np.intc)
        # m, n, maxfev, mode, nprint, info, nfev, ldfjac; then ftol, xtol, gtol, epsfcn, factor
        ints, reals = np.empty(8, dtype=np.intc), np.empty(5)
        ipvt = np.empty(n, dtype=np.intc)
        fvec, fjac, diag, qtf = np.empty(m), np.empty(m * n), np.empty(n), np.empty(n)
        wa1, wa2, wa3, wa4 = np.empty(n), np.empty(n), np.empty(n), np.empty(m)
        for j in range(k):
            x = x0.copy()
            ints[:] = (m, n, 200 * (n + 1), 1, 0, 0, 0, m)
            reals[:] = (1.49012e-08, 1.49012e-08, 0.0, 2.220446049250313e-16, 100.0)
            data = np.ascontiguousarray(datasets[j])
            lmdif(residual_address, data.ctypes.data, ints[0:].ctypes, ints[1:].ctypes,
                  x.ctypes, fvec.ctypes, reals[0:].ctypes, reals[1:].ctypes, reals[2:].ctypes,
                  ints[2:].ctypes, reals[3:].ctypes, diag.ctypes, ints[3:].ctypes,
                  reals[4:].ctypes, ints[4:].ctypes, ints[5:].ctypes, ints[6:].ctypes,
                  fjac.ctypes, ints[7:].ctypes, ipvt.ctypes, qtf.ctypes, wa1.ctypes,
                  wa2.ctypes, wa3.ctypes, wa4.ctypes)  # fmt: skip
            found[j], ier[j] = x, ints[5]
        return found, ier

    rng = np.random.default_rng(11)
    datasets = np.array(
        [[T, (2.0 + k) * np.exp(-T) + 0.5 + 0.02 * rng.standard_normal(M)] for k in range(5)]
    )
    found, ier = fit_all(datasets, X0)
    for k, data in enumerate(datasets):
        # The same compiled residual through leastsq, with the data as its user data.
        data = np.ascontiguousarray(data)
        callback = scipy.LowLevelCallable(residual.ctypes, ctypes.c_void_p(data.ctypes.data))
        x, expected_ier = minpack.leastsq(callback, X0, m=M)
        np.testing.assert_array_equal(found[k], x)
        assert ier[k] == expected_ier
        np.testing.assert_allclose(x, [2.0 + k, 1.0, 0.5], rtol=0.05)
