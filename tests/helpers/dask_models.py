"""Models for tests/test_dask.py that Dask worker processes import by name.

A worker process rebuilds a module-level function (Python, or compiled: the numba
cfunc below) by importing its module, ``helpers.dask_models``, so these live here, in a
module of their own that imports nothing else from the tests: test_dask.py sends the
workers a zip of this file and helpers/__init__.py, as ``client.upload_file`` does.

Each problem's data row is t (M values) then y (M values), as the cfunc reads it.
"""

import numpy as np

T = np.linspace(0.0, 4.0, 40)
M = T.size
X0 = np.array([1.0, 1.0, 0.0])


def problems(count, seed=0):
    """``count`` exponential decays with noise, one data row (t, then y) per problem."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform([1.0, 0.5, -1.0], [3.0, 2.0, 1.0], (count, 3))
    y = truth[:, :1] * np.exp(-truth[:, 1:2] * T) + truth[:, 2:]
    y += 0.01 * rng.standard_normal((count, M))
    return np.concatenate([np.broadcast_to(T, (count, M)), y], axis=1)


def decay(p, row):
    """Residuals of a·exp(-k·t) + c against y."""
    t, y = row[:M], row[M:]
    return p[0] * np.exp(-p[1] * t) + p[2] - y


def decay_jacobian(p, row):
    """decay's Jacobian, (M, 3)."""
    t = row[:M]
    e = np.exp(-p[1] * t)
    return np.column_stack([e, -p[0] * t * e, np.ones_like(t)])


def compile_decay():
    """decay as a new numba cfunc that reads its row through user_data (None without numba)."""
    try:
        from numba import carray, cfunc, types
    except ImportError:
        return None
    signature = types.void(
        types.intc, types.intc, types.CPointer(types.double), types.CPointer(types.double),
        types.CPointer(types.intc), types.voidptr,
    )  # fmt: skip

    @cfunc(signature)
    def decay_cfunc(m, n, x, fvec, iflag, user_data):
        row = carray(user_data, (2 * m,), dtype=np.float64)
        for i in range(m):
            fvec[i] = x[0] * np.exp(-x[1] * row[i]) + x[2] - row[m + i]

    return decay_cfunc


# Compiled once in every process that imports this module: each worker builds its own.
decay_cfunc = compile_decay()
