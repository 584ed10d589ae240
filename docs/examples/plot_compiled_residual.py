r"""
Three ways to write a batch residual
====================================

The same 20,000 fits of :math:`a\,e^{-b t} + c` to 50 points each, run by
:func:`minpack.leastsq_batch` with three kinds of residual:

(a) a plain NumPy function called once per problem and evaluation, as a loop of
    ``scipy.optimize.leastsq`` would call it;
(b) a vectorized NumPy function that evaluates every waiting problem in one call;
(c) a numba ``cfunc`` with MINPACK's C signature, which runs without the GIL on all cores
    and receives the address of its problem's data row as ``user_data``.

Each problem's result is what ``leastsq`` returns for it alone with the same residual, so
(a) and (b) agree bit for bit. Without numba the script skips (c).
"""

import time

import matplotlib.pyplot as plt
import numpy as np

import minpack

# %%
# The problems: one data row of 50 values per fit
# -----------------------------------------------

rng = np.random.default_rng(0)
K, m = 20_000, 50
t = np.linspace(0.0, 4.0, m)
truth = rng.uniform([1.0, 0.5, -0.5], [3.0, 2.0, 0.5], (K, 3))
data = truth[:, :1] * np.exp(-truth[:, 1:2] * t) + truth[:, 2:]
data += rng.normal(0.0, 0.02, data.shape)
x0 = [1.0, 1.0, 0.0]


def per_problem(p, y):
    """Return (a) one problem's residuals, at p (3,) for its data y (m,)."""
    return p[0] * np.exp(-p[1] * t) + p[2] - y


def vectorized(X, D):
    """Return (b) the residuals (k, m) of k problems at X (k, 3), data D (k, m)."""
    return X[:, 0:1] * np.exp(-X[:, 1:2] * t) + X[:, 2:3] - D


def best_of_3(run):
    """Return the last result and the fastest of three timed runs."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return result, min(times)


fits_a, seconds_a = best_of_3(lambda: minpack.leastsq_batch(per_problem, x0, data=data))
fits_b, seconds_b = best_of_3(
    lambda: minpack.leastsq_batch(vectorized, x0, data=data, vectorized=True)
)
print("(b) equals (a) bit for bit:", np.array_equal(fits_a.x, fits_b.x))
speeds = {"(a) NumPy, per problem": K / seconds_a, "(b) NumPy, vectorized": K / seconds_b}

# %%
# The compiled residual
# ---------------------
# ``leastsq_batch`` passes each problem's row ``data[k]`` to the cfunc as ``user_data``;
# a compiled function cannot be asked how many residuals it writes, hence ``m=``. The
# time array ``t`` is a global, which numba freezes into the compiled code as a constant.

try:
    from numba import carray, cfunc
except ImportError:
    print("numba is not installed: skipping the compiled residual (c)")
else:
    # MINPACK's C signature with user_data, in numba's notation
    @cfunc("void(intc, intc, CPointer(float64), CPointer(float64), CPointer(intc), voidptr)")
    def compiled(m, n, x, fvec, iflag, user_data):
        """Write (c) the m residuals at x into fvec; user_data is this problem's row."""
        y = carray(user_data, (m,), dtype=np.float64)
        for i in range(m):
            fvec[i] = x[0] * np.exp(-x[1] * t[i]) + x[2] - y[i]

    fits_c, seconds_c = best_of_3(lambda: minpack.leastsq_batch(compiled, x0, data=data, m=m))
    # numba's scalar exp and NumPy's vectorised one differ in the last bit: the fits end
    # a little apart, within MINPACK's tolerances. Measured in standard errors:
    s2 = fits_a.fnorm**2 / (m - 3)
    stderr = np.sqrt(np.diagonal(fits_a.cov_x, axis1=1, axis2=2) * s2[:, np.newaxis])
    shift = np.max(np.abs(fits_c.x - fits_a.x) / stderr)
    print(f"(c) differs from (a) by at most {shift:.1e} standard errors")
    speeds["(c) numba cfunc, all cores"] = K / seconds_c

for name, speed in speeds.items():
    print(f"{name:<28} {speed:>10,.0f} fits/s")

# %%
# Throughput
# ----------

fig, ax = plt.subplots(figsize=(7, 3))
names = list(speeds)[::-1]  # (a) on top
bars = ax.barh(names, [speeds[name] for name in names], color=["C2", "C1", "C0"][-len(names) :])
ax.bar_label(bars, fmt="{:,.0f}", padding=3)
ax.set_xlim(0, 1.2 * max(speeds.values()))
ax.set_xlabel("fits per second (higher is better)")
ax.set_title(f"leastsq_batch: {K:,} fits of a·exp(-b·t) + c, m = {m}")
fig.tight_layout()
plt.show()
