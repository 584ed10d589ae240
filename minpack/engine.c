/*
 * The fit engine (engine.h): one workspace per fit, MINPACK called directly, cov_x and
 * the 0-based ipvt computed once for every kind of fit.
 */
#include "engine.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "extension.h"
#include <stdlib.h>

#include "numpy_api.h"

/* ---- the workspace ------------------------------------------------------------------------ */

/* Blocks at least this large come from NumPy's allocator, which asks Linux for huge pages
 * for them (NumPy's own threshold): at m = 10^6, n = 4, one plain malloc of 6m doubles
 * page-faulted 38,000 times a fit, three NumPy blocks 2,300 times (as f2py's arrays did).
 * Smaller fits take one malloc: three NumPy arrays cost about 0.3 us a fit. */
#define LARGE_BLOCK_BYTES ((size_t)4 << 20)

/* A block of `count` doubles: a NumPy vector kept in *owner, or NULL with an error set. */
static double *
new_block(size_t count, PyObject **owner)
{
    npy_intp size = (npy_intp)count;
    *owner = PyArray_SimpleNew(1, &size, NPY_DOUBLE);
    return *owner == NULL ? NULL : PyArray_DATA((PyArrayObject *)*owner);
}

int
workspace_init(Workspace *w, int m, int n, double *fvec, double *fjac, int *ipvt, double *qtf)
{
    /* diag, wa1..wa3, base_point (5n), inverse (n^2), wa4 (m); qtf (n), ipvt (n ints fit
     * in n doubles) unless given; then fvec (m) and fjac (mn) unless given. */
    size_t small = 5 * (size_t)n + (size_t)n * (size_t)n + (size_t)m;
    small += (qtf == NULL ? (size_t)n : 0) + (ipvt == NULL ? (size_t)n : 0);
    size_t fvec_size = fvec == NULL ? (size_t)m : 0;
    size_t fjac_size = fjac == NULL ? (size_t)m * (size_t)n : 0;
    size_t total = small + fvec_size + fjac_size;
    w->m = m;
    w->n = n;
    w->block = NULL;
    w->owners[0] = w->owners[1] = w->owners[2] = NULL;
    double *rest;
    if (total * sizeof(double) < LARGE_BLOCK_BYTES) {
        /* One block; at least one byte: an empty problem (n = 0, even m = 0) gets one. */
        w->block = malloc(total * sizeof(double) + 1);
        if (w->block == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        rest = w->block;
        fvec = fvec != NULL ? fvec : rest + small;
        fjac = fjac != NULL ? fjac : rest + small + fvec_size;
    }
    else {
        rest = new_block(small, &w->owners[0]);
        if (rest == NULL || (fvec == NULL && (fvec = new_block(fvec_size, &w->owners[1])) == NULL) ||
            (fjac == NULL && (fjac = new_block(fjac_size, &w->owners[2])) == NULL)) {
            workspace_free(w);
            return -1;
        }
    }
    w->wa4 = rest, rest += m;
    w->diag = rest, rest += n;
    w->wa1 = rest, rest += n;
    w->wa2 = rest, rest += n;
    w->wa3 = rest, rest += n;
    w->base_point = rest, rest += n;
    w->inverse = rest, rest += (size_t)n * n;
    w->qtf = qtf != NULL ? qtf : (rest += n) - n;
    w->ipvt = ipvt != NULL ? ipvt : (int *)rest;
    w->fvec = fvec;
    w->fjac = fjac;
    return 0;
}

void
workspace_free(Workspace *w)
{
    free(w->block);
    w->block = NULL;
    for (int i = 0; i < 3; i++) {
        Py_CLEAR(w->owners[i]);
    }
}

/* ---- running MINPACK ---------------------------------------------------------------------- */

void
engine_call_minpack(lmdif_fcn residuals, lmder_fcn with_jacobian, int x0_in_fvec,
                    const Options *options, double *x, Workspace *w, Counts *out)
{
    int m = w->m, n = w->n, ldfjac = w->m;
    int mode = options->diag == NULL ? 1 : 2;
    if (options->diag != NULL) {
        memcpy(w->diag, options->diag, (size_t)n * sizeof(double)); /* MINPACK's is in-out */
    }
    if (!x0_in_fvec) {
        /* fvec as MINPACK leaves it when it stops before (or at) its first evaluation:
         * zeros, except what a compiled func wrote before it stopped. */
        memset(w->fvec, 0, (size_t)m * sizeof(double));
    }
    out->njev = 0;
    if (with_jacobian != NULL) {
        lmder_(with_jacobian, &m, &n, x, w->fvec, w->fjac, &ldfjac, &options->ftol,
               &options->xtol, &options->gtol, &options->maxfev, w->diag, &mode,
               &options->factor, &options->nprint, &out->info, &out->nfev, &out->njev,
               w->ipvt, w->qtf, w->wa1, w->wa2, w->wa3, w->wa4);
    }
    else {
        lmdif_(residuals, &m, &n, x, w->fvec, &options->ftol, &options->xtol, &options->gtol,
               &options->maxfev, &options->epsfcn, w->diag, &mode, &options->factor,
               &options->nprint, &out->info, &out->nfev, w->fjac, &ldfjac, w->ipvt, w->qtf,
               w->wa1, w->wa2, w->wa3, w->wa4);
    }
}

void
engine_run(Evaluation *ev, const Options *options, double *x, Workspace *w, Counts *out)
{
    evaluation_enter(ev);
    engine_call_minpack(evaluation_lmdif_fcn, ev->with_jacobian ? evaluation_lmder_fcn : NULL,
                        ev->x0_in_fvec, options, x, w, out);
    evaluation_leave(ev);
    if (ev->guard.verdict != 0) {
        out->info = ev->guard.verdict; /* MINPACK's own info is then -1 */
    }
}

/* ---- cov_x -------------------------------------------------------------------------------- */

/*
 * The inverse T (column-major n x n, upper triangle; the rest is not written) of the upper
 * triangle R of fjac (leading dimension m), column by column as LAPACK's unblocked trti2
 * computes it for an upper, non-unit triangle: T(j,j) = 1/R(j,j), then column j above the
 * diagonal is -T(j,j) times T(0:j,0:j) R(0:j,j), the product formed as the reference
 * BLAS trmv forms it.  Only the arithmetic is LAPACK's: there is no LAPACK here.
 */
static void
invert_upper_triangle(const double *fjac, int m, int n, double *t)
{
    for (int j = 0; j < n; j++) {
        double *column = t + (size_t)j * n;
        column[j] = 1.0 / fjac[j + (size_t)j * m];
        double ajj = -column[j];
        for (int i = 0; i < j; i++) {
            column[i] = fjac[i + (size_t)j * m];
        }
        for (int k = 0; k < j; k++) {
            if (column[k] != 0.0) {
                double temp = column[k];
                const double *t_k = t + (size_t)k * n;
                for (int i = 0; i < k; i++) {
                    column[i] += temp * t_k[i];
                }
                column[k] *= t_k[k];
            }
        }
        for (int i = 0; i < j; i++) {
            column[i] *= ajj;
        }
    }
}

int
engine_finish(Workspace *w, int info, double *cov)
{
    double *inverse = w->inverse;
    int m = w->m, n = w->n;
    /* MINPACK's permutation is 1-based; SciPy >= 1.15 gives it 0-based. */
    for (int j = 0; j < n; j++) {
        w->ipvt[j] -= 1;
    }
    if (info < 1 || info > 4) {
        return 0;
    }
    /* MINPACK factors the final Jacobian as J P = Q R, R in the upper triangle of fjac's
     * first n rows, so inv(J.T J) = P inv(R) inv(R).T P.T; singular R: no estimate. */
    for (int j = 0; j < n; j++) {
        if (w->fjac[j + (size_t)j * m] == 0.0) {
            return 0;
        }
    }
    invert_upper_triangle(w->fjac, m, n, inverse);
    /* Row i of inv(R) is row ipvt[i] of P inv(R); cov is symmetric, so the sum for (i, j)
     * is written to both places, in one order. */
    for (int i = 0; i < n; i++) {
        for (int j = i; j < n; j++) {
            double sum = 0.0;
            for (int k = j; k < n; k++) {
                sum += inverse[i + (size_t)k * n] * inverse[j + (size_t)k * n];
            }
            cov[(size_t)w->ipvt[i] * n + w->ipvt[j]] = sum;
            cov[(size_t)w->ipvt[j] * n + w->ipvt[i]] = sum;
        }
    }
    return 1;
}

/* ---- reading the Python layer's arguments --------------------------------------------------- */

/* The fields of minpack._inputs.Settings that the engine reads, by position. */
enum {
    SETTING_FTOL,
    SETTING_XTOL,
    SETTING_GTOL,
    SETTING_FACTOR = 5,
    SETTING_DIAG,
    SETTING_COL_DERIV,
    SETTINGS
};

/* Fill options from a Settings tuple, the resolved maxfev and epsfcn, and whether an
 * iteration callback is given; diag must hold n values.  0, or -1 with an error. */
int
read_options(Options *options, PyObject *settings, PyObject *maxfev, PyObject *epsfcn, int n,
             int with_callback)
{
    if (!PyTuple_Check(settings) || PyTuple_GET_SIZE(settings) != SETTINGS) {
        PyErr_SetString(PyExc_TypeError, "settings must be minpack's Settings");
        return -1;
    }
    options->ftol = PyFloat_AsDouble(PyTuple_GET_ITEM(settings, SETTING_FTOL));
    options->xtol = PyFloat_AsDouble(PyTuple_GET_ITEM(settings, SETTING_XTOL));
    options->gtol = PyFloat_AsDouble(PyTuple_GET_ITEM(settings, SETTING_GTOL));
    options->factor = PyFloat_AsDouble(PyTuple_GET_ITEM(settings, SETTING_FACTOR));
    options->epsfcn = PyFloat_AsDouble(epsfcn);
    long count = PyLong_AsLong(maxfev);
    if (PyErr_Occurred()) {
        return -1;
    }
    if (count > INT_MAX || count < INT_MIN) {
        PyErr_SetString(PyExc_OverflowError, "maxfev must fit MINPACK's 32-bit integer");
        return -1;
    }
    options->maxfev = (int)count;
    PyObject *diag = PyTuple_GET_ITEM(settings, SETTING_DIAG);
    options->diag = NULL;
    if (diag != Py_None) {
        if (!is_float64_vector(diag) || PyArray_DIM((PyArrayObject *)diag, 0) != n) {
            PyErr_SetString(PyExc_TypeError, "diag must be a float64 vector of n values");
            return -1;
        }
        options->diag = PyArray_DATA((PyArrayObject *)diag);
    }
    options->nprint = with_callback;
    return 0;
}

/* The fitted problem's x: a writeable C-contiguous float64 array of ndim dimensions, of at
 * least `least` variables (MINPACK answers n = 0 with info 0). */
static int
check_points(PyObject *x, int ndim, npy_intp least)
{
    if (!is_plain_float64(x, ndim) || !PyArray_IS_C_CONTIGUOUS((PyArrayObject *)x) ||
        !PyArray_ISWRITEABLE((PyArrayObject *)x) ||
        PyArray_DIM((PyArrayObject *)x, ndim - 1) < least ||
        PyArray_DIM((PyArrayObject *)x, ndim - 1) > INT_MAX) {
        PyErr_SetString(PyExc_TypeError, "x must be a writeable C-contiguous float64 array");
        return -1;
    }
    return 0;
}

/* m must be a count MINPACK can take for n variables (the Python layer checked it). */
int
check_sizes(long m, int n)
{
    if (m < n || (n > 0 && m > INT_MAX / n)) {
        PyErr_Format(PyExc_ValueError, "m=%ld residuals cannot be fitted in n=%d variables", m,
                     n);
        return -1;
    }
    return 0;
}

/* ---- fit: one problem ----------------------------------------------------------------------- */

static PyTypeObject *FitResultType;

static PyStructSequence_Field fit_result_fields[] = {
    {"x", "the solution (the array that was given, fitted in place)"},
    {"fvec", "the residuals at x (full output only, else None)"},
    {"fjac", "MINPACK's fjac, shape (n, m) (full output only)"},
    {"ipvt", "the 0-based column permutation (full output only)"},
    {"qtf", "the first n elements of Q.T @ fvec (full output only)"},
    {"cov_x", "inv(J.T @ J), or None (full output only, and only for ier 1 to 4)"},
    {"fnorm", "the Euclidean norm of fvec (full output only)"},
    {"info", "MINPACK's info, or the ier of a stop by the non-finite rules"},
    {"nfev", "calls for the residuals"},
    {"njev", "calls for the Jacobian (None without one)"},
    {"stopped_by_callback", "whether the iteration callback stopped the fit"},
    {NULL, NULL},
};

static PyStructSequence_Desc fit_result_desc = {
    "minpack._minpack.FitResult",
    "What one run of lmdif or lmder gave.",
    fit_result_fields,
    11,
};

/* The arrays of a full output, owned by Python objects that MINPACK writes into. */
typedef struct {
    PyObject *fvec, *fjac, *ipvt, *qtf, *cov_x;
} FullOutput;

static void
full_output_clear(FullOutput *full)
{
    Py_CLEAR(full->fvec);
    Py_CLEAR(full->fjac);
    Py_CLEAR(full->ipvt);
    Py_CLEAR(full->qtf);
    Py_CLEAR(full->cov_x);
}

static int
full_output_new(FullOutput *full, int m, int n)
{
    npy_intp vector_m = m, vector_n = n, matrix[2] = {n, m};
    full->fvec = PyArray_SimpleNew(1, &vector_m, NPY_DOUBLE);
    /* fjac, ipvt and qtf are zero where a fit that stopped early left them unwritten; for a
     * large fjac calloc costs nothing more (fresh pages are zero), for a small one little. */
    full->fjac = PyArray_ZEROS(2, matrix, NPY_DOUBLE, 0);
    full->ipvt = PyArray_ZEROS(1, &vector_n, NPY_INT, 0);
    full->qtf = PyArray_ZEROS(1, &vector_n, NPY_DOUBLE, 0);
    full->cov_x = NULL;
    if (full->fvec == NULL || full->fjac == NULL || full->ipvt == NULL || full->qtf == NULL) {
        full_output_clear(full);
        return -1;
    }
    return 0;
}

#define ARRAY_DATA(object) PyArray_DATA((PyArrayObject *)(object))

/* Copy a float64 vector of any strides and alignment (native byte order) into out. */
static void
copy_vector(double *out, PyArrayObject *vector)
{
    npy_intp size = PyArray_DIM(vector, 0), stride = PyArray_STRIDE(vector, 0);
    const char *data = PyArray_DATA(vector);
    if (stride == sizeof(double)) {
        memcpy(out, data, (size_t)size * sizeof(double));
        return;
    }
    for (npy_intp i = 0; i < size; i++) {
        memcpy(out + i, data + i * stride, sizeof(double));
    }
}

#define FIT_RESULT_FIELDS (sizeof fit_result_fields / sizeof fit_result_fields[0] - 1)

/* A FitResult of the given new references (all released, and NULL returned, if one of
 * them could not be made). */
static PyObject *
fit_result(PyObject *items[FIT_RESULT_FIELDS])
{
    PyObject *result = NULL;
    int complete = 1;
    for (size_t i = 0; i < FIT_RESULT_FIELDS; i++) {
        complete &= items[i] != NULL;
    }
    if (complete) {
        result = PyStructSequence_New(FitResultType);
    }
    for (size_t i = 0; i < FIT_RESULT_FIELDS; i++) {
        if (result != NULL) {
            PyStructSequence_SetItem(result, (Py_ssize_t)i, items[i]);
        }
        else {
            Py_XDECREF(items[i]);
        }
    }
    return result;
}

/*
 * fit(func, jac, x, args, first, m, settings, maxfev, epsfcn, callback, full_output)
 *
 * One run of lmdif (jac None) or lmder from x (a private float64 vector, fitted in place).
 * func and jac are Python callables or CompiledCallbacks; args go to Python callbacks;
 * first is [func(x0)], m float64 residuals in a list (copied at once into MINPACK's fvec,
 * which answers MINPACK's first call, and the list emptied), or None; settings is minpack._inputs.Settings, maxfev
 * and epsfcn with their defaults applied; full_output 0, 1 (leastsq's full output) or 2
 * (fnorm and cov_x only).  With only compiled callbacks MINPACK runs without the GIL.
 * Returns a FitResult; what a Python callback raised is raised.
 */
PyObject *
engine_fit(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 11) {
        PyErr_SetString(PyExc_TypeError, "fit() takes 11 arguments");
        return NULL;
    }
    PyObject *func = args[0], *jac = args[1], *x = args[2], *extra = args[3], *first = args[4];
    PyObject *settings = args[6], *callback = args[9];
    /* full_output: 0, just x and the counts; 1, everything leastsq's full output holds;
     * 2, fnorm and cov_x only (what a batch keeps of each problem). */
    long full = PyLong_AsLong(args[10]);
    long m = PyLong_AsLong(args[5]);
    if ((full == -1 && PyErr_Occurred()) || (m == -1 && PyErr_Occurred()) ||
        check_points(x, 1, 0) < 0) {
        return NULL;
    }
    if (full < 0 || full > 2) {
        PyErr_SetString(PyExc_ValueError, "full_output must be 0, 1 or 2");
        return NULL;
    }
    int n = (int)PyArray_DIM((PyArrayObject *)x, 0);
    if (check_sizes(m, n) < 0) {
        return NULL;
    }
    /* first is None or a one-element list holding func(x0): the list is emptied once its
     * values are copied, so that the caller's array is freed before MINPACK runs. */
    PyObject *first_values = NULL;
    if (first != Py_None) {
        first_values = PyList_Check(first) && PyList_GET_SIZE(first) == 1
                           ? PyList_GET_ITEM(first, 0) : NULL;
        if (first_values == NULL || !PyArray_Check(first_values) ||
            PyArray_TYPE((PyArrayObject *)first_values) != NPY_DOUBLE ||
            PyArray_NDIM((PyArrayObject *)first_values) != 1 ||
            !PyArray_ISNOTSWAPPED((PyArrayObject *)first_values) ||
            PyArray_DIM((PyArrayObject *)first_values, 0) != m) {
            PyErr_SetString(PyExc_TypeError,
                            "first must be None or [a float64 vector of m values]");
            return NULL;
        }
    }
    Options options;
    if (read_options(&options, settings, args[7], args[8], n, callback != Py_None) < 0) {
        return NULL;
    }

    FullOutput outputs = {NULL, NULL, NULL, NULL, NULL};
    int arrays = full == 1; /* MINPACK writes into the arrays that are returned */
    if (arrays && full_output_new(&outputs, (int)m, n) < 0) {
        return NULL;
    }
    Workspace w;
    if (workspace_init(&w, (int)m, n, arrays ? ARRAY_DATA(outputs.fvec) : NULL,
                       arrays ? ARRAY_DATA(outputs.fjac) : NULL,
                       arrays ? ARRAY_DATA(outputs.ipvt) : NULL,
                       arrays ? ARRAY_DATA(outputs.qtf) : NULL) < 0) {
        full_output_clear(&outputs);
        return NULL;
    }
    Evaluation ev;
    if (evaluation_init(&ev, func, jac, extra, callback, 0, w.base_point) < 0) {
        goto failed;
    }
    ev.col_deriv = PyObject_IsTrue(PyTuple_GET_ITEM(settings, SETTING_COL_DERIV));
    if (ev.col_deriv < 0) {
        goto failed;
    }
    if (first_values != NULL) {
        copy_vector(w.fvec, (PyArrayObject *)first_values);
        ev.x0_in_fvec = ev.func != NULL;
        if (PyList_SetItem(first, 0, Py_NewRef(Py_None)) < 0) { /* releases func(x0) */
            goto failed;
        }
    }

    Counts counts;
    double *point = ARRAY_DATA(x);
    if (evaluation_is_compiled(&ev)) {
        Py_BEGIN_ALLOW_THREADS
        engine_run(&ev, &options, point, &w, &counts);
        Py_END_ALLOW_THREADS
    }
    else {
        engine_run(&ev, &options, point, &w, &counts);
    }
    if (ev.error != NULL) {
        workspace_free(&w);
        full_output_clear(&outputs);
        return evaluation_raise(&ev);
    }

    PyObject *fnorm = Py_None, *cov_x = Py_None;
    if (full) {
        int size = (int)m;
        fnorm = PyFloat_FromDouble(enorm_(&size, w.fvec));
        npy_intp shape[2] = {n, n};
        outputs.cov_x = PyArray_SimpleNew(2, shape, NPY_DOUBLE);
        if (fnorm == NULL || outputs.cov_x == NULL) {
            Py_XDECREF(fnorm);
            goto failed;
        }
        if (engine_finish(&w, counts.info, ARRAY_DATA(outputs.cov_x))) {
            cov_x = outputs.cov_x;
        }
    }
    else {
        Py_INCREF(fnorm);
    }
    workspace_free(&w);
    PyObject *items[] = {
        Py_NewRef(x),
        Py_NewRef(arrays ? outputs.fvec : Py_None),
        Py_NewRef(arrays ? outputs.fjac : Py_None),
        Py_NewRef(arrays ? outputs.ipvt : Py_None),
        Py_NewRef(arrays ? outputs.qtf : Py_None),
        Py_NewRef(cov_x),
        fnorm,
        PyLong_FromLong(counts.info),
        PyLong_FromLong(counts.nfev),
        ev.with_jacobian ? PyLong_FromLong(counts.njev) : Py_NewRef(Py_None),
        PyBool_FromLong(ev.stopped_by_callback),
    };
    full_output_clear(&outputs);
    return fit_result(items);

failed:
    workspace_free(&w);
    full_output_clear(&outputs);
    return NULL;
}

/* ---- fit_batch: many problems of compiled callbacks ------------------------------------------ */

/* The data of outputs.<name>, a writeable C-contiguous array of type and size; NULL with
 * TypeError otherwise. */
static void *
batch_output(PyObject *outputs, const char *name, int type, Py_ssize_t size)
{
    PyObject *array = PyObject_GetAttrString(outputs, name);
    if (array == NULL) {
        return NULL;
    }
    void *data = NULL;
    if (PyArray_Check(array) && PyArray_TYPE((PyArrayObject *)array) == type &&
        PyArray_IS_C_CONTIGUOUS((PyArrayObject *)array) &&
        PyArray_ISWRITEABLE((PyArrayObject *)array) &&
        PyArray_SIZE((PyArrayObject *)array) == size) {
        data = PyArray_DATA((PyArrayObject *)array);
    }
    else {
        PyErr_Format(PyExc_TypeError,
                     "outputs.%s must be a writeable C-contiguous array of %zd elements", name,
                     (Py_ssize_t)size);
    }
    Py_DECREF(array); /* outputs keeps it alive */
    return data;
}

int
batch_outputs_read(BatchOutputs *out, PyObject *outputs, Py_ssize_t count, int n)
{
    out->ier = batch_output(outputs, "ier", NPY_INT, count);
    out->nfev = out->ier == NULL ? NULL : batch_output(outputs, "nfev", NPY_INT, count);
    out->njev = out->nfev == NULL ? NULL : batch_output(outputs, "njev", NPY_INT, count);
    out->fnorm = out->njev == NULL ? NULL : batch_output(outputs, "fnorm", NPY_DOUBLE, count);
    out->cov_x = out->fnorm == NULL ? NULL
                                    : batch_output(outputs, "cov_x", NPY_DOUBLE, count * n * n);
    return out->cov_x == NULL ? -1 : 0;
}

void
batch_outputs_write(const BatchOutputs *out, Py_ssize_t k, Workspace *w, const Counts *counts)
{
    int m = w->m, n = w->n;
    out->ier[k] = counts->info;
    out->nfev[k] = counts->nfev;
    out->njev[k] = counts->njev;
    out->fnorm[k] = enorm_(&m, w->fvec);
    double *cov = out->cov_x + (size_t)k * n * n;
    if (!engine_finish(w, counts->info, cov)) {
        for (int i = 0; i < n * n; i++) {
            cov[i] = NAN;
        }
    }
}

volatile int *
batch_stop_flag(PyObject *stop_flag)
{
    if (!PyArray_Check(stop_flag) || PyArray_TYPE((PyArrayObject *)stop_flag) != NPY_INT ||
        PyArray_SIZE((PyArrayObject *)stop_flag) != 1) {
        PyErr_SetString(PyExc_TypeError, "stop_flag must be a one-element intc array");
        return NULL;
    }
    return ARRAY_DATA(stop_flag);
}

/*
 * fit_batch(func, jac, x, rows, settings, maxfev, epsfcn, m, start, stop, outputs, stop_flag)
 *
 * Fits problems start..stop-1 of x (K, n), each in place, with compiled callbacks and
 * without the GIL: problem k's callbacks get user data rows[k] (a C-contiguous float64
 * (K, ...) array), or their own when rows is None.  Writes outputs.ier, .nfev, .njev,
 * .fnorm (K) and .cov_x (K, n, n; NaN where there is no estimate) for each problem,
 * exactly as fit() computes them.  Stops before the next problem once stop_flag[0] is
 * nonzero.  Returns how many problems it fitted.
 */
PyObject *
engine_fit_batch(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 12) {
        PyErr_SetString(PyExc_TypeError, "fit_batch() takes 12 arguments");
        return NULL;
    }
    PyObject *x = args[2], *rows = args[3], *settings = args[4], *outputs = args[10];
    Py_ssize_t start = PyLong_AsSsize_t(args[8]), stop = PyLong_AsSsize_t(args[9]);
    long m = PyLong_AsLong(args[7]);
    if (PyErr_Occurred() || check_points(x, 2, 1) < 0) {
        return NULL;
    }
    npy_intp count = PyArray_DIM((PyArrayObject *)x, 0);
    int n = (int)PyArray_DIM((PyArrayObject *)x, 1);
    if (check_sizes(m, n) < 0) {
        return NULL;
    }
    if (start < 0 || stop > count || start > stop) {
        PyErr_SetString(PyExc_ValueError, "fit_batch: bad range of problems");
        return NULL;
    }
    if (rows != Py_None &&
        (!is_plain_float64(rows, 2) || !PyArray_IS_C_CONTIGUOUS((PyArrayObject *)rows) ||
         PyArray_DIM((PyArrayObject *)rows, 0) != count)) {
        PyErr_SetString(PyExc_TypeError, "rows must be None or a C-contiguous float64 (K, ...) array");
        return NULL;
    }
    Options options;
    if (read_options(&options, settings, args[5], args[6], n, 0) < 0) {
        return NULL;
    }
    BatchOutputs results;
    volatile int *stopping = NULL;
    if (batch_outputs_read(&results, outputs, count, n) < 0 ||
        (stopping = batch_stop_flag(args[11])) == NULL) {
        return NULL;
    }

    Workspace w;
    if (workspace_init(&w, (int)m, n, NULL, NULL, NULL, NULL) < 0) {
        return NULL;
    }
    Evaluation ev;
    if (evaluation_init(&ev, args[0], args[1], NULL, Py_None, 0, w.base_point) < 0 ||
        !evaluation_is_compiled(&ev)) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "fit_batch needs compiled callbacks");
        }
        workspace_free(&w);
        return NULL;
    }
    double *points = ARRAY_DATA(x);
    const char *row_bytes = rows == Py_None ? NULL : ARRAY_DATA(rows);
    npy_intp row_stride = rows == Py_None ? 0 : PyArray_STRIDE((PyArrayObject *)rows, 0);
    Py_ssize_t k = start;
    Py_BEGIN_ALLOW_THREADS
    for (; k < stop && !*stopping; k++) {
        if (row_bytes != NULL) {
            void *row = (void *)(row_bytes + k * row_stride);
            ev.compiled_func.user_data = row;
            ev.compiled_jac.user_data = row;
        }
        Counts counts;
        engine_run(&ev, &options, points + (size_t)k * n, &w, &counts);
        batch_outputs_write(&results, k, &w, &counts);
    }
    Py_END_ALLOW_THREADS
    workspace_free(&w);
    return PyLong_FromSsize_t(k - start);
}

int
engine_module_init(PyObject *module)
{
    FitResultType = PyStructSequence_NewType(&fit_result_desc);
    if (FitResultType == NULL) {
        return -1;
    }
    return PyModule_AddObjectRef(module, "FitResult", (PyObject *)FitResultType);
}

/* ---- central differences of a compiled func --------------------------------------------- */

/*
 * central_differences(func, x, h, m) -> (m, n) float64 array
 *
 * The Jacobian of a CompiledCallback func at x by central differences with steps h (n
 * values), computed as SciPy's approx_derivative computes its 3-point differences: for
 * each j, x1 = x - h_j e_j and x2 = x + h_j e_j, column j = (f(x2) - f(x1)) / (x2_j - x1_j),
 * f(x1) evaluated first.  least_squares' res.jac for a compiled fun; without the GIL.
 */
PyObject *
engine_central_differences(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !Py_IS_TYPE(args[0], &CompiledCallbackType) ||
        !is_float64_vector(args[1]) || !is_float64_vector(args[2]) ||
        PyArray_DIM((PyArrayObject *)args[1], 0) != PyArray_DIM((PyArrayObject *)args[2], 0)) {
        PyErr_SetString(PyExc_TypeError,
                        "central_differences(func, x, h, m): a CompiledCallback and two "
                        "float64 vectors of n values");
        return NULL;
    }
    long m = PyLong_AsLong(args[3]);
    if (m == -1 && PyErr_Occurred()) {
        return NULL;
    }
    npy_intp n_wide = PyArray_DIM((PyArrayObject *)args[1], 0);
    if (n_wide > INT_MAX || check_sizes(m, (int)n_wide) < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "n is larger than MINPACK's limit");
        }
        return NULL;
    }
    int n = (int)n_wide;
    npy_intp shape[2] = {m, n};
    PyObject *jacobian = PyArray_SimpleNew(2, shape, NPY_DOUBLE);
    double *work = jacobian == NULL ? NULL : malloc(((size_t)2 * m + 2 * (size_t)n + 1) * sizeof(double));
    if (work == NULL) {
        Py_XDECREF(jacobian);
        return jacobian == NULL ? NULL : PyErr_NoMemory();
    }
    const CompiledCode *code = &((CompiledCallback *)args[0])->code;
    const double *x = ARRAY_DATA(args[1]), *h = ARRAY_DATA(args[2]);
    double *f1 = work, *f2 = f1 + m, *x1 = f2 + m, *x2 = x1 + n, *out = ARRAY_DATA(jacobian);
    Py_BEGIN_ALLOW_THREADS
    for (int j = 0; j < n; j++) {
        memcpy(x1, x, (size_t)n * sizeof(double));
        memcpy(x2, x, (size_t)n * sizeof(double));
        x1[j] = x[j] - h[j];
        x2[j] = x[j] + h[j];
        double dx = x2[j] - x1[j];
        int iflag = 1;
        call_compiled(code, (int)m, n, x1, f1, &iflag);
        iflag = 1;
        call_compiled(code, (int)m, n, x2, f2, &iflag);
        for (long i = 0; i < m; i++) {
            out[(size_t)i * n + j] = (f2[i] - f1[i]) / dx;
        }
    }
    Py_END_ALLOW_THREADS
    free(work);
    return jacobian;
}

/*
 * jacobian_of(jac, x, m) -> (m, n) float64 array
 *
 * A compiled Dfun's Jacobian at x (it writes fjac column-major, leading dimension m):
 * least_squares' res.jac for a compiled jac; without the GIL.
 */
PyObject *
engine_jacobian_of(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !Py_IS_TYPE(args[0], &CompiledCallbackType) || !is_float64_vector(args[1])) {
        PyErr_SetString(PyExc_TypeError,
                        "jacobian_of(jac, x, m): a CompiledCallback and a float64 vector");
        return NULL;
    }
    long m = PyLong_AsLong(args[2]);
    if (m == -1 && PyErr_Occurred()) {
        return NULL;
    }
    npy_intp n_wide = PyArray_DIM((PyArrayObject *)args[1], 0);
    if (n_wide > INT_MAX || check_sizes(m, (int)n_wide) < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "n is larger than MINPACK's limit");
        }
        return NULL;
    }
    int n = (int)n_wide;
    /* Column-major m x n is the memory of a C-ordered (n, m) array: its transpose is J. */
    npy_intp shape[2] = {n, m};
    PyObject *columns = PyArray_ZEROS(2, shape, NPY_DOUBLE, 0);
    if (columns == NULL) {
        return NULL;
    }
    const CompiledCode *code = &((CompiledCallback *)args[0])->code;
    const double *x = ARRAY_DATA(args[1]);
    double *out = ARRAY_DATA(columns);
    int iflag = 2;
    Py_BEGIN_ALLOW_THREADS
    call_compiled(code, (int)m, n, x, out, &iflag);
    Py_END_ALLOW_THREADS
    PyObject *jacobian = PyArray_Transpose((PyArrayObject *)columns, NULL);
    Py_DECREF(columns);
    return jacobian;
}
