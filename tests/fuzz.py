"""Fuzz leastsq, leastsq_batch and curve_fit with hostile input (docs/guide/robustness.md).

    .venv/bin/python tests/fuzz.py                          # CI's deterministic profile
    .venv/bin/python tests/fuzz.py --examples 10000 --random  # the long run

Every example must end in a TypeError/ValueError that names what was wrong, the exact
exception object a user callable raised, or a documented ``ier``; never a crash, a
hang, output on stderr, an undocumented warning, a success with NaN or infinity in x
or fvec, a changed input array, or a callable given a non-finite, reused or later
changed x.  Run it in a process of its own (tests/test_fuzz.py does): a crash then
ends only that process, and the last line of ``--log`` names the example that caused
it; a hang of HANG_SECONDS dumps every thread's stack and exits.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import sys
import tempfile
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from helpers.compiled import SIGNATURE_WITH_USER_DATA, address_of, capsule
from helpers.fuzz_inputs import (
    COMPILED_RESULTS,
    DTYPES,
    EPSFCNS,
    FACTORS,
    MAXFEVS,
    TOLERANCES,
    WRONG_SIGNATURES,
    CompiledScript,
    FuzzBaseError,
    FuzzError,
    Model,
    Received,
    Scripted,
    dtyped,
    models,
    scale_factors,
    scripts,
    starting_points,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import minpack

HANG_SECONDS = 120
# A TypeError or ValueError must name what was wrong: one of these.
NAMES = (
    "func", "Dfun", "x0", "args", "m ", "m=", "ftol", "xtol", "gtol", "maxfev", "epsfcn",
    "factor", "diag", "data", "workers", "callback", "sigma", "xdata", "ydata", "p0",
    "nan_policy", "bounds", "method", "jac", "fit parameters", "infs or NaNs", "nan values",
    "user_data", "compiled",
)  # fmt: skip
SUCCESS = (1, 2, 3, 4)
FAILURE = (5, 6, 7, 8, 9, 10)


class Stderr:
    """This process's file descriptor 2, sent to a file that must stay empty."""

    def __init__(self) -> None:
        self.original = os.dup(2)
        self.file = tempfile.TemporaryFile()
        os.dup2(self.file.fileno(), 2)

    def written(self) -> bytes:
        """Return what was written since the last call, and forget it."""
        sys.stderr.flush()
        self.file.seek(0)
        text = self.file.read()
        self.file.seek(0)
        self.file.truncate()
        return text


STDERR: Stderr | None = None
LOG: Any = None
# How the examples of the current target ended, for the summary line.
ENDINGS: Counter[str] = Counter()
VERBOSE = False


@dataclass
class Outcome:
    """What a call returned or raised, and the warnings it issued."""

    value: Any = None
    error: BaseException | None = None
    warnings: tuple[tuple[type[Warning], str], ...] = ()


def run(description: str, call: Callable[[], Any]) -> Outcome:
    """Run one example: logged first, watched for hangs and for output on stderr."""
    assert STDERR is not None
    LOG.write(description.replace("\n", " ") + "\n")
    LOG.flush()
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True, file=STDERR.original)
    outcome = Outcome()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome.value = call()
        except (Exception, FuzzBaseError) as error:  # noqa: BLE001 - judged by the target
            outcome.error = error
    faulthandler.cancel_dump_traceback_later()
    outcome.warnings = tuple((w.category, str(w.message)) for w in caught)
    ENDINGS[_ending(outcome)] += 1
    written = STDERR.written()
    assert not written, f"wrote to stderr: {written[:2000]!r}"
    return outcome


def _ending(outcome: Outcome) -> str:
    """Name how an example ended: the exception's type, the ier, or a batch's iers."""
    if outcome.error is not None:
        if VERBOSE:
            print(f"    {type(outcome.error).__name__}: {str(outcome.error)[:100]}")
        return type(outcome.error).__name__
    value = outcome.value
    if isinstance(value, tuple) and isinstance(value[-1], int):
        return f"ier {value[-1]}"
    if hasattr(value, "ier"):
        return "batch " + ",".join(map(str, sorted(set(value.ier.tolist()))))
    return "returned"


def check_error(outcome: Outcome, own: list[BaseException | None], *also: str) -> None:
    """The error is one a user callable raised (the same object), or names its cause."""
    error = outcome.error
    assert error is not None
    if any(error is mine for mine in own):
        return
    text = str(error)
    if isinstance(error, RuntimeError) and "Optimal parameters not found: " in text:
        assert "Optimal parameters not found: " in also, text
        return
    assert type(error) in (TypeError, ValueError), f"{type(error).__name__}: {text}"
    assert any(name in text for name in (*NAMES, *also)), f"unclear message: {text!r}"


def check_no_warnings(outcome: Outcome, allowed: tuple[type[Warning], ...] = ()) -> None:
    """Only the documented warnings were issued."""
    for category, text in outcome.warnings:
        assert issubclass(category, allowed), f"{category.__name__}: {text}"


def check_unchanged(pairs: list[tuple[Any, Any]]) -> None:
    """The caller's arrays are as they were."""
    for array, copy in pairs:
        assert array.dtype == copy.dtype and array.shape == copy.shape
        if array.dtype == object:
            assert all(a is b or a == b for a, b in zip(array.flat, copy.flat, strict=True))
        else:
            np.testing.assert_array_equal(array, copy)


def snapshot(*values: Any) -> list[tuple[Any, Any]]:
    """Pair each array with a copy, for check_unchanged."""
    return [(v, v.copy()) for v in values if isinstance(v, np.ndarray)]


def variables(x0: Any, n: int) -> int:
    """How many variables a fit from ``x0`` has: n, or 0 for an empty x0 (then ier 0)."""
    return 0 if np.size(x0) == 0 else n


def check_fit(x: Any, ier: Any, n: int, fvec: Any = None, stops: tuple[int, ...] = ()) -> None:
    """A returned fit: x of n float64 values; a documented ier; success only when finite.

    An empty x0 (n = 0) is improper input, answered as SciPy answers it: ier 0.
    """
    assert isinstance(x, np.ndarray) and x.dtype == np.float64 and x.shape == (n,), repr(x)
    assert n > 0 or ier == 0, ier
    assert isinstance(ier, int), repr(ier)
    assert ier in (0, *SUCCESS, *FAILURE, -1, *stops), ier
    if ier in SUCCESS:
        assert np.isfinite(x).all(), x
        if fvec is not None:
            assert np.isfinite(fvec).all(), fvec


class Flaws:
    """Choose at most two of ``names`` to get wrong; ``option(name, good, bad)`` draws one.

    With few flaws at a time, most examples get past the checks of the arguments into
    MINPACK and the callables' own misbehaviour.  ``flawed`` says which were chosen.
    """

    def __init__(self, data: st.DataObject, names: tuple[str, ...]) -> None:
        self.data = data
        self.flawed = data.draw(st.sets(st.sampled_from(names), max_size=2), "flawed arguments")

    def __call__(self, name: str, good: Any, bad: st.SearchStrategy[Any]) -> Any:
        return self.data.draw(bad, name) if name in self.flawed else good


def flaw_chooser(data: st.DataObject, names: tuple[str, ...]) -> Flaws:
    """Choose the flaws of one example (see `Flaws`)."""
    return Flaws(data, names)


# --- leastsq ----------------------------------------------------------------------------------

CALLBACKS = ("none", "none", "quiet", "stop", "raise", "array", "arity")
# The arguments that an example may get wrong.
FLAWS = ("args", "ftol", "xtol", "gtol", "maxfev", "epsfcn", "factor", "diag", "m", "x0")
BATCH_FLAWS = ("data", "x0", "workers", "m", "maxfev", "ftol", "diag")
COMPILED_FLAWS = ("signature", "m", "maxfev", "args", "epsfcn", "x0")
CURVE_FIT_FLAWS = ("ydata", "sigma", "p0", "nan_policy", "bounds", "method", "options")


def iteration_callback(kind: str, errors: list[BaseException | None]) -> Any:
    """An iteration callback that stops, raises or misbehaves at its third call."""
    if kind == "none":
        return None
    calls = []

    def callback(x: np.ndarray, fnorm: float, nfev: int) -> Any:
        calls.append(nfev)
        if len(calls) < 3 or kind == "quiet":
            return False
        if kind == "raise":
            errors.append(FuzzError("callback raised"))
            raise errors[-1]
        return True if kind == "stop" else np.array([1.0, 2.0])

    if kind == "arity":
        return lambda x: False
    return callback


@given(st.data())
def fuzz_leastsq(data: st.DataObject) -> None:
    """leastsq with Python callbacks: every argument drawn, good or bad."""
    model = data.draw(models, "model")
    received = Received()
    extra_args = data.draw(st.sampled_from([0, 0, 0, 1]), "func's extra arguments")
    func = Scripted(model, data.draw(scripts(), "func script"), "func", received, False, extra_args)
    col_deriv = data.draw(st.sampled_from([False, True, 0, 1]), "col_deriv")
    dfun = None
    if data.draw(st.booleans(), "with Dfun"):
        dfun = Scripted(
            model, data.draw(scripts(), "Dfun script"), "Dfun", Received(), bool(col_deriv),
            extra_args,
        )  # fmt: skip
    option = flaw_chooser(data, FLAWS)
    args = option("args", (np.ones(2),) if extra_args else (), st.sampled_from(
        [(), (np.ones(2),), np.float64(0.5), [1.0], (1.0, 2.0)]))  # fmt: skip
    callback_errors: list[BaseException | None] = []
    callback_kind = data.draw(st.sampled_from(CALLBACKS), "callback")
    kwargs = dict(
        args=args, Dfun=dfun, full_output=data.draw(st.sampled_from([False, True, 1]), "full"),
        col_deriv=col_deriv, ftol=option("ftol", 1.49012e-08, TOLERANCES),
        xtol=option("xtol", 1.49012e-08, TOLERANCES), gtol=option("gtol", 0.0, TOLERANCES),
        maxfev=option("maxfev", 0, MAXFEVS), epsfcn=option("epsfcn", None, EPSFCNS),
        factor=option("factor", 100.0, FACTORS), diag=option("diag", None, scale_factors(model.n)),
        m=option("m", None, st.sampled_from([model.m, model.m + 1, 0, -1, True, 2**31, "3"])),
        callback=iteration_callback(callback_kind, callback_errors),
    )  # fmt: skip
    good_x0 = np.linspace(-0.5, 0.5, model.n)
    x0 = option("x0", good_x0, starting_points(model.n))
    inputs = snapshot(x0, kwargs["diag"], *(args if isinstance(args, tuple) else [args]))

    outcome = run(
        f"leastsq {func} {dfun} x0={x0!r} {kwargs}", lambda: minpack.leastsq(func, x0, **kwargs)
    )

    check_unchanged(inputs)
    received.check_unchanged()
    assert not received.problems, received.problems
    if outcome.error is not None:
        own = [func.error, dfun.error if dfun else None, *callback_errors]
        check_error(outcome, own, "truth value" if callback_kind == "array" else "func")
        return
    if kwargs["full_output"]:
        x, cov_x, info, mesg, ier = outcome.value
        check_fit(x, ier, variables(x0, model.n), info["fvec"])
        assert isinstance(mesg, str) and mesg
        assert cov_x is None or (cov_x.shape == (model.n, model.n) and ier in SUCCESS)
        check_no_warnings(outcome)
    else:
        x, ier = outcome.value
        check_fit(x, ier, variables(x0, model.n))
        expected = ier in FAILURE or (ier < 0 and callback_kind != "stop")
        assert [c for c, _ in outcome.warnings] == ([RuntimeWarning] if expected else [])


@given(st.data())
def fuzz_compiled(data: st.DataObject) -> None:
    """leastsq with compiled callbacks (ctypes), including wrong signatures and bad m.

    A callback of the signature with ``void *user_data`` gets its data in a PyCapsule's
    context, or none (a bare ctypes pointer, a capsule without a context): then the fit
    must be a TypeError before any call, never a call with NULL.
    """
    model = data.draw(models, "model")
    with_user_data = data.draw(st.booleans(), "with user data")
    stop_code = data.draw(st.sampled_from([-1, -2, -9, -(2**31)]), "stop code")
    func_script = data.draw(
        st.dictionaries(st.integers(0, 12), st.sampled_from(COMPILED_RESULTS), max_size=2),
        "func script",
    )
    option = flaw_chooser(data, COMPILED_FLAWS)
    wrong = option("signature", None, st.sampled_from(list(WRONG_SIGNATURES)))
    func = CompiledScript(model, func_script, "func", with_user_data, stop_code)
    dfun = None
    jac_kind = data.draw(st.sampled_from(["none", "compiled", "python"]), "Dfun")
    if jac_kind == "compiled":
        dfun = CompiledScript(model, data.draw(st.dictionaries(
            st.integers(0, 5), st.sampled_from(COMPILED_RESULTS), max_size=2), "Dfun script"),
            "Dfun", with_user_data, stop_code)  # fmt: skip
    elif jac_kind == "python":
        dfun = Scripted(model, data.draw(scripts(), "Dfun script"), "Dfun", Received())
    # How each compiled callback with the user_data signature is given its data.
    forms = {"func": "no user_data", "Dfun": "no user_data"}
    for role, script in (("func", func), ("Dfun", dfun)):
        if with_user_data and isinstance(script, CompiledScript):
            forms[role] = data.draw(st.sampled_from(USER_DATA_FORMS), f"{role}'s user data")
    shift = np.array([0.25])
    callable_func = (
        WRONG_SIGNATURES[wrong]() if wrong else _given(func.pointer, forms["func"], shift)
    )
    jac = _given(dfun.pointer, forms["Dfun"], shift) if isinstance(dfun, CompiledScript) else dfun
    # The callbacks that take user data and get none (a func of the wrong signature fails
    # as such, whatever its user data).
    missing = [
        role for role in ("func", "Dfun")
        if forms[role] in WITHOUT_DATA and not (role == "func" and wrong)
    ]  # fmt: skip
    kwargs = dict(
        Dfun=jac, full_output=data.draw(st.booleans(), "full_output"),
        m=option("m", model.m, st.sampled_from([None, model.m - 1, model.m + 3, -1, 2**31, True])),
        maxfev=option("maxfev", 0, st.sampled_from([5, 2**31 - 100, -1])),
        args=option("args", (), st.sampled_from([(1.0,), "x"])),
        callback=data.draw(st.sampled_from([None, None, lambda x, f, n: n > 20]), "callback"),
        epsfcn=option("epsfcn", None, st.sampled_from([1e-300, 1e300, -1.0, np.nan])),
    )  # fmt: skip
    x0 = option("x0", np.linspace(-0.5, 0.5, model.n), starting_points(model.n))
    inputs = snapshot(x0)

    outcome = run(f"compiled {func} {dfun} x0={x0!r} {kwargs} wrong={wrong} user data={forms}",
                  lambda: minpack.leastsq(callable_func, x0, **kwargs))  # fmt: skip

    check_unchanged(inputs)
    problems = func.problems + (dfun.problems if isinstance(dfun, CompiledScript) else [])
    assert not problems, problems
    if missing:
        # Never called with NULL: the fit was refused before any call of any callback.
        assert outcome.error is not None, f"{missing} took user data, got none, and ran"
        assert func.calls == 0 and getattr(dfun, "calls", 0) == 0
        if option.flawed <= {"maxfev"}:  # no other flaw to be reported first
            expected = f"compiled {missing[0]} {NO_USER_DATA_MESSAGE}"
            assert str(outcome.error).startswith(expected), repr(outcome.error)
    if outcome.error is not None:
        text = str(outcome.error)
        if NO_USER_DATA_MESSAGE in text:
            assert type(outcome.error) is TypeError, repr(outcome.error)
            assert any(text.startswith(f"compiled {role} ") for role in missing), text
        check_error(outcome, [dfun.error if isinstance(dfun, Scripted) else None])
        return
    assert wrong is None, f"a callback of the wrong signature was accepted: {wrong}"
    stops = tuple(func.stops + (dfun.stops if isinstance(dfun, CompiledScript) else []))
    if kwargs["full_output"]:
        x, cov_x, info, mesg, ier = outcome.value
        check_fit(x, ier, variables(x0, model.n), info["fvec"], stops)
        check_no_warnings(outcome)
    else:
        x, ier = outcome.value
        check_fit(x, ier, variables(x0, model.n), None, stops)
        check_no_warnings(outcome, (RuntimeWarning,))


# How a compiled callback of the user_data signature gets its data: mostly a capsule's
# context (to reach MINPACK), else none at all.
USER_DATA_FORMS = ("capsule", "capsule", "capsule", "bare-pointer", "capsule-without-context")
WITHOUT_DATA = ("bare-pointer", "capsule-without-context")
NO_USER_DATA_MESSAGE = "takes void *user_data, but no user data was given"


def _given(pointer: Any, form: str, shift: np.ndarray) -> Any:
    """``pointer`` given ``shift`` as its user data in a named PyCapsule, or no data."""
    if form in ("no user_data", "bare-pointer"):
        return pointer
    context = shift.ctypes.data if form == "capsule" else None
    made = capsule(address_of(pointer), SIGNATURE_WITH_USER_DATA, context)
    _KEEP_ALIVE.append((pointer, shift))  # the capsule holds raw pointers only
    return made


_KEEP_ALIVE: list[Any] = []


# --- leastsq_batch ----------------------------------------------------------------------------


@given(st.data())
def fuzz_leastsq_batch(data: st.DataObject) -> None:
    """leastsq_batch: shapes of x0 and data, bad rows, workers, Python and compiled funcs."""
    model = data.draw(models, "model")
    count = data.draw(st.sampled_from([3, 1, 5, 2, 0]), "K")
    compiled = data.draw(st.booleans(), "compiled")
    received = Received()
    if compiled:
        func: Any = CompiledScript(model, data.draw(st.dictionaries(
            st.integers(0, 30), st.sampled_from(COMPILED_RESULTS), max_size=2), "func script"),
            "func", True, -3)  # fmt: skip
        callable_func = func.pointer
    else:
        func = Scripted(model, data.draw(scripts(30), "func script"), "func", received, False, 1)
        callable_func = func
    option = flaw_chooser(data, BATCH_FLAWS)
    rows = np.linspace(-1.0, 1.0, count * model.m).reshape(count, model.m)
    flaw = option("data", "none", st.sampled_from(["nan-row", "inf-row", "short", "dtype"]))
    if flaw == "nan-row" and count:
        rows[count // 2, 0] = np.nan
    elif flaw == "inf-row" and count:
        rows[-1, -1] = np.inf
    data_rows: Any = rows
    if flaw == "short":
        data_rows = rows[:-1]
    elif flaw == "dtype":
        data_rows = dtyped(rows, data.draw(DTYPES, "data dtype"))
    point = np.linspace(0.1, 0.5, model.n)
    x0 = np.tile(point, (count, 1)) if data.draw(st.booleans(), "x0 per problem") else point
    x0 = option("x0", x0, st.one_of(
        st.just(np.tile(point, (count + 1, 1))), starting_points(model.n)))  # fmt: skip
    variables = _columns(x0)
    if variables not in (None, model.n):  # an (n, 1) x0 is n problems of one variable
        model = Model(model.kind, variables, max(model.m, variables), model.seed)
        func.model = model
    kwargs = dict(
        data=data_rows,
        workers=option("workers", data.draw(st.sampled_from([None, 1, 2]), "workers"),
                       st.sampled_from([0, -1, True, 2.5, "2", 10**9])),
        m=model.m if compiled else option("m", None, st.sampled_from([model.m, 0, -1])),
        maxfev=option("maxfev", 0, MAXFEVS), ftol=option("ftol", 1.49012e-08, TOLERANCES),
        diag=option("diag", None, scale_factors(model.n)),
        Dfun=(
            Scripted(model, data.draw(scripts(), "Dfun script"), "Dfun", Received(), False, 1)
            if not compiled and data.draw(st.booleans(), "with Dfun") else None
        ),
    )  # fmt: skip
    inputs = snapshot(x0, data_rows, kwargs["diag"])

    outcome = run(f"batch {func} x0={x0!r} {kwargs}",
                  lambda: minpack.leastsq_batch(callable_func, x0, **kwargs))  # fmt: skip

    check_unchanged(inputs)
    received.check_unchanged()
    problems = func.problems if compiled else received.problems
    assert not problems, problems
    if outcome.error is not None:
        own = [getattr(func, "error", None), getattr(kwargs["Dfun"], "error", None)]
        check_error(outcome, own, "rows", "problems")
        return
    check_no_warnings(outcome)
    result = outcome.value
    n = model.n
    assert result.x.shape[1:] == (n,) and result.cov_x.shape[1:] == (n, n)
    k = result.x.shape[0]
    assert result.ier.shape == result.nfev.shape == result.fnorm.shape == (k,)
    stops = tuple(func.stops) if compiled else ()
    for x, ier, fnorm in zip(result.x, result.ier.tolist(), result.fnorm, strict=True):
        check_fit(x, ier, n, None, stops)
        if ier in SUCCESS:
            assert np.isfinite(fnorm)
    np.testing.assert_array_equal(result.success, np.isin(result.ier, SUCCESS))


def _columns(x0: Any) -> int | None:
    """Return the number of variables that leastsq_batch sees in ``x0``, if any."""
    try:
        shape = np.shape(x0)
    except ValueError:  # ragged
        return None
    return shape[-1] if shape and shape[-1] else None


# --- curve_fit --------------------------------------------------------------------------------


def with_parameters(function: Callable[..., Any], n: int) -> Callable[..., Any]:
    """``f(x, p0, ..., p{n-1})`` of explicit arity, so that curve_fit can count them."""
    names = ", ".join(f"p{i}" for i in range(n))
    namespace: dict[str, Any] = {"function": function}
    exec(f"def model(x, {names}):\n    return function(x, {names})", namespace)
    return namespace["model"]


@given(st.data())
def fuzz_curve_fit(data: st.DataObject) -> None:
    """curve_fit: data, p0, sigma, nan_policy, bounds, method, jac and leastsq's options."""
    model = data.draw(models, "model")
    received = Received()
    residual = Scripted(model, data.draw(scripts(), "f script"), "func", received)
    ydata = model.residuals(np.zeros(model.n)) * 0.0 + np.linspace(1.0, 2.0, model.m)

    def curve(x: Any, *params: Any) -> Any:
        return residual(np.array(params, dtype=float))  # the residuals, as a curve

    f = with_parameters(curve, model.n)
    option = flaw_chooser(data, CURVE_FIT_FLAWS)
    ydata_arg = option("ydata", ydata, st.one_of(
        DTYPES.map(lambda dtype: dtyped(ydata, dtype)),
        st.just(np.where(np.arange(model.m) == 0, np.nan, ydata))))  # fmt: skip
    sigma_kind = option(
        "sigma",
        data.draw(st.sampled_from(["none", "ones", "matrix"]), "sigma"),
        st.sampled_from(["zeros", "negative", "singular", "shape", "nan"]),
    )
    sigma = {
        "none": None, "ones": np.ones(model.m), "zeros": np.zeros(model.m),
        "negative": -np.ones(model.m), "matrix": np.eye(model.m) * 2.0,
        "singular": np.zeros((model.m, model.m)), "shape": np.ones(model.m + 1),
        "nan": np.full(model.m, np.nan),
    }[sigma_kind]  # fmt: skip
    jac = None
    if data.draw(st.booleans(), "with jac"):
        jac_script = Scripted(model, data.draw(scripts(), "jac script"), "Dfun", Received())
        jac = with_parameters(lambda x, *p: jac_script(np.array(p, dtype=float)), model.n)
    p0_kind = data.draw(st.sampled_from(["given", "none"]), "p0")
    p0 = option("p0", {"given": np.full(model.n, 0.5), "none": None}[p0_kind],
                starting_points(model.n))  # fmt: skip
    kwargs = dict(
        p0=p0, sigma=sigma, jac=jac,
        absolute_sigma=data.draw(st.booleans(), "absolute_sigma"),
        check_finite=data.draw(st.sampled_from([None, True, False]), "check_finite"),
        nan_policy=option("nan_policy", data.draw(st.sampled_from([None, "raise", "omit"])),
                          st.sampled_from(["propagate", "x", 3])),
        bounds=option("bounds", (-np.inf, np.inf),
                      st.sampled_from([(0, 1), (-np.inf, [np.inf]), 5, ([0.0], "x")])),
        method=option("method", data.draw(st.sampled_from([None, "lm"]), "method"),
                      st.sampled_from(["trf", "dogbox", "other", 2])),
        full_output=data.draw(st.booleans(), "full_output"),
    )  # fmt: skip
    extra = option("options", {}, st.sampled_from(
        [{"maxfev": 3}, {"epsfcn": np.nan}, {"args": ()}, {"unknown": 1}, {"ftol": -1.0},
         {"callback": lambda x, f, n: True}]))  # fmt: skip
    xdata = np.linspace(0.0, 1.0, model.m)
    inputs = snapshot(xdata, ydata_arg, sigma, p0)

    outcome = run(f"curve_fit {residual} {kwargs} {extra}",
                  lambda: minpack.curve_fit(f, xdata, ydata_arg, **kwargs, **extra))  # fmt: skip

    check_unchanged(inputs)
    received.check_unchanged()
    assert not received.problems, received.problems
    if outcome.error is not None:
        own = [residual.error, jac_script.error if jac else None]
        check_error(outcome, own, "Optimal parameters not found: ", "unexpected keyword")
        return
    popt, pcov = outcome.value[:2]
    assert isinstance(popt, np.ndarray) and popt.shape == (model.n,)
    assert np.isfinite(popt).all(), popt
    assert pcov.shape == (model.n, model.n)
    check_no_warnings(outcome, (minpack.OptimizeWarning,))


TARGETS = {
    "leastsq": fuzz_leastsq,
    "compiled": fuzz_compiled,
    "leastsq_batch": fuzz_leastsq_batch,
    "curve_fit": fuzz_curve_fit,
}


def main() -> int:
    """Run the targets asked for; 0 when every example passed."""
    global STDERR, LOG, VERBOSE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help=f"some of {', '.join(TARGETS)} (all)")
    parser.add_argument("--examples", type=int, default=200, help="examples per target")
    parser.add_argument("--random", action="store_true", help="not derandomized: new examples")
    parser.add_argument("--log", default=os.devnull, help="each example's line, before it runs")
    parser.add_argument("--verbose", action="store_true", help="print every exception")
    options = parser.parse_args()
    unknown = set(options.targets) - set(TARGETS)
    if unknown:
        parser.error(f"no such target: {', '.join(sorted(unknown))}")
    VERBOSE = options.verbose
    LOG = open(options.log, "a", buffering=1)
    STDERR = Stderr()
    profile = settings(
        max_examples=options.examples, derandomize=not options.random, database=None,
        deadline=None, print_blob=False, report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    )  # fmt: skip
    failed = []
    for name in options.targets or TARGETS:
        print(f"fuzzing {name}: {options.examples} examples", flush=True)
        ENDINGS.clear()
        try:
            profile(TARGETS[name])()
        except Exception:  # noqa: BLE001 - reported, and the run fails
            failed.append(name)
            print(f"FAILED {name}:\n{traceback.format_exc()}", flush=True)
        endings = ", ".join(f"{ending}: {count}" for ending, count in ENDINGS.most_common())
        print(f"  {sum(ENDINGS.values())} calls ended as {endings}", flush=True)
    print("failed: " + ", ".join(failed) if failed else "all targets passed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
