"""The fuzz targets of tests/fuzz.py, each in a process of its own (CI's profile).

The profile is deterministic (derandomized, EXAMPLES examples per target), so CI runs
the same examples every time; the long run with new examples is one command
(docs/guide/robustness.md).  A crash ends only the child: its exit status and the last
example it logged say which input did it.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).with_name("fuzz.py")
EXAMPLES = 1000
TARGETS = ["leastsq", "compiled", "leastsq_batch", "curve_fit"]


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target_ends_every_example_as_documented(target, tmp_path):
    log = tmp_path / "examples.log"
    environment = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    done = subprocess.run(
        [sys.executable, str(FUZZ), target, "--examples", str(EXAMPLES), "--log", str(log)],
        capture_output=True, text=True, timeout=900, env=environment,
    )  # fmt: skip
    lines = log.read_text().splitlines() if log.exists() else []
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        pytest.fail(f"the fuzz process died of {name} running:\n{lines[-1] if lines else '?'}")
    assert done.returncode == 0, f"{done.stdout[-6000:]}\nlast example: {lines[-1:]}"
    assert done.stderr == ""
    assert f"fuzzing {target}: {EXAMPLES} examples" in done.stdout
    assert "all targets passed" in done.stdout
    assert len(lines) >= EXAMPLES  # every example reached the call under test
