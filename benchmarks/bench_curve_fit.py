"""minpack.curve_fit against scipy.optimize.curve_fit, side by side in one process.

The problem is bench_leastsq.py's small one: y = a*exp(-b*x) + c on x = linspace(0, 4, 50),
truth (2.5, 1.3, 0.5), noise of sigma 0.02 from a fixed seed, p0 = (1, 1, 0).  Each case
runs both functions alternately (A B, then B A, ...) for many rounds after a warm-up and
reports the median time per fit of each and the median of the per-round ratios
ours / SciPy's, so that drift in a shared machine's speed hits both sides alike.  Before
timing, each case checks that both sides find the same parameters.

    python benchmarks/bench_curve_fit.py            # the full run (about a minute)
    python benchmarks/bench_curve_fit.py --quick    # a few rounds: checks that it runs
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import scipy.optimize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_leastsq import P0, alternate, small_problem  # shared with the leastsq benchmark

import minpack

# Without a jac the two engines' forward-difference steps differ by ~2e-12 relative (Fortran
# MINPACK's machine precision constant against numpy's eps), so the fits agree only to the
# solver's accuracy; with a jac they agree to the last bits.
AGREEMENT_RTOL = {"no jac": 1e-6, "jac": 1e-10}
TARGET_CASE = "small, p0 given, no jac"
TARGET_RATIO = 0.8


def model(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a * np.exp(-b * x) + c


def model_jacobian(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    e = np.exp(-b * x)
    return np.column_stack([e, -a * x * e, np.ones_like(x)])


def cases(x: np.ndarray, y: np.ndarray) -> dict[str, tuple[dict[str, Any], str]]:
    """Each case's keyword arguments and which tolerance applies to its agreement check."""
    sigma = np.full(x.size, 0.02)
    return {
        "small, p0 given, no jac": ({}, "no jac"),
        "small, p0 given, jac": ({"jac": model_jacobian}, "jac"),
        "small, p0 given, 1-D sigma, no jac": ({"sigma": sigma}, "no jac"),
        "small, p0 given, full_output, no jac": ({"full_output": True}, "no jac"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few short rounds (smoke run)")
    options = parser.parse_args()
    rounds, batch = (3, 5) if options.quick else (41, 200)

    x, y = small_problem()
    print(
        f"Python {platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}; "
        f"{rounds} rounds of {batch} fits per side"
    )
    header = f"{'case':40s} {'minpack':>11s} {'SciPy':>11s} {'ratio':>7s}"
    print(header)
    print("-" * len(header))
    ratios: dict[str, float] = {}
    for name, (kwargs, kind) in cases(x, y).items():
        ours = minpack.curve_fit(model, x, y, p0=P0, **kwargs)
        theirs = scipy.optimize.curve_fit(model, x, y, p0=P0, **kwargs)
        np.testing.assert_allclose(ours[0], theirs[0], rtol=AGREEMENT_RTOL[kind], err_msg=name)
        result = alternate(
            name,
            lambda k=kwargs: minpack.curve_fit(model, x, y, p0=P0, **k),
            lambda k=kwargs: scipy.optimize.curve_fit(model, x, y, p0=P0, **k),
            rounds,
            batch,
        )
        print(
            f"{name:40s} {result.ours * 1e6:8.2f} us {result.scipy * 1e6:8.2f} us "
            f"{result.ratio:7.3f}"
        )
        ratios[name] = result.ratio
    print("times: medians per fit; ratio: median of per-round ratios minpack / SciPy")
    target = ratios[TARGET_CASE]
    verdict = "met" if target <= TARGET_RATIO else f"missed by {target - TARGET_RATIO:.3f}"
    print(f"target: {TARGET_CASE} <= {TARGET_RATIO} x SciPy: {target:.3f}, {verdict}")


if __name__ == "__main__":
    main()
