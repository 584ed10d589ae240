"""Build the tests' C callbacks into a shared library, once per test module."""

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest


def build_shared_library(tmp_path_factory, sources, name):
    """Compile ``sources`` with $CC (or cc) into ``name``; skip when there is no compiler."""
    compiler = shlex.split(os.environ.get("CC", "cc"))
    if not compiler or shutil.which(compiler[0]) is None:
        pytest.skip(f"no C compiler ({' '.join(compiler)!r}) to build the test callbacks")
    path = tmp_path_factory.mktemp("compiled") / name
    # -ffp-contract=off: the callbacks must compute exactly what their Python twins do.
    command = [*compiler, "-O2", "-ffp-contract=off", "-shared", "-fPIC", *map(str, sources)]
    built = subprocess.run([*command, "-o", str(path), "-lm"], capture_output=True, text=True)
    if built.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{built.stderr}")
    return Path(path)
