"""Least-squares test problems, each with its residuals, its analytic Jacobian and a start.

Most come from Moré, Garbow and Hillstrom, "Testing unconstrained optimization
software" (ACM TOMS 7, 1981), the collection MINPACK itself was tested on; a few
are curve fits to data made here from a fixed seed.  Every function returns a
new float64 array and never touches its argument, so a test can call it from
both ``minpack.leastsq`` and ``scipy.optimize.leastsq`` and compare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Problem:
    """A residual function ``func(x, *args)``, its Jacobian ``jac(x, *args)`` and ``x0``.

    ``jac`` returns the (m, n) Jacobian, derivatives across the rows: SciPy's
    default layout for ``Dfun``.
    """

    name: str
    func: Callable[..., Array]
    jac: Callable[..., Array]
    x0: tuple[float, ...]
    args: tuple[Any, ...] = field(default=())

    def start(self) -> Array:
        return np.array(self.x0, dtype=np.float64)

    def jac_transposed(self, x: Array, *args: Any) -> Array:
        """The Jacobian as ``Dfun`` must return it with ``col_deriv=True``: shape (n, m)."""
        return np.ascontiguousarray(self.jac(x, *args).T)

    def __str__(self) -> str:  # readable pytest ids
        return self.name


# --- Moré, Garbow, Hillstrom problems -------------------------------------------------


def rosenbrock(x: Array) -> Array:
    return np.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


def rosenbrock_jac(x: Array) -> Array:
    return np.array([[-20.0 * x[0], 10.0], [-1.0, 0.0]])


def freudenstein_roth(x: Array) -> Array:
    return np.array(
        [
            -13.0 + x[0] + ((5.0 - x[1]) * x[1] - 2.0) * x[1],
            -29.0 + x[0] + ((x[1] + 1.0) * x[1] - 14.0) * x[1],
        ]
    )


def freudenstein_roth_jac(x: Array) -> Array:
    return np.array(
        [
            [1.0, x[1] * (10.0 - 3.0 * x[1]) - 2.0],
            [1.0, x[1] * (3.0 * x[1] + 2.0) - 14.0],
        ]
    )


def powell_singular(x: Array) -> Array:
    return np.array(
        [
            x[0] + 10.0 * x[1],
            np.sqrt(5.0) * (x[2] - x[3]),
            (x[1] - 2.0 * x[2]) ** 2,
            np.sqrt(10.0) * (x[0] - x[3]) ** 2,
        ]
    )


def powell_singular_jac(x: Array) -> Array:
    a = 2.0 * (x[1] - 2.0 * x[2])
    b = 2.0 * np.sqrt(10.0) * (x[0] - x[3])
    return np.array(
        [
            [1.0, 10.0, 0.0, 0.0],
            [0.0, 0.0, np.sqrt(5.0), -np.sqrt(5.0)],
            [0.0, a, -2.0 * a, 0.0],
            [b, 0.0, 0.0, -b],
        ]
    )


def _helical_theta(x: Array) -> float:
    theta = np.arctan(x[1] / x[0]) / (2.0 * np.pi) if x[0] != 0.0 else 0.25
    return theta + 0.5 if x[0] < 0.0 else theta


def helical_valley(x: Array) -> Array:
    # Square (m == n == 3): the smallest problem shape MINPACK accepts.
    return np.array(
        [
            10.0 * (x[2] - 10.0 * _helical_theta(x)),
            10.0 * (np.hypot(x[0], x[1]) - 1.0),
            x[2],
        ]
    )


def helical_valley_jac(x: Array) -> Array:
    r2 = x[0] ** 2 + x[1] ** 2
    r = np.sqrt(r2)
    dtheta = 100.0 / (2.0 * np.pi * r2)
    return np.array(
        [
            [dtheta * x[1], -dtheta * x[0], 10.0],
            [10.0 * x[0] / r, 10.0 * x[1] / r, 0.0],
            [0.0, 0.0, 1.0],
        ]
    )


BARD_Y = np.array(
    [0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10, 4.39]
)
_BARD_U = np.arange(1.0, 16.0)
_BARD_V = 16.0 - _BARD_U
_BARD_W = np.minimum(_BARD_U, _BARD_V)


def bard(x: Array) -> Array:
    return BARD_Y - (x[0] + _BARD_U / (_BARD_V * x[1] + _BARD_W * x[2]))


def bard_jac(x: Array) -> Array:
    denominator = (_BARD_V * x[1] + _BARD_W * x[2]) ** 2
    return np.column_stack(
        [
            -np.ones_like(_BARD_U),
            _BARD_U * _BARD_V / denominator,
            _BARD_U * _BARD_W / denominator,
        ]
    )


MEYER_Y = np.array(
    [34780.0, 28610.0, 23650.0, 19630.0, 16370.0, 13720.0, 11540.0, 9744.0,
     8261.0, 7030.0, 6005.0, 5147.0, 4427.0, 3820.0, 3307.0, 2872.0]
)  # fmt: skip
_MEYER_T = 45.0 + 5.0 * np.arange(1.0, 17.0)


def meyer(x: Array) -> Array:
    # Badly scaled: x is about (0.0056, 6181, 345) at the solution.
    return x[0] * np.exp(x[1] / (_MEYER_T + x[2])) - MEYER_Y


def meyer_jac(x: Array) -> Array:
    denominator = _MEYER_T + x[2]
    e = np.exp(x[1] / denominator)
    return np.column_stack(
        [e, x[0] * e / denominator, -x[0] * x[1] * e / denominator**2],
    )


_BOX_T = 0.1 * np.arange(1.0, 11.0)


def box_3d(x: Array) -> Array:
    t = _BOX_T
    return np.exp(-t * x[0]) - np.exp(-t * x[1]) - x[2] * (np.exp(-t) - np.exp(-10.0 * t))


def box_3d_jac(x: Array) -> Array:
    t = _BOX_T
    return np.column_stack(
        [-t * np.exp(-t * x[0]), t * np.exp(-t * x[1]), -(np.exp(-t) - np.exp(-10.0 * t))]
    )


_LINEAR_M = 10
_LINEAR_N = 5
# Linear function, full rank: f = A x - 1 with A = I (padded) - 2/m.
_LINEAR_A = np.eye(_LINEAR_M, _LINEAR_N) - 2.0 / _LINEAR_M


def linear_full_rank(x: Array) -> Array:
    return _LINEAR_A @ x - 1.0


def linear_full_rank_jac(x: Array) -> Array:
    return _LINEAR_A.copy()


# Linear function, rank 1: f_i = i * sum_j(j x_j) - 1.
_RANK1_A = np.outer(np.arange(1.0, 11.0), np.arange(1.0, 5.0))


def linear_rank_one(x: Array) -> Array:
    return _RANK1_A @ x - 1.0


def linear_rank_one_jac(x: Array) -> Array:
    return _RANK1_A.copy()


# --- curve fits to data made here -----------------------------------------------------

_DECAY_T = np.linspace(0.0, 4.0, 25)
_DECAY_Y = 2.5 * np.exp(-1.3 * _DECAY_T) + 0.5
_DECAY_Y = _DECAY_Y + 0.02 * np.random.default_rng(20240611).standard_normal(_DECAY_T.size)


def exponential_decay(x: Array, t: Array, y: Array) -> Array:
    # Data through args: exercises passing a tuple of arrays on to func and Dfun.
    return x[0] * np.exp(-x[1] * t) + x[2] - y


def exponential_decay_jac(x: Array, t: Array, y: Array) -> Array:
    e = np.exp(-x[1] * t)
    return np.column_stack([e, -x[0] * t * e, np.ones_like(t)])


_GAUSS_T = np.linspace(-5.0, 5.0, 81)


def _gaussians(x: Array, t: Array) -> Array:
    return x[0] * np.exp(-0.5 * ((t - x[1]) / x[2]) ** 2) + x[3] * np.exp(
        -0.5 * ((t - x[4]) / x[5]) ** 2
    )


_GAUSS_Y = _gaussians(np.array([3.0, -1.5, 0.8, 1.7, 1.2, 1.1]), _GAUSS_T)
_GAUSS_Y = _GAUSS_Y + 0.05 * np.random.default_rng(7).standard_normal(_GAUSS_T.size)


def two_gaussians(x: Array) -> Array:
    return _gaussians(x, _GAUSS_T) - _GAUSS_Y


def two_gaussians_jac(x: Array) -> Array:
    t = _GAUSS_T
    columns = []
    for amplitude, centre, width in (x[0:3], x[3:6]):
        z = (t - centre) / width
        e = np.exp(-0.5 * z**2)
        columns += [e, amplitude * e * z / width, amplitude * e * z**2 / width]
    return np.column_stack(columns)


_IDLE_T = np.linspace(0.0, 1.0, 6)


def idle_parameter(x: Array) -> Array:
    # x[1] has no effect: the Jacobian's second column is exactly zero, R is
    # singular and cov_x must be None.
    return x[0] * _IDLE_T - (2.0 * _IDLE_T + 0.1 * np.cos(7.0 * _IDLE_T))


def idle_parameter_jac(x: Array) -> Array:
    return np.column_stack([_IDLE_T, np.zeros_like(_IDLE_T)])


PROBLEMS: tuple[Problem, ...] = (
    Problem("rosenbrock", rosenbrock, rosenbrock_jac, (-1.2, 1.0)),
    Problem("freudenstein_roth", freudenstein_roth, freudenstein_roth_jac, (0.5, -2.0)),
    Problem("powell_singular", powell_singular, powell_singular_jac, (3.0, -1.0, 0.0, 1.0)),
    Problem("helical_valley", helical_valley, helical_valley_jac, (-1.0, 0.0, 0.0)),
    Problem("bard", bard, bard_jac, (1.0, 1.0, 1.0)),
    Problem("meyer", meyer, meyer_jac, (0.02, 4000.0, 250.0)),
    Problem("box_3d", box_3d, box_3d_jac, (0.0, 10.0, 20.0)),
    Problem("linear_full_rank", linear_full_rank, linear_full_rank_jac, (1.0,) * 5),
    Problem("linear_rank_one", linear_rank_one, linear_rank_one_jac, (1.0,) * 4),
    Problem(
        "exponential_decay",
        exponential_decay,
        exponential_decay_jac,
        (1.0, 1.0, 0.0),
        args=(_DECAY_T, _DECAY_Y),
    ),
    Problem("two_gaussians", two_gaussians, two_gaussians_jac, (2.5, -1.0, 1.0, 1.0, 1.5, 1.0)),
    Problem("idle_parameter", idle_parameter, idle_parameter_jac, (1.0, 5.0)),
)

PROBLEMS_BY_NAME = {problem.name: problem for problem in PROBLEMS}
