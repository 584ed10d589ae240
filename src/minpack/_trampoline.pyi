# Type stub for the C extension built from minpack/_trampoline.c.
from collections.abc import Callable
from typing import Any, final

import numpy as np
from numpy.typing import NDArray

lmdif_fcn: object
lmder_fcn: object
capi: dict[str, object]
NONFINITE_AT_X0: int
NONFINITE_JACOBIAN: int

def all_finite(x: NDArray[np.float64], /) -> bool: ...
def magnitudes_within(x: NDArray[np.float64], low: float, high: float, /) -> bool: ...
def enorm(v: NDArray[np.float64], /) -> float: ...
def batch_fit(
    func: tuple[int, int, bool],
    jac: tuple[int, int, bool] | None,
    x: NDArray[np.float64],
    data_address: int,
    data_stride: int,
    start: int,
    stop: int,
    m: int,
    ftol: float,
    xtol: float,
    gtol: float,
    maxfev: int,
    epsfcn: float,
    diag: NDArray[np.float64] | None,
    factor: float,
    info: NDArray[np.intc],
    nfev: NDArray[np.intc],
    njev: NDArray[np.intc],
    fnorm: NDArray[np.float64],
    r: NDArray[np.float64],
    ipvt: NDArray[np.intc],
    stop_flag: NDArray[np.intc],
    /,
) -> int: ...
def capsule_parts(capsule: object, /) -> tuple[int, str | None, int]: ...

@final
class Fit:
    error: BaseException | None
    @property
    def pending(self) -> NDArray[np.float64] | None: ...
    def __init__(
        self,
        n: int,
        func: object,
        args: tuple[Any, ...],
        pending: NDArray[np.float64] | None,
        check_residuals: Callable[[object, int], NDArray[np.float64]],
        jac: object = None,
        check_jacobian: Callable[[object, int, int, bool], NDArray[np.float64]] | None = None,
        col_deriv: bool = False,
        compiled_func: tuple[int, int, bool] | None = None,
        compiled_jac: tuple[int, int, bool] | None = None,
        callback: Callable[[NDArray[np.float64], float, int], object] | None = None,
    ) -> None: ...
    @property
    def stopped_by_callback(self) -> int: ...
    @property
    def verdict(self) -> int: ...
    def run(self, routine: Callable[..., Any], *arguments: Any) -> Any: ...
