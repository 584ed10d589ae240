"""leastsq from several threads at once, and from inside another fit's func."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from minpack import leastsq

T = np.linspace(0.0, 4.0, 40)


def make_problem(seed):
    """One exponential-decay data set per seed."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform([1.0, 0.5, -1.0], [3.0, 2.0, 1.0])
    y = truth[0] * np.exp(-truth[1] * T) + truth[2] + 0.01 * rng.standard_normal(T.size)
    return y


def decay(p, y):
    return p[0] * np.exp(-p[1] * T) + p[2] - y


def decay_jacobian(p, y):
    e = np.exp(-p[1] * T)
    return np.column_stack([e, -p[0] * T * e, np.ones_like(T)])


def fit(seed, with_dfun, nested=False):
    """Fit one problem; with nested, func runs a small fit of its own at every call."""
    y = make_problem(seed)

    def func(p, y):
        if nested:
            inner, _ = leastsq(lambda q: np.array([q[0] - p[2], q[0] - p[2]]), [0.0])
            return decay(np.array([p[0], p[1], inner[0]]), y)
        return decay(p, y)

    x, cov_x, info, mesg, ier = leastsq(
        func, [1.0, 1.0, 0.0], args=(y,), Dfun=decay_jacobian if with_dfun else None,
        full_output=True,
    )  # fmt: skip
    return x, cov_x, info["nfev"], ier


@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_concurrent_fits_equal_serial_fits(with_dfun):
    seeds = range(64)
    serial = [fit(seed, with_dfun) for seed in seeds]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda seed: fit(seed, with_dfun), seeds))
    for one, other in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(one[0], other[0])
        np.testing.assert_array_equal(one[1], other[1])
        assert one[2:] == other[2:]


def test_concurrent_nested_fits_equal_serial_fits():
    seeds = range(16)
    serial = [fit(seed, False, nested=True) for seed in seeds]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda seed: fit(seed, False, nested=True), seeds))
    for one, other in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(one[0], other[0])
        assert one[2:] == other[2:]
    plain = [fit(seed, False) for seed in seeds]
    for one, other in zip(serial, plain, strict=True):
        np.testing.assert_allclose(one[0], other[0], rtol=0, atol=0)


def test_exception_in_one_thread_does_not_disturb_others():
    def failing(seed):
        y = make_problem(seed)
        calls = []

        def func(p):
            calls.append(1)
            if len(calls) == 5:
                raise ArithmeticError(seed)
            return decay(p, y)

        try:
            leastsq(func, [1.0, 1.0, 0.0])
        except ArithmeticError as exc:
            return exc.args[0]
        return None

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda s: failing(s) if s % 2 else fit(s, True), range(32)))
    for seed, outcome in enumerate(outcomes):
        if seed % 2:
            assert outcome == seed
        else:
            np.testing.assert_array_equal(outcome[0], fit(seed, True)[0])
