"""The benchmark command still runs (at tiny sizes); no timing is asserted."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.benchmark  # deselect with -m "not benchmark"
pytest.importorskip("scipy.optimize")
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
BENCHMARK = BENCHMARKS / "bench_leastsq.py"


@pytest.mark.skipif(not BENCHMARK.exists(), reason="needs the source tree's benchmarks/")
def test_benchmark_runs_at_tiny_sizes():
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for case in (
        "small, no Dfun, full_output=False",
        "small, no Dfun, full_output=True",
        "small, Dfun row-major",
        "small, Dfun col_deriv=True",
        "large m=2000, no Dfun",
        "large m=2000, Dfun col_deriv=True",
        "large m=2000, Dfun row-major",
        "ours    fixed",
        "scipy   fixed",
        "peak memory",
    ):
        assert case in result.stdout, case


@pytest.mark.skipif(not BENCHMARK.exists(), reason="needs the source tree's benchmarks/")
@pytest.mark.parametrize(
    ("script", "lines"),
    [
        ("bench_least_squares.py", ["small, jac='2-point'", "large, callable jac", "target:"]),
        ("bench_compiled.py", ["C loop over lmdif_", "numba cfunc", "bit for bit"]),
    ],
)
def test_the_other_benchmarks_run_at_tiny_sizes(script, lines):
    if script == "bench_compiled.py":
        pytest.importorskip("numba")
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for line in lines:
        assert line in result.stdout, line
