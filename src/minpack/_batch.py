"""``leastsq_batch``: many independent fits of one model, each exactly ``leastsq``'s."""

from __future__ import annotations

import operator
import os
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
from minpack._minpack import CompiledCallback, all_finite, coroutines_available, fit_batch
from minpack._progress import progress_bar
from minpack._vectorized import (
    fit_vectorized_batch,
    one_problem,
    probe_residual_count,
    refuse_compiled,
)
from minpack._workers import run_chunks

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intc]

# Problems a worker fits per trip into C: small enough that Ctrl-C and an error in
# another worker stop the batch within milliseconds, large enough to cost nothing.
_CHUNK = 1024
# The engine's full_output that keeps fnorm and cov_x only: what a batch returns.
_COUNTS_AND_COV = 2


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
    epsfcn = FLOAT64_EPS if settings.epsfcn is None else settings.epsfcn
    if rows is not None and count == 0:
        rows = None

    def fit_range(start: int, stop: int, stop_flag: IntArray) -> int:
        return fit_batch(
            func, jac, x, rows, settings, maxfev, epsfcn, m, start, stop, outputs, stop_flag
        )

    run_chunks(count, _CHUNK, _thread_count(workers, count), progress, fit_range)
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


def _data_array(data: object) -> Any:
    """Return data as an array whose rows D = data[indices] a vectorized func receives."""
    try:
        return np.asarray(data)
    except (TypeError, ValueError) as exc:  # e.g. rows of different lengths
        raise ValueError(
            "data must be an array with one row per problem when vectorized=True, "
            f"not {type(data).__name__} that NumPy cannot make one array of: {exc}"
        ) from exc


def _fit_vectorized(
    func: Callable[..., Any],
    x: FloatArray,
    data: Any,
    args: tuple[Any, ...],
    Dfun: Callable[..., Any] | None,  # noqa: N803 - SciPy's name
    settings: Settings,
    maxfev: int,
    m: int | None,
    workers: int,
    progress: bool,
) -> _Outputs:
    """Fit every problem with a vectorized func (see `leastsq_batch`'s ``vectorized``)."""
    refuse_compiled(compiled_or_callable(func, "func", None), "func")
    refuse_compiled(None if Dfun is None else compiled_or_callable(Dfun, "Dfun", None), "Dfun")
    count, n = x.shape
    check_allocation(_Outputs.bytes(count, n), f"the results of {count} fits in n={n} variables")
    if data is not None:
        data = _data_array(data)
    outputs = _Outputs(count, n)
    if count == 0:
        return outputs
    m = probe_residual_count(func, x, data, args, m)
    if not coroutines_available():  # the same results, one problem at a time
        with_data = data is not None
        single_jac = None if Dfun is None else one_problem(Dfun, with_data)
        return _fit_python(
            one_problem(func, with_data), x, data, args, single_jac, settings, maxfev, m,
            progress, None,
        )  # fmt: skip
    fit_vectorized_batch(func, Dfun, x, data, args, settings, maxfev, m, workers, progress, outputs)
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
    vectorized: bool = False,
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
        the number of CPUs).  Python callbacks run one problem at a time, except with
        `vectorized`, where each thread takes its own problems and their NumPy calls run
        in parallel where NumPy releases the GIL.
    progress : bool, optional
        Show a progress bar: tqdm's when it is installed, else a short status on stderr,
        written as the batch starts and at each tenth of it (at most 11 lines).
    m : int, optional
        The number of residuals; required with a compiled ``func``.
    vectorized : bool, optional
        ``func`` evaluates many problems in one call: ``func(X, D, *args)`` gets the
        points ``X`` (k, n) of the k problems that MINPACK asks about in a round, and
        ``D = data[indices]``, their k rows of `data` (left out without `data`), and
        returns their residuals (k, m).  A vectorized ``Dfun(X, D, *args)`` returns
        (k, m, n), or (k, n, m) with `col_deriv`.  Each problem is still its own
        MINPACK run on a coroutine stack of its own: its result equals `leastsq` with
        ``lambda p: func(p[None], data[k:k+1])[0]`` bit for bit whenever ``func``
        computes each row as it would alone (elementwise NumPy does).  ``func`` is
        first called once with k = 1, at problem 0's start, to learn m (not counted in
        ``nfev``).  Compiled callbacks are refused (`TypeError`).

    Returns
    -------
    BatchResult
        Arrays ``x``, ``ier``, ``nfev``, ``njev``, ``fnorm``, ``cov_x``, ``success``,
        and ``message(ier)`` for the text of any ``ier``.

    Raises
    ------
    Exception
        What ``func`` or ``Dfun`` raised for some problem, with a note naming the
        problem (with `vectorized`, the problems of the round); the other problems are
        not fitted.  Ctrl-C stops a batch within a fraction of a second with
        ``KeyboardInterrupt``.
    TypeError, ValueError
        For bad arguments, naming them, before any fit.

    Examples
    --------
    1,000 decays, each with its own data, with a vectorized NumPy residual:

    >>> import numpy as np
    >>> from minpack import leastsq, leastsq_batch
    >>> t = np.linspace(0.0, 4.0, 50)
    >>> rng = np.random.default_rng(0)
    >>> rates = rng.uniform(0.5, 2.0, 1000)
    >>> data = 2.5 * np.exp(-rates[:, None] * t) + 0.5 + rng.normal(0.0, 0.01, (1000, 50))
    >>> def decays(X, Y):  # X: (k, 3) points, Y: (k, 50) their rows of data
    ...     return X[:, 0:1] * np.exp(-X[:, 1:2] * t) + X[:, 2:3] - Y
    >>> fits = leastsq_batch(decays, [1.0, 1.0, 0.0], data=data, vectorized=True)
    >>> fits.success.all(), np.abs(fits.x[:, 1] - rates).max() < 0.05
    (np.True_, np.True_)

    Each problem's result is `leastsq`'s on that problem alone, bit for bit:

    >>> x, ier = leastsq(lambda p: decays(p[None], data[7:8])[0], [1.0, 1.0, 0.0])
    >>> np.array_equal(x, fits.x[7]), ier == fits.ier[7]
    (True, np.True_)
    """
    if not isinstance(args, tuple):
        args = (args,)
    count = None if data is None else len(data)
    x = _starting_points(x0, count)
    count, n = x.shape
    settings = check_settings(ftol, xtol, gtol, maxfev, epsfcn, factor, diag, bool(col_deriv), n)
    workers = _worker_count(workers)

    maxfev = maxfev_for(settings, n, Dfun is not None)
    if vectorized:
        outputs = _fit_vectorized(func, x, data, args, Dfun, settings, maxfev, m, workers, progress)
        return _result(x, outputs, Dfun is not None, settings, maxfev)
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

    return _result(x, outputs, Dfun is not None, settings, maxfev)


def _result(
    x: FloatArray, outputs: _Outputs, with_dfun: bool, settings: Settings, maxfev: int
) -> BatchResult:
    """Return the BatchResult of the fitted points and their outputs."""
    return BatchResult(
        x=x,
        ier=outputs.ier,
        nfev=outputs.nfev,
        njev=outputs.njev if with_dfun else None,
        fnorm=outputs.fnorm,
        cov_x=outputs.cov_x,
        success=_succeeded(outputs.ier),
        settings=settings,
        maxfev=maxfev,
    )
