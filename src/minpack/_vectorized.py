"""Vectorized batches: one call of ``func(X, D, *args)`` per round for many problems.

MINPACK calls its ``fcn`` itself, so problems cannot share a call of a Python function
directly.  ``minpack/vectorized.c`` runs each problem's ``lmdif``/``lmder`` on a small
coroutine stack of its own: every problem of a chunk runs until MINPACK asks for an
evaluation, one call of ``func`` answers all of them, and each goes on.  Every problem
takes exactly the steps it would take alone.  This module owns the rules: what ``func``
and ``Dfun`` receive and must return, the sizes, and the notes on exceptions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minpack._callback import residual_width
from minpack._inputs import FLOAT64_EPS, Settings, check_sizes, fit_buffer_bytes
from minpack._memory import check_allocation
from minpack._minpack import CompiledCallback, fit_vectorized
from minpack._workers import run_chunks

FloatArray = NDArray[np.float64]

# Problems per round: wide enough that the cost of a NumPy call is shared by many
# problems, small enough that a round's arrays stay in cache.
_WIDTH = 256
# Problems per trip into C: the unit of progress and of the workers' turns.  Each trip
# ends with rounds that narrow as its last problems finish, so it is many rounds long.
_RANGE = 8192
# Each problem's coroutine stack (STACK_BYTES in minpack/vectorized.c), plus a guard page.
_STACK_BYTES = (64 << 10) + 4096
# How many of a failing round's problems an exception's note names.
_NAMED_PROBLEMS = 8


def refuse_compiled(callback: object, name: str) -> None:
    """Raise TypeError for a compiled func or Dfun, which cannot take a round of points."""
    if isinstance(callback, CompiledCallback):
        raise TypeError(
            f"vectorized=True takes a Python {name}(X, D, *args) that evaluates many "
            f"problems at once; a compiled {name} fits one problem per call: leave "
            "vectorized=False for it"
        )


def one_problem(function: Callable[..., Any], with_data: bool) -> Callable[..., Any]:
    """Return ``function(X, D, *args)`` as leastsq's callable for one problem.

    ``func(x, d, *args)`` is ``function(x[None], d[None], *args)[0]``: what each problem
    of a vectorized batch computes when coroutines are not available.
    """

    def single(x: FloatArray, *rest: Any) -> Any:
        if with_data:
            return function(x[np.newaxis], np.asarray(rest[0])[np.newaxis], *rest[1:])[0]
        return function(x[np.newaxis], *rest)[0]

    return single


def probe_residual_count(
    func: Callable[..., Any], x: FloatArray, data: Any, args: tuple[Any, ...], m: int | None
) -> int:
    """Return m, from one call of ``func`` for problem 0 at its starting point.

    As `leastsq` calls ``func(x0)`` before MINPACK starts, that call is not counted in
    ``nfev``.
    """
    try:
        # Copies, as in every round: D is data[indices], never a view of the caller's data.
        first_rows = () if data is None else (data[[0]],)
        first = func(x[:1].copy(), *first_rows, *args)
    except Exception as exc:
        exc.add_note("raised while leastsq_batch called func at problem 0's x0 (to find m)")
        raise
    width = residual_width(first)
    if m is not None and width != m:
        raise ValueError(f"func returned {width} residuals for each problem, but m={m}")
    return width


def _round_note(problems: NDArray[np.intp]) -> str:
    """Name the problems of a round that raised, the first few of them when they are many."""
    listed = ", ".join(str(int(k)) for k in problems[:_NAMED_PROBLEMS])
    more = len(problems) - _NAMED_PROBLEMS
    tail = f" and {more} more" if more > 0 else ""
    return (
        "raised while leastsq_batch evaluated one round of the vectorized function for "
        f"problems {listed}{tail}"
    )


def fit_vectorized_batch(
    func: Callable[..., Any],
    Dfun: Callable[..., Any] | None,  # noqa: N803 - SciPy's name
    x: FloatArray,
    data: Any,
    args: tuple[Any, ...],
    settings: Settings,
    maxfev: int,
    m: int,
    workers: int,
    progress: bool,
    outputs: Any,
) -> None:
    """Fit every problem of ``x`` in place, writing ``outputs`` (a ``_batch._Outputs``).

    ``workers`` threads take ranges of problems in turn; a round's NumPy calls release
    the GIL, so they overlap.  ``data`` is an array (``D`` is ``data[indices]``) or None.
    """
    count, n = x.shape
    check_sizes(n, m)
    span = max(1, min(_RANGE, -(-count // workers)))
    width = min(_WIDTH, span)
    threads = min(workers, -(-count // span))
    # Per thread: the slots' workspaces and stacks, and a round's points and answers.
    per_slot = fit_buffer_bytes(m, n) + _STACK_BYTES + 8 * (m * n + m + n)
    check_allocation(threads * width * per_slot, f"{threads} x {width} vectorized fits")
    epsfcn = FLOAT64_EPS if settings.epsfcn is None else settings.epsfcn

    def fit_range(start: int, stop: int, stop_flag: NDArray[np.intc]) -> int:
        failing_round: list[NDArray[np.intp]] = []
        try:
            return fit_vectorized(
                func, Dfun, x, data, args, m, settings, maxfev, epsfcn, start, stop, outputs,
                stop_flag, failing_round, width,
            )  # fmt: skip
        except Exception as exc:
            if failing_round:
                exc.add_note(_round_note(failing_round[0]))
            raise

    run_chunks(count, span, threads, progress, fit_range, in_main_thread=True)
