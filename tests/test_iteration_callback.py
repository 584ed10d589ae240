"""leastsq's iteration callback: MINPACK's nprint, from Python."""

import numpy as np
import pytest
from helpers.compiled import WITHOUT_USER_DATA
from helpers.decay import NOISY, P0, jacobian, residuals

from minpack import leastsq


class Log:
    """A callback that records what it receives, and can ask to stop."""

    def __init__(self, stop_at=None):
        self.calls = []
        self.stop_at = stop_at

    def __call__(self, x, fnorm, nfev):
        self.calls.append((x, fnorm, nfev))
        return self.stop_at is not None and len(self.calls) >= self.stop_at


@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_callback_changes_nothing_in_the_fit(with_dfun):
    dfun = jacobian if with_dfun else None
    plain = leastsq(residuals, P0, Dfun=dfun, full_output=True)
    log = Log()
    watched = leastsq(residuals, P0, Dfun=dfun, full_output=True, callback=log)
    np.testing.assert_array_equal(watched[0], plain[0])
    np.testing.assert_array_equal(watched[1], plain[1])
    assert watched[2]["nfev"] == plain[2]["nfev"]
    assert (watched[3], watched[4]) == (plain[3], plain[4])
    assert len(log.calls) >= 2


@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_callback_sees_each_iterate_its_norm_and_the_evaluations(with_dfun):
    log = Log()
    x, cov_x, info, mesg, ier = leastsq(
        residuals, P0, Dfun=jacobian if with_dfun else None, full_output=True, callback=log
    )
    first_x, first_norm, first_nfev = log.calls[0]
    np.testing.assert_array_equal(first_x, P0)  # the start of the first iteration
    assert first_norm == pytest.approx(np.linalg.norm(residuals(P0)), rel=1e-14)
    final_x, final_norm, final_nfev = log.calls[-1]  # MINPACK's call before returning
    np.testing.assert_array_equal(final_x, x)
    assert final_norm == pytest.approx(np.linalg.norm(info["fvec"]), rel=1e-14)
    assert final_nfev == info["nfev"]
    counts = [nfev for _, _, nfev in log.calls]
    assert counts == sorted(counts)
    # each x is a private copy
    assert len({id(call[0]) for call in log.calls}) == len(log.calls)


@pytest.mark.parametrize("stop_at", [1, 3], ids=["first-iteration", "third-iteration"])
@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_callback_returning_true_stops_at_that_iterate(stop_at, with_dfun):
    log = Log(stop_at=stop_at)
    x, cov_x, info, mesg, ier = leastsq(
        residuals, P0, Dfun=jacobian if with_dfun else None, full_output=True, callback=log
    )
    assert ier == -1
    assert mesg == "The fit was stopped by the callback, which returned True."
    assert cov_x is None
    assert len(log.calls) == stop_at
    np.testing.assert_array_equal(x, log.calls[-1][0])
    assert info["nfev"] == log.calls[-1][2]


def test_stop_without_full_output_returns_without_a_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, ier = leastsq(residuals, P0, callback=lambda x, fnorm, nfev: True)
    assert ier == -1
    np.testing.assert_array_equal(x, P0)


class CallbackError(Exception):
    pass


def test_exception_in_callback_propagates_unchanged(capfd):
    raised = CallbackError("from the callback")
    calls = []

    def callback(x, fnorm, nfev):
        calls.append(nfev)
        if len(calls) == 2:
            raise raised

    with pytest.raises(CallbackError) as caught:
        leastsq(residuals, P0, callback=callback)
    assert caught.value is raised
    assert len(calls) == 2
    assert capfd.readouterr() == ("", "")


def test_callback_with_a_compiled_func():
    # A compiled residual through ctypes (the GIL is held while a callback is set).
    @WITHOUT_USER_DATA
    def compiled_residuals(m, n, x, fvec, iflag):
        values = residuals(np.ctypeslib.as_array(x, (n,)).copy())
        np.ctypeslib.as_array(fvec, (m,))[:] = values

    log = Log()
    watched = leastsq(compiled_residuals, P0, m=NOISY.size, full_output=True, callback=log)
    plain = leastsq(residuals, P0, full_output=True)
    np.testing.assert_array_equal(watched[0], plain[0])
    assert watched[2]["nfev"] == plain[2]["nfev"] == log.calls[-1][2]
    stopped = leastsq(compiled_residuals, P0, m=NOISY.size, full_output=True,
                      callback=Log(stop_at=2))  # fmt: skip
    assert stopped[4] == -1
