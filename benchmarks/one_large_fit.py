"""One large no-Dfun fit by one side, for instruction counts under callgrind.

cd benchmarks
valgrind --tool=callgrind --callgrind-out-file=ours.out python one_large_fit.py minpack
valgrind --tool=callgrind --callgrind-out-file=scipy.out python one_large_fit.py scipy
callgrind_annotate --inclusive=no ours.out | grep -iE 'qrfac|enorm|lmdif|fdjac2|lmpar'
"""

import sys

from bench_leastsq import LARGE_P0, large_model, large_problem

if __name__ == "__main__":
    side = sys.argv[1]
    m = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
    if side == "minpack":
        from minpack import leastsq
    elif side == "scipy":
        from scipy.optimize import leastsq
    else:
        sys.exit("usage: one_large_fit.py minpack|scipy [m]")
    x, ier = leastsq(large_model, LARGE_P0, args=large_problem(m))
    print(side, m, ier, x)
