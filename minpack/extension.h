/*
 * The hand-written C of minpack._minpack, as the f2py-generated module sees it: the
 * functions that _minpack.pyf registers in the module's method table (pymethoddef) and
 * the initialisation its init hook calls.  Python's headers only: the generated code
 * includes NumPy's itself.
 */
#ifndef MINPACK_EXTENSION_H
#define MINPACK_EXTENSION_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* engine.c */
PyObject *engine_fit(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *engine_fit_batch(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *engine_central_differences(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *engine_jacobian_of(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
int engine_module_init(PyObject *module);
/* vectorized.c */
PyObject *vectorized_fit(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
PyObject *vectorized_coroutines(PyObject *module, PyObject *unused);
/* compiled.c */
PyObject *compiled_read(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
int compiled_module_init(void);
/* values.c */
PyObject *values_all_finite(PyObject *module, PyObject *value);
PyObject *values_magnitudes_within(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
/* capi.c */
PyObject *capi_capsule_parts(PyObject *module, PyObject *capsule);
int capi_module_init(PyObject *module);

/* extension.c: everything the hand-written C adds to the module (types, constants, capi). */
int minpack_module_init(PyObject *module);

#endif
