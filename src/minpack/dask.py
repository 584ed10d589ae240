"""`leastsq_batch` on Dask arrays, for any Dask scheduler: threads, processes, clusters.

``minpack.dask.leastsq_batch`` takes ``minpack.leastsq_batch``'s arguments with ``x0``
and ``data`` as Dask arrays chunked along the problem axis, and returns lazy Dask
arrays.  It is built with `dask.array.blockwise`: one task per chunk of problems calls
``minpack.leastsq_batch`` on that chunk, so every problem's result is, bit for bit,
what ``minpack.leastsq_batch`` (and `leastsq` on that problem alone) gives.  It runs on
any Dask scheduler: threads (Dask's default), ``dask.distributed`` on one machine or
many, or processes.  Install with ``pip install minpack[dask]``; ``import minpack``
never imports Dask, ``import minpack.dask`` does.

Which callbacks reach worker processes
--------------------------------------
The threaded and synchronous schedulers run every task in this process: any ``func``
and ``Dfun`` work, compiled ones included.  Every other scheduler (``dask.distributed``,
even with its workers in this process, and ``scheduler="processes"``) pickles the
tasks, and each worker process must rebuild ``func``, ``Dfun`` and ``args``:

- Python callables travel as cloudpickle sends them.  A function defined at module
  level in a module is sent by name and the worker imports that module, which must be
  importable there: installed on every worker, sent with ``client.upload_file``, or
  registered with ``cloudpickle.register_pickle_by_value(module)`` (which sends its
  functions by value instead).  Functions of ``__main__`` (a script, a notebook),
  lambdas and closures are sent by value.
- Compiled callbacks (ctypes function pointers, PyCapsules, ``scipy.LowLevelCallable``,
  numba ``cfunc``) hold an address that means nothing in another process, and none of
  them can be pickled.  One bound to a module-level name of an importable module (not
  ``__main__``) is sent by that name: the worker imports the module, which builds its
  own (a numba ``cfunc`` is compiled again in each worker process).

Otherwise the error is a ``TypeError`` that names the callback (or ``args``) and says
why.  `leastsq_batch` raises it itself when the scheduler in effect at the call (a
default ``Client``, or ``dask.config.set(scheduler=...)``) is one that pickles;
otherwise the first task raises it when the arrays are computed with such a scheduler.
A worker that cannot import the module of ``func`` makes the tasks raise an
``ImportError`` that names ``func`` and the module.
"""

from __future__ import annotations

import importlib
import math
import pickle
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

try:
    import cloudpickle
    import dask
    import dask.array as da
    from dask.base import get_scheduler, tokenize
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        f"minpack.dask needs Dask ({exc}); install it with: pip install minpack[dask]"
    ) from exc

from minpack._batch import BatchResult, _worker_count
from minpack._batch import leastsq_batch as _leastsq_batch
from minpack._compiled import compiled, is_ctypes_function
from minpack._engine import all_compiled, compiled_or_callable
from minpack._inputs import (
    Settings,
    check_no_args,
    check_not_empty,
    check_settings,
    check_sizes,
    maxfev_for,
    residual_count,
)
from minpack._messages import message
from minpack._vectorized import refuse_compiled

__all__ = ["DaskBatchResult", "leastsq_batch"]

FloatArray = NDArray[np.float64]

# Columns of a packed block after x (n) and cov_x (n * n): ier, nfev, njev, fnorm, success.
_IER, _NFEV, _NJEV, _FNORM, _SUCCESS = range(5)
_TAIL = 5
# Modules that a worker process cannot import by name: the user's script or notebook.
_MAIN_MODULES = frozenset({"__main__", "__mp_main__"})


@dataclass(frozen=True)
class DaskBatchResult:
    """The fits of `leastsq_batch` as lazy Dask arrays, one row per problem.

    Every array comes from the same tasks: compute them together (`compute`, or
    ``dask.compute(result.x, result.ier, ...)``) so that each chunk is fitted once.

    Attributes
    ----------
    x : dask.array.Array of float64, shape (K, n)
        The solutions (or last iterates).
    ier : dask.array.Array of intc, shape (K,)
        MINPACK's ``info`` for each problem, as `leastsq` returns it.
    nfev : dask.array.Array of intc, shape (K,)
        Calls to ``func``.
    njev : dask.array.Array of intc, shape (K,), or None
        Calls to ``Dfun``; None without ``Dfun``.
    fnorm : dask.array.Array of float64, shape (K,)
        The Euclidean norm of the final residuals.
    cov_x : dask.array.Array of float64, shape (K, n, n)
        ``inv(J.T @ J)`` as `leastsq` computes it; NaN where `leastsq` gives None.
    success : dask.array.Array of bool, shape (K,)
        ``ier`` in 1..4.
    settings : Settings
        The checked options that every fit shares.
    maxfev : int
        The ``maxfev`` that MINPACK applies (its default when ``maxfev`` is 0).
    """

    x: da.Array
    ier: da.Array
    nfev: da.Array
    njev: da.Array | None
    fnorm: da.Array
    cov_x: da.Array
    success: da.Array
    settings: Settings
    maxfev: int

    def _arrays(self) -> list[da.Array]:
        """Return the Dask arrays, ``njev`` included only with ``Dfun``."""
        arrays = [self.x, self.ier, self.nfev, self.fnorm, self.cov_x, self.success]
        return arrays if self.njev is None else [*arrays, self.njev]

    def message(self, ier: int) -> str:
        """Return `leastsq`'s message for ``ier`` under this batch's settings.

        Parameters
        ----------
        ier : int
            A value of ``ier``.

        Returns
        -------
        str
            The message, as ``minpack.BatchResult.message`` gives it.
        """
        return message(int(ier), self.settings, self.maxfev)

    def compute(self, **kwargs: Any) -> BatchResult:
        """Compute every array in one pass and return them as a `minpack.BatchResult`.

        Parameters
        ----------
        **kwargs
            Passed to `dask.compute` (``scheduler=...``, for example).

        Returns
        -------
        BatchResult
            The NumPy arrays, as ``minpack.leastsq_batch`` returns them.
        """
        return BatchResult(**self._fields(dask.compute(*self._arrays(), **kwargs)))

    def persist(self, **kwargs: Any) -> DaskBatchResult:
        """Start computing every array and keep the results in memory (or on the cluster).

        Parameters
        ----------
        **kwargs
            Passed to `dask.persist`.

        Returns
        -------
        DaskBatchResult
            The same fits, backed by the persisted chunks.
        """
        return DaskBatchResult(**self._fields(dask.persist(*self._arrays(), **kwargs)))

    def _fields(self, arrays: Sequence[Any]) -> dict[str, Any]:
        """Name the arrays in the order of `_arrays`, with this result's settings."""
        x, ier, nfev, fnorm, cov_x, success, *njev = arrays
        return {
            "x": x,
            "ier": ier,
            "nfev": nfev,
            "njev": njev[0] if njev else None,
            "fnorm": fnorm,
            "cov_x": cov_x,
            "success": success,
            "settings": self.settings,
            "maxfev": self.maxfev,
        }


@dataclass(frozen=True)
class _ModuleAttribute:
    """A compiled callback as a worker process finds it: a name in an importable module."""

    module: str
    name: str

    def load(self) -> object:
        """Import the module and return the callback (the worker's own)."""
        return getattr(importlib.import_module(self.module), self.name)


def _module_attribute(callback: object) -> _ModuleAttribute | None:
    """Find a module-level name bound to ``callback`` in an importable module, if any.

    A numba cfunc's own module (that of the Python function it compiles) is looked at
    first; then every imported module, as `pickle.whichmodule` does.
    """
    wrapped = getattr(callback, "__wrapped__", None)
    hint = getattr(wrapped, "__module__", None)
    candidates = list(sys.modules.items())
    if isinstance(hint, str) and hint in sys.modules:
        candidates.insert(0, (hint, sys.modules[hint]))
    for module_name, module in candidates:
        if module_name in _MAIN_MODULES or module is None:
            continue
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for name, value in list(namespace.items()):
            if value is callback and not name.startswith("__"):
                return _ModuleAttribute(module_name, name)
    return None


def _unshippable(role: str, detail: str) -> str:
    """Return the TypeError message for a ``func``, ``Dfun`` or ``args`` that cannot be sent."""
    return (
        f"{role} cannot be sent to the worker processes of this Dask scheduler, which "
        f"pickles every task: {detail}. Compute with the threaded scheduler "
        "(scheduler='threads'), which runs tasks in this process, or see minpack.dask's "
        "documentation for which callbacks can be sent"
    )


def _kind(callback: object) -> str:
    """Name the kind of a compiled callback, for messages."""
    kind = type(callback)
    if kind.__name__ == "LowLevelCallable":
        return "scipy.LowLevelCallable"
    if is_ctypes_function(callback):
        return "ctypes function pointer"
    if kind.__module__.split(".")[0] == "numba":
        return "numba cfunc"
    return kind.__name__  # PyCapsule


def _portable(callback: object, role: str) -> object:
    """Return ``callback`` as a task carries it: compiled code by its module-level name.

    Raises ``TypeError`` for compiled code that no importable module holds.
    """
    if callback is None or compiled(callback, role) is None:
        return callback
    reference = _module_attribute(callback)
    if reference is None:
        raise TypeError(
            _unshippable(
                role,
                f"it is compiled code (a {_kind(callback)}), whose address means nothing in "
                "another process and which cannot be pickled; a worker can import compiled "
                "code by name only, so bind it to a module-level name in a module that the "
                "workers can import (not __main__)",
            )
        )
    return reference


def _pickled(value: object, role: str) -> bytes:
    """Pickle ``value`` as cloudpickle does, or raise ``TypeError`` naming ``role``."""
    try:
        pickled: bytes = cloudpickle.dumps(value)
    except Exception as exc:  # anything that pickling raises becomes the TypeError
        raise TypeError(_unshippable(role, f"pickling it failed with {exc!r}")) from exc
    return pickled


def _loaded(payload: bytes, role: str, callback_name: str | None) -> object:
    """Unpickle ``payload`` in a worker, and import what it names; ImportError if it cannot."""
    try:
        value = pickle.loads(payload)
        if isinstance(value, _ModuleAttribute):
            value = value.load()
    except (ImportError, AttributeError) as exc:
        what = f"{role} ({callback_name})" if callback_name else role
        raise ImportError(
            f"this worker process cannot load {what}: {exc}. The workers must be able to "
            "import the module that defines it: install it on every worker, send it with "
            "client.upload_file(...), or, for Python functions, call "
            "cloudpickle.register_pickle_by_value(module) before minpack.dask.leastsq_batch"
        ) from exc
    return value


class _FitChunk:
    """A task's function: ``minpack.leastsq_batch`` on one chunk of problems, packed.

    In this process it holds ``func``, ``Dfun`` and ``args`` themselves.  Pickled, it
    carries them as `_pickled` bytes (compiled callbacks as `_ModuleAttribute`), or, when
    one of them cannot be sent, the message of the ``TypeError`` that the task raises.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        Dfun: Callable[..., Any] | None,  # noqa: N803 - SciPy's name
        args: tuple[Any, ...],
        options: dict[str, Any],
    ) -> None:
        self._callbacks: tuple[Any, Any, tuple[Any, ...]] | None = (func, Dfun, args)
        self._payload: tuple[bytes, bytes, bytes] | str | None = None
        self._names = (getattr(func, "__qualname__", None), getattr(Dfun, "__qualname__", None))
        self._options = options

    def payload(self) -> tuple[bytes, bytes, bytes] | str:
        """Return ``func``, ``Dfun`` and ``args`` pickled, or why one of them cannot be."""
        if self._payload is None:
            assert self._callbacks is not None  # a _FitChunk without callbacks has a payload
            func, Dfun, args = self._callbacks  # noqa: N806 - SciPy's name
            try:
                self._payload = (
                    _pickled(_portable(func, "func"), "func"),
                    _pickled(_portable(Dfun, "Dfun"), "Dfun"),
                    _pickled(args, "args"),
                )
            except TypeError as exc:
                self._payload = str(exc)
        return self._payload

    def check_payload(self) -> None:
        """Raise the ``TypeError`` that the tasks would raise in the workers, if any."""
        payload = self.payload()
        if isinstance(payload, str):
            raise TypeError(payload)

    def __reduce__(self) -> tuple[Callable[..., _FitChunk], tuple[Any, ...]]:
        # Never raises: a scheduler that cannot pickle a task may wait for it forever.
        # The scheduler of dask.distributed unpickles and pickles tasks again, without
        # loading the callbacks.
        return _FitChunk._unpickled, (self.payload(), self._names, self._options)

    @classmethod
    def _unpickled(
        cls,
        payload: tuple[bytes, bytes, bytes] | str,
        names: tuple[str | None, str | None],
        options: dict[str, Any],
    ) -> _FitChunk:
        """Rebuild a pickled `_FitChunk`; it loads its callbacks when first called."""
        chunk = cls.__new__(cls)
        chunk._callbacks = None
        chunk._payload = payload
        chunk._names = names
        chunk._options = options
        return chunk

    def _load(self) -> tuple[Any, Any, tuple[Any, ...]]:
        """Return ``func``, ``Dfun`` and ``args``, unpickling them in a worker."""
        if self._callbacks is None:
            if isinstance(self._payload, str):
                raise TypeError(self._payload)
            assert self._payload is not None
            func, Dfun, args = self._payload  # noqa: N806 - SciPy's name
            loaded_args = _loaded(args, "args", None)
            assert isinstance(loaded_args, tuple)  # pickled from the tuple of args
            self._callbacks = (
                _loaded(func, "func", self._names[0]),
                _loaded(Dfun, "Dfun", self._names[1]),
                loaded_args,
            )
        return self._callbacks

    def __call__(self, x0: FloatArray, data: Any = None) -> FloatArray:
        """Fit the chunk's problems; return them packed, one row per problem."""
        func, Dfun, args = self._load()  # noqa: N806 - SciPy's name
        fits = _leastsq_batch(func, x0, data, args, Dfun, **self._options)
        count, n = fits.x.shape
        packed = np.empty((count, n + n * n + _TAIL))
        packed[:, :n] = fits.x
        packed[:, n : n + n * n] = fits.cov_x.reshape(count, n * n)
        tail = packed[:, n + n * n :]
        tail[:, _IER] = fits.ier
        tail[:, _NFEV] = fits.nfev
        tail[:, _NJEV] = 0 if fits.njev is None else fits.njev
        tail[:, _FNORM] = fits.fnorm
        tail[:, _SUCCESS] = fits.success
        return packed


def _covariances(packed: FloatArray, n: int) -> FloatArray:
    """Return a packed chunk's ``cov_x``, shape (K_chunk, n, n)."""
    return packed[:, n : n + n * n].reshape(-1, n, n)


def _scheduler_pickles() -> bool:
    """Whether the scheduler in effect now is one known to pickle tasks.

    ``dask.distributed`` (a default or current ``Client``, or one set with
    ``dask.config.set``) and the multiprocessing scheduler.
    """
    try:
        scheduler = get_scheduler()
    except (RuntimeError, ValueError):  # an unusable setting; compute will say so
        return False
    module = getattr(scheduler, "__module__", None) or ""
    return module.split(".")[0] == "distributed" or module == "dask.multiprocessing"


def _as_dask(value: object) -> da.Array:
    """Return ``value`` as a Dask array (NumPy arrays in one chunk where they are small)."""
    return value if isinstance(value, da.Array) else da.asarray(value)


def _token_part(callback: object, role: str) -> object:
    """Return what identifies ``callback`` in the graph's name: compiled code by its address."""
    code = None if callback is None else compiled(callback, role)
    if code is None:
        return callback
    return ("compiled", type(callback).__name__, code.address, code.user_data, code.with_user_data)


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
    workers: int | None = 1,
    m: int | None = None,
    vectorized: bool = False,
) -> DaskBatchResult:
    """Fit one model to K data sets held in Dask arrays; return lazy Dask arrays.

    One task per chunk of problems runs ``minpack.leastsq_batch`` on that chunk, so each
    problem's result equals ``minpack.leastsq_batch``'s (and `leastsq`'s on that problem
    alone), bit for bit, on any Dask scheduler.

    Parameters
    ----------
    func : callable or compiled function
        As for ``minpack.leastsq_batch``: called as ``func(x, data[k], *args)``, or, if
        compiled, given the address of row ``data[k]`` as ``user_data``.  With a scheduler
        that sends tasks to other processes, see the module's documentation for which
        callbacks can be sent.
    x0 : dask.array.Array or array_like, shape (K, n) or (n,)
        Starting points, chunked along the problem axis; one (n,) vector is shared by all
        problems when `data` gives K.
    data : dask.array.Array or array_like, optional
        Each problem's data, leading dimension K, chunked along that axis only (other
        axes are made one chunk).  `x0` and `data` are chunked alike along K if they
        differ.  NumPy arrays become Dask arrays with Dask's automatic chunks, often a
        single chunk: pass Dask arrays to choose the chunks, hence the tasks.
    args, Dfun, col_deriv, ftol, xtol, gtol, maxfev, epsfcn, factor, diag
        As for ``minpack.leastsq_batch``, shared by all problems; ``args`` (and ``diag``)
        travel with every task.
    workers : int or None, optional
        Threads with which each task fits compiled callbacks (default 1, as Dask already
        runs tasks in parallel; None: one per CPU of the worker).
    m : int, optional
        The number of residuals; required with a compiled ``func``.
    vectorized : bool, optional
        As for ``minpack.leastsq_batch``: ``func(X, D, *args)`` (and ``Dfun``) evaluate
        the problems of a round at once, within each task's chunk.

    Returns
    -------
    DaskBatchResult
        Lazy arrays ``x``, ``ier``, ``nfev``, ``njev``, ``fnorm``, ``cov_x``, ``success``;
        ``compute()`` computes them all at once into a ``minpack.BatchResult``;
        ``message(ier)`` gives the text of any ``ier``.

    Raises
    ------
    TypeError
        For the arguments that ``minpack.leastsq_batch`` rejects with one, found here
        before any computing; and for a ``func``, ``Dfun`` or ``args`` that cannot be sent
        to worker processes, when the scheduler in effect now pickles tasks.
    ValueError
        For the values that ``minpack.leastsq_batch`` rejects with one, and when `x0`
        and `data` disagree on K.

    Notes
    -----
    ``minpack.leastsq_batch``'s ``progress`` has no place here: Dask's own progress bars
    (``dask.diagnostics.ProgressBar``, ``distributed.progress``) count the chunks.
    Errors from ``func`` are raised when the arrays are computed, by the task that met
    them.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import minpack.dask
    >>> t = np.linspace(0.0, 4.0, 50)
    >>> def decay(p, y):
    ...     return p[0] * np.exp(-p[1] * t) + p[2] - y
    >>> noise = da.random.default_rng(0).normal(0.0, 0.02, (1000, 50), chunks=(250, 50))
    >>> pixels = noise + (2.5 * np.exp(-1.3 * t) + 0.5)
    >>> lazy = minpack.dask.leastsq_batch(decay, [1.0, 1.0, 0.0], data=pixels)
    >>> lazy.x  # doctest: +ELLIPSIS
    dask.array<getitem, shape=(1000, 3), dtype=float64, chunksize=(250, 3), ...>
    >>> fits = lazy.compute(scheduler="threads")
    >>> fits.success.all(), fits.x[:, 1].mean().round(2)
    (np.True_, np.float64(1.3))
    """
    if not isinstance(args, tuple):
        args = (args,)
    x0 = _as_dask(x0)
    if x0.ndim not in (1, 2):
        raise TypeError(f"x0 must be (n,) or (K, n), not shape {x0.shape}")
    n = x0.shape[-1]
    if math.isnan(n):
        raise ValueError("x0 has an unknown number of columns n; compute its chunk sizes first")
    check_not_empty(n)
    settings = check_settings(ftol, xtol, gtol, maxfev, epsfcn, factor, diag, bool(col_deriv), n)
    _worker_count(workers)  # the TypeError for a bad count, now
    compiled_func = compiled_or_callable(func, "func", None)
    compiled_jac = None if Dfun is None else compiled_or_callable(Dfun, "Dfun", None)
    if vectorized:
        refuse_compiled(compiled_func, "func")
        refuse_compiled(compiled_jac, "Dfun")
    elif all_compiled(compiled_func, compiled_jac):
        check_sizes(n, residual_count(m))
        check_no_args(args)

    arguments: list[Any] = []
    if x0.ndim == 2:
        arguments += [x0.rechunk({1: -1}), ("k", "i")]
    if data is None:
        if x0.ndim == 1:
            raise TypeError("x0 must be (K, n) when no data gives the number of problems K")
    else:
        data = _as_dask(data)
        if data.ndim == 0:
            raise TypeError("data must have a leading dimension K, one row per problem")
        if x0.ndim == 2 and not math.isnan(x0.shape[0] + data.shape[0]):
            if x0.shape[0] != data.shape[0]:
                raise ValueError(f"x0 has {x0.shape[0]} rows but data has {data.shape[0]} problems")
        data = data.rechunk({axis: -1 for axis in range(1, data.ndim)})
        arguments += [data, ("k", *(f"data{axis}" for axis in range(1, data.ndim)))]
    if x0.ndim == 1:  # shared: the same vector in every task
        arguments = [x0, ("i",), *arguments]

    options = {
        "col_deriv": col_deriv, "ftol": ftol, "xtol": xtol, "gtol": gtol, "maxfev": maxfev,
        "epsfcn": epsfcn, "factor": factor, "diag": diag, "workers": workers, "m": m,
        "vectorized": vectorized,
    }  # fmt: skip
    fit = _FitChunk(func, Dfun, args, options)
    if _scheduler_pickles():
        fit.check_payload()  # the TypeError for what cannot be sent, now, not at compute
    token = tokenize(
        _token_part(func, "func"), _token_part(Dfun, "Dfun"), args, options, *arguments[::2]
    )
    width = n + n * n + _TAIL
    packed = da.blockwise(
        fit, ("k", "p"), *arguments,
        name=f"leastsq_batch-{token}", new_axes={"p": width}, concatenate=True,
        dtype=np.float64, meta=np.empty((0, 0)),
    )  # fmt: skip
    tail = n + n * n
    return DaskBatchResult(
        x=packed[:, :n],
        ier=packed[:, tail + _IER].astype(np.intc),
        nfev=packed[:, tail + _NFEV].astype(np.intc),
        njev=None if Dfun is None else packed[:, tail + _NJEV].astype(np.intc),
        fnorm=packed[:, tail + _FNORM],
        cov_x=packed.map_blocks(
            _covariances,
            n,
            chunks=(packed.chunks[0], (n,), (n,)),
            new_axis=2,
            dtype=np.float64,
            meta=np.empty((0, 0, 0)),
        ),
        success=packed[:, tail + _SUCCESS].astype(bool),
        settings=settings,
        maxfev=maxfev_for(settings, n, Dfun is not None),
    )
