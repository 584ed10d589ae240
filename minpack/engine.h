/*
 * The fit engine: every fit, single or batched, with Python or compiled callbacks, is a
 * call of engine_run on one workspace, and every cov_x and 0-based ipvt comes from
 * engine_finish.  leastsq and leastsq_batch are bit-identical by construction.
 */
#ifndef MINPACK_ENGINE_H
#define MINPACK_ENGINE_H

#include "evaluation.h"

/* leastsq's options with every default applied (the Python layer applies them). */
typedef struct {
    double ftol, xtol, gtol, epsfcn, factor;
    int maxfev;
    const double *diag; /* n scale factors (MINPACK's mode 2), or NULL: MINPACK's own (mode 1) */
    int nprint;         /* 1 with an iteration callback, else 0 */
} Options;

/* MINPACK's arrays for one fit of m residuals in n variables. */
typedef struct {
    int m, n;
    double *fvec; /* m */
    double *fjac; /* m x n, column-major, leading dimension m */
    double *diag, *qtf, *wa1, *wa2, *wa3, *wa4;
    double *base_point; /* n: the guard's copy of the iterate */
    double *inverse;    /* n x n: engine_finish's inverse of R */
    int *ipvt;          /* n */
    /* What the caller did not give: one malloc'd block (small fits), or NumPy arrays
     * (large ones: the rest, fvec, fjac; see workspace_init). */
    double *block;
    PyObject *owners[3];
} Workspace;

typedef struct {
    int info; /* MINPACK's info, or the ier of a stop by the non-finite rules */
    int nfev;
    int njev; /* 0 for lmdif */
} Counts;

/* Allocate what is NULL among fvec, fjac, ipvt and qtf, and the work arrays (with the GIL
 * held; so is workspace_free).  Nothing is zero-filled: MINPACK writes what it reads.  0,
 * or -1 with an error set. */
int workspace_init(Workspace *w, int m, int n, double *fvec, double *fjac, int *ipvt,
                   double *qtf);
void workspace_free(Workspace *w);

/* Call lmdif (with_jacobian NULL) or lmder with these fcns from x, which receives the
 * solution; fvec already holds func(x0) when x0_in_fvec, else it is zero-filled first. */
void engine_call_minpack(lmdif_fcn residuals, lmder_fcn with_jacobian, int x0_in_fvec,
                         const Options *options, double *x, Workspace *w, Counts *out);

/* Run lmdif (ev without a Jacobian) or lmder from x, which receives the solution.  ev's
 * guard must use w->base_point.  Touches Python only through ev's Python callbacks. */
void engine_run(Evaluation *ev, const Options *options, double *x, Workspace *w, Counts *out);

/* Shared by the engine's Python functions (engine.c, vectorized.c). */
/* Fill options from minpack._inputs.Settings, the resolved maxfev and epsfcn, and whether
 * an iteration callback is given; 0, or -1 with an error set. */
int read_options(Options *options, PyObject *settings, PyObject *maxfev, PyObject *epsfcn, int n,
                 int with_callback);
/* m must be a count MINPACK can take for n variables; 0, or -1 with ValueError. */
int check_sizes(long m, int n);
/* A batch's per-problem results: the arrays of minpack._batch._Outputs. */
typedef struct {
    int *ier, *nfev, *njev;
    double *fnorm, *cov_x;
} BatchOutputs;
/* Read outputs' arrays for count problems of n variables; 0, or -1 with TypeError. */
int batch_outputs_read(BatchOutputs *out, PyObject *outputs, Py_ssize_t count, int n);
/* After problem k's engine run in w: write its ier, nfev, njev, fnorm and cov_x (NaN where
 * there is no estimate).  Touches no Python. */
void batch_outputs_write(const BatchOutputs *out, Py_ssize_t k, Workspace *w,
                         const Counts *counts);
/* The flag of a batch's stop_flag, a one-element intc array; NULL with TypeError otherwise. */
volatile int *batch_stop_flag(PyObject *stop_flag);

/* After engine_run: make w->ipvt 0-based, and when info reports a solution (1 to 4) and R
 * is not singular, write inv(J.T J) to cov (n x n) and return 1; else return 0. */
int engine_finish(Workspace *w, int info, double *cov);

#endif
