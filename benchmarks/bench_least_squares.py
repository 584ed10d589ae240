"""minpack.least_squares against scipy.optimize.least_squares(method='lm'), side by side.

The small and large problems of bench_leastsq.py, run by both sides alternately (the
order reversed every other round) after a warm-up; medians of the times and of the
per-round ratios ours / SciPy's.  SciPy >= 1.16 computes lm's finite differences in
Python and calls MINPACK's lmder; minpack runs Fortran MINPACK's lmdif, as SciPy 1.14 did.

    python benchmarks/bench_least_squares.py            # the full run (about a minute)
    python benchmarks/bench_least_squares.py --quick    # tiny sizes: checks that it runs
"""

from __future__ import annotations

import argparse
import platform
import sys

import numpy as np
import scipy
import scipy.optimize
from bench_leastsq import (
    LARGE_P0,
    P0,
    alternate,
    decay,
    decay_jacobian,
    large_jacobian_rows,
    large_model,
    large_problem,
    small_problem,
)

import minpack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=41, help="rounds per small case")
    parser.add_argument("--batch", type=int, default=100, help="fits per side per round")
    parser.add_argument("--large-m", type=int, default=1_000_000, help="m of the large fit")
    parser.add_argument("--large-rounds", type=int, default=5, help="rounds per large case")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    options = parser.parse_args(argv)
    if options.quick:
        options.rounds, options.batch, options.large_m, options.large_rounds = 3, 5, 2000, 3

    print(f"minpack {minpack.__version__} vs SciPy {scipy.__version__}, NumPy {np.__version__}")
    print(f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}")
    print(f"small: {options.rounds} rounds x {options.batch} fits; large: {options.large_rounds}\n")
    small = small_problem()
    large = large_problem(options.large_m)
    cases = [
        ("small, jac='2-point'", small, P0, decay, "2-point", options.rounds, options.batch),
        ("small, callable jac", small, P0, decay, decay_jacobian, options.rounds, options.batch),
        ("large, jac='2-point'", large, LARGE_P0, large_model, "2-point", options.large_rounds, 1),
        ("large, callable jac (rows)", large, LARGE_P0, large_model, large_jacobian_rows,
         options.large_rounds, 1),
    ]  # fmt: skip
    header = f"{'case':34s} {'minpack':>11s} {'SciPy':>11s} {'ratio':>7s}"
    print(header)
    print("-" * len(header))
    ratios = {}
    for name, data, x0, fun, jac, rounds, batch in cases:
        result = alternate(
            name,
            lambda f=fun, j=jac, d=data, p=x0: minpack.least_squares(f, p, jac=j, args=d),
            lambda f=fun, j=jac, d=data, p=x0: scipy.optimize.least_squares(
                f, p, jac=j, args=d, method="lm"
            ),
            rounds,
            batch,
        )
        scale, unit = (1e6, "us") if result.scipy < 1e-2 else (1e3, "ms")
        print(
            f"{name:34s} {result.ours * scale:8.2f} {unit} {result.scipy * scale:8.2f} {unit} "
            f"{result.ratio:7.3f}"
        )
        ratios[name] = result.ratio
    target = ratios["small, jac='2-point'"]
    verdict = "met" if target <= 0.3 else "MISSED"
    print(f"\ntarget: small, jac='2-point' <= 0.3 x SciPy: {target:.3f}, {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
