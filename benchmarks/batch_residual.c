/*
 * The residual of benchmarks/bench_batch.py and the plain C loop it is measured against.
 *
 * bench_batch.py builds this file at run time with
 *
 *     cc -O2 -ffp-contract=off -shared -fPIC batch_residual.c \
 *         "$(cc -print-file-name=libminpack.a)" -lm -lpthread -o libbatch.so
 *
 * and loads it with ctypes.  It is not part of the package.
 *
 * decay_residual: y = a*exp(-b*t) + c on t = linspace(0, 4, m), the signature that
 *     minpack.leastsq_batch takes for a compiled func; user_data points at the m
 *     values of y of one problem (one row of the benchmark's (K, m) data array).
 * c_loop_fit: K fits of decay_residual through MINPACK's lmdif_, with leastsq's
 *     defaults, the K problems split into `threads` contiguous parts, one pthread
 *     each: the physical limit that leastsq_batch is compared with.
 *
 * -ffp-contract=off keeps the residual's arithmetic free of fused multiply-adds,
 * as in the rest of the project.
 */

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

/* MINPACK's lmdif, every argument by reference (Fortran); fcn as MINPACK calls it. */
typedef void (*minpack_fcn)(int *m, int *n, double *x, double *fvec, int *iflag);

extern void lmdif_(minpack_fcn fcn, int *m, int *n, double *x, double *fvec, double *ftol,
                   double *xtol, double *gtol, int *maxfev, double *epsfcn, double *diag,
                   int *mode, double *factor, int *nprint, int *info, int *nfev, double *fjac,
                   int *ldfjac, int *ipvt, double *qtf, double *wa1, double *wa2, double *wa3,
                   double *wa4);

/* fvec[i] = x[0]*exp(-x[1]*t[i]) + x[2] - y[i], t = linspace(0, 4, m) as NumPy builds it. */
void decay_residual(int m, int n, const double *x, double *fvec, int *iflag, void *user_data)
{
    const double *y = user_data;
    const double step = 4.0 / (double)(m - 1);
    (void)n;
    (void)iflag;
    for (int i = 0; i < m; i++) {
        double t = i == m - 1 ? 4.0 : (double)i * step;
        fvec[i] = x[0] * exp(-x[1] * t) + x[2] - y[i];
    }
}

/* lmdif_'s fcn has no user data: each thread keeps the row it is fitting here. */
static _Thread_local const double *current_row;

static void row_adapter(int *m, int *n, double *x, double *fvec, int *iflag)
{
    decay_residual(*m, *n, x, fvec, iflag, (void *)current_row);
}

struct part {
    ptrdiff_t begin, end; /* problems [begin, end) */
    int m, n;
    const double *data; /* K x m, row-major */
    double *x;          /* K x n, row-major: x0 in, solution out */
    int *info;          /* K */
    int *nfev;          /* K, or NULL */
    int status;         /* 0, or -1 when out of memory */
};

static void *fit_part(void *argument)
{
    struct part *part = argument;
    int m = part->m, n = part->n;
    /* leastsq's defaults: maxfev = 200*(n+1), epsfcn = float64's epsilon, mode 1. */
    double ftol = 1.49012e-8, xtol = 1.49012e-8, gtol = 0.0;
    double epsfcn = 2.220446049250313e-16, factor = 100.0;
    int maxfev = 200 * (n + 1), mode = 1, nprint = 0, ldfjac = m;
    size_t doubles = (size_t)m * (size_t)n + 2 * (size_t)m + 5 * (size_t)n;
    double *work = malloc(doubles * sizeof *work);
    int *ipvt = malloc((size_t)n * sizeof *ipvt);
    if (work == NULL || ipvt == NULL) {
        free(work);
        free(ipvt);
        part->status = -1;
        return NULL;
    }
    double *fvec = work, *wa4 = fvec + m, *fjac = wa4 + m;
    double *diag = fjac + (size_t)m * (size_t)n, *qtf = diag + n;
    double *wa1 = qtf + n, *wa2 = wa1 + n, *wa3 = wa2 + n;
    for (ptrdiff_t k = part->begin; k < part->end; k++) {
        int info = 0, nfev = 0;
        current_row = part->data + k * m;
        lmdif_(row_adapter, &m, &n, part->x + k * n, fvec, &ftol, &xtol, &gtol, &maxfev,
               &epsfcn, diag, &mode, &factor, &nprint, &info, &nfev, fjac, &ldfjac, ipvt, qtf,
               wa1, wa2, wa3, wa4);
        part->info[k] = info;
        if (part->nfev != NULL)
            part->nfev[k] = nfev;
    }
    free(work);
    free(ipvt);
    part->status = 0;
    return NULL;
}

/*
 * Fit the K problems: data is K x m (row k: the y values of problem k), x is K x n
 * (x0 in, solutions out), info and nfev (which may be NULL) receive lmdif's info and
 * nfev per problem.  threads <= 1 fits in the calling thread; otherwise the problems
 * are split into `threads` contiguous parts, one pthread each.  Returns 0, -1 when
 * out of memory, or pthread_create's error number.
 */
int c_loop_fit(int K, int m, int n, const double *data, double *x, int *info, int *nfev,
               int threads)
{
    if (threads <= 1) {
        struct part whole = {0, K, m, n, data, x, info, nfev, 0};
        fit_part(&whole);
        return whole.status;
    }
    struct part *parts = calloc((size_t)threads, sizeof *parts);
    pthread_t *ids = calloc((size_t)threads, sizeof *ids);
    if (parts == NULL || ids == NULL) {
        free(parts);
        free(ids);
        return -1;
    }
    int started = 0, status = 0;
    for (int t = 0; t < threads; t++) {
        parts[t] = (struct part){(ptrdiff_t)K * t / threads, (ptrdiff_t)K * (t + 1) / threads,
                                 m, n, data, x, info, nfev, 0};
        int error = pthread_create(&ids[t], NULL, fit_part, &parts[t]);
        if (error != 0) {
            status = error;
            break;
        }
        started++;
    }
    for (int t = 0; t < started; t++) {
        pthread_join(ids[t], NULL);
        if (parts[t].status != 0 && status == 0)
            status = parts[t].status;
    }
    free(parts);
    free(ids);
    return status;
}
