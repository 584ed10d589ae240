"""Where this machine's MINPACK library files are, found as the build finds them.

``find_libminpack`` asks the C compiler first, as minpack/meson.build does
(``cc -print-file-name=libminpack.a``, which prints the bare name back when the file is
not in the compiler's search path), then Debian's minpack-dev package (``dpkg -L``).
It returns None when neither knows the file, so that a test that needs it skips (or
fails) as it says.
"""

import functools
import os
import shlex
import shutil
import subprocess
from pathlib import Path


@functools.cache
def find_libminpack(file_name="libminpack.a"):
    """The path of MINPACK's ``file_name`` (libminpack.a or libminpack.so), or None."""
    compiler = shlex.split(os.environ.get("CC", "cc"))
    if compiler and shutil.which(compiler[0]) is not None:
        printed = subprocess.run(
            [*compiler, f"-print-file-name={file_name}"],
            capture_output=True, text=True, check=False,
        ).stdout.strip()  # fmt: skip
        found = Path(printed)
        if found.is_absolute() and found.is_file():
            # gcc prints .../gcc/<triplet>/<version>/../../../<triplet>/libminpack.a:
            # the directory resolved, the file's own name kept (libminpack.so is a symlink).
            return found.parent.resolve() / found.name
    if shutil.which("dpkg") is not None:
        listing = subprocess.run(
            ["dpkg", "-L", "minpack-dev"], capture_output=True, text=True, check=False
        ).stdout.split()
        for line in listing:
            path = Path(line)
            if path.name == file_name and path.is_file():
                return path
    return None
