# Type stub for the extension built from minpack/_minpack.pyf and the C beside it.
from collections.abc import Callable
from typing import Any, final

import numpy as np
from numpy.typing import NDArray

_F = NDArray[np.float64]
_I = NDArray[np.intc]

NONFINITE_AT_X0: int
NONFINITE_JACOBIAN: int
capi: dict[str, object]

# f2py's raw wrappers of MINPACK's routines (the low-level interface).
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

@final
class CompiledCallback:
    def __init__(self, address: int, user_data: int, with_user_data: bool) -> None: ...
    @property
    def address(self) -> int: ...
    @property
    def user_data(self) -> int: ...
    @property
    def with_user_data(self) -> bool: ...

@final
class FitResult:
    x: _F
    fvec: _F
    fjac: _F
    ipvt: _I
    qtf: _F
    cov_x: _F | None
    fnorm: float
    info: int
    nfev: int
    njev: int | None
    stopped_by_callback: bool

def fit(
    func: object,
    jac: object,
    x: _F,
    args: tuple[Any, ...],
    first: list[_F] | None,
    m: int,
    settings: tuple[Any, ...],
    maxfev: int,
    epsfcn: float,
    callback: Callable[[_F, float, int], object] | None,
    full_output: int,
    /,
) -> FitResult: ...
def fit_batch(
    func: object,
    jac: object,
    x: _F,
    rows: _F | None,
    settings: tuple[Any, ...],
    maxfev: int,
    epsfcn: float,
    m: int,
    start: int,
    stop: int,
    outputs: object,
    stop_flag: _I,
    /,
) -> int: ...
def read_compiled(
    callback: object,
    recognised: dict[str | None, bool],
    function_pointer_type: type,
    void_pointer_type: type,
    /,
) -> CompiledCallback | None: ...
def fit_vectorized(
    func: Callable[..., Any],
    jac: Callable[..., Any] | None,
    x: _F,
    data: object,
    args: tuple[Any, ...],
    m: int,
    settings: tuple[Any, ...],
    maxfev: int,
    epsfcn: float,
    start: int,
    stop: int,
    outputs: object,
    stop_flag: _I,
    round: list[Any],
    width: int,
    /,
) -> int: ...
def coroutines_available() -> bool: ...
def central_differences(func: CompiledCallback, x: _F, h: _F, m: int, /) -> _F: ...
def jacobian_of(jac: CompiledCallback, x: _F, m: int, /) -> _F: ...
def all_finite(x: _F, /) -> bool: ...
def magnitudes_within(x: _F, low: float, high: float, /) -> bool: ...
def capsule_parts(capsule: object, /) -> tuple[int, str | None, int]: ...
