/*
 * Vectorized batches: one call of the user's NumPy function per round for all the problems
 * of a chunk, each problem still its own Fortran run.
 *
 * MINPACK calls its fcn itself, so each problem's lmdif or lmder (engine_call_minpack, the
 * fit engine's own call) runs on a coroutine of its own (coroutine.h).  When MINPACK asks
 * for an evaluation, the problem records where and yields.  Once every problem of the chunk
 * waits, the driver makes one call of func for all the residuals asked for (and one of Dfun
 * for the Jacobians), copies each row back and resumes each problem.  The Fortran is
 * untouched and every problem takes the steps it would take alone; the non-finite rules
 * (guard.h) apply inside each problem as in every other fit.
 *
 * A chunk is a fixed number of slots, each with its stack and MINPACK workspace.  When a
 * problem finishes, its slot takes the next problem of the range at once, so that every
 * round stays as wide as the chunk until the range runs out.
 *
 * The coroutines touch no Python: the driver releases the GIL while it resumes them, and
 * holds it to call the user's functions.  A problem is stopped only through MINPACK's
 * iflag, never by abandoning its frames: on an exception, Ctrl-C or a stop request, every
 * unfinished problem is resumed with iflag -1 and returns before its stack is freed.
 */
#include "engine.h"

#include <stdint.h>
#include <stdlib.h>

#include "coroutine.h"
#include "extension.h"
#include "numpy_api.h"

#define ARRAY_DATA(object) PyArray_DATA((PyArrayObject *)(object))

/* Each problem's stack: MINPACK's frames and the fcn's need a few KiB; 64 KiB leaves a wide
 * margin, and the pages never touched cost no memory. */
#define STACK_BYTES ((size_t)64 << 10)

enum { NO_REQUEST, RESIDUALS, JACOBIAN };

typedef struct {
    Coroutine co;
    Workspace w;
    Guard guard;
    Counts counts;
    const Options *options;
    Py_ssize_t problem; /* the batch's problem in this slot, or -1 when it is empty */
    double *x;          /* its row of the batch's x, fitted in place */
    int with_jacobian;  /* lmder */
    /* The request the problem waits on: what, where, and where the answer goes. */
    int asked;
    double *point;
    double *out;
    int stop; /* the driver stops the fit: the request answers iflag -1 */
    int done;
} Slot;

typedef struct {
    Slot *slots;
    Py_ssize_t width;
    Py_ssize_t next, end; /* the problems not started yet: next .. end-1 */
    double *x;            /* the batch's (K, n) points */
    int m, n;
    int stopping; /* no new problems, and the results of the stopped ones are dropped */
    BatchOutputs results;
} Chunk;

/* The slot whose coroutine runs in this thread (set by the driver at each resume). */
static _Thread_local Slot *current = NULL;

/* Wait for the driver's answer; -1 when the driver stops the fit instead. */
static int
wait_for(Slot *slot, int asked, double *point, double *out)
{
    slot->asked = asked;
    slot->point = point;
    slot->out = out;
    coroutine_yield(&slot->co);
    slot->asked = NO_REQUEST;
    return slot->stop ? -1 : 0;
}

/* MINPACK's request of the slot's problem, answered by the driver's next round: the
 * Jacobian into fjac when lmder asks for it (fjac given, iflag 2), else residuals into fvec
 * (lmdif's iflag 2 asks for residuals too, at a point of its forward differences). */
static void
serve(const int *m, const int *n, const double *x, double *fvec, double *fjac, int *iflag)
{
    Slot *slot = current;
    if (*iflag == 0) {
        return; /* nprint is 0: never */
    }
    int asked = *iflag;
    double *point = (double *)x;
    if (!guard_before(&slot->guard, iflag, *m, *n, point, fvec)) {
        return;
    }
    int jacobian = fjac != NULL && asked == 2;
    double *out = jacobian ? fjac : fvec;
    if (wait_for(slot, jacobian ? JACOBIAN : RESIDUALS, point, out) < 0) {
        *iflag = STOP_FIT;
        return;
    }
    size_t count = jacobian ? (size_t)*m * (size_t)*n : (size_t)*m;
    guard_after(&slot->guard, asked, iflag, *n, point, out, count, VALUES_UNCHECKED);
}

static void
vectorized_lmdif_fcn(const int *m, const int *n, const double *x, double *fvec, int *iflag)
{
    serve(m, n, x, fvec, NULL, iflag);
}

static void
vectorized_lmder_fcn(const int *m, const int *n, const double *x, double *fvec, double *fjac,
                     const int *ldfjac, int *iflag)
{
    (void)ldfjac; /* the workspace's: m */
    serve(m, n, x, fvec, fjac, iflag);
}

/* A coroutine's body: one problem's whole MINPACK run.  It never returns: a finished
 * problem yields for good, until its slot starts the next one on a fresh frame. */
static void
problem_body(void *argument)
{
    Slot *slot = argument;
    guard_reset(&slot->guard);
    engine_call_minpack(vectorized_lmdif_fcn, slot->with_jacobian ? vectorized_lmder_fcn : NULL,
                        0, slot->options, slot->x, &slot->w, &slot->counts);
    if (slot->counts.info == 0 && slot->counts.nfev == 0 && !slot->stop) {
        /* Improper input: MINPACK evaluated nothing, but leastsq's fvec (hence fnorm) is
         * func(x0), from the call that leastsq makes before MINPACK starts. */
        wait_for(slot, RESIDUALS, slot->x, slot->w.fvec);
    }
    if (slot->guard.verdict != 0) {
        slot->counts.info = slot->guard.verdict;
    }
    slot->done = 1;
    for (;;) {
        coroutine_yield(&slot->co);
    }
}

/* Put the range's next problem in the slot, or leave the slot empty (-1). */
static void
take_next(Chunk *chunk, Slot *slot)
{
    slot->problem = -1;
    if (chunk->stopping || chunk->next >= chunk->end) {
        return;
    }
    slot->problem = chunk->next++;
    slot->x = chunk->x + (size_t)slot->problem * chunk->n;
    slot->done = 0;
    slot->stop = 0;
    slot->asked = NO_REQUEST;
    coroutine_start(&slot->co, problem_body, slot); /* cannot fail once created */
}

/* Resume every problem until it asks for something; a finished problem gives its slot to
 * the next one, which runs to its first request in the same round. */
static void
run_round(Chunk *chunk)
{
    for (Py_ssize_t i = 0; i < chunk->width; i++) {
        Slot *slot = &chunk->slots[i];
        while (slot->problem >= 0) {
            current = slot;
            coroutine_resume(&slot->co);
            current = NULL;
            if (!slot->done) {
                break;
            }
            if (!chunk->stopping) {
                batch_outputs_write(&chunk->results, slot->problem, &slot->w, &slot->counts);
            }
            take_next(chunk, slot);
        }
    }
}

/* Stop every unfinished problem through iflag, so that each MINPACK run returns. */
static void
stop_all(Chunk *chunk)
{
    chunk->stopping = 1;
    for (Py_ssize_t i = 0; i < chunk->width; i++) {
        chunk->slots[i].stop = 1;
    }
    run_round(chunk);
}

static void
free_slots(Slot *slots, Py_ssize_t count)
{
    for (Py_ssize_t i = 0; i < count; i++) {
        coroutine_free(&slots[i].co);
        workspace_free(&slots[i].w);
    }
    free(slots);
}

/* function(X, D, *args) for the k points X, D being data[indices] (left out when data is
 * None); a new reference, or NULL with an error set. */
static PyObject *
call_vectorized(PyObject *function, PyObject *points, PyObject *indices, PyObject *data,
                PyObject *args)
{
    Py_ssize_t nargs = PyTuple_GET_SIZE(args), with_data = data != Py_None;
    PyObject *call = PyTuple_New(1 + with_data + nargs);
    if (call == NULL) {
        return NULL;
    }
    PyTuple_SET_ITEM(call, 0, Py_NewRef(points));
    if (with_data) {
        PyObject *selected = PyObject_GetItem(data, indices);
        if (selected == NULL) {
            Py_DECREF(call);
            return NULL;
        }
        PyTuple_SET_ITEM(call, 1, selected);
    }
    for (Py_ssize_t j = 0; j < nargs; j++) {
        PyTuple_SET_ITEM(call, 1 + with_data + j, Py_NewRef(PyTuple_GET_ITEM(args, j)));
    }
    PyObject *value = PyObject_Call(function, call, NULL);
    Py_DECREF(call);
    return value;
}

/* The answer as a C-contiguous float64 array of the expected shape: value itself when it
 * is one (the fast path), else what minpack._callback.check_round makes of it, or NULL
 * with its error.  Steals value. */
static PyObject *
checked_answer(PyObject *value, int kind, Py_ssize_t rows, int m, int n, int col_deriv)
{
    int ndim = kind == JACOBIAN ? 3 : 2;
    npy_intp expected[3] = {rows, kind == JACOBIAN && col_deriv ? n : m,
                            kind == JACOBIAN && !col_deriv ? n : m};
    int plain = is_plain_float64(value, ndim) && PyArray_IS_C_CONTIGUOUS((PyArrayObject *)value);
    for (int d = 0; plain && d < ndim; d++) {
        plain = PyArray_DIM((PyArrayObject *)value, d) == expected[d];
    }
    if (plain) {
        return value;
    }
    PyObject *check = python_checker(CHECK_ROUND);
    PyObject *checked =
        check == NULL ? NULL
                      : PyObject_CallFunction(check, "Onnnii", value, rows, (Py_ssize_t)m,
                                              (Py_ssize_t)n, kind == JACOBIAN, col_deriv);
    Py_DECREF(value);
    return checked;
}

/*
 * Answer the requests of one kind: call function once for every slot that asked for it and
 * copy each row where its problem waits.  Returns how many were answered, or -1 with an
 * error set.  round's one item becomes the asking problems' numbers, for the note of an
 * exception.
 */
static Py_ssize_t
answer(Chunk *chunk, int kind, PyObject *function, PyObject *data, PyObject *args,
       int col_deriv, PyObject *round)
{
    int m = chunk->m, n = chunk->n;
    Py_ssize_t asked = 0;
    for (Py_ssize_t i = 0; i < chunk->width; i++) {
        asked += chunk->slots[i].problem >= 0 && chunk->slots[i].asked == kind;
    }
    if (asked == 0) {
        return 0;
    }
    npy_intp points_shape[2] = {asked, n}, index_shape = asked;
    PyObject *points = PyArray_SimpleNew(2, points_shape, NPY_DOUBLE);
    PyObject *indices = PyArray_SimpleNew(1, &index_shape, NPY_INTP);
    if (points == NULL || indices == NULL ||
        PyList_SetSlice(round, 0, PyList_GET_SIZE(round), NULL) < 0 ||
        PyList_Append(round, indices) < 0) {
        Py_XDECREF(points);
        Py_XDECREF(indices);
        return -1;
    }
    double *rows = ARRAY_DATA(points);
    npy_intp *numbers = ARRAY_DATA(indices);
    Py_ssize_t row = 0;
    for (Py_ssize_t i = 0; i < chunk->width; i++) {
        Slot *slot = &chunk->slots[i];
        if (slot->problem >= 0 && slot->asked == kind) {
            memcpy(rows + row * n, slot->point, (size_t)n * sizeof(double));
            numbers[row++] = slot->problem;
        }
    }
    PyObject *value = call_vectorized(function, points, indices, data, args);
    Py_DECREF(points);
    Py_DECREF(indices);
    value = value == NULL ? NULL : checked_answer(value, kind, asked, m, n, col_deriv);
    if (value == NULL) {
        return -1;
    }
    const double *answers = ARRAY_DATA(value);
    size_t stride = kind == JACOBIAN ? (size_t)m * n : (size_t)m;
    row = 0;
    for (Py_ssize_t i = 0; i < chunk->width; i++) {
        Slot *slot = &chunk->slots[i];
        if (slot->problem < 0 || slot->asked != kind) {
            continue;
        }
        const double *source = answers + (size_t)row++ * stride;
        if (kind == RESIDUALS || col_deriv) {
            /* residuals; or (n, m) rows, which are fjac's columns */
            memcpy(slot->out, source, stride * sizeof(double));
        }
        else {
            for (int r = 0; r < m; r++) { /* (m, n) rows into column-major fjac */
                for (int c = 0; c < n; c++) {
                    slot->out[r + (size_t)c * m] = source[(size_t)r * n + c];
                }
            }
        }
    }
    Py_DECREF(value);
    return asked;
}

/* Give each of the chunk's slots a stack and a workspace and its first problem; 0, or -1
 * with MemoryError (nothing then remains allocated). */
static int
make_slots(Chunk *chunk, const Options *options, int with_jacobian)
{
    chunk->slots = calloc((size_t)chunk->width, sizeof(Slot));
    if (chunk->slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < chunk->width; i++) {
        Slot *slot = &chunk->slots[i];
        slot->options = options;
        slot->with_jacobian = with_jacobian;
        if (workspace_init(&slot->w, chunk->m, chunk->n, NULL, NULL, NULL, NULL) < 0 ||
            coroutine_create(&slot->co, STACK_BYTES) < 0) {
            free_slots(chunk->slots, i + 1); /* workspace_free takes one never made */
            chunk->slots = NULL;
            PyErr_NoMemory();
            return -1;
        }
        slot->guard.base_point = slot->w.base_point;
        take_next(chunk, slot);
    }
    return 0;
}

PyObject *
vectorized_coroutines(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    return PyBool_FromLong(COROUTINES_AVAILABLE);
}

/*
 * fit_vectorized(func, jac, x, data, args, m, settings, maxfev, epsfcn, start, stop,
 *                outputs, stop_flag, round, width)
 *
 * Fits problems start..stop-1 of x (K, n), each in place, with a vectorized Python func
 * (and jac, or None) on `width` coroutines: func(X, D, *args) returns the (k, m) residuals
 * of the k points X of a round, D being data[indices] (left out when data is None); jac
 * returns (k, m, n), or (k, n, m) with the settings' col_deriv.  Writes outputs.ier,
 * .nfev, .njev, .fnorm and .cov_x as fit_batch does.  A stop_flag set stops every problem
 * (the rest are not fitted).  On an exception round[0] holds the failing round's problems.
 * Returns how many problems it fitted.
 */
PyObject *
vectorized_fit(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 15) {
        PyErr_SetString(PyExc_TypeError, "fit_vectorized() takes 15 arguments");
        return NULL;
    }
    PyObject *func = args[0], *jac = args[1], *x = args[2], *data = args[3], *extra = args[4];
    PyObject *settings = args[6], *outputs = args[11], *round = args[13];
    long m = PyLong_AsLong(args[5]);
    Py_ssize_t start = PyLong_AsSsize_t(args[9]), end = PyLong_AsSsize_t(args[10]);
    Py_ssize_t width = PyLong_AsSsize_t(args[14]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (!PyCallable_Check(func) || (jac != Py_None && !PyCallable_Check(jac)) ||
        !PyTuple_Check(extra) || !PyList_Check(round) || !is_plain_float64(x, 2) ||
        !PyArray_IS_C_CONTIGUOUS((PyArrayObject *)x)) {
        PyErr_SetString(PyExc_TypeError, "fit_vectorized: arguments of the wrong kinds");
        return NULL;
    }
    npy_intp total = PyArray_DIM((PyArrayObject *)x, 0);
    int n = (int)PyArray_DIM((PyArrayObject *)x, 1);
    if (start < 0 || end > total || start > end || width < 1) {
        PyErr_SetString(PyExc_ValueError, "fit_vectorized: bad range of problems");
        return NULL;
    }
    if (check_sizes(m, n) < 0) {
        return NULL;
    }
    Options options;
    Chunk chunk = {.next = start, .end = end, .x = ARRAY_DATA(x), .m = (int)m, .n = n};
    int col_deriv = PyObject_IsTrue(PyTuple_GET_ITEM(settings, 7));
    volatile int *stopping = NULL;
    if (col_deriv < 0 || read_options(&options, settings, args[7], args[8], n, 0) < 0 ||
        batch_outputs_read(&chunk.results, outputs, total, n) < 0 ||
        (stopping = batch_stop_flag(args[12])) == NULL) {
        return NULL;
    }
    if (!COROUTINES_AVAILABLE) {
        PyErr_SetString(PyExc_NotImplementedError, "no coroutines on this platform");
        return NULL;
    }
    chunk.width = width < end - start ? width : end - start;
    if (chunk.width == 0) {
        return PyLong_FromSsize_t(0);
    }
    if (make_slots(&chunk, &options, jac != Py_None) < 0) {
        return NULL;
    }

    int failed = 0;
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        run_round(&chunk);
        Py_END_ALLOW_THREADS
        if (*stopping || PyErr_CheckSignals() < 0) {
            failed = PyErr_Occurred() != NULL;
            break;
        }
        Py_ssize_t residuals = answer(&chunk, RESIDUALS, func, data, extra, col_deriv, round);
        Py_ssize_t jacobians = residuals < 0 ? -1
                                             : answer(&chunk, JACOBIAN, jac, data, extra,
                                                      col_deriv, round);
        if (residuals < 0 || jacobians < 0) {
            failed = 1;
            break;
        }
        if (residuals == 0 && jacobians == 0) {
            break; /* every problem of the range has finished */
        }
    }
    if (failed || *stopping) {
        /* Every unfinished MINPACK run returns through iflag before its stack goes (no
         * Python runs meanwhile: the pending exception stays as it is). */
        stop_all(&chunk);
    }
    free_slots(chunk.slots, chunk.width);
    if (failed) {
        return NULL;
    }
    return PyLong_FromSsize_t(*stopping ? 0 : end - start);
}
