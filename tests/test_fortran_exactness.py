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

import ctypes
import gzip
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest
from helpers.system import find_libminpack
from numpy.typing import NDArray

import minpack

EXAMPLES = Path("/usr/share/doc/minpack-dev/examples")
# The lmder test driver: its main program, FCN, then SSQJAC, INITPT and SSQFCN.
DRIVER_SOURCE = EXAMPLES / "file17.gz"
# The problem list of the lmder/lmdif drivers: "NPROB N M NTRIES" per line.
PROBLEM_LIST = EXAMPLES / "file22"
LIBMINPACK_A = find_libminpack("libminpack.a")  # None when the machine has none
REFERENCE_PROGRAM = Path(__file__).parent / "fortran" / "lm_reference.f90"
# Never let the compiler fuse a*b+c: the flags minpack's own build uses.
FFLAGS = ["-O2", "-ffp-contract=off"]
# The first line kept from file17: everything after it is the three problem routines.
PROBLEMS_START = "      SUBROUTINE SSQJAC"
PROBLEM_ROUTINES = ["SSQJAC", "INITPT", "SSQFCN"]

# The names in the comments of SSQFCN/SSQJAC in file17, by problem number.
PROBLEM_NAMES = {
    1: "linear-full-rank",
    2: "linear-rank-1",
    3: "linear-rank-1-zero-columns",
    4: "rosenbrock",
    5: "helical-valley",
    6: "powell-singular",
    7: "freudenstein-roth",
    8: "bard",
    9: "kowalik-osborne",
    10: "meyer",
    11: "watson",
    12: "box-3d",
    13: "jennrich-sampson",
    14: "brown-dennis",
    15: "chebyquad",
    16: "brown-almost-linear",
    17: "osborne-1",
    18: "osborne-2",
}

FloatArray = NDArray[np.float64]


def _missing_prerequisites() -> list[str]:
    """Name what this module needs but the system lacks."""
    missing = [] if shutil.which("gfortran") else ["gfortran (apt-get install gfortran)"]
    missing += [
        f"{path} (apt-get install minpack-dev)"
        for path in (DRIVER_SOURCE, PROBLEM_LIST)
        if not path.exists()
    ]
    if LIBMINPACK_A is None:
        missing.append("libminpack.a (apt-get install minpack-dev)")
    return missing


MISSING = _missing_prerequisites()
pytestmark = pytest.mark.skipif(bool(MISSING), reason="needs " + ", ".join(MISSING))


@dataclass(frozen=True)
class Run:
    """One try of a problem: MINPACK's drivers start it from INITPT(..., factor)."""

    nprob: int
    n: int
    m: int
    factor: float

    @property
    def key(self) -> tuple[int, int, int, int]:
        """Identify the run as the reference program prints it."""
        return self.nprob, self.n, self.m, round(self.factor)

    def describe(self, routine: str) -> str:
        """Return a readable test id, e.g. ``lmder-p04-rosenbrock-n2-m2-f10``."""
        name = PROBLEM_NAMES.get(self.nprob, "unknown")
        return f"{routine}-p{self.nprob:02d}-{name}-n{self.n}-m{self.m}-f{round(self.factor)}"


class Outcome(NamedTuple):
    """What must match: ier, the counts, and x as its 64-bit patterns."""

    ier: int
    nfev: int
    njev: int
    x_bits: tuple[int, ...]


# The reference program's outcomes by (routine, nprob, n, m, factor).
Reference = dict[tuple[str, int, int, int, int], Outcome]


def read_runs(problem_list: str) -> list[Run]:
    """Expand the problem list into runs exactly as MINPACK's test drivers do."""
    runs = []
    for line in problem_list.splitlines():
        if not line.strip():
            continue
        nprob, n, m, ntries = (int(field) for field in line.split())
        if nprob <= 0:  # the drivers' end marker
            break
        factor = 1.0
        for _ in range(ntries):
            runs.append(Run(nprob, n, m, factor))
            factor = 10.0 * factor  # the drivers' FACTOR = TEN*FACTOR
    return runs


RUNS = read_runs(PROBLEM_LIST.read_text()) if PROBLEM_LIST.exists() else []


def run_params(routine: str, *values: Any, suffix: str = "") -> list[Any]:
    """Parametrize over all runs, plus fixed values (a skipped placeholder without file22)."""
    if not RUNS:
        return [pytest.param(None, *values, id=f"{routine}{suffix}-no-problem-list")]
    return [pytest.param(run, *values, id=run.describe(routine) + suffix) for run in RUNS]


def extract_problem_routines(driver_source: Path) -> str:
    """Return SSQJAC, INITPT and SSQFCN: the lines of file17 from SSQJAC to the end."""
    lines = gzip.decompress(driver_source.read_bytes()).decode("ascii").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(PROBLEMS_START)]
    assert len(starts) == 1, f"{driver_source}: expected one line {PROBLEMS_START.strip()!r}"
    source = "\n".join(lines[starts[0] :]) + "\n"
    # Fixed form: a statement starts in column 7; comments have C in column 1.
    defined = re.findall(r"^ {6}SUBROUTINE (\w+)", source, flags=re.MULTILINE)
    assert defined == PROBLEM_ROUTINES, f"{driver_source}: found subroutines {defined}"
    return source


def run_command(command: list[str], cwd: Path, stdin: str | None = None) -> str:
    """Run a build or reference command; fail with its output if it fails."""
    result = subprocess.run(
        command, cwd=cwd, input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


@dataclass(frozen=True)
class Build:
    """The compiled problems (a shared library) and the reference program."""

    problems_library: Path
    reference_program: Path


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """Compile the problems from the system's file17, and the reference program, once."""
    directory = tmp_path_factory.mktemp("mgh")
    (directory / "mgh_problems.f").write_text(extract_problem_routines(DRIVER_SOURCE))
    # One object file serves both sides, so both run the same machine code.
    compile_problems = ["-c", "-fPIC", "mgh_problems.f", "-o", "mgh_problems.o"]
    run_command(["gfortran", *FFLAGS, *compile_problems], directory)
    link_library = ["-shared", "-fPIC", "mgh_problems.o", "-o", "libmgh_problems.so"]
    run_command(["gfortran", *FFLAGS, *link_library], directory)
    # Naming the archive links MINPACK statically, as minpack's extension is linked,
    # never the system's libminpack.so.
    objects = [str(REFERENCE_PROGRAM), "mgh_problems.o", str(LIBMINPACK_A)]
    run_command(["gfortran", *FFLAGS, *objects, "-o", "lm_reference"], directory)
    return Build(directory / "libmgh_problems.so", directory / "lm_reference")


@pytest.fixture(scope="module")
def reference(build: Build) -> Reference:
    """Run the reference program on file22; its outcomes by (routine, *run.key)."""
    program = build.reference_program
    output = run_command([str(program)], program.parent, stdin=PROBLEM_LIST.read_text())
    outcomes = {}
    for line in output.splitlines():
        routine, *fields = line.split()
        nprob, n, m, factor, info, nfev, njev, *x_bits = (int(field) for field in fields)
        assert len(x_bits) == n, f"reference line with {len(x_bits)} components, n={n}: {line}"
        outcomes[routine, nprob, n, m, factor] = Outcome(info, nfev, njev, tuple(x_bits))
    return outcomes


def _double_arrays(order: str) -> type:
    """Return a ctypes argument type for a contiguous float64 array."""
    return np.ctypeslib.ndpointer(dtype=np.float64, flags=order)


class Problems:
    """The problems' Fortran routines, called through ctypes (arguments by reference)."""

    def __init__(self, library_path: Path):
        library = ctypes.CDLL(str(library_path))
        integer, double = ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_double)
        vector, matrix = _double_arrays("C_CONTIGUOUS"), _double_arrays("F_CONTIGUOUS")
        self.initpt = library.initpt_  # INITPT(N, X, NPROB, FACTOR)
        self.initpt.argtypes = [integer, vector, integer, double]
        self.ssqfcn = library.ssqfcn_  # SSQFCN(M, N, X, FVEC, NPROB)
        self.ssqfcn.argtypes = [integer, integer, vector, vector, integer]
        self.ssqjac = library.ssqjac_  # SSQJAC(M, N, X, FJAC, LDFJAC, NPROB)
        self.ssqjac.argtypes = [integer, integer, vector, matrix, integer, integer]
        for routine in (self.initpt, self.ssqfcn, self.ssqjac):
            routine.restype = None

    def start(self, run: Run) -> FloatArray:
        """Return INITPT's starting point for the run."""
        x0 = np.zeros(run.n)
        self.initpt(ctypes.c_int(run.n), x0, ctypes.c_int(run.nprob), ctypes.c_double(run.factor))
        return x0

    def residuals(self, run: Run) -> Callable[[FloatArray], FloatArray]:
        """Return ``func(x)`` for leastsq: SSQFCN's m residuals."""
        m, n, nprob = ctypes.c_int(run.m), ctypes.c_int(run.n), ctypes.c_int(run.nprob)

        def func(x: FloatArray) -> FloatArray:
            fvec = np.zeros(run.m)
            self.ssqfcn(m, n, x, fvec, nprob)
            return fvec

        return func

    def jacobian(self, run: Run, col_deriv: bool) -> Callable[[FloatArray], FloatArray]:
        """Return ``Dfun(x)`` for leastsq: SSQJAC's (m, n) matrix, or its transpose."""
        m, n, nprob = ctypes.c_int(run.m), ctypes.c_int(run.n), ctypes.c_int(run.nprob)

        def dfun(x: FloatArray) -> FloatArray:
            # Column-major with leading dimension m, as lmder's own fjac.
            fjac = np.zeros((run.m, run.n), order="F")
            self.ssqjac(m, n, x, fjac, m, nprob)
            return fjac.T if col_deriv else fjac

        return dfun


@pytest.fixture(scope="module")
def problems(build: Build) -> Problems:
    """Load the compiled problems once."""
    return Problems(build.problems_library)


def outcome(x: FloatArray, infodict: dict[str, Any], ier: int) -> Outcome:
    """Collect what leastsq returned in the reference's terms."""
    assert x.dtype == np.float64
    return Outcome(ier, infodict["nfev"], infodict.get("njev", 0), tuple(x.view(np.int64).tolist()))


def show(result: Outcome) -> str:
    """Format an outcome with x as exact hexadecimal floats, for failure messages."""
    x = np.array(result.x_bits, dtype=np.int64).view(np.float64)
    return f"ier={result.ier} nfev={result.nfev} njev={result.njev} x={[v.hex() for v in x]}"


def assert_same(actual: Outcome, expected: Outcome) -> None:
    """Demand the identical outcome, down to every bit of x."""
    assert actual == expected, f"\nleastsq: {show(actual)}\nFortran: {show(expected)}"


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
