"""How leastsq calls func and Dfun: copies, call counts, exceptions, no noise."""

import traceback
import weakref

import numpy as np
import pytest
from helpers.decay import NOISY, P0, T, residuals
from helpers.decay import jacobian as decay_jacobian

from minpack import leastsq


def decay(p, y=NOISY):
    return residuals(p, y)


class BoomError(Exception):
    pass


def _raise_on_call(k, wrapped):
    """Wrap a function so that its k-th call (1-based) raises BoomError."""
    calls = []

    def function(p, *args):
        calls.append(1)
        if len(calls) == k:
            raise BoomError(f"call {k}")
        return wrapped(p, *args)

    function.calls = calls
    return function


@pytest.mark.parametrize("k", [1, 2, 4], ids=["at-x0", "second-call", "fourth-call"])
@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_exception_in_func_propagates_unchanged(k, with_dfun, capfd):
    func = _raise_on_call(k, decay)
    with pytest.raises(BoomError) as caught:
        leastsq(func, P0, Dfun=decay_jacobian if with_dfun else None)
    # MINPACK stopped at once: func was not called again after raising.
    assert len(func.calls) == k
    # The traceback still reaches the line in the user's function that raised.
    frames = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert frames[-1] == "function"
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("k", [1, 3], ids=["at-x0", "third-call"])
def test_exception_in_dfun_propagates_unchanged(k, capfd):
    raised = BoomError("from Dfun")
    calls = []

    def jacobian(p):
        calls.append(1)
        if len(calls) == k:
            raise raised
        return decay_jacobian(p)

    with pytest.raises(BoomError) as caught:
        leastsq(decay, P0, Dfun=jacobian, full_output=True)
    assert caught.value is raised
    assert len(calls) == k
    assert capfd.readouterr() == ("", "")


def test_keyboard_interrupt_in_func_stops_the_fit():
    func = _raise_on_call(4, decay)

    def interrupted(p):
        try:
            return func(p)
        except BoomError:
            raise KeyboardInterrupt from None

    with pytest.raises(KeyboardInterrupt):
        leastsq(interrupted, P0)
    assert len(func.calls) == 4
    # The package is still usable afterwards.
    assert leastsq(decay, P0)[1] in (1, 2, 3, 4)


def test_exception_is_freed_without_the_garbage_collector():
    import gc
    import weakref

    func = _raise_on_call(3, decay)  # raised inside MINPACK, through the trampoline

    gc.disable()  # a reference cycle through the traceback would keep it alive now
    try:
        try:
            leastsq(func, P0)
        except BoomError as exc:
            ref = weakref.ref(exc)
        assert ref() is None
    finally:
        gc.enable()


def _recording(function):
    """Wrap a function so that it records a copy of every x it is called with."""
    seen = []

    def recorded(p, *args):
        seen.append(p.copy())
        return function(p, *args)

    recorded.seen = seen
    return recorded


def test_func_runs_once_at_x0_and_counts_match_nfev():
    func = _recording(decay)
    _, _, info, _, ier = leastsq(func, P0, full_output=True)
    assert ier in (1, 2, 3, 4)
    assert len(func.seen) == info["nfev"]
    at_x0 = [p for p in func.seen if np.array_equal(p, P0)]
    assert len(at_x0) == 1


@pytest.mark.parametrize("col_deriv", [False, True], ids=["row-major", "col-deriv"])
def test_dfun_runs_once_at_x0_and_counts_match_njev(col_deriv):
    func = _recording(decay)
    jac = _recording(lambda p: decay_jacobian(p).T if col_deriv else decay_jacobian(p))
    _, _, info, _, ier = leastsq(func, P0, Dfun=jac, col_deriv=col_deriv, full_output=True)
    assert ier in (1, 2, 3, 4)
    assert len(func.seen) == info["nfev"]
    assert len(jac.seen) == info["njev"]
    assert sum(np.array_equal(p, P0) for p in jac.seen) == 1
    assert sum(np.array_equal(p, P0) for p in func.seen) == 1


@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_func_gets_a_private_copy_of_x(with_dfun):
    expected = leastsq(decay, P0, Dfun=decay_jacobian if with_dfun else None, full_output=True)
    received = []

    def vandal(p):
        received.append(p)
        value = decay(p)
        p[:] = 1e300  # scribbling on x must not reach MINPACK
        return value

    def vandal_jacobian(p):
        value = decay_jacobian(p)
        p[:] = -1e300
        return value

    found = leastsq(vandal, P0, Dfun=vandal_jacobian if with_dfun else None, full_output=True)
    np.testing.assert_array_equal(found[0], expected[0])
    assert found[2]["nfev"] == expected[2]["nfev"]
    assert found[4] == expected[4]
    # every call got a new array, none sharing memory with another
    assert len({id(p) for p in received}) == len(received)


@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_func_returning_the_same_buffer_every_call(with_dfun):
    buffer = np.empty_like(NOISY)
    jac_buffer = np.empty((NOISY.size, 3))

    def in_place(p):
        np.subtract(p[0] * np.exp(-p[1] * T) + p[2], NOISY, out=buffer)
        return buffer

    def jac_in_place(p):
        jac_buffer[...] = decay_jacobian(p)
        return jac_buffer

    dfun_pair = (decay_jacobian, jac_in_place) if with_dfun else (None, None)
    expected = leastsq(decay, P0, Dfun=dfun_pair[0], full_output=True)
    found = leastsq(in_place, P0, Dfun=dfun_pair[1], full_output=True)
    np.testing.assert_array_equal(found[0], expected[0])
    assert found[4] == expected[4] and found[4] in (1, 2, 3, 4)
    assert found[2]["nfev"] == expected[2]["nfev"]


def test_callers_arrays_are_not_modified():
    x0 = P0.copy()
    diag = np.array([1.0, 2.0, 3.0])
    y = NOISY.copy()
    for dfun in (None, decay_jacobian):
        leastsq(decay, x0, args=(y,), Dfun=dfun, diag=diag, full_output=True)
        leastsq(decay, x0, args=(y,), Dfun=dfun, diag=diag)
    np.testing.assert_array_equal(x0, P0)
    np.testing.assert_array_equal(diag, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(y, NOISY)


def test_returned_x_is_not_the_callers_x0():
    x0 = P0.copy()
    x, _ = leastsq(decay, x0)
    assert not np.shares_memory(x, x0)


def test_func_receives_float64_vector_and_args():
    seen = []

    def func(p, scale, offset):
        seen.append((p.dtype, p.shape, scale, offset))
        return scale * (p - offset)

    x, ier = leastsq(func, [[1, 2], [3, 4]], args=(2.0, 1.5))
    assert ier in (1, 2, 3, 4)
    np.testing.assert_allclose(x, [1.5] * 4)
    assert seen[0] == (np.float64, (4,), 2.0, 1.5)


def test_non_tuple_args_is_wrapped():
    x, ier = leastsq(lambda p, target: p - target, [0.0, 0.0], args=np.array([1.0, 2.0]))
    assert ier in (1, 2, 3, 4)
    np.testing.assert_allclose(x, [1.0, 2.0])


def test_nested_fit_inside_func():
    def inner_offset(c):
        x, _ = leastsq(lambda q: np.array([q[0] - c, 2.0 * (q[0] - c)]), [0.0])
        return x[0]

    def outer(p):
        return decay(p) + 0.0 * inner_offset(p[2])

    nested = leastsq(outer, P0, full_output=True)
    plain = leastsq(decay, P0, full_output=True)
    np.testing.assert_array_equal(nested[0], plain[0])
    assert nested[2]["nfev"] == plain[2]["nfev"]


@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_an_x_the_user_can_still_reach_is_never_reused(with_dfun):
    # leastsq may hand an x array to the next call only when nothing else can reach it;
    # a weak reference, a view or a stored reference must each keep x as it was.
    weak, views, kept = [], [], []

    def func(p):
        weak.append((weakref.ref(p), p.copy()))
        if len(weak) % 3 == 1:
            views.append((p[:], p.copy()))
        elif len(weak) % 3 == 2:
            kept.append((p, p.copy()))
        return decay(p)

    leastsq(func, P0, Dfun=decay_jacobian if with_dfun else None)
    for array, value in views + kept:
        np.testing.assert_array_equal(array, value)
    for ref, value in weak:
        if ref() is not None:
            np.testing.assert_array_equal(ref(), value)


def test_residuals_at_x0_are_copied_even_when_func_keeps_no_reference():
    # With improper input MINPACK returns before its first evaluation and fvec is what
    # func returned at x0: a copy, never func's own array, whether func kept it or not.
    buffer = np.empty(decay(np.array(P0)).shape)

    def reusing(p):
        buffer[:] = decay(p)
        return buffer

    for func in (reusing, decay):
        returned = []

        def recording(p, func=func, returned=returned):
            returned.append(func(p))
            return returned[-1]

        _, _, info, _, ier = leastsq(recording, P0, full_output=True, ftol=-1.0)
        assert ier == 0
        assert info["fvec"] is not returned[0]
        np.testing.assert_array_equal(info["fvec"], decay(np.array(P0)))
        returned[0][:] = 0.0
        np.testing.assert_array_equal(info["fvec"], decay(np.array(P0)))
