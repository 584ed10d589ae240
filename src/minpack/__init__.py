"""SciPy's ``leastsq`` on the original Fortran MINPACK ``lmdif`` and ``lmder``."""

from minpack._batch import BatchResult, leastsq_batch
from minpack._capi import capi, capi_address
from minpack._config import show_config
from minpack._curve_fit import OptimizeWarning, curve_fit
from minpack._least_squares import LeastSquaresResult, least_squares
from minpack._leastsq import leastsq
from minpack._lmfit import lmfit_leastsq, use_in_lmfit
from minpack._scipy import ScipyOnMinpack, use_in_scipy
from minpack._version import __version__

__all__ = [
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
