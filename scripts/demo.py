"""Why minpack, in one screen: exact results, batch speed, and the NIST fits.

Run by ``bash scripts/demo`` (which installs minpack with NumPy, and SciPy to compare
against); by hand: ``python scripts/demo.py`` from the repository.

1. MINPACK's own test problems (the Moré-Garbow-Hillstrom set of its test drivers),
   solved by netlib's Fortran lmdif (compiled here with gfortran against the same
   libminpack.a), by ``minpack.leastsq`` and by ``scipy.optimize.leastsq``: how many
   runs give Fortran's x, nfev and ier to the last bit.
2. 20,000 small fits: loops of leastsq against ``leastsq_batch``, with a NumPy residual
   (one problem per call, and vectorized: all the problems of a round in one call) and
   with the same residual in C (compiled here with cc).
3. The 27 NIST StRD nonlinear regression problems: certified digits reached.
"""

from __future__ import annotations

import ctypes
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# The MGH builder and the NIST reader live beside the tests that check them.
sys.path.insert(0, str(HERE.parent / "tests"))

from helpers import mgh  # noqa: E402
from helpers import nist_strd as ns  # noqa: E402

import minpack  # noqa: E402

try:
    import scipy
    import scipy.optimize
except ImportError:  # the comparison column is left out
    scipy = None

T = np.linspace(0.0, 4.0, 50)
P0 = (1.0, 1.0, 0.0)
C_RESIDUAL = """
#include <math.h>
/* y = a*exp(-b*t) + c on t = linspace(0, 4, m); user_data: the m values of y. */
void decay(int m, int n, const double *x, double *fvec, int *iflag, void *user_data)
{
    const double *y = user_data;
    for (int i = 0; i < m; i++) {
        double t = i == m - 1 ? 4.0 : (double)i * (4.0 / (double)(m - 1));
        fvec[i] = x[0] * exp(-x[1] * t) + x[2] - y[i];
    }
}
"""


def exactness(directory: Path) -> list[str]:
    """Section 1: the MGH runs of lmdif through Fortran, minpack and SciPy."""
    missing = mgh.missing_prerequisites()
    if missing:
        return [f"  (skipped: needs {', '.join(missing)})"]
    built = mgh.build(directory)
    reference = mgh.reference(built)
    problems = mgh.Problems(built.problems_library)
    runs = mgh.read_runs(mgh.PROBLEM_LIST.read_text())
    same = {"minpack": 0, "scipy": 0}
    example = None
    for run in runs:
        expected = reference[("lmdif", *run.key)]
        func, x0 = problems.residuals(run), problems.start(run)
        x, _, info, _, ier = minpack.leastsq(func, x0, full_output=True)
        same["minpack"] += mgh.outcome(x, info, ier) == expected
        if scipy is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                x, _, info, _, ier = scipy.optimize.leastsq(func, x0, full_output=True)
            got = mgh.outcome(x, info, ier)
            same["scipy"] += got == expected
            if got != expected and example is None and got.x_bits != expected.x_bits:
                example = (run, expected, got)
    lines = [
        f"  {len(runs)} runs of lmdif from MINPACK's test driver (file22), MINPACK's defaults",
        f"  minpack.leastsq          {same['minpack']:>3}/{len(runs)} equal to Fortran "
        "(x to the last bit, nfev, ier)",
    ]
    if scipy is None:
        lines.append("  scipy.optimize.leastsq   (SciPy not installed: no comparison)")
        return lines
    lines.append(
        f"  scipy.optimize.leastsq   {same['scipy']:>3}/{len(runs)} equal to Fortran "
        f"(SciPy {scipy.__version__}, its C translation of MINPACK)"
    )
    if example is not None:
        run, expected, got = example
        want = np.array(expected.x_bits, dtype=np.int64).view(np.float64)[0]
        have = np.array(got.x_bits, dtype=np.int64).view(np.float64)[0]
        lines.append(
            f"  e.g. {run.name}, start x{round(run.factor)}: x[0] is {float(want)!r} in Fortran,"
            f"\n       {float(have)!r} in SciPy"
        )
    return lines


def rate(fits: int, function) -> float:  # type: ignore[no-untyped-def]
    """Fits per second of ``function``, which fits ``fits`` problems."""
    start = time.perf_counter()
    function()
    return fits / (time.perf_counter() - start)


def batches(directory: Path) -> list[str]:
    """Section 2: loops of leastsq against leastsq_batch on 20,000 decays."""
    count, looped = 20_000, 2_000
    rng = np.random.default_rng(0)
    a, b, c = rng.uniform(1, 3, count), rng.uniform(0.5, 2, count), rng.uniform(-1, 1, count)
    data = a[:, None] * np.exp(-b[:, None] * T) + c[:, None] + rng.normal(0, 0.02, (count, 50))

    def decay(p, y):  # type: ignore[no-untyped-def]
        return p[0] * np.exp(-p[1] * T) + p[2] - y

    def loop(leastsq):  # type: ignore[no-untyped-def]
        return lambda: [leastsq(decay, P0, (y,)) for y in data[:looped]]

    rows = []
    if scipy is not None:
        rows.append(("loop of scipy.optimize.leastsq", rate(looped, loop(scipy.optimize.leastsq))))
    rows.append(("loop of minpack.leastsq", rate(looped, loop(minpack.leastsq))))
    batch = rate(count, lambda: minpack.leastsq_batch(decay, P0, data))
    rows.append(("leastsq_batch, NumPy residual", batch))

    def decays(X, Y):  # type: ignore[no-untyped-def]  # noqa: N803 - the docs' names
        return X[:, 0:1] * np.exp(-X[:, 1:2] * T) + X[:, 2:3] - Y

    workers = os.cpu_count() or 1
    vectorized = rate(count, lambda: minpack.leastsq_batch(decays, P0, data, vectorized=True))
    rows.append((f"leastsq_batch, vectorized, {workers} workers", vectorized))
    source = directory / "decay.c"
    source.write_text(C_RESIDUAL)
    library = directory / "libdecay.so"
    built = subprocess.run(
        ["cc", "-O2", "-shared", "-fPIC", str(source), "-o", str(library), "-lm"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if built.returncode == 0:
        prototype = ctypes.CFUNCTYPE(
            None, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_double),
            ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_int), ctypes.c_void_p,
        )  # fmt: skip
        compiled = prototype(("decay", ctypes.CDLL(str(library))))
        rows.append(
            (f"leastsq_batch, C residual, {workers} workers",
             rate(count, lambda: minpack.leastsq_batch(compiled, P0, data, m=50)))
        )  # fmt: skip
    base = rows[0][1]
    lines = [f"  {count:,} fits of a*exp(-b*t) + c to 50 points (loops: the first {looped:,})"]
    lines += [f"  {name:<40} {value:>9,.0f} fits/s  {value / base:>6.1f}x" for name, value in rows]
    return lines


def nist() -> list[str]:
    """Section 3: the NIST StRD problems, from both certified starts."""
    fits = [ns.fit(ns.load(name), start) for name in ns.NAMES for start in ns.STARTS]
    converged = sum(fit.converged for fit in fits)
    digits = [fit.param_lre.min() for fit in fits if fit.converged]
    good = sum(value >= 6 for value in digits)
    short = [fit for fit in fits if not fit.converged or fit.param_lre.min() < 6]
    refits = [
        ns.fit(fit.dataset, fit.start, **ns.accurate_options(fit.dataset.name, fit.start))
        for fit in short
    ]
    rescued = sum(fit.converged and fit.param_lre.min() >= 6 for fit in refits)
    return [
        f"  {len(fits)} fits ({len(ns.NAMES)} problems x 2 starts), MINPACK's defaults: "
        f"{converged} converge, {good} reach >= 6 certified digits",
        f"  the other {len(short)} with tighter tolerances (tests/helpers/nist_strd.py): "
        f"{rescued} reach >= 6 digits",
        "  every digit of every fit: python scripts/nist_demo.py",
    ]


def main() -> None:
    """Print the three sections."""
    versions = f"minpack {minpack.__version__}, NumPy {np.__version__}"
    if scipy is not None:
        versions += f", SciPy {scipy.__version__}"
    print(f"{versions}, {platform.python_implementation()} {platform.python_version()}")
    with tempfile.TemporaryDirectory() as folder:
        print("\n1. Exactness: MINPACK's own test problems")
        print("\n".join(exactness(Path(folder))))
        print("\n2. Many small fits")
        print("\n".join(batches(Path(folder))))
    print("\n3. NIST StRD nonlinear regression")
    print("\n".join(nist()))


if __name__ == "__main__":
    main()
