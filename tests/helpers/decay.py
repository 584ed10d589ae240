"""The small exponential-decay fit that several test modules share.

y = 2.5·exp(-1.3·t) + 0.5 on 50 points, with and without noise (fixed seed).
"""

import numpy as np

T = np.linspace(0.0, 4.0, 50)
CLEAN = 2.5 * np.exp(-1.3 * T) + 0.5
NOISY = CLEAN + 0.02 * np.random.default_rng(0).standard_normal(T.size)
P0 = np.array([1.0, 1.0, 0.0])


def residuals(p, y=NOISY):
    return p[0] * np.exp(-p[1] * T) + p[2] - y


def jacobian(p, y=NOISY):
    e = np.exp(-p[1] * T)
    return np.column_stack([e, -p[0] * T * e, np.ones_like(T)])
