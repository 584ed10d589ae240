# Sourced by scripts/setup, scripts/test and scripts/wheel: the CPython versions this
# package supports, and how to find an interpreter for each on this machine.
#
# SUPPORTED_PYTHONS is the one list; tests/test_packaging.py checks that pyproject.toml's
# requires-python and classifiers say the same.  The first entry is the oldest: the
# linters run on it, and its wheel is tested against the NumPy floor.
SUPPORTED_PYTHONS=(3.11 3.12 3.13)

# python_identity PATH: print "X.Y EXECUTABLE" for a working standard (GIL) CPython,
# EXECUTABLE being the interpreter itself rather than a shim or link; else nothing.
python_identity() {
  "$1" -c '
import platform, sys, sysconfig
if platform.python_implementation() == "CPython" and not sysconfig.get_config_var("Py_GIL_DISABLED"):
    print("%d.%d" % sys.version_info[:2], sys.executable)
' 2>/dev/null || true
}

# find_python X.Y: print the path of a CPython X.Y, looked for in this order:
#   $PYTHON (when it is X.Y), python3 and pythonX.Y on PATH, then pyenv's installed
#   X.Y.* versions (newest first) when pyenv is there.  pyenv's shims on PATH answer
#   only for the versions pyenv has activated, so each candidate is run, not trusted.
# Fails, naming the version and what was tried, when there is none.
find_python() {
  local want=$1 candidate path identity tried=() candidates=()
  [ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
  candidates+=(python3 "python$want")
  if command -v pyenv >/dev/null 2>&1; then
    local root version
    root=$(pyenv root)
    while read -r version; do
      candidates+=("$root/versions/$version/bin/python$want")
    done < <(pyenv versions --bare 2>/dev/null | grep -E "^${want//./\\.}(\.[0-9]+)?$" | sort -rV)
  else
    tried+=("pyenv (not installed)")
  fi
  for candidate in "${candidates[@]}"; do
    path=$(command -v "$candidate" 2>/dev/null) || { tried+=("$candidate (not found)"); continue; }
    identity=$(python_identity "$path")
    if [ "${identity%% *}" = "$want" ]; then
      echo "${identity#* }"
      return 0
    fi
    if [ -n "$identity" ]; then
      tried+=("$candidate (is ${identity%% *})")
    else
      tried+=("$candidate (not a working standard CPython)")
    fi
  done
  {
    echo "no CPython $want found; tried: ${tried[*]}"
    echo "install it (e.g. 'pyenv install $want', or your distribution's python$want with"
    echo "its venv and dev packages), or point PYTHON at it"
  } >&2
  return 1
}
