"""What the batch tests share: the decay problems, leastsq references, bitwise checks, Ctrl-C.

A problem's data row is m values t, then m values y (``decay_rows``), as the compiled
``decay`` callbacks of tests/compiled/callbacks.c read their user data.
"""

import signal
import threading
from contextlib import contextmanager

import numpy as np
import pytest

from helpers.compiled import residuals
from minpack import leastsq

T = np.linspace(0.0, 4.0, 40)
M = T.size
N = 3
X0 = np.array([1.0, 1.0, 0.0])
SUCCESS = (1, 2, 3, 4)
# MINPACK's fnorm is its enorm, which sums squares scaled into three magnitude ranges; the
# reference is numpy's unscaled pairwise sum.  Each is within m·eps (m = 40: 9e-15) of the
# exact sum of squares, and the square root halves that, so they agree to 1e-14 relative:
# far tighter than any difference between two fits, but not necessarily to the last bit.
FNORM_RTOL = 1e-14


def decay_rows(count, seed=0, extra=None):
    """``count`` data rows of noisy decays: m values t, then m values y (then ``extra``)."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform([1.0, 0.5, -1.0], [3.0, 2.0, 1.0], (count, 3))
    y = truth[:, :1] * np.exp(-truth[:, 1:2] * T) + truth[:, 2:]
    y += 0.01 * rng.standard_normal((count, M))
    columns = [np.broadcast_to(T, (count, M)), y]
    if extra is not None:
        columns.append(np.asarray(extra, dtype=np.float64).reshape(count, -1))
    return np.hstack(columns)


def bits(array):
    return np.asarray(array, dtype=np.float64).view(np.uint64)


def assert_each_is_leastsqs(result, references, with_dfun):
    """Problem k of ``result`` is ``references[k]`` (leastsq's full output) to the bit."""
    count, n = len(references), result.x.shape[1]
    assert result.x.shape == (count, n) and result.x.dtype == np.float64
    assert result.ier.shape == result.nfev.shape == result.fnorm.shape == (count,)
    assert result.cov_x.shape == (count, n, n)
    assert result.success.shape == (count,) and result.success.dtype == np.bool_
    if with_dfun:
        assert result.njev.shape == (count,)
    else:
        assert result.njev is None
    for k, (x, cov_x, info, mesg, ier) in enumerate(references):
        where = f"problem {k}"
        assert result.ier[k] == ier, where
        np.testing.assert_array_equal(bits(result.x[k]), bits(x), err_msg=where)
        assert result.nfev[k] == info["nfev"], where
        if with_dfun:
            assert result.njev[k] == info["njev"], where
        if cov_x is None:
            assert np.isnan(result.cov_x[k]).all(), where
        else:
            np.testing.assert_array_equal(bits(result.cov_x[k]), bits(cov_x), err_msg=where)
        expected_fnorm = np.linalg.norm(np.asarray(info["fvec"], dtype=np.float64))
        np.testing.assert_allclose(
            result.fnorm[k], expected_fnorm, rtol=FNORM_RTOL, atol=0, err_msg=where
        )
        assert result.success[k] == (ier in SUCCESS), where
        assert result.message(result.ier[k]) == mesg, where


def python_references(x0s, rows, dfun=None, col_deriv=False, args=(), **options):
    return [
        leastsq(residuals, x0, args=(row, *args), Dfun=dfun, col_deriv=col_deriv,
                full_output=True, **options)
        for x0, row in zip(x0s, rows, strict=True)
    ]  # fmt: skip


# leastsq's options, shared by all problems, and the iers that the fits may end with
# (None: any), so that each case is what its name says; together they reach ier 0 to 7.
OPTIONS = {
    "defaults": ({}, None),
    "diag": ({"diag": [1.0, 2.0, 0.5]}, None),
    "ftol-xtol-factor-epsfcn-ier2-3": (
        {"ftol": 1e-4, "xtol": 1e-3, "factor": 0.5, "epsfcn": 1e-9},
        {2, 3},
    ),
    "gtol-ier4": ({"gtol": 0.5}, {4}),
    "zero-tolerances-ier6-7": ({"ftol": 0.0, "xtol": 0.0, "gtol": 0.0}, {6, 7}),
    "maxfev=3-ier5": ({"maxfev": 3}, {5}),
    "ftol=-1-ier0": ({"ftol": -1.0}, {0}),
    "zero-in-diag-ier0": ({"diag": [1.0, 0.0, 1.0]}, {0}),
}


def check_expected_ier(references, expected):
    """The case tests what its name says (every problem ends with an expected ier)."""
    if expected is not None:
        assert {ier for *_, ier in references} <= expected


@contextmanager
def sigint_after(seconds):
    """Send SIGINT to the main thread after ``seconds``, unless the block has ended.

    Python's own handler is put in place for the block: a process started in the
    background (a CI job, nohup) inherits SIGINT ignored, and Python then keeps ignoring it.
    """
    if not hasattr(signal, "pthread_kill"):
        pytest.skip("needs signal.pthread_kill (POSIX)")
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    lock = threading.Lock()
    state = {"armed": True, "sent": False}

    def interrupt():
        with lock:
            if state["armed"]:
                state["sent"] = True
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(seconds, interrupt)
    timer.start()
    try:
        yield state
    finally:
        with lock:
            state["armed"] = False  # a batch that ended on its own gets no late SIGINT
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGINT, previous)
