"""Sizes MINPACK's 32-bit integers cannot hold, and fits larger than memory.

Both are refused before anything is allocated: a ValueError naming the size, or a
MemoryError.  Large inputs here are broadcast views, which cost no memory, so that a
copy made too early would show up as a slow test or an out-of-memory kill.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers.compiled import WITH_USER_DATA

import minpack
from minpack import _memory

INT_MAX = 2**31 - 1


def never_called(*args):
    raise AssertionError("func was called")


@pytest.mark.parametrize(("m", "n"), [(INT_MAX // 2 + 1, 2), (46342, 46340), (2**31, 1)])
def test_m_times_n_over_int_max_is_a_value_error_before_any_call(m, n):
    func = WITH_USER_DATA(never_called)
    error = f"m={m} is larger" if m > INT_MAX else f"m\\*n = {m}\\*{n} is larger"
    with pytest.raises(ValueError, match=error):
        minpack.leastsq(func, np.ones(n), m=m)


@pytest.mark.parametrize(("m", "n"), [(2**31, 1), (2**30, 2)])
def test_a_python_func_returning_too_many_residuals_is_a_value_error(m, n):
    with pytest.raises(ValueError, match="larger than MINPACK's limit"):
        minpack.leastsq(lambda p: np.broadcast_to(1.0, (m,)), np.ones(n))


def test_an_x0_longer_than_any_fit_is_a_value_error_before_it_is_copied():
    with pytest.raises(ValueError, match="x0 has 2147483648 elements; MINPACK's limit"):
        minpack.leastsq(never_called, np.broadcast_to(1.0, (2**31,)))
    with pytest.raises(ValueError, match="n <= 46340"):
        minpack.leastsq(never_called, np.zeros(46341))


def test_a_diag_of_the_wrong_length_is_refused_before_it_is_copied():
    with pytest.raises(ValueError, match="diag must have one entry per variable"):
        minpack.leastsq(never_called, [1.0, 2.0], diag=np.broadcast_to(1.0, (2**33,)))


def test_a_fit_larger_than_memory_is_a_memory_error_before_any_call(monkeypatch):
    monkeypatch.setattr(_memory, "memory_limit", lambda: 2**30)
    func = WITH_USER_DATA(never_called)
    # fjac alone is 8 * 2**26 * 3 bytes = 1.5 GiB.
    with pytest.raises(MemoryError, match=r"a fit of m=67108864 residuals in n=3 variables"):
        minpack.leastsq(func, np.ones(3), m=2**26)
    with pytest.raises(MemoryError, match="GiB of memory and swap"):
        minpack.leastsq(lambda p: np.broadcast_to(1.0, (2**26,)), np.ones(3))
    x, ier = minpack.leastsq(lambda p: p - 1.0, [0.0, 0.0])  # small fits are not affected
    np.testing.assert_allclose(x, [1.0, 1.0])


def test_the_largest_fit_minpack_accepts_needs_more_memory_than_this_machine_has():
    # m*n = 2**31 - 1 with n = 1: fvec, wa4 and fjac are 48 GiB.  Without the check,
    # f2py would zero-fill them and Linux's out-of-memory killer would end the process.
    needed = 8 * 3 * INT_MAX
    limit = _memory.memory_limit()
    if limit is None or limit >= needed:
        pytest.skip(f"this machine can hold {needed} bytes (limit {limit}): nothing to refuse")
    with pytest.raises(MemoryError, match="a fit of m=2147483647 residuals in n=1 variables"):
        minpack.leastsq(WITH_USER_DATA(never_called), [1.0], m=INT_MAX)


def test_a_batch_whose_results_do_not_fit_in_memory_is_a_memory_error(monkeypatch):
    monkeypatch.setattr(_memory, "memory_limit", lambda: 2**30)
    data = np.broadcast_to(1.0, (10**8, 3))
    with pytest.raises(MemoryError, match="100000000 starting points"):
        minpack.leastsq_batch(never_called, [1.0, 2.0], data=data)
    monkeypatch.setattr(_memory, "memory_limit", lambda: 2**28)
    # The starting points (160 MB) fit, their results (520 MB: cov_x, fnorm, ier, nfev,
    # njev) do not.
    with pytest.raises(MemoryError, match="the results of 10000000 fits in n=2 variables"):
        minpack.leastsq_batch(never_called, np.broadcast_to(1.0, (10**7, 2)))


def test_memory_limit_is_this_machines_memory_and_swap():
    limit = _memory.memory_limit()
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert limit is not None and 0 < limit
    assert limit <= physical or _memory._meminfo_bytes("SwapTotal")


def test_a_failed_allocation_is_a_memory_error_and_leaves_the_package_usable():
    # Under an address-space limit the allocation itself fails (malloc returns NULL) although
    # the machine has the memory: f2py's MemoryError comes out, nothing is printed.
    script = textwrap.dedent(
        """
        import resource
        import numpy as np
        import minpack

        resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
        y = np.zeros(2**25)  # fjac for n = 8 is 2 GiB
        try:
            minpack.leastsq(lambda p: y + p.sum(), np.ones(8))
        except MemoryError as error:
            print("MemoryError:", error)
        x, ier = minpack.leastsq(lambda p: p - 1.0, np.zeros(3))
        print("after:", x.tolist(), ier)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].startswith("MemoryError: ")
    assert lines[1] == "after: [1.0, 1.0, 1.0] 2"
