"""``leastsq_batch``: many independent fits of one model, each exactly ``leastsq``'s."""

from __future__ import annotations

import operator
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minpack._compiled import require_user_data
from minpack._engine import all_compiled, compiled_or_callable, fit
from minpack._inputs import (
    FLOAT64_EPS,
    Settings,
    check_no_args,
    check_not_empty,
    check_settings,
    check_sizes,
    fit_buffer_bytes,
    maxfev_for,
    real_array,
    real_input,
    residual_count,
)
from minpack._memory import check_allocation
from minpack._messages import SUCCESS, message
from minpack._minpack import CompiledCallback, all_finite, fit_batch
from minpack._progress import progress_bar

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intc]

# Problems a worker fits per trip into C: small enough that Ctrl-C and an error in
# another worker stop the batch within milliseconds, large enough to cost nothing.
_CHUNK = 1024
# The engine's full_output that keeps fnorm and cov_x only: what a batch returns.
_COUNTS_AND_COV = 2
# How often the main thread wakes up while it waits for the workers (to see Ctrl-C).
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class BatchResult:
    """The fits of `leastsq_batch`, one row per problem.

    Attributes
    ----------
    x : ndarray, shape (K, n)
        The solutions (or last iterates).
    ier : ndarray of int, shape (K,)
        MINPACK's ``info`` for each problem, as `leastsq` returns it.
    nfev : ndarray of int, shape (K,)
        Calls to ``func``.
    njev : ndarray of int, shape (K,), or None
        Calls to ``Dfun``; None without ``Dfun``.
    fnorm : ndarray, shape (K,)
        The Euclidean norm of the final residuals.
    cov_x : ndarray, shape (K, n, n)
        ``inv(J.T @ J)`` as `leastsq` computes it; NaN where `leastsq` gives None.
    success : ndarray of bool, shape (K,)
        ``ier`` in 1..4.
    """

    x: FloatArray
    ier: IntArray
    nfev: IntArray
    njev: IntArray | None
    fnorm: FloatArray
    cov_x: FloatArray
    success: NDArray[np.bool_]
    settings: Settings
    maxfev: int

    def message(self, ier: int) -> str:
        """Return `leastsq`'s message for ``ier`` under this batch's settings."""
        return message(int(ier), self.settings, self.maxfev)


def _worker_count(workers: object) -> int:
    """Return the number of worker threads (default: one per CPU), or raise TypeError."""
    if workers is None:
        return os.cpu_count() or 1
    try:
        count = operator.index(workers)  # type: ignore[arg-type]
    except TypeError:
        count = 0
    if isinstance(workers, bool) or count < 1:
        raise TypeError(f"workers must be a positive integer, not {workers!r}")
    return count


def _thread_count(workers: int, count: int) -> int:
    """Return how many threads fit ``count`` compiled problems: no more than chunks."""
    return min(workers, -(-count // _CHUNK))


def _data_rows(data: object, count: int) -> FloatArray:
    """Return data as float64 C-contiguous rows for compiled callbacks (no copy if it is)."""
    given = real_input(data, "data", ValueError)
    if given.shape[:1] != (count,):
        raise ValueError(f"data must have {count} rows, not shape {given.shape}")
    if given.dtype != np.float64 or not given.flags.c_contiguous:
        check_allocation(8 * given.size, "data as float64 rows")
    return np.ascontiguousarray(given, dtype=np.float64)


def _starting_points(x0: object, count: int | None) -> FloatArray:
    """Return a private (K, n) float64 array of starting points."""
    points = real_array(x0, "x0")
    if points.ndim == 1:
        if count is None:
            raise TypeError("x0 must be (K, n) when no data gives the number of problems K")
        check_allocation(8 * count * points.shape[0], f"{count} starting points")
        points = np.repeat(points[np.newaxis, :], count, axis=0)
    elif points.ndim != 2:
        raise TypeError(f"x0 must be (n,) or (K, n), not shape {points.shape}")
    elif count is not None and points.shape[0] != count:
        raise ValueError(f"x0 has {points.shape[0]} rows but data has {count} problems")
    check_not_empty(points.shape[1])
    if not all_finite(points.reshape(-1)):
        raise ValueError("x0 must be finite; it contains NaN or infinity")
    return points


class _Outputs:
    """The per-problem arrays that the fits fill in (read by name by the engine)."""

    @staticmethod
    def bytes(count: int, n: int) -> int:
        """Return the size of the arrays for ``count`` problems of ``n`` variables."""
        # cov_x (n * n), fnorm; ier, nfev, njev
        return count * (8 * (n * n + 1) + 3 * np.dtype(np.intc).itemsize)

    def __init__(self, count: int, n: int):
        self.ier = np.zeros(count, dtype=np.intc)
        self.nfev = np.zeros(count, dtype=np.intc)
        self.njev = np.zeros(count, dtype=np.intc)
        self.fnorm = np.zeros(count)
        self.cov_x = np.empty((count, n, n))


def _succeeded(ier: IntArray) -> NDArray[np.bool_]:
    """Return where ``ier`` reports a solution (1 to 4)."""
    return (ier >= min(SUCCESS)) & (ier <= max(SUCCESS))


def _fit_compiled(
    func: object,
    jac: object,
    x: FloatArray,
    rows: FloatArray | None,
    m: int,
    settings: Settings,
    maxfev: int,
    workers: int,
    progress: bool,
) -> _Outputs:
    """Fit every problem in C, ``workers`` threads taking chunks of problems in turn.

    ``func`` and ``jac`` (or None) are CompiledCallbacks (see `all_compiled`).
    """
    count, n = x.shape
    outputs = _Outputs(count, n)
    stop_flag = np.zeros(1, dtype=np.intc)
    epsfcn = FLOAT64_EPS if settings.epsfcn is None else settings.epsfcn
    if rows is not None and count == 0:
        rows = None
    chunks = iter(range(0, count, _CHUNK))
    lock = threading.Lock()
    failures: list[BaseException] = []

    finished = [threading.Event() for _ in range(_thread_count(workers, count))]

    def work(advance: Callable[[int], None], done_event: threading.Event) -> None:
        try:
            while not stop_flag[0]:
                with lock:
                    start = next(chunks, None)
                if start is None:
                    return
                stop = min(start + _CHUNK, count)
                done = fit_batch(
                    func, jac, x, rows, settings, maxfev, epsfcn, m, start, stop, outputs,
                    stop_flag,
                )  # fmt: skip
                advance(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread below
            stop_flag[0] = 1
            failures.append(exc)
        finally:
            done_event.set()

    with progress_bar(progress, count) as advance:
        for done_event in finished:
            threading.Thread(target=work, args=(advance, done_event), daemon=True).start()
        try:
            for done_event in finished:
                while not done_event.wait(_POLL_SECONDS):  # wakes up for Ctrl-C
                    pass
        except BaseException:
            # Ctrl-C: every worker stops before its next problem.  Wait on the events, not
            # Thread.join: an interrupted join may mark a running thread as finished, and
            # the workers still use x, data and the outputs.
            stop_flag[0] = 1
            for done_event in finished:
                done_event.wait()
            raise
    if failures:
        raise failures[0]
    return outputs


def _fit_python(
    func: Callable[..., Any],
    x: FloatArray,
    data: Any,
    args: tuple[Any, ...],
    Dfun: Callable[..., Any] | None,  # noqa: N803 - SciPy's name
    settings: Settings,
    maxfev: int,
    m: int | None,
    progress: bool,
    rows: FloatArray | None,
) -> _Outputs:
    """Fit the problems one after the other through leastsq's own path.

    A compiled func or Dfun beside a Python one gets its row of ``rows`` (data made
    float64 and C-contiguous) as its user data.
    """
    count, n = x.shape
    outputs = _Outputs(count, n)
    with progress_bar(progress, count) as advance:
        for k in range(count):
            row = x[k]  # MINPACK fits it in place: a C-contiguous float64 view
            problem_args = args if data is None else (data[k], *args)
            user_data = None if rows is None else rows.ctypes.data + k * rows.strides[0]
            try:
                result, _ = fit(
                    func, row, problem_args, Dfun, settings, maxfev, m, _COUNTS_AND_COV, None,
                    user_data,
                )  # fmt: skip
            except BaseException as exc:
                exc.add_note(f"raised while fitting problem {k} of leastsq_batch")
                raise
            outputs.ier[k] = result.info
            outputs.nfev[k] = result.nfev
            outputs.njev[k] = result.njev or 0
            outputs.fnorm[k] = result.fnorm
            outputs.cov_x[k] = np.nan if result.cov_x is None else result.cov_x
            advance(1)
    return outputs


def leastsq_batch(
    func: Callable[..., Any],
    x0: Any,
    data: Any = None,
    args: Any = (),
    Dfun: Callable[..., Any] | None = None,  # noqa: N803 - SciPy's name
    col_deriv: bool | int = False,
    ftol: float = 1.49012e-08,
    xtol: float = 1.49012e-08,
    gtol: float = 0.0,
    maxfev: int = 0,
    epsfcn: float | None = None,
    factor: float = 100,
    diag: Any = None,
    *,
    workers: int | None = None,
    progress: bool = False,
    m: int | None = None,
) -> BatchResult:
    """Fit one model to K data sets: K independent `leastsq` fits in one call.

    Each problem's result equals `leastsq` on that problem alone, bit for bit.

    Parameters
    ----------
    func : callable or compiled function
        As for `leastsq`.  A Python ``func`` is called as ``func(x, data[k], *args)``
        (or ``func(x, *args)`` without `data`); a compiled one receives as
        ``user_data`` the address of row ``data[k]``, made float64 and C-contiguous
        (without a copy when it already is).
    x0 : array_like, shape (K, n) or (n,)
        Starting points; one shared by all problems when `data` gives K.
    data : array_like, optional
        Each problem's data, leading dimension K.
    args, Dfun, col_deriv, ftol, xtol, gtol, maxfev, epsfcn, factor, diag
        As for `leastsq`, shared by all problems.
    workers : int, optional
        Threads that fit compiled callbacks in parallel, without the GIL (default:
        the number of CPUs).  Python callbacks run one problem at a time.
    progress : bool, optional
        Show a progress bar: tqdm's when it is installed, else a short status on stderr,
        written as the batch starts and at each tenth of it (at most 11 lines).
    m : int, optional
        The number of residuals; required with a compiled ``func``.

    Returns
    -------
    BatchResult
        Arrays ``x``, ``ier``, ``nfev``, ``njev``, ``fnorm``, ``cov_x``, ``success``,
        and ``message(ier)`` for the text of any ``ier``.

    Raises
    ------
    Exception
        What ``func`` or ``Dfun`` raised for some problem, with a note naming the
        problem (Python 3.11+); the other problems are not fitted.  Ctrl-C stops a
        batch within a fraction of a second with ``KeyboardInterrupt``.
    """
    if not isinstance(args, tuple):
        args = (args,)
    count = None if data is None else len(data)
    x = _starting_points(x0, count)
    count, n = x.shape
    settings = check_settings(ftol, xtol, gtol, maxfev, epsfcn, factor, diag, bool(col_deriv), n)
    workers = _worker_count(workers)

    maxfev = maxfev_for(settings, n, Dfun is not None)
    compiled_func = compiled_or_callable(func, "func", None)
    compiled_jac = None if Dfun is None else compiled_or_callable(Dfun, "Dfun", None)
    results = _Outputs.bytes(count, n)
    if all_compiled(compiled_func, compiled_jac):
        m = residual_count(m)
        check_sizes(n, m)
        check_no_args(args)
        workspaces = _thread_count(workers, count) * fit_buffer_bytes(m, n)
        check_allocation(
            results + workspaces, f"{count} fits of m={m} residuals in n={n} variables"
        )
        rows = None if data is None else _data_rows(data, count)
        if rows is None:  # else each problem's row is its callbacks' user data
            require_user_data(compiled_func, "func")
            require_user_data(compiled_jac, "Dfun")
        outputs = _fit_compiled(
            compiled_func, compiled_jac, x, rows, m, settings, maxfev, workers, progress
        )
    else:
        check_allocation(results, f"the results of {count} fits in n={n} variables")
        mixed = data is not None and (
            isinstance(compiled_func, CompiledCallback)
            or isinstance(compiled_jac, CompiledCallback)
        )
        rows = _data_rows(data, count) if mixed else None
        outputs = _fit_python(func, x, data, args, Dfun, settings, maxfev, m, progress, rows)

    success = _succeeded(outputs.ier)
    return BatchResult(
        x=x,
        ier=outputs.ier,
        nfev=outputs.nfev,
        njev=None if Dfun is None else outputs.njev,
        fnorm=outputs.fnorm,
        cov_x=outputs.cov_x,
        success=success,
        settings=settings,
        maxfev=maxfev,
    )
