"""minpack.leastsq_batch against a plain C loop over MINPACK and Python loops, side by side.

K problems y = a*exp(-b*t) + c on t = linspace(0, 4, 50) (m = 50, n = 3), each with its
own data: a in [1, 3], b in [0.5, 2], c in [-1, 1] drawn per problem from a fixed seed,
plus noise of sigma 0.02; p0 = (1, 1, 0) for all.  The data are one (K, 50) array of y
values; t is known to the residual (NumPy's linspace, rebuilt the same way in C).

Contenders, run alternately (the order reversed every other round) after a warm-up:

* the physical limit: ``c_loop_fit`` in ``batch_residual.c``, a plain C loop calling
  MINPACK's ``lmdif_`` (from ``libminpack.a``) with leastsq's defaults on the same C
  residual, with 2 threads (the problems split in two halves) and with 1;
* ``minpack.leastsq_batch`` with that C residual (a ctypes function pointer) and
  ``workers=2`` and ``workers=1``;
* ``minpack.leastsq_batch(..., vectorized=True)`` with a NumPy residual of all the
  problems of a round, ``workers=1`` and ``workers=2``, without and with a vectorized
  NumPy Jacobian (``Dfun``), on all K problems;
* on the first K/50 problems: ``minpack.leastsq_batch`` with a per-problem NumPy residual,
  and Python loops of ``minpack.leastsq`` (without and with a NumPy ``Dfun``) and of
  ``scipy.optimize.leastsq`` (for reference).  A loop's fits per second do not depend on
  K (each fit is on its own), so the ratios compare rates.

It prints the median fits per second of each, and medians of per-round ratios of fits
per second.  Before timing it checks that the C loop and leastsq_batch return the same
x, ier and nfev, bit for bit, on the first 100 problems (the same MINPACK on the same
inputs), and likewise leastsq_batch with the NumPy residuals (per problem and vectorized)
against the loops of minpack.leastsq; a difference is printed and makes the exit status 1.

Then, in child processes, the peak memory of a vectorized batch beyond its inputs: the
peak resident set (VmHWM, reset through /proc/self/clear_refs just before the call) for
K and K/5 problems, less the result arrays.  What remains is the chunk's: coroutine
stacks and MINPACK workspaces for 256 problems and one round's arrays, whatever K is.

``batch_residual.c`` is compiled at run time with ``cc`` (or ``--cc``) against
``libminpack.a`` (Debian's minpack-dev) into a temporary folder.

    python benchmarks/bench_batch.py            # the full run: K = 100,000 (a few minutes)
    python benchmarks/bench_batch.py --quick    # K = 2,000, 3 rounds: checks that it runs
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy
import scipy.optimize
from c_limit import build_library, find_libminpack

import minpack

M = 50
T = np.linspace(0.0, 4.0, M)
P0 = (1.0, 1.0, 0.0)
N = len(P0)
CHECKED = 100  # problems compared bit for bit before timing

RESIDUAL = ctypes.CFUNCTYPE(
    None,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.POINTER(ctypes.c_double),
    ctypes.POINTER(ctypes.c_double),
    ctypes.POINTER(ctypes.c_int),
    ctypes.c_void_p,
)

C_LOOP_2 = "C loop over lmdif_, 2 threads"
C_LOOP_1 = "C loop over lmdif_, 1 thread"
BATCH_2 = "leastsq_batch, C residual, workers=2"
BATCH_1 = "leastsq_batch, C residual, workers=1"
BATCH_PY = "leastsq_batch, NumPy residual"
LOOP = "loop of minpack.leastsq"
LOOP_FULL = "loop of minpack.leastsq, full_output"
LOOP_SCIPY = "loop of scipy.optimize.leastsq, full_output"
LOOP_DFUN = "loop of minpack.leastsq with Dfun, full_output"
VECTOR_1 = "leastsq_batch, vectorized NumPy residual, workers=1"
VECTOR_2 = "leastsq_batch, vectorized NumPy residual, workers=2"
VECTOR_DFUN_1 = "leastsq_batch, vectorized residual and Dfun, workers=1"
VECTOR_DFUN_2 = "leastsq_batch, vectorized residual and Dfun, workers=2"


def problems(count: int, seed: int = 20261125) -> np.ndarray:
    """The (count, M) y values: a*exp(-b*t) + c + noise, a, b, c drawn per problem."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(1.0, 3.0, count)[:, None]
    b = rng.uniform(0.5, 2.0, count)[:, None]
    c = rng.uniform(-1.0, 1.0, count)[:, None]
    noise = 0.02 * rng.standard_normal((count, M))
    return np.ascontiguousarray(a * np.exp(-b * T) + c + noise)


def decay_row(p: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The NumPy twin of decay_residual: called as func(x, data[k], t)."""
    return p[0] * np.exp(-p[1] * t) + p[2] - y


def decay_row_jacobian(p: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """decay_row's Jacobian, (m, n)."""
    e = np.exp(-p[1] * t)
    return np.column_stack([e, -p[0] * t * e, np.ones_like(t)])


def decay_rows(X: np.ndarray, Y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """decay_row of the k problems of a round: X (k, n), their y values Y (k, m)."""
    return X[:, 0:1] * np.exp(-X[:, 1:2] * t) + X[:, 2:3] - Y


def decay_rows_jacobian(X: np.ndarray, Y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """decay_row_jacobian of the k problems of a round, (k, m, n)."""
    e = np.exp(-X[:, 1:2] * t)
    return np.stack([e, -X[:, 0:1] * t * e, np.broadcast_to(1.0, e.shape)], axis=2)


@dataclass
class Fits:
    """What a contender returns: the solutions, ier and nfev per problem."""

    x: np.ndarray
    ier: np.ndarray
    nfev: np.ndarray


def c_loop(library: ctypes.CDLL, threads: int) -> Callable[[np.ndarray], Fits]:
    def fit(data: np.ndarray) -> Fits:
        count = data.shape[0]
        x = np.tile(np.array(P0), (count, 1))
        info = np.empty(count, dtype=np.intc)
        nfev = np.empty(count, dtype=np.intc)
        status = library.c_loop_fit(
            count, M, N, data.ctypes.data, x.ctypes.data, info.ctypes.data,
            nfev.ctypes.data, threads,
        )  # fmt: skip
        if status != 0:
            raise RuntimeError(f"c_loop_fit failed with status {status}")
        return Fits(x, info, nfev)

    return fit


def batch(func: object, workers: int | None, **options: object) -> Callable[[np.ndarray], Fits]:
    def fit(data: np.ndarray) -> Fits:
        result = minpack.leastsq_batch(func, P0, data=data, workers=workers, **options)
        return Fits(result.x, result.ier, result.nfev)

    return fit


def python_loop(
    leastsq: Callable[..., tuple], full_output: bool, dfun: Callable[..., np.ndarray] | None = None
) -> Callable[[np.ndarray], Fits]:
    """One leastsq call per problem, x and ier (and nfev with full_output) kept."""

    def fit(data: np.ndarray) -> Fits:
        count = data.shape[0]
        x = np.empty((count, N))
        ier = np.empty(count, dtype=np.intc)
        nfev = np.zeros(count, dtype=np.intc)
        for k in range(count):
            args = (data[k], T)
            if full_output:
                x[k], _, info, _, ier[k] = leastsq(decay_row, P0, args, dfun, full_output=1)
                nfev[k] = info["nfev"]
            else:
                x[k], ier[k] = leastsq(decay_row, P0, args, dfun)
        return Fits(x, ier, nfev)

    return fit


@dataclass
class Contender:
    name: str
    fit: Callable[[np.ndarray], Fits]
    problems: int
    seconds: list[float] = field(default_factory=list)
    last: Fits | None = None

    def rate(self, round_index: int) -> float:
        return self.problems / self.seconds[round_index]


def first_difference(a: Fits, b: Fits, count: int) -> str | None:
    """Describe the first problem where ``a`` and ``b`` differ in any bit, or None."""
    for k in range(count):
        if np.asarray(a.x[k], dtype=np.float64).tobytes() != np.asarray(b.x[k]).tobytes():
            return f"problem {k}: x {a.x[k].tolist()} vs {np.asarray(b.x[k]).tolist()}"
        for what in ("ier", "nfev"):
            left, right = int(getattr(a, what)[k]), int(getattr(b, what)[k])
            if left != right:
                return f"problem {k}: {what} {left} vs {right}"
    return None


def check(name: str, a: Fits, b: Fits, count: int) -> bool:
    difference = first_difference(a, b, count)
    print(f"  {name}".ljust(90) + ("OK" if difference is None else "DIFFERENT"))
    if difference is not None:
        print(f"    first difference: {difference}")
    return difference is None


def run_rounds(contenders: list[Contender], data: np.ndarray, rounds: int) -> None:
    """Warm up on a tenth of each contender's problems, then time alternately."""
    for contender in contenders:
        contender.fit(data[: max(1, contender.problems // 10)])
    for round_index in range(rounds):
        order = contenders[::-1] if round_index % 2 else contenders
        for contender in order:
            rows = data[: contender.problems]
            start = time.perf_counter()
            contender.last = contender.fit(rows)
            contender.seconds.append(time.perf_counter() - start)


def ratio(a: Contender, b: Contender) -> float:
    """Median over rounds of a's fits/s over b's."""
    return statistics.median(a.rate(r) / b.rate(r) for r in range(len(a.seconds)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=100_000, help="K of the compiled runs")
    parser.add_argument(
        "--python-problems", type=int, help="K of the Python-residual runs (default: K/50)"
    )
    parser.add_argument("--rounds", type=int, default=11, help="timed rounds")
    parser.add_argument("--quick", action="store_true", help="K = 2,000, 3 rounds: a smoke run")
    parser.add_argument("--cc", default=os.environ.get("CC", "cc"), help="the C compiler")
    parser.add_argument(
        "--libminpack", default=None, help="MINPACK's static library (default: as cc finds it)"
    )
    options = parser.parse_args(argv)
    if options.quick:
        options.problems, options.rounds = 2000, 3
    k_compiled = options.problems
    k_python = options.python_problems or max(1, k_compiled // 50)
    if not hasattr(minpack, "leastsq_batch"):
        print(f"minpack {minpack.__version__} has no leastsq_batch", file=sys.stderr)
        return 1

    print(
        f"minpack {minpack.__version__}, SciPy {scipy.__version__}, NumPy {np.__version__}, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs"
    )
    print(
        f"y = a*exp(-b*t) + c, m = {M}, n = {N}: K = {k_compiled} problems with the C "
        f"residual, the first {k_python} with the NumPy one; {options.rounds} rounds; medians\n"
    )
    data = problems(max(k_compiled, k_python))
    with tempfile.TemporaryDirectory() as directory:
        libminpack = options.libminpack or find_libminpack(options.cc)
        library = build_library(options.cc, libminpack, directory)
        residual = ctypes.cast(library.decay_residual, RESIDUAL)
        compiled = {"m": M}
        vectorized_dfun = {"args": (T,), "Dfun": decay_rows_jacobian, "vectorized": True}
        contenders = [
            Contender(C_LOOP_2, c_loop(library, 2), k_compiled),
            Contender(C_LOOP_1, c_loop(library, 1), k_compiled),
            Contender(BATCH_2, batch(residual, 2, **compiled), k_compiled),
            Contender(BATCH_1, batch(residual, 1, **compiled), k_compiled),
            Contender(VECTOR_1, batch(decay_rows, 1, args=(T,), vectorized=True), k_compiled),
            Contender(VECTOR_2, batch(decay_rows, 2, args=(T,), vectorized=True), k_compiled),
            Contender(VECTOR_DFUN_1, batch(decay_rows, 1, **vectorized_dfun), k_compiled),
            Contender(VECTOR_DFUN_2, batch(decay_rows, 2, **vectorized_dfun), k_compiled),
            Contender(BATCH_PY, batch(decay_row, None, args=(T,)), k_python),
            Contender(LOOP, python_loop(minpack.leastsq, False), k_python),
            Contender(LOOP_FULL, python_loop(minpack.leastsq, True), k_python),
            Contender(LOOP_DFUN, python_loop(minpack.leastsq, True, decay_row_jacobian), k_python),
            Contender(LOOP_SCIPY, python_loop(scipy.optimize.leastsq, True), k_python),
        ]
        by_name = {contender.name: contender for contender in contenders}
        equal = report_checks(by_name, data, k_compiled, k_python)
        run_rounds(contenders, data, options.rounds)
    report_table(contenders, by_name)
    equal &= report_targets(by_name)
    report_memory(k_compiled)
    return 0 if equal else 1


def report_checks(
    by_name: dict[str, Contender], data: np.ndarray, k_compiled: int, k_python: int
) -> bool:
    """Compare x, ier and nfev bit for bit on the first problems, before any timing."""
    print("bit-for-bit checks on the first problems (x, ier, nfev):")
    compiled = data[: min(CHECKED, k_compiled)]
    python = data[: min(CHECKED, k_python)]
    pairs = [
        (C_LOOP_1, C_LOOP_2, compiled),
        (BATCH_2, C_LOOP_2, compiled),
        (BATCH_1, C_LOOP_2, compiled),
        (BATCH_PY, LOOP_FULL, python),
        (VECTOR_1, LOOP_FULL, python),
        (VECTOR_2, LOOP_FULL, python),
        (VECTOR_DFUN_1, LOOP_DFUN, python),
        (VECTOR_DFUN_2, LOOP_DFUN, python),
    ]
    equal = True
    for name, reference, rows in pairs:
        expected, got = by_name[reference].fit(rows), by_name[name].fit(rows)
        equal &= check(f"{name} = {reference}, {len(rows)} problems", expected, got, len(rows))
    print()
    return equal


def report_table(contenders: list[Contender], by_name: dict[str, Contender]) -> None:
    header = f"{'contender':46s} {'problems':>9s} {'fits/s':>10s} {'vs C loop':>10s}"
    print(header)
    print("-" * len(header))
    for contender in contenders:
        rates = [contender.rate(r) for r in range(len(contender.seconds))]
        print(
            f"{contender.name:46s} {contender.problems:9d} {statistics.median(rates):10.0f} "
            f"{ratio(contender, by_name[C_LOOP_2]):10.4f}"
        )
    print("(vs C loop: fits/s over those of the C loop with 2 threads, median of per-round ratios)")


def report_targets(by_name: dict[str, Contender]) -> bool:
    """Print the ratios the targets are about, and context; return the full-K check."""
    print("\nratios of fits/s (median of per-round ratios)")
    rows = [
        (BATCH_2, C_LOOP_2, 0.9),
        (BATCH_2, BATCH_1, 1.8),
        (BATCH_PY, LOOP, 1.0),
        (BATCH_PY, LOOP_FULL, None),
        (VECTOR_1, LOOP, 5.0),
        (VECTOR_2, LOOP, None),
        (VECTOR_1, BATCH_1, 0.25),
        (VECTOR_1, BATCH_2, None),
        (VECTOR_2, BATCH_2, None),
        (VECTOR_DFUN_1, LOOP_DFUN, None),
        (VECTOR_DFUN_1, LOOP, None),
        (VECTOR_DFUN_1, BATCH_1, None),
        (VECTOR_DFUN_1, BATCH_2, None),
        (VECTOR_DFUN_2, BATCH_2, None),
        (BATCH_1, C_LOOP_1, None),
        (C_LOOP_2, C_LOOP_1, None),
        (LOOP, LOOP_SCIPY, None),
        (LOOP_FULL, LOOP_SCIPY, None),
    ]
    for top, bottom, target in rows:
        value = ratio(by_name[top], by_name[bottom])
        verdict = (
            ""
            if target is None
            else f"   target >= {target}: {'met' if value >= target else 'MISSED'}"
        )
        print(f"  {top} / {bottom}".ljust(90) + f"{value:7.3f}{verdict}")
    reference, other = by_name[C_LOOP_2].last, by_name[BATCH_2].last
    count = by_name[C_LOOP_2].problems
    counts = np.bincount(reference.ier, minlength=5)
    print(
        f"\nC loop on all {count} problems: ier "
        + ", ".join(f"{i}: {c}" for i, c in enumerate(counts) if c)
        + f"; mean nfev {reference.nfev.mean():.2f}"
    )
    difference = first_difference(reference, other, count)
    print(
        f"{BATCH_2} = C loop on all {count} problems (last round): "
        + ("OK" if difference is None else f"DIFFERENT, {difference}")
    )
    return difference is None


MEMORY_CHILD = """
import ctypes, gc, re, sys
import numpy as np
import minpack
from bench_batch import P0, T, decay_rows, problems

def vm(field):
    text = open("/proc/self/status").read()
    return int(re.search(field + r":\\s+(\\d+) kB", text).group(1)) * 1024

count = int(sys.argv[1])
data = problems(count)
minpack.leastsq_batch(decay_rows, P0, data[:1000], args=(T,), vectorized=True, workers=1)
# Return what is free to the system first: else memory freed during the fit (the heap
# trimmed) would hide the fit's own from the peak.
gc.collect()
ctypes.CDLL("libc.so.6").malloc_trim(0)
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # VmHWM := the resident set now
before = vm("VmHWM")
result = minpack.leastsq_batch(decay_rows, P0, data, args=(T,), vectorized=True, workers=1)
print(vm("VmHWM") - before, int(result.success.sum()))
"""


def report_memory(k_full: int) -> None:
    """Peak memory of a vectorized batch beyond its inputs, for K/5 and K problems."""
    if not os.path.exists("/proc/self/clear_refs"):
        print("\npeak memory: not measured (needs Linux's /proc/self/clear_refs)")
        return
    import subprocess

    here = os.path.dirname(os.path.abspath(__file__))
    results_per_problem = (
        8 * (N + N * N + 1) + 3 * 4 + 1
    )  # x, cov_x, fnorm; ier, nfev, njev; success
    print("\npeak memory of a vectorized batch (workers=1) beyond its inputs, in a child process:")
    for count in (max(1, k_full // 5), k_full):
        done = subprocess.run(
            [sys.executable, "-c", MEMORY_CHILD, str(count)], capture_output=True, text=True,
            cwd=here, check=True,
        )  # fmt: skip
        peak, _ = (int(word) for word in done.stdout.split())
        results = count * results_per_problem
        print(
            f"  K = {count:7d}: peak {peak / 2**20:6.1f} MiB = results {results / 2**20:5.1f} MiB"
            f" + {(peak - results) / 2**20:5.1f} MiB for the chunk"
        )


if __name__ == "__main__":
    sys.exit(main())
