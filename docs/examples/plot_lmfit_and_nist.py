r"""
lmfit on minpack, and a NIST certified problem
==============================================

lmfit's default ``leastsq`` method calls SciPy's ``leastsq``; inside
``with minpack.use_in_lmfit():`` it runs on the Fortran MINPACK instead, with nothing else
changed in your lmfit code (``Model.fit``, ``minimize``, ``conf_interval``). The second
part fits Misra1a, a problem of NIST's Statistical Reference Datasets, whose parameters
are certified to 11 digits, with :func:`minpack.leastsq` and :func:`scipy.optimize.leastsq`,
and counts how many digits each gets right.
"""

import re
from pathlib import Path

import lmfit
import matplotlib.pyplot as plt
import numpy as np
import scipy.optimize

import minpack

# %%
# (a) An lmfit Model fitted on minpack
# ------------------------------------
# A Lorentzian peak on a constant background, built from lmfit's own models.

rng = np.random.default_rng(3)
x = np.linspace(0.0, 10.0, 201)
y = 5.0 * 0.8 / np.pi / ((x - 4.2) ** 2 + 0.8**2) + 0.4 + rng.normal(0.0, 0.05, x.size)

model = lmfit.models.LorentzianModel(prefix="peak_") + lmfit.models.ConstantModel()
params = model.make_params(peak_amplitude=3.0, peak_center=5.0, peak_sigma=1.0, c=0.0)
with minpack.use_in_lmfit():  # only the fits inside the block use minpack
    result = model.fit(y, params, x=x)
on_scipy = model.fit(y, params, x=x)  # outside the block: lmfit on SciPy, for comparison

same = all(result.params[k].value == on_scipy.params[k].value for k in result.params)
print(f"success {result.success}, nfev {result.nfev}, reduced chi-square {result.redchi:.5f}")
for name, par in result.params.items():  # the 4 fitted, and 2 that lmfit derives
    print(f"  {name:<15} {par.value:8.4f} ± {par.stderr:.4f}")
print("same values as lmfit on SciPy, to the last bit:", same)

fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(x, y, ".", color="0.5", label="data")
ax.plot(x, result.best_fit, color="C3", label="lmfit Model.fit on minpack")
ax.set(xlabel="x", ylabel="y", title="Lorentzian + constant, lmfit in minpack.use_in_lmfit()")
ax.legend()
fig.tight_layout()

# %%
# (b) NIST StRD Misra1a from start 1
# ----------------------------------
# NIST's file states the model ``y = b1*(1-exp(-b2*x))``, two starting points, the
# certified values, and the 14 observations after a ``Data:   y   x`` header.

# Found from this script up; sphinx-gallery runs it without __file__, in its directory.
try:
    here = Path(__file__).resolve().parent
except NameError:
    here = Path.cwd()
relative = Path("tests", "data", "nist-strd", "Misra1a.dat")
dat_file = next(d / relative for d in (here, *here.parents) if (d / relative).is_file())
lines = dat_file.read_text().splitlines()
rows = [line.split("=")[1].split() for line in lines if re.match(r"\s*b\d+\s*=", line)]
start1 = np.array([float(row[0]) for row in rows])
certified = np.array([float(row[2]) for row in rows])
header = next(i for i, line in enumerate(lines) if line.split() == ["Data:", "y", "x"])
y_obs, x_obs = np.loadtxt(lines[header + 1 :], unpack=True)


def residuals(b):
    """Return NIST's residuals, y - b1*(1-exp(-b2*x))."""
    return y_obs - b[0] * (1.0 - np.exp(-b[1] * x_obs))


def lre(found):
    """Log relative error: the number of digits that agree, at most the 11 certified."""
    error = np.abs(found - certified) / np.abs(certified)
    return np.minimum(-np.log10(np.maximum(error, 1e-300)), 11.0)


results = {
    "minpack": minpack.leastsq(residuals, start1)[0],
    "SciPy": scipy.optimize.leastsq(residuals, start1)[0],
}
print(f"{'certified':<10} b1 = {certified[0]:.10e}  b2 = {certified[1]:.10e}")
for name, b in results.items():
    digits = lre(b)
    print(f"{name:<10} b1 = {b[0]:.10e}  b2 = {b[1]:.10e}  LRE {digits[0]:.1f}, {digits[1]:.1f}")

# %%
# With MINPACK's default tolerances both get about 8 digits; they differ in the last ones
# because SciPy >= 1.15 runs a C translation of MINPACK, with a slightly different
# forward-difference step.

fig, ax = plt.subplots(figsize=(7, 4))
x_fine = np.linspace(0.0, 800.0, 300)
ax.plot(x_obs, y_obs, "ko", label="NIST data")
for (name, b), style in zip(results.items(), ["-", ":"], strict=True):
    ax.plot(x_fine, b[0] * (1.0 - np.exp(-b[1] * x_fine)), style, lw=2, label=f"{name} leastsq")
text = "digits equal to NIST's (LRE)\n" + "\n".join(
    f"{name}: b1 {lre(b)[0]:.1f}, b2 {lre(b)[1]:.1f}" for name, b in results.items()
)
box = {"boxstyle": "round", "facecolor": "white"}
ax.text(0.97, 0.05, text, transform=ax.transAxes, ha="right", va="bottom", bbox=box)
ax.set(xlabel="pressure x", ylabel="volume y", title="NIST StRD Misra1a from start 1")
ax.legend(loc="upper left")
fig.tight_layout()
plt.show()
