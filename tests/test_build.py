"""How the extension is built: self-contained, MINPACK hidden, arithmetic untouched."""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import minpack
from minpack import _minpack

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="inspects an ELF shared object")


def _tool_output(*command: str) -> str:
    """Run a binutils/libc tool on the extension and return what it printed."""
    if shutil.which(command[0]) is None:
        pytest.fail(f"{command[0]} is needed to inspect the extension (binutils / libc-bin)")
    return subprocess.run(
        [*command, _minpack.__file__], check=True, capture_output=True, text=True
    ).stdout


def test_the_package_has_one_extension():
    package = Path(minpack.__file__).parent
    extensions = sorted(path.name.split(".")[0] for path in package.glob("*.so"))
    assert extensions == ["_minpack"]


@linux_only
def test_extension_needs_nothing_beyond_libc_and_libm():
    needed = [
        line.split()[-1].strip("[]")
        for line in _tool_output("objdump", "-p").splitlines()
        if line.split()[:1] == ["NEEDED"]
    ]
    # ld-linux is glibc's loader, needed for thread-local storage (__tls_get_addr).
    glibc = {"libc.so.6", "libm.so.6"}
    assert all(name in glibc or name.startswith("ld-linux") for name in needed), needed
    # ldd resolves the whole chain; MINPACK and gfortran's runtime must not be in it.
    resolved = _tool_output("ldd")
    assert "minpack" not in resolved
    assert "gfortran" not in resolved


@linux_only
def test_extension_exports_only_the_module_init():
    listing = _tool_output("nm", "-D", "--defined-only")
    assert [line.split()[-1] for line in listing.splitlines()] == ["PyInit__minpack"]


@linux_only
def test_minpack_is_linked_in_statically_and_once():
    symbols = _tool_output("nm").split()
    for routine in ("lmdif_", "lmder_", "lmpar_", "qrfac_", "enorm_"):
        assert symbols.count(routine) == 1, routine


@linux_only
def test_no_fused_multiply_add_anywhere_in_the_extension():
    # FMA contraction would change MINPACK's rounding; neither the netlib objects
    # nor the f2py wrapper may contain an FMA instruction.
    disassembly = _tool_output("objdump", "-d", "--no-show-raw-insn")
    assert "vfmadd" not in disassembly
    assert "vfmsub" not in disassembly
    assert "vfnmadd" not in disassembly


def test_package_imports_and_fits_without_scipy():
    program = textwrap.dedent(
        """
        import sys
        sys.modules["scipy"] = None  # any import of SciPy now fails
        import numpy as np
        from minpack import leastsq
        x, ier = leastsq(lambda p: np.array([p[0] - 3.0, p[1] + 1.0, p[0] * p[1] + 3.0]), [0, 0])
        assert ier in (1, 2, 3, 4), ier
        assert np.allclose(x, [3.0, -1.0]), x
        assert not any(name.startswith("scipy") and sys.modules[name] for name in sys.modules)
        """
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_public_names():
    assert minpack.__all__ == [
        "BatchResult",
        "LeastSquaresResult",
        "OptimizeWarning",
        "ScipyOnMinpack",
        "__version__",
        "capi",
        "capi_address",
        "curve_fit",
        "least_squares",
        "leastsq",
        "leastsq_batch",
        "lmfit_leastsq",
        "show_config",
        "use_in_lmfit",
        "use_in_scipy",
    ]
    assert isinstance(minpack.__version__, str)
    assert minpack.__version__.count(".") == 2


def test_show_config_names_the_minpack_library_and_the_build(capsys):
    minpack.show_config()
    printed = capsys.readouterr().out
    assert "libminpack" in printed
    assert "MINPACK linked" in printed
    assert "-ffp-contract=off" in printed
    assert minpack.__version__ in printed


def test_show_config_names_the_optional_packages_without_importing_them(capsys):
    import importlib.metadata

    minpack.show_config()
    printed = {
        line.split()[0]: line.split(None, 1)[1].strip()
        for line in capsys.readouterr().out.splitlines()
    }
    for name in ("scipy", "numba", "dask", "distributed", "tqdm", "lmfit", "astropy"):
        try:
            expected = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            expected = "not installed"
        assert printed[name] == expected, name
    program = (
        "import sys, minpack, io, contextlib\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    minpack.show_config()\n"
        "print(sorted(n for n in ('scipy', 'numba', 'dask', 'lmfit', 'tqdm') if n in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr
