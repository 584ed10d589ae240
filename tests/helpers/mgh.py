"""The Moré-Garbow-Hillstrom problems of MINPACK's own test drivers, and Fortran's answers.

The problems' Fortran code (SSQFCN, SSQJAC, INITPT) is not copied into this repository:
it is extracted from the MINPACK examples that Debian's minpack-dev installs
(``file17.gz``), compiled with gfortran, and called both by a Fortran reference program
(``tests/fortran/lm_reference.f90``, which calls MINPACK's lmdif and lmder directly) and,
through ctypes, by the Python residuals given to minpack or SciPy.  Both sides run the
same machine code for the problems and the same static libminpack.a.

Used by tests/test_fortran_exactness.py and by the demonstration (scripts/demo.py); it
needs no pytest: a failed command raises `BuildError`.
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
from numpy.typing import NDArray

from helpers.system import find_libminpack

EXAMPLES = Path("/usr/share/doc/minpack-dev/examples")
# The lmder test driver: its main program, FCN, then SSQJAC, INITPT and SSQFCN.
DRIVER_SOURCE = EXAMPLES / "file17.gz"
# The problem list of the lmder/lmdif drivers: "NPROB N M NTRIES" per line.
PROBLEM_LIST = EXAMPLES / "file22"
REFERENCE_PROGRAM = Path(__file__).resolve().parent.parent / "fortran" / "lm_reference.f90"
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


class BuildError(RuntimeError):
    """A command that builds or runs the Fortran side failed."""


def missing_prerequisites() -> list[str]:
    """Name what the Fortran side needs but the system lacks."""
    missing = [] if shutil.which("gfortran") else ["gfortran (apt-get install gfortran)"]
    missing += [
        f"{path} (apt-get install minpack-dev)"
        for path in (DRIVER_SOURCE, PROBLEM_LIST)
        if not path.exists()
    ]
    if find_libminpack("libminpack.a") is None:
        missing.append("libminpack.a (apt-get install minpack-dev)")
    return missing


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

    @property
    def name(self) -> str:
        """The problem's name, e.g. ``rosenbrock``."""
        return PROBLEM_NAMES.get(self.nprob, "unknown")

    def describe(self, routine: str) -> str:
        """Return a readable id, e.g. ``lmder-p04-rosenbrock-n2-m2-f10``."""
        return f"{routine}-p{self.nprob:02d}-{self.name}-n{self.n}-m{self.m}-f{round(self.factor)}"


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


def extract_problem_routines(driver_source: Path) -> str:
    """Return SSQJAC, INITPT and SSQFCN: the lines of file17 from SSQJAC to the end."""
    lines = gzip.decompress(driver_source.read_bytes()).decode("ascii").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(PROBLEMS_START)]
    if len(starts) != 1:
        raise BuildError(f"{driver_source}: expected one line {PROBLEMS_START.strip()!r}")
    source = "\n".join(lines[starts[0] :]) + "\n"
    # Fixed form: a statement starts in column 7; comments have C in column 1.
    defined = re.findall(r"^ {6}SUBROUTINE (\w+)", source, flags=re.MULTILINE)
    if defined != PROBLEM_ROUTINES:
        raise BuildError(f"{driver_source}: found subroutines {defined}")
    return source


def run_command(command: list[str], cwd: Path, stdin: str | None = None) -> str:
    """Run a build or reference command; raise `BuildError` with its output if it fails."""
    result = subprocess.run(
        command, cwd=cwd, input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BuildError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


@dataclass(frozen=True)
class Build:
    """The compiled problems (a shared library) and the reference program."""

    problems_library: Path
    reference_program: Path


def build(directory: Path) -> Build:
    """Compile the problems from the system's file17, and the reference program."""
    libminpack = find_libminpack("libminpack.a")
    if libminpack is None:
        raise BuildError("libminpack.a not found (apt-get install minpack-dev)")
    (directory / "mgh_problems.f").write_text(extract_problem_routines(DRIVER_SOURCE))
    # One object file serves both sides, so both run the same machine code.
    compile_problems = ["-c", "-fPIC", "mgh_problems.f", "-o", "mgh_problems.o"]
    run_command(["gfortran", *FFLAGS, *compile_problems], directory)
    link_library = ["-shared", "-fPIC", "mgh_problems.o", "-o", "libmgh_problems.so"]
    run_command(["gfortran", *FFLAGS, *link_library], directory)
    # Naming the archive links MINPACK statically, as minpack's extension is linked,
    # never the system's libminpack.so.
    objects = [str(REFERENCE_PROGRAM), "mgh_problems.o", str(libminpack)]
    run_command(["gfortran", *FFLAGS, *objects, "-o", "lm_reference"], directory)
    return Build(directory / "libmgh_problems.so", directory / "lm_reference")


def reference(built: Build) -> Reference:
    """Run the reference program on file22; its outcomes by (routine, *run.key)."""
    program = built.reference_program
    output = run_command([str(program)], program.parent, stdin=PROBLEM_LIST.read_text())
    outcomes = {}
    for line in output.splitlines():
        routine, *fields = line.split()
        nprob, n, m, factor, info, nfev, njev, *x_bits = (int(field) for field in fields)
        if len(x_bits) != n:
            raise BuildError(f"reference line with {len(x_bits)} components, n={n}: {line}")
        outcomes[routine, nprob, n, m, factor] = Outcome(info, nfev, njev, tuple(x_bits))
    return outcomes


def _double_arrays(order: str) -> Any:
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
            self.ssqfcn(m, n, np.ascontiguousarray(x, dtype=np.float64), fvec, nprob)
            return fvec

        return func

    def jacobian(self, run: Run, col_deriv: bool) -> Callable[[FloatArray], FloatArray]:
        """Return ``Dfun(x)`` for leastsq: SSQJAC's (m, n) matrix, or its transpose."""
        m, n, nprob = ctypes.c_int(run.m), ctypes.c_int(run.n), ctypes.c_int(run.nprob)

        def dfun(x: FloatArray) -> FloatArray:
            # Column-major with leading dimension m, as lmder's own fjac.
            fjac = np.zeros((run.m, run.n), order="F")
            self.ssqjac(m, n, np.ascontiguousarray(x, dtype=np.float64), fjac, m, nprob)
            return fjac.T if col_deriv else fjac

        return dfun


def outcome(x: FloatArray, infodict: dict[str, Any], ier: int) -> Outcome:
    """Collect what leastsq returned in the reference's terms."""
    x = np.asarray(x, dtype=np.float64)
    return Outcome(ier, infodict["nfev"], infodict.get("njev", 0), tuple(x.view(np.int64).tolist()))


def show(result: Outcome) -> str:
    """Format an outcome with x as exact hexadecimal floats."""
    x = np.array(result.x_bits, dtype=np.int64).view(np.float64)
    return f"ier={result.ier} nfev={result.nfev} njev={result.njev} x={[v.hex() for v in x]}"
