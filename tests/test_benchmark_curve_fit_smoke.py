"""The curve_fit benchmark command still runs (a few short rounds); no timing is asserted."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.benchmark  # deselect with -m "not benchmark"
pytest.importorskip("scipy.optimize")
BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_curve_fit.py"


@pytest.mark.skipif(not BENCHMARK.exists(), reason="needs the source tree's benchmarks/")
def test_curve_fit_benchmark_runs_quickly():
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for case in (
        "small, p0 given, no jac",
        "small, p0 given, jac",
        "small, p0 given, 1-D sigma, no jac",
        "small, p0 given, full_output, no jac",
        "median of per-round ratios",
    ):
        assert case in result.stdout, case
