"""``minpack.show_config``: how this installation was built, for bug reports."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys

import numpy as np

# Packages minpack works with when they are installed: what a bug report needs to know.
_OPTIONAL = ("scipy", "numba", "dask", "distributed", "tqdm", "lmfit", "astropy")


def _installed_version(name: str) -> str:
    """Return an installed distribution's version, without importing it."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def show_config() -> None:
    """Print how minpack was built and what it runs with.

    The MINPACK library it was linked with (path, static or shared), the C compiler and
    the flags added, the meson build type, the NumPy (and so f2py) and Python versions of
    the build, those of the running interpreter, and the versions of the optional and
    peer packages that are installed (SciPy, numba, Dask, distributed, tqdm, lmfit,
    astropy), read without importing them: what a bug report needs.

    Examples
    --------
    >>> import minpack
    >>> minpack.show_config()  # doctest: +ELLIPSIS
    minpack                 ...
    MINPACK library         ...libminpack...
    MINPACK linked          ...
    ...
    """
    from minpack import _minpack
    from minpack._build_config import BUILD
    from minpack._version import __version__

    rows = {"minpack": __version__, **BUILD}
    rows["MINPACK library"] = os.path.normpath(rows["MINPACK library"])
    rows["NumPy (running)"] = np.__version__
    rows["Python (running)"] = f"{platform.python_implementation()} {sys.version.split()[0]}"
    rows["extension"] = _minpack.__file__
    for name in _OPTIONAL:
        rows[name] = _installed_version(name)
    width = max(len(name) for name in rows)
    for name, value in rows.items():
        print(f"{name:<{width}}  {value or '-'}")
