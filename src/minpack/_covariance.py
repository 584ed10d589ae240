"""The covariance estimate ``cov_x`` from MINPACK's QR factorisation."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from minpack._trampoline import magnitudes_within

# Entries of inv(R) below this cannot overflow P inv(R) inv(R).T P.T: each product is below
# 1e296, and a sum of n <= 46340 of them (m*n < 2**31 with m >= n) below 1e301.  Checking
# for it in C is cheaper than NumPy's errstate, which only the rare larger R then needs.
NO_OVERFLOW = 1e148


@lru_cache(maxsize=32)
def upper_triangle(n: int) -> NDArray[np.bool_]:
    """Return the (cached, read-only) mask of an n-by-n upper triangle."""
    mask = np.triu(np.ones((n, n), dtype=bool))
    mask.flags.writeable = False
    return mask


def covariance_from_qr(
    fjac: NDArray[np.float64], ipvt: NDArray[np.intc]
) -> NDArray[np.float64] | None:
    """Return ``inv(J.T @ J)`` from lmdif/lmder's ``fjac`` and 0-based ``ipvt``.

    MINPACK factors the final Jacobian as ``J P = Q R`` and leaves ``R`` in the
    upper triangle of the first ``n`` rows of ``fjac`` (m-by-n; below the
    diagonal lie Householder vectors).  Then
    ``inv(J.T J) = P inv(R) inv(R).T P.T``: invert the triangle, permute its
    rows, and multiply.  Going through ``inv(R)`` instead of forming ``R.T R``
    keeps the result symmetric positive semi-definite.

    Parameters
    ----------
    fjac : ndarray, shape (m, n)
        MINPACK's ``fjac`` after the fit.
    ipvt : ndarray, shape (n,)
        The column permutation ``P``, 0-based: column ``j`` of ``J P`` is column
        ``ipvt[j]`` of ``J``.

    Returns
    -------
    ndarray or None
        The n-by-n matrix, or None when ``R`` is singular (a zero on its diagonal);
        entries that overflow are infinite.
    """
    n = ipvt.shape[0]
    r = np.where(upper_triangle(n), fjac[:n], 0.0)
    if not r.diagonal().all():
        return None
    # R is triangular, so LU with partial pivoting does no row exchanges and this
    # is plain back substitution for each column of the identity.
    inv_r = np.linalg.inv(r)
    permuted = np.empty_like(inv_r)
    permuted[ipvt] = inv_r
    if magnitudes_within(inv_r.reshape(-1), -1.0, NO_OVERFLOW):  # -1.0: no lower bound
        return permuted @ permuted.T
    # A nearly singular R gives variances beyond the largest double: inf, not a warning.
    with np.errstate(over="ignore", invalid="ignore"):
        return permuted @ permuted.T
