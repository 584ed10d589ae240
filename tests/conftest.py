"""Fixtures that several test modules share; the helpers they use are in tests/helpers/.

- ``lib``: tests/compiled/callbacks.c and batch_callbacks.c built with the machine's C
  compiler into one shared library and loaded (a ``helpers.compiled.Library``), once per
  test module, so that no module sees another's call counters or static data.  Skips
  without a C compiler.  test_compiled_callbacks.py extends it with its static data.
"""

import pytest
from helpers.compiled import build


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    return build(tmp_path_factory)
