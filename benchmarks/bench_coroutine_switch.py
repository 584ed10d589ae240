"""The cost of one coroutine round trip (resume + yield): the package's switch against swapcontext.

Vectorized batches switch into each problem's coroutine and back once per evaluation, so
the switch is paid twice per residual evaluation of every problem.  This builds
tests/compiled/coroutines.c with minpack/coroutine.c twice, as the package builds it on
x86_64 Linux (the assembly switch, coroutine_x86_64.S) and with -DMINPACK_COROUTINE_UCONTEXT
(glibc's swapcontext, what other platforms use), runs each ``time`` mode for several rounds,
and prints the median nanoseconds of one round trip through the coroutine API, and of a
bare swapcontext round trip timed in the same program.

    python benchmarks/bench_coroutine_switch.py [--rounds 9] [--switches 5000000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "minpack"
DRIVER = ROOT / "tests" / "compiled" / "coroutines.c"


def build(cc: str, directory: str, ucontext: bool) -> str:
    program = os.path.join(directory, "ucontext" if ucontext else "assembly")
    sources = [str(DRIVER), str(SOURCES / "coroutine.c")]
    if not ucontext:
        sources.append(str(SOURCES / "coroutine_x86_64.S"))
    defines = ["-DMINPACK_COROUTINE_UCONTEXT"] if ucontext else []
    command = [cc, "-O2", "-std=c11", *defines, f"-I{SOURCES}", *sources, "-o", program, "-lm"]
    subprocess.run(command, check=True)
    return program


def timings(program: str, switches: int) -> dict[str, float]:
    command = [program, "time", str(switches)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return {key: float(value) for key, value in (line.split() for line in done.stdout.splitlines())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--switches", type=int, default=5_000_000)
    parser.add_argument("--cc", default=os.environ.get("CC", "cc"))
    options = parser.parse_args(argv)
    if platform.machine() != "x86_64" or not sys.platform.startswith("linux"):
        print("the assembly switch is x86_64 Linux's only", file=sys.stderr)
        return 1
    print(f"{platform.machine()}, {os.cpu_count()} CPUs; {options.rounds} rounds of "
          f"{options.switches:,} round trips; medians")  # fmt: skip
    with tempfile.TemporaryDirectory() as directory:
        programs = {"assembly": build(options.cc, directory, False),
                    "ucontext": build(options.cc, directory, True)}  # fmt: skip
        samples: dict[str, list[float]] = {"assembly": [], "ucontext": [], "swapcontext": []}
        for _ in range(options.rounds):
            for name, program in programs.items():
                measured = timings(program, options.switches)
                samples[name].append(measured["coroutine_switch_ns"])
                samples["swapcontext"].append(measured["swapcontext_ns"])
    assembly = statistics.median(samples["assembly"])
    for name, label in [
        ("assembly", "coroutine_resume + coroutine_yield, assembly switch (the package's)"),
        ("ucontext", "coroutine_resume + coroutine_yield, ucontext switch"),
        ("swapcontext", "bare swapcontext there and back"),
    ]:
        median = statistics.median(samples[name])
        print(f"  {label:70s} {median:7.1f} ns  {median / assembly:5.1f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
