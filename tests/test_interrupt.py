"""Ctrl-C (issue 8): a real SIGINT stops a long fit promptly and leaves the package usable.

Each test starts a child Python (this module's ``child``), which computes reference
results, starts a fit that would run for a minute or more and says so on stdout from
inside the fit; the parent then sends the child a real SIGINT with ``os.kill``, as a
terminal's Ctrl-C does (to the process: on Linux any of its threads may receive it), and
times how long the child takes to catch ``KeyboardInterrupt``.  The child then fits again
(plain, with Dfun, with an iteration callback, nested, in another thread, compiled, in
batches), must get its references back bit for bit, prints digests of those results,
which must equal the parent's own, and exits 0 with nothing on stderr.

tests/test_batch.py already interrupts batches in-process, with ``pthread_kill`` to the
main thread; these tests send the signal from outside, and cover single fits too.
"""

import hashlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np
import pytest
from helpers.compiled import X0, Library, M, decay_row, jacobian, residuals

from minpack import leastsq, leastsq_batch

TESTS = Path(__file__).parent
# How soon after SIGINT the child must have caught KeyboardInterrupt.  Measured here: 0.1 to
# 4 ms for the Python fits, 20 to 24 ms for the compiled batch (each worker finishes the
# problem it is in, about 20 calls of 1 ms), also with the load test running beside.  2 s
# leaves room for a loaded 2-core CI machine, and is 10 times shorter than the shortest of
# the fits below would run without the interrupt (20 s): a Ctrl-C that waited for the fit
# or the batch to end, or for a batch's chunk of 1024 problems (at least 4 s), fails.
PROMPTLY = 2.0
# For everything else (the child's start-up, references and checks): only a hang fails.
PATIENCE = 120.0

# ---- the long fits (run in the child) --------------------------------------------------------


def far_away(p):
    """Residuals whose minimum lies at infinity: lmdif doubles x at every iteration.

    Until x overflows: 54,136 calls for n = 100 variables (lmdif), 512 calls of func and
    512 of Dfun for n = 3 (lmder).
    """
    return 1.0 / (1.0 + p)


def far_away_jacobian(p):
    return np.diag(-1.0 / (1.0 + p) ** 2)


class Announcer:
    """Prints "started" on its ``after``-th call: the fit is then well inside MINPACK."""

    def __init__(self, after):
        self.after, self.calls = after, 0

    def __call__(self):
        self.calls += 1
        if self.calls == self.after:
            print("started", flush=True)


def lmdif_func_sleeps(lib):
    # 1 ms sleeps: at least 54 s.  SIGINT interrupts the sleep (PEP 475).
    announce = Announcer(20)

    def sleeping_func(p):
        announce()
        time.sleep(0.001)
        return far_away(p)

    leastsq(sleeping_func, np.ones(100), maxfev=10**9)


def lmdif_func_computes(lib):
    # 1 ms of Python bytecode per call: the signal arrives while the interpreter runs
    # (or while MINPACK does), not in a sleep.  At least 54 s.
    announce = Announcer(20)

    def computing_func(p):
        announce()
        deadline = time.perf_counter() + 0.001
        while time.perf_counter() < deadline:
            pass
        return far_away(p)

    leastsq(computing_func, np.ones(100), maxfev=10**9)


def lmder_dfun_sleeps(lib):
    # Dfun sleeps 100 ms: 512 calls, at least 51 s.
    announce = Announcer(2)

    def func(p):
        return far_away(p)

    def sleeping_dfun(p):
        announce()
        time.sleep(0.1)
        return far_away_jacobian(p)

    leastsq(func, np.ones(3), Dfun=sleeping_dfun, maxfev=10**9)


def iteration_callback_sleeps(lib):
    # The callback sleeps 100 ms at each of about 540 iterations: at least 54 s.
    announce = Announcer(2)

    def func(p):
        return far_away(p)

    def sleeping_callback(x, fnorm, nfev):
        announce()
        time.sleep(0.1)

    leastsq(func, np.ones(100), maxfev=10**9, callback=sleeping_callback)


def inner_fit_of_a_nested_fit(lib):
    # Every call of the outer func runs an inner fit whose func sleeps 1 ms: the signal
    # arrives inside the inner MINPACK, inside the outer one.  Far longer than a minute.
    announce = Announcer(60)
    row = decay_row(5)

    def sleeping_inner_func(p):
        announce()
        time.sleep(0.001)
        return residuals(p, row)

    def outer_func(p):
        leastsq(sleeping_inner_func, X0)
        return far_away(p)

    leastsq(outer_func, np.ones(100), maxfev=10**9)


def python_batch(lib):
    # 5,000 problems, at least n + 1 = 4 calls of 1 ms each: at least 20 s.
    announce = Announcer(20)
    rows = np.array([decay_row(k) for k in range(5000)])

    def sleeping_func(p, row):
        announce()
        time.sleep(0.001)
        return residuals(p, row)

    leastsq_batch(sleeping_func, X0, rows)


def compiled_batch(lib):
    # batch_callbacks.c's sleepy_decay sleeps 1 ms per call: 10,000 problems of at least
    # 4 calls on 2 workers, at least 20 s.  No Python runs during the batch, so a thread
    # watching the C call counter says when it has started.
    rows = np.array([decay_row(k) for k in range(10_000)])

    def announce_when_running():
        while lib.cdll.sleepy_call_count() < 100:
            time.sleep(0.001)
        print("started", flush=True)

    threading.Thread(target=announce_when_running, daemon=True).start()
    leastsq_batch(lib.ctypes("sleepy_decay"), X0, rows, m=M, workers=2)


# case: (the long fit, functions of which one must be in KeyboardInterrupt's traceback).
# During a single fit, Python runs only inside the fit's callbacks, so the signal handler
# raises there; a batch also runs its own Python between problems (or, compiled, waits in
# threading's Event.wait).
CASES = {
    "lmdif-func-sleeps": (lmdif_func_sleeps, {"sleeping_func"}),
    "lmdif-func-computes": (lmdif_func_computes, {"computing_func"}),
    "lmder-Dfun-sleeps": (lmder_dfun_sleeps, {"func", "sleeping_dfun"}),
    "iteration-callback-sleeps": (iteration_callback_sleeps, {"func", "sleeping_callback"}),
    "inner-fit-of-a-nested-fit": (inner_fit_of_a_nested_fit, {"outer_func"}),
    "python-leastsq_batch": (python_batch, {"leastsq_batch"}),
    "compiled-leastsq_batch": (compiled_batch, {"leastsq_batch"}),
}

# ---- after the interrupt: does everything still give its reference? -------------------------


def fit_digest(result):
    """A digest of every bit of a full output (or a BatchResult)."""
    if isinstance(result, tuple):
        x, cov_x, info, mesg, ier = result
        parts = [x, cov_x, info["fvec"], info["fjac"], info["ipvt"], info["qtf"],
                 info["nfev"], info.get("njev"), mesg, ier]  # fmt: skip
    else:
        parts = [result.x, result.ier, result.nfev, result.njev, result.fnorm, result.cov_x]
    encoded = [part.tobytes() if isinstance(part, np.ndarray) else repr(part) for part in parts]
    return hashlib.sha256(repr(encoded).encode()).hexdigest()


def nested_fit(row):
    def func(p):
        inner = leastsq(residuals, X0, args=(row,))[0]
        return residuals(p, row) + 1e-3 * inner[0]

    return leastsq(func, X0, full_output=True)


def in_another_thread(function):
    results = []
    thread = threading.Thread(target=lambda: results.append(function()))
    thread.start()
    thread.join(PATIENCE)
    return results[0]


def checks(lib):
    """Every kind of fit, as digests: what the child must still get after the interrupt."""
    row = decay_row(1)
    rows = np.array([decay_row(k) for k in range(2, 12)])
    iterations = []

    def stop_at_the_third_iteration(x, fnorm, nfev):
        iterations.append(nfev)
        return len(iterations) == 3

    fits = {
        "lmdif": lambda: leastsq(residuals, X0, args=(row,), full_output=True),
        "lmder": lambda: leastsq(residuals, X0, args=(row,), Dfun=jacobian, full_output=True),
        "iteration callback": lambda: leastsq(
            residuals, X0, args=(row,), full_output=True, callback=stop_at_the_third_iteration
        ),
        "nested": lambda: nested_fit(row),
        "in another thread": lambda: in_another_thread(
            lambda: leastsq(residuals, X0, args=(row,), full_output=True)
        ),
        "nested in another thread": lambda: in_another_thread(lambda: nested_fit(row)),
        "compiled": lambda: leastsq(
            lib.capsule("decay", row.ctypes.data), X0, m=M, full_output=True
        ),
        "python batch": lambda: leastsq_batch(residuals, X0, rows),
        "compiled batch": lambda: leastsq_batch(lib.ctypes("decay"), X0, rows, m=M, workers=2),
    }
    return {name: fit_digest(fit()) for name, fit in fits.items()}


def child(case, library):
    """The child process: references, the long fit, Ctrl-C, the checks."""
    # Python's own Ctrl-C, even when the test run was started with SIGINT ignored (a
    # background CI job, nohup), which the child would otherwise inherit.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    lib = Library(library)
    long_fit, where = CASES[case]
    before = checks(lib)
    try:
        long_fit(lib)
    except KeyboardInterrupt as exc:
        frames = [frame.name for frame in traceback.extract_tb(exc.__traceback__)]
        print(f"interrupted in {' < '.join(reversed(frames))}", flush=True)
    else:
        print("finished without an interrupt", flush=True)
        return
    if case == "compiled-leastsq_batch":
        # leastsq_batch has returned: no worker may still be fitting.
        calls = lib.cdll.sleepy_call_count()
        time.sleep(0.3)
        print(f"late calls {lib.cdll.sleepy_call_count() - calls}", flush=True)
    after = checks(lib)
    changed = sorted(name for name in before if after[name] != before[name])
    print(f"changed {changed}", flush=True)
    for name, digest in sorted(after.items()):
        print(f"digest {name}: {digest}", flush=True)


# ---- the parent ------------------------------------------------------------------------------


class Child:
    """A child process running ``child(case, library)``, its stdout read line by line."""

    def __init__(self, case, library):
        code = f"import test_interrupt; test_interrupt.child({case!r}, {library!r})"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], cwd=TESTS, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.lines = queue.Queue()
        self.stderr = []
        self.readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.lines.put)),
            threading.Thread(target=self._read, args=(self.process.stderr, self.stderr.append)),
        ]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream, keep):
        for line in stream:
            keep(line.rstrip("\n"))

    def next_line(self, timeout, waiting_for):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no {waiting_for} within {timeout} s; stderr: {self.stderr}")

    def finish(self):
        """Wait for the exit: (exit status, the remaining stdout lines, stderr)."""
        status = self.process.wait(timeout=PATIENCE)
        for reader in self.readers:
            reader.join(PATIENCE)
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        return status, rest, "\n".join(self.stderr)

    def close(self):
        """Kill the child if it is still running; close its pipes."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for reader in self.readers:
            reader.join(PATIENCE)
        self.process.stdout.close()
        self.process.stderr.close()


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("case", CASES)
def test_ctrl_c_stops_a_long_fit_promptly_and_leaves_the_package_usable(lib, case):
    expected = checks(lib)  # the parent's own results, which the child's must equal
    child_process = Child(case, lib.path)
    try:
        assert child_process.next_line(PATIENCE, "start of the long fit") == "started"
        os.kill(child_process.process.pid, signal.SIGINT)
        sent = time.monotonic()
        interrupted = child_process.next_line(PROMPTLY, "KeyboardInterrupt after SIGINT")
        latency = time.monotonic() - sent
        status, lines, stderr = child_process.finish()
    finally:
        child_process.close()

    assert interrupted.startswith("interrupted in "), (interrupted, stderr)
    assert latency < PROMPTLY, f"{latency:.3f} s from SIGINT to KeyboardInterrupt"
    frames = interrupted.removeprefix("interrupted in ").split(" < ")
    assert CASES[case][1] & set(frames), interrupted  # raised inside the long fit
    if case == "compiled-leastsq_batch":
        assert lines.pop(0) == "late calls 0"
    assert lines.pop(0) == "changed []"
    digests = dict(line.removeprefix("digest ").split(": ") for line in lines)
    assert digests == expected
    assert stderr == ""
    assert status == 0
