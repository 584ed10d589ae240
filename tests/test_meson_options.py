"""The build's ways to find MINPACK: a clear stop when it is missing, a shared-library option."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.system import find_libminpack

SOURCE = Path(__file__).resolve().parent.parent
if not (SOURCE / "meson.options").is_file():
    pytest.skip("needs the source tree, not just the installed package", allow_module_level=True)
SHARED_MINPACK = find_libminpack("libminpack.so")  # None when the machine has none


def _meson(*args, cwd=SOURCE):
    """Run meson (installed with the test extras) and return the finished process."""
    meson = shutil.which("meson", path=str(Path(sys.executable).parent))
    if meson is None:
        pytest.fail("meson is a test dependency: pip install .[test,build-test]")
    return subprocess.run([meson, *args], cwd=cwd, capture_output=True, text=True)


def test_configure_stops_naming_the_package_when_minpack_is_missing(tmp_path):
    empty = tmp_path / "no-minpack-here"
    empty.mkdir()
    result = _meson("setup", str(tmp_path / "build"), f"-Dminpack-dir={empty}")
    assert result.returncode != 0
    assert f"was not found in {empty}" in result.stdout
    assert '"apt-get install minpack-dev"' in result.stdout


@pytest.mark.skipif(SHARED_MINPACK is None, reason="needs Debian's libminpack.so")
def test_shared_option_links_the_shared_library(tmp_path):
    build = tmp_path / "build"
    configured = _meson(
        "setup", str(build), "-Dminpack-link=shared", f"-Dminpack-dir={SHARED_MINPACK.parent}"
    )
    assert configured.returncode == 0, configured.stdout + configured.stderr
    compiled = _meson("compile", "-C", str(build))
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    (extension,) = (build / "minpack").glob("_minpack*.so")
    needed = subprocess.run(["objdump", "-p", str(extension)], capture_output=True, text=True)
    assert "libminpack.so" in needed.stdout
    # The freshly built module loads and solves a one-variable problem through lmdif.
    program = (
        "import importlib.util, sys, numpy as np\n"
        f"spec = importlib.util.spec_from_file_location('_minpack', {str(extension)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "def fcn(x, fvec, iflag): fvec[:] = [x[0] - 2.0, x[0] - 4.0]\n"
        "x, fvec, info, *_ = module.lmdif(fcn, 2, np.zeros(1), 1e-8, 1e-8, 0.0, 400,\n"
        "                                 2.2e-16, np.ones(1), 1, 100.0, 0)\n"
        "assert abs(x[0] - 3.0) < 1e-6 and info in (1, 2, 3, 4), (x, info)\n"
    )
    loaded = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
