"""The Examples of every public docstring run as doctests, as the API pages show them.

Every name of ``minpack.__all__`` and of ``minpack.dask`` (and the public methods of the
public classes) is collected; an example that does not print what its docstring says
fails here.  Every public function must have an Examples section.
"""

import doctest
import inspect

import pytest

import minpack

dask = pytest.importorskip("minpack.dask")

PUBLIC = {f"minpack.{name}": getattr(minpack, name) for name in minpack.__all__}
PUBLIC |= {
    "minpack.dask.leastsq_batch": dask.leastsq_batch,
    "minpack.dask.DaskBatchResult": dask.DaskBatchResult,
}
FUNCTIONS = {name: obj for name, obj in PUBLIC.items() if inspect.isfunction(obj)}


def _doctests():
    finder = doctest.DocTestFinder(recurse=True, exclude_empty=True)
    tests = []
    for name, obj in PUBLIC.items():
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        for test in finder.find(obj, name, globs={}):
            if test.examples:
                tests.append(test)
    return tests


DOCTESTS = _doctests()


def test_every_public_function_has_examples():
    with_examples = {test.name for test in DOCTESTS}
    missing = sorted(name for name in FUNCTIONS if name not in with_examples)
    assert not missing, f"public functions without an Examples section: {missing}"


@pytest.mark.parametrize("test", DOCTESTS, ids=[test.name for test in DOCTESTS])
def test_docstring_examples_run(test):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    output = []
    runner.run(test, out=output.append)
    assert runner.failures == 0, "".join(output)
