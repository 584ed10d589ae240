/*
 * NumPy's C API for the hand-written C files of the extension.  They share one table,
 * named here and filled in by extension.c at import (f2py's generated code keeps its own).
 */
#ifndef MINPACK_NUMPY_API_H
#define MINPACK_NUMPY_API_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define PY_ARRAY_UNIQUE_SYMBOL minpack_ARRAY_API
#ifndef MINPACK_IMPORTS_NUMPY
#define NO_IMPORT_ARRAY
#endif
#define NPY_NO_DEPRECATED_API NPY_1_23_API_VERSION
#include <numpy/arrayobject.h>

/* Whether value is a float64 array of ndim dimensions in native byte order, aligned. */
static inline int
is_plain_float64(PyObject *value, int ndim)
{
    if (!PyArray_CheckExact(value)) {
        return 0;
    }
    PyArrayObject *array = (PyArrayObject *)value;
    return PyArray_TYPE(array) == NPY_DOUBLE && PyArray_NDIM(array) == ndim &&
           PyArray_ISNOTSWAPPED(array) && PyArray_ISALIGNED(array);
}

/* Whether value is a C-contiguous float64 vector of native byte order. */
static inline int
is_float64_vector(PyObject *value)
{
    return is_plain_float64(value, 1) && PyArray_IS_C_CONTIGUOUS((PyArrayObject *)value);
}

#endif
