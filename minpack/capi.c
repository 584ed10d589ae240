/*
 * MINPACK for other compiled code (minpack.capi): netlib's lmdif and lmder themselves,
 * and the same routines for callbacks that take m and n by value and a user-data
 * pointer (the signatures of leastsq's compiled callbacks).  They run no Python.
 */
#include "extension.h"

#include <stdint.h>

#include "evaluation.h"
#include "minpack.h"

/* The callbacks of the *_with_user_data entry points, found through a thread-local
 * pointer, as the fit engine finds its evaluation. */
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

int
capi_module_init(PyObject *module)
{
    PyObject *capsules = PyDict_New();
    if (capsules == NULL) {
        return -1;
    }
    for (size_t i = 0; i < sizeof exported / sizeof exported[0]; i++) {
        PyObject *capsule =
            PyCapsule_New((void *)exported[i].function, exported[i].signature, NULL);
        if (capsule == NULL || PyDict_SetItemString(capsules, exported[i].name, capsule) < 0) {
            Py_XDECREF(capsule);
            Py_DECREF(capsules);
            return -1;
        }
        Py_DECREF(capsule);
    }
    int status = PyModule_AddObjectRef(module, "capi", capsules);
    Py_DECREF(capsules);
    return status;
}

/* capsule_parts(capsule): (pointer address, name or None, context address). */
PyObject *
capi_capsule_parts(PyObject *module, PyObject *capsule)
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
