/*
 * The large fit of benchmarks/bench_leastsq.py in plain C: y = a*exp(-b*t) + c*t + d on m
 * points, n = 4, through MINPACK's lmdif_ from the same libminpack.a, leastsq's defaults.
 * It reports how long lmdif_ took outside the residual, so that bench_leastsq.py can
 * compare the time MINPACK itself takes in a C program with the time outside func in
 * minpack.leastsq and scipy.optimize.leastsq.  Built with batch_residual.c (c_limit.py).
 */
#include <math.h>
#include <stdlib.h>
#include <time.h>

typedef void (*minpack_fcn)(int *m, int *n, double *x, double *fvec, int *iflag);
extern void lmdif_(minpack_fcn fcn, int *m, int *n, double *x, double *fvec, double *ftol,
                   double *xtol, double *gtol, int *maxfev, double *epsfcn, double *diag,
                   int *mode, double *factor, int *nprint, int *info, int *nfev, double *fjac,
                   int *ldfjac, int *ipvt, double *qtf, double *wa1, double *wa2, double *wa3,
                   double *wa4);

static const double *large_t, *large_y;
static double seconds_in_residual;

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void
large_residual(int *m, int *n, double *x, double *fvec, int *iflag)
{
    double start = now();
    (void)n;
    (void)iflag;
    for (int i = 0; i < *m; i++) {
        fvec[i] = x[0] * exp(-x[1] * large_t[i]) + x[2] * large_t[i] + x[3] - large_y[i];
    }
    seconds_in_residual += now() - start;
}

/* Fit from x (4 values, the solution on return); returns lmdif's info, or -1 when out of
 * memory.  *total and *outside receive the seconds of the whole lmdif_ call and of its
 * part outside the residual; *nfev the evaluations. */
int
large_fit(int m, const double *t, const double *y, double *x, int *nfev, double *total,
          double *outside)
{
    int n = 4, maxfev = 200 * (n + 1), mode = 1, nprint = 0, info = 0, ldfjac = m;
    double ftol = 1.49012e-8, xtol = 1.49012e-8, gtol = 0.0, factor = 100.0;
    double epsfcn = 2.220446049250313e-16;
    double *work = malloc(((size_t)m * (n + 2) + 5 * (size_t)n) * sizeof *work);
    int *ipvt = malloc((size_t)n * sizeof *ipvt);
    if (work == NULL || ipvt == NULL) {
        free(work);
        free(ipvt);
        return -1;
    }
    double *fvec = work, *wa4 = fvec + m, *fjac = wa4 + m, *diag = fjac + (size_t)m * n;
    double *qtf = diag + n, *wa1 = qtf + n, *wa2 = wa1 + n, *wa3 = wa2 + n;
    large_t = t;
    large_y = y;
    seconds_in_residual = 0.0;
    double start = now();
    lmdif_(large_residual, &m, &n, x, fvec, &ftol, &xtol, &gtol, &maxfev, &epsfcn, diag, &mode,
           &factor, &nprint, &info, nfev, fjac, &ldfjac, ipvt, qtf, wa1, wa2, wa3, wa4);
    *total = now() - start;
    *outside = *total - seconds_in_residual;
    free(work);
    free(ipvt);
    return info;
}
