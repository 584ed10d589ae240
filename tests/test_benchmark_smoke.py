"""The benchmark command still runs (at tiny sizes); no timing is asserted."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.benchmark  # deselect with -m "not benchmark"
pytest.importorskip("scipy.optimize")
BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_leastsq.py"


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
