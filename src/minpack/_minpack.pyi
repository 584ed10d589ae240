# Type stub for the f2py extension built from minpack/_minpack.pyf.
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

_F = NDArray[np.float64]
_I = NDArray[np.intc]

def lmdif(
    fcn: Callable[[_F, _F, int], int | None] | object,
    m: int,
    x: _F,
    ftol: float,
    xtol: float,
    gtol: float,
    maxfev: int,
    epsfcn: float,
    diag: _F,
    mode: int,
    factor: float,
    nprint: int,
) -> tuple[_F, _F, int, int, _F, _I, _F]: ...
def lmder(
    fcn: Callable[[_F, _F, _F, int], int | None] | object,
    m: int,
    x: _F,
    ftol: float,
    xtol: float,
    gtol: float,
    maxfev: int,
    diag: _F,
    mode: int,
    factor: float,
    nprint: int,
) -> tuple[_F, _F, _F, int, int, int, _I, _F]: ...

# The same, with the GIL released during the MINPACK run (compiled callbacks only).
lmdif_nogil = lmdif
lmder_nogil = lmder
