"""leastsq_batch(..., vectorized=True): one call of func per round, each problem leastsq's.

``vector_residuals(X, D)`` computes every row with the same elementwise operations, in the
same order, as ``residuals(p, row)`` of tests/helpers/compiled.py computes one problem:
so each problem's result must equal `leastsq` with ``residuals`` on that problem alone,
bit for bit, and `leastsq` with the issue's own reference, ``lambda p: func(p[None],
data[k:k+1])[0]``.  The rounds are wider than one chunk of coroutines (256) in the main
cases, so problems start in slots that other problems have finished with.
"""

import re
import sys
import threading
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest
from helpers.batch import (
    OPTIONS,
    X0,
    M,
    N,
    assert_each_is_leastsqs,
    check_expected_ier,
    decay_rows,
    python_references,
    sigint_after,
)
from helpers.compiled import jacobian, residuals

import minpack._batch
import minpack._vectorized
from minpack import leastsq, leastsq_batch
from minpack._messages import NONFINITE_AT_X0, NONFINITE_JACOBIAN

COUNT = 300
DATA = decay_rows(COUNT, seed=21)
DATA.flags.writeable = False


def vector_residuals(X, D):
    m = D.shape[1] // 2
    return X[:, 0:1] * np.exp(-X[:, 1:2] * D[:, :m]) + X[:, 2:3] - D[:, m:]


def vector_jacobian(X, D):
    """(k, m, n): jacobian(p, row) of each row."""
    t = D[:, : D.shape[1] // 2]
    e = np.exp(-X[:, 1:2] * t)
    return np.stack([e, -X[:, 0:1] * t * e, np.ones_like(t)], axis=2)


def vector_jacobian_by_columns(X, D):
    """(k, n, m): each row's Jacobian transposed."""
    return vector_jacobian(X, D).transpose(0, 2, 1)


def jacobian_by_columns(p, row):
    return jacobian(p, row).T


CALLBACKS = {
    "lmdif": (None, None, False),
    "lmder": (vector_jacobian, jacobian, False),
    "lmder-col_deriv": (vector_jacobian_by_columns, jacobian_by_columns, True),
}


def vectorized(data=DATA, **options):
    return leastsq_batch(vector_residuals, X0, data, vectorized=True, **options)


# ---- 1. each problem exactly as leastsq ---------------------------------------------------


@pytest.mark.parametrize("option", OPTIONS.values(), ids=OPTIONS.keys())
@pytest.mark.parametrize("callbacks", CALLBACKS.values(), ids=CALLBACKS.keys())
def test_each_problem_is_leastsqs_bit_for_bit(callbacks, option):
    vector_dfun, dfun, col_deriv = callbacks
    options, expected_ier = option
    references = python_references([X0] * COUNT, DATA, dfun, col_deriv, **options)
    check_expected_ier(references, expected_ier)
    result = vectorized(Dfun=vector_dfun, col_deriv=col_deriv, **options)
    assert_each_is_leastsqs(result, references, with_dfun=dfun is not None)


@pytest.mark.parametrize("callbacks", CALLBACKS.values(), ids=CALLBACKS.keys())
def test_each_problem_is_leastsq_of_the_one_row_call(callbacks):
    """The reference of the issue: leastsq(lambda p: func(p[None], data[k:k+1])[0], x0)."""
    vector_dfun, _, col_deriv = callbacks
    references = []
    for k in range(COUNT):
        row = DATA[k : k + 1]
        single_dfun = None
        if vector_dfun is not None:
            single_dfun = lambda p, row=row: vector_dfun(p[None], row)[0]  # noqa: E731
        references.append(
            leastsq(
                lambda p, row=row: vector_residuals(p[None], row)[0],
                X0,
                Dfun=single_dfun,
                col_deriv=col_deriv,
                full_output=True,
            )
        )
    result = vectorized(Dfun=vector_dfun, col_deriv=col_deriv)
    assert_each_is_leastsqs(result, references, with_dfun=vector_dfun is not None)


def test_starting_points_of_their_own_and_args_after_d():
    starts = X0 + np.random.default_rng(3).uniform(-0.5, 1.5, (COUNT, N))
    offset = np.full(M, 0.25)

    def shifted(X, D, shift):
        return vector_residuals(X, D) + shift

    references = [
        leastsq(lambda p, row=row: residuals(p, row) + offset, x0, full_output=True)
        for x0, row in zip(starts, DATA, strict=True)
    ]
    result = leastsq_batch(shifted, starts, DATA, args=(offset,), vectorized=True)
    assert_each_is_leastsqs(result, references, with_dfun=False)


def test_without_data_func_gets_the_points_and_args():
    starts = X0 + np.random.default_rng(4).uniform(-0.5, 1.5, (50, N))
    t, y = DATA[0, :M], DATA[0, M:]

    def shared(X, t, y):
        return X[:, 0:1] * np.exp(-X[:, 1:2] * t) + X[:, 2:3] - y

    references = [leastsq(residuals, x0, args=(DATA[0],), full_output=True) for x0 in starts]
    result = leastsq_batch(shared, starts, args=(t, y), vectorized=True)
    assert_each_is_leastsqs(result, references, with_dfun=False)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_results_do_not_depend_on_workers_or_chunks(monkeypatch, workers):
    reference = vectorized(Dfun=vector_jacobian, workers=1)
    # Small chunks and ranges: many trips into C, several threads, slots refilled often.
    monkeypatch.setattr(minpack._vectorized, "_WIDTH", 7)
    monkeypatch.setattr(minpack._vectorized, "_RANGE", 40)
    result = vectorized(Dfun=vector_jacobian, workers=workers)
    for field in ("x", "ier", "nfev", "njev", "fnorm", "cov_x"):
        np.testing.assert_array_equal(getattr(result, field), getattr(reference, field), field)


def test_without_coroutines_the_loop_gives_the_same_results(monkeypatch):
    reference = vectorized(Dfun=vector_jacobian)
    calls = []

    def counted(X, D):
        calls.append(len(X))
        return vector_residuals(X, D)

    monkeypatch.setattr(minpack._batch, "coroutines_available", lambda: False)
    result = leastsq_batch(counted, X0, DATA, Dfun=vector_jacobian, vectorized=True)
    assert set(calls) == {1}  # one problem at a time
    for field in ("x", "ier", "nfev", "njev", "fnorm", "cov_x"):
        np.testing.assert_array_equal(getattr(result, field), getattr(reference, field), field)


def test_one_call_answers_a_whole_round():
    sizes = []

    def counted(X, D):
        sizes.append(len(X))
        return vector_residuals(X, D)

    result = leastsq_batch(counted, X0, DATA, vectorized=True, workers=1)
    assert sizes[0] == 1  # m, from problem 0's start
    assert max(sizes) == minpack._vectorized._WIDTH
    # Every evaluation of every problem, and the probe: in far fewer calls than a loop.
    assert sum(sizes) == result.nfev.sum() + 1
    assert len(sizes) < result.nfev.sum() / 50


def test_d_holds_the_rows_of_the_problems_asked_about():
    def checked(X, D):
        # Each row of X is near its own problem's solution only if D is that problem's row:
        # checked below through the results; here, D has the rows of data.
        assert D.shape == (len(X), 2 * M)
        assert all((DATA == row).all(axis=1).any() for row in D[:3])
        return vector_residuals(X, D)

    result = leastsq_batch(checked, X0, DATA, vectorized=True)
    np.testing.assert_array_equal(result.x, vectorized().x)


def test_inputs_are_left_unchanged():
    starts = np.tile(X0, (20, 1))
    starts_copy, data = starts.copy(), DATA[:20].copy()

    def scribbling(X, D):
        value = vector_residuals(X, D)
        X[:] = 1e6  # the points and rows are the batch's copies, not the inputs
        D[:] = 1e6
        return value

    result = leastsq_batch(scribbling, starts, data, vectorized=True)
    np.testing.assert_array_equal(starts, starts_copy)
    np.testing.assert_array_equal(data, DATA[:20])
    np.testing.assert_array_equal(result.x, vectorized(data=DATA[:20]).x)


# ---- 2. what func and Dfun must return -----------------------------------------------------


def returning(value_of):
    """A vectorized func whose first call (the probe) is right and later ones value_of(X, D)."""
    calls = []

    def func(X, D):
        calls.append(len(X))
        right = vector_residuals(X, D)
        return right if len(calls) == 1 else value_of(right)

    return func


BAD_RESULTS = {
    "too-many-residuals": (lambda r: np.hstack([r, r[:, :1]]), r"shape \(k, m\) = \(\d+, 40\)"),
    "one-row-for-all": (lambda r: r[:1], r"for the k = \d+ points of a round, not shape \(1, 40\)"),
    "flat": (lambda r: r.ravel(), r"not shape \(\d+,\)"),
    "complex": (lambda r: r + 0j, r"array of real numbers, not an array of dtype complex128"),
    "strings": (lambda r: r.astype(str), r"array of real numbers, not an array of dtype <U"),
    "none": (lambda r: None, r"array of real numbers, not an array of dtype object"),
}


@pytest.mark.parametrize("bad", BAD_RESULTS.values(), ids=BAD_RESULTS.keys())
def test_a_result_of_the_wrong_shape_or_dtype_is_a_type_error(bad):
    value_of, message = bad
    with pytest.raises(TypeError, match=f"vectorized func must return an .*{message}") as error:
        leastsq_batch(returning(value_of), X0, DATA, vectorized=True)
    assert "raised while leastsq_batch evaluated one round" in "".join(error.value.__notes__)


def test_integer_and_float32_results_are_converted():
    as_float32 = leastsq_batch(
        returning(lambda r: r.astype(np.float32)), X0, DATA[:10], vectorized=True
    )
    assert as_float32.x.dtype == np.float64 and as_float32.nfev.min() > N
    rounded = leastsq_batch(returning(lambda r: np.round(r * 1e3).astype(np.int64)), X0,
                            DATA[:10], vectorized=True)  # fmt: skip
    assert rounded.x.dtype == np.float64


def test_the_first_call_must_give_one_row_of_residuals():
    with pytest.raises(TypeError, match=r"for k = 1 it returned shape \(40,\)"):
        leastsq_batch(lambda X, D: vector_residuals(X, D)[0], X0, DATA, vectorized=True)


def test_ragged_data_is_a_value_error_naming_data():
    ragged = [DATA[0], DATA[1][:-1], DATA[2]]
    with pytest.raises(ValueError, match="data must be an array with one row per problem"):
        leastsq_batch(vector_residuals, X0, ragged, vectorized=True)


def test_m_must_agree_with_func():
    with pytest.raises(ValueError, match="func returned 40 residuals for each problem, but m=41"):
        vectorized(m=41)
    assert vectorized(m=M).success.all()


def test_fewer_residuals_than_variables_is_leastsqs_type_error():
    with pytest.raises(TypeError, match="Improper input: func input vector length N=3"):
        leastsq_batch(lambda X, D: X[:, :2], X0, DATA, vectorized=True)


@pytest.mark.parametrize("col_deriv", [False, True])
def test_a_jacobian_of_the_wrong_layout_is_a_type_error(col_deriv):
    wrong = vector_jacobian if col_deriv else vector_jacobian_by_columns
    layout = r"\(k, n, m\) with col_deriv=True" if col_deriv else r"\(k, m, n\)"
    with pytest.raises(TypeError, match=f"vectorized Dfun must return an array of shape {layout}"):
        vectorized(Dfun=wrong, col_deriv=col_deriv)


def test_compiled_callbacks_are_a_type_error(lib):
    with pytest.raises(TypeError, match=r"vectorized=True takes a Python func\(X, D, \*args\)"):
        leastsq_batch(lib.ctypes("decay"), X0, DATA, m=M, vectorized=True)
    with pytest.raises(TypeError, match=r"a compiled Dfun fits one problem per call"):
        vectorized(Dfun=lib.ctypes("decay_jacobian"))


# ---- 3. non-finite rows ------------------------------------------------------------------


def poisoned(problem, value, after=0):
    """vector_residuals, with ``value`` in problem ``problem``'s row after its first calls."""
    seen = {}

    def func(X, D):
        out = vector_residuals(X, D)
        for i, row in enumerate(D):
            if (row == DATA[problem]).all():
                seen[problem] = seen.get(problem, 0) + 1
                if seen[problem] > after:
                    out[i, 5] = value
        return out

    return func


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_a_non_finite_row_at_x0_stops_that_problem_only(value):
    problem = 17
    result = leastsq_batch(poisoned(problem, value), X0, DATA, vectorized=True)
    assert result.ier[problem] == NONFINITE_AT_X0
    assert not result.success[problem]
    np.testing.assert_array_equal(result.x[problem], X0)
    others = np.arange(COUNT) != problem
    reference = vectorized()
    for field in ("x", "ier", "nfev", "fnorm"):
        found, expected = getattr(result, field), getattr(reference, field)
        np.testing.assert_array_equal(found[others], expected[others], field)


def test_a_non_finite_jacobian_row_stops_that_problem_only():
    problem = 42

    def dfun(X, D):
        out = vector_jacobian(X, D)
        out[(D == DATA[problem]).all(axis=1), 3, 1] = np.nan
        return out

    result = vectorized(Dfun=dfun)
    reference = vectorized(Dfun=vector_jacobian)
    assert result.ier[problem] == NONFINITE_JACOBIAN
    others = np.arange(COUNT) != problem
    for field in ("x", "ier", "nfev", "njev"):
        found, expected = getattr(result, field), getattr(reference, field)
        np.testing.assert_array_equal(found[others], expected[others], field)


def test_a_non_finite_row_is_leastsqs_answer_for_that_problem():
    """Non-finite values later in the fit: the problem ends as leastsq ends it alone.

    Both see MINPACK's evaluations only: leastsq's first call of func gives MINPACK's
    first evaluation, at x0, as a vectorized batch's first round does.
    """
    problem = 5
    result = leastsq_batch(poisoned(problem, np.nan, after=6), X0, DATA, vectorized=True)
    single = poisoned(problem, np.nan, after=6)
    row = DATA[problem : problem + 1]
    x, _, info, _, ier = leastsq(lambda p: single(p[None], row)[0], X0, full_output=True)
    assert result.ier[problem] == ier and result.nfev[problem] == info["nfev"]
    np.testing.assert_array_equal(result.x[problem], x)
    # The NaN came in a finite-difference step: a non-finite Jacobian, not a solution.
    assert ier == NONFINITE_JACOBIAN


# ---- 4. exceptions, Ctrl-C, and the stacks ----------------------------------------------


class FailureError(Exception):
    pass


def raising_on_call(number, error):
    calls = []

    def func(X, D):
        calls.append(len(X))
        if len(calls) == number:
            raise error
        return vector_residuals(X, D)

    return func, calls


def test_an_exception_at_problem_0s_start_names_it():
    error = FailureError("at the start")
    func, _ = raising_on_call(1, error)
    with pytest.raises(FailureError) as raised:
        leastsq_batch(func, X0, DATA, vectorized=True)
    assert raised.value is error
    assert raised.value.__notes__ == [
        "raised while leastsq_batch called func at problem 0's x0 (to find m)"
    ]


def test_an_exception_in_the_first_round_comes_out_unchanged_naming_its_problems():
    error = FailureError("first round")
    func, calls = raising_on_call(2, error)
    with pytest.raises(FailureError) as raised:
        leastsq_batch(func, X0, DATA, vectorized=True, workers=1)
    assert raised.value is error and calls == [1, 256]
    assert raised.value.__notes__ == [
        "raised while leastsq_batch evaluated one round of the vectorized function for "
        "problems 0, 1, 2, 3, 4, 5, 6, 7 and 248 more"
    ]


def test_an_exception_in_the_last_round_names_its_problems():
    func, calls = raising_on_call(0, None)
    leastsq_batch(func, X0, DATA, vectorized=True, workers=1)
    last_round = calls[-1]
    error = FailureError("last round")
    func, calls = raising_on_call(len(calls), error)
    with pytest.raises(FailureError) as raised:
        leastsq_batch(func, X0, DATA, vectorized=True, workers=1)
    assert raised.value is error
    (note,) = raised.value.__notes__
    named = re.search(r"problems ([\d, ]+)(?: and (\d+) more)?$", note)
    assert named is not None, note
    shown = [int(k) for k in named.group(1).split(", ")]
    assert len(shown) + int(named.group(2) or 0) == last_round
    assert all(k >= COUNT - 256 for k in shown)  # problems that started late


def test_an_exception_in_dfun_comes_out_unchanged():
    error = FailureError("in Dfun")

    def dfun(X, D):
        raise error

    with pytest.raises(FailureError) as raised:
        vectorized(Dfun=dfun)
    assert raised.value is error
    assert "one round of the vectorized function" in raised.value.__notes__[0]


@pytest.mark.parametrize("workers", [1, 2])
def test_an_exception_with_workers_stops_the_batch(workers, monkeypatch):
    monkeypatch.setattr(minpack._vectorized, "_RANGE", 50)
    error = FailureError("in one worker")
    func, calls = raising_on_call(30, error)
    with pytest.raises(FailureError) as raised:
        leastsq_batch(func, X0, DATA, vectorized=True, workers=workers)
    assert raised.value is error
    assert len(calls) == 30 or workers > 1  # the other worker may have had a round going
    after = len(calls)
    time.sleep(0.2)
    assert len(calls) == after, "a worker went on after leastsq_batch raised"


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_stops_a_vectorized_batch_at_once(workers):
    count = 20_000
    data = decay_rows(count, seed=31)
    calls = []

    def slow(X, D):
        calls.append(len(X))
        time.sleep(0.005)
        return vector_residuals(X, D)

    start = time.monotonic()
    with sigint_after(0.3) as state, pytest.raises(KeyboardInterrupt):
        leastsq_batch(slow, X0, data, vectorized=True, workers=workers)
    elapsed = time.monotonic() - start
    after = len(calls)
    time.sleep(0.2)
    assert state["sent"]
    assert elapsed < 3.0, f"{elapsed:.2f} s after Ctrl-C at 0.3 s"
    assert len(calls) == after, "func was called after leastsq_batch raised"
    assert vectorized(data=DATA[:10]).success.all()  # and the package still works


def stack_mappings():
    """Read-write mappings of 64 KiB or more just above a 4 KiB no-access page.

    Each coroutine stack is one; the kernel may merge the last one with a read-write
    mapping above it, so they are counted by their guard pages.
    """
    lines = Path("/proc/self/maps").read_text().splitlines()
    count = 0
    previous_end, previous_guard = None, False
    for line in lines:
        span, permissions = line.split()[:2]
        start, end = (int(part, 16) for part in span.split("-"))
        if permissions.startswith("rw") and end - start >= 64 << 10 and previous_guard:
            count += previous_end == start
        previous_guard = permissions.startswith("---") and end - start == 4096
        previous_end = end
    return count


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/maps")


@linux_only
@pytest.mark.parametrize("ending", ["normal", "exception", "exception-in-dfun", "ctrl-c"])
def test_every_stack_is_freed_however_the_batch_ends(ending):
    before = stack_mappings()
    during = []

    def func(X, D):
        during.append(stack_mappings())
        if ending == "exception" and len(during) == 3:
            raise FailureError
        if ending == "ctrl-c" and len(during) == 3:
            raise KeyboardInterrupt
        return vector_residuals(X, D)

    def dfun(X, D):
        if ending == "exception-in-dfun":
            raise FailureError
        return vector_jacobian(X, D)

    expected = {"normal": None, "ctrl-c": KeyboardInterrupt}.get(ending, FailureError)
    with pytest.raises(expected) if expected else nullcontext():
        leastsq_batch(func, X0, DATA, Dfun=dfun, vectorized=True, workers=1)
    assert max(during) >= before + 256  # the chunk's stacks, while it runs
    assert stack_mappings() == before


# ---- 5. the rest of leastsq_batch ------------------------------------------------------


def test_progress_counts_every_problem(capfd, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the plain status line
    monkeypatch.setattr(minpack._vectorized, "_RANGE", 100)
    vectorized(progress=True)
    _, err = capfd.readouterr()
    assert f"{COUNT}/{COUNT}" in err and "100%" in err, err


def test_zero_problems_give_empty_results():
    empty_data = np.empty((0, 2 * M))
    result = leastsq_batch(vector_residuals, np.empty((0, N)), empty_data, vectorized=True)
    assert result.x.shape == (0, N) and result.ier.shape == (0,)


def test_numpy_calls_of_two_workers_overlap():
    """Each worker's rounds run while the other's NumPy work holds no GIL."""
    inside, most = [0], [0]
    lock = threading.Lock()

    def func(X, D):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.002)  # releases the GIL, as NumPy's loops do
        with lock:
            inside[0] -= 1
        return vector_residuals(X, D)

    leastsq_batch(func, X0, decay_rows(1000, seed=5), vectorized=True, workers=2)
    assert most[0] == 2


def test_dask_passes_vectorized_through():
    da = pytest.importorskip("dask.array")
    from minpack.dask import leastsq_batch as dask_batch

    data = da.from_array(np.asarray(DATA), chunks=(70, -1))
    lazy = dask_batch(vector_residuals, X0, data, Dfun=vector_jacobian, vectorized=True)
    result = lazy.compute(scheduler="threads")
    reference = vectorized(Dfun=vector_jacobian)
    for field in ("x", "ier", "nfev", "njev", "cov_x"):
        np.testing.assert_array_equal(getattr(result, field), getattr(reference, field), field)


def test_dask_refuses_a_compiled_func_when_vectorized(lib):
    pytest.importorskip("dask.array")
    from minpack.dask import leastsq_batch as dask_batch

    with pytest.raises(TypeError, match="vectorized=True takes a Python func"):
        dask_batch(lib.ctypes("decay"), X0, DATA, m=M, vectorized=True)
