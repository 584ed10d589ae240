"""Fit the 27 NIST StRD nonlinear regression problems with minpack.leastsq and score the fits.

Run from anywhere:  python scripts/nist_demo.py

Every problem is fitted from both of NIST's starting points with MINPACK's default settings,
and scored by the log relative error (LRE): how many digits agree with NIST's certified
values (11 = all).  Fits that fall short are then rerun with the settings the tests use.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

# The file reader, the 27 models and the scoring live beside the tests that check them, in
# tests/helpers/nist_strd.py; tests/ is not an installed package, so put it on the import path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers import nist_strd as ns

# A fit "reaches" the certified values when every parameter agrees to this many digits.
GOOD_DIGITS = 6.0
# Below this many digits (or without success) a default fit is rerun with the tests' settings.
RERUN_BELOW = 4.0

HEADER = """\
minpack.leastsq on the NIST StRD nonlinear regression problems (Fortran MINPACK lmdif)
Settings: MINPACK defaults for every fit in the first table -- forward-difference Jacobian,
  ftol = xtol = 1.49012e-08, gtol = 0, maxfev = 200*(n+1), factor = 100, automatic scaling.
Digits = LRE = -log10(|found - certified| / |certified|), capped at 11 (all certified digits);
  'params' and 'std.dev.' give the minimum over the parameters; RSS = residual sum of squares.
"""

COLUMNS = "set       level    start ier  nfev params std.dev.   RSS"
RULE = "-" * len(COLUMNS)


def digits(lre: float) -> str:
    """An LRE rounded down to 0.1: the digits shown are digits reached."""
    return f"{math.floor(lre * 10) / 10:.1f}"


def row(fit: ns.Fit) -> str:
    """One aligned table row for a fit, under `COLUMNS`."""
    dataset = fit.dataset
    return (
        f"{dataset.name:<9} {dataset.difficulty:<8} {fit.start:>5} {fit.ier:>3} {fit.nfev:>5} "
        f"{digits(fit.param_lre.min()):>6} {digits(fit.sd_lre.min()):>8} {digits(fit.ssr_lre):>5}"
    )


def summary(fits: Sequence[ns.Fit], set_count: int) -> str:
    """The line that counts successes and digits reached."""
    converged = sum(fit.converged for fit in fits)
    good = sum(fit.converged and fit.param_lre.min() >= GOOD_DIGITS for fit in fits)
    fair = sum(fit.converged and fit.param_lre.min() >= RERUN_BELOW for fit in fits)
    good_ssr = sum(fit.converged and fit.ssr_lre >= GOOD_DIGITS for fit in fits)
    return (
        f"Summary over {len(fits)} fits of {set_count} sets with the defaults: {converged} report "
        f"success (ier 1-4);\n  every parameter to >= {GOOD_DIGITS:.0f} digits in {good}, "
        f">= {RERUN_BELOW:.0f} digits in {fair}; RSS to >= {GOOD_DIGITS:.0f} digits in {good_ssr}."
    )


def options_text(options: dict[str, object]) -> str:
    """``key=value`` pairs, for the settings column."""
    return ", ".join(f"{key}={value:g}" for key, value in options.items())


def print_reruns(short: Sequence[ns.Fit]) -> None:
    """Refit the pairs the defaults did not solve, with the tests' documented settings."""
    print(
        f"\nFits without success or below {RERUN_BELOW:.0f} digits with the defaults, rerun as"
        f"\ntests/test_nist_strd.py does: {options_text(ns.TIGHT)}, plus the options"
        "\nlisted from nist_strd.EXTRA_OPTIONS, with the reason recorded there.\n"
    )
    print(f"{COLUMNS}  extra options")
    print(f"{RULE}  -------------")
    for fit in short:
        name, start = fit.dataset.name, fit.start
        refit = ns.fit(fit.dataset, start, **ns.accurate_options(name, start))
        extra = ns.EXTRA_OPTIONS.get((name, start))
        print(f"{row(refit)}  {options_text(extra.options) if extra else '-'}")
        if extra is not None:
            print(f"{'':>20}why: {extra.reason}")


def print_side_by_side(dataset: ns.Dataset, start: int) -> None:
    """Certified against found values of one default fit, so real numbers are on show."""
    fit = ns.fit(dataset, start)
    print(f"\n{dataset.name}, start {start}, defaults (ier={fit.ier}): {dataset.model_text}\n")
    values = f"{'certified':>17} {'found':>17} {'digits':>6}"
    sds = f"{'certified sd':>17} {'found sd':>17} {'digits':>6}"
    print(f"{'':<5} {values}   {sds}")
    for k, name in enumerate(dataset.parameter_names):
        print(
            f"{name:<5} {dataset.certified[k]:>17.10E} {fit.params[k]:>17.10E} "
            f"{digits(fit.param_lre[k]):>6}   {dataset.certified_sd[k]:>17.10E} "
            f"{fit.sd[k]:>17.10E} {digits(fit.sd_lre[k]):>6}"
        )
    print(f"{'RSS':<5} {dataset.certified_ssr:>17.10E} {fit.ssr:>17.10E} {digits(fit.ssr_lre):>6}")


def main(names: Sequence[str] = ns.NAMES) -> None:
    """Fit ``names`` (default: all 27 sets) from both starts and print the tables."""
    print(HEADER)
    print(COLUMNS)
    print(RULE)
    fits = []
    for name in names:
        dataset = ns.load(name)
        for start in ns.STARTS:
            fits.append(ns.fit(dataset, start))
            print(row(fits[-1]))
    print(f"\n{summary(fits, len(names))}")
    short = [fit for fit in fits if not fit.converged or fit.param_lre.min() < RERUN_BELOW]
    if short:
        print_reruns(short)
    print_side_by_side(ns.load("Misra1a"), 1)


if __name__ == "__main__":
    main()
