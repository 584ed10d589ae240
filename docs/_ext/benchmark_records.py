"""The Performance page's plots, drawn from the recorded runs in docs/performance/.

``bash benchmarks/record`` writes what each benchmark printed to docs/performance/<name>.txt,
after two header lines (the command; the date and the machine).  These functions read the
tables back from that text, so that the plots show exactly the recorded numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt

RECORDS = Path(__file__).resolve().parent.parent / "performance"
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
# A row of the single-fit tables: a case, minpack's time, SciPy's time, the ratio.
_TIMED_ROW = re.compile(r"^(\S.*?)\s{2,}([\d.]+) (us|ms|s)\s+([\d.]+) (us|ms|s)\s+([\d.]+)$")
# A row of the batch table: a contender, problems, fits/s, the ratio to the C loop.
_BATCH_ROW = re.compile(r"^(\S.*?)\s+(\d+)\s+(\d+)\s+([\d.]+)$")


def recorded(name: str) -> str:
    """Return the recorded output of benchmarks/<name>.py."""
    return (RECORDS / f"{name}.txt").read_text()


def machine_and_date(name: str) -> str:
    """Return the header line with the date and the machine, without its '# '."""
    return recorded(name).splitlines()[1].lstrip("# ")


def _column(name: str, row: re.Pattern[str], group: int) -> list[tuple[str, float]]:
    """Return (the row's name, the number in ``group``) for each line of a table that matches."""
    matches = (row.match(line) for line in recorded(name).splitlines())
    return [(match.group(1), float(match.group(group))) for match in matches if match]


def ratios(name: str) -> list[tuple[str, float]]:
    """Return (case, minpack / SciPy) for each row of a single-fit table."""
    return _column(name, _TIMED_ROW, 6)


def batch_rates(name: str = "bench_batch") -> list[tuple[str, float]]:
    """Return (contender, fits per second) for each row of the batch table."""
    return _column(name, _BATCH_ROW, 3)


def plot_single_fits() -> None:
    """Bars of minpack's time over SciPy's, for leastsq, curve_fit and least_squares."""
    groups = [
        ("leastsq", "bench_leastsq"),
        ("curve_fit", "bench_curve_fit"),
        ("least_squares", "bench_least_squares"),
    ]
    labels, values, colours = [], [], []
    for index, (function, name) in enumerate(groups):
        for case, ratio in ratios(name):
            labels.append(f"{function}: {case}")
            values.append(ratio)
            colours.append(f"C{index}")
    _, ax = plt.subplots(figsize=(8, 0.32 * len(labels) + 1.2))
    positions = range(len(labels))[::-1]
    ax.barh(list(positions), values, color=colours)
    ax.axvline(1.0, color="black", lw=1)
    ax.set_yticks(list(positions), labels, fontsize=8)
    ax.set_xlabel("minpack's time / SciPy's time (below 1: minpack is faster)")
    ax.set_title(f"One fit against SciPy ({machine_and_date('bench_leastsq').split(',')[0]})")
    for position, value in zip(positions, values, strict=True):
        ax.text(value + 0.01, position, f"{value:.2f}", va="center", fontsize=7)


def plot_batches() -> None:
    """Bars of fits per second of every batch contender."""
    rows = batch_rates()
    _, ax = plt.subplots(figsize=(8, 0.32 * len(rows) + 1.2))
    positions = range(len(rows))[::-1]
    colours = [
        "C7" if name.startswith("C loop") else "C1" if "vectorized" in name else
        "C0" if "C residual" in name else "C2"
        for name, _ in rows
    ]  # fmt: skip
    ax.barh(list(positions), [rate for _, rate in rows], color=colours)
    ax.set_yticks(list(positions), [name for name, _ in rows], fontsize=8)
    ax.set_xlabel("fits per second (2 CPUs)")
    ax.set_title("Many fits of a·exp(-b·t) + c, m = 50, n = 3")
    for position, (_, rate) in zip(positions, rows, strict=True):
        ax.text(rate + 2000, position, f"{rate:,.0f}", va="center", fontsize=7)
    ax.set_xlim(0, max(rate for _, rate in rows) * 1.15)
