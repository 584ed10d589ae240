r"""
Exponential decay with a confidence band
========================================

A noisy decay :math:`y = a\,e^{-b t} + c` is fitted with :func:`minpack.leastsq`, called
exactly as :func:`scipy.optimize.leastsq` is. With ``full_output=True`` it also returns
``cov_x``, the *unscaled* :math:`(J^T J)^{-1}`. Scaled by the residual variance
:math:`s^2 = \sum f_i^2 / (m - n)` it becomes the covariance of the parameters, which
gives their standard errors and, through the model's Jacobian (the delta method), a 95%
confidence band for the fitted curve.
"""

import matplotlib.pyplot as plt
import numpy as np

import minpack

# %%
# Synthetic data
# --------------
# A fixed seed makes the example reproducible.

rng = np.random.default_rng(12345)
t = np.linspace(0.0, 5.0, 40)
true_params = np.array([3.0, 1.2, 0.5])


def model(p, t):
    """Return a·exp(-b·t) + c for p = (a, b, c)."""
    return p[0] * np.exp(-p[1] * t) + p[2]


def model_gradient(p, t):
    """Return the model's derivatives in p: one row per t, one column per parameter."""
    e = np.exp(-p[1] * t)
    return np.column_stack([e, -p[0] * t * e, np.ones_like(t)])


y = model(true_params, t) + rng.normal(0.0, 0.1, t.size)

# %%
# The fit
# -------
# ``leastsq`` minimises the sum of squares of what ``residuals`` returns.


def residuals(p):
    """Return the misfit of the model at p to the data."""
    return model(p, t) - y


x, cov_x, infodict, mesg, ier = minpack.leastsq(residuals, [1.0, 1.0, 0.0], full_output=True)
m, n = t.size, x.size
s2 = np.sum(infodict["fvec"] ** 2) / (m - n)  # residual variance
pcov = cov_x * s2  # cov_x alone ignores the noise level
perr = np.sqrt(np.diag(pcov))

print(f"ier = {ier}, {infodict['nfev']} evaluations")
for name, value, err, truth in zip("abc", x, perr, true_params, strict=True):
    print(f"{name} = {value:.4f} ± {err:.4f}   (true {truth})")

# %%
# Confidence band by the delta method
# -----------------------------------
# To first order the variance of the model at ``t`` is :math:`g^T C g`, with ``g`` the
# gradient of the model in the parameters and ``C`` their covariance. 1.96 is the normal
# quantile; with 37 degrees of freedom Student's t (2.03) would widen the band by 3%.

t_fine = np.linspace(t[0], t[-1], 300)
g = model_gradient(x, t_fine)
band = 1.96 * np.sqrt(np.einsum("ij,jk,ik->i", g, pcov, g))
curve = model(x, t_fine)

fig, ax = plt.subplots(figsize=(7, 4.5))
ax.fill_between(
    t_fine, curve - band, curve + band, color="C1", alpha=0.3, label="95% confidence band"
)
ax.plot(t, y, "o", color="C0", ms=4, label="data")
ax.plot(t_fine, curve, color="C1", label="fit")
ax.plot(t_fine, model(true_params, t_fine), "k--", lw=1, label="true model")
ax.set_xlabel("time t")
ax.set_ylabel("signal y")
ax.set_title(r"Fit of $a\,e^{-bt}+c$ with minpack.leastsq")
ax.legend()
fig.tight_layout()
plt.show()
