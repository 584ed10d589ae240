/*
 * What MINPACK's fcn does for one fit: call the user's func and Dfun (Python callables or
 * compiled code), apply the non-finite rules, report iterates to the iteration callback,
 * and capture what a Python callback raised.
 *
 * MINPACK's fcn has no user-data argument: evaluation_lmdif_fcn and evaluation_lmder_fcn
 * find the fit they serve through a thread-local pointer, set by evaluation_enter for the
 * duration of one MINPACK call, so that fits in other threads and fits nested inside a
 * func never see each other.
 */
#ifndef MINPACK_EVALUATION_H
#define MINPACK_EVALUATION_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "guard.h"
#include "minpack.h"

/* A compiled func or Dfun: MINPACK's fcn with m and n by value, and user data. */
typedef void (*callback_with_data)(int m, int n, const double *x, double *out, int *iflag,
                                   void *user_data);
typedef void (*callback_without_data)(int m, int n, const double *x, double *out, int *iflag);

typedef struct {
    void *function; /* NULL: not compiled code */
    void *user_data;
    int with_user_data;
} CompiledCode;

/* The Python object that carries a CompiledCode (minpack._minpack.CompiledCallback). */
typedef struct {
    PyObject_HEAD
    CompiledCode code;
} CompiledCallback;

extern PyTypeObject CompiledCallbackType;

/* Call compiled code as MINPACK's fcn would, with its user data when it takes some. */
void call_compiled(const CompiledCode *code, int m, int n, const double *x, double *out,
                   int *iflag);

/* Arguments after x passed to Python callbacks on the C stack; more go through a tuple. */
#define MAX_STACK_ARGS 8

typedef struct Evaluation {
    /* What is called: a Python callable, or compiled code (then the object is NULL). */
    PyObject *func;
    PyObject *jac; /* NULL without Dfun, or when compiled */
    CompiledCode compiled_func;
    CompiledCode compiled_jac; /* function NULL: no compiled Dfun */
    int with_jacobian;         /* lmder: a Dfun, Python or compiled */
    int col_deriv;             /* a Python Dfun returns the (n, m) transpose */
    PyObject *args;            /* the extra arguments of Python callbacks (a tuple), or NULL */
    PyObject *callback;        /* the iteration callback, or NULL */
    /* State of the fit. */
    int x0_in_fvec;          /* fvec holds func(x0): MINPACK's first call is answered */
    long evaluations;        /* calls for fvec so far: MINPACK's nfev */
    int stopped_by_callback; /* the iteration callback returned True */
    PyObject *error;         /* what a Python callback raised, or NULL */
    Guard guard;
    struct Evaluation *outer; /* the fit this thread was running before this one */
} Evaluation;

/* Fill ev for a fit: callbacks from Python objects (a callable or a CompiledCallback; jac
 * and callback may be None; args NULL when only compiled code is called).  0, or -1 with
 * TypeError when one is neither. */
int evaluation_init(Evaluation *ev, PyObject *func, PyObject *jac, PyObject *args,
                    PyObject *callback, int col_deriv, double *base_point);
/* Whether MINPACK may run without the GIL: every callback is compiled code. */
int evaluation_is_compiled(const Evaluation *ev);
/* Make ev the fit that this thread's MINPACK calls serve, and undo it. */
void evaluation_enter(Evaluation *ev);
void evaluation_leave(Evaluation *ev);
/* Set the exception ev captured (leaving ev without it); returns NULL for convenience. */
PyObject *evaluation_raise(Evaluation *ev);

/* The Python layer's checkers (minpack._callback) of what callbacks return, for results
 * that are not already float64 arrays of the right shape: check_residuals,
 * check_jacobian, and check_round for vectorized batches (vectorized.c).  A borrowed
 * reference, kept for the life of the process, or NULL with an error set. */
enum { CHECK_RESIDUALS, CHECK_JACOBIAN, CHECK_ROUND, CHECKERS };
PyObject *python_checker(int which);

void evaluation_lmdif_fcn(const int *m, const int *n, const double *x, double *fvec,
                          int *iflag);
void evaluation_lmder_fcn(const int *m, const int *n, const double *x, double *fvec,
                          double *fjac, const int *ldfjac, int *iflag);

#endif
