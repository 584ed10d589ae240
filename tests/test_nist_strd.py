"""minpack.leastsq on the 27 NIST StRD nonlinear regression problems, against certified values.

Accuracy is counted in LRE digits (see ``nist_strd.lre``): 11 means all certified digits agree.
Every bound below was set from the measured LRE, rounded down with a margin of at least
0.1 digit, and every exception to a common bound says why.  The settings that differ from
MINPACK's defaults are defined, with their reasons, in nist_strd.TIGHT and nist_strd.EXTRA_OPTIONS.
"""

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from helpers import nist_strd as ns

CASES = [
    pytest.param(name, start, id=f"{name}-start{start}") for name in ns.NAMES for start in ns.STARTS
]


@dataclass(frozen=True)
class Digits:
    """Minimum LRE for the parameters, the standard deviations and the sum of squares."""

    params: float
    sd: float
    ssr: float


def assert_digits(fit: ns.Fit, required: Digits) -> None:
    label = f"{fit.dataset.name} start {fit.start}"
    assert fit.param_lre.min() >= required.params, (label, fit.params, fit.param_lre)
    assert fit.sd_lre.min() >= required.sd, (label, fit.sd, fit.sd_lre)
    assert fit.ssr_lre >= required.ssr, (label, fit.ssr, fit.ssr_lre)


def assert_converged(fit: ns.Fit) -> None:
    assert fit.converged, (fit.dataset.name, fit.start, fit.ier, fit.message)


# --- Reading the files and the models -----------------------------------------------------------


def test_data_folder_holds_exactly_the_27_sets():
    assert sorted(path.stem for path in ns.DATA_DIR.glob("*.dat")) == sorted(ns.NAMES)
    assert set(ns.MODELS) == set(ns.NAMES)


def test_reader_takes_header_values_and_data_from_misra1a():
    misra = ns.load("Misra1a")
    assert misra.name == "Misra1a"
    assert misra.difficulty == "Lower"
    assert misra.model_text == "y = b1*(1-exp[-b2*x])  +  e"
    assert misra.parameter_names == ("b1", "b2")
    np.testing.assert_array_equal(misra.start1, [500.0, 0.0001])
    np.testing.assert_array_equal(misra.start2, [250.0, 0.0005])
    np.testing.assert_array_equal(misra.certified, [2.3894212918e02, 5.5015643181e-04])
    np.testing.assert_array_equal(misra.certified_sd, [2.7070075241e00, 7.2668688436e-06])
    assert misra.certified_ssr == 1.2455138894e-01
    assert misra.residual_sd == 1.0187876330e-01
    assert misra.degrees_of_freedom == 12
    assert misra.x.shape == misra.y.shape == (14,)
    assert (misra.y[0], misra.x[0]) == (10.07, 77.6)
    assert (misra.y[-1], misra.x[-1]) == (81.78, 760.0)


def test_reader_keeps_both_predictors_of_nelson():
    nelson = ns.load("Nelson")
    assert nelson.x.shape == (2, 128)
    assert (nelson.y[0], *nelson.x[:, 0]) == (15.0, 1.0, 180.0)
    assert nelson.model_text.startswith("log[y] = b1 - b2*x1")


def test_starting_point_is_a_copy_and_only_1_or_2():
    misra = ns.load("Misra1a")
    misra.start(1)[0] = -1.0
    assert misra.start1[0] == 500.0
    with pytest.raises(ValueError, match="not 3"):
        misra.start(3)


@pytest.mark.parametrize("name", ns.NAMES)
def test_certified_residual_sd_is_sqrt_of_ssr_over_n_minus_p(name):
    dataset = ns.load(name)
    implied = np.sqrt(dataset.certified_ssr / dataset.residual_dof)
    assert ns.lre(implied, dataset.residual_sd) >= 10
    # Rat43's file prints 9 degrees of freedom; its own residual sd says 15 - 4 = 11.
    misprinted = {"Rat43": 9}
    assert dataset.degrees_of_freedom == misprinted.get(name, dataset.residual_dof)


@pytest.mark.parametrize("name", [n for n in ns.NAMES if n != "Lanczos1"])
def test_model_at_certified_values_gives_certified_sum_of_squares(name):
    # Checks each hand-written model formula independently of the optimizer: at the
    # minimum the sum of squares is flat, so 11-digit parameters reproduce ~10 digits of it.
    dataset = ns.load(name)
    ssr = np.sum(ns.residual(dataset.certified, dataset) ** 2)
    assert ns.lre(ssr, dataset.certified_ssr) >= 9.5


def test_lanczos1_model_fits_its_exact_data_at_certified_values():
    # Lanczos1's data are the model's values to 13 digits: the certified RSS (1.4e-25) is
    # smaller than what rounding the parameters to 11 digits does to the residuals, so only
    # check that those residuals are that small (~1e-11, against y of order 0.01 to 2.5).
    dataset = ns.load("Lanczos1")
    assert np.sum(ns.residual(dataset.certified, dataset) ** 2) < 1e-19


@pytest.mark.parametrize("name", sorted(ns.JACOBIANS))
def test_analytic_jacobian_matches_complex_step_derivative(name):
    # The models are analytic in b, so the complex step Im f(b + ih e_k) / h gives df/db_k
    # without cancellation error, accurate even near Thurber's poles, where differences fail.
    dataset = ns.load(name)
    model = ns.MODELS[name]
    h = 1e-30
    for b in (dataset.start1, dataset.start2, dataset.certified):
        expected = np.column_stack(
            [model(b + 1j * h * unit, dataset.x).imag / h for unit in np.eye(b.size)]
        )
        # Columns scaled to 1: entries that cancel to ~0 (Eckerle4 where x - b3 = b2 exactly)
        # are judged against their column's size, through atol.
        scale = np.abs(expected).max(axis=0)
        np.testing.assert_allclose(
            ns.JACOBIANS[name](b, dataset.x) / scale, expected / scale, rtol=1e-12, atol=1e-12
        )


def test_lre_counts_agreeing_digits_and_caps_at_eleven():
    assert ns.lre(1.0, 1.0) == 11.0
    assert ns.lre(1.01, 1.0) == pytest.approx(2.0)
    assert ns.lre(-1.0001, -1.0) == pytest.approx(4.0)
    assert ns.lre(5.0, 1.0) == 0.0  # worse than one digit counts as none
    assert ns.lre(np.nan, 1.0) == 0.0  # no estimate, no digits


# --- Fits with the finite-difference Jacobian (lmdif) ---------------------------------------------

# Required LRE for the lmdif fits run with `ns.accurate_options` (tight tolerances).
LMDIF_DIGITS = Digits(params=6, sd=5, ssr=10)
LMDIF_DIGITS_BY_SET = {
    # Lanczos1's data are the model's exact values to 13 digits, so its certified RSS, 1.4e-25,
    # is the size of double-precision round-off in the residuals: RSS, and the standard
    # deviations that scale with sqrt(RSS), keep only ~3 digits (measured 2.6-3.0).
    "Lanczos1": Digits(params=10, sd=2.5, ssr=2),
    # Three nearly dependent exponentials with non-zero residuals: the forward-difference
    # Jacobian's truncation error, times the residual, moves the point where lmdif's iteration
    # stands still (measured 5.6 / 4.0 / 8.1 from start 2).  With the analytic Jacobian lmder
    # gets 10 digits (see LMDER_DIGITS).
    "Lanczos2": Digits(params=5, sd=3.5, ssr=7.5),
    # Same cause (measured 5.0 / 4.4 / 9.9 from start 2); see also LMDER_DIGITS_BY_SET.
    "Lanczos3": Digits(params=4.5, sd=4, ssr=9.5),
    # Same cause (measured 5.2 / 4.9); lmder with the analytic Jacobian gets all 11 digits.
    "Bennett5": Digits(params=5, sd=4.5, ssr=10),
    # Nelson's b2 = 5.6e-9 and ENSO's b8 = 0.21 are smaller than their own standard deviations
    # (6.1e-9 and 0.51): the data barely determine them, so they carry fewer relative digits
    # (measured 6.1 both).
    "Nelson": Digits(params=5.5, sd=5, ssr=10),
    "ENSO": Digits(params=5.5, sd=5, ssr=10),
}


@pytest.mark.parametrize(("name", "start"), CASES)
def test_fit_reaches_certified_values(name, start):
    fit = ns.fit(ns.load(name), start, **ns.accurate_options(name, start))
    assert_converged(fit)
    assert_digits(fit, LMDIF_DIGITS_BY_SET.get(name, LMDIF_DIGITS))


# --- What MINPACK's defaults (ftol = xtol = 1.49012e-8, factor = 100) give ------------------------

# The pairs where the defaults do not reach the solution; each has its own test below.
DEFAULTS_FALL_SHORT = {("MGH09", 1), ("MGH10", 1), ("Bennett5", 1), ("MGH17", 1), ("BoxBOD", 1)}
# ftol = 1.5e-8 pins the sum of squares to ~8 digits and so the parameters to ~4.
DEFAULT_DIGITS = Digits(params=4, sd=3, ssr=8)
DEFAULT_DIGITS_BY_SET = {
    "Lanczos1": Digits(params=4, sd=3, ssr=2.5),  # RSS at round-off level, see LMDIF_DIGITS_BY_SET
    "Lanczos2": Digits(params=4, sd=3, ssr=7.5),  # measured 8.1 from start 2, see above
    # Parameters barely larger than their standard deviations (see LMDIF_DIGITS_BY_SET):
    "ENSO": Digits(params=2.5, sd=3, ssr=8),  # b8 = 0.21 +- 0.51: measured 3.1
    "MGH09": Digits(params=3.5, sd=3, ssr=8),  # b2 = 0.19 +- 0.20: measured 3.99
}


@pytest.mark.parametrize(
    ("name", "start"),
    [case for case in CASES if tuple(case.values) not in DEFAULTS_FALL_SHORT],
)
def test_defaults_reach_about_four_digits(name, start):
    fit = ns.fit(ns.load(name), start)
    assert_converged(fit)
    assert_digits(fit, DEFAULT_DIGITS_BY_SET.get(name, DEFAULT_DIGITS))


@pytest.mark.parametrize("name", ["MGH09", "MGH10", "Bennett5"])
def test_defaults_run_out_of_evaluations_in_slow_valleys_from_start1(name):
    dataset = ns.load(name)
    fit = ns.fit(dataset, 1)
    assert fit.ier == 5  # maxfev reached; EXTRA_OPTIONS raises maxfev for these
    assert fit.nfev >= 200 * (len(dataset.certified) + 1)
    assert np.all(np.isnan(fit.sd))  # leastsq gives no covariance for a failed fit
    assert fit.ssr > 1.1 * dataset.certified_ssr


def test_defaults_stall_at_mgh17_start1():
    # lmdif's first trial steps send the rates b4, b5 to about -1e9, where the exponentials
    # overflow and the residuals are NaN; each is rejected and the step bound shrinks until it
    # is below xtol*||x||, which MINPACK reports as convergence (ier=2) at the starting point.
    dataset = ns.load("MGH17")
    fit = ns.fit(dataset, 1)
    assert fit.ier == 2
    np.testing.assert_array_equal(fit.params, dataset.start1)
    assert fit.param_lre.max() < 1


def test_defaults_land_on_boxbod_plateau_from_start1():
    # The first step (bound factor*||D x0||, factor=100) throws b2 to ~100: exp(-b2*x) is 0 for
    # all x >= 1, the model is the constant b1, whose best value is mean(y); the b2 column of
    # the Jacobian vanishes, so there is no covariance.  factor=1 avoids this (EXTRA_OPTIONS).
    dataset = ns.load("BoxBOD")
    fit = ns.fit(dataset, 1)
    assert fit.ier == 3
    assert fit.params[0] == pytest.approx(dataset.y.mean(), rel=1e-8)
    assert fit.params[1] > 50
    assert fit.ssr == pytest.approx(np.sum((dataset.y - dataset.y.mean()) ** 2), rel=1e-12)
    assert np.all(np.isnan(fit.sd))


# --- Fits with analytic Jacobians (lmder) ---------------------------------------------------------

LMDER_DIGITS = Digits(params=7, sd=6.5, ssr=10)
LMDER_DIGITS_BY_SET = {
    "Lanczos1": Digits(params=10, sd=2.5, ssr=2),  # RSS at round-off level, see above
    # Lanczos2's RSS, 2.2e-11, is a sum of residuals ~1e-6 taken from y ~ 1: evaluating them
    # in double precision leaves ~10 digits of it (measured 10.0 and 10.1; the RSS at the
    # certified parameters themselves agrees to 10.0 digits).
    "Lanczos2": Digits(params=7, sd=6.5, ssr=9.5),
    # From start 2 lmder stops 6.4 digits from the certified b1 = 0.087 (sd 0.017) with a sum
    # of squares 3e-11 relative *below* the certified one: converting Lanczos3's 5-digit data
    # to binary changes the RSS by that much, and the valley is flat enough that this moves
    # the best parameters in the 6th-7th digit.
    "Lanczos3": Digits(params=6, sd=6, ssr=10),
}


@pytest.mark.parametrize(
    ("name", "start"), [case for case in CASES if case.values[0] in ns.JACOBIANS]
)
def test_analytic_jacobian_fit_reaches_certified_values_and_agrees_with_lmdif(name, start):
    dataset = ns.load(name)
    options = ns.accurate_options(name, start)
    analytic = ns.fit(dataset, start, analytic=True, **options)
    differenced = ns.fit(dataset, start, **options)
    assert_converged(analytic)
    assert_digits(analytic, LMDER_DIGITS_BY_SET.get(name, LMDER_DIGITS))
    # Both are within d digits of the certified values, so within d - log10(2) of each other.
    agreement = LMDIF_DIGITS_BY_SET.get(name, LMDIF_DIGITS).params - np.log10(2)
    assert ns.lre(differenced.params, analytic.params).min() >= agreement


# --- The demonstration ---------------------------------------------------------------------------


def _load_demo():
    path = Path(__file__).resolve().parent.parent / "scripts" / "nist_demo.py"
    spec = importlib.util.spec_from_file_location("nist_demo", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_prints_a_row_per_fit_and_a_summary(capsys):
    _load_demo().main(["Misra1a", "BoxBOD"])
    table, after = capsys.readouterr().out.split("Summary over", 1)
    rows = [line.split() for line in table.splitlines() if line.startswith(("Misra1a", "BoxBOD"))]
    # (set, start, ier) in order
    assert [tuple(row[i] for i in (0, 2, 3)) for row in rows] == [
        ("Misra1a", "1", "1"), ("Misra1a", "2", "1"), ("BoxBOD", "1", "3"), ("BoxBOD", "2", "1")
    ]  # fmt: skip
    assert after.startswith(" 4 fits of 2 sets with the defaults: 4 report success")
    # BoxBOD start 1 lands on the plateau with the defaults, so it is rerun with factor=1.
    assert "factor=1" in after
    assert "2.3894212918E+02" in after  # Misra1a's certified b1, in the side-by-side listing
