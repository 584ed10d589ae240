"""One compiled fit through minpack.leastsq against the same fit in a C program.

The small problem of bench_leastsq.py: y = a*exp(-b*t) + c on t = linspace(0, 4, 50)
(m = 50, n = 3), p0 = (1, 1, 0), leastsq's defaults.  Contenders, run alternately
(the order reversed every other round) after a warm-up:

* the physical limit: ``c_loop_fit`` of ``batch_residual.c`` on one thread, a plain C
  loop calling MINPACK's ``lmdif_`` from the same ``libminpack.a`` on the C residual
  ``decay_residual``, timed over many fits of the same problem (per fit);
* ``minpack.leastsq`` with that C residual in a ``scipy.LowLevelCallable`` (ctypes
  function pointer, the y values as user data): the same residual code exactly;
* ``minpack.leastsq`` with a numba ``cfunc`` of the same model in a ``LowLevelCallable``,
  without and with ``full_output``.

Before timing it checks that the three give the same x, ier and nfev, bit for bit.  It
prints median microseconds per fit and the medians of per-round ratios to the C loop.

    python benchmarks/bench_compiled.py            # the full run (about a minute)
    python benchmarks/bench_compiled.py --quick    # 3 rounds: checks that it runs
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

import numpy as np
import scipy
from bench_leastsq import P0, small_problem
from c_limit import build_library, find_libminpack
from numba import carray, cfunc, types

import minpack

T, Y = small_problem()
M, N = T.size, len(P0)
STEP = 4.0 / (M - 1)

RESIDUAL = ctypes.CFUNCTYPE(
    None,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.POINTER(ctypes.c_double),
    ctypes.POINTER(ctypes.c_double),
    ctypes.POINTER(ctypes.c_int),
    ctypes.c_void_p,
)


@cfunc(
    types.void(
        types.intc, types.intc, types.CPointer(types.double), types.CPointer(types.double),
        types.CPointer(types.intc), types.voidptr,
    )
)  # fmt: skip
def numba_decay(m, n, x, fvec, iflag, user_data):
    y = carray(user_data, (m,), dtype=np.float64)
    for i in range(m):
        t = 4.0 if i == m - 1 else i * STEP  # as decay_residual and NumPy's linspace
        fvec[i] = x[0] * np.exp(-x[1] * t) + x[2] - y[i]


def c_loop(library: ctypes.CDLL, fits: int) -> Callable[[], tuple[np.ndarray, int, int]]:
    """Fit the problem ``fits`` times in one C loop; return the last fit's x, ier, nfev."""
    data = np.ascontiguousarray(np.tile(Y, (fits, 1)))
    x0 = np.tile(np.array(P0), (fits, 1))
    x = np.empty_like(x0)
    info = np.zeros(fits, dtype=np.intc)
    nfev = np.zeros(fits, dtype=np.intc)

    def run() -> tuple[np.ndarray, int, int]:
        x[:] = x0
        status = library.c_loop_fit(
            fits, M, N, data.ctypes.data, x.ctypes.data, info.ctypes.data, nfev.ctypes.data, 1
        )
        assert status == 0, status
        return x[-1].copy(), int(info[-1]), int(nfev[-1])

    return run


def through_leastsq(
    residual: object, fits: int, full_output: bool
) -> Callable[[], tuple[np.ndarray, int, int]]:
    """Fit the problem ``fits`` times with minpack.leastsq; return the last fit's."""

    def run() -> tuple[np.ndarray, int, int]:
        for _ in range(fits - 1):
            minpack.leastsq(residual, P0, m=M, full_output=full_output)
        x, _, info, _, ier = minpack.leastsq(residual, P0, m=M, full_output=True)
        return x, ier, info["nfev"]

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=41, help="timed rounds")
    parser.add_argument("--fits", type=int, default=2000, help="fits per contender per round")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 50 fits: a smoke run")
    parser.add_argument("--cc", default=os.environ.get("CC", "cc"), help="the C compiler")
    options = parser.parse_args(argv)
    if options.quick:
        options.rounds, options.fits = 3, 50

    print(
        f"minpack {minpack.__version__}, SciPy {scipy.__version__}, NumPy {np.__version__}, "
        f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
    )
    print(f"m = {M}, n = {N}; {options.rounds} rounds x {options.fits} fits; medians\n")
    with tempfile.TemporaryDirectory() as directory:
        library = build_library(options.cc, find_libminpack(options.cc), directory)
        c_residual = ctypes.cast(library.decay_residual, RESIDUAL)
        y = ctypes.c_void_p(Y.ctypes.data)
        contenders = {
            "C loop over lmdif_ (the limit)": c_loop(library, options.fits),
            "leastsq, C residual, LowLevelCallable": through_leastsq(
                scipy.LowLevelCallable(c_residual, y), options.fits, False
            ),
            "leastsq, numba cfunc, LowLevelCallable": through_leastsq(
                scipy.LowLevelCallable(numba_decay.ctypes, y), options.fits, False
            ),
            "  the same, full_output=True": through_leastsq(
                scipy.LowLevelCallable(numba_decay.ctypes, y), options.fits, True
            ),
        }
        names = list(contenders)
        results = {name: run() for name, run in contenders.items()}
        limit = results[names[0]]
        same = True
        for name in names[1:]:
            x, ier, nfev = results[name]
            if not (np.array_equal(x, limit[0]) and ier == limit[1] and nfev == limit[2]):
                print(f"DIFFERENT: {name} gives {x!r}, {ier}, {nfev}; the C loop {limit}")
                same = False
        if same:
            print(f"same x, ier ({limit[1]}) and nfev ({limit[2]}), bit for bit\n")

        for run in contenders.values():  # warm-up
            run()
        times: dict[str, list[float]] = {name: [] for name in names}
        for round_index in range(options.rounds):
            order = names if round_index % 2 == 0 else names[::-1]
            for name in order:
                start = time.perf_counter()
                contenders[name]()
                times[name].append((time.perf_counter() - start) / options.fits)
    header = f"{'contender':42s} {'us per fit':>11s} {'vs C loop':>10s}"
    print(header)
    print("-" * len(header))
    for name in names:
        ratios = [ours / c for ours, c in zip(times[name], times[names[0]], strict=True)]
        print(
            f"{name:42s} {statistics.median(times[name]) * 1e6:11.2f} "
            f"{statistics.median(ratios):10.3f}"
        )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
