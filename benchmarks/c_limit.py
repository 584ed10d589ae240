"""The physical limit the benchmarks compare with: a C loop over the system's MINPACK.

``batch_residual.c`` holds the decay residual and ``c_loop_fit``, a plain C loop calling
MINPACK's ``lmdif_`` from the same ``libminpack.a`` that the extension links;
``large_residual.c`` the large fit of bench_leastsq.py in C.  They are compiled at run
time into a temporary folder and loaded with ctypes; they are not part of the package.
"""

from __future__ import annotations

import ctypes
import shlex
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = [HERE / "batch_residual.c", HERE / "large_residual.c"]


def find_libminpack(cc: str = "cc") -> str:
    """Return the path of the system's ``libminpack.a``, as the C compiler finds it.

    As ``minpack/meson.build`` does: ``cc -print-file-name`` prints the bare name back
    when the library is not in its search path; then Debian's package is asked.
    """
    found = subprocess.run(
        [*shlex.split(cc), "-print-file-name=libminpack.a"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    if Path(found).is_absolute() and Path(found).is_file():
        return found
    if shutil.which("dpkg") is not None:
        listing = subprocess.run(
            ["dpkg", "-L", "minpack-dev"], capture_output=True, text=True, check=False
        ).stdout.split()
        for path in listing:
            if path.endswith("/libminpack.a"):
                return path
    raise FileNotFoundError("libminpack.a not found (Debian: apt-get install minpack-dev)")


def build_library(cc: str, libminpack: str, directory: str) -> ctypes.CDLL:
    """Compile the C sources against libminpack.a into ``directory`` and load them."""
    target = str(Path(directory) / "libbatch.so")
    command = [
        *shlex.split(cc),
        *("-O2", "-ffp-contract=off", "-shared", "-fPIC", *map(str, SOURCES), libminpack),
        *("-lm", "-lpthread", "-o", target),
    ]
    subprocess.run(command, check=True)
    library = ctypes.CDLL(target)
    library.c_loop_fit.restype = ctypes.c_int
    library.c_loop_fit.argtypes = [ctypes.c_int] * 3 + [ctypes.c_void_p] * 4 + [ctypes.c_int]
    library.large_fit.restype = ctypes.c_int
    library.large_fit.argtypes = [ctypes.c_int] + [ctypes.c_void_p] * 6
    return library
