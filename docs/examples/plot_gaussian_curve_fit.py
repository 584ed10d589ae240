r"""
Gaussian peak with known, unequal errors
========================================

A Gaussian peak on a sloping baseline, measured with noise whose standard deviation grows
with the signal (as in counting experiments), is fitted with :func:`minpack.curve_fit`:
SciPy's ``curve_fit`` signature, run on the Fortran MINPACK. With ``sigma`` the fit weights
each point by :math:`1/\sigma_i`, and ``absolute_sigma=True`` says these are the true
errors, so ``pcov`` is not rescaled by the reduced :math:`\chi^2`. The normalised
residuals :math:`(y_i - f(x_i)) / \sigma_i` should then scatter with unit spread.
"""

import matplotlib.pyplot as plt
import numpy as np

import minpack

# %%
# A peak on a baseline, with heteroscedastic noise
# ------------------------------------------------

rng = np.random.default_rng(2024)


def peak(x, height, center, width, offset, slope):
    """Return a Gaussian peak on a straight baseline; curve_fit reads p0's names from here."""
    return height * np.exp(-0.5 * ((x - center) / width) ** 2) + offset + slope * x


x = np.linspace(-5.0, 5.0, 81)
true_params = (4.0, 0.7, 0.9, 1.0, 0.1)
signal = peak(x, *true_params)
sigma = 0.05 + 0.05 * signal  # larger errors where the signal is larger
y = signal + rng.normal(0.0, sigma)

# %%
# The weighted fit
# ----------------
# ``p0`` matters for a peak: a start far from the peak can leave the fit on the baseline.

p0 = [3.0, 0.0, 1.5, 0.5, 0.0]
popt, pcov = minpack.curve_fit(peak, x, y, p0, sigma=sigma, absolute_sigma=True)
perr = np.sqrt(np.diag(pcov))
normalised = (y - peak(x, *popt)) / sigma
chi2 = np.sum(normalised**2)
dof = x.size - popt.size

names = ("height", "center", "width", "offset", "slope")
for name, value, err, truth in zip(names, popt, perr, true_params, strict=True):
    print(f"{name:>6} = {value:7.4f} ± {err:.4f}   (true {truth})")
print(f"chi2 / dof = {chi2:.1f} / {dof} = {chi2 / dof:.2f}")

# %%
# Data, fit and normalised residuals
# ----------------------------------

fig, (top, bottom) = plt.subplots(
    2, 1, figsize=(7, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
)
top.errorbar(x, y, yerr=sigma, fmt="o", ms=3, color="C0", ecolor="0.6", label=r"data $\pm\,\sigma$")
x_fine = np.linspace(x[0], x[-1], 400)
top.plot(x_fine, peak(x_fine, *popt), color="C3", label="curve_fit")
top.set_ylabel("signal y")
top.set_title("Gaussian peak fitted with minpack.curve_fit (absolute_sigma=True)")
top.legend()

bottom.axhline(0.0, color="k", lw=0.8)
bottom.axhspan(-1.0, 1.0, color="C3", alpha=0.15, label="±1")
bottom.plot(x, normalised, "o", ms=3, color="C0")
bottom.set_xlabel("x")
bottom.set_ylabel(r"$(y - f)\,/\,\sigma$")
bottom.legend(loc="upper right")
fig.tight_layout()
plt.show()
