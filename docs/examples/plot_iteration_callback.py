r"""
Watching and stopping the iterations
====================================

SciPy's ``leastsq`` runs to convergence without telling you anything on the way.
:func:`minpack.leastsq` takes a keyword-only ``callback(x, fnorm, nfev)``, MINPACK's own
per-iteration hook: it is called at the start of every Levenberg-Marquardt iteration (and
once more at the end) with a copy of the current point, the norm of its residuals and the
number of evaluations so far. Here it records the path through Rosenbrock's valley, and in
a second run stops the fit early by returning ``True``: ``ier`` is then -1, with its own
message and no warning. (Anything the callback *raises*, ``StopIteration`` included,
propagates out of ``leastsq`` unchanged.)
"""

import matplotlib.pyplot as plt
import numpy as np

import minpack

# %%
# Rosenbrock's function as a least-squares problem
# ------------------------------------------------
# The sum of squares of these two residuals is Rosenbrock's banana function, minimum at (1, 1).


def residuals(p):
    """Return Rosenbrock's two residuals."""
    return np.array([10.0 * (p[1] - p[0] ** 2), 1.0 - p[0]])


x0 = [-1.2, 1.0]

# %%
# Recording every iterate
# -----------------------
# A callback that returns nothing (``None`` is false) only watches.

path = []


def record(x, fnorm, nfev):
    """Keep every iterate; return None, so the fit goes on."""
    path.append(x)  # x is already a copy: no need to copy it again


x, cov_x, info, mesg, ier = minpack.leastsq(residuals, x0, full_output=True, callback=record)
path = np.array(path)
print(f"full run: ier = {ier}, x = {x}, {info['nfev']} evaluations, {len(path)} callbacks")

# %%
# Stopping early
# --------------
# Returning ``True`` stops the fit at that iterate, here once the residual norm is below
# 0.5: good enough for, say, a starting point of a later, more expensive fit.

stopped = []


def stop_when_close(x, fnorm, nfev):
    """Keep every iterate, and ask for a stop once the residual norm is below 0.5."""
    stopped.append(x)
    return fnorm < 0.5


x_early, _, info_early, mesg_early, ier_early = minpack.leastsq(
    residuals, x0, full_output=True, callback=stop_when_close
)
stopped = np.array(stopped)
print(f"early stop: ier = {ier_early}, x = {x_early}, {info_early['nfev']} evaluations")
print(mesg_early)

# %%
# The two paths over the sum of squares
# -------------------------------------
# Both runs take the same steps (a watching callback changes nothing in the fit) until
# the second one is stopped.

a, b = np.meshgrid(np.linspace(-1.5, 1.5, 301), np.linspace(-0.6, 1.6, 301))
sum_of_squares = (10.0 * (b - a**2)) ** 2 + (1.0 - a) ** 2

fig, ax = plt.subplots(figsize=(7, 5))
contours = ax.contourf(a, b, np.log10(sum_of_squares + 1e-3), levels=20, cmap="viridis")
fig.colorbar(contours, ax=ax, label="log10(sum of squares)")
ax.plot(path[:, 0], path[:, 1], "o-", color="white", ms=5, label=f"full run ({len(path)} calls)")
ax.plot(
    stopped[:, 0],
    stopped[:, 1],
    "s--",
    color="C1",
    ms=7,
    mfc="none",
    mew=1.5,
    label=f"stopped when |f| < 0.5 ({len(stopped)} calls)",
)
ax.plot(*x_early, "X", color="C1", ms=12, mec="k", label="early stop (ier = -1)")
ax.plot(*x0, "k^", ms=9, label="start")
ax.plot(1.0, 1.0, "r*", ms=14, label="minimum (1, 1)")
ax.set_xlabel("x[0]")
ax.set_ylabel("x[1]")
ax.set_title("Levenberg-Marquardt iterates seen by the callback")
ax.legend(loc="upper center", fontsize=9)
fig.tight_layout()
plt.show()
