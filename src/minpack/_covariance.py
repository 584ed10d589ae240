"""The covariance estimate ``cov_x`` from MINPACK's QR factorisation."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def covariance_from_qr(
    fjac: NDArray[np.float64], ipvt: NDArray[np.intc]
) -> NDArray[np.float64] | None:
    """Return ``inv(J.T @ J)`` from lmdif/lmder's ``fjac`` and 0-based ``ipvt``.

    MINPACK factors the final Jacobian as ``J P = Q R`` and leaves ``R`` in the
    upper triangle of the first ``n`` rows of ``fjac`` (m-by-n).  Then
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
        The n-by-n matrix, or None when ``R`` is singular (a zero on its diagonal).
    """
    n = ipvt.shape[0]
    r = np.triu(fjac[:n, :])
    if not np.all(np.diagonal(r)):
        return None
    # R is triangular, so LU with partial pivoting does no row exchanges and this
    # is plain back substitution for each column of the identity.
    inv_r = np.linalg.solve(r, np.eye(n))
    permuted = np.empty_like(inv_r)
    permuted[ipvt] = inv_r
    return permuted @ permuted.T
