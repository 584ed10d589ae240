"""minpack.leastsq against scipy.optimize.leastsq, side by side in one process.

Every case runs both implementations alternately (A B, then B A, ...) for many
rounds after a warm-up, and reports the median time of each and the median of
the per-round ratios ours / SciPy's, so that drift in a shared machine's speed
hits both sides alike.  Peak memory is measured in a fresh subprocess per side.

    python benchmarks/bench_leastsq.py            # the full run (a few minutes)
    python benchmarks/bench_leastsq.py --quick    # tiny sizes: checks that it runs
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy
import scipy.optimize

import minpack

TRUTH = (2.5, 1.3, 0.5)
P0 = (1.0, 1.0, 0.0)


@dataclass
class Result:
    """Median seconds per fit for each side, and the median per-round ratio."""

    name: str
    ours: float
    scipy: float
    ratio: float


def alternate(
    name: str, ours: Callable[[], object], theirs: Callable[[], object], rounds: int, batch: int
) -> Result:
    """Time ``batch`` calls of each side per round, alternating which goes first."""
    for _ in range(max(1, batch // 10)):  # warm-up: caches, allocator, branch predictors
        ours()
        theirs()
    our_times, their_times, ratios = [], [], []
    for round_index in range(rounds):
        pair = [(ours, our_times), (theirs, their_times)]
        if round_index % 2:
            pair.reverse()
        for function, times in pair:
            start = time.perf_counter()
            for _ in range(batch):
                function()
            times.append((time.perf_counter() - start) / batch)
        ratios.append(our_times[-1] / their_times[-1])
    median = statistics.median
    return Result(name, median(our_times), median(their_times), median(ratios))


def small_problem() -> tuple[np.ndarray, np.ndarray]:
    """y = a*exp(-b*x) + c on 50 points, noise of sigma 0.02 from a fixed seed."""
    x = np.linspace(0.0, 4.0, 50)
    noise = 0.02 * np.random.default_rng(1234).standard_normal(x.size)
    return x, TRUTH[0] * np.exp(-TRUTH[1] * x) + TRUTH[2] + noise


def decay(p: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return p[0] * np.exp(-p[1] * x) + p[2] - y


def decay_jacobian(p: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    e = np.exp(-p[1] * x)
    return np.column_stack([e, -p[0] * x * e, np.ones_like(x)])


def decay_jacobian_columns(p: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    e = np.exp(-p[1] * x)
    return np.vstack([e, -p[0] * x * e, np.ones_like(x)])


def small_cases(rounds: int, batch: int) -> list[Result]:
    """Cases 1 and 2: the small exponential fit, without and with Dfun."""
    data = small_problem()
    cases = {
        "small, no Dfun, full_output=False": {},
        "small, no Dfun, full_output=True": {"full_output": True},
        "small, Dfun row-major": {"Dfun": decay_jacobian},
        "small, Dfun col_deriv=True": {"Dfun": decay_jacobian_columns, "col_deriv": True},
    }
    results = []
    for name, options in cases.items():
        results.append(
            alternate(
                name,
                lambda o=options: minpack.leastsq(decay, P0, args=data, **o),
                lambda o=options: scipy.optimize.leastsq(decay, P0, args=data, **o),
                rounds,
                batch,
            )
        )
    return results


def overhead_cases(rounds: int, batch: int) -> list[tuple[str, float, float]]:
    """Case 3: fixed and per-evaluation overhead, from a func returning a constant.

    With constant residuals the Jacobian is zero and MINPACK stops after n + 1
    evaluations; fitting time = fixed + per_call * calls over n = 1, 3, 8, 16
    (calls counted on each side: SciPy also calls func twice more at x0).
    """
    constant = np.ones(20)

    def plain(p: np.ndarray) -> np.ndarray:
        return constant

    def calls_made(leastsq: Callable[..., object], x0: np.ndarray) -> int:
        calls = []
        leastsq(lambda p: calls.append(1) or constant, x0)
        return len(calls)

    points: dict[str, list[tuple[int, float]]] = {"ours": [], "scipy": []}
    for n in (1, 3, 8, 16):
        x0 = np.zeros(n)
        calls = {
            "ours": calls_made(minpack.leastsq, x0),
            "scipy": calls_made(scipy.optimize.leastsq, x0),
        }
        result = alternate(
            f"n={n}",
            lambda x0=x0: minpack.leastsq(plain, x0),
            lambda x0=x0: scipy.optimize.leastsq(plain, x0),
            rounds,
            batch,
        )
        points["ours"].append((calls["ours"], result.ours))
        points["scipy"].append((calls["scipy"], result.scipy))
    rows = []
    for side, samples in points.items():
        calls_made = np.array([c for c, _ in samples], dtype=float)
        seconds = np.array([t for _, t in samples])
        per_call, fixed = np.polyfit(calls_made, seconds, 1)
        rows.append((side, fixed, per_call))
    return rows


def large_problem(m: int) -> tuple[np.ndarray, np.ndarray]:
    """y = a*exp(-b*t) + c*t + d on m points, n = 4 parameters."""
    t = np.linspace(0.0, 10.0, m)
    noise = 0.01 * np.random.default_rng(99).standard_normal(m)
    return t, 2.0 * np.exp(-0.7 * t) + 0.3 * t + 1.0 + noise


def large_model(p: np.ndarray, t: np.ndarray, y: np.ndarray) -> np.ndarray:
    return p[0] * np.exp(-p[1] * t) + p[2] * t + p[3] - y


def large_jacobian_columns(p: np.ndarray, t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The Jacobian as SciPy's col_deriv=True wants it: C-ordered (n, m)."""
    jac = np.empty((4, t.size))
    np.exp(-p[1] * t, out=jac[0])
    np.multiply(-p[0] * t, jac[0], out=jac[1])
    jac[2] = t
    jac[3] = 1.0
    return jac


def large_jacobian_rows(p: np.ndarray, t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The Jacobian row-major, C-ordered (m, n), as most users write it."""
    return np.ascontiguousarray(large_jacobian_columns(p, t, y).T)


LARGE_P0 = (1.0, 1.0, 0.0, 0.0)


def large_cases(m: int, rounds: int) -> list[Result]:
    """Case 4: m residuals, n = 4, where MINPACK's own work dominates."""
    data = large_problem(m)
    cases = {
        f"large m={m}, no Dfun": {},
        f"large m={m}, Dfun col_deriv=True": {
            "Dfun": large_jacobian_columns,
            "col_deriv": True,
        },
        f"large m={m}, Dfun row-major": {"Dfun": large_jacobian_rows},
    }
    return [
        alternate(
            name,
            lambda o=options: minpack.leastsq(large_model, LARGE_P0, args=data, **o),
            lambda o=options: scipy.optimize.leastsq(large_model, LARGE_P0, args=data, **o),
            rounds,
            1,
        )
        for name, options in cases.items()
    ]


def time_outside_func(m: int, rounds: int) -> dict[str, float]:
    """Median seconds of the large no-Dfun fit spent outside the user's func, per side.

    That is MINPACK's own arithmetic plus each side's copies and bookkeeping: where
    the two differ on large fits.
    """
    data = large_problem(m)
    outside: dict[str, list[float]] = {"ours": [], "scipy": []}
    sides = (("ours", minpack.leastsq), ("scipy", scipy.optimize.leastsq))
    in_func = [0.0]

    def timed(p: np.ndarray, t: np.ndarray, y: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        value = large_model(p, t, y)
        in_func[0] += time.perf_counter() - start
        return value

    for _ in range(rounds):
        for side, leastsq in sides:
            in_func[0] = 0.0
            start = time.perf_counter()
            leastsq(timed, LARGE_P0, args=data)
            outside[side].append(time.perf_counter() - start - in_func[0])
    return {side: statistics.median(times) for side, times in outside.items()}


def c_program_outside(m: int, rounds: int) -> tuple[float, float] | None:
    """Median seconds of the large no-Dfun fit in a C program on the same libminpack.a.

    Returns (total, outside the residual): the second is MINPACK's own time, to compare
    with the time outside func above.  None when no C compiler or libminpack.a is found.
    """
    import ctypes
    import tempfile

    from c_limit import build_library, find_libminpack

    t, y = large_problem(m)
    try:
        libminpack = find_libminpack()
    except FileNotFoundError:
        return None
    with tempfile.TemporaryDirectory() as directory:
        library = build_library("cc", libminpack, directory)
        totals, outsides = [], []
        for _ in range(rounds):
            x = np.array(LARGE_P0)
            nfev, total, outside = ctypes.c_int(), ctypes.c_double(), ctypes.c_double()
            info = library.large_fit(
                m, t.ctypes.data, y.ctypes.data, x.ctypes.data, ctypes.byref(nfev),
                ctypes.byref(total), ctypes.byref(outside),
            )  # fmt: skip
            assert 1 <= info <= 4, info
            totals.append(total.value)
            outsides.append(outside.value)
    return statistics.median(totals), statistics.median(outsides)


# Linux's peak resident set (VmHWM) of the child itself: getrusage's ru_maxrss would
# start from the parent's peak, which it keeps across the exec.  Writing 5 to
# clear_refs resets the peak to the current size just before the fit.
MEMORY_PROGRAM = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {here!r})
    from bench_leastsq import large_model, large_problem, LARGE_P0
    from {module} import leastsq

    def kib(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])

    leastsq(large_model, LARGE_P0, args=large_problem(1000))  # load everything first
    data = large_problem({m})
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    before = kib("VmRSS")
    leastsq(large_model, LARGE_P0, args=data)
    print((kib("VmHWM") - before) * 1024)
    """
)


def peak_memory(m: int) -> dict[str, float]:
    """Case 5: peak resident memory added by the no-Dfun fit, in a fresh process per side."""
    here = str(__import__("pathlib").Path(__file__).resolve().parent)
    peaks = {}
    for side, module in (("ours", "minpack"), ("scipy", "scipy.optimize")):
        program = MEMORY_PROGRAM.format(here=here, module=module, m=m)
        output = subprocess.run(
            [sys.executable, "-c", program], check=True, capture_output=True, text=True
        ).stdout
        peaks[side] = float(output.split()[-1])
    return peaks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=41, help="rounds per small case")
    parser.add_argument("--batch", type=int, default=200, help="fits per side per round")
    parser.add_argument("--large-m", type=int, default=1_000_000, help="m of the large fit")
    parser.add_argument("--large-rounds", type=int, default=7, help="rounds per large case")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument(
        "--only",
        choices=["small", "large", "overhead", "memory"],
        action="append",
        help="run only these parts (repeatable; default: all)",
    )
    options = parser.parse_args(argv)
    parts = set(options.only or ["small", "large", "overhead", "memory"])
    if options.quick:
        options.rounds, options.batch, options.large_m, options.large_rounds = 3, 5, 2000, 3

    print(f"minpack {minpack.__version__} vs SciPy {scipy.__version__}, NumPy {np.__version__}")
    print(f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}")
    print(
        f"small cases: {options.rounds} rounds x {options.batch} fits per side; "
        f"large: {options.large_rounds} rounds; medians\n"
    )
    header = f"{'case':42s} {'minpack':>11s} {'SciPy':>11s} {'ratio':>7s}"
    print(header)
    print("-" * len(header))
    results = small_cases(options.rounds, options.batch) if "small" in parts else []
    if "large" in parts:
        results += large_cases(options.large_m, options.large_rounds)
    for result in results:
        scale, unit = (1e6, "us") if result.scipy < 1e-2 else (1e3, "ms")
        print(
            f"{result.name:42s} {result.ours * scale:8.2f} {unit} "
            f"{result.scipy * scale:8.2f} {unit} {result.ratio:7.3f}"
        )
    if "large" in parts:
        outside = time_outside_func(options.large_m, options.large_rounds)
        print(
            f"{'  of which outside func (no Dfun)':42s} {outside['ours'] * 1e3:8.2f} ms "
            f"{outside['scipy'] * 1e3:8.2f} ms {outside['ours'] / outside['scipy']:7.3f}"
        )
        c_program = c_program_outside(options.large_m, options.large_rounds)
        if c_program is not None:
            total, mine = c_program
            print(
                f"\nthe same no-Dfun fit in a C program on the same libminpack.a (C residual):"
                f"\n  {total * 1e3:.2f} ms, of which {mine * 1e3:.2f} ms outside the residual: "
                f"minpack's time outside func is {outside['ours'] / mine:.3f} x that"
            )

    if "overhead" in parts:
        print("\nfixed overhead: fit time = fixed + per_call x calls")
        print("(a func returning a constant; n = 1, 3, 8, 16)")
        for side, fixed, per_call in overhead_cases(options.rounds, options.batch):
            print(f"  {side:7s} fixed {fixed * 1e6:6.2f} us   per call {per_call * 1e6:6.3f} us")
    if "memory" in parts:
        report_peak_memory(options.large_m)
    return 0


def report_peak_memory(m: int) -> None:
    """Print case 5: the peak memory of both sides and the floor."""
    peaks = peak_memory(m)
    floor = (4 + 3) * m * 8  # fjac (m x 4), fvec, MINPACK's wa4, one residual vector
    mib = 2.0**20
    print(f"\npeak memory of the large no-Dfun fit (m={m}, full_output=False), fresh process:")
    print(
        f"  minpack {peaks['ours'] / mib:7.1f} MiB   SciPy {peaks['scipy'] / mib:7.1f} MiB   "
        f"ratio {peaks['ours'] / peaks['scipy']:.3f}   "
        f"floor (fjac + 3 vectors) {floor / mib:.1f} MiB"
    )


if __name__ == "__main__":
    sys.exit(main())
