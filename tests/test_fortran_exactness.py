"""minpack.leastsq gives bit-for-bit MINPACK's own results on the MGH test problems.

The reference is MINPACK's lmdif and lmder called directly from a Fortran
program (tests/fortran/lm_reference.f90) on the Moré-Garbow-Hillstrom problems
that MINPACK's test drivers use.  The problems' Fortran code (SSQFCN, SSQJAC,
INITPT) is not copied into this repository: it is extracted at test time from
the MINPACK examples that Debian's minpack-dev installs, compiled once, and
called both by the reference program and, through ctypes, by the Python
residual and Jacobian functions given to minpack.leastsq.  Both sides then run
the same machine code for the problems and the same static libminpack.a, so
any difference in x, nfev, njev or ier is a difference in how minpack.leastsq
drives MINPACK.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from helpers import mgh
from helpers.mgh import Outcome, Problems, Reference, Run, outcome

import minpack

MISSING = mgh.missing_prerequisites()
pytestmark = pytest.mark.skipif(bool(MISSING), reason="needs " + ", ".join(MISSING))
PROBLEM_LIST = mgh.PROBLEM_LIST
RUNS = mgh.read_runs(PROBLEM_LIST.read_text()) if PROBLEM_LIST.exists() else []


def run_params(routine: str, *values: Any, suffix: str = "") -> list[Any]:
    """Parametrize over all runs, plus fixed values (a skipped placeholder without file22)."""
    if not RUNS:
        return [pytest.param(None, *values, id=f"{routine}{suffix}-no-problem-list")]
    return [pytest.param(run, *values, id=run.describe(routine) + suffix) for run in RUNS]


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> mgh.Build:
    """Compile the problems from the system's file17, and the reference program, once."""
    try:
        return mgh.build(tmp_path_factory.mktemp("mgh"))
    except mgh.BuildError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def reference(build: mgh.Build) -> Reference:
    """Run the reference program on file22; its outcomes by (routine, *run.key)."""
    try:
        return mgh.reference(build)
    except mgh.BuildError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def problems(build: mgh.Build) -> Problems:
    """Load the compiled problems once."""
    return Problems(build.problems_library)


def assert_same(actual: Outcome, expected: Outcome) -> None:
    """Demand the identical outcome, down to every bit of x."""
    assert actual == expected, f"\nleastsq: {mgh.show(actual)}\nFortran: {mgh.show(expected)}"


def test_every_run_of_the_problem_list_is_compared(
    reference: Reference,
) -> None:
    # Counted apart from read_runs, so that a parsing bug giving no runs (or too few) fails.
    table = np.loadtxt(PROBLEM_LIST, dtype=int, ndmin=2)
    end = np.flatnonzero(table[:, 0] <= 0)
    listed = table[: end[0] if end.size else len(table)]
    assert listed.shape[0] > 0
    assert len(RUNS) == listed[:, 3].sum() > 0
    assert len(set(RUNS)) == len(RUNS)
    # The reference program read the same list: one lmdif and one lmder line per run.
    expected_keys = {(routine, *run.key) for run in RUNS for routine in ("lmdif", "lmder")}
    assert set(reference) == expected_keys
    assert len(reference) == 2 * len(RUNS)


@pytest.mark.parametrize("run", run_params("lmdif"))
def test_lmdif_matches_fortran_bit_for_bit(
    run: Run, problems: Problems, reference: Reference
) -> None:
    x, _cov_x, infodict, _mesg, ier = minpack.leastsq(
        problems.residuals(run), problems.start(run), full_output=True
    )
    assert "njev" not in infodict
    assert_same(outcome(x, infodict, ier), reference[("lmdif", *run.key)])


# col_deriv=True: Dfun returns the (n, m) transpose, which leastsq must transpose back.
@pytest.mark.parametrize(
    ("run", "col_deriv"),
    run_params("lmder", False) + run_params("lmder", True, suffix="-col_deriv"),
)
def test_lmder_matches_fortran_bit_for_bit(
    run: Run,
    col_deriv: bool,
    problems: Problems,
    reference: Reference,
) -> None:
    x, _cov_x, infodict, _mesg, ier = minpack.leastsq(
        problems.residuals(run),
        problems.start(run),
        Dfun=problems.jacobian(run, col_deriv),
        full_output=True,
        col_deriv=col_deriv,
    )
    assert_same(outcome(x, infodict, ier), reference[("lmder", *run.key)])
