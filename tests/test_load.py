"""Load (issue 8): 8 threads x 500 fits of every kind at once give exactly the serial results.

4000 fit jobs mix every way a fit calls back: Python func with and without Dfun (row-major
and col_deriv), C funcs and Jacobians in PyCapsules (MINPACK then runs without the GIL), a
ctypes function pointer running Python (GIL released, then taken back by ctypes at every
call), a C func beside a Python Dfun, C funcs that stop the fit through iflag, fits nested
in another fit's func, funcs, Dfuns and iteration callbacks that raise, iteration callbacks
that watch or stop, and curve_fit.  Each job has its own data, so that a fit which saw
another's state would give another answer.  The jobs run first one after the other in
this thread, then 500 to a thread in 8 threads at once, and every job's outcome
must be identical: every bit of every float, every count, ier, the message, and for the
jobs that raise the same exception type, message and notes, raised as the very object
that the callback raised, in the thread that raised it.  The threads start together, each
with a fit suspended inside MINPACK, and the GIL changes hands far more often than usual.
(About 3 s here, on 2 cores.)
"""

import ctypes
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
from helpers.compiled import WITHOUT_USER_DATA, X0, CountedData, M, decay_row, jacobian, residuals

from minpack import curve_fit, leastsq, leastsq_batch

THREADS = 8
FITS_PER_THREAD = 500
SUCCESS = (1, 2, 3, 4)
# While the threads run, the GIL changes hands every 20 µs instead of every 5 ms: a
# Python fit (60-150 µs) is then suspended inside its callbacks, mid-MINPACK, while
# other threads run their own fits, many times over.  Not smaller: each switch costs,
# and on a 2-core machine 8 threads would spend the test switching.
SWITCH_INTERVAL = 20e-6


class BoomError(Exception):
    pass


# ---- what a job's outcome is -------------------------------------------------------------


def fit_outcome(result):
    """leastsq's full output as comparable values: the bytes of every array."""
    x, cov_x, info, mesg, ier = result
    return {
        "x": x.tobytes(),
        "cov_x": None if cov_x is None else cov_x.tobytes(),
        "nfev": info["nfev"],
        "njev": info.get("njev"),
        "fvec": np.asarray(info["fvec"]).tobytes(),
        "fjac": info["fjac"].tobytes(),
        "ipvt": info["ipvt"].tobytes(),
        "qtf": info["qtf"].tobytes(),
        "mesg": mesg,
        "ier": ier,
    }


class Raiser:
    """Makes a callback raise BoomError on its k-th call, remembering what and where."""

    def __init__(self, name, k):
        self.name, self.k, self.calls = name, k, 0
        self.raised = None  # (the exception, the thread that raised it)

    def count(self):
        self.calls += 1
        if self.calls == self.k:
            error = BoomError(f"{self.name} raised at call {self.k}")
            self.raised = (error, threading.get_ident())
            raise error


def raised_outcome(exc, raiser):
    error, thread = raiser.raised
    return {
        "raised": type(exc).__name__,
        "message": str(exc),
        "notes": tuple(getattr(exc, "__notes__", ())),
        "the object raised": exc is error,
        "in the thread that raised it": thread == threading.get_ident(),
        "last frame": traceback.extract_tb(exc.__traceback__)[-1].name,
        "calls": raiser.calls,
    }


# ---- the kinds of job ----------------------------------------------------------------------
# Each takes the library and the job's seed (its data) and returns the job's outcome.


def python_lmdif(lib, seed):
    return fit_outcome(leastsq(residuals, X0, args=(decay_row(seed),), full_output=True))


def python_lmdif_x_and_ier(lib, seed):
    x, ier = leastsq(residuals, X0, args=(decay_row(seed),))
    return {"x": x.tobytes(), "ier": ier}


def python_lmder(lib, seed):
    row = decay_row(seed)
    return fit_outcome(leastsq(residuals, X0, args=(row,), Dfun=jacobian, full_output=True))


def python_lmder_col_deriv(lib, seed):
    row = decay_row(seed)
    return fit_outcome(
        leastsq(residuals, X0, args=(row,), Dfun=lambda p, r: jacobian(p, r).T, col_deriv=True,
                full_output=True)
    )  # fmt: skip


def capsule_lmdif(lib, seed):
    # All callbacks compiled: MINPACK runs with the GIL released.
    row = decay_row(seed)
    return fit_outcome(leastsq(lib.capsule("decay", row.ctypes.data), X0, m=M, full_output=True))


def capsule_lmder(lib, seed):
    row = decay_row(seed)
    func, dfun = (lib.capsule(name, row.ctypes.data) for name in ("decay", "decay_jacobian"))
    return fit_outcome(leastsq(func, X0, Dfun=dfun, m=M, full_output=True))


def ctypes_pointer_running_python(lib, seed):
    # A ctypes function pointer is compiled code to leastsq, which releases the GIL;
    # ctypes takes it back around every call of the Python inside.
    row = decay_row(seed)

    @WITHOUT_USER_DATA
    def func(m, n, x, fvec, iflag):
        np.ctypeslib.as_array(fvec, (m,))[:] = residuals(np.ctypeslib.as_array(x, (n,)), row)

    return fit_outcome(leastsq(func, X0, m=M, full_output=True))


def c_func_python_dfun(lib, seed):
    # A compiled func beside a Python Dfun: MINPACK runs with the GIL held.
    row = decay_row(seed)
    func = lib.capsule("decay", row.ctypes.data)
    return fit_outcome(leastsq(func, X0, args=(row,), Dfun=jacobian, m=M, full_output=True))


def c_func_stops_through_iflag(lib, seed):
    row = decay_row(seed)
    counted = CountedData(row.ctypes.data, 0, 2 + seed % 9, -1 - seed % 4)
    func = lib.capsule("counted_decay", ctypes.addressof(counted))
    outcome = fit_outcome(leastsq(func, X0, m=M, full_output=True))
    outcome["calls"] = counted.calls
    return outcome


def nested(lib, seed):
    # At each call the outer func fits its own small problem, in Python or in C, whose data
    # depends on the outer p: the inner fits differ from call to call.
    row, inner_row = decay_row(seed), decay_row(seed + 100_000)
    inner = []

    def func(p, row):
        shifted = inner_row.copy()
        shifted[M:] += p[0]
        if seed % 2:
            result = leastsq(residuals, X0, args=(shifted,), full_output=True)
        else:
            result = leastsq(lib.capsule("decay", shifted.ctypes.data), X0, m=M, full_output=True)
        inner.append((result[0].tobytes(), result[2]["nfev"], result[4]))
        return residuals(p, row)

    outcome = fit_outcome(leastsq(func, X0, args=(row,), full_output=True))
    outcome["inner fits"] = tuple(inner)
    return outcome


def func_raises(lib, seed):
    # At call 1 (x0) before MINPACK starts; later from inside MINPACK.
    row, raiser = decay_row(seed), Raiser("func", 1 + seed % 6)

    def func(p, row):
        raiser.count()
        return residuals(p, row)

    try:
        leastsq(func, X0, args=(row,), Dfun=jacobian if seed % 2 else None, full_output=True)
    except BoomError as exc:
        return raised_outcome(exc, raiser)
    return {"raised": None}


def dfun_raises(lib, seed):
    row, raiser = decay_row(seed), Raiser("Dfun", 1 + seed % 4)

    def dfun(p, row):
        raiser.count()
        return jacobian(p, row)

    try:
        leastsq(residuals, X0, args=(row,), Dfun=dfun)
    except BoomError as exc:
        return raised_outcome(exc, raiser)
    return {"raised": None}


def callback_watches_or_stops(lib, seed):
    # Stops the fit at iteration seed % 4 (0: never); with a C func every third job.
    row, seen = decay_row(seed), []

    def callback(x, fnorm, nfev):
        seen.append((x.tobytes(), fnorm.hex(), nfev))
        return len(seen) == seed % 4

    if seed % 3 == 0:
        func, args = lib.capsule("decay", row.ctypes.data), ()
    else:
        func, args = residuals, (row,)
    outcome = fit_outcome(leastsq(func, X0, args=args, m=M, full_output=True, callback=callback))
    outcome["iterations"] = tuple(seen)
    return outcome


def callback_raises(lib, seed):
    row, raiser = decay_row(seed), Raiser("callback", 1 + seed % 3)

    def callback(x, fnorm, nfev):
        raiser.count()

    try:
        leastsq(residuals, X0, args=(row,), Dfun=jacobian, callback=callback)
    except BoomError as exc:
        return raised_outcome(exc, raiser)
    return {"raised": None}


def decay_model(t, a, k, c):
    return a * np.exp(-k * t) + c


def curve_fit_decay(lib, seed):
    row = decay_row(seed)
    popt, pcov = curve_fit(decay_model, row[:M], row[M:], p0=X0)
    return {"popt": popt.tobytes(), "pcov": pcov.tobytes()}


KINDS = [
    python_lmdif,
    python_lmdif_x_and_ier,
    python_lmder,
    python_lmder_col_deriv,
    capsule_lmdif,
    capsule_lmder,
    ctypes_pointer_running_python,
    c_func_python_dfun,
    c_func_stops_through_iflag,
    nested,
    func_raises,
    dfun_raises,
    callback_watches_or_stops,
    callback_raises,
    curve_fit_decay,
]
# Job i is kind i % 15 on data seed i; 15 and 8 have no common factor, so every thread
# gets every kind, in a different order.
JOBS = [(KINDS[i % len(KINDS)], i) for i in range(THREADS * FITS_PER_THREAD)]


# ---- running them --------------------------------------------------------------------------


@contextmanager
def gil_switching_often():
    before = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def meeting_fit(seed, meeting=None):
    """A Python fit whose func, on its third call (inside MINPACK), waits at ``meeting``."""
    row, calls = decay_row(seed), [0]

    def func(p, row):
        calls[0] += 1
        if calls[0] == 3 and meeting is not None:
            meeting.wait()  # releases the GIL while it waits
        return residuals(p, row)

    return fit_outcome(leastsq(func, X0, args=(row,), full_output=True))


def run_in_threads(tasks_per_thread):
    """Run each thread's tasks in a thread of its own, all at once; their outcomes.

    Each thread starts with a meeting fit: the threads go on only once every one of them
    has a fit suspended inside MINPACK (a fit that kept the GIL while it waited would
    break the barrier), so they really overlap, and each fit must then finish as alone.
    """
    meeting = threading.Barrier(len(tasks_per_thread), timeout=60)

    def worker(first_seed, tasks):
        return [meeting_fit(first_seed, meeting)] + [task() for task in tasks]

    seeds = range(300_000, 300_000 + len(tasks_per_thread))
    with gil_switching_often(), ThreadPoolExecutor(max_workers=len(tasks_per_thread)) as pool:
        per_thread = list(pool.map(worker, seeds, tasks_per_thread))
    for seed, outcomes in zip(seeds, per_thread, strict=True):
        assert outcomes[0] == meeting_fit(seed), "a fit that met the others changed"
    return [outcomes[1:] for outcomes in per_thread]


def differences(expected, got, names):
    """The first few tasks whose outcomes differ, and in which fields."""
    found = []
    for name, one, other in zip(names, expected, got, strict=True):
        if one != other:
            keys = sorted(k for k in one.keys() | other.keys() if one.get(k) != other.get(k))
            found.append(f"{name}: {keys}")
    return found[:10]


def test_8_threads_of_500_mixed_fits_give_exactly_the_serial_results(lib):
    tasks = [lambda kind=kind, seed=seed: kind(lib, seed) for kind, seed in JOBS]
    names = [f"job {seed} ({kind.__name__})" for kind, seed in JOBS]
    serial = [task() for task in tasks]

    per_thread = run_in_threads([tasks[t::THREADS] for t in range(THREADS)])
    concurrent = [None] * len(tasks)
    for t, outcomes in enumerate(per_thread):
        concurrent[t::THREADS] = outcomes
    assert not differences(serial, concurrent, names)

    # The jobs are what their names say...
    ier_by_kind = {}
    for (kind, _), outcome in zip(JOBS, serial, strict=True):
        ier_by_kind.setdefault(kind.__name__, set()).add(outcome.get("ier"))
    assert ier_by_kind["c_func_stops_through_iflag"] == {-1, -2, -3, -4}
    assert {-1}.union(SUCCESS) >= ier_by_kind["callback_watches_or_stops"] > {-1}
    raising = [o for o in serial if "raised" in o]
    assert raising and all(o["raised"] == "BoomError" for o in raising)
    assert all(o["the object raised"] and o["in the thread that raised it"] for o in raising)
    # ... and every successful fit found a different solution, so a fit that used another's
    # data or state could not give the serial answer.
    solutions = [o["x"] for o in serial if o.get("ier") in SUCCESS]
    assert len(set(solutions)) == len(solutions) > len(JOBS) // 2


# ---- leastsq_batch beside single fits ----------------------------------------------------

BATCH_ROWS = np.array([decay_row(200_000 + k) for k in range(3000)])
BATCH_ROWS.flags.writeable = False


def batch_outcome(result):
    arrays = ("x", "ier", "nfev", "njev", "fnorm", "cov_x", "success")
    return {name: None if getattr(result, name) is None else getattr(result, name).tobytes()
            for name in arrays}  # fmt: skip


def compiled_batch(lib, with_dfun):
    dfun = lib.ctypes("decay_jacobian") if with_dfun else None
    result = leastsq_batch(lib.ctypes("decay"), X0, BATCH_ROWS, Dfun=dfun, m=M, workers=2)
    assert result.success.all()
    return batch_outcome(result)


def python_batch():
    return batch_outcome(leastsq_batch(residuals, X0, BATCH_ROWS[:100], Dfun=jacobian))


def python_batch_raises():
    raiser = Raiser("func", 250)  # in the 10th problem or so

    def func(p, row):
        raiser.count()
        return residuals(p, row)

    try:
        leastsq_batch(func, X0, BATCH_ROWS[:100])
    except BoomError as exc:
        return raised_outcome(exc, raiser)
    return {"raised": None}


def test_batches_running_beside_single_fits_give_exactly_the_serial_results(lib):
    # 2 threads run compiled batches (each with 2 workers of its own, without the GIL),
    # 1 runs Python batches, one of which raises, and 5 run 100 single-fit jobs each.
    batches = [
        [lambda: compiled_batch(lib, with_dfun=False)] * 3,
        [lambda: compiled_batch(lib, with_dfun=True)] * 3,
        [python_batch, python_batch_raises] * 2,
    ]
    singles = [lambda kind=kind, seed=seed: kind(lib, seed) for kind, seed in JOBS[:500]]
    tasks_per_thread = batches + [singles[t::5] for t in range(5)]
    serial = [[task() for task in tasks] for tasks in tasks_per_thread]
    concurrent = run_in_threads(tasks_per_thread)
    for t, (expected, got) in enumerate(zip(serial, concurrent, strict=True)):
        names = [f"thread {t} task {i}" for i in range(len(expected))]
        assert not differences(expected, got, names)
    assert any("problem" in note for note in serial[2][1]["notes"])
