/*
 * MINPACK's fcn for every fit (see evaluation.h).
 *
 * The rules for Python callbacks are those of src/minpack/_callback.py, which this file
 * only makes fast: the user receives a fresh copy of x; what the user returns is copied
 * into MINPACK's buffers only when it is a float64 array of exactly the right shape;
 * anything else goes through the Python checkers, which convert it or raise the
 * documented TypeError/ValueError; any exception is captured (never printed) and stops
 * MINPACK at once through a negative iflag.  When every callback of a fit is compiled,
 * MINPACK runs without the GIL, so nothing on that path touches Python.
 */
#include "evaluation.h"

#include <stdatomic.h>

#include "numpy_api.h"

/* The fit whose MINPACK call is running in this thread. */
static _Thread_local Evaluation *active = NULL;

void
call_compiled(const CompiledCode *code, int m, int n, const double *x, double *out, int *iflag)
{
    if (code->with_user_data) {
        ((callback_with_data)code->function)(m, n, x, out, iflag, code->user_data);
    }
    else {
        ((callback_without_data)code->function)(m, n, x, out, iflag);
    }
}

/* ---- setting a fit up -------------------------------------------------------------------- */

/* Read one callback: a CompiledCallback, a Python callable, or (when optional) None. */
static int
read_callback(PyObject *given, const char *name, int optional, PyObject **python,
              CompiledCode *compiled)
{
    *python = NULL;
    compiled->function = NULL;
    if (given == Py_None && optional) {
        return 0;
    }
    if (Py_IS_TYPE(given, &CompiledCallbackType)) {
        *compiled = ((CompiledCallback *)given)->code;
        return 0;
    }
    if (!PyCallable_Check(given)) {
        PyErr_Format(PyExc_TypeError, "%s must be callable or a compiled function, not %R",
                     name, given);
        return -1;
    }
    *python = given;
    return 0;
}

int
evaluation_init(Evaluation *ev, PyObject *func, PyObject *jac, PyObject *args,
                PyObject *callback, int col_deriv, double *base_point)
{
    if (read_callback(func, "func", 0, &ev->func, &ev->compiled_func) < 0 ||
        read_callback(jac, "Dfun", 1, &ev->jac, &ev->compiled_jac) < 0) {
        return -1;
    }
    if (args != NULL && !PyTuple_Check(args)) {
        PyErr_SetString(PyExc_TypeError, "args must be a tuple");
        return -1;
    }
    if (callback != Py_None && !PyCallable_Check(callback)) {
        PyErr_Format(PyExc_TypeError, "callback must be callable, not %R", callback);
        return -1;
    }
    ev->with_jacobian = jac != Py_None;
    ev->col_deriv = col_deriv;
    ev->args = args;
    ev->callback = callback == Py_None ? NULL : callback;
    ev->x0_in_fvec = 0;
    ev->evaluations = 0;
    ev->stopped_by_callback = 0;
    ev->error = NULL;
    ev->guard.base_point = base_point;
    guard_reset(&ev->guard);
    ev->outer = NULL;
    return 0;
}

int
evaluation_is_compiled(const Evaluation *ev)
{
    return ev->func == NULL && ev->jac == NULL && ev->callback == NULL;
}

void
evaluation_enter(Evaluation *ev)
{
    guard_reset(&ev->guard);
    ev->outer = active;
    active = ev;
}

void
evaluation_leave(Evaluation *ev)
{
    active = ev->outer;
    ev->outer = NULL;
}

PyObject *
evaluation_raise(Evaluation *ev)
{
    PyObject *error = ev->error;
    ev->error = NULL;
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(error);
#else
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(error)), error, PyException_GetTraceback(error));
#endif
    return NULL;
}

/* Keep the exception that is being raised, and stop MINPACK. */
static void
stop_with_error(Evaluation *ev, int *iflag)
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
    Py_XSETREF(ev->error, error);
    *iflag = STOP_FIT;
}

/* ---- Python callbacks -------------------------------------------------------------------- */

/* The Python layer's checkers (evaluation.h): looked up in minpack._callback once, when
 * first needed. */
static const char *const checker_names[CHECKERS] = {"check_residuals", "check_jacobian",
                                                    "check_round"};
static _Atomic(PyObject *) checkers[CHECKERS];

PyObject *
python_checker(int which)
{
    PyObject *found = atomic_load(&checkers[which]);
    if (found != NULL) {
        return found;
    }
    PyObject *module = PyImport_ImportModule("minpack._callback");
    if (module == NULL) {
        return NULL;
    }
    found = PyObject_GetAttrString(module, checker_names[which]);
    Py_DECREF(module);
    if (found == NULL) {
        return NULL;
    }
    PyObject *expected = NULL;
    if (!atomic_compare_exchange_strong(&checkers[which], &expected, found)) {
        Py_DECREF(found); /* another thread stored the same function first */
        found = expected;
    }
    return found; /* kept for the life of the process */
}

/* Call function(copy of x, *ev->args); a new reference, or NULL with an error set. */
static PyObject *
call_user(Evaluation *ev, PyObject *function, const double *x, npy_intp n)
{
    /* A new array for every call: the user may keep the one of an earlier call. */
    PyObject *x_copy = PyArray_SimpleNew(1, &n, NPY_DOUBLE);
    if (x_copy == NULL) {
        return NULL;
    }
    memcpy(PyArray_DATA((PyArrayObject *)x_copy), x, (size_t)n * sizeof(double));

    Py_ssize_t nargs = PyTuple_GET_SIZE(ev->args);
    PyObject *result;
    if (nargs < MAX_STACK_ARGS) {
        PyObject *stack[MAX_STACK_ARGS];
        stack[0] = x_copy;
        for (Py_ssize_t i = 0; i < nargs; i++) {
            stack[i + 1] = PyTuple_GET_ITEM(ev->args, i);
        }
        result = PyObject_Vectorcall(function, stack, (size_t)(nargs + 1), NULL);
    }
    else {
        PyObject *all = PyTuple_New(nargs + 1);
        if (all == NULL) {
            Py_DECREF(x_copy);
            return NULL;
        }
        PyTuple_SET_ITEM(all, 0, Py_NewRef(x_copy));
        for (Py_ssize_t i = 0; i < nargs; i++) {
            PyTuple_SET_ITEM(all, i + 1, Py_NewRef(PyTuple_GET_ITEM(ev->args, i)));
        }
        result = PyObject_Call(function, all, NULL);
        Py_DECREF(all);
    }
    Py_DECREF(x_copy);
    return result;
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
store_residuals(PyObject *value, double *fvec, npy_intp m, int *finite)
{
    PyObject *checked = NULL;
    if (!(is_float64_vector(value) && PyArray_DIM((PyArrayObject *)value, 0) == m)) {
        PyObject *check = python_checker(CHECK_RESIDUALS);
        checked = check == NULL ? NULL : PyObject_CallFunction(check, "On", value, m);
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
store_jacobian(Evaluation *ev, PyObject *value, double *fjac, npy_intp m, npy_intp n,
               int *finite)
{
    npy_intp rows = ev->col_deriv ? n : m, cols = ev->col_deriv ? m : n;
    PyObject *checked = NULL;
    if (!(is_plain_float64(value, 2) && PyArray_DIM((PyArrayObject *)value, 0) == rows &&
          PyArray_DIM((PyArrayObject *)value, 1) == cols &&
          (PyArray_IS_C_CONTIGUOUS((PyArrayObject *)value) ||
           PyArray_IS_F_CONTIGUOUS((PyArrayObject *)value)))) {
        /* The checker returns a C-contiguous float64 array of the right shape. */
        PyObject *check = python_checker(CHECK_JACOBIAN);
        checked = check == NULL ? NULL
                                : PyObject_CallFunction(check, "Onni", value, m, n, ev->col_deriv);
        if (checked == NULL) {
            return -1;
        }
        value = checked;
    }
    PyArrayObject *array = (PyArrayObject *)value;
    const double *data = PyArray_DATA(array);
    /* Column-major m x n memory is C-ordered (n, m) memory, and F-ordered (m, n). */
    int already_column_major = ev->col_deriv ? PyArray_IS_C_CONTIGUOUS(array)
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

/* Fill fvec with func's residuals at x; 0, or -1 with an error set.  With finite, also
 * tell whether they are all finite. */
static int
evaluate_residuals(Evaluation *ev, const double *x, double *fvec, npy_intp m, npy_intp n,
                   int *finite)
{
    if (ev->x0_in_fvec) {
        /* MINPACK's first call is at x0, where the fit was given func(x0) in fvec. */
        ev->x0_in_fvec = 0;
        if (finite != NULL) {
            *finite = finite_values(fvec, (size_t)m);
        }
        return 0;
    }
    PyObject *value = call_user(ev, ev->func, x, n);
    if (value == NULL) {
        return -1;
    }
    int status = store_residuals(value, fvec, m, finite);
    Py_DECREF(value);
    return status;
}

/* MINPACK's iflag = 0 call (nprint): hand the iterate to the Python callback. */
static void
report_iterate(Evaluation *ev, int m, int n, const double *x, double *fvec, int *iflag)
{
    if (ev->stopped_by_callback || ev->error != NULL || ev->guard.verdict != 0) {
        /* MINPACK's last iflag = 0 call, after the fit was stopped: nothing to report. */
        return;
    }
    npy_intp size = n;
    PyObject *x_copy = PyArray_SimpleNew(1, &size, NPY_DOUBLE);
    if (x_copy == NULL) {
        stop_with_error(ev, iflag);
        return;
    }
    memcpy(PyArray_DATA((PyArrayObject *)x_copy), x, (size_t)n * sizeof(double));
    PyObject *answer = PyObject_CallFunction(ev->callback, "Ndl", x_copy, enorm_(&m, fvec),
                                             ev->evaluations);
    if (answer == NULL) {
        stop_with_error(ev, iflag);
        return;
    }
    int stop = PyObject_IsTrue(answer);
    Py_DECREF(answer);
    if (stop < 0) {
        stop_with_error(ev, iflag);
    }
    else if (stop) {
        ev->stopped_by_callback = 1;
        *iflag = STOP_FIT;
    }
}

/* ---- MINPACK's fcn ------------------------------------------------------------------------ */

/* lmdif's: iflag 1 asks for the residuals at x, 2 for those at a point of the forward
 * differences (MINPACK's own x with one component moved), 0 reports an iterate. */
void
evaluation_lmdif_fcn(const int *m, const int *n, const double *x, double *fvec, int *iflag)
{
    Evaluation *ev = active;
    if (*iflag == 0) { /* only with nprint > 0, that is with a callback */
        report_iterate(ev, *m, *n, x, fvec, iflag);
        return;
    }
    ev->evaluations++;
    int asked = *iflag;
    double *point = (double *)x; /* MINPACK's x or wa2; the guard may put x back */
    if (!guard_before(&ev->guard, iflag, *m, *n, point, fvec)) {
        return;
    }
    int finite = VALUES_UNCHECKED;
    if (ev->func == NULL) {
        call_compiled(&ev->compiled_func, *m, *n, x, fvec, iflag);
    }
    else if (evaluate_residuals(ev, x, fvec, *m, *n,
                                guard_checks(&ev->guard, asked) ? &finite : NULL) != 0) {
        stop_with_error(ev, iflag);
        return;
    }
    guard_after(&ev->guard, asked, iflag, *n, point, fvec, (size_t)*m, finite);
}

/* lmder's: iflag 1 asks for fvec, 2 for fjac (leading dimension m: the engine's), 0
 * reports an iterate. */
void
evaluation_lmder_fcn(const int *m, const int *n, const double *x, double *fvec, double *fjac,
                     const int *ldfjac, int *iflag)
{
    Evaluation *ev = active;
    (void)ldfjac; /* the engine passes ldfjac = m */
    if (*iflag == 0) {
        report_iterate(ev, *m, *n, x, fvec, iflag);
        return;
    }
    int asked = *iflag;
    if (asked != 2) {
        ev->evaluations++;
    }
    double *point = (double *)x;
    if (!guard_before(&ev->guard, iflag, *m, *n, point, fvec)) {
        return;
    }
    double *out = asked == 2 ? fjac : fvec;
    size_t count = asked == 2 ? (size_t)*m * (size_t)*n : (size_t)*m;
    PyObject *python = asked == 2 ? ev->jac : ev->func;
    int finite = VALUES_UNCHECKED;
    if (python == NULL) {
        call_compiled(asked == 2 ? &ev->compiled_jac : &ev->compiled_func, *m, *n, x, out,
                      iflag);
    }
    else {
        int status;
        if (asked == 2) {
            PyObject *value = call_user(ev, python, x, *n);
            status = value == NULL ? -1 : store_jacobian(ev, value, fjac, *m, *n, &finite);
            Py_XDECREF(value);
        }
        else {
            status = evaluate_residuals(ev, x, fvec, *m, *n,
                                        guard_checks(&ev->guard, asked) ? &finite : NULL);
        }
        if (status != 0) {
            stop_with_error(ev, iflag);
            return;
        }
    }
    guard_after(&ev->guard, asked, iflag, *n, point, out, count, finite);
}
