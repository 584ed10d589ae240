"""SciPy's ``leastsq`` as the oracle for ``minpack.leastsq``.

The semantics compared are those of ``scipy.optimize.leastsq`` in SciPy >= 1.15:
the C translation of MINPACK, ``infodict['ipvt']`` 0-based, and SciPy's messages,
warnings and exceptions.  Both are called with the same arguments on the problems of
``helpers/problems.py`` and everything they return is compared: ``ier``, ``mesg``, the
``infodict`` keys and their order, the type, dtype and shape of every value, and
the numbers themselves.

How close the numbers must be depends on what the two engines compute:

* With an analytic ``Dfun``, or with ``epsfcn`` at least Fortran MINPACK's machine
  epsilon, the C port does the same arithmetic as the Fortran: the results agree
  to the last bit (``x``, ``fvec``, ``fjac``, ``qtf``, ``ipvt``, ``nfev``, ``njev``).
  The tests ask for ``rtol=1e-10``; only ``cov_x`` differs in the last bits, since
  SciPy inverts ``R`` with LAPACK's ``trtri`` and minpack with ``numpy.linalg.solve``.
* With the default ``epsfcn`` and no ``Dfun`` they do not do the same arithmetic.
  The forward-difference step is ``sqrt(max(epsfcn, epsmch)) * |x_j|``.  The C port
  has ``epsmch = numpy.finfo(float).eps = 2.220446049250313e-16``, but Fortran
  MINPACK's ``dpmpar(1)`` is the DATA constant ``2.22044604926D-16``, which is
  larger and takes over from the default ``epsfcn``.  So the steps differ by about
  2e-12 relative, the trajectories drift apart, and the results agree only to the
  solver's own accuracy.  `test_default_epsfcn_is_scipy_with_fortran_machine_epsilon`
  pins this cause down (SciPy given ``epsfcn=2.22044604926e-16`` agrees to the last
  bit) and `test_default_epsfcn_agrees_with_scipy_default` holds the looser contract.
"""

from __future__ import annotations

import inspect
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers.problems import PROBLEMS, PROBLEMS_BY_NAME, Problem

import minpack

scipy_optimize = pytest.importorskip("scipy.optimize")

SUCCESS = (1, 2, 3, 4)

# dpmpar(1) of the original Fortran MINPACK (a 12-digit DATA statement); it is what
# lmdif/lmder use as the machine precision, where the C port uses finfo(float).eps.
FORTRAN_EPSMCH = 2.22044604926e-16

# An epsfcn above both engines' machine precision, so that both take the same
# forward-difference step sqrt(epsfcn) * |x_j|: the comparisons can then be tight.
COMMON_EPSFCN = 1e-14

# The two engines agree to the last bit here (see the module docstring); 1e-10 is the
# tolerance asked for, kept instead of exact equality so that a harmless change of
# operation order in a later SciPy does not fail the suite.
TIGHT_RTOL = 1e-10

# cov_x: SciPy inverts R with LAPACK's trtri, minpack with numpy.linalg.solve on the
# same R.  Both are backward stable, so the results differ by rounding relative to the
# largest entry (observed <= 2e-16); entries that are 0 in exact arithmetic can come out
# at that rounding level in one and as exactly 0 in the other, hence the atol relative
# to max|cov_x|.
COV_RTOL = 1e-10
COV_ATOL_RELATIVE = 1e-13

# The rank-1 linear problem: once the first Householder reflection has been applied,
# every other column is rounding noise, so the pivoting and the step depend on the last
# bits of that noise and both engines find *a* minimizer, not the same one.
RANK_DEFICIENT = ("linear_rank_one",)
# Measured with valgrind on SciPy 1.17.1 alone: its C port reads one double past the
# end of the 4x4 fjac of this problem (an invalid read in enorm, called from qrfac), so
# its results here depend on whatever memory follows that array and change from run to
# run.  Fortran MINPACK reads no such element; these problems are compared loosely, in
# test_problem_where_scipy_reads_past_fjac.
SCIPY_READS_PAST_FJAC = ("powell_singular",)
FULL_RANK_PROBLEMS = tuple(
    p for p in PROBLEMS if p.name not in RANK_DEFICIENT + SCIPY_READS_PAST_FJAC
)


# --- calling both -----------------------------------------------------------------------


def engine_kwargs(problem: Problem, engine: str) -> dict[str, Any]:
    """The keyword arguments selecting lmdif or lmder (and the Jacobian layout)."""
    if engine == "lmdif":
        return {"epsfcn": COMMON_EPSFCN}
    if engine == "lmdif_diag":
        return {"epsfcn": COMMON_EPSFCN, "diag": scale_factors(problem)}
    if engine == "lmder":
        return {"Dfun": problem.jac}
    if engine == "lmder_col_deriv":
        return {"Dfun": problem.jac_transposed, "col_deriv": True}
    if engine == "lmder_diag":
        return {"Dfun": problem.jac, "diag": scale_factors(problem)}
    raise ValueError(engine)


ENGINES = ("lmdif", "lmdif_diag", "lmder", "lmder_col_deriv", "lmder_diag")


def scale_factors(problem: Problem) -> np.ndarray:
    # Any positive diag switches MINPACK to mode 2; this one differs per variable.
    return 1.0 / (np.abs(problem.start()) + 1.0)


class Counted:
    """Wrap a callable and count its calls."""

    def __init__(self, function: Callable[..., Any]):
        self.function = function
        self.calls = 0

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        return self.function(*args)


def call_both(func: Callable[..., Any], x0: Any, **kwargs: Any) -> tuple[Any, Any]:
    """Return (minpack's result, SciPy's result) for the same call."""
    return minpack.leastsq(func, x0, **kwargs), scipy_optimize.leastsq(func, x0, **kwargs)


def call_recording_warnings(
    leastsq: Callable[..., Any], *args: Any, **kwargs: Any
) -> tuple[Any, list[tuple[type[Warning], str]]]:
    """Call ``leastsq`` and return its result with the warnings it issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = leastsq(*args, **kwargs)
    return result, [(w.category, str(w.message)) for w in caught]


# --- comparing results ------------------------------------------------------------------


def assert_same_kind(ours: Any, theirs: Any, what: str) -> None:
    """Same Python type; for arrays the same dtype, shape and C-contiguity."""
    assert type(ours) is type(theirs), what
    if isinstance(theirs, np.ndarray):
        assert ours.dtype == theirs.dtype, what
        assert ours.shape == theirs.shape, what
        assert ours.flags.c_contiguous == theirs.flags.c_contiguous, what


def assert_close(ours: np.ndarray, theirs: np.ndarray, what: str, rtol: float = TIGHT_RTOL):
    # atol relative to the array's scale: fjac's Householder vectors and qtf have
    # entries that are rounding noise next to the others.
    scale = float(np.max(np.abs(theirs), initial=0.0))
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * scale, err_msg=what)


def assert_same_cov(ours: np.ndarray | None, theirs: np.ndarray | None) -> None:
    assert (ours is None) == (theirs is None), "cov_x is None in only one of them"
    if theirs is None:
        return
    assert ours is not None
    assert_same_kind(ours, theirs, "cov_x")
    scale = float(np.max(np.abs(theirs)))
    np.testing.assert_allclose(ours, theirs, rtol=COV_RTOL, atol=COV_ATOL_RELATIVE * scale)


def assert_same_structure(ours: tuple[Any, ...], theirs: tuple[Any, ...]) -> None:
    """Everything but the numbers: tuple length, ier, mesg, keys and their order, kinds."""
    assert len(ours) == len(theirs) == 5
    x, cov_x, info, mesg, ier = ours
    sx, scov_x, sinfo, smesg, sier = theirs
    assert_same_kind(ier, sier, "ier")
    assert ier == sier
    assert_same_kind(mesg, smesg, "mesg")
    assert mesg == smesg
    assert list(info) == list(sinfo)
    assert_same_kind(x, sx, "x")
    assert (cov_x is None) == (scov_x is None), "cov_x is None in only one of them"
    for key in sinfo:
        assert_same_kind(info[key], sinfo[key], key)


def assert_same_full_output(ours: tuple[Any, ...], theirs: tuple[Any, ...]) -> None:
    """The tight comparison: same arithmetic on both sides."""
    assert_same_structure(ours, theirs)
    x, cov_x, info, _, _ = ours
    sx, scov_x, sinfo, _, _ = theirs
    np.testing.assert_allclose(x, sx, rtol=TIGHT_RTOL, atol=0, err_msg="x")
    assert info["nfev"] == sinfo["nfev"]
    assert info.get("njev") == sinfo.get("njev")
    np.testing.assert_array_equal(info["ipvt"], sinfo["ipvt"], err_msg="ipvt")
    for key in ("fvec", "fjac", "qtf"):
        assert_close(info[key], sinfo[key], key)
    assert_same_cov(cov_x, scov_x)


# --- the same fits, full and short output -----------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("problem", FULL_RANK_PROBLEMS, ids=str)
def test_full_output_matches_scipy(problem: Problem, engine: str, capfd: Any) -> None:
    kwargs = engine_kwargs(problem, engine)
    func = Counted(problem.func)
    if "Dfun" in kwargs:
        kwargs["Dfun"] = jac = Counted(kwargs["Dfun"])
    ours = minpack.leastsq(func, problem.start(), args=problem.args, full_output=True, **kwargs)
    # minpack's one evaluation at x0 is MINPACK's first, so the counts are the calls
    # (SciPy calls func twice more at x0, and Dfun once more, outside its counts).
    assert func.calls == ours[2]["nfev"]
    if "Dfun" in kwargs:
        assert jac.calls == ours[2]["njev"]
    theirs = scipy_optimize.leastsq(
        problem.func, problem.start(), args=problem.args, full_output=True, **kwargs
    )
    assert_same_full_output(ours, theirs)
    assert capfd.readouterr() == ("", ""), "neither should print anything"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("problem", FULL_RANK_PROBLEMS, ids=str)
def test_short_output_matches_scipy(problem: Problem, engine: str, capfd: Any) -> None:
    kwargs = engine_kwargs(problem, engine)
    (x, ier), our_warnings = call_recording_warnings(
        minpack.leastsq, problem.func, problem.start(), args=problem.args, **kwargs
    )
    (sx, sier), their_warnings = call_recording_warnings(
        scipy_optimize.leastsq, problem.func, problem.start(), args=problem.args, **kwargs
    )
    assert_same_kind(ier, sier, "ier")
    assert ier == sier
    assert_same_kind(x, sx, "x")
    np.testing.assert_allclose(x, sx, rtol=TIGHT_RTOL, atol=0)
    # ier 5-8 warn (RuntimeWarning, the message), 1-4 do not: the same in both.
    assert our_warnings == their_warnings
    assert bool(our_warnings) == (ier not in SUCCESS)
    assert capfd.readouterr() == ("", "")


# Options away from the defaults.  Between them they produce every ier from 1 to 8 on
# these problems (gtol=1e-2 gives 4, ftol=xtol=0 gives 6 or 7, maxfev=20 gives 5, ...).
OPTIONS: dict[str, dict[str, Any]] = {
    "ftol": {"ftol": 1e-3},
    "xtol": {"xtol": 1e-3},
    "gtol": {"gtol": 1e-2},
    "factor_small": {"factor": 0.1},
    "factor_one": {"factor": 1.0},
    "epsfcn_large": {"epsfcn": 1e-8},
    "maxfev": {"maxfev": 20},
    "tolerances_zero": {"ftol": 0.0, "xtol": 0.0},
}


def option_cases() -> list[Any]:
    cases = []
    for problem in FULL_RANK_PROBLEMS:
        for engine in ("lmdif", "lmder"):
            for name, options in OPTIONS.items():
                if engine == "lmder" and "epsfcn" in options:
                    continue  # lmder takes no epsfcn
                cases.append(
                    pytest.param(problem, engine, options, id=f"{problem}-{engine}-{name}")
                )
    return cases


@pytest.mark.parametrize(("problem", "engine", "options"), option_cases())
def test_non_default_options_match_scipy(
    problem: Problem, engine: str, options: dict[str, Any]
) -> None:
    kwargs = {**engine_kwargs(problem, engine), **options}
    ours, theirs = call_both(
        problem.func, problem.start(), args=problem.args, full_output=True, **kwargs
    )
    assert_same_full_output(ours, theirs)


@pytest.mark.parametrize("engine", ["lmdif", "lmder"])
@pytest.mark.parametrize("problem", FULL_RANK_PROBLEMS, ids=str)
def test_small_maxfev_gives_ier_5_and_runtime_warning(problem: Problem, engine: str) -> None:
    # MINPACK checks nfev >= maxfev after each iteration, after the convergence
    # tests, so maxfev=2 ends every problem with ier 5 after its first iteration.
    kwargs = {**engine_kwargs(problem, engine), "maxfev": 2}
    message = "Number of calls to function has reached maxfev = 2."
    with pytest.warns(RuntimeWarning, match=re.escape(message)):
        x, ier = minpack.leastsq(problem.func, problem.start(), args=problem.args, **kwargs)
    with pytest.warns(RuntimeWarning, match=re.escape(message)):
        sx, sier = scipy_optimize.leastsq(
            problem.func, problem.start(), args=problem.args, **kwargs
        )
    assert ier == sier == 5
    np.testing.assert_allclose(x, sx, rtol=TIGHT_RTOL, atol=0)

    ours, theirs = call_both(
        problem.func, problem.start(), args=problem.args, full_output=True, **kwargs
    )
    assert_same_full_output(ours, theirs)
    assert ours[3] == message
    assert ours[1] is None  # no cov_x unless ier is 1-4


# --- the default epsfcn -------------------------------------------------------------------


@pytest.mark.parametrize("problem", FULL_RANK_PROBLEMS, ids=str)
def test_default_epsfcn_is_scipy_with_fortran_machine_epsilon(problem: Problem) -> None:
    # Fortran lmdif steps by sqrt(max(epsfcn, dpmpar(1))) with dpmpar(1) =
    # 2.22044604926e-16; given that as epsfcn, the C port takes the same steps and
    # everything agrees to the last bit.  (Should minpack ever supply an exact dpmpar,
    # this test turns into minpack default == SciPy default.)
    ours = minpack.leastsq(problem.func, problem.start(), args=problem.args, full_output=True)
    theirs = scipy_optimize.leastsq(
        problem.func, problem.start(), args=problem.args, full_output=True, epsfcn=FORTRAN_EPSMCH
    )
    assert_same_full_output(ours, theirs)


# Where the default-epsfcn runs legitimately part ways, and why.
NFEV_MAY_DIFFER = {
    # Converges to (1, 0, 0); the trajectories differ in components of size 1e-17 and
    # below, and one side needs two more iterations (nfev 35 and 39 with SciPy 1.17).
    "helical_valley",
    # Ends with ier 5 at maxfev = 1000, which MINPACK only checks between iterations:
    # where it stops depends on the trajectory (nfev 1004 and 1001).
    "powell_singular",
}
IPVT_MAY_DIFFER = {
    # All five Jacobian columns have the same norm: the pivot order is decided by
    # rounding, and so by the 2e-12 difference in the step.
    "linear_full_rank",
}
COV_MAY_DIFFER = {
    # x[2] ends at 1e-56 in one run and exactly 0 in the other.  The relative step
    # 1.5e-8 * 1e-56 is lost in rounding f1 = 10 * (x[2] - 10 * theta), so that
    # run's forward-difference Jacobian has a zero where the other has 10.
    "helical_valley",
}
# Components whose exact solution is 0, where a relative tolerance means nothing:
# Powell's function converges to 0 only linearly (singular Jacobian) and is still at
# |x| ~ 5e-11 when maxfev stops it, helical valley ends at x[1], x[2] ~ 1e-17.
DEFAULT_EPSFCN_X_ATOL = 1e-9
# Each run stops within about xtol = 1.5e-8 (relative) of the minimizer of its own
# forward-difference model, and the ftol test bounds x less tightly still; the
# observed differences are <= 6e-8 (Meyer, Bard).  100 * xtol leaves room for that.
DEFAULT_EPSFCN_X_RTOL = 1.5e-6
# The sum of squares is stationary at the minimizer, so an O(1e-7) difference in x
# moves it by O(1e-14) relative; 1e-8 is generous.  The atol is for the problems with
# a zero residual, where both sums are rounding noise (<= 1e-31).
DEFAULT_EPSFCN_COST_RTOL = 1e-8
DEFAULT_EPSFCN_COST_ATOL = 1e-20
# cov_x comes from each run's last forward-difference Jacobian, which has a relative
# error of O(sqrt(eps)) = 1.5e-8 and is taken at points that differ by O(xtol);
# inv(J^T J) amplifies that by up to cond(J)^2.  Observed: <= 6e-6 relative to
# max|cov_x| (Meyer, whose R has condition number 1e8).
DEFAULT_EPSFCN_COV_ATOL_RELATIVE = 1e-4


@pytest.mark.parametrize("problem", FULL_RANK_PROBLEMS, ids=str)
def test_default_epsfcn_agrees_with_scipy_default(problem: Problem) -> None:
    ours, theirs = call_both(problem.func, problem.start(), args=problem.args, full_output=True)
    assert_same_structure(ours, theirs)  # same ier and mesg, too
    x, cov_x, info, _, _ = ours
    sx, scov_x, sinfo, _, _ = theirs
    np.testing.assert_allclose(
        x, sx, rtol=DEFAULT_EPSFCN_X_RTOL, atol=DEFAULT_EPSFCN_X_ATOL, err_msg="x"
    )
    np.testing.assert_allclose(
        np.sum(info["fvec"] ** 2),
        np.sum(sinfo["fvec"] ** 2),
        rtol=DEFAULT_EPSFCN_COST_RTOL,
        atol=DEFAULT_EPSFCN_COST_ATOL,
        err_msg="sum of squares",
    )
    if problem.name not in NFEV_MAY_DIFFER:
        assert info["nfev"] == sinfo["nfev"]
    if problem.name not in IPVT_MAY_DIFFER:
        np.testing.assert_array_equal(info["ipvt"], sinfo["ipvt"])
    if cov_x is not None and problem.name not in COV_MAY_DIFFER:
        assert scov_x is not None
        scale = float(np.max(np.abs(scov_x)))
        np.testing.assert_allclose(
            cov_x, scov_x, rtol=0, atol=DEFAULT_EPSFCN_COV_ATOL_RELATIVE * scale
        )
    # fjac and qtf are not compared: they belong to the last Jacobian, taken at
    # different points, and qtf's entries are near 0 at a minimizer, so relative
    # differences in them mean nothing.


# --- a rank-deficient Jacobian ---------------------------------------------------------


@pytest.mark.parametrize("engine", ["default", "lmdif", "lmder", "lmder_col_deriv"])
def test_rank_deficient_problem_reaches_a_minimum_like_scipy(engine: str) -> None:
    # Which minimizer is found depends on rounding noise (see RANK_DEFICIENT), and with
    # it the pivoting, nfev, even which success code (SciPy 1.17 reports 3 with Dfun,
    # minpack 1).  What must agree: both stop on the ftol test, at the same minimal sum
    # of squares and the same fitted values.
    problem = PROBLEMS_BY_NAME["linear_rank_one"]
    kwargs = {} if engine == "default" else engine_kwargs(problem, engine)
    ours, theirs = call_both(problem.func, problem.start(), full_output=True, **kwargs)
    assert ours[4] in (1, 3)
    assert theirs[4] in (1, 3)
    assert list(ours[2]) == list(theirs[2])
    fvec, sfvec = ours[2]["fvec"], theirs[2]["fvec"]
    exact = np.linalg.lstsq(problem.jac(problem.start()), np.ones(10), rcond=None)[0]
    minimum = np.sum(problem.func(exact) ** 2)  # 2.142857...
    # ier 1 and 3 say that the last step's predicted relative reduction of the sum of
    # squares was at most ftol; for a linear problem that step is the undamped
    # Gauss-Newton one, so S(x) - S_min <= ftol * S(x).  That excess is
    # ||A (x - x_min)||^2 = ||fvec - fvec_min||^2, so each fvec is within
    # sqrt(ftol * S) of the minimal one, and each S within ftol of S_min.
    ftol = 1.49012e-08
    for residuals in (fvec, sfvec):
        np.testing.assert_allclose(np.sum(residuals**2), minimum, rtol=ftol)
    assert np.linalg.norm(fvec - sfvec) <= 2.0 * np.sqrt(ftol * minimum)


# --- argument handling ---------------------------------------------------------------------


def test_signature_is_scipys_then_keyword_only_extensions() -> None:
    # SciPy's parameters come first with the same names, order, defaults and kinds;
    # minpack's own extensions follow, keyword-only, so no SciPy call can reach them.
    ours = list(inspect.signature(minpack.leastsq).parameters.values())
    theirs = list(inspect.signature(scipy_optimize.leastsq).parameters.values())
    shared = [(p.name, p.kind, p.default) for p in ours[: len(theirs)]]
    assert shared == [(p.name, p.kind, p.default) for p in theirs]
    extensions = ours[len(theirs) :]
    assert [p.name for p in extensions] == ["m", "callback"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in extensions)
    assert all(p.default is None for p in extensions)


def test_scalar_x0_is_one_variable_like_scipy() -> None:
    def func(x: np.ndarray) -> np.ndarray:  # SciPy's docstring example
        return 2 * (x - 3) ** 2 + 1

    ours, theirs = call_both(func, 0, full_output=True, epsfcn=COMMON_EPSFCN)
    assert_same_full_output(ours, theirs)
    assert ours[0].shape == (1,)


def test_scalar_x0_short_output_is_scipys_docstring_example() -> None:
    def func(x: np.ndarray) -> np.ndarray:
        return 2 * (x - 3) ** 2 + 1

    (x, ier), (sx, sier) = call_both(func, 0)
    assert ier == sier == 1
    # The default epsfcn: agreement to the solver's accuracy only (module docstring).
    np.testing.assert_allclose(x, sx, rtol=DEFAULT_EPSFCN_X_RTOL)
    assert np.array2string(x) == np.array2string(sx) == "[2.99999999]"


@pytest.mark.parametrize("engine", ["lmdif", "lmder"])
def test_2d_x0_is_flattened_like_scipy(engine: str) -> None:
    problem = PROBLEMS_BY_NAME["rosenbrock"]
    x0 = problem.start().reshape(2, 1)
    ours, theirs = call_both(problem.func, x0, full_output=True, **engine_kwargs(problem, engine))
    assert_same_full_output(ours, theirs)
    assert ours[0].shape == (2,)


@pytest.mark.parametrize("engine", ["lmdif", "lmder"])
def test_int_x0_matches_scipy(engine: str) -> None:
    problem = PROBLEMS_BY_NAME["rosenbrock"]
    x0 = np.array([-1, 1])
    ours, theirs = call_both(problem.func, x0, full_output=True, **engine_kwargs(problem, engine))
    assert_same_full_output(ours, theirs)
    assert ours[0].dtype == np.float64


def test_non_tuple_args_is_passed_as_one_argument_like_scipy() -> None:
    t = np.linspace(0.0, 2.0, 20)
    y = 3.0 * np.exp(-0.7 * t)

    def func(p: np.ndarray, data: np.ndarray) -> np.ndarray:
        return p[0] * np.exp(-p[1] * t) - data

    ours, theirs = call_both(func, [1.0, 1.0], args=y, full_output=True, epsfcn=COMMON_EPSFCN)
    assert_same_full_output(ours, theirs)
    np.testing.assert_allclose(ours[0], [3.0, 0.7], rtol=1e-7)  # the data are exact


def test_func_returning_a_list_matches_scipy() -> None:
    def func(x: np.ndarray) -> list[float]:
        return [10.0 * (x[1] - x[0] ** 2), 1.0 - x[0], 0.5 * x[1]]

    ours, theirs = call_both(func, [-1.2, 1.0], full_output=True, epsfcn=COMMON_EPSFCN)
    assert_same_full_output(ours, theirs)


def test_func_returning_a_python_float_matches_scipy() -> None:
    def func(x: np.ndarray) -> float:
        return float(2.0 * (x[0] - 3.0) ** 2 + 1.0)

    ours, theirs = call_both(func, 0.0, full_output=True, epsfcn=COMMON_EPSFCN)
    assert_same_full_output(ours, theirs)


@pytest.mark.parametrize(
    "func",
    [
        lambda x: float(2.0 * (x[0] - 3.0) ** 2 + 1.0),
        lambda x: np.float64(2.0 * (x[0] - 3.0) ** 2 + 1.0),
        lambda x: np.array(2.0 * (x[0] - 3.0) ** 2 + 1.0),
    ],
    ids=["float", "numpy_scalar", "0d_array"],
)
def test_scalar_residual_fvec_has_scipys_type(func: Callable[[np.ndarray], Any]) -> None:
    ours, theirs = call_both(func, 0.0, full_output=True, epsfcn=COMMON_EPSFCN)
    assert type(theirs[2]["fvec"]) is np.float64
    assert_same_kind(ours[2]["fvec"], theirs[2]["fvec"], "fvec")


@pytest.mark.parametrize("name", ["rosenbrock", "exponential_decay", "bard"])
def test_func_returning_float32_uses_float32_epsilon_like_scipy(name: str) -> None:
    problem = PROBLEMS_BY_NAME[name]

    def func32(x: np.ndarray, *args: Any) -> np.ndarray:
        return problem.func(x, *args).astype(np.float32)

    # The default epsfcn is float32's epsilon (1.2e-7), above both engines' machine
    # precision: the same steps, so the tight comparison applies.
    ours, theirs = call_both(func32, problem.start(), args=problem.args, full_output=True)
    assert_same_full_output(ours, theirs)
    assert ours[2]["fvec"].dtype == np.float64
    # And it really was float32's epsilon that minpack used.
    explicit = minpack.leastsq(
        func32,
        problem.start(),
        args=problem.args,
        full_output=True,
        epsfcn=float(np.finfo(np.float32).eps),
    )
    assert_same_full_output(ours, explicit)


@pytest.mark.parametrize("full_output", [False, True])
def test_more_variables_than_residuals_raises_type_error_like_scipy(full_output: bool) -> None:
    def func(x: np.ndarray) -> np.ndarray:
        return np.array([x[0] + x[1] + x[2] - 1.0, x[0] - x[1]])

    errors = []
    for leastsq in (minpack.leastsq, scipy_optimize.leastsq):
        with pytest.raises(TypeError) as error:
            leastsq(func, [1.0, 2.0, 3.0], full_output=full_output)
        errors.append(str(error.value))
    assert errors[0] == errors[1]
    assert "N=3" in errors[0] and "M=2" in errors[0]


@pytest.mark.parametrize("engine", ["lmdif", "lmder"])
def test_negative_ftol_is_improper_input_like_scipy(engine: str) -> None:
    problem = PROBLEMS_BY_NAME["bard"]
    kwargs = {**engine_kwargs(problem, engine), "ftol": -1.0}
    ours, theirs = call_both(problem.func, problem.start(), full_output=True, **kwargs)
    # SciPy's message, then the option that MINPACK rejected.
    assert ours[3] == theirs[3] + " ftol=-1.0 is negative."
    assert_same_structure((*ours[:3], theirs[3], ours[4]), theirs)
    assert ours[4] == 0
    assert theirs[3] == "Improper input parameters."
    assert ours[1] is None
    np.testing.assert_array_equal(ours[0], problem.start())  # MINPACK returns x0 unchanged
    assert ours[2]["nfev"] == theirs[2]["nfev"] == 0
    assert ours[2].get("njev") == theirs[2].get("njev")
    # fjac, ipvt and qtf are never written by MINPACK here: SciPy returns uninitialised
    # memory in them, so they are not compared.  For fvec see the test below.

    with pytest.raises(TypeError, match=r"^Improper input parameters\. ftol=-1\.0 is negative\.$"):
        minpack.leastsq(problem.func, problem.start(), **kwargs)
    with pytest.raises(TypeError, match=r"^Improper input parameters\.$"):
        scipy_optimize.leastsq(problem.func, problem.start(), **kwargs)


def test_improper_input_fvec_is_func_at_x0_like_scipy() -> None:
    problem = PROBLEMS_BY_NAME["bard"]
    ours, theirs = call_both(problem.func, problem.start(), full_output=True, ftol=-1.0)
    np.testing.assert_array_equal(theirs[2]["fvec"], problem.func(problem.start()))
    np.testing.assert_array_equal(ours[2]["fvec"], theirs[2]["fvec"])


@pytest.mark.parametrize("engine", ["lmdif", "lmder"])
def test_exception_in_func_propagates_like_scipy(engine: str, capfd: Any) -> None:
    problem = PROBLEMS_BY_NAME["rosenbrock"]

    def failing_after(calls: int) -> Callable[[np.ndarray], np.ndarray]:
        count = 0

        def func(x: np.ndarray) -> np.ndarray:
            nonlocal count
            count += 1
            if count > calls:
                raise ZeroDivisionError("stop here")
            return problem.func(x)

        return func

    # SciPy calls func twice at x0 before MINPACK's own calls, minpack once: fail late
    # enough that both are inside the fit.
    for leastsq in (minpack.leastsq, scipy_optimize.leastsq):
        with pytest.raises(ZeroDivisionError, match=r"^stop here$"):
            leastsq(failing_after(6), problem.start(), **engine_kwargs(problem, engine))
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("engine", ["lmdif", "lmder"])
@pytest.mark.parametrize("name", SCIPY_READS_PAST_FJAC)
def test_problem_where_scipy_reads_past_fjac(name: str, engine: str) -> None:
    problem = PROBLEMS_BY_NAME[name]
    kwargs = {**engine_kwargs(problem, engine), "full_output": True}
    # minpack is deterministic: the same bits every time, whatever ran before.
    runs = []
    for size in (1, 1000, 7, 100_000):
        clutter = np.full(size, np.nan)  # leaves different memory beside the next arrays
        runs.append(minpack.leastsq(problem.func, problem.start(), **kwargs))
        del clutter
    for run in runs[1:]:
        np.testing.assert_array_equal(run[0], runs[0][0])
        assert run[2]["nfev"] == runs[0][2]["nfev"]
    # Both approach the minimum at 0, where the Jacobian is singular: x converges only
    # linearly, and neither reports success (lmdif runs into maxfev, ier 5; lmder stops
    # with ier 8).  Both end with |x| far below 1e-6, from a start point of scale 3.
    ours, theirs = call_both(problem.func, problem.start(), **kwargs)
    assert ours[4] == theirs[4] == (5 if engine == "lmdif" else 8)
    np.testing.assert_allclose(ours[0], 0.0, atol=1e-6)
    np.testing.assert_allclose(theirs[0], 0.0, atol=1e-6)
