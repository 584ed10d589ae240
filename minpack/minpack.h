/*
 * MINPACK's routines as the system's libminpack.a exports them (netlib's Fortran 77
 * compiled by gfortran: every argument by reference, a trailing underscore), declared
 * once for the C files of this extension.  The f2py-generated module declares them in its
 * own terms and never includes this header.
 */
#ifndef MINPACK_MINPACK_H
#define MINPACK_MINPACK_H

/* lmdif's fcn: iflag 1 asks for fvec at x, 2 for a point of the forward differences, 0
 * (with nprint > 0) reports an iterate.  A negative iflag on return stops the fit. */
typedef void (*lmdif_fcn)(const int *m, const int *n, const double *x, double *fvec,
                          int *iflag);
/* lmder's fcn: iflag 1 asks for fvec, 2 for fjac (column-major, leading dimension ldfjac). */
typedef void (*lmder_fcn)(const int *m, const int *n, const double *x, double *fvec,
                          double *fjac, const int *ldfjac, int *iflag);

void lmdif_(lmdif_fcn fcn, const int *m, const int *n, double *x, double *fvec,
            const double *ftol, const double *xtol, const double *gtol, const int *maxfev,
            const double *epsfcn, double *diag, const int *mode, const double *factor,
            const int *nprint, int *info, int *nfev, double *fjac, const int *ldfjac,
            int *ipvt, double *qtf, double *wa1, double *wa2, double *wa3, double *wa4);
void lmder_(lmder_fcn fcn, const int *m, const int *n, double *x, double *fvec, double *fjac,
            const int *ldfjac, const double *ftol, const double *xtol, const double *gtol,
            const int *maxfev, double *diag, const int *mode, const double *factor,
            const int *nprint, int *info, int *nfev, int *njev, int *ipvt, double *qtf,
            double *wa1, double *wa2, double *wa3, double *wa4);
/* The Euclidean norm, computed as MINPACK computes fnorm. */
double enorm_(const int *n, const double *x);

/* Any negative iflag makes lmdif/lmder return at once with info = iflag. */
#define STOP_FIT (-1)

#endif
