"""The NIST StRD nonlinear regression problems: read the files, the 27 models, fit with minpack.

Shared by ``tests/test_nist_strd.py`` and ``scripts/nist_demo.py``.  NIST defines the
residual as ``y - f(b, x)`` and the certified standard deviations as
``sqrt(diag(inv(J.T @ J)) * RSS / (N - P))``; a result is scored by the log relative
error ``LRE = -log10(|found - certified| / |certified|)``, the number of digits that agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

import minpack

FloatArray = npt.NDArray[np.float64]
Model = Callable[[FloatArray, FloatArray], FloatArray]

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "nist-strd"

# NIST's order: lower, average, then higher level of difficulty.
NAMES = (
    "Misra1a", "Chwirut2", "Chwirut1", "Lanczos3", "Gauss1", "Gauss2", "DanWood", "Misra1b",
    "Kirby2", "Hahn1", "Nelson", "MGH17", "Lanczos1", "Lanczos2", "Gauss3", "Misra1c",
    "Misra1d", "Roszman1", "ENSO",
    "MGH09", "Thurber", "BoxBOD", "Rat42", "MGH10", "Eckerle4", "Rat43", "Bennett5",
)  # fmt: skip
STARTS = (1, 2)

# The certified values are printed with 11 significant digits; agreement beyond that
# cannot be measured, so the LRE is capped there.
CERTIFIED_DIGITS = 11.0

SUCCESS_IER = (1, 2, 3, 4)

# --- Settings for reaching the certified digits ----------------------------------------------

# MINPACK's default ftol = xtol = 1.49012e-8 stop once the sum of squares changes by about
# 1e-8 relative, which fixes the parameters to only about sqrt(1e-8) = 1e-4 relative along
# poorly determined directions.  Comparing with 11-digit certified values needs the fit run
# to its numerical end: both tolerances at 1e-15 (a few ulps above machine epsilon).
TIGHT: dict[str, Any] = {"ftol": 1e-15, "xtol": 1e-15}


@dataclass(frozen=True)
class Adjustment:
    """Options beyond `TIGHT` that one (set, start) pair needs, and why (printed by the demo)."""

    options: dict[str, Any]
    reason: str


# The few (set, start) pairs that need more than tight tolerances.
EXTRA_OPTIONS: dict[tuple[str, int], Adjustment] = {
    # From start 1 these crawl along a long curved valley; with the defaults they stop with
    # ier=5 (maxfev = 200*(n+1) = 1000 and 800).
    ("MGH09", 1): Adjustment({"maxfev": 10_000}, "curved valley: ~1800 evaluations > 1000"),
    ("MGH10", 1): Adjustment({"maxfev": 10_000}, "badly scaled valley: ~1000 evaluations > 800"),
    # Bennett5 converges slowly from both starts; from start 2 the defaults stop (ier=1) just
    # before maxfev = 800, the tight tolerances need a few more evaluations than that.
    ("Bennett5", 1): Adjustment({"maxfev": 10_000}, "flat valley: ~3000 evaluations > 800"),
    ("Bennett5", 2): Adjustment({"maxfev": 10_000}, "flat valley: ~810 evaluations > 800"),
    # lmdif's first trial steps send the rates b4, b5 to about -1e9, where the exponentials
    # overflow (NaN residuals); each is rejected and the step bound shrinks until it is below
    # xtol*||x||, which MINPACK reports as convergence (ier=2) at the starting point.  The tight
    # xtol lets it go on; it then needs ~3800 evaluations (default maxfev 1200).
    ("MGH17", 1): Adjustment(
        {"maxfev": 10_000}, "defaults stall at x0 (ier=2); ~3800 evaluations > 1200"
    ),
    # The first step, bounded by factor*||D x0|| with factor = 100, throws b2 from 1 to ~100,
    # onto the plateau where exp(-b2*x) = 0 for every x >= 1: the b2 column of the Jacobian
    # vanishes and MINPACK stops at b1 = mean(y).  factor = 1 keeps the first step short.
    ("BoxBOD", 1): Adjustment({"factor": 1.0}, "factor=100 jumps onto the b2 -> inf plateau"),
}


def accurate_options(name: str, start: int) -> dict[str, Any]:
    """The `TIGHT` tolerances plus the pair's `EXTRA_OPTIONS`, for `fit`."""
    extra = EXTRA_OPTIONS.get((name, start))
    return {**TIGHT, **(extra.options if extra else {})}


@dataclass(frozen=True, eq=False)  # arrays inside: compare fields, not records
class Dataset:
    """One NIST StRD problem as its file states it."""

    name: str
    difficulty: str  # "Lower", "Average" or "Higher"
    model_text: str
    parameter_names: tuple[str, ...]
    start1: FloatArray
    start2: FloatArray
    certified: FloatArray
    certified_sd: FloatArray
    certified_ssr: float
    residual_sd: float
    degrees_of_freedom: int  # as printed; Rat43's "9" is a misprint, see `residual_dof`
    x: FloatArray  # shape (m,) for one predictor, (k, m) for k predictors
    y: FloatArray

    @property
    def residual_dof(self) -> int:
        """N - P, the divisor of NIST's residual variance.

        Not `degrees_of_freedom`: Rat43's file prints 9, but its certified residual
        standard deviation is sqrt(RSS / 11) with N - P = 15 - 4 = 11.
        """
        return self.y.size - len(self.parameter_names)

    def start(self, which: int) -> FloatArray:
        """Return starting point 1 or 2 (a copy)."""
        if which not in STARTS:
            raise ValueError(f"NIST gives starting points 1 and 2, not {which}")
        return (self.start1 if which == 1 else self.start2).copy()


# --- Reading a .dat file ---------------------------------------------------------------


def _line_range(text: str, label: str) -> tuple[int, int]:
    """Return the 0-based slice bounds of "<label> (lines a to b)" from the header."""
    found = re.search(rf"{label}\s*\(lines\s+(\d+)\s+to\s+(\d+)\)", text)
    if found is None:
        raise ValueError(f"no '{label} (lines a to b)' in the header")
    return int(found.group(1)) - 1, int(found.group(2))


def _header_field(text: str, pattern: str) -> str:
    """Return the first group of ``pattern`` in ``text``, or raise naming the pattern."""
    found = re.search(pattern, text)
    if found is None:
        raise ValueError(f"no match for {pattern!r}")
    return found.group(1)


def _labelled_number(lines: list[str], label: str) -> float:
    """Return the number after "<label>:" in the certified-values block."""
    for line in lines:
        if line.strip().startswith(f"{label}:"):
            return float(line.split(":", 1)[1])
    raise ValueError(f"no '{label}:' line among the certified values")


def _model_text(lines: list[str]) -> str:
    """Return the formula: the lines after "N Parameters" and before the start-values table."""
    first = next(i for i, line in enumerate(lines) if line.startswith("Model:"))
    after_count = next(i for i in range(first, len(lines)) if "Parameters" in lines[i]) + 1
    table = next(i for i in range(after_count, len(lines)) if "Starting" in lines[i])
    return " ".join(line.strip() for line in lines[after_count:table] if line.strip())


def _parameter_table(rows: list[str]) -> tuple[tuple[str, ...], FloatArray]:
    """Parse "b1 = start1 start2 certified sd" rows into names and a (n, 4) array."""
    names, values = [], []
    for row in rows:
        name, numbers = row.split("=")
        names.append(name.strip())
        values.append([float(v) for v in numbers.split()])
    return tuple(names), np.array(values)


def read_dataset(path: Path) -> Dataset:
    """Parse one NIST StRD nonlinear regression ``.dat`` file.

    The header's "File Format" section gives the line numbers of the starting values,
    the certified values and the data; they are used rather than fixed offsets.
    """
    text = path.read_text()
    lines = text.splitlines()
    first, last = _line_range(text, "Starting Values")
    names, table = _parameter_table(lines[first:last])
    certified_block = lines[slice(*_line_range(text, "Certified Values"))]
    data = np.array(
        [[float(v) for v in line.split()] for line in lines[slice(*_line_range(text, "Data"))]]
    )
    y, x = data[:, 0], data[:, 1:].T
    dataset = Dataset(
        name=_header_field(text, r"Dataset Name:\s+(\S+)"),
        difficulty=_header_field(text, r"(Lower|Average|Higher) Level of Difficulty"),
        model_text=_model_text(lines),
        parameter_names=names,
        start1=table[:, 0],
        start2=table[:, 1],
        certified=table[:, 2],
        certified_sd=table[:, 3],
        certified_ssr=_labelled_number(certified_block, "Residual Sum of Squares"),
        residual_sd=_labelled_number(certified_block, "Residual Standard Deviation"),
        degrees_of_freedom=int(_labelled_number(certified_block, "Degrees of Freedom")),
        x=x[0] if x.shape[0] == 1 else x,
        y=y,
    )
    observations = int(_labelled_number(certified_block, "Number of Observations"))
    if observations != y.size:
        raise ValueError(f"{path.name}: {y.size} data rows, the header says {observations}")
    return dataset


def load(name: str) -> Dataset:
    """Read the data set called ``name`` (e.g. "Misra1a") from the data folder."""
    return read_dataset(DATA_DIR / f"{name}.dat")


# --- The 27 models, written from the formulas in the files ---------------------------------


def exponential_rise(b: FloatArray, x: FloatArray) -> FloatArray:
    """Misra1a, BoxBOD: y = b1*(1-exp[-b2*x])."""
    # BoxBOD's trial steps can reach b2 < -7 (x goes to 28), where exp overflows: the model
    # is -inf there in floating point, its true sign, and MINPACK rejects the step.
    with np.errstate(over="ignore"):
        return b[0] * (1.0 - np.exp(-b[1] * x))


def chwirut(b: FloatArray, x: FloatArray) -> FloatArray:
    """Chwirut1, Chwirut2: y = exp[-b1*x]/(b2+b3*x)."""
    return np.exp(-b[0] * x) / (b[1] + b[2] * x)


def danwood(b: FloatArray, x: FloatArray) -> FloatArray:
    """DanWood: y = b1*x**b2."""
    return b[0] * x ** b[1]


def enso(b: FloatArray, x: FloatArray) -> FloatArray:
    """ENSO: a constant, the annual cycle and two more cycles of fitted periods b4 and b7."""
    annual, cycle4, cycle7 = 2 * np.pi * x / 12, 2 * np.pi * x / b[3], 2 * np.pi * x / b[6]
    return (
        b[0]
        + b[1] * np.cos(annual) + b[2] * np.sin(annual)
        + b[4] * np.cos(cycle4) + b[5] * np.sin(cycle4)
        + b[7] * np.cos(cycle7) + b[8] * np.sin(cycle7)
    )  # fmt: skip


def eckerle4(b: FloatArray, x: FloatArray) -> FloatArray:
    """Eckerle4: y = (b1/b2) * exp[-0.5*((x-b3)/b2)**2]."""
    return (b[0] / b[1]) * np.exp(-0.5 * ((x - b[2]) / b[1]) ** 2)


def gauss(b: FloatArray, x: FloatArray) -> FloatArray:
    """Gauss1-3: a decaying exponential plus two Gaussian peaks."""
    return (
        b[0] * np.exp(-b[1] * x)
        + b[2] * np.exp(-((x - b[3]) ** 2) / b[4] ** 2)
        + b[5] * np.exp(-((x - b[6]) ** 2) / b[7] ** 2)
    )


def cubic_over_cubic(b: FloatArray, x: FloatArray) -> FloatArray:
    """Hahn1, Thurber: y = (b1+b2*x+b3*x**2+b4*x**3) / (1+b5*x+b6*x**2+b7*x**3)."""
    numerator = b[0] + b[1] * x + b[2] * x**2 + b[3] * x**3
    return numerator / (1.0 + b[4] * x + b[5] * x**2 + b[6] * x**3)


def kirby2(b: FloatArray, x: FloatArray) -> FloatArray:
    """Kirby2: y = (b1 + b2*x + b3*x**2) / (1 + b4*x + b5*x**2)."""
    return (b[0] + b[1] * x + b[2] * x**2) / (1.0 + b[3] * x + b[4] * x**2)


def lanczos(b: FloatArray, x: FloatArray) -> FloatArray:
    """Lanczos1-3: y = b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)."""
    return b[0] * np.exp(-b[1] * x) + b[2] * np.exp(-b[3] * x) + b[4] * np.exp(-b[5] * x)


def mgh09(b: FloatArray, x: FloatArray) -> FloatArray:
    """MGH09: y = b1*(x**2+x*b2) / (x**2+x*b3+b4)."""
    return b[0] * (x**2 + x * b[1]) / (x**2 + x * b[2] + b[3])


def mgh10(b: FloatArray, x: FloatArray) -> FloatArray:
    """MGH10: y = b1 * exp[b2/(x+b3)]."""
    return b[0] * np.exp(b[1] / (x + b[2]))


def mgh17(b: FloatArray, x: FloatArray) -> FloatArray:
    """MGH17: y = b1 + b2*exp[-x*b4] + b3*exp[-x*b5]."""
    # From start 1 lmdif tries steps with large negative rates, where both exponentials
    # overflow and inf - inf gives NaN residuals.  MINPACK sees no reduction of the norm there
    # (every comparison with NaN is false) and rejects the step, shrinking its trust region.
    with np.errstate(over="ignore", invalid="ignore"):
        return b[0] + b[1] * np.exp(-x * b[3]) + b[2] * np.exp(-x * b[4])


def misra1b(b: FloatArray, x: FloatArray) -> FloatArray:
    """Misra1b: y = b1 * (1-(1+b2*x/2)**(-2))."""
    return b[0] * (1.0 - (1.0 + b[1] * x / 2) ** -2)


def misra1c(b: FloatArray, x: FloatArray) -> FloatArray:
    """Misra1c: y = b1 * (1-(1+2*b2*x)**(-.5))."""
    return b[0] * (1.0 - (1.0 + 2 * b[1] * x) ** -0.5)


def misra1d(b: FloatArray, x: FloatArray) -> FloatArray:
    """Misra1d: y = b1*b2*x*((1+b2*x)**(-1))."""
    return b[0] * b[1] * x / (1.0 + b[1] * x)


def nelson(b: FloatArray, x: FloatArray) -> FloatArray:
    """Nelson: log[y] = b1 - b2*x1 * exp[-b3*x2] (the response is log y, see RESPONSES)."""
    x1, x2 = x
    return b[0] - b[1] * x1 * np.exp(-b[2] * x2)


def rat42(b: FloatArray, x: FloatArray) -> FloatArray:
    """Rat42: y = b1 / (1+exp[b2-b3*x])."""
    return b[0] / (1.0 + np.exp(b[1] - b[2] * x))


def rat43(b: FloatArray, x: FloatArray) -> FloatArray:
    """Rat43: y = b1 / ((1+exp[b2-b3*x])**(1/b4))."""
    return b[0] / (1.0 + np.exp(b[1] - b[2] * x)) ** (1.0 / b[3])


def roszman1(b: FloatArray, x: FloatArray) -> FloatArray:
    """Roszman1: y = b1 - b2*x - arctan[b3/(x-b4)]/pi."""
    return b[0] - b[1] * x - np.arctan(b[2] / (x - b[3])) / np.pi


def bennett5(b: FloatArray, x: FloatArray) -> FloatArray:
    """Bennett5: y = b1 * (b2+x)**(-1/b3)."""
    return b[0] * (b[1] + x) ** (-1.0 / b[2])


MODELS: dict[str, Model] = {
    "Misra1a": exponential_rise, "BoxBOD": exponential_rise,
    "Chwirut1": chwirut, "Chwirut2": chwirut,
    "DanWood": danwood, "ENSO": enso, "Eckerle4": eckerle4,
    "Gauss1": gauss, "Gauss2": gauss, "Gauss3": gauss,
    "Hahn1": cubic_over_cubic, "Thurber": cubic_over_cubic, "Kirby2": kirby2,
    "Lanczos1": lanczos, "Lanczos2": lanczos, "Lanczos3": lanczos,
    "MGH09": mgh09, "MGH10": mgh10, "MGH17": mgh17,
    "Misra1b": misra1b, "Misra1c": misra1c, "Misra1d": misra1d,
    "Nelson": nelson, "Rat42": rat42, "Rat43": rat43,
    "Roszman1": roszman1, "Bennett5": bennett5,
}  # fmt: skip

# Nelson's model is stated for log[y]: NIST's residual there is log(y) - f(b, x).
RESPONSES: dict[str, Callable[[FloatArray], FloatArray]] = {"Nelson": np.log}


# --- Analytic Jacobians of the models, df/db with shape (m, n), for a few sets ---------------


def exponential_rise_jacobian(b: FloatArray, x: FloatArray) -> FloatArray:
    """Jacobian of `exponential_rise`."""
    decay = np.exp(-b[1] * x)
    return np.column_stack([1.0 - decay, b[0] * x * decay])


def cubic_over_cubic_jacobian(b: FloatArray, x: FloatArray) -> FloatArray:
    """Jacobian of `cubic_over_cubic`."""
    powers = np.column_stack([np.ones_like(x), x, x**2, x**3])
    numerator = powers @ b[:4]
    denominator = 1.0 + powers[:, 1:] @ b[4:]
    by_numerator = powers / denominator[:, None]
    by_denominator = -powers[:, 1:] * (numerator / denominator**2)[:, None]
    return np.hstack([by_numerator, by_denominator])


def lanczos_jacobian(b: FloatArray, x: FloatArray) -> FloatArray:
    """Jacobian of `lanczos`."""
    columns = []
    for amplitude, rate in ((b[0], b[1]), (b[2], b[3]), (b[4], b[5])):
        decay = np.exp(-rate * x)
        columns += [decay, -amplitude * x * decay]
    return np.column_stack(columns)


def mgh09_jacobian(b: FloatArray, x: FloatArray) -> FloatArray:
    """Jacobian of `mgh09`."""
    numerator = x**2 + x * b[1]
    denominator = x**2 + x * b[2] + b[3]
    by_denominator = -b[0] * numerator / denominator**2
    return np.column_stack(
        [numerator / denominator, b[0] * x / denominator, by_denominator * x, by_denominator]
    )


def mgh10_jacobian(b: FloatArray, x: FloatArray) -> FloatArray:
    """Jacobian of `mgh10`."""
    shifted = x + b[2]
    growth = np.exp(b[1] / shifted)
    return np.column_stack([growth, b[0] * growth / shifted, -b[0] * growth * b[1] / shifted**2])


def eckerle4_jacobian(b: FloatArray, x: FloatArray) -> FloatArray:
    """Jacobian of `eckerle4`."""
    u = (x - b[2]) / b[1]
    peak = np.exp(-0.5 * u**2)
    return np.column_stack(
        [peak / b[1], b[0] * peak * (u**2 - 1.0) / b[1] ** 2, b[0] * peak * u / b[1] ** 2]
    )


def bennett5_jacobian(b: FloatArray, x: FloatArray) -> FloatArray:
    """Jacobian of `bennett5`."""
    base = b[1] + x
    power = base ** (-1.0 / b[2])
    return np.column_stack(
        [power, -b[0] * power / (b[2] * base), b[0] * power * np.log(base) / b[2] ** 2]
    )


JACOBIANS: dict[str, Model] = {
    "Misra1a": exponential_rise_jacobian, "BoxBOD": exponential_rise_jacobian,
    "Hahn1": cubic_over_cubic_jacobian, "Thurber": cubic_over_cubic_jacobian,
    "Lanczos1": lanczos_jacobian, "Lanczos2": lanczos_jacobian, "Lanczos3": lanczos_jacobian,
    "MGH09": mgh09_jacobian, "MGH10": mgh10_jacobian, "Eckerle4": eckerle4_jacobian,
    "Bennett5": bennett5_jacobian,
}  # fmt: skip


# --- Residuals and fitting ------------------------------------------------------------------


def response(dataset: Dataset) -> FloatArray:
    """Return the quantity the model describes: y, or log y for Nelson."""
    transform = RESPONSES.get(dataset.name)
    return dataset.y if transform is None else transform(dataset.y)


def residual(b: FloatArray, dataset: Dataset) -> FloatArray:
    """NIST's residual ``response - f(b, x)``."""
    return response(dataset) - MODELS[dataset.name](b, dataset.x)


def residual_jacobian(b: FloatArray, dataset: Dataset) -> FloatArray:
    """Jacobian of `residual`: minus the model's, shape (m, n)."""
    return -JACOBIANS[dataset.name](b, dataset.x)


def lre(found: npt.ArrayLike, certified: npt.ArrayLike) -> FloatArray:
    """Log relative error: the digits of ``found`` that agree with ``certified``.

    Clipped to [0, `CERTIFIED_DIGITS`]; a NaN estimate has no correct digits.
    """
    found, certified = np.asarray(found, dtype=float), np.asarray(certified, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):  # exact agreement gives -log10(0)
        digits = -np.log10(np.abs(found - certified) / np.abs(certified))
    return np.clip(np.nan_to_num(digits, nan=0.0), 0.0, CERTIFIED_DIGITS)


@dataclass(frozen=True, eq=False)
class Fit:
    """What one `minpack.leastsq` fit found, scored against the certified values."""

    dataset: Dataset
    start: int
    params: FloatArray
    sd: FloatArray  # NaN when leastsq gave no covariance
    ssr: float
    ier: int
    nfev: int
    message: str

    @property
    def converged(self) -> bool:
        """Whether leastsq reported success (ier 1-4)."""
        return self.ier in SUCCESS_IER

    @property
    def param_lre(self) -> FloatArray:
        """LRE of each parameter."""
        return lre(self.params, self.dataset.certified)

    @property
    def sd_lre(self) -> FloatArray:
        """LRE of each standard deviation."""
        return lre(self.sd, self.dataset.certified_sd)

    @property
    def ssr_lre(self) -> float:
        """LRE of the residual sum of squares."""
        return float(lre(self.ssr, self.dataset.certified_ssr))


def standard_deviations(cov_x: FloatArray | None, ssr: float, dataset: Dataset) -> FloatArray:
    """NIST's standard deviations ``sqrt(diag(cov_x) * ssr / (m - n))``, NaN without cov_x."""
    if cov_x is None:
        return np.full(len(dataset.parameter_names), np.nan)
    return np.sqrt(np.diag(cov_x) * ssr / dataset.residual_dof)


def fit(dataset: Dataset, start: int, *, analytic: bool = False, **options: Any) -> Fit:
    """Fit ``dataset`` from starting point ``start`` with `minpack.leastsq`.

    Parameters
    ----------
    dataset : Dataset
        The problem.
    start : {1, 2}
        NIST's starting point.
    analytic : bool, optional
        Pass the analytic Jacobian from `JACOBIANS` as ``Dfun`` (lmder) instead of
        letting MINPACK difference (lmdif).
    **options
        Passed to `minpack.leastsq` (``ftol``, ``xtol``, ``maxfev``, ``diag``, ...).

    Returns
    -------
    Fit
        The estimate, its standard deviations and sum of squares, and leastsq's report.
    """
    dfun = residual_jacobian if analytic else None
    params, cov_x, info, mesg, ier = minpack.leastsq(
        residual, dataset.start(start), args=(dataset,), Dfun=dfun, full_output=True, **options
    )
    ssr = float(np.sum(info["fvec"] ** 2))
    return Fit(
        dataset=dataset,
        start=start,
        params=params,
        sd=standard_deviations(cov_x, ssr, dataset),
        ssr=ssr,
        ier=int(ier),
        nfev=int(info["nfev"]),
        message=mesg,
    )
