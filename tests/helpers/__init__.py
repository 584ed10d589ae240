"""What the test modules share; no tests here.

- ``compiled``: compiled callbacks.  The ctypes prototypes of the C signatures leastsq
  takes (with and without user data) and of MINPACK's own Fortran-style callbacks,
  PyCapsules, and tests/compiled/*.c built with the C compiler into one shared library
  and loaded (``Library``; tests/conftest.py's ``lib`` fixture), with the decay model
  those callbacks compute and its data rows.
- ``decay``: the small exponential-decay fit (with and without noise) that many test
  modules use.
- ``problems``: the least-squares test problems (Moré-Garbow-Hillstrom and curve fits)
  that test_scipy_oracle.py compares with SciPy on.
- ``nist_strd``: the NIST StRD nonlinear regression problems: the data files in
  tests/data/nist-strd, the 27 models, fitting and scoring (also scripts/nist_demo.py's).
- ``dask_models``: the models test_dask.py sends to Dask worker processes; it imports
  nothing else from the tests, since the workers import it by name.
- ``fuzz_inputs``: the hostile inputs (scripted callables, hypothesis strategies) of the
  fuzz targets in tests/fuzz.py.
- ``system``: where this machine's MINPACK library files are (libminpack.a and .so), for
  the tests that link or build against them.

Test modules import these as ``helpers.<module>``: pytest puts tests/ on ``sys.path``
(tests/ is no package: its conftest.py and test modules are imported in pytest's default
"prepend" mode).  Code that runs outside pytest puts tests/ there itself: the child
processes of test_interrupt.py and test_memory.py start in tests/, tests/fuzz.py runs as
a script from there, scripts/nist_demo.py inserts it, and test_dask.py uploads this
package (``helpers`` with ``dask_models``) to its Dask workers.
"""
