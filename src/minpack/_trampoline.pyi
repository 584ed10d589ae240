# Type stub for the C extension built from minpack/_trampoline.c.
from collections.abc import Callable
from typing import Any, final

import numpy as np
from numpy.typing import NDArray

lmdif_fcn: object

def all_finite(x: NDArray[np.float64], /) -> bool: ...

lmder_fcn: object

@final
class Fit:
    error: BaseException | None
    @property
    def pending(self) -> NDArray[np.float64] | None: ...
    def __init__(
        self,
        func: Callable[..., object],
        args: tuple[Any, ...],
        pending: NDArray[np.float64],
        check_residuals: Callable[[object, int], NDArray[np.float64]],
        jac: Callable[..., object] | None = None,
        check_jacobian: Callable[[object, int, int, bool], NDArray[np.float64]] | None = None,
        col_deriv: bool = False,
    ) -> None: ...
    def run(self, routine: Callable[..., Any], *arguments: Any) -> Any: ...
