"""minpack.dask: leastsq_batch on Dask arrays, threaded and on a cluster of two processes.

Every fit must equal ``minpack.leastsq_batch``'s bit for bit, whatever the chunks and the
scheduler.  The cluster is a ``distributed.LocalCluster`` of two worker processes on
127.0.0.1 (no dashboard), started once for the module.  Its workers import the models by
name from tests/helpers/dask_models.py (module ``helpers.dask_models``), which the fixture
sends them in a zip of the package, as ``client.upload_file`` sends a file to a remote
cluster (spawned workers also inherit this process's ``sys.path``, but an upload does not
depend on pytest's import mode).  The client is not made the default one, so the other
tests run on Dask's default threaded scheduler.
"""

import importlib
import subprocess
import sys
import textwrap
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import dask_models as models

import minpack

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
mdask = importlib.import_module("minpack.dask")  # an error, not a skip, if not installed

K = 60
DATA = models.problems(K)
CANNOT_SEND = "cannot be sent to the worker processes of this Dask scheduler"


def bits(array):
    return np.asarray(array, dtype=np.float64).view(np.uint64)


def assert_same_fits(got, expected):
    """Two BatchResults are identical: every float bit, every count, dtype and message."""
    for name in ("x", "fnorm", "cov_x"):
        np.testing.assert_array_equal(bits(getattr(got, name)), bits(getattr(expected, name)))
    for name in ("ier", "nfev", "njev", "success"):
        value, reference = getattr(got, name), getattr(expected, name)
        if reference is None:
            assert value is None, name
        else:
            assert value.dtype == reference.dtype, name
            np.testing.assert_array_equal(value, reference, err_msg=name)
    assert got.settings.ftol == expected.settings.ftol
    assert got.maxfev == expected.maxfev
    assert [got.message(i) for i in range(9)] == [expected.message(i) for i in range(9)]


def helpers_zip(directory):
    """The package of helpers.dask_models as a zip: helpers/__init__.py and dask_models.py."""
    path = directory / "helpers.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for module in (Path(models.__file__).with_name("__init__.py"), Path(models.__file__)):
            archive.write(module, f"helpers/{module.name}")
    return path


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """A client of two single-threaded worker processes on loopback, closed afterwards."""
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):  # fmt: skip
        # What client.upload_file does for the workers, without its scheduler half: the
        # scheduler runs in this process, and would put the zip first on its sys.path and
        # import helpers from there.  Each worker puts the zip first on its sys.path.
        client.register_plugin(
            distributed.UploadFile(str(helpers_zip(tmp_path_factory.mktemp("dask"))))
        )
        yield client


# ---- the threaded scheduler (Dask's default) -------------------------------------------


@pytest.mark.parametrize("chunks", [K, (10, 25, 1, 14, 10)], ids=["one-chunk", "five-chunks"])
@pytest.mark.parametrize("shared_x0", [True, False], ids=["shared-x0", "x0-per-problem"])
def test_threaded_equals_leastsq_batch(chunks, shared_x0):
    starts = models.X0 + np.linspace(0.0, 0.5, K)[:, np.newaxis]
    x0 = models.X0 if shared_x0 else starts
    expected = minpack.leastsq_batch(models.decay, x0, DATA)
    x0 = models.X0 if shared_x0 else da.from_array(starts, chunks=(7, 3))  # chunked unlike data
    fits = mdask.leastsq_batch(models.decay, x0, da.from_array(DATA, chunks=(chunks, -1)))

    assert isinstance(fits.x, da.Array)
    assert (fits.x.shape, fits.cov_x.shape, fits.ier.shape) == ((K, 3), (K, 3, 3), (K,))
    assert (fits.ier.dtype, fits.success.dtype, fits.njev) == (np.intc, np.bool_, None)
    # One task per chunk of the finest chunking along K that both inputs' chunks divide.
    boundaries = {*np.cumsum(da.from_array(DATA, chunks=(chunks, -1)).chunks[0]).tolist()}
    if not shared_x0:
        boundaries |= {*np.cumsum(x0.chunks[0]).tolist()}
    assert fits.x.chunks[0] == tuple(np.diff([0, *sorted(boundaries)]).tolist())
    got = fits.compute()
    assert isinstance(got, minpack.BatchResult)
    assert_same_fits(got, expected)
    assert got.success.all()
    np.testing.assert_array_equal(bits(fits.x.compute()), bits(expected.x))
    assert fits.message(1) == expected.message(1)


def test_threaded_with_dfun_and_options():
    options = {"ftol": 1e-10, "maxfev": 7, "diag": [1.0, 2.0, 1.0], "col_deriv": False}
    expected = minpack.leastsq_batch(models.decay, models.X0, DATA, Dfun=models.decay_jacobian,
                                     **options)  # fmt: skip
    fits = mdask.leastsq_batch(
        models.decay, models.X0, da.from_array(DATA, chunks=(16, -1)),
        Dfun=models.decay_jacobian, **options,
    )  # fmt: skip
    got = fits.compute()
    assert_same_fits(got, expected)
    assert got.njev is not None and (got.ier == 5).any()  # maxfev = 7 stops some fits


def test_other_axes_become_one_chunk_and_numpy_inputs_work():
    stack = DATA.reshape(K, 2, models.M)  # t and y as rows of a 2-D datum

    def decay(p, datum):
        return models.decay(p, datum.reshape(-1))

    expected = minpack.leastsq_batch(decay, models.X0, stack)
    assert_same_fits(
        mdask.leastsq_batch(decay, models.X0, da.from_array(stack, chunks=(9, 1, 7))).compute(),
        expected,
    )
    assert_same_fits(mdask.leastsq_batch(decay, models.X0, stack).compute(), expected)


def test_no_data_and_persist():
    def rosenbrock(x):
        return np.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])

    starts = np.random.default_rng(1).uniform(-2.0, 2.0, (20, 2))
    expected = minpack.leastsq_batch(rosenbrock, starts)
    fits = mdask.leastsq_batch(rosenbrock, da.from_array(starts, chunks=6)).persist()
    assert_same_fits(fits.compute(), expected)


def test_compiled_callbacks_run_on_the_threaded_scheduler():
    """Nothing is pickled: a ctypes pointer (which cannot be) works as well as the cfunc."""
    if models.decay_cfunc is None:
        pytest.skip("needs numba")
    expected = minpack.leastsq_batch(models.decay, models.X0, DATA)
    chunked = da.from_array(DATA, chunks=(13, -1))
    for func in (models.decay_cfunc, models.decay_cfunc.ctypes):
        got = mdask.leastsq_batch(func, models.X0, chunked, m=models.M, workers=2).compute()
        assert_same_fits(got, minpack.leastsq_batch(func, models.X0, DATA, m=models.M))
        np.testing.assert_allclose(got.x, expected.x, rtol=1e-6, atol=1e-6)  # the same model


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: mdask.leastsq_batch(models.decay, models.X0), TypeError, "x0 must be"),
        (lambda: mdask.leastsq_batch(models.decay, np.ones((3, 2, 2)), DATA), TypeError, "x0 "),
        (lambda: mdask.leastsq_batch(models.decay, np.ones((K + 1, 3)), DATA), ValueError, "rows"),
        (lambda: mdask.leastsq_batch(models.decay, [], DATA), TypeError, "x0 is empty"),
        (lambda: mdask.leastsq_batch(models.decay, models.X0, DATA, ftol="x"), TypeError, "ftol"),
        (lambda: mdask.leastsq_batch(models.decay, models.X0, DATA, workers=0), TypeError, "work"),
        (lambda: mdask.leastsq_batch(models.decay, models.X0, DATA, diag=[1.0]), ValueError, "di"),
        (lambda: mdask.leastsq_batch(models.decay_cfunc, models.X0, DATA), TypeError, "m"),
    ],
)
def test_argument_errors_before_any_computing(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_func_errors_are_raised_at_compute():
    def fails(p, row):
        raise ZeroDivisionError("from func")

    fits = mdask.leastsq_batch(fails, models.X0, da.from_array(DATA, chunks=(20, -1)))
    with pytest.raises(ZeroDivisionError, match="from func"):
        fits.compute()


# ---- a LocalCluster of two worker processes --------------------------------------------


def test_cluster_module_function_equals_leastsq_batch(client):
    expected = minpack.leastsq_batch(models.decay, models.X0, DATA, Dfun=models.decay_jacobian)
    chunked = da.from_array(DATA, chunks=(8, -1))
    with client.as_current():
        fits = mdask.leastsq_batch(models.decay, models.X0, chunked, Dfun=models.decay_jacobian)
        got = fits.compute()
    assert_same_fits(got, expected)
    assert_same_fits(fits.compute(scheduler=client), expected)  # built once, sent again


def test_cluster_runs_in_both_worker_processes(client):
    def pid(p, row):
        import os

        return np.full(models.M, float(os.getpid()))  # constant residuals: one evaluation

    pids = mdask.leastsq_batch(pid, models.X0, da.from_array(DATA, chunks=(1, -1)))
    seen = set(np.round(pids.fnorm.compute(scheduler=client) / np.sqrt(models.M)))
    assert seen == set(client.run(lambda: float(__import__("os").getpid())).values())


def test_cluster_lambda_travels_by_value(client):
    expected = minpack.leastsq_batch(models.decay, models.X0, DATA)
    fits = mdask.leastsq_batch(lambda p, row: models.decay(p, row), models.X0,
                               da.from_array(DATA, chunks=(30, -1)))  # fmt: skip
    assert_same_fits(fits.compute(scheduler=client), expected)


def test_cluster_compiled_function_of_an_importable_module(client):
    """A numba cfunc cannot be pickled; module-level, it travels by name and is rebuilt."""
    if models.decay_cfunc is None:
        pytest.skip("needs numba")
    expected = minpack.leastsq_batch(models.decay_cfunc, models.X0, DATA, m=models.M)
    chunked = da.from_array(DATA, chunks=(15, -1))
    with client.as_current():
        fits = mdask.leastsq_batch(models.decay_cfunc, models.X0, chunked, m=models.M)
    assert_same_fits(fits.compute(scheduler=client), expected)


def unshippable_callbacks():
    """Compiled callbacks that no module holds at module level, by the kind named."""
    scipy = pytest.importorskip("scipy")
    pointer = models.decay_cfunc.ctypes  # an attribute of the cfunc, not of a module
    return [
        ("ctypes function pointer", pointer),
        ("scipy.LowLevelCallable", scipy.LowLevelCallable(pointer)),
        ("numba cfunc", models.compile_decay()),  # as if made in a function or a notebook
    ]


@pytest.mark.parametrize("when", ["at-the-call", "at-compute"])
def test_cluster_clear_error_for_compiled_code_no_module_holds(client, when):
    if models.decay_cfunc is None:
        pytest.skip("needs numba")
    callbacks = unshippable_callbacks()
    chunked = da.from_array(DATA, chunks=(30, -1))
    for kind, func in callbacks:
        message = f"func {CANNOT_SEND}.*compiled code \\(a {kind}\\)"
        if when == "at-the-call":
            with client.as_current(), pytest.raises(TypeError, match=message):
                mdask.leastsq_batch(func, models.X0, chunked, m=models.M)
        else:  # built under the threaded scheduler: the tasks raise it in the workers
            fits = mdask.leastsq_batch(func, models.X0, chunked, m=models.M)
            with pytest.raises(TypeError, match=message):
                fits.compute(scheduler=client)


class Locked:
    """A callable that cannot be pickled: it holds a lock."""

    def __init__(self, function):
        self.function = function
        self.lock = threading.Lock()

    def __call__(self, p, row):
        return self.function(p, row)


@pytest.mark.parametrize("what", ["func", "Dfun", "args"])
def test_cluster_clear_error_for_what_cannot_be_pickled(client, what):
    func = Locked(models.decay) if what == "func" else models.decay
    dfun = Locked(models.decay_jacobian) if what == "Dfun" else None
    args = ()
    if what == "args":
        args = (threading.Lock(),)
        func = lambda p, row, lock: models.decay(p, row)  # noqa: E731
    chunked = da.from_array(DATA, chunks=(30, -1))
    with client.as_current(), pytest.raises(TypeError, match=f"{what} {CANNOT_SEND}.*lock"):
        mdask.leastsq_batch(func, models.X0, chunked, args=args, Dfun=dfun)
    # The threaded scheduler sends nothing: all of them work there.
    expected = minpack.leastsq_batch(func, models.X0, DATA, args=args, Dfun=dfun)
    got = mdask.leastsq_batch(func, models.X0, chunked, args=args, Dfun=dfun).compute()
    assert_same_fits(got, expected)


def test_cluster_import_error_when_workers_cannot_import_the_module(client, tmp_path, monkeypatch):
    (tmp_path / "only_here.py").write_text(
        "from helpers.dask_models import decay\n\n"
        "def residuals(p, row):\n    return decay(p, row)\n"
    )
    monkeypatch.syspath_prepend(tmp_path)  # here only: the workers started before
    only_here = importlib.import_module("only_here")
    try:
        fits = mdask.leastsq_batch(only_here.residuals, models.X0, da.from_array(DATA, chunks=30))
        message = "cannot load func \\(residuals\\): No module named 'only_here'"
        with pytest.raises(ImportError, match=message):
            fits.compute(scheduler=client)
    finally:
        del sys.modules["only_here"]


# ---- imports ---------------------------------------------------------------------------


def run_python(program):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(program)], capture_output=True, text=True
    )


def test_importing_minpack_does_not_import_dask():
    result = run_python(
        """
        import sys
        import minpack
        minpack.leastsq_batch(lambda x: x - 1.0, [[0.0], [2.0]])
        loaded = [name for name in sys.modules
                  if name.split(".")[0] in ("dask", "distributed", "cloudpickle")]
        assert not loaded and "minpack.dask" not in sys.modules, loaded
        """
    )
    assert result.returncode == 0, result.stderr


def test_importing_minpack_dask_without_dask_says_what_to_install():
    result = run_python(
        """
        import sys
        sys.modules["dask"] = None  # as if Dask were not installed
        try:
            import minpack.dask
        except ImportError as error:
            print(error)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "minpack.dask needs Dask" in result.stdout
    assert "pip install minpack[dask]" in result.stdout
