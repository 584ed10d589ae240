"""What the package declares about the Pythons and NumPy it supports, and that it holds here.

scripts/pythons.sh lists the CPython versions that CI builds, tests and wheels; pyproject.toml,
the installed metadata and the README must say the same.  scripts/wheel copies the three
files beside the tests, so these run against the installed wheel too.
"""

import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# The first version of NumPy whose f2py knows --freethreading-compatible.
F2PY_FREETHREADING = (2, 1)


def _supported_pythons():
    """Return SUPPORTED_PYTHONS of scripts/pythons.sh as (major, minor) tuples."""
    text = (ROOT / "scripts" / "pythons.sh").read_text()
    (listed,) = re.findall(r"^SUPPORTED_PYTHONS=\(([^)]*)\)", text, flags=re.MULTILINE)
    return [tuple(int(part) for part in version.split(".")) for version in listed.split()]


def _floor(requirements, name):
    """Return the version of ``name>=X.Y[.Z]`` among ``requirements`` as a tuple."""
    for requirement in requirements:
        match = re.fullmatch(rf"{name}>=([0-9.]+)", requirement.replace(" ", ""))
        if match:
            return tuple(int(part) for part in match.group(1).split("."))
    raise AssertionError(f"no {name}>=... in {requirements}")


def test_requires_python_starts_at_the_oldest_supported_version():
    oldest = _supported_pythons()[0]
    assert PYPROJECT["project"]["requires-python"] == f">={oldest[0]}.{oldest[1]}"


def test_classifiers_name_exactly_the_supported_versions():
    prefix = "Programming Language :: Python :: 3."
    named = [
        (3, int(classifier.removeprefix(prefix)))
        for classifier in PYPROJECT["project"]["classifiers"]
        if classifier.startswith(prefix) and classifier.removeprefix(prefix).isdigit()
    ]
    assert named == _supported_pythons()


def test_this_interpreter_is_a_supported_version():
    assert sys.version_info[:2] in _supported_pythons()


def test_installed_metadata_declares_what_pyproject_declares():
    metadata = importlib.metadata.metadata("minpack")
    assert metadata["Requires-Python"] == PYPROJECT["project"]["requires-python"]
    classifiers = metadata.get_all("Classifier")
    assert classifiers == PYPROJECT["project"]["classifiers"]
    runtime = [r for r in metadata.get_all("Requires-Dist") if "extra ==" not in r]
    assert _floor(runtime, "numpy") == _floor(PYPROJECT["project"]["dependencies"], "numpy")


def test_numpy_is_at_or_above_the_declared_floor():
    floor = _floor(PYPROJECT["project"]["dependencies"], "numpy")
    running = tuple(int(part) for part in re.findall(r"\d+", np.__version__)[:3])
    assert running >= floor


def test_the_build_requires_a_numpy_whose_f2py_the_build_can_use():
    # minpack/meson.build passes --freethreading-compatible to f2py; NumPy 2.0's f2py
    # rejects it and writes no module.  scripts/wheel builds with exactly this floor.
    build_floor = _floor(PYPROJECT["build-system"]["requires"], "numpy")
    assert build_floor[:2] >= F2PY_FREETHREADING


def test_readme_table_names_the_supported_versions():
    readme = (ROOT / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| CPython"))
    assert re.findall(r"3\.\d+", row) == [f"{a}.{b}" for a, b in _supported_pythons()]
    assert "free-threaded" in readme
