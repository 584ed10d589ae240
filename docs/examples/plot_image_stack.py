r"""
Per-pixel fits of an image stack
================================

Fluorescence-lifetime, MRI relaxometry or spectroscopy images hold one small fit per pixel:
tens of thousands of independent problems. A Python loop over ``scipy.optimize.leastsq``
pays Python's overhead on every residual call of every pixel. :func:`minpack.leastsq_batch`
with ``vectorized=True`` instead calls the residual once for all pixels that MINPACK needs
an evaluation of, with ``X`` of shape (k, 3) and their data ``D`` of shape (k, m), while
each pixel's fit still takes exactly the steps ``leastsq`` would take on that pixel alone.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

import minpack

# %%
# A synthetic 128 x 128 stack of decays
# -------------------------------------
# The true rate map has structure: a smooth left-to-right gradient and a bright disk.

rng = np.random.default_rng(7)
size, t = 128, np.linspace(0.0, 4.0, 40)
rows, cols = np.mgrid[0:size, 0:size] / (size - 1)
true_rate = 0.6 + 0.8 * cols
true_rate[(rows - 0.45) ** 2 + (cols - 0.55) ** 2 < 0.25**2] = 2.2

# amplitude 2.5, offset 0.3; each pixel's data is one row of the (pixels, m) array
stack = 2.5 * np.exp(-true_rate[..., np.newaxis] * t) + 0.3
stack += rng.normal(0.0, 0.05, stack.shape)
pixels = stack.reshape(-1, t.size)

# %%
# The vectorized residual
# -----------------------
# Broadcasting computes the k residual rows at once; each row depends on its own
# parameters and data only, which is what makes the results those of single fits.


def decays(X, D):
    """Return the residuals (k, m) of the k problems at their points X (k, 3)."""
    amplitude, rate, offset = X[:, 0:1], X[:, 1:2], X[:, 2:3]
    return amplitude * np.exp(-rate * t) + offset - D


start = time.perf_counter()
fits = minpack.leastsq_batch(decays, [1.0, 1.0, 0.0], data=pixels, vectorized=True)
seconds = time.perf_counter() - start

fitted_rate = fits.x[:, 1].reshape(size, size)
error = fitted_rate - true_rate
print(f"{pixels.shape[0]} fits in {seconds:.2f} s: {pixels.shape[0] / seconds:,.0f} fits/s")
print(f"converged: {fits.success.mean():.1%}, median evaluations: {np.median(fits.nfev):.0f}")
print(f"rate error: RMS {np.sqrt(np.mean(error**2)):.4f}, max |error| {np.abs(error).max():.4f}")

# %%
# Truth, fit and error
# --------------------
# The same colour scale for truth and fit; a symmetric one for the error.

fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
rate_range = {"vmin": true_rate.min(), "vmax": true_rate.max(), "cmap": "magma"}
limit = np.abs(error).max()
panels = [
    (true_rate, "true rate b", rate_range),
    (fitted_rate, "fitted rate b", rate_range),
    (error, "fitted - true", {"vmin": -limit, "vmax": limit, "cmap": "RdBu_r"}),
]
for ax, (image, title, style) in zip(axes, panels, strict=True):
    shown = ax.imshow(image, origin="lower", **style)
    fig.colorbar(shown, ax=ax, shrink=0.85, label="rate b (1/time)")
    ax.set_title(title)
    ax.set_xlabel("pixel column")
    ax.set_ylabel("pixel row")
fig.suptitle(f"{pixels.shape[0]:,} per-pixel fits of a·exp(-b·t) + c with leastsq_batch")
fig.tight_layout()
plt.show()
