"""The batch benchmark still runs (K = 2,000, 3 rounds); no timing is asserted.

Its exit status is 1 when its bit-for-bit checks fail (the C loop over MINPACK against
``leastsq_batch``), so exit status 0 also says that they passed.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.system import find_libminpack

pytestmark = pytest.mark.benchmark  # deselect with -m "not benchmark"
pytest.importorskip("scipy.optimize")
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
BENCHMARK = BENCHMARKS / "bench_batch.py"
LIBMINPACK = find_libminpack("libminpack.a")  # None when the machine has none
COMPILER = shlex.split(os.environ.get("CC", "cc"))

CONTENDERS = (
    "C loop over lmdif_, 2 threads",
    "C loop over lmdif_, 1 thread",
    "leastsq_batch, C residual, workers=2",
    "leastsq_batch, C residual, workers=1",
    "leastsq_batch, vectorized NumPy residual, workers=1",
    "leastsq_batch, vectorized NumPy residual, workers=2",
    "leastsq_batch, vectorized residual and Dfun, workers=1",
    "leastsq_batch, vectorized residual and Dfun, workers=2",
    "leastsq_batch, NumPy residual",
    "loop of minpack.leastsq",
    "loop of minpack.leastsq, full_output",
    "loop of minpack.leastsq with Dfun, full_output",
    "loop of scipy.optimize.leastsq, full_output",
)


@pytest.mark.skipif(not BENCHMARK.exists(), reason="needs the source tree's benchmarks/")
@pytest.mark.skipif(LIBMINPACK is None, reason="the benchmark links libminpack.a (minpack-dev)")
@pytest.mark.skipif(
    not COMPILER or shutil.which(COMPILER[0]) is None,
    reason="no C compiler to build benchmarks/batch_residual.c",
)
def test_batch_benchmark_runs_quick():
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick"], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for contender in CONTENDERS:
        # the table's row: name, problems, fits/s, ratio to the C loop
        row = rf"^{re.escape(contender)} +\d+ +\d+ +\d+\.\d+$"
        assert re.search(row, result.stdout, re.MULTILINE), (contender, result.stdout)
    assert "target >= 0.9" in result.stdout
    assert "target >= 1.8" in result.stdout
    assert "target >= 1.0" in result.stdout
    assert "target >= 5.0" in result.stdout
    assert "target >= 0.25" in result.stdout
    # the peak memory of a vectorized batch, measured for two K
    assert len(re.findall(r"^  K = +\d+: peak .* MiB for the chunk$", result.stdout, re.M)) == 2


@pytest.mark.skipif(
    not (BENCHMARKS / "bench_coroutine_switch.py").exists(),
    reason="needs the source tree's benchmarks/",
)
@pytest.mark.skipif(
    not COMPILER or shutil.which(COMPILER[0]) is None, reason="no C compiler for the switch test"
)
@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.uname().machine != "x86_64",
    reason="the assembly switch is x86_64 Linux's only",
)
def test_coroutine_switch_benchmark_runs():
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_coroutine_switch.py"), "--rounds", "1",
         "--switches", "100000"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(re.findall(r" \d+\.\d ns +\d+\.\d x$", result.stdout, re.M)) == 3, result.stdout
