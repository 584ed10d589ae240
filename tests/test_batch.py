"""leastsq_batch: each problem's result is leastsq's on that problem alone, bit for bit.

Also what the batch does around the fits: workers, sizes and shapes, what it converts and
what it leaves alone, errors naming the problem, progress output, Ctrl-C, memory.

The compiled callbacks come from tests/compiled/callbacks.c (``decay`` and
``decay_jacobian``, whose user data is m values t then m values y: exactly a row of the
``data`` below) and tests/compiled/batch_callbacks.c (variants that stop, sleep or meet,
and a quadratic whose row is 3 coefficients), built once per module with the machine's
C compiler.  The reference for a compiled batch is `leastsq` with the same C function in
a PyCapsule whose context is the problem's row.
"""

import re
import sys
import threading
import time
import tracemalloc
from contextlib import contextmanager

import numpy as np
import pytest
from helpers.batch import (
    OPTIONS,
    SUCCESS,
    X0,
    M,
    N,
    T,
    assert_each_is_leastsqs,
    bits,
    check_expected_ier,
    decay_rows,
    python_references,
    sigint_after,
)
from helpers.compiled import WITHOUT_USER_DATA, jacobian, residuals

from minpack import leastsq, leastsq_batch

K = 6
DATA = decay_rows(K, seed=1)
DATA.flags.writeable = False  # shared by many tests: none may change it
# Starting points of the problems without data: different, some far from the solution.
STARTS = X0 + np.random.default_rng(2).uniform(-0.9, 2.0, (K, N))
STARTS.flags.writeable = False


# ---- Python callbacks ------------------------------------------------------------------


def jacobian_by_columns(p, row):
    return jacobian(p, row).T


def residuals_of(p, t, y):
    """The model without data: t and y shared by all problems through args."""
    return p[0] * np.exp(-p[1] * t) + p[2] - y


# ---- compiled callbacks ----------------------------------------------------------------

OTHER_ROW = decay_rows(1, seed=99)[0]


def compiled_form(lib, name, form):
    """C function ``name`` in one of the forms leastsq accepts."""
    if form == "ctypes":
        return lib.ctypes(name)
    if form == "PyCapsule":
        return lib.capsule(name)
    if form == "PyCapsule-with-other-context":  # its own user data, which data replaces
        return lib.capsule(name, OTHER_ROW.ctypes.data)
    assert form == "LowLevelCallable"
    scipy = pytest.importorskip("scipy")
    return scipy.LowLevelCallable(lib.ctypes(name))


# ---- comparing with leastsq -------------------------------------------------------------


def compiled_references(lib, x0s, rows, func, jac=None, m=M, **options):
    """leastsq with C functions ``func`` (and ``jac``) whose user data is each row."""
    references = []
    for x0, row in zip(x0s, rows, strict=True):
        dfun = None if jac is None else lib.capsule(jac, row.ctypes.data)
        fit = leastsq(lib.capsule(func, row.ctypes.data), x0, Dfun=dfun, full_output=True, m=m,
                      **options)  # fmt: skip
        references.append(fit)
    return references


# ---- 1. every problem exactly as leastsq ------------------------------------------------

PYTHON_CALLBACKS = {
    "python-lmdif": (None, False),
    "python-lmder": (jacobian, False),
    "python-lmder-col_deriv": (jacobian_by_columns, True),
}
COMPILED_CALLBACKS = {
    "ctypes-lmdif": ("ctypes", False),
    "PyCapsule-lmdif": ("PyCapsule", False),
    "PyCapsule-with-other-context-lmdif": ("PyCapsule-with-other-context", False),
    "LowLevelCallable-lmdif": ("LowLevelCallable", False),
    "ctypes-lmder": ("ctypes", True),
    "PyCapsule-lmder": ("PyCapsule", True),
}


@pytest.mark.parametrize("option", OPTIONS.values(), ids=OPTIONS.keys())
@pytest.mark.parametrize("callbacks", PYTHON_CALLBACKS.values(), ids=PYTHON_CALLBACKS.keys())
def test_python_func_with_data_fits_each_problem_as_leastsq(callbacks, option):
    dfun, col_deriv = callbacks
    options, expected_ier = option
    references = python_references([X0] * K, DATA, dfun, col_deriv, **options)
    check_expected_ier(references, expected_ier)
    result = leastsq_batch(residuals, X0, DATA, Dfun=dfun, col_deriv=col_deriv, **options)
    assert_each_is_leastsqs(result, references, with_dfun=dfun is not None)


@pytest.mark.parametrize("option", OPTIONS.values(), ids=OPTIONS.keys())
@pytest.mark.parametrize("callbacks", COMPILED_CALLBACKS.values(), ids=COMPILED_CALLBACKS.keys())
def test_compiled_func_with_data_fits_each_problem_as_leastsq(lib, callbacks, option):
    form, with_dfun = callbacks
    options, expected_ier = option
    jac = "decay_jacobian" if with_dfun else None
    references = compiled_references(lib, [X0] * K, DATA, "decay", jac, **options)
    check_expected_ier(references, expected_ier)
    result = leastsq_batch(
        compiled_form(lib, "decay", form), X0, DATA,
        Dfun=None if jac is None else compiled_form(lib, jac, form), m=M, **options,
    )  # fmt: skip
    assert_each_is_leastsqs(result, references, with_dfun)


@pytest.mark.parametrize("dfun", [None, jacobian], ids=["lmdif", "lmder"])
def test_python_func_without_data_gets_args_and_fits_each_start_as_leastsq(dfun):
    row = DATA[0]
    args = (row[:M], row[M:])

    def jac(p, t, y):
        return jacobian(p, np.concatenate([t, y]))

    references = [
        leastsq(residuals_of, x0, args=args, Dfun=dfun and jac, full_output=True) for x0 in STARTS
    ]
    result = leastsq_batch(residuals_of, STARTS, args=args, Dfun=dfun and jac)
    assert_each_is_leastsqs(result, references, with_dfun=dfun is not None)


def test_python_func_with_data_also_gets_args():
    def func(p, row, scale, shift):
        return scale * residuals(p, row) + shift

    references = [leastsq(func, X0, args=(row, 2.0, 0.0), full_output=True) for row in DATA]
    result = leastsq_batch(func, X0, DATA, args=(2.0, 0.0))
    assert_each_is_leastsqs(result, references, with_dfun=False)


def test_python_func_gets_data_k_itself_so_problems_may_differ_in_size():
    ragged = [DATA[0], decay_rows(1, seed=5)[0][::2].copy(), DATA[2]]  # m = 40, 20, 40
    seen = []

    def func(p, row):
        seen.append(row)
        return residuals(p, row)

    result = leastsq_batch(func, X0, ragged)
    assert all(any(row is given for given in ragged) for row in seen)
    assert_each_is_leastsqs(result, python_references([X0] * 3, ragged), with_dfun=False)


def scalar_residual(p, offset):
    """SciPy's example: one residual, returned as a scalar."""
    return 2 * (p[0] - offset) ** 2 + 1


def float32_residuals(p, row):
    """float32 residuals: leastsq's default epsfcn is then float32's epsilon."""
    return residuals(p, row).astype(np.float32)


def sine_of_polynomial(p, y):
    """n = 8 variables, for a larger R and cov_x; a (K, 8) p gives K rows of y (data)."""
    return np.sin(p @ np.vander(np.linspace(-1.0, 1.0, y.shape[-1]), p.shape[-1]).T) - y


COEFFICIENTS = 0.3 * np.random.default_rng(11).standard_normal((K, 8))


def ignores_last_variable(p, row):
    """Success with a zero column in the Jacobian: leastsq's cov_x is None."""
    return residuals(np.array([p[0], p[1], 0.0]), row)


FUNC_KINDS = {
    "scalar-residual": (scalar_residual, np.zeros(1), np.array([3.0, -1.0, 0.5])),
    "float32-residuals": (float32_residuals, X0, DATA),
    "n=8": (sine_of_polynomial, np.zeros(8), -sine_of_polynomial(COEFFICIENTS, np.zeros(60))),
    "zero-jacobian-column": (ignores_last_variable, X0, DATA),
}


@pytest.mark.parametrize("kind", FUNC_KINDS.values(), ids=FUNC_KINDS.keys())
def test_other_python_funcs_fit_each_problem_as_leastsq(kind):
    func, x0, data = kind
    references = [leastsq(func, x0, args=(row,), full_output=True) for row in data]
    result = leastsq_batch(func, x0, data)
    assert result.x.shape == (len(data), x0.size)
    assert_each_is_leastsqs(result, references, with_dfun=False)


def test_success_with_a_singular_r_gives_nan_cov_x():
    references = [leastsq(ignores_last_variable, X0, args=(row,), full_output=True) for row in DATA]
    assert all(ier in SUCCESS and cov_x is None for _, cov_x, _, _, ier in references)
    result = leastsq_batch(ignores_last_variable, X0, DATA)
    assert result.success.all() and np.isnan(result.cov_x).all()


@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_compiled_func_without_data_keeps_its_own_user_data(lib, with_dfun):
    row = DATA[3]
    jac = "decay_jacobian" if with_dfun else None
    references = compiled_references(lib, STARTS, [row] * K, "decay", jac)
    result = leastsq_batch(
        lib.capsule("decay", row.ctypes.data), STARTS, m=M,
        Dfun=None if jac is None else lib.capsule(jac, row.ctypes.data),
    )  # fmt: skip
    assert_each_is_leastsqs(result, references, with_dfun)


@pytest.mark.parametrize("role", ["func", "Dfun"])
def test_a_bare_callback_taking_user_data_is_a_type_error_without_data(lib, role):
    """Without data, a bare ctypes func or Dfun of the user_data signature would get NULL.

    That is a TypeError before any call; with data, each problem's row is its user data.
    record_user_data, had it been called, would have remembered NULL.
    """
    marked = leastsq_batch(lib.ctypes("record_user_data"), X0, DATA[:1], m=M)
    assert marked.ier.tolist() == [-1] and lib.cdll.seen_user_data() == DATA[0].ctypes.data
    own = lib.capsule("decay", DATA[3].ctypes.data)  # a func with user data of its own
    func, dfun = (
        (lib.ctypes("record_user_data"), None) if role == "func"
        else (own, lib.ctypes("record_user_data"))
    )  # fmt: skip
    expected = rf"^compiled {role} takes void \*user_data, but no user data was given"
    with pytest.raises(TypeError, match=expected):
        leastsq_batch(func, STARTS, Dfun=dfun, m=M)
    assert lib.cdll.seen_user_data() == DATA[0].ctypes.data
    jac = "decay_jacobian" if role == "Dfun" else None
    result = leastsq_batch(
        lib.ctypes("decay"), X0, DATA, Dfun=None if jac is None else lib.ctypes(jac), m=M
    )
    assert result.success.all()
    references = compiled_references(lib, [X0] * K, DATA, "decay", jac)
    assert_each_is_leastsqs(result, references, with_dfun=jac is not None)


def test_negative_iflag_stops_only_that_problem(lib):
    stops = [0.0, -2.0, 0.0, -5.0, 0.0, 0.0]
    rows = decay_rows(K, seed=3, extra=stops)  # decay_or_stop reads row[2m] as the stop
    references = compiled_references(lib, [X0] * K, rows, "decay_or_stop")
    result = leastsq_batch(lib.ctypes("decay_or_stop"), X0, rows, m=M)
    assert list(result.ier[[1, 3]]) == [-2, -5]
    assert result.success.tolist() == [True, False, True, False, True, True]
    assert_each_is_leastsqs(result, references, with_dfun=False)


def test_compiled_func_gets_the_row_of_data_also_with_a_python_dfun(lib):
    """With a Python Dfun the batch runs through Python, but func still gets its row."""
    data = decay_rows(2)
    result = leastsq_batch(lib.ctypes("record_user_data"), X0, data, Dfun=jacobian, m=M)
    assert result.ier.tolist() == [-1, -1]  # record_user_data stops the fit at once
    assert lib.cdll.seen_user_data() == data[1].ctypes.data


def test_improper_input_fnorm_is_leastsqs_not_a_previous_fits(lib):
    """MINPACK computes no residuals when it rejects the input: fnorm is leastsq's fvec's."""
    func = lib.ctypes("decay")
    leastsq_batch(func, X0, DATA[:1], m=M, workers=1)  # leaves residuals in freed memory
    result = leastsq_batch(func, X0, DATA[:1], m=M, workers=1, maxfev=-1)
    references = compiled_references(lib, [X0], DATA[:1], "decay", maxfev=-1)
    assert result.ier.tolist() == [0]
    assert_each_is_leastsqs(result, references, with_dfun=False)


# ---- 2. workers, sizes, shapes, conversions ---------------------------------------------


def assert_same_results(got, expected):
    for name in ("x", "ier", "nfev", "njev", "fnorm", "cov_x", "success"):
        first, second = getattr(got, name), getattr(expected, name)
        if second is None:
            assert first is None, name
        else:
            assert first.dtype == second.dtype and first.shape == second.shape, name
            assert first.tobytes() == second.tobytes(), name


@pytest.mark.parametrize("count", [2, 600], ids=["K=2", "K=600"])
@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_compiled_results_do_not_depend_on_workers(lib, with_dfun, count):
    data = decay_rows(count, seed=4)
    dfun = lib.ctypes("decay_jacobian") if with_dfun else None
    results = [
        leastsq_batch(lib.ctypes("decay"), X0, data, Dfun=dfun, m=M, workers=workers)
        for workers in (1, 2, 3)
    ]
    assert results[0].success.all()
    for result in results[1:]:
        assert_same_results(result, results[0])
    assert_same_results(leastsq_batch(lib.ctypes("decay"), X0, data, Dfun=dfun, m=M), results[0])


def test_python_results_do_not_depend_on_workers():
    results = [leastsq_batch(residuals, X0, DATA[:2], workers=w) for w in (1, 2, 3)]
    for result in results[1:]:
        assert_same_results(result, results[0])


def test_python_callbacks_run_one_at_a_time_in_one_thread():
    active, most, threads = [0], [0], set()

    def func(p, row):
        active[0] += 1
        most[0] = max(most[0], active[0])
        threads.add(threading.get_ident())
        time.sleep(0.0005)  # lets another thread run, if there were one calling func
        active[0] -= 1
        return residuals(p, row)

    leastsq_batch(func, X0, DATA, workers=2)
    assert most[0] == 1
    assert len(threads) == 1


@pytest.mark.parametrize("workers", [1, 2], ids=["workers=1", "workers=2"])
def test_compiled_fits_run_at_the_same_time_without_the_gil(lib, workers):
    """Problems 0 and K/2 each wait in their first call for the other to start.

    Two workers meet (each fits one while the other waits, so neither holds the GIL);
    one worker cannot, and its waits end after the short timeout.
    """
    count = 4096
    meetings = np.zeros(count)
    meetings[[0, count // 2]] = [1, 2]
    data = decay_rows(count, seed=6, extra=meetings)
    lib.cdll.reset_meeting(10.0 if workers == 2 else 0.2)
    result = leastsq_batch(lib.ctypes("meeting_decay"), X0, data, m=M, workers=workers)
    assert result.success.all()
    # With one worker, problem 0 gives up waiting; problem K/2 then sees its arrival.
    assert lib.cdll.meeting_saw_both(1) == (workers == 2)
    assert lib.cdll.meeting_saw_both(2) == 1


@pytest.mark.parametrize("kind", ["python", "compiled"])
@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_zero_problems_give_empty_results(lib, kind, with_dfun):
    empty = np.empty((0, 2 * M))
    if kind == "python":
        calls = []
        result = leastsq_batch(
            lambda p, row: calls.append(1), X0, empty, Dfun=jacobian if with_dfun else None
        )
        assert calls == []
    else:
        dfun = lib.ctypes("decay_jacobian") if with_dfun else None
        result = leastsq_batch(lib.ctypes("decay"), X0, empty, Dfun=dfun, m=M)
    assert result.x.shape == (0, N) and result.x.dtype == np.float64
    assert result.ier.shape == result.nfev.shape == result.fnorm.shape == (0,)
    assert result.cov_x.shape == (0, N, N)
    assert result.success.shape == (0,)
    assert result.njev is None if not with_dfun else result.njev.shape == (0,)


def test_zero_starting_points_without_data_give_empty_results():
    result = leastsq_batch(residuals_of, np.empty((0, N)), args=(T, T))
    assert result.x.shape == (0, N) and result.cov_x.shape == (0, N, N)


@pytest.mark.parametrize("kind", ["python", "compiled"])
def test_one_problem_is_leastsqs(lib, kind):
    if kind == "python":
        result = leastsq_batch(residuals, X0, DATA[:1])
        references = python_references([X0], DATA[:1])
    else:
        result = leastsq_batch(lib.ctypes("decay"), X0, DATA[:1], m=M)
        references = compiled_references(lib, [X0], DATA[:1], "decay")
    assert_each_is_leastsqs(result, references, with_dfun=False)


@pytest.mark.parametrize("kind", ["python", "compiled"])
def test_one_starting_point_is_shared_by_all_problems(lib, kind):
    func, m = (residuals, None) if kind == "python" else (lib.ctypes("decay"), M)
    shared = leastsq_batch(func, X0, DATA, m=m)
    tiled = leastsq_batch(func, np.tile(X0, (K, 1)), DATA, m=m)
    assert_same_results(shared, tiled)


@pytest.mark.parametrize("kind", ["python", "compiled"])
def test_x0_rows_and_data_rows_must_agree(lib, kind):
    func, m = (residuals, None) if kind == "python" else (lib.ctypes("decay"), M)
    with pytest.raises(ValueError, match="rows"):
        leastsq_batch(func, np.tile(X0, (K + 1, 1)), DATA, m=m)


def test_one_starting_point_without_data_is_a_type_error():
    with pytest.raises(TypeError, match="x0"):
        leastsq_batch(residuals_of, X0, args=(T, T))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("kind", ["python", "compiled"])
def test_a_non_finite_starting_point_is_a_value_error_before_any_fit(lib, kind, bad):
    starts = np.tile(X0, (K, 1))
    starts[4, 1] = bad
    calls = []

    def func(p, row):
        calls.append(1)
        return residuals(p, row)

    func_m = (func, None) if kind == "python" else (lib.ctypes("record_user_data"), M)
    before = lib.cdll.seen_user_data()
    with pytest.raises(ValueError, match="finite"):
        leastsq_batch(func_m[0], starts, DATA, m=func_m[1])
    assert calls == []
    assert lib.cdll.seen_user_data() == before


DATA_LAYOUTS = {
    "float32": lambda data: data.astype(np.float32),
    "Fortran-order": np.asfortranarray,
    "every-other-row": lambda data: np.repeat(data, 2, axis=0)[::2],
    "columns-of-a-wider-array": lambda data: np.hstack([data, data])[:, : data.shape[1]],
    "reversed-rows": lambda data: data[::-1].copy()[::-1],
    "list-of-rows": lambda data: [list(row) for row in data],
}


@pytest.mark.parametrize("layout", DATA_LAYOUTS.values(), ids=DATA_LAYOUTS.keys())
def test_compiled_func_data_is_converted_and_left_unchanged(lib, layout):
    given = layout(np.array(DATA))
    expected = leastsq_batch(
        lib.ctypes("decay"), X0, np.ascontiguousarray(given, dtype=np.float64), m=M
    )
    before = np.array(given, copy=True)
    result = leastsq_batch(lib.ctypes("decay"), X0, given, m=M)
    assert_same_results(result, expected)
    if isinstance(given, np.ndarray):
        assert given.dtype == before.dtype
        assert given.tobytes() == before.tobytes()
    else:
        assert given == before.tolist()


def test_compiled_func_gets_the_callers_rows_without_a_copy(lib):
    data = decay_rows(3)
    leastsq_batch(lib.ctypes("record_user_data"), X0, data, m=M)
    assert lib.cdll.seen_user_data() == data[2].ctypes.data


X0_LAYOUTS = {
    "float64": lambda starts: starts,
    "float32": lambda starts: starts.astype(np.float32),
    "Fortran-order": np.asfortranarray,
    "float32-Fortran-order": lambda starts: np.asfortranarray(starts, dtype=np.float32),
    "int-Fortran-order": lambda starts: np.asfortranarray(np.round(starts), dtype=np.int64),
    "list": lambda starts: starts.tolist(),
}


@pytest.mark.parametrize("layout", X0_LAYOUTS.values(), ids=X0_LAYOUTS.keys())
@pytest.mark.parametrize("kind", ["python", "compiled"])
def test_x0_of_any_layout_is_converted_and_left_unchanged(lib, kind, layout):
    func, m = (residuals, None) if kind == "python" else (lib.ctypes("decay"), M)
    given = layout(np.array(STARTS))
    before = np.array(given, copy=True)
    expected = leastsq_batch(func, np.array(given, dtype=np.float64, order="C"), DATA, m=m)
    result = leastsq_batch(func, given, DATA, m=m)
    assert_same_results(result, expected)
    if isinstance(given, np.ndarray):
        assert given.dtype == before.dtype and given.tobytes() == before.tobytes()
        assert not np.shares_memory(result.x, given)
    else:
        assert given == before.tolist()


# ---- 3. errors ------------------------------------------------------------------------


class BoomError(Exception):
    pass


def indexed_rows(count):
    """Data rows that say which problem they are: row[-1] = k."""
    return decay_rows(count, seed=7, extra=np.arange(count))


@pytest.mark.parametrize("where", ["func-at-x0", "func-later", "Dfun"])
def test_an_exception_at_problem_k_propagates_with_a_note_naming_k(where):
    count, bad = 6, 3
    data = indexed_rows(count)
    seen, raised = [], []

    def func(p, row):
        k = int(row[-1])
        seen.append(k)
        if k == bad and where != "Dfun" and seen.count(k) == (1 if where == "func-at-x0" else 4):
            raised.append(BoomError(f"raised by func at problem {k}"))
            raise raised[-1]
        return residuals(p, row[:-1])

    def dfun(p, row):
        if int(row[-1]) == bad and where == "Dfun":
            raised.append(BoomError("raised by Dfun"))
            raise raised[-1]
        return jacobian(p, row[:-1])

    with pytest.raises(BoomError) as caught:
        leastsq_batch(func, X0, data, Dfun=dfun if where == "Dfun" else None)
    assert caught.value is raised[0]
    assert max(seen) == bad  # the batch stopped: no later problem was fitted
    notes = getattr(caught.value, "__notes__", [])
    assert any(re.search(rf"\bproblem {bad}\b", note) for note in notes), notes


def test_an_exception_in_the_first_problem_names_problem_0():
    def func(p, row):
        raise KeyError("no")

    with pytest.raises(KeyError) as caught:
        leastsq_batch(func, X0, DATA)
    assert any(re.search(r"\bproblem 0\b", note) for note in caught.value.__notes__)


def test_compiled_func_without_m_is_a_type_error(lib):
    with pytest.raises(TypeError, match=r"\bm\b"):
        leastsq_batch(lib.ctypes("decay"), X0, DATA)


@pytest.mark.parametrize("with_dfun", [False, True], ids=["lmdif", "lmder"])
def test_args_with_compiled_callbacks_are_a_type_error(lib, with_dfun):
    dfun = lib.ctypes("decay_jacobian") if with_dfun else None
    with pytest.raises(TypeError, match="args"):
        leastsq_batch(lib.ctypes("decay"), X0, DATA, args=(1.0,), Dfun=dfun, m=M)


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"], ids=repr)
@pytest.mark.parametrize("kind", ["python", "compiled"])
def test_bad_workers_are_a_type_error(lib, kind, workers):
    func, m = (residuals, None) if kind == "python" else (lib.ctypes("decay"), M)
    with pytest.raises(TypeError, match="workers"):
        leastsq_batch(func, X0, DATA, m=m, workers=workers)


# ---- 4. progress ----------------------------------------------------------------------


def progress_batches(lib):
    return {
        "python": lambda **kw: leastsq_batch(residuals, X0, DATA, **kw),
        "compiled": lambda **kw: leastsq_batch(lib.ctypes("decay"), X0, DATA, m=M, **kw),
    }


@pytest.mark.parametrize("kind", ["python", "compiled"])
def test_progress_without_tqdm_writes_a_line_to_stderr(lib, kind, monkeypatch, capfd):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    batch = progress_batches(lib)[kind]
    quiet = batch()
    assert capfd.readouterr() == ("", "")
    shown = batch(progress=True)
    out, err = capfd.readouterr()
    assert out == ""
    assert re.search(rf"\b{K}/{K}\b", err), err
    assert err.endswith("\n")
    assert_same_results(shown, quiet)


@pytest.mark.parametrize("kind", ["python", "compiled"])
def test_progress_with_tqdm_shows_a_bar_on_stderr(lib, kind, capfd):
    pytest.importorskip("tqdm")
    batch = progress_batches(lib)[kind]
    quiet = batch()
    shown = batch(progress=True)
    out, err = capfd.readouterr()
    assert out == ""
    assert re.search(rf"\b{K}/{K}\b", err) and "100%" in err, err
    assert_same_results(shown, quiet)


# ---- 5. Ctrl-C ------------------------------------------------------------------------


# lmdif calls func at least n + 1 times per fit (x0, then one step per variable).
MIN_CALLS = N + 1


def assert_still_works(lib):
    result = leastsq_batch(lib.ctypes("decay"), X0, DATA, m=M)
    assert_each_is_leastsqs(result, compiled_references(lib, [X0] * K, DATA, "decay"), False)
    result = leastsq_batch(residuals, X0, DATA[:2])
    assert_each_is_leastsqs(result, python_references([X0] * 2, DATA[:2]), False)


# The data of the Ctrl-C tests, kept for the whole run: a worker that went on fitting after
# leastsq_batch raised (a bug that the tests look for) must not read freed memory and crash
# the test run.
_KEPT_ALIVE = []


@contextmanager
def sleeping(lib, nanoseconds):
    lib.cdll.set_sleepy_nanoseconds(nanoseconds)
    try:
        yield
    finally:
        lib.cdll.set_sleepy_nanoseconds(1_000_000)


def calls_after_return(lib, wait=0.3):
    """How many calls sleepy_decay gets in the ``wait`` seconds after the batch returned."""
    before = lib.cdll.sleepy_call_count()
    time.sleep(wait)
    return lib.cdll.sleepy_call_count() - before


def test_ctrl_c_stops_a_compiled_batch_at_once(lib):
    count, workers, sleep = 10_000, 2, 0.001
    # sleepy_decay sleeps 1 ms per call: the whole batch takes at least this long.
    at_least = count * MIN_CALLS * sleep / workers
    assert at_least >= 20.0
    data = decay_rows(count, seed=8)
    _KEPT_ALIVE.append(data)
    start = time.monotonic()
    with (
        sleeping(lib, int(sleep * 1e9)),
        sigint_after(0.2) as state,
        pytest.raises(KeyboardInterrupt),
    ):
        leastsq_batch(lib.ctypes("sleepy_decay"), X0, data, m=M, workers=workers)
    elapsed = time.monotonic() - start
    late_calls = calls_after_return(lib)
    assert state["sent"]
    assert elapsed < 5.0, f"{elapsed:.2f} s after Ctrl-C at 0.2 s (whole batch >= {at_least} s)"
    assert late_calls == 0, "a worker went on fitting after leastsq_batch raised"
    assert_still_works(lib)


def test_ctrl_c_returns_only_after_every_worker_has_stopped(lib):
    """No worker goes on reading data (and writing results) after leastsq_batch raised.

    A few problems of 5 ms calls: one chunk of problems, so one busy worker, which
    finishes the problem it is in (tens of calls) before it sees the stop.
    """
    data = decay_rows(100, seed=12)
    _KEPT_ALIVE.append(data)
    with (
        sleeping(lib, 5_000_000),
        sigint_after(0.2) as state,
        pytest.raises(KeyboardInterrupt),
    ):
        leastsq_batch(lib.ctypes("sleepy_decay"), X0, data, m=M, workers=2)
    late_calls = calls_after_return(lib)
    assert state["sent"]
    assert late_calls == 0, f"{late_calls} calls of func after leastsq_batch raised"
    assert_still_works(lib)


def test_ctrl_c_stops_a_python_batch_at_once(lib):
    count = 5_000

    def sleepy(p, row):
        time.sleep(0.001)
        return residuals(p, row)

    at_least = count * MIN_CALLS * 0.001
    assert at_least >= 20.0
    data = decay_rows(count, seed=9)
    start = time.monotonic()
    with sigint_after(0.2) as state, pytest.raises(KeyboardInterrupt):
        leastsq_batch(sleepy, X0, data)
    elapsed = time.monotonic() - start
    assert state["sent"]
    assert elapsed < 5.0, f"{elapsed:.2f} s after Ctrl-C at 0.2 s (whole batch >= {at_least} s)"
    assert_still_works(lib)


# ---- 6. memory -------------------------------------------------------------------------


def test_memory_grows_with_k_n_squared_not_k_m_n(lib):
    """A compiled batch of 200,000 problems, m = 50, n = 3, measured with tracemalloc.

    Counted: NumPy's data buffers allocated during the call (NumPy reports them to
    tracemalloc) and Python objects.  Not counted: the data (made before the call), and each
    worker's C workspace for one problem (fvec, fjac, ...: m·n + 2m + 5n doubles, malloc'd
    in C), the workers·m·n term.  The bound is 3 times the arrays a batch cannot do
    without: the outputs x, ier, nfev, njev, fnorm, cov_x, success and the R and ipvt that
    cov_x is computed from, 201 bytes per problem (measured: about 2.1 times, with the
    temporaries of the covariances).  One (m, n) Jacobian per problem, the K·m·n that a
    batch must never hold, would be 1,200 bytes per problem.
    """
    count, m, n = 200_000, 50, 3
    coefficients = np.random.default_rng(10).uniform(-1.0, 1.0, (count, n))  # quadratic's row
    func = lib.ctypes("quadratic")
    leastsq_batch(func, np.zeros(n), coefficients[:10], m=m)  # warm up (imports, caches)
    tracemalloc.start()
    try:
        result = leastsq_batch(func, np.zeros(n), coefficients, m=m)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    double, int32, boolean = 8, 4, 1
    per_problem = {
        "x": n * double,
        "ier, nfev, njev": 3 * int32,
        "fnorm": double,
        "cov_x": n * n * double,
        "success": boolean,
        "R": n * n * double,
        "ipvt": n * int32,
    }
    needed = count * sum(per_problem.values())
    jacobians = count * m * n * double
    assert sum(per_problem.values()) == 201
    assert result.success.all()
    assert peak < 3 * needed, f"peak {peak / 1e6:.1f} MB, outputs {needed / 1e6:.1f} MB"
    assert peak < jacobians / 2, f"peak {peak / 1e6:.1f} MB, K·m·n {jacobians / 1e6:.1f} MB"
    # and the problems are leastsq's (a sample of them)
    sample = [0, 12345, count - 1]
    references = compiled_references(lib, [np.zeros(n)] * 3, coefficients[sample], "quadratic", m=m)
    for k, (x, cov_x, info, _, ier) in zip(sample, references, strict=True):
        assert result.ier[k] == ier and result.nfev[k] == info["nfev"]
        assert bits(result.x[k]).tobytes() == bits(x).tobytes()
        assert bits(result.cov_x[k]).tobytes() == bits(cov_x).tobytes()


def test_complex_data_is_a_type_error_naming_data(lib):
    # NumPy would drop the imaginary part with a ComplexWarning.
    rows = decay_rows(3).astype(complex)
    with pytest.raises(
        TypeError, match=r"data must be an array of real numbers, not complex \(dtype complex128\)"
    ):
        leastsq_batch(compiled_form(lib, "decay", "ctypes"), X0, data=rows, m=M)


def test_more_workers_than_chunks_start_one_thread_per_chunk():
    # 4 problems are one chunk: one worker thread, however many workers are allowed.
    threads_seen = []

    @WITHOUT_USER_DATA
    def line(m, n, x, fvec, iflag):
        threads_seen.append(threading.active_count())
        for i in range(m):
            fvec[i] = x[0] * T[i] + x[1] - T[i]

    before = threading.active_count()
    result = leastsq_batch(line, np.zeros((4, 2)), m=M, workers=10**9)
    assert result.success.all()
    assert set(threads_seen) == {before + 1}
