"""The coroutines under vectorized batches (minpack/coroutine.c), tested as a C program.

tests/compiled/coroutines.c is built twice with the machine's C compiler: with the switch
the package uses on x86_64 Linux (coroutine_x86_64.S), and with ucontext's, the one other
platforms use (forced with -DMINPACK_COROUTINE_UCONTEXT).  Each build must keep every
coroutine's own state across switches, start coroutines with the caller's rounding mode,
run a coroutine anew on its stack many times, and stop a stack overflow on the guard page.
"""

import platform
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.compiled import compiler_or_skip

from minpack._minpack import coroutines_available

REPOSITORY = Path(__file__).resolve().parent.parent
SOURCES = REPOSITORY / "minpack"
DRIVER = REPOSITORY / "tests" / "compiled" / "coroutines.c"
ASSEMBLY = platform.machine() == "x86_64" and sys.platform == "linux"
SWITCHES = {
    "assembly": ["coroutine_x86_64.S"] if ASSEMBLY else None,
    "ucontext": [],
}


@pytest.fixture(scope="module", params=SWITCHES, ids=SWITCHES)
def driver(request, tmp_path_factory):
    extra = SWITCHES[request.param]
    if extra is None:
        pytest.skip("the assembly switch is x86_64 Linux's only")
    compiler = compiler_or_skip()
    program = tmp_path_factory.mktemp("coroutines") / f"coroutines-{request.param}"
    defines = ["-DMINPACK_COROUTINE_UCONTEXT"] if request.param == "ucontext" else []
    command = [
        *compiler, "-O2", "-std=c11", *defines, f"-I{SOURCES}", str(DRIVER),
        str(SOURCES / "coroutine.c"), *(str(SOURCES / name) for name in extra),
        "-o", str(program), "-lm",
    ]  # fmt: skip
    built = subprocess.run(command, capture_output=True, text=True)
    assert built.returncode == 0, f"{' '.join(command)}:\n{built.stderr}"
    return program


def run(program, *arguments):
    return subprocess.run([str(program), *arguments], capture_output=True, text=True, timeout=60)


def test_the_package_has_coroutines_here():
    # The platforms of this project's CI all have them: the fallback loop is for others.
    assert coroutines_available()


def test_coroutines_keep_their_own_state_and_the_callers_rounding(driver):
    done = run(driver, "interleave")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok ")


def test_a_coroutine_starts_anew_on_its_stack(driver):
    done = run(driver, "reuse")
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr


def test_a_stack_overflow_stops_on_the_guard_page(driver):
    done = run(driver, "overflow")
    assert done.returncode == -signal.SIGSEGV, (done.returncode, done.stdout, done.stderr)
    assert "no guard page" not in done.stdout
