/*
 * The hot path between MINPACK and the user's Python functions.
 *
 * MINPACK calls its fcn with pointers into its own memory and no user-data
 * argument.  The functions lmdif_fcn and lmder_fcn below are handed to the
 * f2py wrappers of lmdif/lmder as PyCapsules (f2py passes such a pointer
 * straight to Fortran); they find the fit they serve through a thread-local
 * pointer, set by Fit.run for the duration of one MINPACK call, so that
 * concurrent fits in other threads and fits nested inside a func never see
 * each other.
 *
 * A func or Dfun may also be compiled code (see src/minpack/_compiled.py):
 * then it is called directly, with MINPACK's own x and output buffers, and
 * when every callback of a fit is compiled, leastsq runs MINPACK through the
 * f2py wrappers that release the GIL, so nothing here may touch Python then.
 *
 * The rules for Python callbacks are those of src/minpack/_callback.py, which
 * this file only makes fast: the user receives a fresh copy of x; what the user returns is copied
 * into MINPACK's buffers only when it is a float64 array of exactly the right
 * shape; anything else goes through the Python checkers, which convert it or
 * raise the documented TypeError/ValueError; any exception is captured (never
 * printed) and stops MINPACK at once through a negative iflag.
 *
 * Every fit here, with Python or compiled callbacks and in batches, also follows the
 * rules for non-finite values (README, "Non-finite values"), applied by guard_before
 * and guard_after around each evaluation: NaN or infinity in the residuals at x0 stops
 * the fit at once (ier NONFINITE_AT_X0); in the Jacobian, whether Dfun's or lmdif's
 * forward differences, it stops the fit at the current iterate (ier NONFINITE_JACOBIAN);
 * at a trial point MINPACK itself rejects the step, so nothing is done there except
 * that a trial point that is not finite itself is never passed to the callback.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#define NPY_NO_DEPRECATED_API NPY_1_23_API_VERSION
#include <numpy/arrayobject.h>

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Any negative iflag makes lmdif/lmder return at once with info = iflag. */
#define STOP_FIT (-1)

/* The ier of fits stopped by non-finite values; MINPACK's own info is 0 to 8. */
#define NONFINITE_AT_X0 9
#define NONFINITE_JACOBIAN 10

/* Arguments passed to func/Dfun on the C stack; more go through a tuple. */
#define MAX_STACK_ARGS 8

/* A compiled func or Dfun: MINPACK's fcn with m and n by value, and user data. */
typedef void (*callback_with_data)(int m, int n, const double *x, double *out, int *iflag,
                                   void *user_data);
typedef void (*callback_without_data)(int m, int n, const double *x, double *out, int *iflag);

typedef struct {
    void *function; /* NULL for a Python callable */
    void *user_data;
    int with_user_data;
} Compiled;

static void
call_compiled(const Compiled *compiled, int m, int n, const double *x, double *out, int *iflag)
{
    if (compiled->with_user_data) {
        ((callback_with_data)compiled->function)(m, n, x, out, iflag, compiled->user_data);
    }
    else {
        ((callback_without_data)compiled->function)(m, n, x, out, iflag);
    }
}

/* Where a double's high 32 bits (sign, exponent, top of the mantissa) lie in its bytes. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HIGH_WORD 0
#else
#define HIGH_WORD 4
#endif

/* Whether count doubles are all finite: no NaN, no infinity, that is no exponent of all
 * ones.  Integer tests on the high 32 bits: the loop vectorises with SSE2 alone (64-bit
 * compares need SSE4) and sets no floating-point flag. */
static int
finite_values(const double *values, size_t count)
{
    const unsigned char *bytes = (const unsigned char *)values;
    uint32_t all_ones = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t high;
        memcpy(&high, bytes + 8 * i + HIGH_WORD, sizeof high);
        all_ones |= (uint32_t)((high & UINT32_C(0x7ff00000)) == UINT32_C(0x7ff00000));
    }
    return all_ones == 0;
}

/* Copy count doubles and tell whether they are all finite.  memcpy and then a pass over
 * the copy, still in cache, measured faster than one loop that does both. */
static int
copy_finite_values(double *destination, const double *source, size_t count)
{
    memcpy(destination, source, count * sizeof(double));
    return finite_values(destination, count);
}

/* What guard_after is told of the values: not looked at yet, or found (not) finite. */
#define VALUES_UNCHECKED (-1)

/* One fit's state for the non-finite rules. */
typedef struct {
    double *base_point; /* n values: x at MINPACK's latest iflag = 1 call */
    int evaluated_x0;   /* MINPACK's first evaluation, at x0, has been made */
    int verdict;        /* 0, or the ier of a stop: NONFINITE_AT_X0 or NONFINITE_JACOBIAN */
} Guard;

static void
guard_reset(Guard *guard)
{
    guard->evaluated_x0 = 0;
    guard->verdict = 0;
}

/*
 * Before MINPACK's evaluation *iflag (1: residuals; 2: lmdif's forward difference, or
 * lmder's Jacobian) at x: whether the callback is to be called.  When it is not, either
 * out (MINPACK's m residuals) holds NaN, or the fit is stopped through *iflag.
 *
 * The iterate at which a Jacobian is evaluated is the point of MINPACK's latest iflag = 1
 * call (x0, or the trial point that was just accepted), so that point is kept: lmdif's
 * forward differences move one component of MINPACK's own x, which is put back from it
 * when the fit stops there.
 */
static int
guard_before(Guard *guard, int *iflag, int m, int n, double *x, double *out)
{
    if (*iflag == 1) {
        memcpy(guard->base_point, x, (size_t)n * sizeof(double));
        if (guard->evaluated_x0 && !finite_values(x, (size_t)n)) {
            /* A step overflowed.  NaN residuals make MINPACK reject it, as it rejects any
             * point where func returns NaN; the callback never sees such an x. */
            for (int i = 0; i < m; i++) {
                out[i] = NAN;
            }
            return 0;
        }
    }
    else if (*iflag == 2 && !finite_values(x, (size_t)n)) {
        /* x + h overflowed in lmdif's forward differences. */
        memcpy(x, guard->base_point, (size_t)n * sizeof(double));
        guard->verdict = NONFINITE_JACOBIAN;
        *iflag = STOP_FIT;
        return 0;
    }
    return 1;
}

/* Whether guard_after will look at the values of evaluation `asked`. */
static int
guard_checks(const Guard *guard, int asked)
{
    return asked == 2 || (asked == 1 && !guard->evaluated_x0);
}

/* After evaluation `asked` (the iflag MINPACK passed) wrote count values to out; finite
 * is what the copy into out found, or VALUES_UNCHECKED. */
static void
guard_after(Guard *guard, int asked, int *iflag, int n, double *x, const double *out,
            size_t count, int finite)
{
    if (*iflag < 0) {
        return; /* the callback stopped the fit itself */
    }
    if (finite == VALUES_UNCHECKED && guard_checks(guard, asked)) {
        finite = finite_values(out, count);
    }
    if (asked == 1) {
        if (!guard->evaluated_x0) {
            guard->evaluated_x0 = 1;
            if (!finite) {
                guard->verdict = NONFINITE_AT_X0;
                *iflag = STOP_FIT;
            }
        }
        /* At a trial point MINPACK rejects non-finite residuals itself: its test of the
         * actual reduction, p1*fnorm1 < fnorm, fails for NaN and infinity alike. */
    }
    else if (asked == 2 && !finite) {
        memcpy(x, guard->base_point, (size_t)n * sizeof(double));
        guard->verdict = NONFINITE_JACOBIAN;
        *iflag = STOP_FIT;
    }
}

typedef struct Fit {
    PyObject_HEAD
    int n;                     /* the number of variables */
    PyObject *func;            /* the user's func */
    PyObject *args;            /* its extra arguments (a tuple) */
    PyObject *pending;         /* func(x0), for MINPACK's first call; None once used */
    PyObject *check_residuals; /* (value, m) -> float64 vector of length m, or raises */
    PyObject *jac;             /* the user's Dfun, or None */
    PyObject *check_jacobian;  /* (value, m, n, col_deriv) -> C-contiguous float64 array */
    PyObject *error;           /* what stopped the fit, or None */
    int col_deriv;             /* Dfun returns the (n, m) transpose */
    Compiled compiled_func;    /* func as compiled code, or function == NULL */
    Compiled compiled_jac;     /* Dfun as compiled code, or function == NULL */
    PyObject *callback;        /* called at MINPACK's iflag = 0 calls, or None */
    long evaluations;          /* calls for fvec so far: MINPACK's nfev */
    int stopped_by_callback;   /* the callback returned True */
    Guard guard;               /* the non-finite rules' state; base_point is owned */
    struct Fit *outer;         /* the fit this thread was running before this one */
} Fit;

/* The fit whose MINPACK call is running in this thread. */
static _Thread_local Fit *active_fit = NULL;

extern double enorm_(const int *n, const double *x);

/* Keep the exception that is being raised, and stop MINPACK. */
static void
stop_with_error(Fit *fit, int *iflag)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *error = PyErr_GetRaisedException();
#else
    PyObject *type, *error, *traceback;
    PyErr_Fetch(&type, &error, &traceback);
    PyErr_NormalizeException(&type, &error, &traceback);
    if (traceback != NULL) {
        PyException_SetTraceback(error, traceback);
    }
    Py_XDECREF(type);
    Py_XDECREF(traceback);
#endif
    Py_XSETREF(fit->error, error);
    *iflag = STOP_FIT;
}

/* Call function(copy of x, *fit->args); a new reference, or NULL with an error set. */
static PyObject *
call_user(Fit *fit, PyObject *function, const double *x, npy_intp n)
{
    /* A new array for every call: the user may keep the one of an earlier call. */
    PyObject *x_copy = PyArray_SimpleNew(1, &n, NPY_DOUBLE);
    if (x_copy == NULL) {
        return NULL;
    }
    memcpy(PyArray_DATA((PyArrayObject *)x_copy), x, (size_t)n * sizeof(double));

    Py_ssize_t nargs = PyTuple_GET_SIZE(fit->args);
    PyObject *result;
    if (nargs < MAX_STACK_ARGS) {
        PyObject *stack[MAX_STACK_ARGS];
        stack[0] = x_copy;
        for (Py_ssize_t i = 0; i < nargs; i++) {
            stack[i + 1] = PyTuple_GET_ITEM(fit->args, i);
        }
        result = PyObject_Vectorcall(function, stack, (size_t)(nargs + 1), NULL);
    }
    else {
        PyObject *all = PyTuple_New(nargs + 1);
        if (all == NULL) {
            Py_DECREF(x_copy);
            return NULL;
        }
        Py_INCREF(x_copy);
        PyTuple_SET_ITEM(all, 0, x_copy);
        for (Py_ssize_t i = 0; i < nargs; i++) {
            PyObject *item = PyTuple_GET_ITEM(fit->args, i);
            Py_INCREF(item);
            PyTuple_SET_ITEM(all, i + 1, item);
        }
        result = PyObject_Call(function, all, NULL);
        Py_DECREF(all);
    }
    Py_DECREF(x_copy);
    return result;
}

/* Whether value can be copied as it is: a float64 array in native byte order. */
static int
is_plain_float64(PyObject *value, int ndim)
{
    if (!PyArray_CheckExact(value)) {
        return 0;
    }
    PyArrayObject *array = (PyArrayObject *)value;
    return PyArray_TYPE(array) == NPY_DOUBLE && PyArray_NDIM(array) == ndim &&
           PyArray_ISNOTSWAPPED(array) && PyArray_ISALIGNED(array);
}

/* Copy m values into out; with finite, also tell whether they are all finite. */
static void
copy_values(double *out, const double *values, npy_intp m, int *finite)
{
    if (finite != NULL) {
        *finite = copy_finite_values(out, values, (size_t)m);
    }
    else {
        memcpy(out, values, (size_t)m * sizeof(double));
    }
}

/* Copy func's result into fvec; -1 with an error set when the checker rejects it.  With
 * finite, also tell whether the residuals are all finite. */
static int
store_residuals(Fit *fit, PyObject *value, double *fvec, npy_intp m, int *finite)
{
    PyObject *checked = NULL;
    if (!(is_plain_float64(value, 1) && PyArray_DIM((PyArrayObject *)value, 0) == m &&
          PyArray_IS_C_CONTIGUOUS((PyArrayObject *)value))) {
        checked = PyObject_CallFunction(fit->check_residuals, "On", value, m);
        if (checked == NULL) {
            return -1;
        }
        value = checked;
    }
    copy_values(fvec, PyArray_DATA((PyArrayObject *)value), m, finite);
    Py_XDECREF(checked);
    return 0;
}

/* Copy the rows x cols C-ordered matrix source into column-major fjac (leading dimension m);
 * return whether its values are all finite. */
static int
copy_transposed(double *fjac, const double *source, npy_intp rows, npy_intp cols)
{
    for (npy_intp i = 0; i < rows; i++) {
        for (npy_intp j = 0; j < cols; j++) {
            fjac[i + j * rows] = source[i * cols + j];
        }
    }
    return finite_values(fjac, (size_t)(rows * cols));
}

/* Copy Dfun's result into MINPACK's column-major m x n fjac; *finite tells whether all of
 * it is finite. */
static int
store_jacobian(Fit *fit, PyObject *value, double *fjac, npy_intp m, npy_intp n, int *finite)
{
    npy_intp rows = fit->col_deriv ? n : m, cols = fit->col_deriv ? m : n;
    PyObject *checked = NULL;
    if (!(is_plain_float64(value, 2) && PyArray_DIM((PyArrayObject *)value, 0) == rows &&
          PyArray_DIM((PyArrayObject *)value, 1) == cols &&
          (PyArray_IS_C_CONTIGUOUS((PyArrayObject *)value) ||
           PyArray_IS_F_CONTIGUOUS((PyArrayObject *)value)))) {
        /* The checker returns a C-contiguous float64 array of the right shape. */
        checked = PyObject_CallFunction(fit->check_jacobian, "Onni", value, m, n, fit->col_deriv);
        if (checked == NULL) {
            return -1;
        }
        value = checked;
    }
    PyArrayObject *array = (PyArrayObject *)value;
    const double *data = PyArray_DATA(array);
    /* Column-major m x n memory is C-ordered (n, m) memory, and F-ordered (m, n). */
    int already_column_major = fit->col_deriv ? PyArray_IS_C_CONTIGUOUS(array)
                                              : PyArray_IS_F_CONTIGUOUS(array);
    if (already_column_major) {
        *finite = copy_finite_values(fjac, data, (size_t)(m * n));
    }
    else {
        /* C-ordered (m, n), or F-ordered (n, m) with col_deriv: the same memory. */
        *finite = copy_transposed(fjac, data, m, n);
    }
    Py_XDECREF(checked);
    return 0;
}

/* Fill fvec with the residuals at x; 0, or -1 with an error set.  With finite, also tell
 * whether they are all finite. */
static int
evaluate(Fit *fit, const double *x, double *fvec, npy_intp m, npy_intp n, int *finite)
{
    if (fit->pending != Py_None) {
        /* MINPACK's first call is at x0, where leastsq has evaluated func already. */
        copy_values(fvec, PyArray_DATA((PyArrayObject *)fit->pending), m, finite);
        Py_SETREF(fit->pending, Py_NewRef(Py_None));
        return 0;
    }
    PyObject *value = call_user(fit, fit->func, x, n);
    if (value == NULL) {
        return -1;
    }
    int status = store_residuals(fit, value, fvec, m, finite);
    Py_DECREF(value);
    return status;
}

/* MINPACK's iflag = 0 call (nprint): hand the iterate to the Python callback. */
static void
report_iterate(Fit *fit, int m, int n, const double *x, double *fvec, int *iflag)
{
    if (fit->stopped_by_callback || fit->error != Py_None || fit->guard.verdict != 0) {
        /* MINPACK's last iflag = 0 call, after the fit was stopped: nothing to report. */
        return;
    }
    npy_intp size = n;
    PyObject *x_copy = PyArray_SimpleNew(1, &size, NPY_DOUBLE);
    if (x_copy == NULL) {
        stop_with_error(fit, iflag);
        return;
    }
    memcpy(PyArray_DATA((PyArrayObject *)x_copy), x, (size_t)n * sizeof(double));
    PyObject *answer = PyObject_CallFunction(fit->callback, "Ndl", x_copy, enorm_(&m, fvec),
                                             fit->evaluations);
    if (answer == NULL) {
        stop_with_error(fit, iflag);
        return;
    }
    int stop = PyObject_IsTrue(answer);
    Py_DECREF(answer);
    if (stop < 0) {
        stop_with_error(fit, iflag);
    }
    else if (stop) {
        fit->stopped_by_callback = 1;
        *iflag = STOP_FIT;
    }
}

/* MINPACK's fcn for lmdif: iflag 1 asks for the residuals at x, 2 for those at a point
 * of the forward differences (MINPACK's own x with one component moved). */
static void
lmdif_fcn(const int *m, const int *n, const double *x, double *fvec, int *iflag)
{
    Fit *fit = active_fit;
    if (fit == NULL || *n != fit->n) { /* never: Fit.run sets it, for a fit of n variables */
        *iflag = STOP_FIT;
        return;
    }
    if (*iflag == 0) { /* only with nprint > 0, that is with a callback */
        report_iterate(fit, *m, *n, x, fvec, iflag);
        return;
    }
    fit->evaluations++;
    int asked = *iflag;
    double *point = (double *)x; /* MINPACK's x or wa2; the guard may put x back */
    if (!guard_before(&fit->guard, iflag, *m, *n, point, fvec)) {
        return;
    }
    int finite = VALUES_UNCHECKED;
    if (fit->compiled_func.function != NULL) {
        call_compiled(&fit->compiled_func, *m, *n, x, fvec, iflag);
    }
    else if (evaluate(fit, x, fvec, *m, *n,
                      guard_checks(&fit->guard, asked) ? &finite : NULL) != 0) {
        stop_with_error(fit, iflag);
        return;
    }
    guard_after(&fit->guard, asked, iflag, *n, point, fvec, (size_t)*m, finite);
}

/* MINPACK's fcn for lmder: iflag 1 asks for fvec, 2 for fjac. */
static void
lmder_fcn(const int *m, const int *n, const double *x, double *fvec, double *fjac,
          const int *ldfjac, int *iflag)
{
    Fit *fit = active_fit;
    /* Never: Fit.run sets it, for a fit of n variables; leastsq passes ldfjac = m. */
    if (fit == NULL || *n != fit->n || *ldfjac != *m) {
        *iflag = STOP_FIT;
        return;
    }
    if (*iflag == 0) { /* only with nprint > 0, that is with a callback */
        report_iterate(fit, *m, *n, x, fvec, iflag);
        return;
    }
    int asked = *iflag;
    if (asked != 2) {
        fit->evaluations++;
    }
    double *point = (double *)x;
    if (!guard_before(&fit->guard, iflag, *m, *n, point, fvec)) {
        return;
    }
    double *out = asked == 2 ? fjac : fvec;
    size_t count = asked == 2 ? (size_t)*m * (size_t)*n : (size_t)*m;
    const Compiled *compiled = asked == 2 ? &fit->compiled_jac : &fit->compiled_func;
    int finite = VALUES_UNCHECKED;
    if (compiled->function != NULL) {
        call_compiled(compiled, *m, *n, x, out, iflag);
    }
    else {
        int status;
        if (asked == 2) {
            PyObject *value = call_user(fit, fit->jac, x, *n);
            status = value == NULL ? -1 : store_jacobian(fit, value, fjac, *m, *n, &finite);
            Py_XDECREF(value);
        }
        else {
            status = evaluate(fit, x, fvec, *m, *n,
                              guard_checks(&fit->guard, asked) ? &finite : NULL);
        }
        if (status != 0) {
            stop_with_error(fit, iflag);
            return;
        }
    }
    guard_after(&fit->guard, asked, iflag, *n, point, out, count, finite);
}

/* Read (address, user_data, with_user_data) into compiled; None leaves it empty. */
static int
parse_compiled(PyObject *description, Compiled *compiled)
{
    compiled->function = NULL;
    compiled->user_data = NULL;
    compiled->with_user_data = 0;
    if (description == Py_None) {
        return 0;
    }
    unsigned long long function, user_data;
    int with_user_data;
    if (!PyArg_ParseTuple(description, "KKp;compiled callbacks are (address, user_data, flag)",
                          &function, &user_data, &with_user_data)) {
        return -1;
    }
    if (function == 0) {
        PyErr_SetString(PyExc_ValueError, "a compiled callback's address must not be NULL");
        return -1;
    }
    compiled->function = (void *)(uintptr_t)function;
    compiled->user_data = (void *)(uintptr_t)user_data;
    compiled->with_user_data = with_user_data;
    return 0;
}

static PyObject *
Fit_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *func, *fit_args, *pending, *check_residuals;
    PyObject *jac = Py_None, *check_jacobian = Py_None;
    PyObject *compiled_func = Py_None, *compiled_jac = Py_None, *callback = Py_None;
    int n, col_deriv = 0;
    static char *keywords[] = {"n", "func", "args", "pending", "check_residuals", "jac",
                               "check_jacobian", "col_deriv", "compiled_func",
                               "compiled_jac", "callback", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "iOO!OO|OOpOOO:Fit", keywords, &n, &func,
                                     &PyTuple_Type, &fit_args, &pending, &check_residuals,
                                     &jac, &check_jacobian, &col_deriv, &compiled_func,
                                     &compiled_jac, &callback)) {
        return NULL;
    }
    if (n < 1) {
        PyErr_SetString(PyExc_ValueError, "n must be positive");
        return NULL;
    }
    if (pending != Py_None &&
        (!is_plain_float64(pending, 1) || !PyArray_IS_C_CONTIGUOUS((PyArrayObject *)pending))) {
        PyErr_SetString(PyExc_TypeError, "pending must be None or a C-contiguous float64 vector");
        return NULL;
    }
    Compiled compiled_residual, compiled_jacobian;
    if (parse_compiled(compiled_func, &compiled_residual) < 0 ||
        parse_compiled(compiled_jac, &compiled_jacobian) < 0) {
        return NULL;
    }
    double *base_point = PyMem_RawMalloc((size_t)n * sizeof(double));
    if (base_point == NULL) {
        return PyErr_NoMemory();
    }
    Fit *self = (Fit *)type->tp_alloc(type, 0);
    if (self == NULL) {
        PyMem_RawFree(base_point);
        return NULL;
    }
    self->n = n;
    self->guard.base_point = base_point;
    guard_reset(&self->guard);
    self->func = Py_NewRef(func);
    self->args = Py_NewRef(fit_args);
    self->pending = Py_NewRef(pending);
    self->check_residuals = Py_NewRef(check_residuals);
    self->jac = Py_NewRef(jac);
    self->check_jacobian = Py_NewRef(check_jacobian);
    self->error = Py_NewRef(Py_None);
    self->col_deriv = col_deriv;
    self->compiled_func = compiled_residual;
    self->compiled_jac = compiled_jacobian;
    self->callback = Py_NewRef(callback);
    self->evaluations = 0;
    self->stopped_by_callback = 0;
    self->outer = NULL;
    return (PyObject *)self;
}

static int
Fit_traverse(Fit *self, visitproc visit, void *arg)
{
    Py_VISIT(self->func);
    Py_VISIT(self->args);
    Py_VISIT(self->pending);
    Py_VISIT(self->check_residuals);
    Py_VISIT(self->jac);
    Py_VISIT(self->check_jacobian);
    Py_VISIT(self->error);
    Py_VISIT(self->callback);
    return 0;
}

static int
Fit_clear(Fit *self)
{
    Py_CLEAR(self->func);
    Py_CLEAR(self->args);
    Py_CLEAR(self->pending);
    Py_CLEAR(self->check_residuals);
    Py_CLEAR(self->jac);
    Py_CLEAR(self->check_jacobian);
    Py_CLEAR(self->error);
    Py_CLEAR(self->callback);
    return 0;
}

static void
Fit_dealloc(Fit *self)
{
    PyObject_GC_UnTrack(self);
    Fit_clear(self);
    PyMem_RawFree(self->guard.base_point);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* run(routine, *arguments): call an f2py MINPACK wrapper with this fit active. */
static PyObject *
Fit_run(Fit *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1) {
        PyErr_SetString(PyExc_TypeError, "run() needs the routine to call");
        return NULL;
    }
    if (self->outer != NULL || active_fit == self) {
        PyErr_SetString(PyExc_RuntimeError, "this fit is already running");
        return NULL;
    }
    guard_reset(&self->guard);
    self->outer = active_fit;
    active_fit = self;
    PyObject *result = PyObject_Vectorcall(args[0], args + 1, (size_t)(nargs - 1), NULL);
    active_fit = self->outer;
    self->outer = NULL;
    return result;
}

/* ---- MINPACK for other compiled code (minpack.capi) ---------------------------------- */

/* MINPACK's own entry points, linked statically into this extension too. */
typedef void (*minpack_fcn)(const int *m, const int *n, const double *x, double *fvec,
                            int *iflag);
typedef void (*minpack_jac_fcn)(const int *m, const int *n, const double *x, double *fvec,
                                double *fjac, const int *ldfjac, int *iflag);
extern void lmdif_(minpack_fcn fcn, const int *m, const int *n, double *x, double *fvec,
                   const double *ftol, const double *xtol, const double *gtol,
                   const int *maxfev, const double *epsfcn, double *diag, const int *mode,
                   const double *factor, const int *nprint, int *info, int *nfev,
                   double *fjac, const int *ldfjac, int *ipvt, double *qtf, double *wa1,
                   double *wa2, double *wa3, double *wa4);
extern void lmder_(minpack_jac_fcn fcn, const int *m, const int *n, double *x, double *fvec,
                   double *fjac, const int *ldfjac, const double *ftol, const double *xtol,
                   const double *gtol, const int *maxfev, double *diag, const int *mode,
                   const double *factor, const int *nprint, int *info, int *nfev, int *njev,
                   int *ipvt, double *qtf, double *wa1, double *wa2, double *wa3, double *wa4);

/* The callbacks of the *_with_user_data entry points, found like active_fit. */
typedef struct {
    callback_with_data residual;
    callback_with_data jacobian;
    void *user_data;
} UserDataCall;
static _Thread_local const UserDataCall *active_call = NULL;

static void
user_data_lmdif_fcn(const int *m, const int *n, const double *x, double *fvec, int *iflag)
{
    active_call->residual(*m, *n, x, fvec, iflag, active_call->user_data);
}

static void
user_data_lmder_fcn(const int *m, const int *n, const double *x, double *fvec, double *fjac,
                    const int *ldfjac, int *iflag)
{
    if (*iflag == 2) {
        /* fjac's leading dimension must be m for the callback's column-major layout. */
        if (*ldfjac != *m) {
            *iflag = STOP_FIT;
            return;
        }
        active_call->jacobian(*m, *n, x, fjac, iflag, active_call->user_data);
    }
    else {
        active_call->residual(*m, *n, x, fvec, iflag, active_call->user_data);
    }
}

/* lmdif with a callback that takes m and n by value and user data; else as lmdif_. */
static void
lmdif_with_user_data(callback_with_data fcn, void *user_data, const int *m, const int *n,
                     double *x, double *fvec, const double *ftol, const double *xtol,
                     const double *gtol, const int *maxfev, const double *epsfcn,
                     double *diag, const int *mode, const double *factor, const int *nprint,
                     int *info, int *nfev, double *fjac, const int *ldfjac, int *ipvt,
                     double *qtf, double *wa1, double *wa2, double *wa3, double *wa4)
{
    UserDataCall call = {fcn, NULL, user_data};
    const UserDataCall *outer = active_call;
    active_call = &call;
    lmdif_(user_data_lmdif_fcn, m, n, x, fvec, ftol, xtol, gtol, maxfev, epsfcn, diag, mode,
           factor, nprint, info, nfev, fjac, ldfjac, ipvt, qtf, wa1, wa2, wa3, wa4);
    active_call = outer;
}

/* lmder with callbacks for fvec and for fjac that take m and n by value and user data. */
static void
lmder_with_user_data(callback_with_data residual, callback_with_data jacobian, void *user_data,
                     const int *m, const int *n, double *x, double *fvec, double *fjac,
                     const int *ldfjac, const double *ftol, const double *xtol,
                     const double *gtol, const int *maxfev, double *diag, const int *mode,
                     const double *factor, const int *nprint, int *info, int *nfev, int *njev,
                     int *ipvt, double *qtf, double *wa1, double *wa2, double *wa3,
                     double *wa4)
{
    UserDataCall call = {residual, jacobian, user_data};
    const UserDataCall *outer = active_call;
    active_call = &call;
    lmder_(user_data_lmder_fcn, m, n, x, fvec, fjac, ldfjac, ftol, xtol, gtol, maxfev, diag,
           mode, factor, nprint, info, nfev, njev, ipvt, qtf, wa1, wa2, wa3, wa4);
    active_call = outer;
}

/* The C signatures under which minpack.capi exports the entry points (capsule names). */
#define FORTRAN_LMDIF_TAIL                                                                   \
    "int *, int *, double *, double *, double *, double *, double *, int *, double *, "     \
    "double *, int *, double *, int *, int *, int *, double *, int *, int *, double *, "    \
    "double *, double *, double *, double *)"
#define FORTRAN_LMDER_TAIL                                                                   \
    "int *, int *, double *, double *, double *, int *, double *, double *, double *, "     \
    "int *, double *, int *, double *, int *, int *, int *, int *, int *, double *, "       \
    "double *, double *, double *, double *)"
#define USER_DATA_CALLBACK "void (*)(int, int, double *, double *, int *, void *)"

static const struct {
    const char *name;
    void (*function)(void);
    const char *signature;
} exported[] = {
    {"lmdif", (void (*)(void))lmdif_,
     "void (void (*)(int *, int *, double *, double *, int *), " FORTRAN_LMDIF_TAIL},
    {"lmder", (void (*)(void))lmder_,
     "void (void (*)(int *, int *, double *, double *, double *, int *, int *), "
     FORTRAN_LMDER_TAIL},
    {"lmdif_with_user_data", (void (*)(void))lmdif_with_user_data,
     "void (" USER_DATA_CALLBACK ", void *, " FORTRAN_LMDIF_TAIL},
    {"lmder_with_user_data", (void (*)(void))lmder_with_user_data,
     "void (" USER_DATA_CALLBACK ", " USER_DATA_CALLBACK ", void *, " FORTRAN_LMDER_TAIL},
};

/* A dict of PyCapsules named by their C signatures, for minpack.capi. */
static PyObject *
capi_capsules(void)
{
    PyObject *capsules = PyDict_New();
    if (capsules == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof exported / sizeof exported[0]; i++) {
        PyObject *capsule =
            PyCapsule_New((void *)exported[i].function, exported[i].signature, NULL);
        if (capsule == NULL || PyDict_SetItemString(capsules, exported[i].name, capsule) < 0) {
            Py_XDECREF(capsule);
            Py_DECREF(capsules);
            return NULL;
        }
        Py_DECREF(capsule);
    }
    return capsules;
}

/* ---- many fits of compiled callbacks in one call (leastsq_batch) ------------------------ */

/* One batch's callbacks (user_data of the problem being fitted, or the callbacks' own),
 * and the non-finite rules' state of that problem. */
typedef struct {
    Compiled func;
    Compiled jac;
    Guard guard;
} BatchCall;
static _Thread_local BatchCall *active_batch = NULL;

static void
batch_lmdif_fcn(const int *m, const int *n, const double *x, double *fvec, int *iflag)
{
    BatchCall *call = active_batch;
    int asked = *iflag;
    double *point = (double *)x;
    if (guard_before(&call->guard, iflag, *m, *n, point, fvec)) {
        call_compiled(&call->func, *m, *n, x, fvec, iflag);
        guard_after(&call->guard, asked, iflag, *n, point, fvec, (size_t)*m, VALUES_UNCHECKED);
    }
}

static void
batch_lmder_fcn(const int *m, const int *n, const double *x, double *fvec, double *fjac,
                const int *ldfjac, int *iflag)
{
    BatchCall *call = active_batch;
    int asked = *iflag;
    double *point = (double *)x;
    (void)ldfjac; /* batch_fit passes ldfjac = m */
    if (!guard_before(&call->guard, iflag, *m, *n, point, fvec)) {
        return;
    }
    if (asked == 2) {
        call_compiled(&call->jac, *m, *n, x, fjac, iflag);
        guard_after(&call->guard, asked, iflag, *n, point, fjac, (size_t)*m * (size_t)*n,
                    VALUES_UNCHECKED);
    }
    else {
        call_compiled(&call->func, *m, *n, x, fvec, iflag);
        guard_after(&call->guard, asked, iflag, *n, point, fvec, (size_t)*m, VALUES_UNCHECKED);
    }
}

/* The arrays of one batch call, checked: float64/int arrays of the expected sizes. */
static int
check_batch_array(PyObject *array, int type, npy_intp size, const char *name)
{
    if (!PyArray_Check(array) || PyArray_TYPE((PyArrayObject *)array) != type ||
        !PyArray_IS_C_CONTIGUOUS((PyArrayObject *)array) ||
        !PyArray_ISWRITEABLE((PyArrayObject *)array) ||
        PyArray_SIZE((PyArrayObject *)array) != size) {
        PyErr_Format(PyExc_TypeError, "batch_fit: %s is not a writeable C-contiguous array "
                     "of %zd elements of the expected type", name, (Py_ssize_t)size);
        return -1;
    }
    return 0;
}

/*
 * batch_fit(func, jac, x, data_address, data_stride, start, stop, m, ftol, xtol, gtol,
 *           maxfev, epsfcn, diag, factor, info, nfev, njev, fnorm, r, ipvt, stop_flag)
 *
 * Fits problems start..stop-1 with lmdif (jac None) or lmder, without the GIL: x (K, n)
 * holds the starting points and receives the solutions; problem k's callbacks get
 * user data data_address + k * data_stride (or their own when data_address is 0).
 * Writes MINPACK's info (or the ier of a stop by the non-finite rules), nfev, njev, the
 * final residual norm, R (upper triangle, the rest zero) and the 0-based ipvt of each
 * problem.  Stops before the next problem once
 * stop_flag[0] is nonzero.  Returns how many problems it fitted.
 */
static PyObject *
batch_fit(PyObject *module, PyObject *args)
{
    PyObject *func_description, *jac_description, *x, *diag, *info, *nfev, *njev, *fnorm, *r;
    PyObject *ipvt, *stop_flag;
    unsigned long long data_address;
    Py_ssize_t data_stride, start, stop;
    int m, maxfev;
    double ftol, xtol, gtol, epsfcn, factor;
    if (!PyArg_ParseTuple(args, "OOOKnnnidddidOdOOOOOOO:batch_fit", &func_description,
                          &jac_description, &x, &data_address, &data_stride, &start, &stop,
                          &m, &ftol, &xtol, &gtol, &maxfev, &epsfcn, &diag, &factor, &info,
                          &nfev, &njev, &fnorm, &r, &ipvt, &stop_flag)) {
        return NULL;
    }
    BatchCall call;
    if (parse_compiled(func_description, &call.func) < 0 ||
        parse_compiled(jac_description, &call.jac) < 0) {
        return NULL;
    }
    if (call.func.function == NULL) {
        PyErr_SetString(PyExc_TypeError, "batch_fit needs a compiled func");
        return NULL;
    }
    if (!PyArray_Check(x) || PyArray_NDIM((PyArrayObject *)x) != 2) {
        PyErr_SetString(PyExc_TypeError, "batch_fit: x must be a (K, n) array");
        return NULL;
    }
    npy_intp K = PyArray_DIM((PyArrayObject *)x, 0), n_wide = PyArray_DIM((PyArrayObject *)x, 1);
    int n = (int)n_wide;
    if (check_batch_array(x, NPY_DOUBLE, K * n, "x") < 0 ||
        check_batch_array(info, NPY_INT, K, "info") < 0 ||
        check_batch_array(nfev, NPY_INT, K, "nfev") < 0 ||
        check_batch_array(njev, NPY_INT, K, "njev") < 0 ||
        check_batch_array(fnorm, NPY_DOUBLE, K, "fnorm") < 0 ||
        check_batch_array(r, NPY_DOUBLE, K * n * n, "r") < 0 ||
        check_batch_array(ipvt, NPY_INT, K * n, "ipvt") < 0 ||
        check_batch_array(stop_flag, NPY_INT, 1, "stop_flag") < 0 ||
        (diag != Py_None && check_batch_array(diag, NPY_DOUBLE, n, "diag") < 0)) {
        return NULL;
    }
    if (start < 0 || stop > K || start > stop || m < n || n < 1) {
        PyErr_SetString(PyExc_ValueError, "batch_fit: bad problem range or sizes");
        return NULL;
    }
    int mode = diag == Py_None ? 1 : 2, nprint = 0, ldfjac = m;
    const double *user_diag = diag == Py_None ? NULL : PyArray_DATA((PyArrayObject *)diag);
    double *xs = PyArray_DATA((PyArrayObject *)x), *fnorms = PyArray_DATA((PyArrayObject *)fnorm);
    double *rs = PyArray_DATA((PyArrayObject *)r);
    int *infos = PyArray_DATA((PyArrayObject *)info), *nfevs = PyArray_DATA((PyArrayObject *)nfev);
    int *njevs = PyArray_DATA((PyArrayObject *)njev), *ipvts = PyArray_DATA((PyArrayObject *)ipvt);
    volatile int *stopping = PyArray_DATA((PyArrayObject *)stop_flag);

    /* One workspace for the whole range: fvec, fjac, diag, qtf, wa1..wa4, the guard's point. */
    size_t doubles = (size_t)m * (size_t)n + 2 * (size_t)m + 6 * (size_t)n;
    double *work = malloc(doubles * sizeof(double));
    int *pivots = malloc((size_t)n * sizeof(int));
    if (work == NULL || pivots == NULL) {
        free(work);
        free(pivots);
        return PyErr_NoMemory();
    }
    double *fvec = work, *fjac = fvec + m, *wa4 = fjac + (size_t)m * n, *work_diag = wa4 + m;
    double *qtf = work_diag + n, *wa1 = qtf + n, *wa2 = wa1 + n, *wa3 = wa2 + n;
    call.guard.base_point = wa3 + n;
    Py_ssize_t k = start;
    Py_BEGIN_ALLOW_THREADS
    BatchCall *outer = active_batch;
    active_batch = &call;
    void *func_user_data = call.func.user_data, *jac_user_data = call.jac.user_data;
    for (; k < stop && !*stopping; k++) {
        if (data_address != 0) {
            void *row = (void *)(uintptr_t)(data_address + (unsigned long long)(k * data_stride));
            call.func.user_data = row;
            call.jac.user_data = row;
        }
        else {
            call.func.user_data = func_user_data;
            call.jac.user_data = jac_user_data;
        }
        double *xk = xs + (size_t)k * n;
        int njev_k = 0;
        guard_reset(&call.guard);
        /* As f2py's fvec in leastsq: zeros when MINPACK rejects the input unevaluated. */
        memset(fvec, 0, (size_t)m * sizeof(double));
        if (user_diag != NULL) {
            memcpy(work_diag, user_diag, (size_t)n * sizeof(double));
        }
        else {
            memset(work_diag, 0, (size_t)n * sizeof(double)); /* as leastsq: MINPACK fills it */
        }
        if (call.jac.function == NULL) {
            lmdif_(batch_lmdif_fcn, &m, &n, xk, fvec, &ftol, &xtol, &gtol, &maxfev, &epsfcn,
                   work_diag, &mode, &factor, &nprint, &infos[k], &nfevs[k], fjac, &ldfjac,
                   pivots, qtf, wa1, wa2, wa3, wa4);
        }
        else {
            lmder_(batch_lmder_fcn, &m, &n, xk, fvec, fjac, &ldfjac, &ftol, &xtol, &gtol, &maxfev,
                   work_diag, &mode, &factor, &nprint, &infos[k], &nfevs[k], &njev_k, pivots,
                   qtf, wa1, wa2, wa3, wa4);
        }
        if (call.guard.verdict != 0) {
            infos[k] = call.guard.verdict;
        }
        njevs[k] = njev_k;
        fnorms[k] = enorm_(&m, fvec);
        double *rk = rs + (size_t)k * n * n;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                rk[i * n + j] = j >= i ? fjac[i + (size_t)j * m] : 0.0;
            }
            ipvts[(size_t)k * n + i] = pivots[i] - 1;
        }
    }
    active_batch = outer;
    Py_END_ALLOW_THREADS
    free(work);
    free(pivots);
    return PyLong_FromSsize_t(k - start);
}

/* all_finite(x): whether a float64 vector holds no NaN or infinity (leastsq's check of x0). */
static PyObject *
all_finite(PyObject *module, PyObject *value)
{
    if (!is_plain_float64(value, 1) || !PyArray_IS_C_CONTIGUOUS((PyArrayObject *)value)) {
        PyErr_SetString(PyExc_TypeError, "all_finite needs a C-contiguous float64 vector");
        return NULL;
    }
    const double *data = PyArray_DATA((PyArrayObject *)value);
    npy_intp size = PyArray_DIM((PyArrayObject *)value, 0);
    for (npy_intp i = 0; i < size; i++) {
        if (!isfinite(data[i])) {
            Py_RETURN_FALSE;
        }
    }
    Py_RETURN_TRUE;
}

/* magnitudes_within(x, low, high): whether low < |x_i| < high for every x_i of a float64
 * vector (never for NaN): cheap tests for values that need no np.errstate, or no division
 * by zero. */
static PyObject *
magnitudes_within(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !is_plain_float64(args[0], 1) ||
        !PyArray_IS_C_CONTIGUOUS((PyArrayObject *)args[0]) || !PyFloat_CheckExact(args[1]) ||
        !PyFloat_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError,
                        "magnitudes_within needs a C-contiguous float64 vector and two floats");
        return NULL;
    }
    const double *data = PyArray_DATA((PyArrayObject *)args[0]);
    npy_intp size = PyArray_DIM((PyArrayObject *)args[0], 0);
    double low = PyFloat_AS_DOUBLE(args[1]), high = PyFloat_AS_DOUBLE(args[2]);
    for (npy_intp i = 0; i < size; i++) {
        double magnitude = fabs(data[i]);
        if (!(low < magnitude && magnitude < high)) {
            Py_RETURN_FALSE;
        }
    }
    Py_RETURN_TRUE;
}

static PyMethodDef Fit_methods[] = {
    {"run", (PyCFunction)(void (*)(void))Fit_run, METH_FASTCALL,
     "run(routine, *arguments)\n--\n\nCall an f2py MINPACK wrapper with this fit active."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef Fit_members[] = {
    {"error", T_OBJECT, offsetof(Fit, error), 0,
     "The exception that stopped the fit, or None."},
    {"pending", T_OBJECT, offsetof(Fit, pending), READONLY,
     "func(x0) until MINPACK's first call has used it, then None."},
    {"stopped_by_callback", T_INT, offsetof(Fit, stopped_by_callback), READONLY,
     "Whether the callback stopped the fit by returning True."},
    {"verdict", T_INT, offsetof(Fit, guard) + offsetof(Guard, verdict), READONLY,
     "0, or the ier with which non-finite values stopped the fit."},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject FitType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "minpack._trampoline.Fit",
    .tp_doc = PyDoc_STR("One fit's Python callbacks, for lmdif_fcn and lmder_fcn."),
    .tp_basicsize = sizeof(Fit),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = Fit_new,
    .tp_dealloc = (destructor)Fit_dealloc,
    .tp_traverse = (traverseproc)Fit_traverse,
    .tp_clear = (inquiry)Fit_clear,
    .tp_methods = Fit_methods,
    .tp_members = Fit_members,
};

static int
add_function_capsule(PyObject *module, const char *name, void (*function)(void))
{
    /* f2py takes an unnamed capsule holding the C function pointer. */
    PyObject *capsule = PyCapsule_New((void *)function, NULL, NULL);
    if (capsule == NULL) {
        return -1;
    }
    int status = PyModule_AddObjectRef(module, name, capsule);
    Py_DECREF(capsule);
    return status;
}

static int
trampoline_exec(PyObject *module)
{
    if (PyArray_ImportNumPyAPI() < 0) {
        return -1;
    }
    if (PyType_Ready(&FitType) < 0 || PyModule_AddType(module, &FitType) < 0) {
        return -1;
    }
    if (add_function_capsule(module, "lmdif_fcn", (void (*)(void))lmdif_fcn) < 0 ||
        add_function_capsule(module, "lmder_fcn", (void (*)(void))lmder_fcn) < 0) {
        return -1;
    }
    if (PyModule_AddIntMacro(module, NONFINITE_AT_X0) < 0 ||
        PyModule_AddIntMacro(module, NONFINITE_JACOBIAN) < 0) {
        return -1;
    }
    PyObject *capsules = capi_capsules();
    if (capsules == NULL) {
        return -1;
    }
    int status = PyModule_AddObjectRef(module, "capi", capsules);
    Py_DECREF(capsules);
    return status;
}

/* enorm(v): MINPACK's Euclidean norm of a float64 vector (the fnorm it reports). */
static PyObject *
minpack_enorm(PyObject *module, PyObject *value)
{
    if (!is_plain_float64(value, 1) || !PyArray_IS_C_CONTIGUOUS((PyArrayObject *)value) ||
        PyArray_DIM((PyArrayObject *)value, 0) > INT_MAX) {
        PyErr_SetString(PyExc_TypeError, "enorm needs a C-contiguous float64 vector");
        return NULL;
    }
    int size = (int)PyArray_DIM((PyArrayObject *)value, 0);
    return PyFloat_FromDouble(enorm_(&size, PyArray_DATA((PyArrayObject *)value)));
}

/* capsule_parts(capsule): (pointer address, name or None, context address). */
static PyObject *
capsule_parts(PyObject *module, PyObject *capsule)
{
    if (!PyCapsule_CheckExact(capsule)) {
        PyErr_SetString(PyExc_TypeError, "capsule_parts needs a PyCapsule");
        return NULL;
    }
    const char *name = PyCapsule_GetName(capsule);
    void *pointer = PyCapsule_GetPointer(capsule, name);
    if (pointer == NULL) {
        return NULL;
    }
    void *context = PyCapsule_GetContext(capsule);
    if (context == NULL && PyErr_Occurred()) {
        return NULL;
    }
    return Py_BuildValue("KzK", (unsigned long long)(uintptr_t)pointer, name,
                         (unsigned long long)(uintptr_t)context);
}

static PyMethodDef trampoline_functions[] = {
    {"all_finite", all_finite, METH_O,
     "all_finite(x)\n--\n\nWhether a float64 vector holds no NaN or infinity."},
    {"magnitudes_within", (PyCFunction)(void (*)(void))magnitudes_within, METH_FASTCALL,
     "magnitudes_within(x, low, high)\n--\n\nWhether low < |x_i| < high for every x_i of a "
     "float64 vector."},
    {"batch_fit", batch_fit, METH_VARARGS,
     "batch_fit(func, jac, x, data_address, data_stride, start, stop, m, ftol, xtol, gtol,\n"
     "          maxfev, epsfcn, diag, factor, info, nfev, njev, fnorm, r, ipvt, stop_flag)\n"
     "--\n\nFit problems start..stop-1 with compiled callbacks, without the GIL."},
    {"enorm", minpack_enorm, METH_O,
     "enorm(v)\n--\n\nMINPACK's Euclidean norm of a float64 vector."},
    {"capsule_parts", capsule_parts, METH_O,
     "capsule_parts(capsule)\n--\n\nA PyCapsule's (pointer, name, context)."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot trampoline_slots[] = {
    {Py_mod_exec, trampoline_exec},
#ifdef Py_GIL_DISABLED
    /* Each fit's state is its own Fit object and a thread-local pointer. */
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef trampoline_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "minpack._trampoline",
    .m_doc = "The C hot path of leastsq's callbacks into Python.",
    .m_size = 0,
    .m_methods = trampoline_functions,
    .m_slots = trampoline_slots,
};

PyMODINIT_FUNC
PyInit__trampoline(void)
{
    return PyModuleDef_Init(&trampoline_module);
}
